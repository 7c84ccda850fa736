//! `GET /metrics`: the Prometheus text rendered by `dbackup_jobs_core::metrics` (series listed
//! there), with the worker's `/healthz` answer as `dbackup_worker_up`.
//!
//! Access: an API key or session with `settings:read` (through the gate), or
//! `Authorization: Bearer <metrics_token>` when the optional Spin variable `metrics_token` is
//! set (checked before the gate, compared in constant time).

use dbackup_core::db::Db;
use dbackup_core::ApiError;
use dbackup_jobs_core::metrics;
use spin_sdk::http::Response;

pub use metrics::token_matches;

/// The `/metrics` answer.
pub fn response(db: &dyn Db, worker_up: bool) -> Result<Response, ApiError> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .header("cache-control", "no-store")
        .body(metrics::render(db, worker_up)?)
        .build())
}
