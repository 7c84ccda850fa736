//! After an execution finishes (post-processing): retention on every destination that received
//! the backup, then notifications per the job's `notificationEvents`. Nothing here changes the
//! execution's status: every failure becomes a warning in its logs. At least once: every step
//! is recorded on the execution when done (`postProcess`), the whole when complete
//! (`postProcessedAt`).

use chrono::Utc;
use dbackup_adapters_core::notify::Deliver;
use dbackup_adapters_core::{
    render_notification, store, worker_storage, Notification, NotificationField, Status,
};
use dbackup_core::db::Db;
use dbackup_core::worker::Worker;
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use dbackup_protocol::sidecar::sidecar_name;
use dbackup_protocol::{META_SUFFIX, PARTIAL_SUFFIX};
use serde_json::{json, Value};

use crate::dispatcher::read_sidecar;
use crate::execution::{self, log_entry, ExecutionKind, ExecutionStatus, Finished, Step};
use crate::job::{self, StoredJob};
use crate::retention::{self, Backup, RetentionPolicy};
use crate::schedule::{self, Tz};
use crate::{describe, iso, parse_iso};

/// Post-processes up to five finished executions. Each step (retention on one destination, one
/// notification) is recorded when done, with its logs, so a runner that crashes midway leaves
/// the rest to the next tick (after the claim's lease) and nothing done is done again.
pub async fn run(
    db: &dyn Db,
    worker: &impl Worker,
    notifier: &impl Deliver,
    sealer: &SecretBox,
) -> Result<(), ApiError> {
    for _ in 0..5 {
        let Some(f) = execution::claim_finished(db, Utc::now())? else {
            break;
        };
        let job = match &f.job_id {
            Some(id) => job::get(db, id)?,
            None => None,
        };
        let Some(job) = job else {
            execution::mark_post_processed(db, &f.id, &[], &iso(Utc::now()))?;
            continue;
        };
        if f.kind == ExecutionKind::Backup
            && matches!(
                f.status,
                ExecutionStatus::Success | ExecutionStatus::Partial
            )
        {
            retention_all(db, worker, sealer, &f, &job).await?;
        }
        notify(db, notifier, sealer, &f, &job).await?;
        execution::mark_post_processed(db, &f.id, &[], &iso(Utc::now()))?;
    }
    Ok(())
}

fn warn(logs: &mut Vec<Value>, stage: &str, message: String) {
    logs.push(log_entry(&iso(Utc::now()), "warning", stage, &message));
}

async fn retention_all(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    f: &Finished,
    job: &StoredJob,
) -> Result<(), ApiError> {
    let ok_destinations: Vec<String> = f
        .metadata
        .get("result")
        .and_then(|r| r.get("destinations"))
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter(|d| d["ok"] == true)
                .filter_map(|d| d["id"].as_str().map(str::to_owned))
                .collect()
        })
        // A result without per-destination detail: every destination succeeded.
        .unwrap_or_else(|| job.destinations.iter().map(|(id, _)| id.clone()).collect());
    let tz = schedule::parse_timezone(&job.timezone).unwrap_or(Tz::UTC);
    for (dest, policy) in &job.destinations {
        if *policy == RetentionPolicy::None
            || !ok_destinations.contains(dest)
            || f.done.retention.contains(dest)
        {
            continue;
        }
        let mut logs = Vec::new();
        match retention_one(db, worker, sealer, f, job, dest, policy, tz).await {
            Ok(mut entries) => logs.append(&mut entries),
            Err(e) => warn(
                &mut logs,
                "Retention",
                format!("retention on destination {dest} skipped: {}", describe(&e)),
            ),
        }
        execution::mark_step(db, &f.id, Step::Retention(dest), &logs, &iso(Utc::now()))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn retention_one(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    f: &Finished,
    job: &StoredJob,
    dest: &str,
    policy: &RetentionPolicy,
    tz: Tz,
) -> Result<Vec<Value>, ApiError> {
    let storage = worker_storage(&store::load(db, sealer, dest)?)?;
    let (status, listing) = worker
        .post_json(
            "/v1/storage/list",
            &json!({"storage": storage, "prefix": format!("{}/", job.name)}),
        )
        .await?;
    if status != 200 {
        return Err(ApiError::new(
            502,
            format!("listing failed ({status}): {listing}"),
        ));
    }
    let mut backups = Vec::new();
    let mut logs = Vec::new();
    for o in listing["objects"].as_array().into_iter().flatten() {
        let Some(name) = o["name"].as_str() else {
            continue;
        };
        if name.ends_with(META_SUFFIX) || name.ends_with(PARTIAL_SUFFIX) {
            continue;
        }
        let sidecar = read_sidecar(worker, &storage, name).await;
        // Only objects with a sidecar of this job take part: its recorded creation time
        // decides, never the storage's modification time.
        let created = sidecar
            .get("createdAt")
            .and_then(Value::as_str)
            .and_then(parse_iso);
        let Some(created_at) = created else {
            warn(
                &mut logs,
                "Retention",
                format!("{dest}: {name} has no readable sidecar: kept"),
            );
            continue;
        };
        backups.push(Backup {
            name: name.to_owned(),
            created_at,
            locked: sidecar
                .get("locked")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    let decisions = retention::apply(policy, &backups, tz, f.path.as_deref());
    let mut deleted = 0;
    for d in decisions.iter().filter(|d| !d.keep) {
        let mut failed = None;
        for name in [d.name.clone(), sidecar_name(&d.name)] {
            match worker
                .post_json(
                    "/v1/storage/delete",
                    &json!({"storage": storage, "name": name}),
                )
                .await
            {
                Ok((s, _)) if s < 300 => {}
                Ok((s, body)) => failed = Some(format!("{s} {body}")),
                Err(e) => failed = Some(describe(&e)),
            }
        }
        let now = iso(Utc::now());
        match failed {
            None => {
                deleted += 1;
                logs.push(log_entry(
                    &now,
                    "info",
                    "Retention",
                    &format!("{dest}: deleted {} ({})", d.name, d.reasons.join("; ")),
                ));
            }
            Some(e) => warn(
                &mut logs,
                "Retention",
                format!("{dest}: deleting {} failed: {e}", d.name),
            ),
        }
    }
    logs.push(log_entry(
        &iso(Utc::now()),
        "info",
        "Retention",
        &format!(
            "{dest}: {} backups, {} kept, {deleted} deleted ({})",
            decisions.len(),
            decisions.iter().filter(|d| d.keep).count(),
            policy.to_json()
        ),
    ));
    Ok(logs)
}

fn wanted(events: &str, status: ExecutionStatus) -> bool {
    let success = status == ExecutionStatus::Success;
    match events {
        "SUCCESS_ONLY" => success,
        "FAILURE_ONLY" => !success,
        _ => true,
    }
}

async fn notify(
    db: &dyn Db,
    notifier: &impl Deliver,
    sealer: &SecretBox,
    f: &Finished,
    job: &StoredJob,
) -> Result<(), ApiError> {
    if job.notification_ids.is_empty() || !wanted(&job.notification_events, f.status) {
        return Ok(());
    }
    let source = store::load(db, sealer, &job.source_id)
        .map(|a| a.name)
        .unwrap_or_else(|_| job.source_id.clone());
    let destinations: Vec<String> = job
        .destinations
        .iter()
        .map(|(id, _)| {
            store::load(db, sealer, id)
                .map(|a| a.name)
                .unwrap_or_else(|_| id.clone())
        })
        .collect();
    // A destination whose object read back wrong after upload is named with what differed.
    let fields: Vec<NotificationField> = f
        .metadata
        .get("verification")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v["status"] == "Failed")
        .map(|v| {
            let id = v["destinationId"].as_str().unwrap_or_default();
            let name = job
                .destinations
                .iter()
                .position(|(d, _)| d == id)
                .and_then(|i| destinations.get(i))
                .map_or(id, String::as_str);
            NotificationField {
                name: format!("Verification failed at {name}"),
                value: v["detail"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect();
    let duration_ms = match (
        parse_iso(&f.started_at),
        f.ended_at.as_deref().and_then(parse_iso),
    ) {
        (Some(a), Some(b)) => u64::try_from((b - a).num_milliseconds()).ok(),
        _ => None,
    };
    let status = match f.status {
        ExecutionStatus::Success => Status::Success,
        ExecutionStatus::Partial => Status::Partial,
        _ => Status::Failure,
    };
    let kind = f.kind.as_str();
    let msg = Notification {
        title: format!("{kind} of job '{}' finished: {}", job.name, f.status),
        status,
        job: Some(job.name.clone()),
        source: Some(source),
        destinations,
        size: f.size.and_then(|s| u64::try_from(s).ok()),
        duration_ms,
        error: f
            .metadata
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned),
        fields,
    };
    for id in job
        .notification_ids
        .iter()
        .filter(|id| !f.done.notified.contains(id))
    {
        let outcome = match store::load(db, sealer, id) {
            Ok(channel) => match render_notification(&channel, &msg) {
                Ok(out) => notifier.deliver(out).await.map(|()| channel.name),
                Err(e) => Err(describe(&e)),
            },
            Err(e) => Err(describe(&e)),
        };
        let now = iso(Utc::now());
        let mut logs = Vec::new();
        match outcome {
            Ok(name) => logs.push(log_entry(
                &now,
                "info",
                "Notification",
                &format!("notification sent to {name}"),
            )),
            Err(e) => warn(
                &mut logs,
                "Notification",
                format!("notification {id} failed: {e}"),
            ),
        }
        execution::mark_step(db, &f.id, Step::Notified(id), &logs, &now)?;
    }
    Ok(())
}
