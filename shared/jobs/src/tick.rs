//! The jobs part of a runner tick: schedule due jobs, the watchdog, reconciliation, dispatch
//! of queued executions, post-processing of finished ones. Every step is bounded and
//! independent: a failure is logged and the next step still runs, so one broken job or an
//! unreachable worker never blocks the queue.

use chrono::{DateTime, Utc};
use dbackup_adapters_core::notify::Deliver;
use dbackup_core::db::Db;
use dbackup_core::worker::Worker;
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;

use crate::{dispatcher, post_process, queue, reconcile};

/// What a tick works with besides the database: the worker, notification delivery, the
/// server's sealing key (when it cannot be read, dispatch and post-processing fail and the
/// other steps still run) and the app's own base URL (for the worker's callbacks).
pub struct TickContext<'a, W, N> {
    pub worker: &'a W,
    pub notifier: &'a N,
    pub sealer: Result<&'a SecretBox, &'a ApiError>,
    pub app_url: &'a str,
}

fn log_err(step: &str, r: Result<(), ApiError>) {
    if let Err(e) = r {
        eprintln!("dbackup runner: {step}: {e}");
    }
}

/// One tick's jobs part at `now`: schedule, watchdog, reconcile, dispatch, post-process.
pub async fn run<W: Worker, N: Deliver>(
    db: &dyn Db,
    cx: &TickContext<'_, W, N>,
    now: DateTime<Utc>,
) {
    log_err("schedule", schedule(db, now));
    log_err("watchdog", reconcile::watchdog(db, cx.worker, now).await);
    log_err("reconcile", reconcile::reconcile(db, cx.worker, now).await);
    let dispatched = match cx.sealer {
        Ok(sealer) => dispatcher::dispatch_queued(db, cx.worker, sealer, cx.app_url).await,
        Err(e) => Err(e.clone()),
    };
    log_err("dispatch", dispatched);
    let post_processed = match cx.sealer {
        Ok(sealer) => post_process::run(db, cx.worker, cx.notifier, sealer).await,
        Err(e) => Err(e.clone()),
    };
    log_err("finalize", post_processed);
}

/// Queues the due occurrences of every enabled job (and logs what it decided).
pub fn schedule(db: &dyn Db, now: DateTime<Utc>) -> Result<(), ApiError> {
    for p in queue::schedule_due(db, now, crate::new_id)? {
        if p.run {
            eprintln!(
                "dbackup runner: job {} due at {}: queued",
                p.job_id, p.occurrence
            );
        } else {
            eprintln!(
                "dbackup runner: job {} missed {} (too old, not replayed)",
                p.job_id, p.occurrence
            );
        }
    }
    Ok(())
}

/// Records that the scheduler ran (`runner.lastTickAt`, read by the integration tests).
pub fn record_heartbeat(db: &dyn Db, now: &str) -> Result<(), ApiError> {
    db.execute(
        "INSERT INTO SystemSetting (key, value, description, updatedAt) VALUES ('runner.lastTickAt', ?, 'When the scheduler last ran', ?) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updatedAt = excluded.updatedAt",
        &[now.into(), now.into()],
    )?;
    Ok(())
}

/// How recent the runner's heartbeat must be for a request to dispatch at once
/// ([`crate::dispatcher::dispatch_now`]): a few of its 10 s ticks, with room for a slow one.
pub const RUNNER_ALIVE_SECS: i64 = 120;

/// Whether the runner ticked within [`RUNNER_ALIVE_SECS`] of `now`. A request starts work at
/// once only beside a live runner: without one nothing would watch, reconcile or post-process
/// it (and an app run without its runner keeps everything queued, as it always did).
pub fn runner_alive(db: &dyn Db, now: DateTime<Utc>) -> Result<bool, ApiError> {
    let rows = crate::sql::query(
        db,
        "SELECT value FROM SystemSetting WHERE key = 'runner.lastTickAt'",
        &[],
    )?;
    Ok(rows
        .first()
        .and_then(|r| r.text("value"))
        .and_then(|t| crate::parse_iso(&t))
        .is_some_and(|at| (now - at).num_seconds() < RUNNER_ALIVE_SECS))
}

#[cfg(test)]
mod tests;
