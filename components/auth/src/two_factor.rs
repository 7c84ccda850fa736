//! TOTP two-factor authentication of the caller's own account (profile:manage_2fa).

use dbackup_core::ApiError;
use dbackup_identity::audit::{action, resource};
use dbackup_identity::two_factor::{self, EnrollRequest, Reauth, VerifyRequest};
use dbackup_web::gate::Ctx;
use serde_json::json;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

fn audit(ctx: &Ctx, event: &str) -> Result<(), ApiError> {
    let user_id = ctx.principal()?.user_id();
    ctx.audit(
        action::UPDATE,
        resource::TWO_FACTOR,
        Some(user_id),
        json!({ "event": event }),
    )
}

/// `POST /api/auth/2fa/enroll` `{password}` → `{secret, otpauthUri}`: the only answer that
/// shows the secret. 2FA is on only after `verify`.
pub fn enroll(ctx: &Ctx) -> Answer {
    let req: EnrollRequest = ctx.body()?;
    let user_id = ctx.principal()?.user_id();
    let enrollment =
        two_factor::enroll(&ctx.db, &ctx.secret_box()?, user_id, &req.password, ctx.now)?;
    audit(ctx, "enrollStarted")?;
    dbackup_web::ok(&enrollment)
}

/// `POST /api/auth/2fa/verify` `{code}` → `{"backupCodes": [10 codes]}`, shown once.
pub fn verify(ctx: &Ctx) -> Answer {
    let req: VerifyRequest = ctx.body()?;
    let user_id = ctx.principal()?.user_id();
    let codes = two_factor::activate(&ctx.db, &ctx.secret_box()?, user_id, &req.code, ctx.now)?;
    audit(ctx, "enabled")?;
    dbackup_web::ok(&two_factor::BackupCodes {
        backup_codes: codes,
    })
}

/// `POST /api/auth/2fa/disable` `{password}` or `{code}` → 204.
pub fn disable(ctx: &Ctx) -> Answer {
    let proof: Reauth = ctx.body()?;
    let user_id = ctx.principal()?.user_id();
    two_factor::disable(&ctx.db, &ctx.secret_box()?, user_id, &proof, ctx.now)?;
    audit(ctx, "disabled")?;
    dbackup_web::no_content()
}

/// `POST /api/auth/2fa/backup-codes` `{password}` or `{code}` → `{"backupCodes": [..]}`, the
/// old codes void.
pub fn backup_codes(ctx: &Ctx) -> Answer {
    let proof: Reauth = ctx.body()?;
    let user_id = ctx.principal()?.user_id();
    let codes =
        two_factor::regenerate_backup_codes(&ctx.db, &ctx.secret_box()?, user_id, &proof, ctx.now)?;
    audit(ctx, "backupCodesRegenerated")?;
    dbackup_web::ok(&two_factor::BackupCodes {
        backup_codes: codes,
    })
}
