//! The storage explorer's operations on a destination's backups, through the worker's storage
//! API (`/v1/storage/{list,get,stat,put,delete}`): a page of backups with their sidecars,
//! delete (refused while locked), lock and unlock (the sidecar rewritten), and the request that
//! opens a download (the bytes are streamed by the caller, never buffered here).

use dbackup_adapters_core::SecretBox;
use dbackup_core::db::{Db, Value as DbValue};
use dbackup_core::worker::{Method, Worker};
use dbackup_core::ApiError;
use futures::StreamExt;
use serde_json::{json, Value};

use crate::explorer::{self, BackupPage, Listed};

/// Concurrent sidecar reads while building a page.
const SIDECAR_READS: usize = 8;

/// The worker's error for a failed storage call, as ours: a missing object is a 404, an
/// unavailable worker a 503, anything else a 502 naming the storage's message.
pub fn storage_error(what: &str, status: u16, body: &Value) -> ApiError {
    let message = body["error"].as_str().unwrap_or("storage error");
    let status = match status {
        404 => 404,
        503 => 503,
        _ => 502,
    };
    let mut e = ApiError::new(status, format!("{what}: {message}"));
    if let Some(d) = body.get("details").filter(|d| !d.is_null()) {
        e = e.with_details(d.clone());
    }
    e
}

/// The sidecar of backup `path` (`null` when absent or not JSON). A storage that cannot be
/// reached is an error, not a missing sidecar.
pub async fn read_sidecar(
    worker: &impl Worker,
    storage: &Value,
    path: &str,
) -> Result<Value, ApiError> {
    let body = json!({"storage": storage, "name": explorer::sidecar_name(path)});
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| ApiError::internal(format!("encoding worker request: {e}")))?;
    let answer = worker
        .send(Method::Post, "/v1/storage/get", Some(bytes))
        .await?;
    let parsed = || serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    match answer.status {
        200 => Ok(parsed()),
        404 => Ok(Value::Null),
        s => Err(storage_error("reading metadata failed", s, &parsed())),
    }
}

/// The object `path` as the worker's `stat` sees it; 404 if absent.
async fn stat(worker: &impl Worker, storage: &Value, path: &str) -> Result<Listed, ApiError> {
    let (status, found) = worker
        .post_json(
            "/v1/storage/stat",
            &json!({"storage": storage, "name": path}),
        )
        .await?;
    match status {
        200 => Ok(Listed {
            name: path.to_owned(),
            size: found["size"].as_u64().unwrap_or(0),
            modified_unix: found["modifiedUnix"].as_i64().unwrap_or(0),
        }),
        404 => Err(ApiError::new(404, "backup not found")),
        s => Err(storage_error("storage error", s, &found)),
    }
}

/// What a page of backups asks for.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// Only this job's backups (those under `<job name>/` whose sidecar names the job).
    pub job_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: usize,
}

/// The folder a job's backups live in: `<job name>/` (400 naming `jobId` for no such job).
fn job_folder(db: &dyn Db, job_id: &str) -> Result<String, ApiError> {
    db.execute(
        r#"SELECT "name" FROM "Job" WHERE "id" = ?"#,
        &[job_id.into()],
    )?
    .scalar()
    .and_then(DbValue::as_str)
    .map(|n| format!("{n}/"))
    .ok_or_else(|| {
        ApiError::bad_request(format!("invalid jobId: no job {job_id:?}"))
            .with_details(json!({"field": "jobId"}))
    })
}

/// A page of the backups on `storage`, newest first, each with its sidecar. A listing that
/// fails is an error with the storage's message, never an empty page.
pub async fn page(
    db: &dyn Db,
    worker: &impl Worker,
    storage: &Value,
    query: &PageQuery,
) -> Result<BackupPage, ApiError> {
    let mut request = json!({"storage": storage});
    if let Some(j) = &query.job_id {
        request["prefix"] = json!(job_folder(db, j)?);
    }
    let (status, listing) = worker.post_json("/v1/storage/list", &request).await?;
    if status != 200 {
        return Err(storage_error(
            "listing the destination failed",
            status,
            &listing,
        ));
    }
    let all = explorer::backups_of(&listing)?;
    let rest = explorer::after_cursor(&all, query.cursor.as_deref())?;
    let page: Vec<Listed> = rest.iter().take(query.limit).cloned().collect();
    let next = (rest.len() > query.limit)
        .then(|| page.last().map(explorer::cursor_after))
        .flatten();
    let sidecars: Vec<Result<Value, ApiError>> = futures::stream::iter(page.iter())
        .map(|o| read_sidecar(worker, storage, &o.name))
        .buffered(SIDECAR_READS)
        .collect()
        .await;
    let mut items = Vec::with_capacity(page.len());
    for (object, sidecar) in page.iter().zip(sidecars) {
        let sidecar = sidecar?;
        // Another job that once had the same name: not this job's backup.
        if let (Some(j), Some(recorded)) = (&query.job_id, explorer::job_id_of(&sidecar)) {
            if recorded != j {
                continue;
            }
        }
        items.push(explorer::item(object, &sidecar));
    }
    Ok(BackupPage {
        items,
        next_cursor: next,
        total: all.len(),
    })
}

/// Deletes backup `path` and its sidecar (409 while locked, 404 if absent); returns the
/// audit details.
pub async fn delete(worker: &impl Worker, storage: &Value, path: &str) -> Result<Value, ApiError> {
    stat(worker, storage, path).await?;
    let sidecar = read_sidecar(worker, storage, path).await?;
    if explorer::is_locked(&sidecar) {
        return Err(ApiError::new(409, "the backup is locked: unlock it first")
            .with_details(json!({"path": path})));
    }
    // The object first: a sidecar without its object is ignored by the explorer, an object
    // without its sidecar would still be listed.
    for name in [path.to_owned(), explorer::sidecar_name(path)] {
        let (status, body) = worker
            .post_json(
                "/v1/storage/delete",
                &json!({"storage": storage, "name": name}),
            )
            .await?;
        if status >= 300 {
            return Err(storage_error("deleting failed", status, &body));
        }
    }
    Ok(json!({"path": path, "jobName": sidecar["meta"]["jobName"]}))
}

/// Locks or unlocks backup `path` by rewriting its sidecar with `locked` (409 when it has no
/// sidecar, 404 if absent); returns the item as it now is.
pub async fn set_lock(
    worker: &impl Worker,
    storage: &Value,
    path: &str,
    locked: bool,
) -> Result<explorer::BackupItem, ApiError> {
    let object = stat(worker, storage, path).await?;
    let sidecar = read_sidecar(worker, storage, path).await?;
    let text = explorer::with_lock(&sidecar, locked)?;
    let (status, answer) = worker
        .post_json(
            "/v1/storage/put",
            &json!({"storage": storage, "name": explorer::sidecar_name(path), "content": text, "overwrite": true}),
        )
        .await?;
    if status >= 300 {
        return Err(storage_error("writing metadata failed", status, &answer));
    }
    let updated: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(explorer::item(&object, &updated))
}

/// The worker's `POST /v1/storage/get` body that downloads backup `path`; with `decrypt`, the
/// key of the encryption profile its sidecar records (400 when it is not encrypted or the
/// profile is gone).
pub async fn download_request(
    db: &dyn Db,
    sealer: &SecretBox,
    worker: &impl Worker,
    storage: &Value,
    path: &str,
    decrypt: bool,
) -> Result<Value, ApiError> {
    let mut body = json!({"storage": storage, "name": path});
    if decrypt {
        let sidecar = read_sidecar(worker, storage, path).await?;
        if crate::explorer::item(
            &Listed {
                name: path.to_owned(),
                size: 0,
                modified_unix: 0,
            },
            &sidecar,
        )
        .origin
        .is_some()
        {
            // Its one GCM tag covers the whole object: a streamed download would hand out
            // plaintext before it is authenticated. Restores read it twice (docs/STORAGE.md).
            return Err(ApiError::bad_request(
                "a DBackup backup is not downloaded decrypted: restore it (it is authenticated \
                 whole first), or download it as stored",
            )
            .with_details(json!({"field": "decrypt"})));
        }
        if !sidecar["encryption"].is_object() {
            return Err(ApiError::bad_request("the backup is not encrypted"));
        }
        let profile = sidecar["meta"]["encryptionProfileId"]
            .as_str()
            .ok_or_else(|| {
                ApiError::bad_request("the backup's encryption profile is not recorded")
            })?;
        dbackup_vault_core::refuse_write_only(db, profile, "decrypt")?;
        let (key_hex, _) = dbackup_vault_core::key_hex(db, sealer, profile).map_err(|e| {
            if e.status == 404 {
                ApiError::bad_request("the backup's encryption profile no longer exists")
            } else {
                e
            }
        })?;
        body["decrypt"] = json!({ "keyHex": key_hex });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbackup_core::native_sqlite::TestDb;
    use dbackup_core::worker::fake::{block_on, FakeWorker};
    use dbackup_core::worker::WorkerAnswer;

    fn storage() -> Value {
        json!({"kind": "local", "path": "/b"})
    }

    fn sidecar_of(body: &Value) -> WorkerAnswer {
        let name = body["name"].as_str().unwrap_or_default();
        let (status, sidecar) = match name {
            "nightly/a.sql.gz.meta.json" => (
                200,
                json!({"meta": {"jobId": "j1", "jobName": "nightly"}, "locked": true}),
            ),
            "nightly/b.sql.gz.meta.json" => (200, json!({"meta": {"jobId": "other"}})),
            _ => (404, json!({"error": "not found"})),
        };
        WorkerAnswer {
            status,
            body: sidecar.to_string().into_bytes(),
        }
    }

    fn worker() -> FakeWorker {
        let w = FakeWorker::new();
        w.answer(
            "/v1/storage/list",
            200,
            json!({"objects": [
                {"name": "nightly/a.sql.gz", "size": 10, "modifiedUnix": 2000},
                {"name": "nightly/a.sql.gz.meta.json", "size": 1, "modifiedUnix": 2000},
                {"name": "nightly/b.sql.gz", "size": 20, "modifiedUnix": 1000},
                {"name": "nightly/c.sql.gz", "size": 30, "modifiedUnix": 500},
            ]}),
        );
        w.respond("/v1/storage/get", sidecar_of);
        w.answer(
            "/v1/storage/stat",
            200,
            json!({"size": 10, "modifiedUnix": 2000}),
        );
        w.answer("/v1/storage/put", 200, json!({}));
        w.answer("/v1/storage/delete", 204, Value::Null);
        w
    }

    #[test]
    fn a_jobs_page_lists_its_folder_and_leaves_out_another_jobs_backups() {
        let db = TestDb::migrated().with_adapters();
        db.exec(
            r#"INSERT INTO "Job" ("id", "name", "schedule", "sourceId", "destinationId")
               VALUES ('j1', 'nightly', '0 3 * * *', 'src', 'dst1')"#,
        );
        let w = worker();
        let q = PageQuery {
            job_id: Some("j1".into()),
            cursor: None,
            limit: 2,
        };
        let p = block_on(page(&db, &w, &storage(), &q)).unwrap();
        assert_eq!(
            w.requests_to("/v1/storage/list")[0].body["prefix"],
            "nightly/"
        );
        // b.sql.gz's sidecar names another job: left out of the page, counted in the total.
        let names: Vec<_> = p.items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(names, ["nightly/a.sql.gz"]);
        assert!(p.items[0].locked);
        assert_eq!(
            (p.total, p.next_cursor.as_deref()),
            (3, Some("1000:nightly/b.sql.gz"))
        );
        let q = PageQuery {
            job_id: Some("nope".into()),
            ..q
        };
        let e = block_on(page(&db, &w, &storage(), &q)).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "jobId");
    }

    #[test]
    fn a_failed_listing_is_an_error_not_an_empty_page() {
        let db = TestDb::migrated();
        let w = FakeWorker::new();
        w.answer(
            "/v1/storage/list",
            500,
            json!({"error": "access denied", "details": "s3: 403"}),
        );
        let q = PageQuery {
            limit: 50,
            ..PageQuery::default()
        };
        let e = block_on(page(&db, &w, &storage(), &q)).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (502, "listing the destination failed: access denied")
        );
    }

    #[test]
    fn a_locked_backup_is_not_deleted_and_unlocking_rewrites_its_sidecar() {
        let w = worker();
        let e = block_on(delete(&w, &storage(), "nightly/a.sql.gz")).unwrap_err();
        assert_eq!(e.status, 409);
        assert!(w.requests_to("/v1/storage/delete").is_empty());
        let item = block_on(set_lock(&w, &storage(), "nightly/a.sql.gz", false)).unwrap();
        assert!(!item.locked);
        let put = &w.requests_to("/v1/storage/put")[0].body;
        assert_eq!(put["name"], "nightly/a.sql.gz.meta.json");
        assert!(put["content"]
            .as_str()
            .unwrap()
            .contains("\"locked\": false"));
        // No sidecar: nothing to record the lock in.
        let e = block_on(set_lock(&w, &storage(), "nightly/c.sql.gz", true)).unwrap_err();
        assert_eq!(e.status, 409);
        let details = block_on(delete(&w, &storage(), "nightly/b.sql.gz")).unwrap();
        assert_eq!(details["path"], "nightly/b.sql.gz");
        let deleted: Vec<_> = w
            .requests_to("/v1/storage/delete")
            .iter()
            .map(|r| r.body["name"].clone())
            .collect();
        assert_eq!(
            deleted,
            [
                json!("nightly/b.sql.gz"),
                json!("nightly/b.sql.gz.meta.json")
            ]
        );
    }

    #[test]
    fn a_decrypted_download_needs_an_encrypted_backup() {
        let db = TestDb::migrated();
        let sealer = SecretBox::from_hex_key(&"44".repeat(32)).unwrap();
        let w = worker();
        let plain = block_on(download_request(
            &db,
            &sealer,
            &w,
            &storage(),
            "nightly/c.sql.gz",
            false,
        ))
        .unwrap();
        assert_eq!(
            plain,
            json!({"storage": storage(), "name": "nightly/c.sql.gz"})
        );
        let e = block_on(download_request(
            &db,
            &sealer,
            &w,
            &storage(),
            "nightly/a.sql.gz",
            true,
        ))
        .unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (400, "the backup is not encrypted")
        );
    }
}
