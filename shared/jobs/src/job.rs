//! The Job: what the API accepts (validated before anything is written), how it is stored (Job +
//! JobDestination + JobNotification, in one transaction) and how it is shown.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dbackup_core::db::{Db, Value as SqlValue};
use dbackup_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::retention::RetentionPolicy;
use crate::schedule;
use crate::sql::{self, Row};

/// Most destinations one job may write to.
pub const MAX_DESTINATIONS: usize = 10;

/// The request body of `POST /api/jobs` and `PUT /api/jobs/{id}` (PUT replaces the job).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobInput {
    pub name: String,
    pub schedule: String,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    pub source_id: String,
    #[serde(default)]
    pub databases: Vec<String>,
    pub destinations: Vec<DestinationInput>,
    /// `NONE`, `GZIP`, `ZSTD` or `BROTLI`; absent: `ZSTD` at level 3 (multi-threaded; the
    /// fastest and smallest in docs/BENCH.md's compression table).
    #[serde(default)]
    pub compression: Option<String>,
    /// Absent: the worker's default for the compression (3 for ZSTD, 6 for GZIP).
    #[serde(default)]
    pub compression_level: Option<i64>,
    #[serde(default)]
    pub encryption_profile_id: Option<String>,
    #[serde(default)]
    pub notification_ids: Vec<String>,
    #[serde(default)]
    pub notification_events: Option<String>,
    /// Read every destination's object back after upload and check it (chunks authenticated,
    /// SHA-256 compared); absent: on. Off saves a second transfer of each object.
    #[serde(default)]
    pub verify_after_upload: Option<bool>,
}

/// One destination of a job, with its retention.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DestinationInput {
    pub destination_id: String,
    /// Absent: `{"mode": "NONE"}`.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "crate::retention::RetentionPolicy")
    )]
    pub retention: Value,
}

/// A validated job, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub enabled: bool,
    pub source_id: String,
    pub databases: Vec<String>,
    pub destinations: Vec<(String, RetentionPolicy)>,
    pub compression: String,
    pub compression_level: Option<i64>,
    pub encryption_profile_id: Option<String>,
    pub notification_ids: Vec<String>,
    pub notification_events: String,
    pub verify_after_upload: bool,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::bad_request(format!("invalid {field}: {message}"))
        .with_details(json!({"field": field, "message": message}))
}

/// The compression of a job created without one.
pub const DEFAULT_COMPRESSION: &str = "ZSTD";
/// Its level.
pub const DEFAULT_ZSTD_LEVEL: i64 = 3;

/// The compression level range the worker accepts for `compression` (None: no level allowed).
pub fn level_range(compression: &str) -> Option<(i64, i64)> {
    match compression {
        "GZIP" => Some((1, 9)),
        "ZSTD" => Some((1, 19)),
        "BROTLI" => Some((0, 11)),
        _ => None,
    }
}

impl JobInput {
    /// Checks every field that needs no database; `default_tz` fills a missing timezone.
    pub fn validate(self, default_tz: &str) -> Result<JobSpec, ApiError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "must be 1 to 100 characters"));
        }
        if name.contains(['/', '\\'])
            || name.chars().any(char::is_control)
            || name == "."
            || name == ".."
        {
            return Err(invalid(
                "name",
                "must not contain slashes or control characters (it names the backup folder)",
            ));
        }
        let schedule_text = self.schedule.trim().to_owned();
        schedule::parse(&schedule_text).map_err(|e| {
            ApiError::bad_request(format!("invalid schedule: {e}"))
                .with_details(json!({"field": "schedule", "message": e}))
        })?;
        let timezone = match self.timezone.as_deref().map(str::trim) {
            None | Some("") => default_tz.to_owned(),
            Some(tz) => tz.to_owned(),
        };
        schedule::parse_timezone(&timezone).map_err(|e| invalid("timezone", e))?;
        let source_id = self.source_id.trim().to_owned();
        if source_id.is_empty() {
            return Err(invalid("sourceId", "is required"));
        }
        let mut databases = Vec::new();
        for db in self.databases {
            let db = db.trim().to_owned();
            if db.is_empty() || db.len() > 128 || db.chars().any(char::is_control) {
                return Err(invalid(
                    "databases",
                    "each name must be 1 to 128 characters",
                ));
            }
            if !databases.contains(&db) {
                databases.push(db);
            }
        }
        if self.destinations.is_empty() {
            return Err(invalid(
                "destinations",
                "at least one destination is required",
            ));
        }
        if self.destinations.len() > MAX_DESTINATIONS {
            return Err(invalid(
                "destinations",
                format!("at most {MAX_DESTINATIONS} destinations"),
            ));
        }
        let mut destinations: Vec<(String, RetentionPolicy)> = Vec::new();
        for (i, d) in self.destinations.into_iter().enumerate() {
            let id = d.destination_id.trim().to_owned();
            if id.is_empty() {
                return Err(invalid(
                    &format!("destinations[{i}].destinationId"),
                    "is required",
                ));
            }
            if destinations.iter().any(|(other, _)| *other == id) {
                return Err(invalid(
                    &format!("destinations[{i}].destinationId"),
                    "is listed twice",
                ));
            }
            let policy = RetentionPolicy::from_json(&d.retention)
                .map_err(|e| invalid(&format!("destinations[{i}].retention"), e.0))?;
            destinations.push((id, policy));
        }
        // No compression given: ZSTD at level 3, the default since it beats GZIP on time and
        // size (docs/BENCH.md).
        let compression_level = match (&self.compression, self.compression_level) {
            (None, None) => Some(DEFAULT_ZSTD_LEVEL),
            (_, level) => level,
        };
        let compression = self
            .compression
            .as_deref()
            .unwrap_or(DEFAULT_COMPRESSION)
            .trim()
            .to_ascii_uppercase();
        if !["NONE", "GZIP", "ZSTD", "BROTLI"].contains(&compression.as_str()) {
            return Err(invalid("compression", "must be NONE, GZIP, ZSTD or BROTLI"));
        }
        if let Some(level) = compression_level {
            match level_range(&compression) {
                None => {
                    return Err(invalid(
                        "compressionLevel",
                        "is only allowed with GZIP, ZSTD or BROTLI",
                    ))
                }
                Some((lo, hi)) if level < lo || level > hi => {
                    return Err(invalid(
                        "compressionLevel",
                        format!("must be between {lo} and {hi} for {compression}"),
                    ))
                }
                Some(_) => {}
            }
        }
        let encryption_profile_id = self
            .encryption_profile_id
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let mut notification_ids = Vec::new();
        for n in self.notification_ids {
            let n = n.trim().to_owned();
            if n.is_empty() {
                return Err(invalid("notificationIds", "ids must not be empty"));
            }
            if !notification_ids.contains(&n) {
                notification_ids.push(n);
            }
        }
        let notification_events = self
            .notification_events
            .as_deref()
            .unwrap_or("ALWAYS")
            .trim()
            .to_ascii_uppercase();
        if !["ALWAYS", "FAILURE_ONLY", "SUCCESS_ONLY"].contains(&notification_events.as_str()) {
            return Err(invalid(
                "notificationEvents",
                "must be ALWAYS, FAILURE_ONLY or SUCCESS_ONLY",
            ));
        }
        Ok(JobSpec {
            name,
            schedule: schedule_text,
            timezone,
            enabled: self.enabled.unwrap_or(true),
            source_id,
            databases,
            destinations,
            compression,
            compression_level,
            encryption_profile_id,
            notification_ids,
            notification_events,
            verify_after_upload: self.verify_after_upload.unwrap_or(true),
        })
    }
}

/// Parses and validates a request body.
pub fn parse_input(body: Value, default_tz: &str) -> Result<JobSpec, ApiError> {
    let input: JobInput = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
    input.validate(default_tz)
}

/// The system's default timezone (SystemSetting `scheduler.timezone`, else UTC).
pub fn default_timezone(db: &dyn Db) -> Result<String, ApiError> {
    let tz = dbackup_identity::settings::scheduler_timezone(db)?;
    Ok(if schedule::parse_timezone(&tz).is_ok() {
        tz
    } else {
        "UTC".to_owned()
    })
}

/// Checks that every referenced adapter exists with the right type (400 naming the field).
pub fn check_references(db: &dyn Db, spec: &JobSpec) -> Result<(), ApiError> {
    let adapter_type = |id: &str| -> Result<Option<String>, ApiError> {
        Ok(sql::query(
            db,
            r#"SELECT "type" FROM "AdapterConfig" WHERE "id" = ?"#,
            &[id.into()],
        )?
        .first()
        .and_then(|r| r.text("type")))
    };
    if adapter_type(&spec.source_id)?.as_deref() != Some("database") {
        return Err(invalid(
            "sourceId",
            format!("no database source {:?}", spec.source_id),
        ));
    }
    for (i, (id, _)) in spec.destinations.iter().enumerate() {
        if adapter_type(id)?.as_deref() != Some("storage") {
            return Err(invalid(
                &format!("destinations[{i}].destinationId"),
                format!("no storage destination {id:?}"),
            ));
        }
    }
    for id in &spec.notification_ids {
        if adapter_type(id)?.as_deref() != Some("notification") {
            return Err(invalid(
                "notificationIds",
                format!("no notification channel {id:?}"),
            ));
        }
    }
    if let Some(p) = &spec.encryption_profile_id {
        let found = sql::query(
            db,
            r#"SELECT "id" FROM "EncryptionProfile" WHERE "id" = ? AND "kind" <> 'dbackup-import'"#,
            &[p.as_str().into()],
        )?;
        if found.is_empty() {
            return Err(invalid(
                "encryptionProfileId",
                format!("no encryption profile {p:?} that encrypts backups (a DBackup import profile only reads DBackup's backups)"),
            ));
        }
    }
    Ok(())
}

fn write_links(db: &dyn Db, id: &str, spec: &JobSpec) -> Result<(), ApiError> {
    db.execute(
        r#"DELETE FROM "JobDestination" WHERE "jobId" = ?"#,
        &[id.into()],
    )?;
    for (pos, (dest, policy)) in spec.destinations.iter().enumerate() {
        db.execute(
            r#"INSERT INTO "JobDestination" ("jobId", "destinationId", "retention", "position") VALUES (?, ?, ?, ?)"#,
            &[
                id.into(),
                dest.as_str().into(),
                policy.to_json().to_string().into(),
                SqlValue::Integer(pos as i64),
            ],
        )?;
    }
    db.execute(
        r#"DELETE FROM "JobNotification" WHERE "jobId" = ?"#,
        &[id.into()],
    )?;
    for n in &spec.notification_ids {
        db.execute(
            r#"INSERT INTO "JobNotification" ("jobId", "adapterConfigId") VALUES (?, ?)"#,
            &[id.into(), n.as_str().into()],
        )?;
    }
    Ok(())
}

fn first_retention(spec: &JobSpec) -> String {
    spec.destinations
        .first()
        .map(|(_, p)| p.to_json().to_string())
        .unwrap_or_else(|| "{}".into())
}

/// Inserts a job (Job + links, one transaction). `lastScheduledAt` starts at `now`: the first
/// run is the first occurrence after the job was saved.
pub fn insert(db: &dyn Db, id: &str, spec: &JobSpec, now: &str) -> Result<(), ApiError> {
    sql::transaction(db, || insert_in_transaction(db, id, spec, now))
}

/// [`insert`] inside the caller's transaction (the config restore's).
pub fn insert_in_transaction(
    db: &dyn Db,
    id: &str,
    spec: &JobSpec,
    now: &str,
) -> Result<(), ApiError> {
    db.execute(
            r#"INSERT INTO "Job" ("id", "name", "schedule", "enabled", "compression", "retention",
                 "notificationEvents", "createdAt", "updatedAt", "sourceId", "destinationId",
                 "encryptionProfileId", "databases", "timezone", "compressionLevel", "lastScheduledAt",
                 "verifyAfterUpload")
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
            &[
                id.into(),
                spec.name.as_str().into(),
                spec.schedule.as_str().into(),
                spec.enabled.into(),
                spec.compression.as_str().into(),
                first_retention(spec).into(),
                spec.notification_events.as_str().into(),
                now.into(),
                now.into(),
                spec.source_id.as_str().into(),
                spec.destinations[0].0.as_str().into(),
                spec.encryption_profile_id.clone().into(),
                Value::from(spec.databases.clone()).to_string().into(),
                spec.timezone.as_str().into(),
                spec.compression_level.into(),
                now.into(),
                spec.verify_after_upload.into(),
            ],
        )?;
    write_links(db, id, spec)
}

/// Replaces a job; false if it does not exist. The scheduling marker moves to `now` when the
/// schedule, timezone or enabled flag changed (no burst of "missed" runs after an edit).
pub fn update(db: &dyn Db, id: &str, spec: &JobSpec, now: &str) -> Result<bool, ApiError> {
    sql::transaction(db, || update_in_transaction(db, id, spec, now))
}

/// [`update`] inside the caller's transaction (the config restore's).
pub fn update_in_transaction(
    db: &dyn Db,
    id: &str,
    spec: &JobSpec,
    now: &str,
) -> Result<bool, ApiError> {
    let rows = sql::query(
        db,
        r#"UPDATE "Job" SET "name" = ?, "schedule" = ?, "enabled" = ?, "compression" = ?,
                 "retention" = ?, "notificationEvents" = ?, "updatedAt" = ?, "sourceId" = ?,
                 "destinationId" = ?, "encryptionProfileId" = ?, "databases" = ?, "timezone" = ?,
                 "compressionLevel" = ?, "verifyAfterUpload" = ?,
                 "lastScheduledAt" = CASE WHEN "schedule" = ? AND "timezone" IS ? AND "enabled" = ?
                                          THEN "lastScheduledAt" ELSE ? END
               WHERE "id" = ? RETURNING "id""#,
        &[
            spec.name.as_str().into(),
            spec.schedule.as_str().into(),
            spec.enabled.into(),
            spec.compression.as_str().into(),
            first_retention(spec).into(),
            spec.notification_events.as_str().into(),
            now.into(),
            spec.source_id.as_str().into(),
            spec.destinations[0].0.as_str().into(),
            spec.encryption_profile_id.clone().into(),
            Value::from(spec.databases.clone()).to_string().into(),
            spec.timezone.as_str().into(),
            spec.compression_level.into(),
            spec.verify_after_upload.into(),
            spec.schedule.as_str().into(),
            spec.timezone.as_str().into(),
            spec.enabled.into(),
            now.into(),
            id.into(),
        ],
    )?;
    if rows.is_empty() {
        return Ok(false);
    }
    write_links(db, id, spec)?;
    Ok(true)
}

/// Deletes a job (its executions stay, with jobId NULL); false if it does not exist.
pub fn delete(db: &dyn Db, id: &str) -> Result<bool, ApiError> {
    let rows = sql::query(
        db,
        r#"DELETE FROM "Job" WHERE "id" = ? RETURNING "id""#,
        &[id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// A stored job as the runner and the API need it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredJob {
    pub id: String,
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub enabled: bool,
    pub source_id: String,
    pub databases: Vec<String>,
    pub destinations: Vec<(String, RetentionPolicy)>,
    pub compression: String,
    pub compression_level: Option<i64>,
    pub encryption_profile_id: Option<String>,
    pub notification_ids: Vec<String>,
    pub notification_events: String,
    pub verify_after_upload: bool,
    pub created_at: String,
    pub updated_at: String,
    pub last_scheduled_at: Option<String>,
}

const JOB_COLUMNS: &str = r#""id", "name", "schedule", "timezone", "enabled", "sourceId", "databases",
    "compression", "compressionLevel", "encryptionProfileId", "notificationEvents", "createdAt",
    "updatedAt", "lastScheduledAt", "destinationId", "retention", "verifyAfterUpload""#;

/// How many ids one `IN (…)` carries (SQLite allows 32,766 parameters; a page is at most 200).
const IN_CHUNK: usize = 500;

/// `"?, ?, …"` for `n` parameters.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The destinations and notification channels of `ids`, two queries per [`IN_CHUNK`] ids (the
/// job list used to ask twice per job: on a libSQL server each is an HTTP round trip).
#[allow(clippy::type_complexity)]
fn children(
    db: &dyn Db,
    ids: &[String],
) -> Result<
    (
        HashMap<String, Vec<(String, RetentionPolicy)>>,
        HashMap<String, Vec<String>>,
    ),
    ApiError,
> {
    let mut destinations: HashMap<String, Vec<(String, RetentionPolicy)>> = HashMap::new();
    let mut notifications: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let params: Vec<SqlValue> = chunk.iter().map(|i| i.as_str().into()).collect();
        let marks = placeholders(chunk.len());
        for d in sql::query(
            db,
            &format!(
                r#"SELECT "jobId", "destinationId", "retention" FROM "JobDestination"
                    WHERE "jobId" IN ({marks}) ORDER BY "jobId", "position""#
            ),
            &params,
        )? {
            destinations
                .entry(d.text("jobId").unwrap_or_default())
                .or_default()
                .push((
                    d.text("destinationId").unwrap_or_default(),
                    parse_retention(d.text("retention")),
                ));
        }
        for n in sql::query(
            db,
            &format!(
                r#"SELECT "jobId", "adapterConfigId" FROM "JobNotification"
                    WHERE "jobId" IN ({marks}) ORDER BY "jobId", "adapterConfigId""#
            ),
            &params,
        )? {
            if let Some(a) = n.text("adapterConfigId") {
                notifications
                    .entry(n.text("jobId").unwrap_or_default())
                    .or_default()
                    .push(a);
            }
        }
    }
    Ok((destinations, notifications))
}

fn parse_retention(text: Option<String>) -> RetentionPolicy {
    text.and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| RetentionPolicy::from_json(&v).ok())
        .unwrap_or_default()
}

/// The jobs of `rows` with their destinations and channels.
fn from_rows(db: &dyn Db, rows: &[Row]) -> Result<Vec<StoredJob>, ApiError> {
    let ids: Vec<String> = rows.iter().filter_map(|r| r.text("id")).collect();
    let (mut destinations, mut notifications) = children(db, &ids)?;
    Ok(rows
        .iter()
        .map(|r| {
            let id = r.text("id").unwrap_or_default();
            let mut dests = destinations.remove(&id).unwrap_or_default();
            if dests.is_empty() {
                // A row written by the seed schema only.
                dests.push((
                    r.text("destinationId").unwrap_or_default(),
                    parse_retention(r.text("retention")),
                ));
            }
            let notification_ids = notifications.remove(&id).unwrap_or_default();
            from_row(r, id, dests, notification_ids)
        })
        .collect())
}

fn from_row(
    r: &Row,
    id: String,
    destinations: Vec<(String, RetentionPolicy)>,
    notification_ids: Vec<String>,
) -> StoredJob {
    StoredJob {
        name: r.text("name").unwrap_or_default(),
        schedule: r.text("schedule").unwrap_or_default(),
        timezone: r.text("timezone").unwrap_or_else(|| "UTC".into()),
        enabled: r.int("enabled") == Some(1),
        source_id: r.text("sourceId").unwrap_or_default(),
        databases: r
            .text("databases")
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        destinations,
        compression: r.text("compression").unwrap_or_else(|| "NONE".into()),
        compression_level: r.int("compressionLevel"),
        encryption_profile_id: r.text("encryptionProfileId"),
        notification_ids,
        notification_events: r
            .text("notificationEvents")
            .unwrap_or_else(|| "ALWAYS".into()),
        verify_after_upload: r.int("verifyAfterUpload") != Some(0),
        created_at: r.text("createdAt").unwrap_or_default(),
        updated_at: r.text("updatedAt").unwrap_or_default(),
        last_scheduled_at: r.text("lastScheduledAt"),
        id,
    }
}

/// One job, or `None`.
pub fn get(db: &dyn Db, id: &str) -> Result<Option<StoredJob>, ApiError> {
    let rows = sql::query(
        db,
        &format!(r#"SELECT {JOB_COLUMNS} FROM "Job" WHERE "id" = ?"#),
        &[id.into()],
    )?;
    Ok(from_rows(db, &rows)?.into_iter().next())
}

/// Every job, by name.
pub fn list(db: &dyn Db) -> Result<Vec<StoredJob>, ApiError> {
    Ok(list_page(db, None, None)?.jobs)
}

/// The largest page of `GET /api/jobs?limit=`.
pub const MAX_PAGE: i64 = 200;

/// A page of jobs by name.
#[derive(Debug, Clone)]
pub struct StoredJobPage {
    pub jobs: Vec<StoredJob>,
    /// `<name>|<id>` of the page's last job when more follow.
    pub next_cursor: Option<String>,
}

/// The jobs after `cursor` (`<name>|<id>` of the previous page's last job), by name then id,
/// at most `limit` of them (`None`: all). An index range on `Job(name, id)`; the destinations
/// and channels of the page come with two more queries (not two per job).
pub fn list_page(
    db: &dyn Db,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<StoredJobPage, ApiError> {
    let mut text = format!(r#"SELECT {JOB_COLUMNS} FROM "Job""#);
    let mut params: Vec<SqlValue> = Vec::new();
    if let Some(c) = cursor {
        // Ids never hold '|'; names may.
        let (name, id) = c
            .rsplit_once('|')
            .ok_or_else(|| ApiError::bad_request("invalid cursor: expected <name>|<id>"))?;
        text.push_str(r#" WHERE ("name", "id") > (?, ?)"#);
        params.extend([name.into(), id.into()]);
    }
    text.push_str(r#" ORDER BY "name", "id""#);
    if let Some(l) = limit {
        text.push_str(" LIMIT ?");
        params.push(SqlValue::Integer(l + 1));
    }
    let mut rows = sql::query(db, &text, &params)?;
    let more = limit.is_some_and(|l| rows.len() as i64 > l);
    if let Some(l) = limit {
        rows.truncate(usize::try_from(l).unwrap_or(0));
    }
    let jobs = from_rows(db, &rows)?;
    let next_cursor = if more {
        jobs.last().map(|j| format!("{}|{}", j.name, j.id))
    } else {
        None
    };
    Ok(StoredJobPage { jobs, next_cursor })
}

/// One destination of a job as shown, with its retention and position.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobDestinationView {
    pub destination_id: String,
    pub retention: RetentionPolicy,
    pub position: usize,
}

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: String,
    pub name: String,
    /// Cron expression (5 or 6 fields, or `@daily`-style).
    pub schedule: String,
    /// IANA timezone the schedule runs in.
    pub timezone: String,
    pub enabled: bool,
    pub source_id: String,
    /// Databases to back up (empty: all).
    pub databases: Vec<String>,
    pub destinations: Vec<JobDestinationView>,
    /// The first destination's id (compatibility with single-destination clients).
    pub destination_id: Option<String>,
    /// The first destination's retention (`{"mode": "NONE"}` without destinations).
    pub retention: RetentionPolicy,
    /// `NONE`, `GZIP`, `ZSTD` or `BROTLI`.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["NONE", "GZIP", "ZSTD", "BROTLI"])))]
    pub compression: String,
    pub compression_level: Option<i64>,
    pub encryption_profile_id: Option<String>,
    pub notification_ids: Vec<String>,
    /// `ALWAYS`, `FAILURE_ONLY` or `SUCCESS_ONLY`.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["ALWAYS", "FAILURE_ONLY", "SUCCESS_ONLY"])))]
    pub notification_events: String,
    /// Each destination's object is read back after upload and checked (default true).
    pub verify_after_upload: bool,
    pub created_at: String,
    pub updated_at: String,
    /// The next scheduled run (UTC), null when disabled.
    pub next_run_at: Option<String>,
    pub last_execution: Option<crate::execution::ExecutionRef>,
}

/// `GET /api/jobs`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JobList {
    pub items: Vec<JobView>,
    /// With `limit`: pass as `cursor` for the next page; null at the end and without `limit`
    /// (which lists every job).
    #[serde(rename = "nextCursor")]
    pub next_cursor: Option<String>,
}

/// `GET /api/jobs/{id}/next-runs`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NextRuns {
    pub job_id: String,
    pub timezone: String,
    pub enabled: bool,
    /// ISO 8601 UTC times; empty for a disabled job.
    pub runs: Vec<String>,
}

impl StoredJob {
    /// The API representation, with the next run (if enabled and the schedule parses) and the
    /// last execution when known.
    pub fn to_view(
        &self,
        now: DateTime<Utc>,
        last_execution: Option<crate::execution::ExecutionRef>,
    ) -> JobView {
        let next_run_at = if self.enabled {
            match (
                schedule::parse(&self.schedule),
                schedule::parse_timezone(&self.timezone),
            ) {
                (Ok(c), Ok(tz)) => schedule::next_runs(&c, tz, now, 1)
                    .first()
                    .map(|t| crate::iso(*t)),
                _ => None,
            }
        } else {
            None
        };
        JobView {
            id: self.id.clone(),
            name: self.name.clone(),
            schedule: self.schedule.clone(),
            timezone: self.timezone.clone(),
            enabled: self.enabled,
            source_id: self.source_id.clone(),
            databases: self.databases.clone(),
            destinations: self
                .destinations
                .iter()
                .enumerate()
                .map(|(i, (id, p))| JobDestinationView {
                    destination_id: id.clone(),
                    retention: *p,
                    position: i,
                })
                .collect(),
            destination_id: self.destinations.first().map(|d| d.0.clone()),
            retention: self
                .destinations
                .first()
                .map(|d| d.1)
                .unwrap_or(RetentionPolicy::None),
            compression: self.compression.clone(),
            compression_level: self.compression_level,
            encryption_profile_id: self.encryption_profile_id.clone(),
            notification_ids: self.notification_ids.clone(),
            notification_events: self.notification_events.clone(),
            verify_after_upload: self.verify_after_upload,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            next_run_at,
            last_execution,
        }
    }
}
