//! `GET|DELETE /api/storage/{id}/backups`, `POST /api/storage/{id}/backups/{lock,unlock}`:
//! `dbackup_storage_core::backups` on destination `{id}`, audited here.

use dbackup_core::query::query_param;
use dbackup_core::ApiError;
use dbackup_storage_core::backups::{self, PageQuery};
use dbackup_storage_core::explorer::{parse_limit, validate_path};
use dbackup_web::gate::Ctx;
use dbackup_web::worker::SpinWorker;
use serde_json::{json, Value};
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// Destination `{id}` as the worker's StorageSpec; 404 if there is no such destination.
pub fn destination(ctx: &Ctx) -> Result<Value, ApiError> {
    dbackup_adapters_core::destination_spec(&ctx.db, &ctx.secret_box()?, ctx.param("id")?)
}

/// The `path` query parameter, checked.
pub fn path_param(ctx: &Ctx) -> Result<String, ApiError> {
    let path = query_param(&ctx.query, "path").unwrap_or_default();
    Ok(validate_path(&path)?.to_owned())
}

/// `GET /api/storage/{id}/backups?jobId&cursor&limit` → `{items, nextCursor, total}`, newest
/// first.
pub async fn list(ctx: &Ctx) -> Answer {
    let storage = destination(ctx)?;
    let q = |k: &str| query_param(&ctx.query, k).filter(|v| !v.is_empty());
    let query = PageQuery {
        limit: parse_limit(q("limit").as_deref())?,
        job_id: q("jobId"),
        cursor: q("cursor"),
    };
    dbackup_web::ok(&backups::page(&ctx.db, &SpinWorker, &storage, &query).await?)
}

/// `DELETE /api/storage/{id}/backups?path=`: the object and its sidecar (409 while locked).
pub async fn delete(ctx: &Ctx) -> Answer {
    let storage = destination(ctx)?;
    let path = path_param(ctx)?;
    let details = backups::delete(&SpinWorker, &storage, &path).await?;
    ctx.audit("DELETE", "BACKUP", Some(ctx.param("id")?), details)?;
    dbackup_web::no_content()
}

/// `POST /api/storage/{id}/backups/{lock,unlock}` `{path}` → the item with its new lock state.
pub async fn set_lock(ctx: &Ctx, locked: bool) -> Answer {
    let storage = destination(ctx)?;
    let body = ctx.body_value()?;
    let path = validate_path(body["path"].as_str().unwrap_or_default())?.to_owned();
    let item = backups::set_lock(&SpinWorker, &storage, &path, locked).await?;
    ctx.audit(
        "UPDATE",
        "BACKUP",
        Some(ctx.param("id")?),
        json!({"path": path, "action": if locked { "lock" } else { "unlock" }}),
    )?;
    dbackup_web::ok(&item)
}
