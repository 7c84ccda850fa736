//! dbackup's job logic, shared by the `jobs`, `executions` and `runner` components and testable
//! natively (with a fake worker): the Job model and validation, schedules, retention, the
//! worker requests, and the runner's services. One backup's way through it: [`queue`] (a
//! Pending execution) → [`tick`] → [`dispatcher`] (a [`pool`] member, claim, [`worker_request`], post) → the
//! worker → [`callback`] (verify) → [`events`] (apply). [`execution`] is the row model and its
//! views; [`reconcile`] is the watchdog and lost results, [`post_process`] retention and
//! notifications.

#![forbid(unsafe_code)]

pub mod callback;
pub mod cancel;
pub mod dbackup_import;
pub mod dispatcher;
pub mod events;
pub mod execution;
pub mod job;
pub mod metrics;
pub mod pool;
pub mod post_process;
pub mod queue;
pub mod reconcile;
pub mod restore;
pub mod retention;
pub mod schedule;
pub mod signature;
pub mod sql;
pub mod tick;
pub mod worker_request;

#[cfg(test)]
mod query_plans;
#[cfg(test)]
pub(crate) mod testutil;

pub use dbackup_core::query::query_param;

use chrono::{DateTime, Utc};

/// An error as an execution's logs show it: the message, with its details when it has some.
pub(crate) fn describe(e: &dbackup_core::ApiError) -> String {
    match &e.details {
        Some(d) => format!("{}: {d}", e.message),
        None => e.message.clone(),
    }
}

/// A time as the schema stores it ([`dbackup_core::time::Timestamp::iso`]).
pub fn iso(t: DateTime<Utc>) -> String {
    dbackup_core::time::Timestamp::from(t).iso()
}

/// Parses an RFC 3339 / ISO-8601 time (stored or from the worker).
pub fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    dbackup_core::time::parse_rfc3339(s)
}

pub use dbackup_core::id::new_id;

/// 32 random bytes as hex (per-execution callback signing keys).
pub fn random_key_hex() -> Result<String, dbackup_core::ApiError> {
    dbackup_core::id::random_hex(32)
}
