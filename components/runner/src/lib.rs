//! The scheduler, run by the cron trigger (every 10 s). Each tick first applies pending
//! migrations (under SQLite's write lock, so concurrent ticks on several machines apply each
//! migration once), then records its heartbeat, runs identity's hourly housekeeping, and then
//! the jobs part ([`tick`]): schedule due jobs, watchdog and reconciliation, dispatch queued
//! executions to the worker, and post-process finished ones (retention, notifications).

mod config_backup;
mod dispatch;
mod finalize;
mod health;
mod tick;

use dbackup_core::db::Db;
use dbackup_core::migrations;
use dbackup_identity::{maintenance, Timestamp};
use dbackup_web::SpinDb;

wit_bindgen::generate!({
    path: "../../wit/spin-cron",
    world: "spin-cron",
});

struct Runner;

impl Guest for Runner {
    fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        let db = SpinDb::open().map_err(|e| Error::Other(e.to_string()))?;
        let now = dbackup_core::time::iso8601(metadata.timestamp);
        let applied =
            migrations::apply_pending(&db, &now).map_err(|e| Error::Other(e.to_string()))?;
        if !applied.is_empty() {
            eprintln!("dbackup runner: applied migrations {applied:?}");
        }
        db.execute(
            "INSERT INTO SystemSetting (key, value, description, updatedAt) VALUES ('runner.lastTickAt', ?, 'When the scheduler last ran', ?) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updatedAt = excluded.updatedAt",
            &[now.clone().into(), now.into()],
        )
        .map_err(|e| Error::Other(e.to_string()))?;
        let tick = Timestamp::from_secs(i64::try_from(metadata.timestamp).unwrap_or(i64::MAX));
        maintenance::run_if_due(&db, tick)
            .map_err(|e| Error::Other(format!("maintenance: {e}")))?;
        let jobs =
            spin_sdk::http::run(tick::run(&db)).map_err(|e| Error::Other(format!("jobs: {e}")));
        // Adapter health checks after the jobs part, so a slow probe never delays a backup.
        let secs = i64::try_from(metadata.timestamp).unwrap_or(i64::MAX);
        if let Err(e) = spin_sdk::http::run(health::run(&db, secs)) {
            eprintln!("dbackup runner: health checks: {e}");
        }
        jobs
    }
}

export!(Runner);
