//! `GET /api/executions`, `GET /api/executions/{id}`, `POST /api/executions/{id}/cancel`,
//! `POST /api/restores`.

use chrono::Utc;
use dbackup_adapters_core::{store, worker_storage};
use dbackup_core::ApiError;
use dbackup_jobs_core::worker_request::{self, RestoreParams};
use dbackup_jobs_core::execution::{self, ListQuery};
use dbackup_jobs_core::{query_param, sql};
use dbackup_web::gate::Ctx;
use dbackup_web::{deadline, worker};
use serde_json::json;
use spin_sdk::http::{Method, Response};

type Answer = Result<Response, ApiError>;

fn not_found() -> ApiError {
    ApiError::new(404, "execution not found")
}

/// `GET /api/executions?jobId&status&type&cursor&limit` → `{items, nextCursor}`, newest
/// first, without logs (`limit` 1–200, default 50).
pub fn list(ctx: &Ctx) -> Answer {
    let q = |k: &str| query_param(&ctx.query, k).filter(|v| !v.is_empty());
    let limit = match q("limit") {
        None => 50,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=200).contains(l))
            .ok_or_else(|| ApiError::bad_request("invalid limit: must be 1 to 200"))?,
    };
    let status = q("status");
    if let Some(s) = &status {
        if ![
            "Pending",
            "Running",
            "Success",
            "Partial",
            "Failed",
            "Cancelled",
        ]
        .contains(&s.as_str())
        {
            return Err(ApiError::bad_request(format!("invalid status {s:?}")));
        }
    }
    let kind = q("type");
    if let Some(t) = &kind {
        if !["Backup", "Restore"].contains(&t.as_str()) {
            return Err(ApiError::bad_request(format!("invalid type {t:?}")));
        }
    }
    let query = ListQuery {
        job_id: q("jobId"),
        status,
        kind,
        cursor: q("cursor"),
        limit,
    };
    dbackup_web::ok(&execution::list_view(&ctx.db, &query)?)
}

/// `GET /api/executions/{id}` → the execution with logs and progress.
pub fn get(ctx: &Ctx) -> Answer {
    let v = execution::get_view(&ctx.db, ctx.param("id")?)?.ok_or_else(not_found)?;
    dbackup_web::ok(&v)
}

/// `POST /api/executions/{id}/cancel`: a Pending execution is cancelled at once; a Running one
/// is cancelled and its worker task stopped. 409 when it has already finished.
pub async fn cancel(ctx: &Ctx) -> Answer {
    let id = ctx.param("id")?.to_owned();
    if execution::get_view(&ctx.db, &id)?.is_none() {
        return Err(not_found());
    }
    let now = dbackup_jobs_core::iso(Utc::now());
    let who = ctx.principal.as_ref().map(|p| p.user_id().to_owned());
    let message = format!("Cancelled by user {}", who.as_deref().unwrap_or("unknown"));
    let Some(task) = execution::finish(&ctx.db, &id, "Cancelled", &message, &now)? else {
        return Err(ApiError::new(409, "execution has already finished"));
    };
    if let Some(task) = task {
        // The status is already Cancelled: a worker that cannot be reached finishes the task
        // on its own, and its late result is ignored.
        let path = format!("/v1/tasks/{task}/cancel");
        match dbackup_web::worker::post_json(&path, &json!({})).await {
            Ok((status, _)) if status < 300 || status == 404 => {}
            Ok((status, body)) => {
                eprintln!("dbackup executions: cancel {task}: worker answered {status} {body}")
            }
            Err(e) => eprintln!("dbackup executions: cancel {task}: {e}"),
        }
    }
    ctx.audit(
        "EXECUTE",
        "EXECUTION",
        Some(&id),
        json!({"action": "cancel"}),
    )?;
    let v = execution::get_view(&ctx.db, &id)?.ok_or_else(not_found)?;
    dbackup_web::ok(&v)
}

/// `POST /api/restores {destinationId, path, targetSourceId, databaseMapping?, privileged?,
/// force?}` → 202 `{executionId}`: a Restore execution in the same queue as backups; a
/// privileged account's password is sealed in the stored request.
pub async fn restore(ctx: &Ctx) -> Answer {
    let params = RestoreParams::from_body(&ctx.body_value()?)?;
    let kind_of = |id: &str| -> Result<Option<String>, ApiError> {
        Ok(sql::query(
            &ctx.db,
            r#"SELECT "type" FROM "AdapterConfig" WHERE "id" = ?"#,
            &[id.into()],
        )?
        .first()
        .and_then(|r| r.text("type")))
    };
    if kind_of(&params.destination_id)?.as_deref() != Some("storage") {
        return Err(ApiError::bad_request(format!(
            "invalid destinationId: no storage destination {:?}",
            params.destination_id
        ))
        .with_details(json!({"field": "destinationId"})));
    }
    if kind_of(&params.target_source_id)?.as_deref() != Some("database") {
        return Err(ApiError::bad_request(format!(
            "invalid targetSourceId: no database source {:?}",
            params.target_source_id
        ))
        .with_details(json!({"field": "targetSourceId"})));
    }
    if !params.force {
        if let Some(why) = newer_dump(ctx, &params).await? {
            return Err(ApiError::new(409, why).with_details(json!({"field": "force"})));
        }
    }
    // The job that made the backup, when the history knows it.
    let job_id = sql::query(
        &ctx.db,
        r#"SELECT "jobId" FROM "Execution" WHERE "type" = 'Backup' AND "path" = ? AND "jobId" IS NOT NULL
            ORDER BY "startedAt" DESC LIMIT 1"#,
        &[params.path.as_str().into()],
    )?
    .first()
    .and_then(|r| r.text("jobId"));
    let id = dbackup_jobs_core::new_id()?;
    let now = dbackup_jobs_core::iso(Utc::now());
    let sealer = ctx.secret_box()?;
    let stored = params.to_stored(|p| {
        sealer
            .encrypt(
                p.as_bytes(),
                &dbackup_core::sealed::restore_privileged_password(),
            )
            .map_err(|e| ApiError::internal(e.to_string()))
    })?;
    execution::enqueue_restore(&ctx.db, &id, job_id.as_deref(), &stored, &now)?;
    let mut details = json!({"destinationId": params.destination_id, "path": params.path,
                             "targetSourceId": params.target_source_id});
    if let Some(a) = &params.privileged_as {
        details["privileged"] = json!({"user": a.user,
            "password": a.password.as_ref().map(|_| "••••")});
    }
    ctx.audit("RESTORE", "EXECUTION", Some(&id), details)?;
    dbackup_web::json_of(202, &execution::ExecutionAccepted { execution_id: id })
}

/// Refuses early what the worker would refuse later: a PostgreSQL dump of a newer major than
/// the target server (its version as of the last connection test or health check). Skipped
/// when the target's version is unknown or the sidecar cannot be read (the worker still checks).
async fn newer_dump(ctx: &Ctx, params: &RestoreParams) -> Result<Option<String>, ApiError> {
    let sealer = ctx.secret_box()?;
    let target = store::load(&ctx.db, &sealer, &params.target_source_id)?;
    let Some(version) = target
        .metadata
        .get("engineVersion")
        .and_then(|v| v.as_str())
        .filter(|_| target.adapter_id == "postgres")
    else {
        return Ok(None);
    };
    let storage = worker_storage(&store::load(&ctx.db, &sealer, &params.destination_id)?)?;
    let body = json!({"storage": storage, "name": format!("{}.meta.json", params.path)});
    let read = worker::send(Method::Post, "/v1/storage/get", Some(&body));
    let sidecar = match deadline::within(SIDECAR_TIMEOUT, read).await {
        Some(Ok(resp)) if *resp.status() == 200 => {
            serde_json::from_slice(resp.body()).unwrap_or(serde_json::Value::Null)
        }
        _ => return Ok(None),
    };
    Ok(worker_request::newer_dump(&sidecar, version))
}

/// Longest wait for the backup's sidecar in `POST /api/restores`.
const SIDECAR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
