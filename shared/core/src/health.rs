//! `GET /api/health`: whether the database answers and is migrated, and whether the worker answers.

use crate::db::Db;
use crate::migrations;

/// What the caller found out about the worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WorkerStatus {
    Ok,
    Unreachable,
}

/// The body of `GET /api/health` (200 and 503 alike).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// `ok`, `not migrated` or `unavailable`.
    pub database: &'static str,
    /// The last applied migration (null when the database is unavailable).
    pub schema_version: Option<i64>,
    /// `ok` or `unreachable`.
    pub worker: &'static str,
    /// The app's version.
    pub version: String,
}

/// The health answer: HTTP status and body. 503 when the database is down or not migrated.
pub fn report(
    db: Result<&dyn Db, String>,
    worker: WorkerStatus,
    version: &str,
) -> (u16, HealthReport) {
    let worker = match worker {
        WorkerStatus::Ok => "ok",
        WorkerStatus::Unreachable => "unreachable",
    };
    let latest = migrations::latest_version();
    let (database, schema_version) = match db {
        Err(_) => ("unavailable", None),
        Ok(db) => match migrations::current_version(db) {
            Err(_) => ("unavailable", None),
            Ok(v) if v < latest => ("not migrated", Some(v)),
            Ok(v) => ("ok", Some(v)),
        },
    };
    let status = if database == "ok" { 200 } else { 503 };
    (
        status,
        HealthReport {
            status: if status == 200 { "ok" } else { "unavailable" },
            database,
            schema_version,
            worker,
            version: version.to_owned(),
        },
    )
}
