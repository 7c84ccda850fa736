//! The execution queue: "run now", a restore and the scheduler's due occurrences become
//! Pending `Execution` rows here; the dispatcher ([`crate::dispatcher`]) claims them.

use chrono::{DateTime, Utc};
use dbackup_core::db::Db;
use dbackup_core::ApiError;
use serde_json::{json, Value};

use crate::execution::{log_entry, ExecutionKind, ExecutionStatus, Trigger};
use crate::schedule;
use crate::sql;

/// The answer of `POST /api/jobs/{id}/run` and `POST /api/restores` (202): the queued execution.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExecutionAccepted {
    pub execution_id: String,
}

/// Creates a Pending backup execution for a job; with `scheduled_for`, at most one per
/// occurrence (a second insert for the same occurrence is ignored and returns `None`).
pub fn enqueue_backup(
    db: &dyn Db,
    id: &str,
    job_id: &str,
    trigger: Trigger,
    scheduled_for: Option<&str>,
    now: &str,
) -> Result<Option<String>, ApiError> {
    let logs = json!([log_entry(
        now,
        "info",
        "Queued",
        &format!("Job queued ({trigger})")
    )]);
    let rows = sql::query(
        db,
        r#"INSERT INTO "Execution" ("id", "jobId", "type", "status", "logs", "startedAt", "metadata",
               "triggerType", "scheduledFor")
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING RETURNING "id""#,
        &[
            id.into(),
            job_id.into(),
            ExecutionKind::Backup.as_str().into(),
            ExecutionStatus::Pending.as_str().into(),
            logs.to_string().into(),
            now.into(),
            json!({"stage": "Queued", "percent": 0}).to_string().into(),
            trigger.as_str().into(),
            scheduled_for.map(str::to_owned).into(),
        ],
    )?;
    Ok(rows.first().and_then(|r| r.text("id")))
}

/// Creates a Pending restore execution; `request` is `{destinationId, path, targetSourceId,
/// databaseMapping, privileged}` (validated by the caller).
pub fn enqueue_restore(
    db: &dyn Db,
    id: &str,
    job_id: Option<&str>,
    request: &Value,
    now: &str,
) -> Result<(), ApiError> {
    let logs = json!([log_entry(now, "info", "Queued", "Restore queued")]);
    db.execute(
        r#"INSERT INTO "Execution" ("id", "jobId", "type", "status", "logs", "startedAt", "metadata",
               "triggerType", "request")
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
        &[
            id.into(),
            job_id.map(str::to_owned).into(),
            ExecutionKind::Restore.as_str().into(),
            ExecutionStatus::Pending.as_str().into(),
            logs.to_string().into(),
            now.into(),
            json!({"stage": "Queued", "percent": 0}).to_string().into(),
            Trigger::Manual.as_str().into(),
            request.to_string().into(),
        ],
    )?;
    Ok(())
}

/// One scheduler decision taken (and recorded) for a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub job_id: String,
    /// The occurrence, ISO-8601 UTC.
    pub occurrence: String,
    /// Whether it is to run (false: it was too old and only the marker moved).
    pub run: bool,
}

/// The scheduler's part of a tick: for every enabled job, decide the due occurrence, enqueue
/// it (at most one execution per occurrence: the unique `("jobId", "scheduledFor")` index), then
/// move the job's marker with a compare-and-set (`WHERE lastScheduledAt IS <old>`), so exactly
/// one of several racing schedulers reports each occurrence. The execution is written before
/// the marker moves: a tick that fails between the two (the database went away, the answer to
/// the insert was lost) leaves the marker behind and the next tick plans the same occurrence
/// again — its insert is ignored — instead of a moved marker with nothing queued (a lost run).
/// Jobs with an unparsable schedule or timezone are skipped (the API refuses them; this is for
/// old rows). `new_id` supplies execution ids.
pub fn schedule_due(
    db: &dyn Db,
    now: DateTime<Utc>,
    mut new_id: impl FnMut() -> Result<String, ApiError>,
) -> Result<Vec<Planned>, ApiError> {
    let now_iso = crate::iso(now);
    let jobs = sql::query(
        db,
        r#"SELECT "id", "schedule", "timezone", "lastScheduledAt", "createdAt" FROM "Job" WHERE "enabled" = 1"#,
        &[],
    )?;
    let mut planned = Vec::new();
    for j in jobs {
        let id = j.text("id").unwrap_or_default();
        let (Ok(cron), Ok(tz)) = (
            schedule::parse(&j.text("schedule").unwrap_or_default()),
            schedule::parse_timezone(&j.text("timezone").unwrap_or_else(|| "UTC".into())),
        ) else {
            continue;
        };
        let marker_text = j.text("lastScheduledAt");
        let base = marker_text
            .as_deref()
            .or(j.text("createdAt").as_deref())
            .and_then(crate::parse_iso)
            .unwrap_or(now);
        let due = schedule::due(&cron, tz, base, now);
        let Some(marker) = due.marker else { continue };
        let marker_iso = crate::iso(marker);
        let run = due.run.is_some();
        if run {
            enqueue_backup(
                db,
                &new_id()?,
                &id,
                Trigger::Scheduler,
                Some(&marker_iso),
                &now_iso,
            )?;
        }
        let won = sql::query(
            db,
            r#"UPDATE "Job" SET "lastScheduledAt" = ? WHERE "id" = ? AND "enabled" = 1
                 AND "lastScheduledAt" IS ? RETURNING "id""#,
            &[
                marker_iso.as_str().into(),
                id.as_str().into(),
                marker_text.clone().into(),
            ],
        )?;
        if won.is_empty() {
            continue;
        }
        planned.push(Planned {
            job_id: id,
            occurrence: marker_iso,
            run,
        });
    }
    Ok(planned)
}

#[cfg(test)]
mod tests;
