//! Worker events applied to an execution (docs/WORKER.md "Callback events"): stage, log,
//! progress and the result, idempotent by `seq`; a lost result is applied from the worker's
//! task ([`apply_task_result`]). Received and verified by [`crate::callback`].

use dbackup_core::db::{Db, Value as SqlValue};
use dbackup_core::ApiError;
use dbackup_protocol::events::{Event, EventBody, ResultEvent};
use dbackup_protocol::tasks::{Status as TaskStatus, TaskInfo};
use serde_json::{json, Map, Value};

use crate::execution::{self, log_entry, ExecutionStatus, MAX_LOG_ENTRIES};
use crate::sql::{self, Row};

/// What applying one worker event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// Stored; `finished` when it moved the execution to a terminal status.
    Applied {
        finished: bool,
    },
    /// A `seq` at or below the last one stored: ignored (answered 2xx).
    Duplicate,
    NotFound,
}

fn str_field<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    event.get(key).and_then(Value::as_str)
}

/// Applies one worker event (docs/WORKER.md "Callback events") to an execution: idempotent by
/// `seq` (≤ last stored: duplicate), compare-and-set on `lastSeq` so concurrent deliveries
/// cannot both apply. A result for an execution that is already finished (cancelled, stalled)
/// is logged but does not change its status.
pub fn apply_event(
    db: &dyn Db,
    id: &str,
    event: &Value,
    now: &str,
) -> Result<EventOutcome, ApiError> {
    let seq = event
        .get("seq")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 1)
        .ok_or_else(|| ApiError::bad_request("event: seq must be a positive integer"))?;
    let kind =
        str_field(event, "type").ok_or_else(|| ApiError::bad_request("event: type is required"))?;
    if !["stage", "log", "progress", "result"].contains(&kind) {
        return Err(ApiError::bad_request(format!(
            "event: unknown type {kind:?}"
        )));
    }
    let task_id = str_field(event, "taskId").map(str::to_owned);
    let at = str_field(event, "at").unwrap_or(now).to_owned();

    for _ in 0..8 {
        let rows = sql::query(
            db,
            r#"SELECT "status", "type", "lastSeq", "taskId", "logs", "metadata" FROM "Execution" WHERE "id" = ?"#,
            &[id.into()],
        )?;
        let Some(row) = rows.first() else {
            return Ok(EventOutcome::NotFound);
        };
        let last_seq = row.int("lastSeq").unwrap_or(0);
        if seq <= last_seq {
            return Ok(EventOutcome::Duplicate);
        }
        if let (Some(stored), Some(got)) = (row.text("taskId"), task_id.as_deref()) {
            if stored != got {
                return Err(ApiError::new(409, "event for another task"));
            }
        }
        let change = compute_change(row, kind, event, &at);
        // The compare-and-set covers every writer, not only other events: a cancel, the
        // watchdog or post-processing may change the status or append logs between the read
        // and the write, and the change computed from the stale row must not undo theirs.
        let (read_status, read_logs) = (row.text("status"), row.text("logs"));
        let updated = sql::query(
            db,
            r#"UPDATE "Execution"
                  SET "lastSeq" = ?, "heartbeatAt" = ?, "taskId" = COALESCE("taskId", ?),
                      "logs" = ?, "metadata" = ?, "status" = ?,
                      "size" = COALESCE(?, "size"), "path" = COALESCE(?, "path"),
                      "endedAt" = COALESCE(?, "endedAt")
                WHERE "id" = ? AND "lastSeq" = ? AND "status" IS ? AND "logs" IS ?
            RETURNING "id""#,
            &[
                SqlValue::Integer(seq),
                now.into(),
                task_id.clone().into(),
                Value::Array(change.logs).to_string().into(),
                Value::Object(change.metadata).to_string().into(),
                change.status.as_str().into(),
                change.size.into(),
                change.path.into(),
                change.ended_at.into(),
                id.into(),
                SqlValue::Integer(last_seq),
                read_status.into(),
                read_logs.into(),
            ],
        )?;
        if !updated.is_empty() {
            return Ok(EventOutcome::Applied {
                finished: change.finished,
            });
        }
    }
    Err(ApiError::new(
        409,
        "event conflicts with concurrent updates; retry",
    ))
}

struct Change {
    logs: Vec<Value>,
    metadata: Map<String, Value>,
    status: ExecutionStatus,
    size: Option<i64>,
    path: Option<String>,
    ended_at: Option<String>,
    finished: bool,
}

fn compute_change(row: &Row, kind: &str, event: &Value, at: &str) -> Change {
    let mut logs: Vec<Value> = row
        .text("logs")
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut metadata: Map<String, Value> = row
        .text("metadata")
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let status = execution::column(row, "status").unwrap_or(ExecutionStatus::Running);
    let terminal = status.is_terminal();
    let stage = metadata
        .get("stage")
        .and_then(Value::as_str)
        .unwrap_or("Running")
        .to_owned();
    let mut change = Change {
        logs: Vec::new(),
        metadata: Map::new(),
        status,
        size: None,
        path: None,
        ended_at: None,
        finished: false,
    };
    match kind {
        "stage" => {
            let new_stage = stage_label(str_field(event, "stage").unwrap_or("running"));
            logs.push(log_entry(
                at,
                "info",
                &new_stage,
                &format!("Stage: {new_stage}"),
            ));
            if !terminal {
                metadata.insert("stage".into(), json!(new_stage));
            }
        }
        "log" => {
            let level = match str_field(event, "level") {
                Some("warning") => "warning",
                Some("error") => "error",
                _ => "info",
            };
            let mut entry = log_entry(at, level, &stage, str_field(event, "message").unwrap_or(""));
            if let Some(d) = event.get("details").filter(|d| !d.is_null()) {
                entry["details"] = d.clone();
            }
            logs.push(entry);
        }
        "progress" => {
            for key in ["bytesIn", "bytesOut", "rateBytesPerSec", "percent"] {
                if let Some(v) = event.get(key).filter(|v| v.is_number()) {
                    metadata.insert(key.into(), v.clone());
                }
            }
        }
        _ => {
            // result
            let worker_status = str_field(event, "status").unwrap_or("failed");
            let new_status = serde_json::from_value::<TaskStatus>(json!(worker_status))
                .map_or(ExecutionStatus::Failed, ExecutionStatus::from_task);
            if terminal {
                logs.push(log_entry(
                    at,
                    "warning",
                    &stage,
                    &format!("late result from the worker ignored ({worker_status}): the execution is already {status}"),
                ));
            } else {
                change.status = new_status;
                change.finished = true;
                change.ended_at = Some(at.to_owned());
                change.size = event.get("size").and_then(Value::as_i64);
                change.path = str_field(event, "objectName")
                    .or_else(|| str_field(event, "path"))
                    .map(str::to_owned);
                let mut result = Map::new();
                for key in [
                    "sha256",
                    "objectName",
                    "engineVersion",
                    "destinations",
                    "path",
                ] {
                    if let Some(v) = event.get(key).filter(|v| !v.is_null()) {
                        result.insert(key.into(), v.clone());
                    }
                }
                if let Some(inner) = event.get("result").filter(|v| v.is_object()) {
                    for key in ["dumpSize", "bytesRestored", "warning", "metaName"] {
                        if let Some(v) = inner.get(key).filter(|v| !v.is_null()) {
                            result.insert(key.into(), v.clone());
                        }
                    }
                }
                metadata.insert("result".into(), Value::Object(result));
                // Per destination: the read-back check after upload (a backup's result).
                if let Some(v) = event
                    .get("result")
                    .and_then(|r| r.get("verification"))
                    .filter(|v| v.is_array())
                {
                    metadata.insert("verification".into(), v.clone());
                }
                metadata.insert("stage".into(), json!(new_status_stage(new_status)));
                if matches!(
                    new_status,
                    ExecutionStatus::Success | ExecutionStatus::Partial
                ) {
                    metadata.insert("percent".into(), json!(100));
                }
                let message = match new_status {
                    ExecutionStatus::Success => match change.size {
                        Some(s) => format!("Completed: {s} bytes stored"),
                        None => "Completed".to_owned(),
                    },
                    ExecutionStatus::Partial => "Completed at some destinations only".to_owned(),
                    ExecutionStatus::Cancelled => "Cancelled".to_owned(),
                    _ => format!(
                        "ERROR: {}",
                        str_field(event, "error").unwrap_or("the worker reported a failure")
                    ),
                };
                if let Some(e) = str_field(event, "error") {
                    metadata.insert("error".into(), json!(e));
                }
                let level = match new_status {
                    ExecutionStatus::Success => "success",
                    ExecutionStatus::Partial | ExecutionStatus::Cancelled => "warning",
                    _ => "error",
                };
                logs.push(log_entry(at, level, new_status_stage(new_status), &message));
            }
        }
    }
    if logs.len() > MAX_LOG_ENTRIES {
        let excess = logs.len() - MAX_LOG_ENTRIES;
        logs.drain(1..=excess);
    }
    change.logs = logs;
    change.metadata = metadata;
    change
}

fn new_status_stage(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Success | ExecutionStatus::Partial => "Completed",
        ExecutionStatus::Cancelled => "Cancelled",
        _ => "Failed",
    }
}

fn stage_label(stage: &str) -> String {
    let mut c = stage.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => "Running".into(),
    }
}

/// Applies a finished worker task (`GET /v1/tasks/{id}`) as its result event, for when the
/// result event itself was lost (the worker gave up delivering it). The event is the one the
/// worker would have sent ([`ResultEvent::from_task`], the worker's own mapping), with the next
/// `seq`, and goes through [`apply_event`] like every delivered event.
pub fn apply_task_result(
    db: &dyn Db,
    id: &str,
    task: &TaskInfo,
    now: &str,
) -> Result<EventOutcome, ApiError> {
    let last = sql::query(
        db,
        r#"SELECT "lastSeq" FROM "Execution" WHERE "id" = ?"#,
        &[id.into()],
    )?
    .first()
    .and_then(|r| r.int("lastSeq"))
    .unwrap_or(0);
    let event = Event {
        task_id: task.id.clone(),
        execution_id: task.execution_id.clone(),
        seq: u64::try_from(last).unwrap_or(0) + 1,
        at: now.to_owned(),
        body: EventBody::Result(Box::new(ResultEvent::from_task(task))),
    };
    let event = serde_json::to_value(&event)
        .map_err(|e| ApiError::internal(format!("encoding the task's result event: {e}")))?;
    apply_event(db, id, &event, now)
}

#[cfg(test)]
mod tests;
