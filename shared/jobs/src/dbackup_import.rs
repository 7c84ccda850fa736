//! Restoring DBackup's backups (docs/STORAGE.md "Coming from DBackup"): which restores are of a
//! DBackup object, and the `dbackup` part of the worker request — the key of a "DBackup import"
//! profile, or the caller's explicit consent to an object nothing authenticates.
//!
//! The sidecar that says "DBackup" comes from storage, which is not trusted. What it can do is
//! bounded: it cannot make the worker skip authentication (the key is ours and the tag must
//! match), it cannot turn one of our `.dbk` containers into a DBackup object (the name decides),
//! and it can make an object "unencrypted" only for a caller who sent `acceptUnauthenticated`.

use dbackup_core::db::Db;
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use dbackup_protocol::dbackup::{is_dbackup_sidecar, DbackupImport, DbackupMeta};
use dbackup_protocol::ENCRYPTED_SUFFIX;
use dbackup_vault_core as vault;
use serde_json::{json, Value};

use crate::worker_request::RestoreParams;

/// Whether the backup at `path` with sidecar `sidecar` is DBackup's.
pub fn is_dbackup_backup(path: &str, sidecar: &Value) -> bool {
    !path.ends_with(ENCRYPTED_SUFFIX) && is_dbackup_sidecar(sidecar)
}

fn refused(field: &str, message: String) -> ApiError {
    ApiError::bad_request(message).with_details(json!({ "field": field }))
}

/// The DBackup sidecar of the backup, read (400 naming `path` when it is malformed).
pub fn meta_of(sidecar: &Value) -> Result<DbackupMeta, ApiError> {
    DbackupMeta::parse(sidecar).map_err(|e| refused("path", format!("DBackup backup: {e}")))
}

/// The "DBackup import" profile a restore of `meta` decrypts with: the one named in the
/// request (it must be of that kind), else the only one there is. 400 naming
/// `encryptionProfileId` otherwise.
fn import_profile(db: &dyn Db, params: &RestoreParams) -> Result<String, ApiError> {
    if let Some(id) = &params.encryption_profile_id {
        let kind = vault::kind_of(db, id).map_err(|e| {
            if e.status == 404 {
                refused(
                    "encryptionProfileId",
                    format!("no encryption profile {id:?}"),
                )
            } else {
                e
            }
        })?;
        if kind != vault::KIND_DBACKUP_IMPORT {
            return Err(refused(
                "encryptionProfileId",
                format!("encryption profile {id:?} is not a DBackup import profile"),
            ));
        }
        return Ok(id.clone());
    }
    let mut ids = vault::dbackup_import_ids(db)?;
    match ids.len() {
        1 => Ok(ids.remove(0)),
        0 => Err(refused(
            "encryptionProfileId",
            "the DBackup backup is encrypted: add its key as an encryption profile of kind \
             \"dbackup-import\" first"
                .into(),
        )),
        n => Err(refused(
            "encryptionProfileId",
            format!(
                "the DBackup backup is encrypted and {n} DBackup import profiles exist: name one"
            ),
        )),
    }
}

/// The `dbackup` part of the worker's restore request, or the 400 that refuses it: an
/// encrypted object needs a DBackup import profile; an unencrypted one needs
/// `acceptUnauthenticated: true`; a MySQL/MariaDB dump (made with `--databases`, so it names its
/// database inside) cannot be renamed.
pub fn import_spec(
    db: &dyn Db,
    sealer: &SecretBox,
    params: &RestoreParams,
    meta: &DbackupMeta,
) -> Result<DbackupImport, ApiError> {
    if matches!(meta.source_type.as_str(), "mysql" | "mariadb") {
        let renamed = params
            .database_mapping
            .iter()
            .any(|(from, to)| to.as_str() != Some(from.as_str()));
        if renamed {
            return Err(refused(
                "databaseMapping",
                "a DBackup MySQL/MariaDB dump names its database inside (CREATE DATABASE, USE): \
                 it is restored under its own name"
                    .into(),
            ));
        }
    }
    if meta.encryption.is_none() {
        if !params.accept_unauthenticated {
            return Err(refused(
                "acceptUnauthenticated",
                "the DBackup backup is not encrypted, so nothing proves it is the dump DBackup \
                 wrote: send acceptUnauthenticated: true to restore it anyway"
                    .into(),
            ));
        }
        return Ok(DbackupImport {
            key_hex: None,
            accept_unauthenticated: true,
        });
    }
    let profile = import_profile(db, params)?;
    let (key_hex, _) = vault::key_hex(db, sealer, &profile)?;
    Ok(DbackupImport {
        key_hex: Some(key_hex),
        accept_unauthenticated: false,
    })
}

/// What the worker restores from a DBackup backup's sidecar: its database (when it holds one)
/// in our sidecar's terms, for [`crate::worker_request::restore_request`].
pub fn as_our_sidecar(meta: &DbackupMeta) -> Value {
    match meta.databases.as_slice() {
        [one] => json!({"database": one, "engine": meta.engine}),
        _ => json!({"engine": meta.engine}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestDb;

    fn sealer() -> SecretBox {
        SecretBox::from_hex_key(&"11".repeat(32)).unwrap()
    }

    fn sidecar(encrypted: bool, source_type: &str) -> Value {
        let mut s = json!({"version": 1, "jobName": "Nightly", "sourceType": source_type,
            "databases": {"count": 1, "names": ["shop"]}, "compression": "GZIP",
            "timestamp": "2025-01-01T00:00:00.000Z"});
        if encrypted {
            s["encryption"] = json!({"enabled": true, "algorithm": "aes-256-gcm",
                "iv": "00".repeat(16), "authTag": "11".repeat(16), "profileId": "theirs"});
        }
        s
    }

    fn params(extra: Value) -> RestoreParams {
        let mut body = json!({"destinationId": "d", "path": "Nightly/x.sql.gz.enc",
                              "targetSourceId": "s"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        RestoreParams::from_body(&body).unwrap()
    }

    #[test]
    fn recognises_dbackups_objects_but_never_our_containers() {
        assert!(is_dbackup_backup(
            "N/x.sql.gz.enc",
            &sidecar(true, "postgres")
        ));
        assert!(!is_dbackup_backup(
            "N/x.dump.zst.dbk",
            &sidecar(true, "postgres")
        ));
        assert!(!is_dbackup_backup(
            "N/x.sql.gz",
            &json!({"version": 1, "engine": "postgresql"})
        ));
    }

    #[test]
    fn encrypted_needs_an_import_profile_and_unencrypted_needs_consent() {
        let db = TestDb::migrated();
        let s = sealer();
        let meta = meta_of(&sidecar(true, "postgres")).unwrap();
        let e = import_spec(&db, &s, &params(json!({})), &meta).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "encryptionProfileId");
        let ours = vault::create(&db, &s, "ours", None, &[5; 32]).unwrap();
        let e = import_spec(
            &db,
            &s,
            &params(json!({"encryptionProfileId": ours.id})),
            &meta,
        )
        .unwrap_err();
        assert!(
            e.message.contains("not a DBackup import profile"),
            "{}",
            e.message
        );
        let theirs = vault::create_of_kind(
            &db,
            &s,
            "theirs",
            None,
            &[6; 32],
            vault::KIND_DBACKUP_IMPORT,
        )
        .unwrap();
        let spec = import_spec(&db, &s, &params(json!({})), &meta).unwrap();
        assert_eq!(spec.key_hex.as_deref(), Some("06".repeat(32).as_str()));
        assert!(!spec.accept_unauthenticated);
        let spec = import_spec(
            &db,
            &s,
            &params(json!({"encryptionProfileId": theirs.id})),
            &meta,
        )
        .unwrap();
        assert!(spec.key_hex.is_some());

        let plain = meta_of(&sidecar(false, "postgres")).unwrap();
        let e = import_spec(&db, &s, &params(json!({})), &plain).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "acceptUnauthenticated");
        let spec = import_spec(
            &db,
            &s,
            &params(json!({"acceptUnauthenticated": true})),
            &plain,
        )
        .unwrap();
        assert_eq!((spec.key_hex, spec.accept_unauthenticated), (None, true));

        let maria = meta_of(&sidecar(true, "mysql")).unwrap();
        let e = import_spec(
            &db,
            &s,
            &params(json!({"databaseMapping": {"shop": "other"}})),
            &maria,
        )
        .unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "databaseMapping");
        assert_eq!(as_our_sidecar(&maria)["database"], "shop");
    }
}
