//! The pool of workers (docs/WORKER.md, "A pool of workers"): the configured worker
//! (`worker_url`, the implicit member [`DEFAULT_WORKER`], no labels, capacity
//! `maxConcurrentJobs`) plus the workers that registered themselves
//! ([`dbackup_protocol::registration`]) and are stored in the `Worker` table.
//!
//! The dispatcher asks [`members`] who can take work and [`choose`]s one for each queued
//! execution: a healthy member with a free slot whose labels include the source's `workerLabel`
//! (an unlabelled source: any member), the one with the most free slots first. The member is
//! recorded on the execution (`workerId`), and every later call about it — status polls,
//! cancel, the watchdog — goes to that member ([`assigned`]).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use dbackup_core::db::{Db, Value as SqlValue};
use dbackup_core::worker::Target;
use dbackup_core::ApiError;
use dbackup_identity::settings;
use dbackup_protocol::registration::{Registration, MAX_BODY_BYTES};
use dbackup_protocol::signature;
use serde_json::json;

pub use dbackup_protocol::registration::DEFAULT_WORKER;

use crate::callback::Signed;
use crate::{execution, iso, parse_iso, sql};

/// Most registered workers; a new name beyond it is refused (409).
pub const MAX_WORKERS: i64 = 100;
/// Queued executions the dispatcher looks at per tick (the oldest first).
pub const QUEUE_SCAN: i64 = 100;

/// A member of the pool as the dispatcher sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// [`DEFAULT_WORKER`] or the `Worker` row's id.
    pub id: String,
    pub name: String,
    /// Its base URL; `None` for the configured worker (the components' `worker_url`).
    pub url: Option<String>,
    pub labels: Vec<String>,
    pub capacity: i64,
    /// Its Running executions.
    pub running: i64,
    /// Whether new work may go to it: the configured worker always (as before the pool: a
    /// dispatch to it that gets no answer fails the execution); a registered one while its
    /// heartbeat is recent and no call to it went unanswered since.
    pub healthy: bool,
    pub version: Option<String>,
    pub last_seen_at: Option<String>,
}

impl Member {
    /// Where calls to this member go.
    pub fn target(&self) -> Target {
        Target::from_url(self.url.as_deref())
    }

    /// Free slots (never negative).
    pub fn free(&self) -> i64 {
        (self.capacity - self.running).max(0)
    }

    /// Whether it may run a source pinned to `label` (`None`: any member).
    pub fn serves(&self, label: Option<&str>) -> bool {
        match label {
            None => true,
            Some(l) => self.labels.iter().any(|m| m.eq_ignore_ascii_case(l)),
        }
    }
}

/// The selection rule: among the healthy members with a free slot that serve `label`, the one
/// with the most free slots (ties: the configured worker, then by name). `None`: the execution
/// waits.
pub fn choose(members: &[Member], label: Option<&str>) -> Option<usize> {
    members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.healthy && m.free() > 0 && m.serves(label))
        .min_by(|(_, a), (_, b)| {
            b.free()
                .cmp(&a.free())
                .then_with(|| (a.id != DEFAULT_WORKER).cmp(&(b.id != DEFAULT_WORKER)))
                .then_with(|| a.name.cmp(&b.name))
        })
        .map(|(i, _)| i)
}

/// Running executions per member (`NULL` — rows dispatched before the pool — counts as the
/// configured worker).
pub fn running_counts(db: &dyn Db) -> Result<HashMap<String, i64>, ApiError> {
    Ok(sql::query(
        db,
        &format!(
            r#"SELECT COALESCE("workerId", '{DEFAULT_WORKER}') AS "w", COUNT(*) AS "n"
                 FROM "Execution" WHERE "status" = 'Running' GROUP BY "w""#
        ),
        &[],
    )?
    .iter()
    .filter_map(|r| Some((r.text("w")?, r.int("n").unwrap_or(0))))
    .collect())
}

fn labels_of(text: Option<String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Whether a registered worker's heartbeat, last at `last_seen`, is recent at `now`.
fn heard_recently(last_seen: Option<&str>, heartbeat_secs: i64, now: DateTime<Utc>) -> bool {
    last_seen.and_then(parse_iso).is_some_and(|t| {
        t > now
            - Duration::seconds(heartbeat_secs * dbackup_protocol::registration::MISSED_HEARTBEATS)
    })
}

/// Every member at `now`: the configured worker first, then the registered ones by name.
pub fn members(db: &dyn Db, now: DateTime<Utc>) -> Result<Vec<Member>, ApiError> {
    let running = running_counts(db)?;
    let count = |id: &str| running.get(id).copied().unwrap_or(0);
    let mut out = vec![Member {
        id: DEFAULT_WORKER.to_owned(),
        name: DEFAULT_WORKER.to_owned(),
        url: None,
        labels: Vec::new(),
        capacity: settings::integer(db, settings::MAX_CONCURRENT_JOBS)?,
        running: count(DEFAULT_WORKER),
        healthy: true,
        version: None,
        last_seen_at: None,
    }];
    let rows = sql::query(
        db,
        r#"SELECT "id", "name", "url", "labels", "capacity", "version", "heartbeatSecs",
                  "lastSeenAt", "unreachableAt" FROM "Worker" ORDER BY "name""#,
        &[],
    )?;
    for r in rows {
        let id = r.text("id").unwrap_or_default();
        let last_seen = r.text("lastSeenAt");
        let recent = heard_recently(
            last_seen.as_deref(),
            r.int("heartbeatSecs").unwrap_or(15),
            now,
        );
        out.push(Member {
            running: count(&id),
            name: r.text("name").unwrap_or_default(),
            url: r.text("url"),
            labels: labels_of(r.text("labels")),
            capacity: r.int("capacity").unwrap_or(1),
            healthy: recent && r.text("unreachableAt").is_none(),
            version: r.text("version"),
            last_seen_at: last_seen,
            id,
        });
    }
    Ok(out)
}

/// The member running an execution, as the runner and the cancel route reach it.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    /// [`DEFAULT_WORKER`] or a `Worker` id.
    pub worker_id: String,
    pub name: String,
    pub target: Target,
    /// A registered worker whose heartbeat is recent (always true for the configured worker):
    /// a member that neither answers nor registers any more has died.
    pub heard_recently: bool,
}

/// Who runs execution `id` (the configured worker when none is recorded, or the recorded one
/// is no longer in the table).
pub fn assigned(db: &dyn Db, id: &str, now: DateTime<Utc>) -> Result<Assigned, ApiError> {
    let rows = sql::query(
        db,
        r#"SELECT w."id", w."name", w."url", w."heartbeatSecs", w."lastSeenAt"
             FROM "Execution" e JOIN "Worker" w ON w."id" = e."workerId"
            WHERE e."id" = ?"#,
        &[id.into()],
    )?;
    Ok(match rows.first() {
        Some(r) => Assigned {
            worker_id: r.text("id").unwrap_or_default(),
            name: r.text("name").unwrap_or_default(),
            target: Target::from_url(r.text("url").as_deref()),
            heard_recently: heard_recently(
                r.text("lastSeenAt").as_deref(),
                r.int("heartbeatSecs").unwrap_or(15),
                now,
            ),
        },
        None => Assigned {
            worker_id: DEFAULT_WORKER.to_owned(),
            name: DEFAULT_WORKER.to_owned(),
            target: Target::Default,
            heard_recently: true,
        },
    })
}

/// Records that a call to registered worker `id` got no answer: it takes no new work until its
/// next heartbeat.
pub fn mark_unreachable(db: &dyn Db, id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    db.execute(
        r#"UPDATE "Worker" SET "unreachableAt" = ? WHERE "id" = ?"#,
        &[iso(now).into(), id.into()],
    )?;
    Ok(())
}

/// A queued execution and the worker label its source pins (the target source's, for a
/// restore).
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: String,
    pub label: Option<String>,
}

/// The oldest [`QUEUE_SCAN`] Pending executions, FIFO.
pub fn queued(db: &dyn Db) -> Result<Vec<Queued>, ApiError> {
    Ok(sql::query(
        db,
        r#"SELECT e."id", json_extract(a."config", '$.workerLabel') AS "label"
             FROM "Execution" e
             LEFT JOIN "Job" j ON j."id" = e."jobId"
             LEFT JOIN "AdapterConfig" a ON a."id" = CASE WHEN e."type" = 'Restore'
                  THEN json_extract(e."request", '$.targetSourceId') ELSE j."sourceId" END
            WHERE e."status" = 'Pending'
            ORDER BY e."startedAt", e."rowid" LIMIT ?"#,
        &[SqlValue::Integer(QUEUE_SCAN)],
    )?
    .iter()
    .map(|r| Queued {
        id: r.text("id").unwrap_or_default(),
        label: r.text("label").filter(|l| !l.is_empty()),
    })
    .collect())
}

/// Says once in a pinned execution's log why it waits (no healthy worker with its label, or all
/// of them busy). Unpinned executions wait silently, as before the pool.
pub fn note_waiting(
    db: &dyn Db,
    q: &Queued,
    members: &[Member],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(label) = q.label.as_deref() else {
        return Ok(());
    };
    let why = if members.iter().any(|m| m.healthy && m.serves(Some(label))) {
        format!("Every worker labelled {label} is busy: waiting for a free slot")
    } else {
        format!("No healthy worker is labelled {label}: waiting for one")
    };
    let changed = sql::query(
        db,
        r#"UPDATE "Execution" SET "metadata" = json_set(COALESCE("metadata", '{}'), '$.waiting', ?)
            WHERE "id" = ? AND "status" = 'Pending'
              AND COALESCE(json_extract("metadata", '$.waiting'), '') <> ?
        RETURNING "id""#,
        &[
            why.as_str().into(),
            q.id.as_str().into(),
            why.as_str().into(),
        ],
    )?;
    if !changed.is_empty() {
        execution::append_logs(
            db,
            &q.id,
            &[execution::log_entry(&iso(now), "info", "Queued", &why)],
            None,
        )?;
    }
    Ok(())
}

/// `POST /api/internal/workers/register`: a worker's registration or heartbeat, signed with the
/// worker token (`token`). 413 for a body over 8 KiB, 401 for a bad signature, 400 naming each
/// bad field, 409 when [`MAX_WORKERS`] other workers are registered. Returns the worker's id.
pub fn register(
    db: &dyn Db,
    token: &[u8],
    signed: Signed<'_>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            413,
            format!("registration larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    signature::verify(
        token,
        signed.timestamp,
        signed.signature,
        body,
        now.timestamp(),
    )
    .map_err(|why| ApiError::new(401, "unauthorized").with_cause(format!("registration: {why}")))?;
    let reg: Registration = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid registration: {e}")))?;
    let bad = reg.check();
    if !bad.is_empty() {
        let names: Vec<&str> = bad.keys().copied().collect();
        return Err(
            ApiError::bad_request(format!("invalid registration: {}", names.join(", ")))
                .with_details(json!({ "fields": bad })),
        );
    }
    let url = reg.url.trim_end_matches('/');
    let labels = serde_json::to_string(&reg.labels)
        .map_err(|e| ApiError::internal(format!("labels: {e}")))?;
    let rows = sql::query(
        db,
        r#"INSERT INTO "Worker" ("id", "name", "url", "labels", "capacity", "version",
                                 "heartbeatSecs", "lastSeenAt", "unreachableAt")
           SELECT ?, ?, ?, ?, ?, ?, ?, ?, NULL
            WHERE EXISTS (SELECT 1 FROM "Worker" WHERE "name" = ?)
               OR (SELECT COUNT(*) FROM "Worker") < ?
           ON CONFLICT ("name") DO UPDATE SET "url" = excluded."url", "labels" = excluded."labels",
               "capacity" = excluded."capacity", "version" = excluded."version",
               "heartbeatSecs" = excluded."heartbeatSecs", "lastSeenAt" = excluded."lastSeenAt",
               "unreachableAt" = NULL
        RETURNING "id""#,
        &[
            crate::new_id()?.into(),
            reg.name.as_str().into(),
            url.into(),
            labels.into(),
            SqlValue::Integer(reg.capacity),
            reg.version.as_str().into(),
            SqlValue::Integer(i64::from(reg.heartbeat_secs)),
            iso(now).into(),
            reg.name.as_str().into(),
            SqlValue::Integer(MAX_WORKERS),
        ],
    )?;
    rows.first().and_then(|r| r.text("id")).ok_or_else(|| {
        ApiError::new(
            409,
            format!("the pool is full ({MAX_WORKERS} registered workers)"),
        )
    })
}

/// A worker as `GET /api/workers` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkerView {
    /// `default` for the configured worker (`worker_url`), else the registered worker's id.
    pub id: String,
    pub name: String,
    pub url: String,
    pub labels: Vec<String>,
    /// Tasks it runs at once (`maxConcurrentJobs` for the configured worker).
    pub capacity: i64,
    /// Its Running executions.
    pub running: i64,
    /// The configured worker: it answered `/healthz` just now; a registered one: its last
    /// heartbeat is younger than three heartbeat intervals and no call to it went unanswered
    /// since.
    pub healthy: bool,
    pub version: Option<String>,
    /// Its last registration (null for the configured worker).
    pub last_seen_at: Option<String>,
}

/// `GET /api/workers`: the configured worker (at `default_url`; `default_version` is what its
/// `/healthz` said, `None` when it did not answer) and the registered ones.
pub fn list(
    db: &dyn Db,
    now: DateTime<Utc>,
    default_url: &str,
    default_version: Option<String>,
) -> Result<Vec<WorkerView>, ApiError> {
    Ok(members(db, now)?
        .into_iter()
        .map(|m| {
            let default = m.url.is_none();
            WorkerView {
                url: m.url.unwrap_or_else(|| default_url.to_owned()),
                healthy: if default {
                    default_version.is_some()
                } else {
                    m.healthy
                },
                version: if default {
                    default_version.clone()
                } else {
                    m.version
                },
                id: m.id,
                name: m.name,
                labels: m.labels,
                capacity: m.capacity,
                running: m.running,
                last_seen_at: m.last_seen_at,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests;
