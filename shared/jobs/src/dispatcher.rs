//! Starting queued executions on the worker: claim the oldest Pending one within the
//! concurrency cap, build its backup or restore request from the job, the decrypted adapters
//! and the encryption profile key ([`crate::worker_request`]), post it, record the task. An
//! execution that cannot start is Failed with the reason.

use chrono::Utc;
use dbackup_adapters_core::{store, worker_source, worker_storage};
use dbackup_core::db::{Db, Value as SqlValue};
use dbackup_core::sealed;
use dbackup_core::worker::{Method, On, Refusal, Worker};
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use dbackup_protocol::sidecar::sidecar_name;
use dbackup_protocol::tasks::{BackupRequest, KeyKind, RestoreRequest, TaskAccepted};
use serde_json::{json, Value};

use crate::execution::{self, ExecutionKind, ExecutionStatus, Trigger};
use crate::pool::{self, DEFAULT_WORKER};
use crate::worker_request::{self, BackupParts, Key, RestoreParams};
use crate::{describe, iso, job, sql};

/// Claims and starts queued executions on the pool ([`pool`]): each, oldest first, goes to a
/// healthy member with a free slot serving its source's `workerLabel` (with only the configured
/// worker, up to `maxConcurrentJobs` at once, as before the pool); one that no member can take
/// now stays queued and the next is tried. Each gets a fresh callback signing key, sealed on the
/// row. `app_url` is the app's own base URL for the callbacks. A registered worker that does not
/// answer the dispatch takes no more work until its next heartbeat, and the execution goes back
/// to the queue.
pub async fn dispatch_queued(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    app_url: &str,
) -> Result<(), ApiError> {
    dispatch(db, worker, sealer, app_url, None).await
}

/// "Run now", a restore: the request that queued execution `id` starts it at once when a slot
/// is free and the runner is alive ([`crate::tick::runner_alive`]), instead of leaving it to the
/// next runner tick (up to 10 s later). It is the tick's
/// own dispatch ([`dispatch_queued`]: the same FIFO order, pool choice and conditional claim
/// [`claim_on`], so an execution never starts twice however requests and ticks interleave),
/// stopped once `id` has been looked at: executions queued before it that can start now start
/// first (they are ahead in line), and at most the free slots are used. Whatever it cannot
/// start stays Pending for the tick, the backstop. Errors are logged, never returned: the
/// execution is queued either way, so the request still answers 202.
pub async fn dispatch_now(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: Result<&SecretBox, &ApiError>,
    app_url: &str,
    id: &str,
) {
    let result = match (sealer, crate::tick::runner_alive(db, Utc::now())) {
        (_, Ok(false)) => return,
        (_, Err(e)) => Err(e),
        (Err(e), _) => Err(e.clone()),
        (Ok(sealer), Ok(true)) => dispatch(db, worker, sealer, app_url, Some(id)).await,
    };
    if let Err(e) = result {
        eprintln!("dbackup: run now: execution {id} left to the runner: {e}");
    }
}

/// The dispatch loop; with `until`, it stops after that execution's turn.
async fn dispatch(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    app_url: &str,
    until: Option<&str>,
) -> Result<(), ApiError> {
    let now = Utc::now();
    let mut members = pool::members(db, now)?;
    for q in pool::queued(db)? {
        if !members.iter().any(|m| m.healthy && m.free() > 0) {
            break;
        }
        start_queued(db, worker, sealer, app_url, &q, &mut members, now).await?;
        if until == Some(q.id.as_str()) {
            break;
        }
    }
    Ok(())
}

/// One queued execution's turn: choose a member, claim it there, start it (or note that it
/// waits, or put it back when a registered member does not answer, or fail it). Another
/// dispatcher having claimed it first ends the turn too (and `members` is counted again).
async fn start_queued(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    app_url: &str,
    q: &pool::Queued,
    members: &mut Vec<pool::Member>,
    now: chrono::DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(i) = pool::choose(members, q.label.as_deref()) else {
        pool::note_waiting(db, q, members, now)?;
        return Ok(());
    };
    let key_hex = crate::random_key_hex()?;
    let sealed = sealer
        .encrypt(key_hex.as_bytes(), &sealed::execution_callback_key())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let member = &members[i];
    let Some(claimed) = claim_on(db, &q.id, member, &sealed, &iso(Utc::now()))? else {
        // Another dispatcher took it, or filled the member: count again.
        *members = pool::members(db, now)?;
        return Ok(());
    };
    members[i].running += 1;
    let member = members[i].clone();
    let on = On::new(worker, member.target());
    let Err(e) = start(db, &on, sealer, &claimed, app_url, &key_hex).await else {
        return Ok(());
    };
    if member.url.is_some() && e.status == 503 && e.message == "worker unreachable" {
        eprintln!(
            "dbackup runner: worker {} unreachable: execution {} queued again ({e})",
            member.name, claimed.id
        );
        pool::mark_unreachable(db, &member.id, Utc::now())?;
        members[i].healthy = false;
        members[i].running -= 1;
        requeue(db, &claimed.id, &member.name)?;
        return Ok(());
    }
    eprintln!(
        "dbackup runner: execution {} failed to start: {e}",
        claimed.id
    );
    execution::finish(
        db,
        &claimed.id,
        ExecutionStatus::Failed,
        &describe(&e),
        &iso(Utc::now()),
    )?;
    Ok(())
}

/// Claims Pending execution `id` for `member` if the member still has a free slot — one
/// conditional UPDATE, so concurrent dispatchers never claim the same row or fill a member past
/// its capacity. Records the member (`workerId`) and `sealed_key`.
pub fn claim_on(
    db: &dyn Db,
    id: &str,
    member: &pool::Member,
    sealed_key: &str,
    now: &str,
) -> Result<Option<Claimed>, ApiError> {
    let rows = sql::query(
        db,
        &format!(
            r#"UPDATE "Execution"
              SET "status" = 'Running', "startedAt" = ?, "heartbeatAt" = ?, "callbackKey" = ?,
                  "workerId" = ?,
                  "metadata" = json_remove(json_set(COALESCE("metadata", '{{}}'), '$.stage', 'Starting'), '$.waiting')
            WHERE "id" = ? AND "status" = 'Pending'
              AND (SELECT COUNT(*) FROM "Execution"
                    WHERE "status" = 'Running'
                      AND COALESCE("workerId", '{DEFAULT_WORKER}') = ?) < ?
        RETURNING "id", "jobId", "type", "request""#
        ),
        &[
            now.into(),
            now.into(),
            sealed_key.into(),
            member.id.as_str().into(),
            id.into(),
            member.id.as_str().into(),
            SqlValue::Integer(member.capacity),
        ],
    )?;
    Ok(rows.first().map(claimed_of))
}

/// Puts a claimed execution whose worker did not answer the dispatch back in the queue.
fn requeue(db: &dyn Db, id: &str, worker_name: &str) -> Result<(), ApiError> {
    db.execute(
        r#"UPDATE "Execution" SET "status" = 'Pending', "workerId" = NULL, "callbackKey" = NULL,
                  "heartbeatAt" = NULL
            WHERE "id" = ? AND "status" = 'Running' AND "taskId" IS NULL"#,
        &[id.into()],
    )?;
    execution::append_logs(
        db,
        id,
        &[execution::log_entry(
            &iso(Utc::now()),
            "warn",
            "Queued",
            &format!("Worker {worker_name} did not answer: queued again"),
        )],
        None,
    )?;
    Ok(())
}

fn claimed_of(r: &sql::Row) -> Claimed {
    Claimed {
        id: r.text("id").unwrap_or_default(),
        job_id: r.text("jobId"),
        kind: execution::column(r, "type").unwrap_or(ExecutionKind::Backup),
        request: r
            .text("request")
            .and_then(|t| serde_json::from_str(&t).ok()),
    }
}

/// An execution the dispatcher claimed.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: String,
    pub job_id: Option<String>,
    pub kind: ExecutionKind,
    pub request: Option<Value>,
}

/// Claims the oldest Pending execution (FIFO) if fewer than `max_running` are Running (on any
/// worker; the dispatcher uses [`claim_on`], per member) — one
/// conditional UPDATE, so concurrent dispatchers never claim the same row or exceed the cap.
/// `sealed_key` (the sealed callback signing key) is stored with it.
pub fn claim_next(
    db: &dyn Db,
    max_running: i64,
    sealed_key: &str,
    now: &str,
) -> Result<Option<Claimed>, ApiError> {
    let rows = sql::query(
        db,
        r#"UPDATE "Execution"
              SET "status" = 'Running', "startedAt" = ?, "heartbeatAt" = ?, "callbackKey" = ?,
                  "metadata" = json_set(COALESCE("metadata", '{}'), '$.stage', 'Starting')
            WHERE "id" = (SELECT "id" FROM "Execution" WHERE "status" = 'Pending'
                           ORDER BY "startedAt", "rowid" LIMIT 1)
              AND "status" = 'Pending'
              AND (SELECT COUNT(*) FROM "Execution" WHERE "status" = 'Running') < ?
        RETURNING "id", "jobId", "type", "request""#,
        &[
            now.into(),
            now.into(),
            sealed_key.into(),
            SqlValue::Integer(max_running),
        ],
    )?;
    Ok(rows.first().map(claimed_of))
}

/// Records the worker task of a dispatched execution (unless an event already did).
pub fn set_task(db: &dyn Db, id: &str, task_id: &str, now: &str) -> Result<(), ApiError> {
    db.execute(
        r#"UPDATE "Execution" SET "taskId" = COALESCE("taskId", ?), "heartbeatAt" = ? WHERE "id" = ?"#,
        &[task_id.into(), now.into(), id.into()],
    )?;
    Ok(())
}

/// The key of encryption profile `id` (a missing profile fails the execution with a 400-style
/// message rather than a 404).
fn profile_key(db: &dyn Db, sealer: &SecretBox, id: &str) -> Result<Key, ApiError> {
    let (key_hex, _fingerprint) = dbackup_vault_core::key_hex(db, sealer, id).map_err(|e| {
        if e.status == 404 {
            ApiError::bad_request(format!("encryption profile {id} no longer exists"))
        } else {
            e
        }
    })?;
    // A write-only profile holds only its public key: backups are sealed to it.
    let kind = match dbackup_vault_core::kind_of(db, id)?.as_str() {
        dbackup_vault_core::KIND_PUBLIC => KeyKind::Public,
        _ => KeyKind::Symmetric,
    };
    Ok(Key {
        profile_id: id.to_owned(),
        key_hex,
        kind,
    })
}

/// The key a restore sends: the profile's own, or — for a write-only profile, whose stored key
/// is public — the private key the restore request brought (a 400 naming `privateKey` without
/// one). The worker checks the private key against the backup's header before it touches the
/// target.
fn restore_key(profile: Key, params: &RestoreParams) -> Result<Key, ApiError> {
    if profile.kind != KeyKind::Public {
        return Ok(profile);
    }
    let private = params.private_key.as_ref().ok_or_else(|| {
        ApiError::bad_request(format!(
            "privateKey: the backup was sealed to the write-only encryption profile {}; \
             the restore needs that key pair's private key",
            profile.profile_id
        ))
        .with_details(json!({"field": "privateKey"}))
    })?;
    Ok(Key {
        profile_id: profile.profile_id,
        key_hex: private.0.clone(),
        kind: KeyKind::Private,
    })
}

/// Removes a restore's sealed private key from its stored request once the worker holds the
/// task: it is kept (sealed) only while the restore waits for a worker.
fn forget_private_key(db: &dyn Db, claimed: &Claimed) -> Result<(), ApiError> {
    let Some(mut request) = claimed.request.clone() else {
        return Ok(());
    };
    let Some(obj) = request.as_object_mut() else {
        return Ok(());
    };
    if obj.remove("privateKeySealed").is_none() {
        return Ok(());
    }
    db.execute(
        r#"UPDATE "Execution" SET "request" = ? WHERE "id" = ?"#,
        &[request.to_string().into(), claimed.id.as_str().into()],
    )?;
    Ok(())
}

fn worker_refused(what: &str, refusal: &Refusal) -> ApiError {
    let mut e = ApiError::new(
        502,
        format!(
            "the worker refused the {what} ({} {})",
            refusal.status,
            refusal.error()
        ),
    );
    if let Some(d) = refusal.body.get("details").and_then(Value::as_str) {
        e = e.with_details(json!(d));
    }
    e
}

/// Posts the claimed execution to the worker and records its task id.
pub async fn start(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    claimed: &Claimed,
    app_url: &str,
    signing_key_hex: &str,
) -> Result<(), ApiError> {
    let callback = worker_request::callback_url(app_url, &claimed.id);
    let (answer, what) = if claimed.kind == ExecutionKind::Restore {
        let request = restore_body(db, worker, sealer, claimed, &callback, signing_key_hex).await?;
        (worker.post("/v1/restores", &request).await?, "restore")
    } else {
        let request = backup_body(db, sealer, claimed, &callback, signing_key_hex)?;
        (worker.post("/v1/backups", &request).await?, "backup")
    };
    let TaskAccepted { task_id: task } = answer.map_err(|r| worker_refused(what, &r))?;
    set_task(db, &claimed.id, &task, &iso(Utc::now()))?;
    forget_private_key(db, claimed)?;
    execution::append_logs(
        db,
        &claimed.id,
        &[execution::log_entry(
            &iso(Utc::now()),
            "info",
            "Starting",
            &format!("Started on the worker (task {task})"),
        )],
        None,
    )?;
    Ok(())
}

fn backup_body(
    db: &dyn Db,
    sealer: &SecretBox,
    claimed: &Claimed,
    callback: &str,
    signing_key_hex: &str,
) -> Result<BackupRequest, ApiError> {
    let job_id = claimed
        .job_id
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("the job of this execution was deleted"))?;
    let j = job::get(db, job_id)?
        .ok_or_else(|| ApiError::bad_request("the job of this execution was deleted"))?;
    let source = worker_source(&store::load(db, sealer, &j.source_id)?)?;
    let mut destinations = Vec::new();
    for (id, _) in &j.destinations {
        let storage = worker_storage(&store::load(db, sealer, id)?)?;
        destinations.push((id.clone(), worker_request::storage_spec(id, storage)?));
    }
    let key = match &j.encryption_profile_id {
        Some(p) => Some(profile_key(db, sealer, p)?),
        None => None,
    };
    let trigger = sql::query(
        db,
        r#"SELECT "triggerType" FROM "Execution" WHERE "id" = ?"#,
        &[claimed.id.as_str().into()],
    )?
    .first()
    .and_then(|r| execution::column(r, "triggerType"))
    .unwrap_or(Trigger::Manual);
    let parts = BackupParts {
        execution_id: claimed.id.clone(),
        source,
        destinations,
        key,
        callback_url: callback.to_owned(),
        signing_key_hex: signing_key_hex.to_owned(),
        now: Utc::now(),
        trigger,
    };
    worker_request::backup_request(&j, &parts)
}

/// The `.meta.json` sidecar of an object (`null` when absent or unreadable).
pub async fn read_sidecar(worker: &impl Worker, storage: &Value, name: &str) -> Value {
    let body = json!({"storage": storage, "name": sidecar_name(name)});
    let Ok(bytes) = serde_json::to_vec(&body) else {
        return Value::Null;
    };
    match worker
        .send(Method::Post, "/v1/storage/get", Some(bytes))
        .await
    {
        Ok(answer) if answer.status == 200 => {
            serde_json::from_slice(&answer.body).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

async fn restore_body(
    db: &dyn Db,
    worker: &impl Worker,
    sealer: &SecretBox,
    claimed: &Claimed,
    callback: &str,
    signing_key_hex: &str,
) -> Result<RestoreRequest, ApiError> {
    let request = claimed
        .request
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("the restore has no parameters"))?;
    let params = RestoreParams::from_stored(request, |sealed| {
        sealer
            .decrypt(sealed, &sealed::restore_privileged_password())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ApiError::internal("privileged password: cannot be opened"))
    })?;
    let storage = worker_storage(&store::load(db, sealer, &params.destination_id)?)?;
    let target = worker_source(&store::load(db, sealer, &params.target_source_id)?)?;
    let sidecar = read_sidecar(worker, &storage, &params.path).await;
    let storage = worker_request::storage_spec(&params.destination_id, storage)?;
    // A DBackup backup: its own key and format (crate::dbackup_import).
    if crate::dbackup_import::is_dbackup_backup(&params.path, &sidecar) {
        let meta = crate::dbackup_import::meta_of(&sidecar)?;
        let spec = crate::dbackup_import::import_spec(db, sealer, &params, &meta)?;
        let mut request = worker_request::restore_request(
            &claimed.id,
            &params,
            storage,
            target,
            &crate::dbackup_import::as_our_sidecar(&meta),
            None,
            callback,
            signing_key_hex,
        );
        request.dbackup = Some(spec);
        return Ok(request);
    }
    // The key: the profile named in the sidecar, else the job's (when the object is encrypted).
    let profile = sidecar
        .pointer("/meta/encryptionProfileId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let profile = match profile {
        Some(p) => Some(p),
        None => match &claimed.job_id {
            Some(j) => job::get(db, j)?.and_then(|j| j.encryption_profile_id),
            None => None,
        },
    };
    let key = match (
        worker_request::backup_is_encrypted(&params.path, &sidecar),
        profile,
    ) {
        (true, Some(p)) => Some(restore_key(profile_key(db, sealer, &p)?, &params)?),
        (true, None) => {
            return Err(ApiError::bad_request(
                "the backup is encrypted and its encryption profile is unknown",
            ))
        }
        (false, _) => None,
    };
    Ok(worker_request::restore_request(
        &claimed.id,
        &params,
        storage,
        target,
        &sidecar,
        key.as_ref(),
        callback,
        signing_key_hex,
    ))
}

#[cfg(test)]
mod tests;
