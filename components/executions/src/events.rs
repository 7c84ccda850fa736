//! `POST /api/internal/executions/{id}/events`: one worker event, authenticated with the
//! execution's callback key (HMAC-SHA256 over `timestamp + "." + body`, ±5 minutes), applied
//! idempotently by `seq`.

use chrono::Utc;
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use dbackup_jobs_core::execution::{self, EventOutcome};
use dbackup_jobs_core::signature;
use dbackup_web::SpinDb;
use spin_sdk::http::{Request, Response};
use spin_sdk::variables;

/// The execution id if `req` is an events callback.
pub fn route(req: &Request) -> Option<String> {
    let path = req.path().split(['?', '#']).next().unwrap_or_default();
    let rest = path.strip_prefix("/api/internal/executions/")?;
    let (id, tail) = rest.split_once('/')?;
    (tail.trim_end_matches('/') == "events" && !id.is_empty()).then(|| id.to_owned())
}

fn unauthorized() -> ApiError {
    ApiError::new(401, "unauthorized")
}

/// Verifies and applies one event: 204 when stored or a duplicate, 401 for a bad signature (or
/// an execution without a key: nothing to verify against), 400 for a malformed event.
pub fn receive(id: &str, req: Request) -> Result<Response, ApiError> {
    let header = |name: &str| req.header(name).and_then(|h| h.as_str()).map(str::to_owned);
    let (timestamp, sig) = (header("x-dbackup-timestamp"), header("x-dbackup-signature"));
    let body = req.body().to_vec();
    let db = SpinDb::open_migrated()?;
    let sealed = execution::callback_key(&db, id)?
        .flatten()
        .ok_or_else(|| unauthorized().with_cause(format!("execution {id}: no callback key")))?;
    let master = variables::get("encryption_key")
        .map_err(|e| ApiError::internal(format!("variable encryption_key: {e:?}")))?;
    let sealer = SecretBox::from_hex_key(&master).map_err(|e| ApiError::internal(e.to_string()))?;
    let key_hex = sealer
        .decrypt(&sealed, &dbackup_core::sealed::execution_callback_key())
        .map_err(|e| ApiError::internal(format!("callback key: {e}")))?;
    let key =
        hex::decode(&key_hex).map_err(|e| ApiError::internal(format!("callback key: {e}")))?;
    signature::verify(
        &key,
        timestamp.as_deref(),
        sig.as_deref(),
        &body,
        Utc::now().timestamp(),
    )
    .map_err(|why| unauthorized().with_cause(format!("execution {id}: {why}")))?;
    let event: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid event: {e}")))?;
    let now = dbackup_jobs_core::iso(Utc::now());
    match execution::apply_event(&db, id, &event, &now)? {
        EventOutcome::Applied { .. } | EventOutcome::Duplicate => dbackup_web::no_content(),
        EventOutcome::NotFound => Err(ApiError::new(404, "execution not found")),
    }
}
