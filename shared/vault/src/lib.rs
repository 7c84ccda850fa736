//! Encryption profiles: backup keys sealed with `encryption_key` (context
//! `EncryptionProfile.secretKey:<id>`), listed with their fingerprint only, revealed on request.
//! Used by the `vault` component (`/api/encryption-profiles`), by whoever hands a key to the
//! worker (backup dispatch, decrypted downloads, config backup) and by config restore.

#![forbid(unsafe_code)]

use dbackup_adapters_core::fingerprint::{fingerprint_hex, public_fingerprint_hex};
use dbackup_adapters_core::store::{new_id, JobRef};
use dbackup_adapters_core::validate;
use dbackup_core::db::{Db, Rows, Value as DbValue};
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use serde::Serialize;
use serde_json::json;

/// A profile as answers show it (never the key).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// 16 hex characters, as in backup headers.
    pub fingerprint: String,
    /// [`KIND_SYMMETRIC`] (our backups), [`KIND_DBACKUP_IMPORT`] (reads DBackup's backups
    /// only) or `public` (write-only).
    pub kind: String,
    pub created_at: String,
    pub updated_at: String,
    /// Jobs that encrypt with this profile.
    pub jobs: Vec<JobRef>,
}

/// Body of `POST /api/encryption-profiles`.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NewProfile {
    pub name: String,
    pub description: Option<String>,
    /// 64 hex characters to import; absent: a random key is generated.
    pub key: Option<String>,
    /// `symmetric` (default), `dbackup-import` (a DBackup profile's key, 64 hex characters
    /// in `key`, required: it only reads DBackup's backups and is never offered to a job) or
    /// `public` (write-only: only `publicKey` is stored; backups are sealed to it and only the
    /// matching private key, which the server never sees, opens them).
    #[serde(default)]
    pub kind: Option<String>,
    /// `kind: "public"` only (required there): the X25519 public key, 64 hex characters
    /// (`dbackup-recover keygen`'s `publicKey`, or generated in the browser).
    #[serde(default, rename = "publicKey")]
    pub public_key: Option<String>,
}

/// Kind of our own profiles: the key encrypts and decrypts `DBKENC01` containers.
pub const KIND_SYMMETRIC: &str = "symmetric";
/// Kind of a key brought over from DBackup: reads DBackup's backups (restore, decrypted
/// download), never encrypts a backup.
pub const KIND_DBACKUP_IMPORT: &str = "dbackup-import";
/// Kind of a write-only profile: the server holds only an X25519 public key, seals backups to
/// it (container version 2) and cannot open them; a restore brings the private key.
pub const KIND_PUBLIC: &str = "public";

impl NewProfile {
    /// The kind asked for (400 naming `kind` for another one, or `key` when a DBackup import
    /// has none).
    pub fn checked_kind(&self) -> Result<&'static str, ApiError> {
        if self.public_key.is_some() && self.kind.as_deref() != Some(KIND_PUBLIC) {
            return Err(ApiError::bad_request(
                "publicKey: only for kind \"public\" (a write-only profile)",
            )
            .with_details(json!({"field": "publicKey"})));
        }
        match self.kind.as_deref() {
            Some(KIND_PUBLIC) if self.key.is_some() => Err(ApiError::bad_request(
                "key: a write-only profile holds no secret key; send its publicKey",
            )
            .with_details(json!({"field": "key"}))),
            Some(KIND_PUBLIC) if self.public_key.is_none() => Err(ApiError::bad_request(
                "publicKey: a write-only profile needs its X25519 public key (64 hex characters)",
            )
            .with_details(json!({"field": "publicKey"}))),
            Some(KIND_PUBLIC) => Ok(KIND_PUBLIC),
            None | Some(KIND_SYMMETRIC) => Ok(KIND_SYMMETRIC),
            Some(KIND_DBACKUP_IMPORT) if self.key.is_none() => Err(ApiError::bad_request(
                "key: a DBackup import profile needs the DBackup key (64 hex characters)",
            )
            .with_details(json!({"field": "key"}))),
            Some(KIND_DBACKUP_IMPORT) => Ok(KIND_DBACKUP_IMPORT),
            Some(other) => Err(ApiError::bad_request(format!(
                "kind: {other:?} is not one of symmetric, dbackup-import, public"
            ))
            .with_details(json!({"field": "kind"}))),
        }
    }
}

/// Body of `POST /api/encryption-profiles/{id}/reveal`: the caller's password again.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    pub password: String,
}

/// Answer of `POST /api/encryption-profiles/{id}/reveal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RevealedKey {
    pub id: String,
    pub name: String,
    /// The 32-byte key, 64 hex characters.
    pub key: String,
    /// 16 hex characters, as in backup headers.
    pub fingerprint: String,
}

/// The 404 for a profile that does not exist.
pub fn profile_not_found() -> ApiError {
    ApiError::new(404, "encryption profile not found")
}

fn context(id: &str) -> String {
    dbackup_core::sealed::encryption_profile_key(id)
}

/// A fresh random 32-byte key.
pub fn generate_key() -> Result<[u8; 32], ApiError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|e| ApiError::internal(format!("randomness unavailable: {e}")))?;
    Ok(key)
}

/// Parses a write-only profile's public key: 64 hex characters, not all zero (400 naming
/// `publicKey` otherwise).
pub fn parse_public_key(text: &str) -> Result<[u8; 32], ApiError> {
    let bad = || {
        ApiError::bad_request("publicKey must be 64 hex characters (an X25519 public key)")
            .with_details(json!({"field": "publicKey"}))
    };
    let bytes: [u8; 32] = hex::decode(text.trim())
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())?;
    if bytes == [0u8; 32] {
        return Err(bad());
    }
    Ok(bytes)
}

/// Parses an imported key: exactly 64 hex characters (400 naming `key` otherwise).
pub fn parse_key(text: &str) -> Result<[u8; 32], ApiError> {
    let bad = || {
        ApiError::bad_request("key must be 64 hex characters (32 bytes)")
            .with_details(json!({"field": "key"}))
    };
    let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

fn text(rows: &Rows, row: &[DbValue], name: &str) -> Option<String> {
    rows.column(name)
        .and_then(|i| row.get(i))
        .and_then(DbValue::as_str)
        .map(str::to_owned)
}

const COLUMNS: &str =
    r#""id", "name", "description", "fingerprint", "createdAt", "updatedAt", "secretKey", "kind""#;

/// The jobs that encrypt with profile `id`.
pub fn jobs_using(db: &dyn Db, id: &str) -> Result<Vec<JobRef>, ApiError> {
    let rows = db.execute(
        r#"SELECT "id", "name" FROM "Job" WHERE "encryptionProfileId" = ? ORDER BY "name""#,
        &[id.into()],
    )?;
    Ok(rows
        .rows
        .iter()
        .map(|r| JobRef {
            id: text(&rows, r, "id").unwrap_or_default(),
            name: text(&rows, r, "name").unwrap_or_default(),
        })
        .collect())
}

fn profile(
    db: &dyn Db,
    sealer: &SecretBox,
    rows: &Rows,
    row: &[DbValue],
) -> Result<Profile, ApiError> {
    let id = text(rows, row, "id").ok_or_else(|| ApiError::internal("profile without id"))?;
    // Rows created before migration 0003 have no stored fingerprint: derive it.
    let fingerprint = match text(rows, row, "fingerprint") {
        Some(f) => f,
        None => fingerprint_hex(&unseal(
            sealer,
            &id,
            text(rows, row, "secretKey").as_deref(),
        )?),
    };
    Ok(Profile {
        jobs: jobs_using(db, &id)?,
        name: text(rows, row, "name").unwrap_or_default(),
        description: text(rows, row, "description"),
        fingerprint,
        kind: text(rows, row, "kind").unwrap_or_else(|| KIND_SYMMETRIC.into()),
        created_at: text(rows, row, "createdAt").unwrap_or_default(),
        updated_at: text(rows, row, "updatedAt").unwrap_or_default(),
        id,
    })
}

fn unseal(sealer: &SecretBox, id: &str, sealed: Option<&str>) -> Result<[u8; 32], ApiError> {
    let failed = || {
        ApiError::internal(format!(
            "encryption profile {id}: key does not decrypt (encryption_key changed or value tampered with)"
        ))
    };
    let plain = sealer
        .decrypt(sealed.ok_or_else(failed)?, &context(id))
        .map_err(|_| failed())?;
    plain.try_into().map_err(|_| failed())
}

/// Every profile, by name.
pub fn list(db: &dyn Db, sealer: &SecretBox) -> Result<Vec<Profile>, ApiError> {
    let rows = db.execute(
        &format!(r#"SELECT {COLUMNS} FROM "EncryptionProfile" ORDER BY "name", "id""#),
        &[],
    )?;
    rows.rows
        .iter()
        .map(|r| profile(db, sealer, &rows, r))
        .collect()
}

/// Profile `id`; 404 if absent.
pub fn get(db: &dyn Db, sealer: &SecretBox, id: &str) -> Result<Profile, ApiError> {
    let rows = db.execute(
        &format!(r#"SELECT {COLUMNS} FROM "EncryptionProfile" WHERE "id" = ?"#),
        &[id.into()],
    )?;
    let row = rows.rows.first().ok_or_else(profile_not_found)?;
    profile(db, sealer, &rows, row)
}

/// Creates a profile with `key`; 409 if a profile with the same key (fingerprint) exists.
pub fn create(
    db: &dyn Db,
    sealer: &SecretBox,
    name: &str,
    description: Option<&str>,
    key: &[u8; 32],
) -> Result<Profile, ApiError> {
    create_of_kind(db, sealer, name, description, key, KIND_SYMMETRIC)
}

/// The kind of profile `id` ([`KIND_SYMMETRIC`] for rows older than the column); 404 if absent.
pub fn kind_of(db: &dyn Db, id: &str) -> Result<String, ApiError> {
    let rows = db.execute(
        r#"SELECT "kind" FROM "EncryptionProfile" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let row = rows.rows.first().ok_or_else(profile_not_found)?;
    Ok(row
        .first()
        .and_then(DbValue::as_str)
        .unwrap_or(KIND_SYMMETRIC)
        .to_owned())
}

/// The ids of every [`KIND_DBACKUP_IMPORT`] profile, by name.
pub fn dbackup_import_ids(db: &dyn Db) -> Result<Vec<String>, ApiError> {
    let rows = db.execute(
        r#"SELECT "id" FROM "EncryptionProfile" WHERE "kind" = ? ORDER BY "name", "id""#,
        &[KIND_DBACKUP_IMPORT.into()],
    )?;
    Ok(rows
        .rows
        .iter()
        .filter_map(|r| r.first().and_then(DbValue::as_str).map(str::to_owned))
        .collect())
}

/// [`create`] for a profile of `kind` ([`KIND_SYMMETRIC`] or [`KIND_DBACKUP_IMPORT`]).
pub fn create_of_kind(
    db: &dyn Db,
    sealer: &SecretBox,
    name: &str,
    description: Option<&str>,
    key: &[u8; 32],
    kind: &str,
) -> Result<Profile, ApiError> {
    let name = validate::name(name)?;
    // A write-only profile's "key" is its public key, fingerprinted as the worker writes it.
    let fingerprint = if kind == KIND_PUBLIC {
        public_fingerprint_hex(key)
    } else {
        fingerprint_hex(key)
    };
    let existing = db.execute(
        r#"SELECT "name" FROM "EncryptionProfile" WHERE "fingerprint" = ?"#,
        &[fingerprint.as_str().into()],
    )?;
    if let Some(other) = existing.scalar().and_then(DbValue::as_str) {
        return Err(ApiError::new(
            409,
            format!("this key is already stored as profile {other:?}"),
        ));
    }
    let id = new_id()?;
    let sealed = sealer.encrypt(key, &context(&id)).map_err(ApiError::from)?;
    db.execute(
        r#"INSERT INTO "EncryptionProfile" ("id", "name", "description", "secretKey", "fingerprint", "kind")
           VALUES (?, ?, ?, ?, ?, ?)"#,
        &[
            id.as_str().into(),
            name.into(),
            description.filter(|d| !d.trim().is_empty()).into(),
            sealed.into(),
            fingerprint.into(),
            kind.into(),
        ],
    )?;
    get(db, sealer, &id)
}

/// The id of the profile holding the key with `fingerprint` (16 hex characters), if any.
pub fn find_by_fingerprint(db: &dyn Db, fingerprint: &str) -> Result<Option<String>, ApiError> {
    let rows = db.execute(
        r#"SELECT "id" FROM "EncryptionProfile" WHERE "fingerprint" = ?"#,
        &[fingerprint.to_lowercase().into()],
    )?;
    Ok(rows.scalar().and_then(DbValue::as_str).map(str::to_owned))
}

/// Sets profile `id`'s name (checked as [`create`] checks it) and description (blank: none);
/// 404 if absent. The API has no rename: a config restore carries them over for a key the vault
/// already holds.
pub fn rename(
    db: &dyn Db,
    id: &str,
    name: &str,
    description: Option<&str>,
    now: &str,
) -> Result<(), ApiError> {
    let name = validate::name(name)?;
    let rows = db.execute(
        r#"UPDATE "EncryptionProfile" SET "name" = ?, "description" = ?, "updatedAt" = ?
           WHERE "id" = ? RETURNING "id""#,
        &[
            name.into(),
            description.filter(|d| !d.trim().is_empty()).into(),
            now.into(),
            id.into(),
        ],
    )?;
    if rows.rows.is_empty() {
        return Err(profile_not_found());
    }
    Ok(())
}

/// The key of profile `id` as 64 hex characters, and its fingerprint (for the worker's
/// `encryption: {keyHex, keyFingerprint}`, and for reveal). 404 if absent. For a write-only
/// profile this is its public key (see [`KIND_PUBLIC`]).
pub fn key_hex(db: &dyn Db, sealer: &SecretBox, id: &str) -> Result<(String, String), ApiError> {
    let rows = db.execute(
        r#"SELECT "secretKey", "kind" FROM "EncryptionProfile" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let row = rows.rows.first().ok_or_else(profile_not_found)?;
    let sealed = row
        .first()
        .and_then(DbValue::as_str)
        .ok_or_else(profile_not_found)?;
    let key = unseal(sealer, id, Some(sealed))?;
    let fingerprint = if row.get(1).and_then(DbValue::as_str) == Some(KIND_PUBLIC) {
        public_fingerprint_hex(&key)
    } else {
        fingerprint_hex(&key)
    };
    Ok((hex::encode(key), fingerprint))
}

/// A symmetric key for something that must decrypt with the server's key (a decrypted
/// download, a config backup): a write-only profile is a 400 naming `field` — the server holds
/// no key that opens its backups.
pub fn refuse_write_only(db: &dyn Db, id: &str, field: &str) -> Result<(), ApiError> {
    if kind_of(db, id)? == KIND_PUBLIC {
        return Err(ApiError::bad_request(format!(
            "{field}: the encryption profile is write-only (public key): the server cannot \
             decrypt its backups; restore with the private key or use dbackup-recover"
        ))
        .with_details(json!({"field": field})));
    }
    Ok(())
}

/// Deletes profile `id`: 404 if absent, 409 naming the jobs that use it.
pub fn delete(db: &dyn Db, id: &str) -> Result<String, ApiError> {
    let rows = db.execute(
        r#"SELECT "name" FROM "EncryptionProfile" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let name = rows
        .scalar()
        .and_then(DbValue::as_str)
        .ok_or_else(profile_not_found)?
        .to_owned();
    let jobs = jobs_using(db, id)?;
    if !jobs.is_empty() {
        let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
        return Err(ApiError::new(
            409,
            format!("encryption profile is used by jobs: {}", names.join(", ")),
        )
        .with_details(json!({ "jobs": jobs })));
    }
    db.execute(
        r#"DELETE FROM "EncryptionProfile" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keys() {
        let k = parse_key(&"ab".repeat(32)).unwrap();
        assert_eq!(k, [0xab; 32]);
        for bad in ["", "zz", &"ab".repeat(31), &"ab".repeat(33)] {
            let e = parse_key(bad).unwrap_err();
            assert_eq!(e.status, 400);
            assert_eq!(e.details.unwrap()["field"], "key");
        }
        assert_ne!(generate_key().unwrap(), generate_key().unwrap());
    }

    #[test]
    fn kinds_are_checked() {
        let new = |kind: Option<&str>, key: Option<&str>| NewProfile {
            name: "n".into(),
            description: None,
            key: key.map(str::to_owned),
            kind: kind.map(str::to_owned),
            public_key: None,
        };
        assert_eq!(new(None, None).checked_kind().unwrap(), KIND_SYMMETRIC);
        let k = "ab".repeat(32);
        assert_eq!(
            new(Some("dbackup-import"), Some(&k))
                .checked_kind()
                .unwrap(),
            KIND_DBACKUP_IMPORT
        );
        let e = new(Some("dbackup-import"), None)
            .checked_kind()
            .unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "key");
        let e = new(Some("other"), Some(&k)).checked_kind().unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "kind");
    }

    #[test]
    fn write_only_profiles_are_checked() {
        let public = |kind: Option<&str>, key: Option<&str>, public: Option<&str>| NewProfile {
            name: "n".into(),
            description: None,
            key: key.map(str::to_owned),
            kind: kind.map(str::to_owned),
            public_key: public.map(str::to_owned),
        };
        let p = "cd".repeat(32);
        assert_eq!(
            public(Some("public"), None, Some(&p))
                .checked_kind()
                .unwrap(),
            KIND_PUBLIC
        );
        for (kind, key, pk, field) in [
            (Some("public"), None, None, "publicKey"),
            (Some("public"), Some(p.as_str()), Some(p.as_str()), "key"),
            (None, None, Some(p.as_str()), "publicKey"),
            (Some("symmetric"), None, Some(p.as_str()), "publicKey"),
        ] {
            let e = public(kind, key, pk).checked_kind().unwrap_err();
            assert_eq!(e.status, 400);
            assert_eq!(
                e.details.unwrap()["field"],
                field,
                "{kind:?} {key:?} {pk:?}"
            );
        }
        assert_eq!(parse_public_key(&p).unwrap(), [0xcd; 32]);
        for bad in ["", "zz", &"00".repeat(32), &"ab".repeat(31)] {
            let e = parse_public_key(bad).unwrap_err();
            assert_eq!(e.details.unwrap()["field"], "publicKey");
        }
        // The fingerprint the worker writes into version 2 headers (vector 05's public key).
        let vector =
            hex::decode("79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a")
                .unwrap();
        assert_eq!(
            public_fingerprint_hex(&vector.try_into().unwrap()),
            "53dc2b5eeb9a3ef6"
        );
    }
}
