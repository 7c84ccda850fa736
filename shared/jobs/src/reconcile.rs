//! Keeping Running executions honest when the worker's events stop: the watchdog fails those
//! silent past the stall timeout (and cancels their tasks), and reconciliation asks the worker
//! about those quiet for [`QUIET_SECS`] — a task it no longer knows is Failed, a finished task
//! whose result event was lost is applied as its result.

use chrono::{DateTime, Duration, Utc};
use dbackup_core::db::Db;
use dbackup_core::worker::{On, Target, Worker};
use dbackup_core::ApiError;
use dbackup_identity::settings;
use dbackup_protocol::tasks::{Status, TaskInfo};
use serde_json::json;

use crate::execution::{self, ExecutionStatus};
use crate::{events, iso, pool};

/// A Running execution quiet for this long is checked with the worker.
pub const QUIET_SECS: i64 = 30;

/// Cancels a worker task, best effort.
pub async fn cancel_task(worker: &impl Worker, task: &str) {
    let path = format!("/v1/tasks/{task}/cancel");
    if let Err(e) = worker.post_json(&path, &json!({})).await {
        eprintln!("dbackup runner: cancel {task}: {e}");
    }
}

/// Fails every Running execution silent for `stallTimeoutMinutes` and cancels its task (on the
/// worker that runs it).
pub async fn watchdog(
    db: &dyn Db,
    worker: &impl Worker,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let minutes = settings::integer(db, settings::STALL_TIMEOUT_MINUTES)?;
    let before = iso(now - Duration::minutes(minutes));
    for (id, task) in execution::fail_stalled(db, &before, minutes, &iso(now))? {
        eprintln!("dbackup runner: execution {id} stalled: failed");
        if let Some(t) = task {
            let on = On::new(worker, pool::assigned(db, &id, now)?.target);
            cancel_task(&on, &t).await;
        }
    }
    Ok(())
}

/// Running executions that have been quiet: asks the worker. A task it does not know (it was
/// restarted or crashed) fails the execution; a task it reports finished (its result event
/// was lost) is applied as the result; a running one counts as a sign of life. Each is asked on
/// the worker that runs it. An unreachable configured worker changes nothing (the watchdog
/// decides after the stall timeout); an unreachable registered worker takes no new work, and
/// once its heartbeats have stopped too it has died: its executions fail.
pub async fn reconcile(
    db: &dyn Db,
    worker: &impl Worker,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let before = iso(now - Duration::seconds(QUIET_SECS));
    for (id, task) in execution::quiet_running(db, &before)? {
        let Some(task) = task else {
            execution::finish(
                db,
                &id,
                ExecutionStatus::Failed,
                "the dispatch to the worker did not complete",
                &iso(now),
            )?;
            continue;
        };
        let assigned = pool::assigned(db, &id, now)?;
        let on = On::new(worker, assigned.target.clone());
        let (status, body) = match on.get_json(&format!("/v1/tasks/{task}")).await {
            Ok(answer) => answer,
            Err(e) => {
                if matches!(assigned.target, Target::At(_)) && e.status == 503 {
                    pool::mark_unreachable(db, &assigned.worker_id, now)?;
                    if !assigned.heard_recently {
                        execution::finish(
                            db,
                            &id,
                            ExecutionStatus::Failed,
                            &format!(
                                "worker {} stopped answering and registering (it died or lost its network)",
                                assigned.name
                            ),
                            &iso(now),
                        )?;
                    }
                }
                continue;
            }
        };
        if status == 404 {
            execution::finish(
                db,
                &id,
                ExecutionStatus::Failed,
                "the worker no longer knows this task (it was restarted or crashed)",
                &iso(now),
            )?;
            continue;
        }
        if status != 200 {
            continue;
        }
        let info = match serde_json::from_value::<TaskInfo>(body) {
            Ok(info) => info,
            Err(e) => {
                eprintln!("dbackup runner: task {task} of execution {id}: invalid answer: {e}");
                continue;
            }
        };
        if info.status == Status::Running {
            execution::touch(db, &id, &iso(now))?;
        } else {
            events::apply_task_result(db, &id, &info, &iso(now))?;
        }
    }
    Ok(())
}
