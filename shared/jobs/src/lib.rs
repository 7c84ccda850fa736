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

/// The value of `name` in a query string (`a=1&b=x%20y`), percent-decoded; `+` is a space.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod query_tests {
    use super::query_param;

    #[test]
    fn decodes_query_parameters() {
        let q = "jobId=a%2Fb&status=Running&x&name=a+b&bad=%zz&end=%4";
        assert_eq!(query_param(q, "jobId").as_deref(), Some("a/b"));
        assert_eq!(query_param(q, "status").as_deref(), Some("Running"));
        assert_eq!(query_param(q, "x").as_deref(), Some(""));
        assert_eq!(query_param(q, "name").as_deref(), Some("a b"));
        assert_eq!(query_param(q, "bad").as_deref(), Some("%zz"));
        assert_eq!(query_param(q, "end").as_deref(), Some("%4"));
        assert_eq!(query_param(q, "nope"), None);
    }
}
