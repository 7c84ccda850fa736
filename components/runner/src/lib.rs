//! The scheduler, run by the cron trigger (every 10 s). Each tick first applies pending
//! migrations (under SQLite's write lock, so concurrent ticks on several machines apply each
//! migration once), then records its heartbeat, runs identity's hourly housekeeping, the jobs
//! part (`dbackup_jobs_core::tick`: schedule, watchdog, reconcile, dispatch, post-process), the
//! config self-backup, and the adapter health checks.

mod config_backup;
mod health;

use dbackup_core::migrations;
use dbackup_identity::{maintenance, Timestamp};
use dbackup_jobs_core::tick::{self, TickContext};
use dbackup_web::notify::SpinNotifier;
use dbackup_web::worker::SpinWorker;
use dbackup_web::SpinDb;

wit_bindgen::generate!({
    path: "../../wit/spin-cron",
    world: "spin-cron",
});

struct Runner;

impl Guest for Runner {
    fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        let db = SpinDb::open().map_err(|e| Error::Other(e.to_string()))?;
        let secs = i64::try_from(metadata.timestamp).unwrap_or(i64::MAX);
        let now = Timestamp::from_secs(secs).iso();
        let applied =
            migrations::apply_pending(&db, &now).map_err(|e| Error::Other(e.to_string()))?;
        if !applied.is_empty() {
            eprintln!("dbackup runner: applied migrations {applied:?}");
        }
        tick::record_heartbeat(&db, &now).map_err(|e| Error::Other(e.to_string()))?;
        maintenance::run_if_due(&db, Timestamp::from_secs(secs))
            .map_err(|e| Error::Other(format!("maintenance: {e}")))?;
        let sealer = dbackup_web::secret_box();
        let app_url = dbackup_web::app_url();
        let cx = TickContext {
            worker: &SpinWorker,
            notifier: &SpinNotifier,
            sealer: sealer.as_ref(),
            app_url: &app_url,
        };
        spin_sdk::http::run(async {
            let now = chrono::Utc::now();
            tick::run(&db, &cx, now).await;
            if let Err(e) = config_backup::tick(&db, now).await {
                eprintln!("dbackup runner: config backup: {e}");
            }
        });
        // Adapter health checks after the jobs part, so a slow probe never delays a backup.
        if let Err(e) = spin_sdk::http::run(health::run(&db, secs)) {
            eprintln!("dbackup runner: health checks: {e}");
        }
        Ok(())
    }
}

export!(Runner);
