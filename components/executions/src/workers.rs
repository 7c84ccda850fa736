//! `POST /api/internal/workers/register`: a worker's registration or heartbeat, signed with the
//! worker token (`dbackup_jobs_core::pool::register`).

use chrono::Utc;
use dbackup_core::ApiError;
use dbackup_jobs_core::callback::Signed;
use dbackup_jobs_core::pool;
use dbackup_web::SpinDb;
use spin_sdk::http::{Request, Response};
use spin_sdk::variables;

pub use dbackup_protocol::registration::REGISTER_PATH;

/// Whether `req` is a registration.
pub fn route(req: &Request) -> bool {
    let path = req.path().split(['?', '#']).next().unwrap_or_default();
    path.trim_end_matches('/') == REGISTER_PATH
}

/// 200 `{"id"}` when stored; 401 for a bad signature, 400 naming bad fields, 413, 409.
pub fn register(req: Request) -> Result<Response, ApiError> {
    let header = |name: &str| req.header(name).and_then(|h| h.as_str());
    let signed = Signed {
        timestamp: header("x-dbackup-timestamp"),
        signature: header("x-dbackup-signature"),
    };
    let token = variables::get("worker_token").map_err(|e| {
        ApiError::unavailable("worker is not configured").with_cause(format!("{e:?}"))
    })?;
    let db = SpinDb::open_migrated()?;
    let id = pool::register(&db, token.as_bytes(), signed, req.body(), Utc::now())?;
    dbackup_web::ok(&serde_json::json!({ "id": id }))
}
