//! Passkeys (WebAuthn): the caller's own passkeys (profile:manage_passkeys) and passkey login,
//! passwordless or as the second factor. The logic is `dbackup_identity::passkeys`; the RP ID
//! and allowed origins come from the `webauthn_rp_id` / `webauthn_origins` variables.

use dbackup_core::ApiError;
use dbackup_identity::audit::action;
use dbackup_identity::passkeys::{
    self, LoginOptionsRequest, LoginRequest, RegisterRequest, Rename, TwoFactorToggle,
};
use dbackup_identity::webauthn::RelyingParty;
use dbackup_web::gate::Ctx;
use serde_json::json;
use spin_sdk::http::Response;
use spin_sdk::variables;

type Answer = Result<Response, ApiError>;

/// The relying party from the Spin variables (defaults `localhost`, `http://localhost:3000`).
fn relying_party() -> Result<RelyingParty, ApiError> {
    let get = |name: &str, default: &str| {
        variables::get(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let rp = RelyingParty::from_config(
        &get("webauthn_rp_id", "localhost"),
        &get("webauthn_origins", "http://localhost:3000"),
    );
    if rp.id.is_empty() || rp.origins.is_empty() {
        return Err(ApiError::internal(
            "webauthn_rp_id and webauthn_origins must not be empty",
        ));
    }
    Ok(rp)
}

/// `GET /api/auth/passkeys` → `{"passkeys": […], "passkeyTwoFactor": bool}`.
pub fn list(ctx: &Ctx) -> Answer {
    let user_id = ctx.principal()?.user_id();
    dbackup_web::ok(&passkeys::overview(&ctx.db, user_id)?)
}

/// `POST /api/auth/passkeys/register/options` → creation options with a fresh challenge.
pub fn register_options(ctx: &Ctx) -> Answer {
    let user_id = ctx.principal()?.user_id();
    let options = passkeys::register_options(&ctx.db, &relying_party()?, user_id, ctx.now)?;
    dbackup_web::ok(&options)
}

/// `POST /api/auth/passkeys/register/verify` `{name?, credential}` → 201 with the passkey.
pub fn register_verify(ctx: &Ctx) -> Answer {
    let req: RegisterRequest = ctx.body()?;
    let user_id = ctx.principal()?.user_id();
    let rp = relying_party()?;
    let passkey = passkeys::register_verify(&ctx.db, &rp, user_id, &req, ctx.client(), ctx.now)?;
    dbackup_web::created(&passkey)
}

/// `PATCH /api/auth/passkeys/{id}` `{name}` → the renamed passkey.
pub fn rename(ctx: &Ctx) -> Answer {
    let req: Rename = ctx.body()?;
    let user_id = ctx.principal()?.user_id();
    let id = ctx.param("id")?;
    let passkey = passkeys::rename(&ctx.db, user_id, id, &req)?;
    passkeys::audit_change(
        &ctx.db,
        ctx.client(),
        user_id,
        action::UPDATE,
        json!({ "passkeyId": id, "name": passkey.name }),
        ctx.now,
    )?;
    dbackup_web::ok(&passkey)
}

/// `DELETE /api/auth/passkeys/{id}` → 204.
pub fn delete(ctx: &Ctx) -> Answer {
    let user_id = ctx.principal()?.user_id();
    let id = ctx.param("id")?;
    passkeys::delete(&ctx.db, user_id, id)?;
    passkeys::audit_change(
        &ctx.db,
        ctx.client(),
        user_id,
        action::DELETE,
        json!({ "passkeyId": id }),
        ctx.now,
    )?;
    dbackup_web::no_content()
}

/// `POST /api/auth/passkeys/two-factor` `{enabled}` → the passkey overview.
pub fn two_factor(ctx: &Ctx) -> Answer {
    let req: TwoFactorToggle = ctx.body()?;
    let user_id = ctx.principal()?.user_id();
    passkeys::set_second_factor(&ctx.db, user_id, req.enabled, ctx.now)?;
    passkeys::audit_change(
        &ctx.db,
        ctx.client(),
        user_id,
        action::UPDATE,
        json!({ "passkeyTwoFactor": req.enabled }),
        ctx.now,
    )?;
    dbackup_web::ok(&passkeys::overview(&ctx.db, user_id)?)
}

/// `POST /api/auth/passkeys/login/options` `{twoFactorChallenge?}` → request options.
pub fn login_options(ctx: &Ctx) -> Answer {
    let req: LoginOptionsRequest = ctx.body()?;
    let rp = relying_party()?;
    let options = passkeys::login_options(&ctx.db, &rp, &req, &ctx.session_secret, ctx.now)?;
    dbackup_web::ok(&options)
}

/// `POST /api/auth/passkeys/login/verify` `{credential, twoFactorChallenge?}` → signed in, as
/// `POST /api/auth/login` answers.
pub fn login_verify(ctx: &Ctx) -> Answer {
    let req: LoginRequest = ctx.body()?;
    let rp = relying_party()?;
    let l = passkeys::login_verify(
        &ctx.db,
        &rp,
        &req,
        ctx.client(),
        &ctx.session_secret,
        ctx.now,
    )?;
    crate::login::signed_in(ctx, &l)
}
