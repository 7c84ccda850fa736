//! `GET|DELETE /api/storage/{id}/backups`, `POST /api/storage/{id}/backups/{lock,unlock}`.

use dbackup_adapters_core::{store, worker_storage, Kind};
use dbackup_core::ApiError;
use dbackup_jobs_core::{query_param, sql};
use dbackup_storage_core::explorer::{self as logic, Listed};
use dbackup_web::gate::Ctx;
use dbackup_web::worker;
use futures::StreamExt;
use serde_json::{json, Value};
use spin_sdk::http::{Method, Response};

type Answer = Result<Response, ApiError>;

/// Concurrent sidecar reads while building a page.
const SIDECAR_READS: usize = 8;

/// The destination `{id}` as the worker's StorageSpec; 404 if there is no such destination.
pub fn destination(ctx: &Ctx) -> Result<Value, ApiError> {
    let id = ctx.param("id")?;
    let sealer = ctx.secret_box()?;
    let adapter = store::load(&ctx.db, &sealer, id)?;
    if adapter.kind != Kind::Storage {
        return Err(ApiError::new(404, "destination not found"));
    }
    worker_storage(&adapter)
}

/// The `path` query parameter, checked.
pub fn path_param(ctx: &Ctx) -> Result<String, ApiError> {
    let path = query_param(&ctx.query, "path").unwrap_or_default();
    Ok(logic::validate_path(&path)?.to_owned())
}

/// The worker's error for a failed storage call, as ours: its 4xx stay client errors (a
/// missing object is a 404), anything else is a 502 naming the storage's message.
pub fn storage_error(what: &str, status: u16, body: &Value) -> ApiError {
    let message = body["error"].as_str().unwrap_or("storage error");
    let details = body.get("details").cloned();
    let status = match status {
        404 => 404,
        400 | 422 => 502,
        503 => 503,
        _ => 502,
    };
    let mut e = ApiError::new(status, format!("{what}: {message}"));
    if let Some(d) = details.filter(|d| !d.is_null()) {
        e = e.with_details(d);
    }
    e
}

/// The sidecar of `path` (`null` when absent or unreadable as JSON). A storage that cannot be
/// reached is an error, not a missing sidecar.
pub async fn read_sidecar(storage: &Value, path: &str) -> Result<Value, ApiError> {
    let body = json!({"storage": storage, "name": logic::sidecar_name(path)});
    let resp = worker::send(Method::Post, "/v1/storage/get", Some(&body)).await?;
    match *resp.status() {
        200 => Ok(serde_json::from_slice(resp.body()).unwrap_or(Value::Null)),
        404 => Ok(Value::Null),
        s => {
            let v: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
            Err(storage_error("reading metadata failed", s, &v))
        }
    }
}

async fn stat(storage: &Value, path: &str) -> Result<(), ApiError> {
    let (status, body) = worker::post_json(
        "/v1/storage/stat",
        &json!({"storage": storage, "name": path}),
    )
    .await?;
    match status {
        200 => Ok(()),
        404 => Err(ApiError::new(404, "backup not found")),
        s => Err(storage_error("storage error", s, &body)),
    }
}

/// `GET /api/storage/{id}/backups?jobId&cursor&limit` → `{items, nextCursor}`, newest first.
/// A listing that fails is a 502/503 with the storage's message, never an empty list.
pub async fn list(ctx: &Ctx) -> Answer {
    let storage = destination(ctx)?;
    let q = |k: &str| query_param(&ctx.query, k).filter(|v| !v.is_empty());
    let limit = logic::parse_limit(q("limit").as_deref())?;
    let job_id = q("jobId");
    // A job's backups live under `<job name>/`: list only that folder.
    let prefix = match &job_id {
        None => None,
        Some(j) => Some(
            sql::query(
                &ctx.db,
                r#"SELECT "name" FROM "Job" WHERE "id" = ?"#,
                &[j.as_str().into()],
            )?
            .first()
            .and_then(|r| r.text("name"))
            .map(|n| format!("{n}/"))
            .ok_or_else(|| {
                ApiError::bad_request(format!("invalid jobId: no job {j:?}"))
                    .with_details(json!({"field": "jobId"}))
            })?,
        ),
    };
    let mut request = json!({"storage": storage});
    if let Some(p) = &prefix {
        request["prefix"] = json!(p);
    }
    let (status, listing) = worker::post_json("/v1/storage/list", &request).await?;
    if status != 200 {
        return Err(storage_error(
            "listing the destination failed",
            status,
            &listing,
        ));
    }
    let all = logic::backups_of(&listing)?;
    let rest = logic::after_cursor(&all, q("cursor").as_deref())?;
    let page: Vec<Listed> = rest.iter().take(limit).cloned().collect();
    let next = (rest.len() > limit)
        .then(|| page.last().map(logic::cursor_after))
        .flatten();
    let storage_ref = &storage;
    let sidecars: Vec<Result<Value, ApiError>> = futures::stream::iter(page.iter())
        .map(|o| read_sidecar(storage_ref, &o.name))
        .buffered(SIDECAR_READS)
        .collect()
        .await;
    let mut items = Vec::with_capacity(page.len());
    for (object, sidecar) in page.iter().zip(sidecars) {
        let sidecar = sidecar?;
        // Another job that once had the same name: not this job's backup.
        if let (Some(j), Some(recorded)) = (&job_id, logic::job_id_of(&sidecar)) {
            if recorded != j {
                continue;
            }
        }
        items.push(logic::item(object, &sidecar));
    }
    dbackup_web::ok(&logic::BackupPage {
        items,
        next_cursor: next,
        total: all.len(),
    })
}

/// `DELETE /api/storage/{id}/backups?path=`: deletes the object and its sidecar (409 while
/// locked, 404 if absent); audited.
pub async fn delete(ctx: &Ctx) -> Answer {
    let storage = destination(ctx)?;
    let path = path_param(ctx)?;
    stat(&storage, &path).await?;
    let sidecar = read_sidecar(&storage, &path).await?;
    if logic::is_locked(&sidecar) {
        return Err(ApiError::new(409, "the backup is locked: unlock it first")
            .with_details(json!({"path": path})));
    }
    // The object first: a sidecar without its object is ignored by the explorer, an object
    // without its sidecar would still be listed.
    for name in [path.clone(), logic::sidecar_name(&path)] {
        let (status, body) = worker::post_json(
            "/v1/storage/delete",
            &json!({"storage": storage, "name": name}),
        )
        .await?;
        if status >= 300 {
            return Err(storage_error("deleting failed", status, &body));
        }
    }
    ctx.audit(
        "DELETE",
        "BACKUP",
        Some(ctx.param("id")?),
        json!({"path": path, "jobName": sidecar["meta"]["jobName"]}),
    )?;
    dbackup_web::no_content()
}

/// `POST /api/storage/{id}/backups/{lock,unlock}` `{path}` → the item, its sidecar rewritten
/// with `locked` (409 when the backup has no sidecar); audited.
pub async fn set_lock(ctx: &Ctx, locked: bool) -> Answer {
    let storage = destination(ctx)?;
    let body = ctx.body_value()?;
    let path = body["path"].as_str().unwrap_or_default();
    let path = logic::validate_path(path)?.to_owned();
    let (status, found) = worker::post_json(
        "/v1/storage/stat",
        &json!({"storage": storage, "name": path}),
    )
    .await?;
    match status {
        200 => {}
        404 => return Err(ApiError::new(404, "backup not found")),
        s => return Err(storage_error("storage error", s, &found)),
    }
    let sidecar = read_sidecar(&storage, &path).await?;
    let text = logic::with_lock(&sidecar, locked)?;
    let (status, answer) = worker::post_json(
        "/v1/storage/put",
        &json!({"storage": storage, "name": logic::sidecar_name(&path), "content": text, "overwrite": true}),
    )
    .await?;
    if status >= 300 {
        return Err(storage_error("writing metadata failed", status, &answer));
    }
    ctx.audit(
        "UPDATE",
        "BACKUP",
        Some(ctx.param("id")?),
        json!({"path": path, "action": if locked { "lock" } else { "unlock" }}),
    )?;
    let object = Listed {
        name: path.clone(),
        size: found["size"].as_u64().unwrap_or(0),
        modified_unix: found["modifiedUnix"].as_i64().unwrap_or(0),
    };
    let updated: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    dbackup_web::ok(&logic::item(&object, &updated))
}
