//! `GET /api/workers` (settings:read): the pool — the configured worker (asked `/healthz` now,
//! for its health and version, within 5 s) and the registered ones
//! (`dbackup_jobs_core::pool::list`).

use std::time::Duration;

use dbackup_core::ApiError;
use dbackup_jobs_core::pool;
use dbackup_web::deadline::within;
use dbackup_web::gate::Ctx;
use spin_sdk::http::{Request, Response};
use spin_sdk::variables;

/// How long the configured worker gets to answer `/healthz`.
const PING_LIMIT: Duration = Duration::from_secs(5);

/// The configured worker's version, `None` when it does not answer `/healthz`.
async fn default_version(url: &str) -> Option<String> {
    let request = Request::get(format!("{url}/healthz")).build();
    let response = within(PING_LIMIT, spin_sdk::http::send::<_, Response>(request))
        .await?
        .ok()?;
    if *response.status() != 200 {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
    Some(
        body.get("version")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .chars()
            .take(32)
            .collect(),
    )
}

pub async fn list(ctx: &Ctx) -> Result<Response, ApiError> {
    let url = variables::get("worker_url")
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let version = if url.is_empty() {
        None
    } else {
        default_version(&url).await
    };
    dbackup_web::ok(&pool::list(&ctx.db, chrono::Utc::now(), &url, version)?)
}
