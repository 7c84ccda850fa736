//! `GET /api/executions`, `GET /api/executions/{id}`, `POST /api/executions/{id}/cancel`.

use chrono::Utc;
use dbackup_core::ApiError;
use dbackup_jobs_core::cancel::{self, execution_not_found};
use dbackup_jobs_core::execution::{self, ListQuery};
use dbackup_jobs_core::query_param;
use dbackup_web::gate::Ctx;
use dbackup_web::worker::SpinWorker;
use serde_json::json;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// Execution statuses a list may filter on.
const STATUSES: [&str; 6] = [
    "Pending",
    "Running",
    "Success",
    "Partial",
    "Failed",
    "Cancelled",
];

/// `GET /api/executions?jobId&status&type&cursor&limit` → `{items, nextCursor}`, newest
/// first, without logs (`limit` 1–200, default 50).
pub fn list(ctx: &Ctx) -> Answer {
    let q = |k: &str| query_param(&ctx.query, k).filter(|v| !v.is_empty());
    let limit = match q("limit") {
        None => 50,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=200).contains(l))
            .ok_or_else(|| ApiError::bad_request("invalid limit: must be 1 to 200"))?,
    };
    let status = q("status");
    if let Some(s) = status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::bad_request(format!("invalid status {s:?}")));
    }
    let kind = q("type");
    if let Some(t) = kind
        .as_deref()
        .filter(|t| !["Backup", "Restore"].contains(t))
    {
        return Err(ApiError::bad_request(format!("invalid type {t:?}")));
    }
    let query = ListQuery {
        job_id: q("jobId"),
        status,
        kind,
        cursor: q("cursor"),
        limit,
    };
    dbackup_web::ok(&execution::list_view(&ctx.db, &query)?)
}

/// `GET /api/executions/{id}` → the execution with logs and progress.
pub fn get(ctx: &Ctx) -> Answer {
    let v = execution::get_view(&ctx.db, ctx.param("id")?)?.ok_or_else(execution_not_found)?;
    dbackup_web::ok(&v)
}

/// `POST /api/executions/{id}/cancel` → the execution, Cancelled (409 when already finished).
pub async fn cancel(ctx: &Ctx) -> Answer {
    let id = ctx.param("id")?;
    let who = ctx.principal.as_ref().map(|p| p.user_id().to_owned());
    let now = dbackup_jobs_core::iso(Utc::now());
    cancel::cancel(&ctx.db, &SpinWorker, id, who.as_deref(), &now).await?;
    ctx.audit(
        "EXECUTE",
        "EXECUTION",
        Some(id),
        json!({"action": "cancel"}),
    )?;
    let v = execution::get_view(&ctx.db, id)?.ok_or_else(execution_not_found)?;
    dbackup_web::ok(&v)
}
