//! `POST /api/restores` up to the queue: the checks a restore request passes (the destination
//! and the target exist with the right kinds, a PostgreSQL dump is not newer than the target
//! server unless forced), then a Restore execution queued like a backup, its privileged
//! password sealed in the stored request. The worker runs it when the runner dispatches it.

use dbackup_adapters_core::{destination_spec, store, Kind};
use dbackup_core::db::Db;
use dbackup_core::worker::Worker;
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use serde_json::{json, Value};

use crate::dispatcher::read_sidecar;
use crate::queue;
use crate::sql;
use crate::worker_request::{newer_dump, RestoreParams};

/// Longest wait for the backup's sidecar when checking versions (the caller's worker client
/// enforces it; a sidecar not read in time skips the check).
pub const SIDECAR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The job that made the backup at `path`, when the history knows it.
fn job_of_backup(db: &dyn Db, path: &str) -> Result<Option<String>, ApiError> {
    Ok(sql::query(
        db,
        r#"SELECT "jobId" FROM "Execution" WHERE "type" = 'Backup' AND "path" = ? AND "jobId" IS NOT NULL
            ORDER BY "startedAt" DESC LIMIT 1"#,
        &[path.into()],
    )?
    .first()
    .and_then(|r| r.text("jobId")))
}

/// Checks `params` and queues the Restore execution; returns its id. 400 naming the field for
/// a destination or target of the wrong kind (or none), 409 naming `force` for a PostgreSQL
/// dump of a newer major than the target server.
pub async fn queue(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    params: &RestoreParams,
    now: &str,
) -> Result<String, ApiError> {
    if store::kind_if_any(db, &params.destination_id)? != Some(Kind::Storage) {
        return Err(ApiError::bad_request(format!(
            "invalid destinationId: no storage destination {:?}",
            params.destination_id
        ))
        .with_details(json!({"field": "destinationId"})));
    }
    if store::kind_if_any(db, &params.target_source_id)? != Some(Kind::Database) {
        return Err(ApiError::bad_request(format!(
            "invalid targetSourceId: no database source {:?}",
            params.target_source_id
        ))
        .with_details(json!({"field": "targetSourceId"})));
    }
    let files_target = store::load(db, sealer, &params.target_source_id)?.adapter_id == "files";
    if files_target && params.target_path.is_none() {
        return Err(ApiError::bad_request(
            "invalid targetPath: a files source restores into a directory; name it in targetPath",
        )
        .with_details(json!({"field": "targetPath"})));
    }
    if !files_target && params.target_path.is_some() {
        return Err(
            ApiError::bad_request("invalid targetPath: only for a files source")
                .with_details(json!({"field": "targetPath"})),
        );
    }
    check_dbackup_backup(db, worker, sealer, params).await?;
    if !params.force {
        if let Some(why) = newer_dump_than_target(db, worker, sealer, params).await? {
            return Err(ApiError::new(409, why).with_details(json!({"field": "force"})));
        }
    }
    let job_id = job_of_backup(db, &params.path)?;
    // A backup of a job with a write-only profile opens only with the private key: ask now
    // (the dispatcher checks again with the profile the backup's sidecar names).
    if params.private_key.is_none() {
        let profile = match &job_id {
            Some(j) => crate::job::get(db, j)?.and_then(|j| j.encryption_profile_id),
            None => None,
        };
        if let Some(p) = profile {
            if dbackup_vault_core::kind_of(db, &p)? == dbackup_vault_core::KIND_PUBLIC {
                return Err(ApiError::bad_request(
                    "privateKey: the backup was sealed to a write-only encryption profile; \
                     send that key pair's private key",
                )
                .with_details(json!({"field": "privateKey"})));
            }
        }
    }
    let id = crate::new_id()?;
    let stored = params.to_stored(|p| {
        sealer
            .encrypt(
                p.as_bytes(),
                &dbackup_core::sealed::restore_privileged_password(),
            )
            .map_err(|e| ApiError::internal(e.to_string()))
    })?;
    queue::enqueue_restore(db, &id, job_id.as_deref(), &stored, now)?;
    Ok(id)
}

/// What the audit row of a queued restore records: never the privileged password.
pub fn audit_details(params: &RestoreParams) -> Value {
    let mut details = json!({"destinationId": params.destination_id, "path": params.path,
                             "targetSourceId": params.target_source_id});
    if let Some(p) = &params.target_path {
        details["targetPath"] = json!(p);
        details["overwrite"] = json!(params.overwrite);
    }
    if let Some(p) = &params.encryption_profile_id {
        details["encryptionProfileId"] = json!(p);
    }
    if params.accept_unauthenticated {
        // Recorded: the caller restored an object nothing authenticates.
        details["acceptUnauthenticated"] = json!(true);
    }
    if let Some(a) = &params.privileged_as {
        details["privileged"] = json!({"user": a.user,
            "password": a.password.as_ref().map(|_| "••••")});
    }
    details
}

/// A DBackup backup is refused here, before it is queued, for what its restore would lack: the
/// import profile, the consent to an unauthenticated object (crate::dbackup_import). A sidecar
/// that cannot be read is checked again when the restore is dispatched.
async fn check_dbackup_backup(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    params: &RestoreParams,
) -> Result<(), ApiError> {
    let Ok(storage) = destination_spec(db, sealer, &params.destination_id) else {
        return Ok(());
    };
    let sidecar = read_sidecar(worker, &storage, &params.path).await;
    if crate::dbackup_import::is_dbackup_backup(&params.path, &sidecar) {
        let meta = crate::dbackup_import::meta_of(&sidecar)?;
        crate::dbackup_import::import_spec(db, sealer, params, &meta)?;
    }
    Ok(())
}

/// Refuses early what the worker would refuse later: a PostgreSQL dump of a newer major than
/// the target server (its version as of the last connection test or health check). Skipped
/// when the target's version is unknown or the sidecar cannot be read (the worker still checks).
async fn newer_dump_than_target(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    params: &RestoreParams,
) -> Result<Option<String>, ApiError> {
    let target = store::load(db, sealer, &params.target_source_id)?;
    let Some(version) = target
        .metadata
        .get("engineVersion")
        .and_then(Value::as_str)
        .filter(|_| target.adapter_id == "postgres")
    else {
        return Ok(None);
    };
    let storage = destination_spec(db, sealer, &params.destination_id)?;
    let sidecar = read_sidecar(worker, &storage, &params.path).await;
    Ok(newer_dump(&sidecar, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestDb;
    use dbackup_core::worker::fake::{block_on, FakeWorker};

    fn sealer() -> SecretBox {
        SecretBox::from_hex_key(&"11".repeat(32)).unwrap()
    }

    fn params(body: Value) -> RestoreParams {
        RestoreParams::from_body(&body).unwrap()
    }

    fn pg_target(db: &TestDb, version: &str) {
        db.exec(&format!(
            r#"UPDATE "AdapterConfig" SET "metadata" = '{{"engineVersion": "{version}"}}' WHERE "id" = 'src'"#
        ));
        db.exec(
            r#"UPDATE "AdapterConfig" SET "config" = '{"path": "/backups"}' WHERE "id" = 'dst1'"#,
        );
    }

    fn request() -> Value {
        json!({"destinationId": "dst1", "path": "nightly/a.sql.gz", "targetSourceId": "src"})
    }

    #[test]
    fn wrong_kinds_are_400_naming_the_field() {
        let db = TestDb::migrated().with_adapters();
        let w = FakeWorker::new();
        let mut body = request();
        body["destinationId"] = json!("src");
        let e = block_on(queue(&db, &w, &sealer(), &params(body), "now")).unwrap_err();
        assert_eq!(
            (e.status, e.details.unwrap()["field"].clone()),
            (400, json!("destinationId"))
        );
        let mut body = request();
        body["targetSourceId"] = json!("dst2");
        let e = block_on(queue(&db, &w, &sealer(), &params(body), "now")).unwrap_err();
        assert_eq!(
            (e.status, e.details.unwrap()["field"].clone()),
            (400, json!("targetSourceId"))
        );
        assert!(w.requests().is_empty());
    }

    #[test]
    fn a_newer_postgres_dump_is_409_unless_forced() {
        let db = TestDb::migrated().with_adapters();
        pg_target(&db, "15.4");
        let w = FakeWorker::new();
        w.answer(
            "/v1/storage/get",
            200,
            json!({"engine": "postgresql", "serverVersion": "16.2"}),
        );
        let e = block_on(queue(&db, &w, &sealer(), &params(request()), "now")).unwrap_err();
        assert_eq!(
            (e.status, e.details.unwrap()["field"].clone()),
            (409, json!("force"))
        );
        assert_eq!(
            w.requests_to("/v1/storage/get")[0].body["name"],
            "nightly/a.sql.gz.meta.json"
        );
        let mut forced = request();
        forced["force"] = json!(true);
        let id = block_on(queue(&db, &w, &sealer(), &params(forced), "now")).unwrap();
        assert_eq!(db.count(&format!(r#"SELECT COUNT(*) FROM "Execution" WHERE "id" = '{id}' AND "type" = 'Restore' AND "status" = 'Pending'"#)), 1);
    }

    #[test]
    fn an_unreadable_sidecar_or_unknown_version_skips_the_check() {
        let db = TestDb::migrated().with_adapters();
        let w = FakeWorker::new();
        // No engine version recorded: the worker is asked for the sidecar only (is it DBackup's?).
        block_on(queue(&db, &w, &sealer(), &params(request()), "now")).unwrap();
        assert!(w.requests().iter().all(|r| r.path == "/v1/storage/get"));
        pg_target(&db, "15.4");
        w.answer("/v1/storage/get", 503, json!({"error": "storage down"}));
        block_on(queue(&db, &w, &sealer(), &params(request()), "now")).unwrap();
    }

    #[test]
    fn the_backups_job_comes_from_the_history_and_the_password_is_sealed() {
        let db = TestDb::migrated().with_adapters();
        db.exec(
            r#"INSERT INTO "Job" ("id", "name", "schedule", "sourceId", "destinationId")
               VALUES ('j1', 'nightly', '0 3 * * *', 'src', 'dst1')"#,
        );
        db.exec(
            r#"INSERT INTO "Execution" ("id", "jobId", "type", "status", "logs", "path")
               VALUES ('b1', 'j1', 'Backup', 'Success', '[]', 'nightly/a.sql.gz')"#,
        );
        let mut body = request();
        body["privileged"] = json!({"user": "postgres", "password": "hunter2"});
        let p = params(body);
        let id = block_on(queue(&db, &FakeWorker::new(), &sealer(), &p, "now")).unwrap();
        let row = db
            .text(&format!(
                r#"SELECT "jobId" || ' ' || "request" FROM "Execution" WHERE "id" = '{id}'"#
            ))
            .unwrap();
        assert!(row.starts_with("j1 "), "{row}");
        assert!(!row.contains("hunter2"), "{row}");
        let details = audit_details(&p);
        assert_eq!(
            details["privileged"],
            json!({"user": "postgres", "password": "••••"})
        );
    }

    #[test]
    fn a_write_only_profiles_backup_needs_the_private_key_which_is_stored_sealed() {
        let db = TestDb::migrated().with_adapters();
        let profile = dbackup_vault_core::create_of_kind(
            &db,
            &sealer(),
            "write-only",
            None,
            &[0xcd; 32],
            dbackup_vault_core::KIND_PUBLIC,
        )
        .unwrap();
        db.exec(&format!(
            r#"INSERT INTO "Job" ("id", "name", "schedule", "sourceId", "destinationId", "encryptionProfileId")
               VALUES ('j1', 'nightly', '0 3 * * *', 'src', 'dst1', '{}')"#,
            profile.id
        ));
        db.exec(
            r#"INSERT INTO "Execution" ("id", "jobId", "type", "status", "logs", "path")
               VALUES ('b1', 'j1', 'Backup', 'Success', '[]', 'nightly/a.sql.gz')"#,
        );
        let w = FakeWorker::new();
        let e = block_on(queue(&db, &w, &sealer(), &params(request()), "now")).unwrap_err();
        assert_eq!(
            (e.status, e.details.unwrap()["field"].clone()),
            (400, json!("privateKey"))
        );
        for bad in [json!("abcd"), json!("zz".repeat(32)), json!(7)] {
            let mut body = request();
            body["privateKey"] = bad;
            let e = RestoreParams::from_body(&body).unwrap_err();
            assert_eq!(e.details.unwrap()["field"], "privateKey");
        }
        let canary = "c0ffee".repeat(10) + "c0de";
        let mut body = request();
        body["privateKey"] = json!(canary.to_uppercase());
        let p = params(body);
        assert!(!format!("{p:?}").contains(&canary));
        let id = block_on(queue(&db, &w, &sealer(), &p, "now")).unwrap();
        let stored = db
            .text(&format!(
                r#"SELECT "request" FROM "Execution" WHERE "id" = '{id}'"#
            ))
            .unwrap();
        assert!(!stored.to_lowercase().contains(&canary), "{stored}");
        assert!(stored.contains("privateKeySealed"), "{stored}");
        assert!(!audit_details(&p).to_string().contains(&canary));
        let back = RestoreParams::from_stored(&serde_json::from_str(&stored).unwrap(), |s| {
            sealer()
                .decrypt(s, &dbackup_core::sealed::restore_privileged_password())
                .map(|b| String::from_utf8(b).unwrap())
                .map_err(|e| ApiError::internal(e.to_string()))
        })
        .unwrap();
        assert_eq!(back.private_key.unwrap().0, canary);
    }
}
