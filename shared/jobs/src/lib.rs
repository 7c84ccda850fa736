//! dbackup's job logic, shared by the `jobs`, `executions` and `runner` components and testable
//! natively (with a fake worker): the Job model and validation, schedules, retention, the
//! execution queue, worker events and their signatures, the worker requests, and the runner's
//! services — [`tick`] runs [`dispatcher`] (queued executions onto the worker), [`reconcile`]
//! (the watchdog, lost results) and [`post_process`] (retention, notifications).

#![forbid(unsafe_code)]

pub mod callback;
pub mod cancel;
pub mod dispatcher;
pub mod execution;
pub mod job;
pub mod metrics;
pub mod post_process;
pub mod reconcile;
pub mod restore;
pub mod retention;
pub mod schedule;
pub mod signature;
pub mod sql;
pub mod tick;
pub mod worker_request;

#[cfg(test)]
pub(crate) mod testutil;

pub use dbackup_core::query::query_param;

use chrono::{DateTime, SecondsFormat, Utc};

/// An error as an execution's logs show it: the message, with its details when it has some.
pub(crate) fn describe(e: &dbackup_core::ApiError) -> String {
    match &e.details {
        Some(d) => format!("{}: {d}", e.message),
        None => e.message.clone(),
    }
}

/// A time as the schema stores it: ISO-8601 UTC with milliseconds (`2026-01-02T03:04:05.678Z`).
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 / ISO-8601 time (stored or from the worker).
pub fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A random UUID v4 string (ids of jobs and executions).
pub fn new_id() -> Result<String, dbackup_core::ApiError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| dbackup_core::ApiError::internal(format!("random: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// 32 random bytes as hex (per-execution callback signing keys).
pub fn random_key_hex() -> Result<String, dbackup_core::ApiError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)
        .map_err(|e| dbackup_core::ApiError::internal(format!("random: {e}")))?;
    Ok(hex::encode(b))
}
