//! `POST /api/internal/executions/{id}/events`: one worker event, verified with the
//! execution's callback key and applied (`dbackup_jobs_core::callback`).

use chrono::Utc;
use dbackup_core::ApiError;
use dbackup_jobs_core::callback::{self, Signed};
use dbackup_web::SpinDb;
use spin_sdk::http::{Request, Response};

/// The execution id if `req` is an events callback.
pub fn route(req: &Request) -> Option<String> {
    let path = req.path().split(['?', '#']).next().unwrap_or_default();
    let rest = path.strip_prefix("/api/internal/executions/")?;
    let (id, tail) = rest.split_once('/')?;
    (tail.trim_end_matches('/') == "events" && !id.is_empty()).then(|| id.to_owned())
}

/// 204 when the event is stored or a duplicate; 401 for a bad signature, 400 for a malformed
/// event, 404 for an unknown execution.
pub fn receive(id: &str, req: Request) -> Result<Response, ApiError> {
    let header = |name: &str| req.header(name).and_then(|h| h.as_str());
    let signed = Signed {
        timestamp: header("x-dbackup-timestamp"),
        signature: header("x-dbackup-signature"),
    };
    let db = SpinDb::open_migrated()?;
    let sealer = dbackup_web::secret_box()?;
    callback::receive(&db, &sealer, id, signed, req.body(), Utc::now())?;
    dbackup_web::no_content()
}
