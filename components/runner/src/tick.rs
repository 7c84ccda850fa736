//! The jobs part of a tick. Every step is bounded and independent: a failure is logged and the
//! next step still runs, so one broken job or an unreachable worker never blocks the queue.

use chrono::{Duration, Utc};
use dbackup_core::{sealed, ApiError};
use dbackup_identity::secretbox::SecretBox;
use dbackup_identity::settings;
use dbackup_jobs_core::execution;
use dbackup_jobs_core::iso;
use dbackup_web::{worker, SpinDb};
use serde_json::{json, Value};
use spin_sdk::variables;

use crate::{dispatch, finalize};

/// A Running execution quiet for this long is checked with the worker.
const QUIET_SECS: i64 = 30;

pub fn sealer() -> Result<SecretBox, ApiError> {
    let key = variables::get("encryption_key")
        .map_err(|e| ApiError::internal(format!("variable encryption_key: {e:?}")))?;
    SecretBox::from_hex_key(&key).map_err(|e| ApiError::internal(e.to_string()))
}

/// The app's own base URL for worker callbacks (Spin variable `app_url`).
pub fn app_url() -> String {
    variables::get("app_url").unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned())
}

fn log_err(step: &str, r: Result<(), ApiError>) {
    if let Err(e) = r {
        eprintln!("dbackup runner: {step}: {e}");
    }
}

/// One tick: schedule, watchdog, reconcile, dispatch, post-process, the config backup.
pub async fn run(db: &SpinDb) -> Result<(), ApiError> {
    let now = Utc::now();
    log_err("schedule", schedule(db, now));
    log_err("watchdog", watchdog(db, now).await);
    log_err("reconcile", reconcile(db, now).await);
    log_err("dispatch", dispatch_queued(db).await);
    log_err("finalize", finalize::run(db).await);
    log_err("config backup", crate::config_backup::tick(db, now).await);
    Ok(())
}

fn schedule(db: &SpinDb, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    for p in execution::schedule_due(db, now, dbackup_jobs_core::new_id)? {
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

/// Cancels a worker task, best effort.
pub async fn cancel_task(task: &str) {
    let path = format!("/v1/tasks/{task}/cancel");
    if let Err(e) = worker::post_json(&path, &json!({})).await {
        eprintln!("dbackup runner: cancel {task}: {e}");
    }
}

async fn watchdog(db: &SpinDb, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    let minutes = settings::integer(db, settings::STALL_TIMEOUT_MINUTES)?;
    let before = iso(now - Duration::minutes(minutes));
    for (id, task) in execution::fail_stalled(db, &before, minutes, &iso(now))? {
        eprintln!("dbackup runner: execution {id} stalled: failed");
        if let Some(t) = task {
            cancel_task(&t).await;
        }
    }
    Ok(())
}

/// Running executions that have been quiet: asks the worker. A task it does not know (it was
/// restarted or crashed) fails the execution; a task it reports finished (its result event
/// was lost) is applied as the result.
async fn reconcile(db: &SpinDb, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    let before = iso(now - Duration::seconds(QUIET_SECS));
    for (id, task) in execution::quiet_running(db, &before)? {
        let Some(task) = task else {
            execution::finish(
                db,
                &id,
                "Failed",
                "the dispatch to the worker did not complete",
                &iso(now),
            )?;
            continue;
        };
        let (status, body) = match worker::get_json(&format!("/v1/tasks/{task}")).await {
            Ok(r) => r,
            // Unreachable: the watchdog decides after the stall timeout.
            Err(_) => continue,
        };
        if status == 404 {
            execution::finish(
                db,
                &id,
                "Failed",
                "the worker no longer knows this task (it was restarted or crashed)",
                &iso(now),
            )?;
            continue;
        }
        let task_status = body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("running");
        if status == 200 && task_status != "running" {
            execution::apply_task_result(db, &id, &task, &body, &iso(now))?;
        } else if status == 200 {
            execution::touch(db, &id, &iso(now))?;
        }
    }
    Ok(())
}

async fn dispatch_queued(db: &SpinDb) -> Result<(), ApiError> {
    let max = settings::integer(db, settings::MAX_CONCURRENT_JOBS)?;
    let sealer = sealer()?;
    for _ in 0..max {
        let key_hex = dbackup_jobs_core::random_key_hex()?;
        let sealed = sealer
            .encrypt(key_hex.as_bytes(), &sealed::execution_callback_key())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let now = iso(Utc::now());
        let Some(claimed) = execution::claim_next(db, max, &sealed, &now)? else {
            break;
        };
        if let Err(e) = dispatch::start(db, &sealer, &claimed, &key_hex).await {
            let message = match &e.details {
                Some(d) => format!("{}: {d}", e.message),
                None => e.message.clone(),
            };
            eprintln!(
                "dbackup runner: execution {} failed to start: {e}",
                claimed.id
            );
            execution::finish(db, &claimed.id, "Failed", &message, &iso(Utc::now()))?;
        }
    }
    Ok(())
}
