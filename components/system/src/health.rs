//! `GET /api/health`: version, schema version, database and worker reachability.

use dbackup_core::db::Db;
use dbackup_core::health::{self, WorkerStatus};
use dbackup_core::ApiError;
use dbackup_web::SpinDb;
use spin_sdk::http::{Request, Response};
use spin_sdk::variables;

pub async fn health() -> Result<Response, ApiError> {
    let worker = worker_status().await;
    let db = SpinDb::open();
    let db_ref: Result<&dyn Db, String> = match &db {
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    };
    let (status, body) = health::report(db_ref, worker, dbackup_core::VERSION);
    dbackup_web::json_of(status, &body)
}

/// Whether the worker answers `/healthz`.
pub async fn worker_status() -> WorkerStatus {
    let Ok(url) = variables::get("worker_url") else {
        return WorkerStatus::Unreachable;
    };
    let request = Request::get(format!("{}/healthz", url.trim_end_matches('/'))).build();
    match spin_sdk::http::send::<_, Response>(request).await {
        Ok(resp) if *resp.status() == 200 => WorkerStatus::Ok,
        _ => WorkerStatus::Unreachable,
    }
}
