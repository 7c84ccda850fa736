//! The scheduled config self-backup: each tick claims the due occurrence of the `configBackup`
//! system job with a compare-and-set (of several hosts sharing one database exactly one runs
//! it) and runs it ([`run::run_scheduled`]: records `configBackup.lastRun`, sends a failure to
//! the `systemNotificationChannels`).

use chrono::{DateTime, Utc};
use dbackup_config_core::{run, setting};
use dbackup_core::ApiError;
use dbackup_web::notify::SpinNotifier;
use dbackup_web::worker::SpinWorker;
use dbackup_web::SpinDb;

/// Runs the config backup when an occurrence is due and this tick won it.
pub async fn tick(db: &SpinDb, now: DateTime<Utc>) -> Result<(), ApiError> {
    let Some(occurrence) = setting::claim_due(db, now)? else {
        return Ok(());
    };
    let sealer = dbackup_web::secret_box()?;
    run::run_scheduled(db, &sealer, &occurrence, now, &SpinWorker, &SpinNotifier).await;
    Ok(())
}
