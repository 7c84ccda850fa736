//! Executions: the row model (statuses, log entries), terminal transitions (finish, the
//! watchdog), post-processing claims and the API views. Queueing is [`crate::queue`], the claim
//! [`crate::dispatcher`], worker events [`crate::events`].
//!
//! Lifecycle: Pending → Running → Success | Partial | Failed | Cancelled. Every transition is
//! one conditional UPDATE, so two runner ticks or two hosts on one database never move the same
//! execution twice.

use chrono::{DateTime, Utc};
use dbackup_core::db::{Db, Value as SqlValue};
use dbackup_core::ApiError;
use serde_json::{json, Map, Value};

use crate::sql::{self, Row};

mod kinds;
pub use kinds::{ExecutionKind, ExecutionStatus, Trigger};

/// A text column read as one of [`kinds`]' enums (`None`: NULL or not one of its values).
pub(crate) fn column<T: std::str::FromStr>(r: &Row, name: &str) -> Option<T> {
    r.text(name).and_then(|t| t.parse().ok())
}

/// Default of SystemSetting `maxConcurrentJobs` (restores count too).
pub const DEFAULT_MAX_CONCURRENT: i64 = dbackup_identity::settings::DEFAULT_MAX_CONCURRENT_JOBS;
/// Default of SystemSetting `stallTimeoutMinutes`.
pub const DEFAULT_STALL_MINUTES: i64 = dbackup_identity::settings::DEFAULT_STALL_TIMEOUT_MINUTES;
/// Logs kept per execution (the first entry and the newest ones).
pub const MAX_LOG_ENTRIES: usize = 2000;

/// One log entry `{timestamp, level, stage, message, details?}`.
pub fn log_entry(at: &str, level: &str, stage: &str, message: &str) -> Value {
    json!({"timestamp": at, "level": level, "stage": stage, "message": message})
}

/// Moves a non-terminal execution to a terminal status with a final log entry (`level`
/// error for Failed, warning for Cancelled). Returns the worker task id when it changed
/// something (`Some(None)`: changed, no task), `None` when the execution was already finished.
pub fn finish(
    db: &dyn Db,
    id: &str,
    status: ExecutionStatus,
    message: &str,
    now: &str,
) -> Result<Option<Option<String>>, ApiError> {
    let level = if status == ExecutionStatus::Failed {
        "error"
    } else {
        "warning"
    };
    let entry = log_entry(now, level, status.as_str(), message);
    let rows = sql::query(
        db,
        r#"UPDATE "Execution"
              SET "status" = ?, "endedAt" = ?, "logs" = json_insert("logs", '$[#]', json(?)),
                  "metadata" = json_set(json_set(COALESCE("metadata", '{}'), '$.stage', ?), '$.error', ?)
            WHERE "id" = ? AND "status" IN ('Pending', 'Running')
        RETURNING "taskId""#,
        &[
            status.as_str().into(),
            now.into(),
            entry.to_string().into(),
            status.as_str().into(),
            message.into(),
            id.into(),
        ],
    )?;
    Ok(rows.first().map(|r| r.text("taskId")))
}

/// The watchdog: fails every Running execution without a sign of life since `stall_before`
/// ("stalled"); returns `(id, taskId)` of each, so the caller cancels the worker tasks.
pub fn fail_stalled(
    db: &dyn Db,
    stall_before: &str,
    minutes: i64,
    now: &str,
) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let message = format!("stalled: no sign of life from the worker for {minutes} minutes");
    let entry = log_entry(now, "error", ExecutionStatus::Failed.as_str(), &message);
    let rows = sql::query(
        db,
        r#"UPDATE "Execution"
              SET "status" = 'Failed', "endedAt" = ?, "logs" = json_insert("logs", '$[#]', json(?)),
                  "metadata" = json_set(json_set(COALESCE("metadata", '{}'), '$.stage', 'Failed'), '$.error', ?)
            WHERE "status" = 'Running' AND COALESCE("heartbeatAt", "startedAt") < ?
        RETURNING "id", "taskId""#,
        &[
            now.into(),
            entry.to_string().into(),
            message.as_str().into(),
            stall_before.into(),
        ],
    )?;
    Ok(rows
        .iter()
        .map(|r| (r.text("id").unwrap_or_default(), r.text("taskId")))
        .collect())
}

/// Running executions quiet since `quiet_before`, `(id, taskId)`: the runner asks the worker
/// about them (a task it does not know is lost: Failed).
pub fn quiet_running(
    db: &dyn Db,
    quiet_before: &str,
) -> Result<Vec<(String, Option<String>)>, ApiError> {
    Ok(sql::query(
        db,
        r#"SELECT "id", "taskId" FROM "Execution"
            WHERE "status" = 'Running' AND COALESCE("heartbeatAt", "startedAt") < ?
            ORDER BY "startedAt" LIMIT 20"#,
        &[quiet_before.into()],
    )?
    .iter()
    .map(|r| (r.text("id").unwrap_or_default(), r.text("taskId")))
    .collect())
}

/// Records a sign of life for a Running execution (the worker reports its task running).
pub fn touch(db: &dyn Db, id: &str, now: &str) -> Result<(), ApiError> {
    db.execute(
        r#"UPDATE "Execution" SET "heartbeatAt" = ? WHERE "id" = ? AND "status" = 'Running'"#,
        &[now.into(), id.into()],
    )?;
    Ok(())
}

const VIEW_COLUMNS: &str = r#"e."id", e."jobId", e."type", e."status", e."startedAt", e."endedAt",
    e."size", e."path", e."metadata", e."triggerType", e."scheduledFor", e."taskId", e."workerId",
    (SELECT w."name" FROM "Worker" w WHERE w."id" = e."workerId") AS "workerName", j."name" AS "jobName""#;

/// Progress of a running execution, from the worker's progress events (null until known).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// `dump`, `compress`, `encrypt`, `upload`, …
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub stage: Option<Value>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<f64>"))]
    pub percent: Option<Value>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<i64>"))]
    pub bytes_in: Option<Value>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<i64>"))]
    pub bytes_out: Option<Value>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<f64>"))]
    pub rate_bytes_per_sec: Option<Value>,
}

/// An execution (backup or restore) as `GET /api/executions[/{id}]` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExecutionView {
    pub id: String,
    pub job_id: Option<String>,
    /// The job's current name (null once the job is deleted).
    pub job_name: Option<String>,
    /// `Backup` or `Restore`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["Backup", "Restore"])))]
    pub kind: String,
    /// `Pending`, `Running`, `Success`, `Partial`, `Failed` or `Cancelled`.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["Pending", "Running", "Success", "Partial", "Failed", "Cancelled"])))]
    pub status: String,
    /// `Scheduler`, `Manual` or `Api`.
    pub trigger: Option<String>,
    pub scheduled_for: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// Bytes stored (backups).
    pub size: Option<i64>,
    /// The backup's object name.
    pub path: Option<String>,
    pub progress: Progress,
    /// Why it failed.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub error: Option<Value>,
    /// The worker's result (sizes, checksums, per-destination outcome).
    pub result: Option<Value>,
    /// What retention did after the backup.
    pub retention: Option<Value>,
    /// A backup's read-back check per destination after upload, in the job's destination
    /// order (null for restores and until the result is in).
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<VerificationDoc>>"))]
    pub verification: Option<Value>,
    /// The pool member that runs or ran it: `default` (the configured `worker_url`) or a
    /// registered worker's id (`GET /api/workers`); null until dispatched.
    pub worker_id: Option<String>,
    /// That worker's name.
    pub worker_name: Option<String>,
    /// The log entries (`GET /api/executions/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<Value>>"))]
    pub logs: Option<Value>,
}

/// `verification[]` of an execution, for the API document (the value is the worker's
/// `dbackup_protocol::tasks::Verification`, stored as it arrived).
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct VerificationDoc {
    /// The destination (adapter config id).
    pub destination_id: String,
    /// `Verified`: read back whole, every container chunk authenticated (encrypted backups)
    /// and the SHA-256 equal to the one computed while writing; `Failed`: different or
    /// unreadable (the destination then counts as failed); `Skipped`: not read back
    /// (verification off for the job, or the upload failed).
    #[schemars(extend("enum" = ["Verified", "Failed", "Skipped"]))]
    pub status: String,
    /// When the check ended.
    pub checked_at: String,
    /// What was checked, or why it failed or was skipped.
    pub detail: String,
}

/// One page of executions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExecutionPage {
    pub items: Vec<ExecutionView>,
    /// Pass as `cursor` for the next (older) page; null at the end.
    pub next_cursor: Option<String>,
}

/// The last execution of a job, short form (`lastExecution` of a job).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRef {
    pub id: String,
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["Pending", "Running", "Success", "Partial", "Failed", "Cancelled"])))]
    pub status: String,
    pub started_at: String,
    pub ended_at: Option<String>,
}

fn view(r: &Row, logs: Option<Value>) -> ExecutionView {
    let metadata: Map<String, Value> = r
        .text("metadata")
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let field = |k: &str| Some(metadata.get(k).cloned().unwrap_or(Value::Null));
    // id, type, status and startedAt are NOT NULL columns.
    ExecutionView {
        id: r.text("id").unwrap_or_default(),
        job_id: r.text("jobId"),
        job_name: r.text("jobName"),
        kind: r.text("type").unwrap_or_default(),
        status: r.text("status").unwrap_or_default(),
        trigger: r.text("triggerType"),
        scheduled_for: r.text("scheduledFor"),
        started_at: r.text("startedAt").unwrap_or_default(),
        ended_at: r.text("endedAt"),
        size: r.int("size"),
        path: r.text("path"),
        progress: Progress {
            stage: field("stage"),
            percent: field("percent"),
            bytes_in: field("bytesIn"),
            bytes_out: field("bytesOut"),
            rate_bytes_per_sec: field("rateBytesPerSec"),
        },
        error: field("error"),
        result: field("result"),
        retention: field("retention"),
        verification: metadata.get("verification").cloned(),
        worker_name: r.text("workerName").or_else(|| {
            (r.text("workerId").as_deref() == Some(crate::pool::DEFAULT_WORKER))
                .then(|| crate::pool::DEFAULT_WORKER.to_owned())
        }),
        worker_id: r.text("workerId"),
        logs,
    }
}

/// One execution with its logs and progress (`GET /api/executions/{id}`).
pub fn get_view(db: &dyn Db, id: &str) -> Result<Option<ExecutionView>, ApiError> {
    let rows = sql::query(
        db,
        &format!(
            r#"SELECT {VIEW_COLUMNS}, e."logs" FROM "Execution" e LEFT JOIN "Job" j ON j."id" = e."jobId" WHERE e."id" = ?"#
        ),
        &[id.into()],
    )?;
    Ok(rows.first().map(|r| {
        let logs = r
            .text("logs")
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| json!([]));
        view(r, Some(logs))
    }))
}

/// Filters of `GET /api/executions`.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub job_id: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    /// `<startedAt>|<id>` of the last item of the previous page.
    pub cursor: Option<String>,
    pub limit: i64,
}

/// A page of executions, newest first, without logs; `nextCursor` when more remain.
pub fn list_view(db: &dyn Db, q: &ListQuery) -> Result<ExecutionPage, ApiError> {
    let mut sql_text = format!(
        r#"SELECT {VIEW_COLUMNS} FROM "Execution" e LEFT JOIN "Job" j ON j."id" = e."jobId" WHERE 1 = 1"#
    );
    let mut params: Vec<SqlValue> = Vec::new();
    if let Some(j) = &q.job_id {
        sql_text.push_str(r#" AND e."jobId" = ?"#);
        params.push(j.as_str().into());
    }
    if let Some(s) = &q.status {
        sql_text.push_str(r#" AND e."status" = ?"#);
        params.push(s.as_str().into());
    }
    if let Some(t) = &q.kind {
        sql_text.push_str(r#" AND e."type" = ?"#);
        params.push(t.as_str().into());
    }
    if let Some(c) = &q.cursor {
        let (started, id) = c
            .split_once('|')
            .ok_or_else(|| ApiError::bad_request("invalid cursor"))?;
        // A row value: an index range on (startedAt, id), where the OR form scanned from the top.
        sql_text.push_str(r#" AND (e."startedAt", e."id") < (?, ?)"#);
        params.extend([started.into(), id.into()]);
    }
    sql_text.push_str(r#" ORDER BY e."startedAt" DESC, e."id" DESC LIMIT ?"#);
    params.push(SqlValue::Integer(q.limit + 1));
    let rows = sql::query(db, &sql_text, &params)?;
    let more = rows.len() as i64 > q.limit;
    let items: Vec<ExecutionView> = rows
        .iter()
        .take(q.limit as usize)
        .map(|r| view(r, None))
        .collect();
    let next = if more {
        rows.get(q.limit as usize - 1).map(|r| {
            format!(
                "{}|{}",
                r.text("startedAt").unwrap_or_default(),
                r.text("id").unwrap_or_default()
            )
        })
    } else {
        None
    };
    Ok(ExecutionPage {
        items,
        next_cursor: next,
    })
}

/// The last execution of a job, short form, for the job list.
pub fn last_of_job(db: &dyn Db, job_id: &str) -> Result<Option<ExecutionRef>, ApiError> {
    Ok(sql::query(
        db,
        r#"SELECT "id", "status", "startedAt", "endedAt" FROM "Execution" WHERE "jobId" = ?
            ORDER BY "startedAt" DESC, "id" DESC LIMIT 1"#,
        &[job_id.into()],
    )?
    .first()
    .map(|r| ExecutionRef {
        id: r.text("id").unwrap_or_default(),
        status: r.text("status").unwrap_or_default(),
        started_at: r.text("startedAt").unwrap_or_default(),
        ended_at: r.text("endedAt"),
    }))
}

/// The last execution of each of `job_ids` (short form, for the job list): one query per 500
/// ids, each job's newest found by an index search on `Execution(jobId, startedAt, id)`.
pub fn last_of_jobs(
    db: &dyn Db,
    job_ids: &[String],
) -> Result<std::collections::HashMap<String, ExecutionRef>, ApiError> {
    let mut out = std::collections::HashMap::new();
    for chunk in job_ids.chunks(500) {
        let marks = vec!["(?)"; chunk.len()].join(", ");
        let params: Vec<SqlValue> = chunk.iter().map(|i| i.as_str().into()).collect();
        let rows = sql::query(
            db,
            &format!(
                r#"WITH ids("jobId") AS (VALUES {marks})
                   SELECT ids."jobId" AS "jobId", e."id", e."status", e."startedAt", e."endedAt"
                     FROM ids JOIN "Execution" e ON e."id" = (
                          SELECT x."id" FROM "Execution" x WHERE x."jobId" = ids."jobId"
                           ORDER BY x."startedAt" DESC, x."id" DESC LIMIT 1)"#
            ),
            &params,
        )?;
        for r in rows {
            out.insert(
                r.text("jobId").unwrap_or_default(),
                ExecutionRef {
                    id: r.text("id").unwrap_or_default(),
                    status: r.text("status").unwrap_or_default(),
                    started_at: r.text("startedAt").unwrap_or_default(),
                    ended_at: r.text("endedAt"),
                },
            );
        }
    }
    Ok(out)
}

/// A finished execution whose post-processing (retention, notifications) is claimed.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub id: String,
    pub job_id: Option<String>,
    pub kind: ExecutionKind,
    pub status: ExecutionStatus,
    pub path: Option<String>,
    pub size: Option<i64>,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub metadata: Map<String, Value>,
    pub logs: Vec<Value>,
    /// Post-processing steps already done (by a runner that crashed before completing).
    pub done: PostProcess,
}

/// How long a post-processing claim (`finalizedAt`) holds; every finished step renews it. A
/// claim older than this belongs to a runner that crashed: the next tick takes it over.
pub const POST_PROCESS_LEASE_SECS: i64 = 300;
/// Finished executions older than this (by `endedAt`) are no longer post-processed.
pub const POST_PROCESS_MAX_AGE_HOURS: i64 = 24;

/// The post-processing steps already done for an execution (`Execution.postProcess`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostProcess {
    /// Destinations whose retention ran.
    pub retention: Vec<String>,
    /// Notification channels the notification was sent to (or failed for good).
    pub notified: Vec<String>,
}

impl PostProcess {
    fn parse(text: Option<String>) -> Self {
        let v: Value = text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        let list = |key: &str| -> Vec<String> {
            v.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            retention: list("retention"),
            notified: list("notified"),
        }
    }
}

/// One post-processing step, recorded when done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// Retention on this destination.
    Retention(&'a str),
    /// The notification on this channel.
    Notified(&'a str),
}

/// Claims one finished execution whose post-processing is not complete: ended at most
/// [`POST_PROCESS_MAX_AGE_HOURS`] ago, and either never claimed or claimed longer than
/// [`POST_PROCESS_LEASE_SECS`] ago (its runner crashed). A compare-and-set on `finalizedAt`, so
/// of two racing runners exactly one gets it. `Finished::done` lists the steps already done.
pub fn claim_finished(db: &dyn Db, now: DateTime<Utc>) -> Result<Option<Finished>, ApiError> {
    let now_iso = crate::iso(now);
    let stale = crate::iso(now - chrono::Duration::seconds(POST_PROCESS_LEASE_SECS));
    let oldest = crate::iso(now - chrono::Duration::hours(POST_PROCESS_MAX_AGE_HOURS));
    let candidates = sql::query(
        db,
        r#"SELECT "id", "finalizedAt" FROM "Execution" WHERE "postProcessedAt" IS NULL
              AND "status" IN ('Success', 'Partial', 'Failed', 'Cancelled')
              AND "endedAt" >= ? AND ("finalizedAt" IS NULL OR "finalizedAt" < ?)
            ORDER BY "endedAt" LIMIT 5"#,
        &[oldest.as_str().into(), stale.as_str().into()],
    )?;
    for c in candidates {
        let id = c.text("id").unwrap_or_default();
        let rows = sql::query(
            db,
            r#"UPDATE "Execution" SET "finalizedAt" = ?
                WHERE "id" = ? AND "postProcessedAt" IS NULL AND "finalizedAt" IS ?
            RETURNING "id", "jobId", "type", "status", "path", "size", "startedAt", "endedAt",
                      "metadata", "logs", "postProcess""#,
            &[
                now_iso.as_str().into(),
                id.as_str().into(),
                c.text("finalizedAt").into(),
            ],
        )?;
        if let Some(r) = rows.first() {
            return Ok(Some(Finished {
                id: r.text("id").unwrap_or_default(),
                job_id: r.text("jobId"),
                kind: column(r, "type").unwrap_or(ExecutionKind::Backup),
                status: column(r, "status").unwrap_or(ExecutionStatus::Failed),
                path: r.text("path"),
                size: r.int("size"),
                started_at: r.text("startedAt").unwrap_or_default(),
                ended_at: r.text("endedAt"),
                metadata: r
                    .text("metadata")
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
                logs: r
                    .text("logs")
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
                done: PostProcess::parse(r.text("postProcess")),
            }));
        }
    }
    Ok(None)
}

/// Records one finished post-processing step in one UPDATE: appends its log entries, adds the
/// step's marker and renews the claim's lease (`finalizedAt = now`).
pub fn mark_step(
    db: &dyn Db,
    id: &str,
    step: Step<'_>,
    entries: &[Value],
    now: &str,
) -> Result<(), ApiError> {
    let (key, value) = match step {
        Step::Retention(d) => ("retention", d),
        Step::Notified(c) => ("notified", c),
    };
    let mut logs = String::from(r#""logs""#);
    let mut params: Vec<SqlValue> = Vec::new();
    if !entries.is_empty() {
        logs = format!(
            r#"json_insert("logs"{})"#,
            ", '$[#]', json(?)".repeat(entries.len())
        );
        params.extend(entries.iter().map(|e| e.to_string().into()));
    }
    let path = format!("$.{key}[#]");
    let list = format!("$.{key}");
    let sql = format!(
        r#"UPDATE "Execution" SET "logs" = {logs},
              "postProcess" = json_insert(
                  json_set(COALESCE("postProcess", '{{}}'), ?,
                           COALESCE(json_extract(COALESCE("postProcess", '{{}}'), ?), json('[]'))),
                  ?, ?),
              "finalizedAt" = ?
            WHERE "id" = ?"#
    );
    params.extend([
        list.as_str().into(),
        list.as_str().into(),
        path.as_str().into(),
        value.into(),
        now.into(),
        id.into(),
    ]);
    db.execute(&sql, &params)?;
    Ok(())
}

/// Marks post-processing complete (with final log entries, if any).
pub fn mark_post_processed(
    db: &dyn Db,
    id: &str,
    entries: &[Value],
    now: &str,
) -> Result<(), ApiError> {
    append_logs(db, id, entries, None)?;
    db.execute(
        r#"UPDATE "Execution" SET "postProcessedAt" = ? WHERE "id" = ?"#,
        &[now.into(), id.into()],
    )?;
    Ok(())
}

/// Appends log entries to an execution (post-processing: retention, notifications) and merges
/// `metadata_patch` into its metadata.
pub fn append_logs(
    db: &dyn Db,
    id: &str,
    entries: &[Value],
    metadata_patch: Option<(&str, Value)>,
) -> Result<(), ApiError> {
    for e in entries {
        db.execute(
            r#"UPDATE "Execution" SET "logs" = json_insert("logs", '$[#]', json(?)) WHERE "id" = ?"#,
            &[e.to_string().into(), id.into()],
        )?;
    }
    if let Some((key, value)) = metadata_patch {
        db.execute(
            r#"UPDATE "Execution" SET "metadata" = json_set(COALESCE("metadata", '{}'), ?, json(?)) WHERE "id" = ?"#,
            &[
                format!("$.{key}").into(),
                value.to_string().into(),
                id.into(),
            ],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
