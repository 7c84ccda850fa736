//! Serves `/api/health`, `/api/settings/...`, `/api/audit/...` and answers JSON 404 for any other
//! `/api` route.

use dbackup_core::db::Db;
use dbackup_core::health::{self, WorkerStatus};
use dbackup_core::ApiError;
use dbackup_web::SpinDb;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::{http_component, variables};

#[http_component]
async fn handle(req: Request) -> Response {
    let route = req
        .header("spin-matched-route")
        .and_then(|h| h.as_str())
        .unwrap_or_default()
        .to_owned();
    match route.as_str() {
        "/api/health" => dbackup_web::respond(health(&req).await),
        _ => dbackup_web::not_found(),
    }
}

async fn health(req: &Request) -> Result<Response, ApiError> {
    if !matches!(req.method(), Method::Get | Method::Head) {
        return Err(ApiError::method_not_allowed());
    }
    let worker = worker_status().await;
    let db = SpinDb::open();
    let db_ref: Result<&dyn Db, String> = match &db {
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    };
    let (status, body) = health::report(db_ref, worker, dbackup_core::VERSION);
    Ok(dbackup_web::json(status, &body))
}

async fn worker_status() -> WorkerStatus {
    let Ok(url) = variables::get("worker_url") else {
        return WorkerStatus::Unreachable;
    };
    let request = Request::get(format!("{}/healthz", url.trim_end_matches('/'))).build();
    match spin_sdk::http::send::<_, Response>(request).await {
        Ok(resp) if *resp.status() == 200 => WorkerStatus::Ok,
        _ => WorkerStatus::Unreachable,
    }
}
