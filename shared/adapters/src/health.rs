//! Health status transitions of an adapter (pure): success → ONLINE with the failure counter
//! reset; a failure increments it, DEGRADED below [`OFFLINE_AFTER`] failures, OFFLINE from it.
//! Plus a check round ([`run_round`], started by the runner): claim, probe every target with
//! the adapter test ([`crate::probe::test`]), record, notify, prune; and an adapter's history
//! as `GET /api/adapters/{id}/health` shows it ([`history`]).

use dbackup_core::db::{Db, Value as DbValue};
use dbackup_core::time::Timestamp;
use dbackup_core::worker::Worker;
use dbackup_core::ApiError;
use dbackup_identity::settings;
use futures::StreamExt;
use serde_json::{json, Map, Value};

use crate::api::{HealthEntry, HealthHistory};
use crate::notify::{send_to_channel, Deliver, Notification, NotificationField, Status};
use crate::store::{self, adapter_not_found, new_id};
use crate::{probe, SecretBox};

/// Consecutive failures from which an adapter is OFFLINE.
pub const OFFLINE_AFTER: i64 = 3;

/// An adapter's health status (`AdapterConfig.lastStatus`, `HealthCheckLog.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    Online,
    Degraded,
    Offline,
}

impl HealthStatus {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Online => "ONLINE",
            HealthStatus::Degraded => "DEGRADED",
            HealthStatus::Offline => "OFFLINE",
        }
    }

    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ONLINE" => Some(HealthStatus::Online),
            "DEGRADED" => Some(HealthStatus::Degraded),
            "OFFLINE" => Some(HealthStatus::Offline),
            _ => None,
        }
    }
}

/// The state after one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub status: HealthStatus,
    pub consecutive_failures: i64,
    /// The adapter just went OFFLINE (notify).
    pub went_offline: bool,
    /// The adapter was OFFLINE and is ONLINE again (notify).
    pub came_back: bool,
}

/// Applies one check result to the previous state.
pub fn next(previous: HealthStatus, failures: i64, ok: bool) -> Transition {
    if ok {
        return Transition {
            status: HealthStatus::Online,
            consecutive_failures: 0,
            went_offline: false,
            came_back: previous == HealthStatus::Offline,
        };
    }
    let failures = failures.max(0).saturating_add(1);
    let status = if failures >= OFFLINE_AFTER {
        HealthStatus::Offline
    } else {
        HealthStatus::Degraded
    };
    Transition {
        status,
        consecutive_failures: failures,
        went_offline: status == HealthStatus::Offline && previous != HealthStatus::Offline,
        came_back: false,
    }
}

/// `SystemSetting` key of the check interval in seconds (default [`DEFAULT_INTERVAL_SECS`]).
pub const INTERVAL_SETTING: &str = settings::HEALTH_CHECK_INTERVAL;
/// `SystemSetting` key recording when the last check round started (unix seconds).
pub const LAST_RUN_SETTING: &str = "runner.lastHealthCheckAt";
/// Default check interval.
pub const DEFAULT_INTERVAL_SECS: i64 = settings::DEFAULT_HEALTH_CHECK_INTERVAL;
/// HealthCheckLog rows older than this are deleted.
pub const RETENTION_SECS: i64 = 48 * 3600;

/// Claims a check round if the interval has passed since the last one (`now` in unix
/// seconds): records `now` and returns true, else false. The claim is one conditional write,
/// so of two runners ticking together only one checks.
pub fn claim_round(db: &dyn Db, now: i64) -> Result<bool, ApiError> {
    let interval = settings::integer(db, INTERVAL_SETTING)?;
    let rows = db.execute(
        r#"INSERT INTO "SystemSetting" ("key", "value", "description") VALUES (?1, ?2, 'When the runner last started health checks (unix seconds)')
           ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value",
               "updatedAt" = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
           WHERE CAST("SystemSetting"."value" AS INTEGER) <= ?3
           RETURNING "key""#,
        &[LAST_RUN_SETTING.into(), now.to_string().into(), (now - interval).into()],
    )?;
    Ok(!rows.rows.is_empty())
}

/// The ids of the adapters a round checks: every database and storage adapter.
pub fn targets(db: &dyn Db) -> Result<Vec<String>, ApiError> {
    let rows = db.execute(
        r#"SELECT "id" FROM "AdapterConfig" WHERE "type" IN ('database', 'storage') ORDER BY "id""#,
        &[],
    )?;
    Ok(rows
        .rows
        .iter()
        .filter_map(|r| r.first().and_then(DbValue::as_str).map(str::to_owned))
        .collect())
}

/// Records one check of adapter `id`: a HealthCheckLog row and the adapter's new state
/// (`lastHealthCheck`, `lastStatus`, `consecutiveFailures`). `now` is an ISO timestamp.
/// `None` if the adapter no longer exists.
pub fn record(
    db: &dyn Db,
    id: &str,
    ok: bool,
    latency_ms: u64,
    error: Option<&str>,
    now: &str,
) -> Result<Option<Transition>, ApiError> {
    let rows = db.execute(
        r#"SELECT "lastStatus", "consecutiveFailures" FROM "AdapterConfig" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let Some(row) = rows.rows.first() else {
        return Ok(None);
    };
    let previous = row
        .first()
        .and_then(DbValue::as_str)
        .and_then(HealthStatus::parse)
        .unwrap_or(HealthStatus::Online);
    let failures = row.get(1).and_then(DbValue::as_i64).unwrap_or(0);
    let t = next(previous, failures, ok);
    let error: Option<String> = error.map(|e| e.chars().take(1000).collect());
    db.execute(
        r#"INSERT INTO "HealthCheckLog" ("id", "adapterConfigId", "status", "latencyMs", "error", "createdAt")
           VALUES (?, ?, ?, ?, ?, ?)"#,
        &[
            new_id()?.into(),
            id.into(),
            t.status.as_str().into(),
            i64::try_from(latency_ms).unwrap_or(i64::MAX).into(),
            error.into(),
            now.into(),
        ],
    )?;
    db.execute(
        r#"UPDATE "AdapterConfig" SET "lastHealthCheck" = ?, "lastStatus" = ?, "consecutiveFailures" = ?
           WHERE "id" = ?"#,
        &[
            now.into(),
            t.status.as_str().into(),
            t.consecutive_failures.into(),
            id.into(),
        ],
    )?;
    Ok(Some(t))
}

/// Deletes HealthCheckLog rows created before `cutoff` (ISO timestamp).
pub fn prune(db: &dyn Db, cutoff: &str) -> Result<(), ApiError> {
    db.execute(
        r#"DELETE FROM "HealthCheckLog" WHERE "createdAt" < ?"#,
        &[cutoff.into()],
    )?;
    Ok(())
}

/// `SystemSetting` key: JSON array of the notification channel ids that get system events
/// (an adapter going OFFLINE or coming back ONLINE).
pub const SYSTEM_CHANNELS_SETTING: &str = settings::SYSTEM_NOTIFICATION_CHANNELS;
/// `SystemSetting` key: seconds between reminders while an adapter stays OFFLINE.
pub const REMINDER_SETTING: &str = settings::HEALTH_REMINDER_INTERVAL;
/// Default reminder interval.
pub const DEFAULT_REMINDER_SECS: i64 = settings::DEFAULT_HEALTH_REMINDER_INTERVAL;

/// The channels configured for system events (absent or malformed setting: none).
pub fn system_channels(db: &dyn Db) -> Result<Vec<String>, ApiError> {
    Ok(settings::system_notification_channels(db)?)
}

/// Seconds between OFFLINE reminders.
pub fn reminder_secs(db: &dyn Db) -> Result<i64, ApiError> {
    Ok(settings::integer(db, REMINDER_SETTING)?)
}

/// Whether a transition is worth a notification: going OFFLINE, coming back, or still OFFLINE
/// and the last notice (unix seconds, from the adapter's metadata) older than `reminder_secs`.
pub fn should_notify(
    t: &Transition,
    last_notice: Option<i64>,
    now: i64,
    reminder_secs: i64,
) -> bool {
    t.went_offline
        || t.came_back
        || (t.status == HealthStatus::Offline
            && last_notice.is_none_or(|at| now - at >= reminder_secs))
}

/// The notification for a transition of adapter `name` (`error`: the failed check's message).
pub fn transition_notification(name: &str, t: &Transition, error: Option<&str>) -> Notification {
    let (title, status) = if t.status == HealthStatus::Online {
        (format!("{name} is back online"), Status::Success)
    } else if t.went_offline {
        (format!("{name} is offline"), Status::Failure)
    } else {
        (format!("{name} is still offline"), Status::Warning)
    };
    Notification {
        title,
        status,
        job: None,
        source: Some(name.to_owned()),
        destinations: Vec::new(),
        size: None,
        duration_ms: None,
        error: error.map(str::to_owned),
        fields: vec![NotificationField {
            name: "Failed checks".into(),
            value: t.consecutive_failures.to_string(),
        }],
    }
}

/// The check history of adapter `id` between `from` and `to` (ISO-8601 prefixes compared as
/// text; oldest first, at most 5000 rows) and its current state; 404 if absent.
pub fn history(db: &dyn Db, id: &str, from: &str, to: &str) -> Result<HealthHistory, ApiError> {
    let rows = db.execute(
        r#"SELECT "status", "latencyMs", "error", "createdAt" FROM "HealthCheckLog"
           WHERE "adapterConfigId" = ? AND "createdAt" >= ? AND "createdAt" <= ?
           ORDER BY "createdAt" LIMIT 5000"#,
        &[id.into(), from.into(), to.into()],
    )?;
    let entries = rows
        .rows
        .iter()
        .map(|r| {
            let text = |i: usize| r.get(i).and_then(DbValue::as_str).map(str::to_owned);
            HealthEntry {
                status: text(0),
                latency_ms: r.get(1).and_then(DbValue::as_i64),
                error: text(2),
                created_at: text(3),
            }
        })
        .collect();
    let state = db.execute(
        r#"SELECT "lastStatus", "lastHealthCheck", "consecutiveFailures" FROM "AdapterConfig"
           WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let s = state.rows.first().ok_or_else(adapter_not_found)?;
    Ok(HealthHistory {
        adapter_id: id.to_owned(),
        status: s.first().and_then(DbValue::as_str).map(str::to_owned),
        last_health_check: s.get(1).and_then(DbValue::as_str).map(str::to_owned),
        consecutive_failures: s.get(2).and_then(DbValue::as_i64),
        entries,
    })
}

/// Probes in flight at once during a round.
pub const CONCURRENCY: usize = 4;

/// One check's outcome.
struct Outcome {
    id: String,
    ok: bool,
    latency_ms: u64,
    error: Option<String>,
}

async fn check(
    db: &dyn Db,
    sealer: &SecretBox,
    worker: &impl Worker,
    deliver: &impl Deliver,
    id: String,
) -> Outcome {
    match store::load(db, sealer, &id) {
        Err(e) => Outcome {
            id,
            ok: false,
            latency_ms: 0,
            error: Some(e.message),
        },
        Ok(adapter) => {
            let r = probe::test(worker, deliver, &adapter).await;
            Outcome {
                id,
                ok: r.ok,
                latency_ms: r.latency_ms,
                error: (!r.ok).then_some(r.message),
            }
        }
    }
}

/// Runs a check round if one is due (`now`: unix seconds): every database and storage adapter
/// tested ([`CONCURRENCY`] at a time), each result recorded with its status transition, the
/// system-event channels notified of an adapter going OFFLINE, coming back, or staying
/// OFFLINE past the reminder interval, and log rows older than [`RETENTION_SECS`] deleted.
/// Returns the transitions that happened.
pub async fn run_round(
    db: &dyn Db,
    sealer: &SecretBox,
    worker: &impl Worker,
    deliver: &impl Deliver,
    now: i64,
) -> Result<Vec<(String, Transition)>, ApiError> {
    if !claim_round(db, now)? {
        return Ok(Vec::new());
    }
    let checks = targets(db)?
        .into_iter()
        .map(|id| check(db, sealer, worker, deliver, id));
    let outcomes: Vec<Outcome> = futures::stream::iter(checks)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let now_iso = Timestamp::from_secs(now).iso();
    let mut transitions = Vec::new();
    let mut notices = Vec::new();
    for o in outcomes {
        match record(db, &o.id, o.ok, o.latency_ms, o.error.as_deref(), &now_iso) {
            Ok(Some(t)) => {
                if t.went_offline || t.came_back {
                    eprintln!(
                        "dbackup runner: adapter {} is {}{}",
                        o.id,
                        t.status.as_str(),
                        o.error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    );
                }
                notices.push((o.id.clone(), t, o.error.clone()));
                transitions.push((o.id, t));
            }
            Ok(None) => {}
            Err(e) => eprintln!("dbackup runner: recording the health of {}: {e}", o.id),
        }
    }
    if let Err(e) = notify(db, sealer, deliver, &notices, now).await {
        eprintln!("dbackup runner: health notifications: {e}");
    }
    let cutoff = Timestamp::from_secs(now - RETENTION_SECS).iso();
    prune(db, &cutoff)?;
    Ok(transitions)
}

/// Sends the system-event notification of each transition that warrants one to the channels
/// of the `systemNotificationChannels` setting; the time of the notice goes into the adapter's
/// metadata (`lastHealthNotice`, unix seconds) for the reminder cooldown.
async fn notify(
    db: &dyn Db,
    sealer: &SecretBox,
    deliver: &impl Deliver,
    notices: &[(String, Transition, Option<String>)],
    now: i64,
) -> Result<(), ApiError> {
    let channels = system_channels(db)?;
    if channels.is_empty() {
        return Ok(());
    }
    let reminder = reminder_secs(db)?;
    for (id, t, error) in notices {
        let Ok(adapter) = store::load(db, sealer, id) else {
            continue;
        };
        let last = adapter
            .metadata
            .get("lastHealthNotice")
            .and_then(Value::as_i64);
        if !should_notify(t, last, now, reminder) {
            continue;
        }
        let msg = transition_notification(&adapter.name, t, error.as_deref());
        for channel_id in &channels {
            let sent = send_to_channel(db, sealer, deliver, channel_id, &msg).await;
            if let Err(e) = sent {
                eprintln!("dbackup runner: health notification to {channel_id}: {e}");
            }
        }
        let mut patch = Map::new();
        patch.insert("lastHealthNotice".into(), json!(now));
        store::merge_metadata(db, id, &patch)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthStatus::*;

    #[test]
    fn a_round_tests_records_notifies_once_offline_and_shows_the_history() {
        use crate::probe::tests::Outbox;
        use dbackup_core::native_sqlite::TestDb;
        use dbackup_core::worker::fake::{block_on, FakeWorker};

        let db = TestDb::migrated();
        let sealer = SecretBox::from_hex_key(&"33".repeat(32)).unwrap();
        let insert = |id: &str, adapter_id: &str, config: Value| {
            let t = crate::registry::find(adapter_id).unwrap();
            let config = crate::validate::validate(t, &config).unwrap();
            store::insert(&db, &sealer, id, id, t, &config).unwrap();
        };
        insert(
            "pg",
            "postgres",
            json!({"host": "db", "port": 5432, "user": "u", "password": "p"}),
        );
        insert("disk", "local", json!({"path": "/srv/b"}));
        insert(
            "hook",
            "webhook",
            json!({"url": "https://hooks.example.com/x"}),
        );
        db.exec(
            r#"INSERT INTO "SystemSetting" ("key", "value") VALUES ('systemNotificationChannels', '["hook"]')"#,
        );
        let w = FakeWorker::new();
        w.answer(
            "/v1/probe",
            400,
            json!({"error": "connection failed", "details": "Connection refused"}),
        );
        w.answer(
            "/v1/storage/probe",
            200,
            json!({"ok": true, "latencyMs": 3}),
        );
        let outbox = Outbox::default();
        let start = 1_800_000_000;
        for round in 0..3 {
            block_on(run_round(&db, &sealer, &w, &outbox, start + round * 3600)).unwrap();
        }
        // Claimed already: a second round in the same interval does nothing.
        assert!(block_on(run_round(&db, &sealer, &w, &outbox, start + 7201))
            .unwrap()
            .is_empty());
        assert_eq!(w.requests_to("/v1/probe").len(), 3);
        assert_eq!(
            outbox.sent.borrow().len(),
            1,
            "one notice when it went OFFLINE"
        );
        let h = history(&db, "pg", "", "9999").unwrap();
        assert_eq!(h.status.as_deref(), Some("OFFLINE"));
        assert_eq!(h.consecutive_failures, Some(3));
        assert_eq!(h.entries.len(), 3);
        assert_eq!(
            h.entries[0].error.as_deref(),
            Some("connection failed: Connection refused")
        );
        let disk = history(&db, "disk", "", "9999").unwrap();
        assert_eq!(disk.status.as_deref(), Some("ONLINE"));
        assert_eq!(disk.entries[0].latency_ms, Some(3));
        assert!(history(&db, "hook", "", "9999").unwrap().entries.is_empty());
        assert_eq!(history(&db, "nope", "", "9999").unwrap_err().status, 404);
    }

    #[test]
    fn online_degraded_offline_online() {
        let mut state = (Online, 0);
        let mut seen = Vec::new();
        for ok in [true, false, false, false, false, true] {
            let t = next(state.0, state.1, ok);
            seen.push((
                t.status,
                t.consecutive_failures,
                t.went_offline,
                t.came_back,
            ));
            state = (t.status, t.consecutive_failures);
        }
        assert_eq!(
            seen,
            vec![
                (Online, 0, false, false),
                (Degraded, 1, false, false),
                (Degraded, 2, false, false),
                (Offline, 3, true, false),
                (Offline, 4, false, false),
                (Online, 0, false, true),
            ]
        );
        assert_eq!(HealthStatus::parse("OFFLINE"), Some(Offline));
        let offline = next(Degraded, 2, false);
        assert!(should_notify(&offline, Some(0), 10, 3600));
        let still = next(Offline, 3, false);
        assert!(!should_notify(&still, Some(100), 200, 3600));
        assert!(should_notify(&still, Some(100), 3700, 3600));
        assert!(!should_notify(&next(Degraded, 1, false), None, 0, 3600));
        let back = next(Offline, 5, true);
        assert_eq!(
            transition_notification("db", &back, None).title,
            "db is back online"
        );
        assert_eq!(
            transition_notification("db", &offline, Some("refused"))
                .error
                .as_deref(),
            Some("refused")
        );
        assert_eq!(Degraded.as_str(), "DEGRADED");
    }
}
