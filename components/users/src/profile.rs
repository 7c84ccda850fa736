//! /api/profile: the caller's own account.

use dbackup_core::ApiError;
use dbackup_identity::audit::{action, resource};
use dbackup_identity::users::{self, PasswordChange, ProfileUpdate};
use dbackup_web::gate::Ctx;
use serde_json::json;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// `GET /api/profile` → the caller's user.
pub fn get(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&users::get(&ctx.db, ctx.principal()?.user_id())?)
}

/// `PATCH /api/profile` `{name?, email?, timezone?, dateFormat?, timeFormat?}`: `name` needs
/// profile:update_name, `email` profile:update_email (403 before validation), the display
/// preferences only a session.
pub fn update(ctx: &Ctx) -> Answer {
    let body = ctx.body_value()?;
    let upd: ProfileUpdate = Ctx::parse(body.clone())?;
    let p = ctx.principal()?;
    let user = users::update_profile(&ctx.db, p.user_id(), &p.permissions(), &upd, ctx.now)?;
    let changes = dbackup_web::pick(
        &body,
        &["name", "email", "timezone", "dateFormat", "timeFormat"],
    );
    ctx.audit(
        action::UPDATE,
        resource::PROFILE,
        Some(p.user_id()),
        changes,
    )?;
    dbackup_web::ok(&user)
}

/// `POST /api/profile/password` `{currentPassword, newPassword}` → 204. Every other session of
/// the user ends (an API key caller keeps none).
pub fn change_password(ctx: &Ctx) -> Answer {
    let change: PasswordChange = ctx.body()?;
    let p = ctx.principal()?;
    users::change_password(&ctx.db, p.user_id(), &change, p.session_id(), ctx.now)?;
    ctx.audit(
        action::UPDATE,
        resource::PROFILE,
        Some(p.user_id()),
        json!({ "changed": ["password"], "otherSessionsRevoked": true }),
    )?;
    dbackup_web::no_content()
}
