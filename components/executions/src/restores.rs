//! `POST /api/restores {destinationId, path, targetSourceId, databaseMapping?, privileged?,
//! force?}` → 202 `{executionId}`: a Restore execution in the same queue as backups, after the
//! checks of `dbackup_jobs_core::restore`.

use chrono::Utc;
use dbackup_core::ApiError;
use dbackup_jobs_core::dispatcher;
use dbackup_jobs_core::queue::ExecutionAccepted;
use dbackup_jobs_core::restore::{self, SIDECAR_TIMEOUT};
use dbackup_jobs_core::worker_request::RestoreParams;
use dbackup_web::deadline::Bounded;
use dbackup_web::gate::Ctx;
use dbackup_web::worker::SpinWorker;
use spin_sdk::http::Response;

/// Queues the restore; audited without the privileged password.
pub async fn create(ctx: &Ctx) -> Result<Response, ApiError> {
    let params = RestoreParams::from_body(&ctx.body_value()?)?;
    let worker = Bounded {
        inner: SpinWorker,
        limit: SIDECAR_TIMEOUT,
    };
    let now = dbackup_jobs_core::iso(Utc::now());
    let id = restore::queue(&ctx.db, &worker, &ctx.secret_box()?, &params, &now).await?;
    ctx.audit(
        "RESTORE",
        "EXECUTION",
        Some(&id),
        restore::audit_details(&params),
    )?;
    // Started at once when a slot is free (the same claim as the runner's); else queued.
    let sealer = ctx.secret_box();
    let app_url = dbackup_web::app_url();
    dispatcher::dispatch_now(&ctx.db, &SpinWorker, sealer.as_ref(), &app_url, &id).await;
    dbackup_web::json_of(202, &ExecutionAccepted { execution_id: id })
}
