//! Config self-backup: `GET/PUT /api/system/config-backup` (the system job), `POST` (run now),
//! `GET /api/system/config-backups` (list), `POST /api/system/config-restore` (from a
//! destination or an uploaded file, with a dry run). The logic is `dbackup_config_core`; the
//! worker seals and unseals.

use chrono::Utc;
use dbackup_config_core::run::{self, RestoreInput, RestoreRequest};
use dbackup_config_core::setting;
use dbackup_core::ApiError;
use dbackup_identity::audit::{action, resource};
use dbackup_jobs_core::query_param;
use dbackup_web::gate::Ctx;
use dbackup_web::worker::SpinWorker;
use serde_json::{json, Value};
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// `GET /api/system/config-backup` → `{config, lastRun, nextRunAt}`.
pub fn get(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&setting::view(&ctx.db, Utc::now())?)
}

/// `PUT /api/system/config-backup` with the config (fields absent keep their value) → as GET.
pub fn put(ctx: &Ctx) -> Answer {
    let body = ctx.body_value()?;
    let (old, new) = setting::update(&ctx.db, &body, Utc::now())?;
    if old != new {
        ctx.audit(
            action::UPDATE,
            resource::SETTINGS,
            Some(setting::KEY),
            json!({ setting::KEY: {"old": old, "new": new} }),
        )?;
    }
    dbackup_web::ok(&setting::view(&ctx.db, Utc::now())?)
}

/// `POST /api/system/config-backup`: runs now (synchronously) → 201 with what was written.
pub async fn run_now(ctx: &Ctx) -> Answer {
    let sealer = ctx.secret_box()?;
    let outcome = run::run_and_record(&ctx.db, &sealer, Utc::now(), &SpinWorker).await;
    let details = match &outcome {
        Ok(r) => {
            json!({"objectName": r.object_name, "size": r.size, "destinationId": r.destination_id,
                        "encrypted": r.encrypted, "status": "success"})
        }
        Err(e) => json!({"status": "failed", "error": e.message}),
    };
    ctx.audit(
        action::EXECUTE,
        resource::SETTINGS,
        Some(setting::KEY),
        details,
    )?;
    dbackup_web::created(&outcome?)
}

/// `GET /api/system/config-backups[?destinationId=]` → `{destinationId, backups}`.
pub async fn list(ctx: &Ctx) -> Answer {
    let sealer = ctx.secret_box()?;
    let destination = query_param(&ctx.query, "destinationId").filter(|d| !d.is_empty());
    dbackup_web::ok(&run::list(&ctx.db, &sealer, destination, &SpinWorker).await?)
}

/// `POST /api/system/config-restore`: JSON `{source, dryRun?, encryptionProfileId?}`, or the
/// backup file itself as the body with `?dryRun=&encryptionProfileId=` → the change list. The
/// restore changes only what the caller could change through each entity's API (403 otherwise,
/// dry runs too).
pub async fn restore(ctx: &Ctx) -> Answer {
    let sealer = ctx.secret_box()?;
    let caller = Some(ctx.principal()?.clone());
    let body = ctx.raw_body();
    let json_request = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
        && serde_json::from_slice::<Value>(body).is_ok_and(|v| v.get("source").is_some());
    let (request, upload);
    let input = if json_request {
        request = ctx.body::<RestoreRequest>()?;
        RestoreInput {
            source: Some(&request.source),
            upload: None,
            encryption_profile_id: request.encryption_profile_id.as_deref(),
            dry_run: request.dry_run,
            caller,
        }
    } else {
        if body.is_empty() {
            return Err(ApiError::bad_request(
                "send {source: {destinationId, name}} as JSON, or the config backup file as the body",
            ));
        }
        let dry_run = match query_param(&ctx.query, "dryRun").as_deref() {
            None | Some("") | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => {
                return Err(ApiError::bad_request("dryRun must be true or false")
                    .with_details(json!({"field": "dryRun"})))
            }
        };
        upload = query_param(&ctx.query, "encryptionProfileId").filter(|p| !p.is_empty());
        RestoreInput {
            source: None,
            upload: Some(body.to_vec()),
            encryption_profile_id: upload.as_deref(),
            dry_run,
            caller,
        }
    };
    let from = match input.source {
        Some(s) => json!({"destinationId": s.destination_id, "name": s.name}),
        None => json!({"upload": body.len()}),
    };
    let dry_run = input.dry_run;
    let report = run::restore_from(&ctx.db, &sealer, input, Utc::now(), &SpinWorker).await;
    match &report {
        Ok(r) if !dry_run => ctx.audit(
            action::EXECUTE,
            resource::SETTINGS,
            Some("config-restore"),
            json!({"source": from, "counts": r.counts, "createdAt": r.created_at, "status": "success"}),
        )?,
        Err(e) if !dry_run => ctx.audit(
            action::EXECUTE,
            resource::SETTINGS,
            Some("config-restore"),
            json!({"source": from, "status": "failed", "error": e.message}),
        )?,
        _ => {}
    }
    dbackup_web::ok(&report?)
}
