//! The scheduled config self-backup: each tick claims the due occurrence of the `configBackup`
//! system job with a compare-and-set (of several hosts sharing one database exactly one runs
//! it), runs it through `dbackup_config_core::run` (which records `configBackup.lastRun`), and
//! sends a failure to the `systemNotificationChannels`.

use chrono::{DateTime, Utc};
use dbackup_adapters_core::notify::Deliver;
use dbackup_adapters_core::{render_notification, store, Notification, Status};
use dbackup_config_core::{run, setting};
use dbackup_core::ApiError;
use dbackup_identity::settings;
use dbackup_web::notify::SpinNotifier;
use dbackup_web::worker::SpinWorker;
use dbackup_web::SpinDb;
use serde_json::Value;

/// Runs the config backup when an occurrence is due and this tick won it.
pub async fn tick(db: &SpinDb, now: DateTime<Utc>) -> Result<(), ApiError> {
    let Some(occurrence) = setting::claim_due(db, now)? else {
        return Ok(());
    };
    let sealer = dbackup_web::secret_box()?;
    match run::run_and_record(db, &sealer, now, &SpinWorker).await {
        Ok(r) => {
            eprintln!(
                "dbackup runner: config backup of {occurrence}: {} ({} bytes)",
                r.object_name, r.size
            );
            Ok(())
        }
        Err(e) => {
            let error = match &e.details {
                Some(Value::String(d)) => format!("{}: {d}", e.message),
                _ => e.message.clone(),
            };
            eprintln!("dbackup runner: config backup of {occurrence} failed: {error}");
            notify_failure(db, &sealer, &error).await;
            Ok(())
        }
    }
}

/// Best effort: one message per system notification channel.
async fn notify_failure(db: &SpinDb, sealer: &dbackup_identity::secretbox::SecretBox, error: &str) {
    let Ok(channels) = settings::system_notification_channels(db) else {
        return;
    };
    let msg = Notification {
        title: "Config backup failed".into(),
        status: Status::Failure,
        job: Some("config backup".into()),
        source: None,
        destinations: Vec::new(),
        size: None,
        duration_ms: None,
        error: Some(error.to_owned()),
        fields: Vec::new(),
    };
    for id in channels {
        let sent = match store::load(db, sealer, &id) {
            Ok(channel) => match render_notification(&channel, &msg) {
                Ok(out) => SpinNotifier.deliver(out).await,
                Err(e) => Err(e.message),
            },
            Err(e) => Err(e.message),
        };
        if let Err(e) = sent {
            eprintln!("dbackup runner: config backup notification to {id}: {e}");
        }
    }
}
