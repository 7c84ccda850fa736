//! The `/api/jobs` handlers.

use chrono::Utc;
use dbackup_core::ApiError;
use dbackup_jobs_core::execution::{self, Trigger};
use dbackup_jobs_core::{dispatcher, job, queue, schedule};
use dbackup_web::gate::Ctx;
use dbackup_web::worker::SpinWorker;
use serde_json::json;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

const RESOURCE: &str = "JOB";

fn job_not_found() -> ApiError {
    ApiError::new(404, "job not found")
}

fn now_iso() -> String {
    dbackup_jobs_core::iso(Utc::now())
}

fn load(ctx: &Ctx) -> Result<job::StoredJob, ApiError> {
    job::get(&ctx.db, ctx.param("id")?)?.ok_or_else(job_not_found)
}

fn view(ctx: &Ctx, j: &job::StoredJob) -> Result<job::JobView, ApiError> {
    let last = execution::last_of_job(&ctx.db, &j.id)?;
    Ok(j.to_view(Utc::now(), last))
}

/// `GET /api/jobs[?limit=1..200&cursor=]` → `{items: [job…], nextCursor}`: every job by name,
/// or with `limit` one page of them (keyset cursor).
pub fn list(ctx: &Ctx) -> Answer {
    let q = |k: &str| dbackup_jobs_core::query_param(&ctx.query, k).filter(|v| !v.is_empty());
    let limit = match q("limit") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|l| (1..=job::MAX_PAGE).contains(l))
                .ok_or_else(|| ApiError::bad_request("invalid limit: must be 1 to 200"))?,
        ),
    };
    let cursor = q("cursor");
    let page = job::list_page(&ctx.db, cursor.as_deref(), limit)?;
    let ids: Vec<String> = page.jobs.iter().map(|j| j.id.clone()).collect();
    let mut last = execution::last_of_jobs(&ctx.db, &ids)?;
    let now = Utc::now();
    let items = page
        .jobs
        .iter()
        .map(|j| j.to_view(now, last.remove(&j.id)))
        .collect();
    dbackup_web::ok(&job::JobList {
        items,
        next_cursor: page.next_cursor,
    })
}

/// `POST /api/jobs` → 201 with the job.
pub fn create(ctx: &Ctx) -> Answer {
    let tz = job::default_timezone(&ctx.db)?;
    let spec = job::parse_input(ctx.body_value()?, &tz)?;
    job::check_references(&ctx.db, &spec)?;
    let id = dbackup_jobs_core::new_id()?;
    job::insert(&ctx.db, &id, &spec, &now_iso())?;
    let stored = job::get(&ctx.db, &id)?.ok_or_else(|| ApiError::internal("job vanished"))?;
    ctx.audit(
        "CREATE",
        RESOURCE,
        Some(&id),
        json!({"name": spec.name, "schedule": spec.schedule}),
    )?;
    dbackup_web::created(&view(ctx, &stored)?)
}

/// `GET /api/jobs/{id}`.
pub fn get(ctx: &Ctx) -> Answer {
    let j = load(ctx)?;
    dbackup_web::ok(&view(ctx, &j)?)
}

/// `PUT /api/jobs/{id}`: replaces the job (same body as POST).
pub fn update(ctx: &Ctx) -> Answer {
    let id = ctx.param("id")?.to_owned();
    let existing = load(ctx)?;
    let spec = job::parse_input(ctx.body_value()?, &existing.timezone)?;
    job::check_references(&ctx.db, &spec)?;
    if !job::update(&ctx.db, &id, &spec, &now_iso())? {
        return Err(job_not_found());
    }
    ctx.audit(
        "UPDATE",
        RESOURCE,
        Some(&id),
        json!({"name": spec.name, "schedule": spec.schedule, "enabled": spec.enabled}),
    )?;
    get(ctx)
}

/// `DELETE /api/jobs/{id}` → 204 (its history stays, detached).
pub fn delete(ctx: &Ctx) -> Answer {
    let id = ctx.param("id")?.to_owned();
    let existing = load(ctx)?;
    if !job::delete(&ctx.db, &id)? {
        return Err(job_not_found());
    }
    ctx.audit(
        "DELETE",
        RESOURCE,
        Some(&id),
        json!({"name": existing.name}),
    )?;
    dbackup_web::no_content()
}

/// `POST /api/jobs/{id}/run` → 202 `{executionId}`: a Pending execution, started on the worker
/// before the answer when a slot is free (`dispatcher::dispatch_now`); otherwise the runner
/// starts it once one is.
pub async fn run(ctx: &Ctx) -> Answer {
    let j = load(ctx)?;
    let trigger = match &ctx.principal {
        Some(p) if !p.is_cookie() => Trigger::Api,
        _ => Trigger::Manual,
    };
    let id = dbackup_jobs_core::new_id()?;
    queue::enqueue_backup(&ctx.db, &id, &j.id, trigger, None, &now_iso())?;
    ctx.audit("EXECUTE", RESOURCE, Some(&j.id), json!({"executionId": id}))?;
    let sealer = ctx.secret_box();
    let app_url = dbackup_web::app_url();
    dispatcher::dispatch_now(&ctx.db, &SpinWorker, sealer.as_ref(), &app_url, &id).await;
    dbackup_web::json_of(202, &queue::ExecutionAccepted { execution_id: id })
}

/// `GET /api/jobs/{id}/next-runs?count=5` (1–50) → `{timezone, runs: [ISO UTC…]}`; empty
/// for a disabled job.
pub fn next_runs(ctx: &Ctx) -> Answer {
    let j = load(ctx)?;
    let count = match dbackup_jobs_core::query_param(&ctx.query, "count") {
        None => 5,
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|c| (1..=50).contains(c))
            .ok_or_else(|| ApiError::bad_request("invalid count: must be 1 to 50"))?,
    };
    let runs: Vec<String> = if j.enabled {
        let cron = schedule::parse(&j.schedule)
            .map_err(|e| ApiError::internal(format!("stored schedule: {e}")))?;
        let tz = schedule::parse_timezone(&j.timezone)
            .map_err(|e| ApiError::internal(format!("stored timezone: {e}")))?;
        schedule::next_runs(&cron, tz, Utc::now(), count)
            .into_iter()
            .map(dbackup_jobs_core::iso)
            .collect()
    } else {
        Vec::new()
    };
    dbackup_web::ok(&job::NextRuns {
        job_id: j.id,
        timezone: j.timezone,
        enabled: j.enabled,
        runs,
    })
}
