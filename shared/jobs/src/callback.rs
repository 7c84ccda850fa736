//! Receiving one worker event (`POST /api/internal/executions/{id}/events`): authenticated with
//! the execution's callback key (HMAC-SHA256 over `timestamp + "." + body`, ±5 minutes), then
//! applied idempotently by `seq` ([`events::apply_event`]).

use chrono::{DateTime, Utc};
use dbackup_core::db::Db;
use dbackup_core::sealed;
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;

use crate::events::{self, EventOutcome};
use crate::{signature, sql};

/// The signature headers of a callback, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct Signed<'a> {
    /// `X-Dbackup-Timestamp` (unix seconds).
    pub timestamp: Option<&'a str>,
    /// `X-Dbackup-Signature` (`v1=<hex>`).
    pub signature: Option<&'a str>,
}

/// The sealed callback key of an execution (`None`: no such execution; `Some(None)`: no key).
pub fn callback_key(db: &dyn Db, id: &str) -> Result<Option<Option<String>>, ApiError> {
    Ok(sql::query(
        db,
        r#"SELECT "callbackKey" FROM "Execution" WHERE "id" = ?"#,
        &[id.into()],
    )?
    .first()
    .map(|r| r.text("callbackKey")))
}

fn unauthorized() -> ApiError {
    ApiError::new(401, "unauthorized")
}

/// Verifies and applies one event for execution `id` at `now`. 401 for a
/// bad signature or an execution without a key (nothing to verify against), 400 for a
/// malformed event, 404 for an unknown execution; `Ok` when stored or a duplicate.
pub fn receive(
    db: &dyn Db,
    sealer: &SecretBox,
    id: &str,
    signed: Signed<'_>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<EventOutcome, ApiError> {
    let sealed_key = callback_key(db, id)?
        .flatten()
        .ok_or_else(|| unauthorized().with_cause(format!("execution {id}: no callback key")))?;
    let key_hex = sealer
        .decrypt(&sealed_key, &sealed::execution_callback_key())
        .map_err(|e| ApiError::internal(format!("callback key: {e}")))?;
    let key =
        hex::decode(&key_hex).map_err(|e| ApiError::internal(format!("callback key: {e}")))?;
    signature::verify(
        &key,
        signed.timestamp,
        signed.signature,
        body,
        now.timestamp(),
    )
    .map_err(|why| unauthorized().with_cause(format!("execution {id}: {why}")))?;
    let event: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid event: {e}")))?;
    match events::apply_event(db, id, &event, &crate::iso(now))? {
        EventOutcome::NotFound => Err(ApiError::new(404, "execution not found")),
        outcome => Ok(outcome),
    }
}
