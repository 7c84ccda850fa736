//! dbackup's job logic, shared by the `jobs`, `executions` and `runner` components and testable
//! natively: the Job model and validation, schedules, retention, the execution queue, worker
//! events and their signatures, and the worker requests the runner sends.

pub mod dispatch;
pub mod execution;
pub mod job;
pub mod retention;
pub mod schedule;
pub mod signature;
pub mod sql;

#[cfg(test)]
pub(crate) mod testutil;

use chrono::{DateTime, SecondsFormat, Utc};

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
