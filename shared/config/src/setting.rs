//! The config backup system job: its configuration (SystemSetting `configBackup`, JSON), its
//! last run (`configBackup.lastRun`) and the scheduler's marker
//! (`configBackup.lastScheduledAt`, moved with a compare-and-set so that of several hosts
//! sharing one database exactly one runs each occurrence).

use chrono::{DateTime, Utc};
use dbackup_core::db::Db;
use dbackup_core::ApiError;
use dbackup_identity::settings;
use dbackup_jobs_core::schedule;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::sql::{rows, text};

/// SystemSetting key of the configuration.
pub const KEY: &str = "configBackup";
/// SystemSetting key of the last run.
pub const LAST_RUN_KEY: &str = "configBackup.lastRun";
/// SystemSetting key of the last occurrence a scheduler claimed.
pub const MARKER_KEY: &str = "configBackup.lastScheduledAt";
/// Default schedule: daily at 03:00.
pub const DEFAULT_SCHEDULE: &str = "0 3 * * *";
/// Default number of config backups kept.
pub const DEFAULT_KEEP: u32 = 10;
/// Largest `keep`.
pub const MAX_KEEP: u32 = 1000;

/// The system job's configuration (`GET/PUT /api/system/config-backup` `config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigBackupConfig {
    pub enabled: bool,
    /// Cron expression (5 or 6 fields, or a preset).
    pub schedule: String,
    /// IANA timezone of the schedule.
    pub timezone: String,
    /// The storage adapter that receives `config-backups/…`.
    pub destination_id: Option<String>,
    /// Encrypts the backup; required with `includeSecrets` or `includePasswordHashes`.
    pub encryption_profile_id: Option<String>,
    pub include_secrets: bool,
    pub include_password_hashes: bool,
    /// Config backups kept on the destination (1–1000); older ones are deleted after a success.
    pub keep: u32,
}

impl ConfigBackupConfig {
    /// The defaults, scheduled in `timezone`.
    pub fn defaults(timezone: &str) -> Self {
        ConfigBackupConfig {
            enabled: false,
            schedule: DEFAULT_SCHEDULE.to_owned(),
            timezone: timezone.to_owned(),
            destination_id: None,
            encryption_profile_id: None,
            include_secrets: false,
            include_password_hashes: false,
            keep: DEFAULT_KEEP,
        }
    }
}

/// Outcome of the last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LastRun {
    /// When it ended (RFC 3339).
    pub at: String,
    /// `success` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /api/system/config-backup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigBackupView {
    pub config: ConfigBackupConfig,
    pub last_run: Option<LastRun>,
    /// The next scheduled run (RFC 3339), `null` when disabled.
    pub next_run_at: Option<String>,
}

fn raw(db: &dyn Db, key: &str) -> Result<Option<String>, ApiError> {
    Ok(rows(
        db,
        r#"SELECT "value" FROM "SystemSetting" WHERE "key" = ?"#,
        &[key.into()],
    )?
    .first()
    .and_then(|r| text(r, "value")))
}

fn put(db: &dyn Db, key: &str, value: &str, now: &str) -> Result<(), ApiError> {
    db.execute(
        r#"INSERT INTO "SystemSetting" ("key", "value", "updatedAt") VALUES (?, ?, ?)
           ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "updatedAt" = excluded."updatedAt""#,
        &[key.into(), value.into(), now.into()],
    )?;
    Ok(())
}

/// The stored configuration, if any (missing fields take their defaults).
pub fn stored(db: &dyn Db) -> Result<Option<ConfigBackupConfig>, ApiError> {
    let Some(text) = raw(db, KEY)? else {
        return Ok(None);
    };
    let tz = settings::scheduler_timezone(db)?;
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&text) else {
        return Ok(None);
    };
    Ok(merge(ConfigBackupConfig::defaults(&tz), &m).ok())
}

/// The effective configuration: stored, else the defaults (timezone = `scheduler.timezone`).
pub fn load(db: &dyn Db) -> Result<ConfigBackupConfig, ApiError> {
    match stored(db)? {
        Some(c) => Ok(c),
        None => Ok(ConfigBackupConfig::defaults(&settings::scheduler_timezone(
            db,
        )?)),
    }
}

fn field_error(field: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::bad_request(format!("{field}: {message}")).with_details(json!({"field": field}))
}

/// Applies the fields present in `patch` onto `base`: 400 naming the field for a wrong type or
/// an unknown key.
pub fn merge(
    mut base: ConfigBackupConfig,
    patch: &Map<String, Value>,
) -> Result<ConfigBackupConfig, ApiError> {
    let boolean = |k: &str, v: &Value| {
        v.as_bool()
            .ok_or_else(|| field_error(k, "must be a boolean"))
    };
    let string = |k: &str, v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| field_error(k, "must be a string"))
    };
    let opt_id = |k: &str, v: &Value| match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_owned())),
        _ => Err(field_error(k, "must be a string or null")),
    };
    for (k, v) in patch {
        match k.as_str() {
            "enabled" => base.enabled = boolean(k, v)?,
            "schedule" => base.schedule = string(k, v)?.trim().to_owned(),
            "timezone" => base.timezone = string(k, v)?.trim().to_owned(),
            "destinationId" => base.destination_id = opt_id(k, v)?,
            "encryptionProfileId" => base.encryption_profile_id = opt_id(k, v)?,
            "includeSecrets" => base.include_secrets = boolean(k, v)?,
            "includePasswordHashes" => base.include_password_hashes = boolean(k, v)?,
            "keep" => {
                base.keep = v
                    .as_u64()
                    .filter(|n| (1..=u64::from(MAX_KEEP)).contains(n))
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        field_error(k, format!("must be an integer from 1 to {MAX_KEEP}"))
                    })?
            }
            other => return Err(field_error(other, "unknown field")),
        }
    }
    Ok(base)
}

/// 400 naming the field when the configuration cannot run: a schedule croner refuses, an unknown
/// timezone, a destination that is not a storage adapter, a missing or unknown profile while
/// secrets or password hashes are included, `enabled` without a destination.
pub fn validate(db: &dyn Db, c: &ConfigBackupConfig) -> Result<(), ApiError> {
    schedule::parse(&c.schedule).map_err(|e| field_error("schedule", e))?;
    schedule::parse_timezone(&c.timezone).map_err(|e| field_error("timezone", e))?;
    if !(1..=MAX_KEEP).contains(&c.keep) {
        return Err(field_error(
            "keep",
            format!("must be an integer from 1 to {MAX_KEEP}"),
        ));
    }
    match &c.destination_id {
        Some(id) => {
            let kind = rows(
                db,
                r#"SELECT "type" FROM "AdapterConfig" WHERE "id" = ?"#,
                &[id.as_str().into()],
            )?
            .first()
            .and_then(|r| text(r, "type"));
            match kind.as_deref() {
                Some("storage") => {}
                Some(_) => return Err(field_error("destinationId", "is not a storage adapter")),
                None => return Err(field_error("destinationId", "no such destination")),
            }
        }
        None if c.enabled => {
            return Err(field_error(
                "destinationId",
                "a destination is required to enable config backups",
            ))
        }
        None => {}
    }
    match &c.encryption_profile_id {
        Some(id) => {
            let found = rows(
                db,
                r#"SELECT "id" FROM "EncryptionProfile" WHERE "id" = ?"#,
                &[id.as_str().into()],
            )?;
            if found.is_empty() {
                return Err(field_error(
                    "encryptionProfileId",
                    "no such encryption profile",
                ));
            }
        }
        None if c.include_secrets || c.include_password_hashes => {
            return Err(field_error(
                "encryptionProfileId",
                "an encryption profile is required when secrets or password hashes are included",
            ))
        }
        None => {}
    }
    Ok(())
}

/// `PUT`: merges `body` onto the current configuration, validates, stores. Returns (old, new).
/// Enabling (or changing the schedule) restarts the scheduler's marker at `now`, so no old
/// occurrence runs.
pub fn update(
    db: &dyn Db,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<(ConfigBackupConfig, ConfigBackupConfig), ApiError> {
    let Value::Object(patch) = body else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let old = load(db)?;
    let new = merge(old.clone(), patch)?;
    validate(db, &new)?;
    save(db, &new, now)?;
    if new.enabled && (!old.enabled || old.schedule != new.schedule || old.timezone != new.timezone)
    {
        restart_schedule(db, now)?;
    }
    Ok((old, new))
}

/// Restarts the scheduler's marker at `now`, so no occurrence before it runs (enabling, a new
/// schedule, a restored configuration).
pub fn restart_schedule(db: &dyn Db, now: DateTime<Utc>) -> Result<(), ApiError> {
    let at = dbackup_jobs_core::iso(now);
    put(db, MARKER_KEY, &at, &at)
}

/// Stores the configuration as is (restore and `update` validate first).
pub fn save(db: &dyn Db, c: &ConfigBackupConfig, now: DateTime<Utc>) -> Result<(), ApiError> {
    let text = serde_json::to_string(c).map_err(|e| ApiError::internal(e.to_string()))?;
    put(db, KEY, &text, &dbackup_jobs_core::iso(now))
}

/// The last run, if any.
pub fn last_run(db: &dyn Db) -> Result<Option<LastRun>, ApiError> {
    Ok(raw(db, LAST_RUN_KEY)?.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Records the outcome of a run.
pub fn record_run(db: &dyn Db, run: &LastRun, now: DateTime<Utc>) -> Result<(), ApiError> {
    let text = serde_json::to_string(run).map_err(|e| ApiError::internal(e.to_string()))?;
    put(db, LAST_RUN_KEY, &text, &dbackup_jobs_core::iso(now))
}

/// The next scheduled run after `now` (`None` when disabled or unparsable).
pub fn next_run(c: &ConfigBackupConfig, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !c.enabled {
        return None;
    }
    let cron = schedule::parse(&c.schedule).ok()?;
    let tz = schedule::parse_timezone(&c.timezone).ok()?;
    schedule::next_runs(&cron, tz, now, 1).into_iter().next()
}

/// `GET /api/system/config-backup`.
pub fn view(db: &dyn Db, now: DateTime<Utc>) -> Result<ConfigBackupView, ApiError> {
    let config = load(db)?;
    Ok(ConfigBackupView {
        next_run_at: next_run(&config, now).map(dbackup_jobs_core::iso),
        last_run: last_run(db)?,
        config,
    })
}

/// The scheduler's decision for one tick: moves the marker to the latest occurrence in
/// `(marker, now]` with a compare-and-set and returns the occurrence when this caller won it
/// and it is fresh enough to run (late occurrences are skipped, never replayed). The first
/// tick after the job is enabled only sets the marker.
pub fn claim_due(db: &dyn Db, now: DateTime<Utc>) -> Result<Option<String>, ApiError> {
    let c = load(db)?;
    if !c.enabled || c.destination_id.is_none() {
        return Ok(None);
    }
    let (Ok(cron), Ok(tz)) = (
        schedule::parse(&c.schedule),
        schedule::parse_timezone(&c.timezone),
    ) else {
        return Ok(None);
    };
    let now_iso = dbackup_jobs_core::iso(now);
    let Some(marker_text) = raw(db, MARKER_KEY)? else {
        db.execute(
            r#"INSERT INTO "SystemSetting" ("key", "value", "updatedAt") VALUES (?, ?, ?)
               ON CONFLICT ("key") DO NOTHING"#,
            &[
                MARKER_KEY.into(),
                now_iso.as_str().into(),
                now_iso.as_str().into(),
            ],
        )?;
        return Ok(None);
    };
    let base = dbackup_jobs_core::parse_iso(&marker_text).unwrap_or(now);
    let due = schedule::due(&cron, tz, base, now);
    let Some(marker) = due.marker else {
        return Ok(None);
    };
    let marker_iso = dbackup_jobs_core::iso(marker);
    let won = rows(
        db,
        r#"UPDATE "SystemSetting" SET "value" = ?, "updatedAt" = ? WHERE "key" = ? AND "value" = ?
           RETURNING "key""#,
        &[
            marker_iso.as_str().into(),
            now_iso.as_str().into(),
            MARKER_KEY.into(),
            marker_text.as_str().into(),
        ],
    )?;
    if won.is_empty() {
        return Ok(None);
    }
    Ok(due.run.map(|_| marker_iso))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestDb;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, h, m, s).unwrap()
    }

    #[test]
    fn defaults_follow_the_scheduler_timezone() {
        let db = TestDb::migrated();
        let v = view(&db, at(1, 0, 0)).unwrap();
        assert_eq!(v.config, ConfigBackupConfig::defaults("UTC"));
        assert_eq!(v.last_run, None);
        assert_eq!(v.next_run_at, None);
        db.exec(r#"INSERT INTO "SystemSetting" ("key","value") VALUES ('scheduler.timezone','Europe/Berlin')"#);
        assert_eq!(load(&db).unwrap().timezone, "Europe/Berlin");
    }

    #[test]
    fn validation_names_the_field() {
        let db = TestDb::migrated().with_adapters();
        let field = |body: Value| -> String {
            let e = update(&db, &body, at(1, 0, 0)).unwrap_err();
            assert_eq!(e.status, 400, "{body}");
            e.body()["details"]["field"].as_str().unwrap().to_owned()
        };
        assert_eq!(field(json!({"schedule": "nope"})), "schedule");
        assert_eq!(field(json!({"timezone": "Mars/Base"})), "timezone");
        assert_eq!(field(json!({"destinationId": "src"})), "destinationId");
        assert_eq!(field(json!({"destinationId": "missing"})), "destinationId");
        assert_eq!(field(json!({"enabled": true})), "destinationId");
        assert_eq!(
            field(json!({"includeSecrets": true})),
            "encryptionProfileId"
        );
        assert_eq!(
            field(json!({"includePasswordHashes": true, "encryptionProfileId": "nope"})),
            "encryptionProfileId"
        );
        assert_eq!(field(json!({"keep": 0})), "keep");
        assert_eq!(field(json!({"keep": 1001})), "keep");
        assert_eq!(field(json!({"keep": "3"})), "keep");
        assert_eq!(field(json!({"enabled": "yes"})), "enabled");
        assert_eq!(field(json!({"bogus": 1})), "bogus");
        // nothing was stored by the refusals
        assert_eq!(stored(&db).unwrap(), None);
        let (old, new) = update(
            &db,
            &json!({"enabled": true, "destinationId": "dst1", "encryptionProfileId": "prof",
                    "includeSecrets": true, "keep": 3, "schedule": "*/5 * * * *"}),
            at(1, 0, 0),
        )
        .unwrap();
        assert!(!old.enabled);
        assert_eq!(new.keep, 3);
        assert_eq!(load(&db).unwrap(), new);
        assert_eq!(
            view(&db, at(1, 2, 0)).unwrap().next_run_at.as_deref(),
            Some("2026-11-27T01:05:00.000Z")
        );
    }

    #[test]
    fn each_occurrence_is_claimed_once() {
        let db = TestDb::migrated().with_adapters();
        update(
            &db,
            &json!({"enabled": true, "destinationId": "dst1", "schedule": "*/5 * * * *"}),
            at(1, 1, 0),
        )
        .unwrap();
        // nothing between the marker (01:01) and 01:04
        assert_eq!(claim_due(&db, at(1, 4, 0)).unwrap(), None);
        let first = claim_due(&db, at(1, 5, 10)).unwrap();
        assert_eq!(first.as_deref(), Some("2026-11-27T01:05:00.000Z"));
        // a second host ticking at the same time finds the marker moved
        assert_eq!(claim_due(&db, at(1, 5, 20)).unwrap(), None);
        // a late tick runs only the latest occurrence: 01:10 … 02:00 are skipped, not replayed
        assert_eq!(
            claim_due(&db, at(2, 7, 0)).unwrap().as_deref(),
            Some("2026-11-27T02:05:00.000Z")
        );
        assert_eq!(
            claim_due(&db, at(2, 10, 1)).unwrap().as_deref(),
            Some("2026-11-27T02:10:00.000Z")
        );
    }

    #[test]
    fn two_connections_race_for_one_occurrence() {
        let path =
            std::env::temp_dir().join(format!("dbackup-config-claim-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let a = TestDb::file(&path).with_adapters();
        let b = TestDb::file(&path);
        update(
            &a,
            &json!({"enabled": true, "destinationId": "dst1", "schedule": "* * * * *"}),
            at(1, 0, 30),
        )
        .unwrap();
        let now = at(1, 1, 5);
        let won: Vec<_> = [&a, &b]
            .iter()
            .filter_map(|db| claim_due(*db, now).unwrap())
            .collect();
        assert_eq!(won, vec!["2026-11-27T01:01:00.000Z".to_owned()]);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn last_run_round_trips() {
        let db = TestDb::migrated();
        let run = LastRun {
            at: "2026-11-27T03:00:01.000Z".into(),
            status: "failed".into(),
            object_name: None,
            size: None,
            error: Some("storage error".into()),
        };
        record_run(&db, &run, at(3, 0, 1)).unwrap();
        assert_eq!(last_run(&db).unwrap(), Some(run));
    }
}
