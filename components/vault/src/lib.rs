//! Serves `/api/encryption-profiles`: backup keys generated or imported, sealed with
//! `encryption_key`, listed by fingerprint, revealed (or exported as a recovery kit ZIP) only with
//! the caller's password (audited).
//! The logic is `dbackup_vault_core`; routes and permissions are in
//! `dbackup_routes`.

use dbackup_config_core::kit;
use dbackup_core::ApiError;
use dbackup_identity::audit::action;
use dbackup_identity::{lockout, IdentityError};
use dbackup_vault_core as vault;
use dbackup_web::gate::Ctx;
use serde_json::json;
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    // The gate keeps no headers: the kit's password is read here.
    let confirm = req
        .header("x-confirm-password")
        .and_then(|h| h.as_str())
        .map(str::to_owned);
    dbackup_web::gate::serve(req, "vault", |ctx| {
        match (ctx.rule.method, ctx.rule.pattern) {
            ("GET", "/api/encryption-profiles") => list(ctx),
            ("POST", "/api/encryption-profiles") => create(ctx),
            ("GET", "/api/encryption-profiles/{id}") => get(ctx),
            ("DELETE", "/api/encryption-profiles/{id}") => delete(ctx),
            ("POST", "/api/encryption-profiles/{id}/reveal") => reveal(ctx),
            ("GET", "/api/encryption-profiles/{id}/recovery-kit") => {
                recovery_kit(ctx, confirm.as_deref())
            }
            _ => Err(ctx.unhandled()),
        }
    })
}

fn list(ctx: &Ctx) -> Result<Response, ApiError> {
    dbackup_web::ok(&vault::list(&ctx.db, &ctx.secret_box()?)?)
}

fn get(ctx: &Ctx) -> Result<Response, ApiError> {
    dbackup_web::ok(&vault::get(&ctx.db, &ctx.secret_box()?, ctx.param("id")?)?)
}

/// `POST` `{name, description?, key?, kind?, publicKey?}` → 201 with the profile (never the key).
fn create(ctx: &Ctx) -> Result<Response, ApiError> {
    let body: vault::NewProfile = ctx.body()?;
    let kind = body.checked_kind()?;
    let (key, origin) = match (body.public_key.as_deref(), body.key.as_deref()) {
        // A write-only profile: only the public key is stored (checked_kind made it present).
        (Some(p), _) => (vault::parse_public_key(p)?, "public key"),
        (None, Some(k)) => (vault::parse_key(k)?, "imported"),
        (None, None) => (vault::generate_key()?, "generated"),
    };
    let profile = vault::create_of_kind(
        &ctx.db,
        &ctx.secret_box()?,
        &body.name,
        body.description.as_deref(),
        &key,
        kind,
    )?;
    ctx.audit(
        "create",
        "encryption-profile",
        Some(&profile.id),
        json!({"name": profile.name, "fingerprint": profile.fingerprint, "key": origin, "kind": kind}),
    )?;
    dbackup_web::created(&profile)
}

/// `DELETE`: 409 naming the jobs that encrypt with it.
fn delete(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("id")?;
    let name = vault::delete(&ctx.db, id)?;
    ctx.audit(
        "delete",
        "encryption-profile",
        Some(id),
        json!({"name": name}),
    )?;
    dbackup_web::no_content()
}

/// Checks the caller's password for a key export, under identity's lockout (a re-entry like
/// every other, see `lockout::confirm`): while locked, 429 with `Retry-After` before any check;
/// a wrong or missing password counts a failure, a right one clears the counter.
fn confirm_password(ctx: &Ctx, user_id: &str, password: Option<&str>) -> Result<bool, ApiError> {
    Ok(lockout::confirm_password(
        &ctx.db, user_id, password, ctx.now,
    )?)
}

/// `POST …/reveal` `{password}` → `{id, key, fingerprint}`; a wrong password is a 400 (five in a
/// row lock reveal and the recovery kit: 429), and every attempt is audited (the key never is).
fn reveal(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("id")?;
    let sealer = ctx.secret_box()?;
    let profile = vault::get(&ctx.db, &sealer, id)?;
    let body: vault::RevealRequest = ctx.body()?;
    let user_id = ctx.principal()?.user_id().to_owned();
    let ok = confirm_password(ctx, &user_id, Some(&body.password))?;
    if !ok {
        ctx.audit(
            "reveal-denied",
            "encryption-profile",
            Some(id),
            json!({"name": profile.name, "reason": "wrong password"}),
        )?;
        return Err(IdentityError::ReauthFailed("password is incorrect").into());
    }
    let (key, fingerprint) = vault::key_hex(&ctx.db, &sealer, id)?;
    ctx.audit(
        "reveal",
        "encryption-profile",
        Some(id),
        json!({"name": profile.name, "fingerprint": fingerprint}),
    )?;
    dbackup_web::ok(&vault::RevealedKey {
        id: id.to_owned(),
        name: profile.name,
        key,
        fingerprint,
    })
}

/// `GET …/recovery-kit` with the caller's password in `X-Confirm-Password` → the ZIP
/// (`key.hex`, README, FORMAT.md, the Python decrypter). A wrong or missing password is a 400;
/// every attempt is audited (EXPORT, resource `vault`; the key never is).
fn recovery_kit(ctx: &Ctx, password: Option<&str>) -> Result<Response, ApiError> {
    let id = ctx.param("id")?;
    let sealer = ctx.secret_box()?;
    let profile = vault::get(&ctx.db, &sealer, id)?;
    let user_id = ctx.principal()?.user_id().to_owned();
    let ok = confirm_password(ctx, &user_id, password)?;
    if !ok {
        ctx.audit(
            "EXPORT_DENIED",
            "vault",
            Some(id),
            json!({"name": profile.name, "what": "recovery-kit", "reason": if password.is_some_and(|p| !p.is_empty()) { "wrong password" } else { "password missing" }}),
        )?;
        return Err(IdentityError::ReauthFailed(
            "password is incorrect (send it in X-Confirm-Password)",
        )
        .into());
    }
    // A write-only profile's kit would hold only its public key: the private key, never here,
    // is what recovers its backups (with dbackup-recover or the kit's script of another profile).
    vault::refuse_write_only(&ctx.db, id, "kind")?;
    let (key, fingerprint) = vault::key_hex(&ctx.db, &sealer, id)?;
    let now = chrono::DateTime::from_timestamp_millis(ctx.now.millis()).unwrap_or_default();
    let zip = kit::build(&profile.name, &fingerprint, &key, now);
    ctx.audit(
        action::EXPORT,
        "vault",
        Some(id),
        json!({"name": profile.name, "fingerprint": fingerprint, "what": "recovery-kit"}),
    )?;
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/zip")
        .header(
            "content-disposition",
            format!("attachment; filename=\"{}\"", kit::file_name(&profile.name)),
        )
        .header("cache-control", "no-store")
        .body(zip)
        .build())
}
