//! After an execution finishes: retention on every destination that received the backup, then
//! notifications per the job's `notificationEvents`. Nothing here changes the execution's
//! status: every failure becomes a warning in its logs. At least once: every step is recorded
//! on the execution when done (`postProcess`), the whole when complete (`postProcessedAt`).

use std::time::Duration;

use chrono::Utc;
use dbackup_adapters_core::{
    render_notification, store, worker_storage, Notification, OutboundMessage, Status,
};
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use dbackup_jobs_core::execution::{self, log_entry, Finished, Step};
use dbackup_jobs_core::job::{self, StoredJob};
use dbackup_jobs_core::retention::{self, Backup, RetentionPolicy};
use dbackup_jobs_core::schedule::{self, Tz};
use dbackup_jobs_core::{iso, parse_iso};
use dbackup_web::{worker, SpinDb};
use serde_json::{json, Value};
use spin_sdk::http::{Method, Request, Response};

use crate::dispatch::read_sidecar;
use crate::tick::sealer;

/// Post-processes up to five finished executions. Each step (retention on one destination, one
/// notification) is recorded when done, with its logs, so a runner that crashes midway leaves
/// the rest to the next tick (after the claim's lease) and nothing done is done again.
pub async fn run(db: &SpinDb) -> Result<(), ApiError> {
    let sealer = sealer()?;
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
        if f.kind == "Backup" && matches!(f.status.as_str(), "Success" | "Partial") {
            retention_all(db, &sealer, &f, &job).await?;
        }
        notify(db, &sealer, &f, &job).await?;
        execution::mark_post_processed(db, &f.id, &[], &iso(Utc::now()))?;
    }
    Ok(())
}

fn warn(logs: &mut Vec<Value>, stage: &str, message: String) {
    logs.push(log_entry(&iso(Utc::now()), "warning", stage, &message));
}

async fn retention_all(
    db: &SpinDb,
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
        match retention_one(db, sealer, f, job, dest, policy, tz).await {
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

fn describe(e: &ApiError) -> String {
    match &e.details {
        Some(d) => format!("{}: {d}", e.message),
        None => e.message.clone(),
    }
}

async fn retention_one(
    db: &SpinDb,
    sealer: &SecretBox,
    f: &Finished,
    job: &StoredJob,
    dest: &str,
    policy: &RetentionPolicy,
    tz: Tz,
) -> Result<Vec<Value>, ApiError> {
    let storage = worker_storage(&store::load(db, sealer, dest)?)?;
    let (status, listing) = worker::post_json(
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
        if name.ends_with(".meta.json") || name.ends_with(".partial") {
            continue;
        }
        let sidecar = read_sidecar(&storage, name).await;
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
        for name in [d.name.clone(), format!("{}.meta.json", d.name)] {
            match worker::post_json(
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

fn wanted(events: &str, status: &str) -> bool {
    let success = status == "Success";
    match events {
        "SUCCESS_ONLY" => success,
        "FAILURE_ONLY" => !success,
        _ => true,
    }
}

async fn notify(
    db: &SpinDb,
    sealer: &SecretBox,
    f: &Finished,
    job: &StoredJob,
) -> Result<(), ApiError> {
    if job.notification_ids.is_empty() || !wanted(&job.notification_events, &f.status) {
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
    let duration_ms = match (
        parse_iso(&f.started_at),
        f.ended_at.as_deref().and_then(parse_iso),
    ) {
        (Some(a), Some(b)) => u64::try_from((b - a).num_milliseconds()).ok(),
        _ => None,
    };
    let status = match f.status.as_str() {
        "Success" => Status::Success,
        "Partial" => Status::Partial,
        _ => Status::Failure,
    };
    let kind = if f.kind == "Restore" {
        "Restore"
    } else {
        "Backup"
    };
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
        fields: Vec::new(),
    };
    for id in job
        .notification_ids
        .iter()
        .filter(|id| !f.done.notified.contains(id))
    {
        let outcome = match store::load(db, sealer, id) {
            Ok(channel) => match render_notification(&channel, &msg) {
                Ok(out) => send(out).await.map(|()| channel.name),
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

/// Longest wait for one notification to be delivered; a slow channel never holds up the runner.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// Delivers one rendered notification (HTTP from here, e-mail through the worker), within
/// [`SEND_TIMEOUT`].
pub(crate) async fn send(out: OutboundMessage) -> Result<(), String> {
    dbackup_web::deadline::within(SEND_TIMEOUT, deliver(out))
        .await
        .unwrap_or_else(|| Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs())))
}

async fn deliver(out: OutboundMessage) -> Result<(), String> {
    match out {
        OutboundMessage::Email { request } => {
            let (status, body) = worker::post_json("/v1/notify/email", &request)
                .await
                .map_err(|e| describe(&e))?;
            if status < 300 && body.get("ok").and_then(Value::as_bool) != Some(false) {
                Ok(())
            } else {
                Err(format!(
                    "{status} {}",
                    body.get("message").or(body.get("error")).unwrap_or(&body)
                ))
            }
        }
        OutboundMessage::Http {
            method,
            url,
            headers,
            body,
        } => {
            let method = match method.as_str() {
                "PUT" => Method::Put,
                "PATCH" => Method::Patch,
                "GET" => Method::Get,
                _ => Method::Post,
            };
            let mut req = Request::builder();
            req.method(method).uri(url.as_str());
            for (k, v) in &headers {
                req.header(k.as_str(), v.as_str());
            }
            let req = req.body(body.into_bytes()).build();
            let resp: Response = spin_sdk::http::send(req)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = *resp.status();
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(format!("the channel answered {status}"))
            }
        }
    }
}
