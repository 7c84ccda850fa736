//! `GET /api/health`: whether the database answers and is migrated, and whether the worker answers.

use crate::db::Db;
use crate::migrations;
use serde_json::{json, Value};

/// What the caller found out about the worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WorkerStatus {
    Ok,
    Unreachable,
}

/// The health answer: HTTP status and body. 503 when the database is down or not migrated.
pub fn report(db: Result<&dyn Db, String>, worker: WorkerStatus, version: &str) -> (u16, Value) {
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
        json!({
            "status": if status == 200 { "ok" } else { "unavailable" },
            "database": database,
            "schemaVersion": schema_version,
            "worker": worker,
            "version": version,
        }),
    )
}
