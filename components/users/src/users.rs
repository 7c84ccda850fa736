//! /api/users: user administration (users:read, users:write).

use dbackup_core::ApiError;
use dbackup_identity::audit::{action, resource};
use dbackup_identity::users::{self, NewUser, UserUpdate};
use dbackup_web::gate::Ctx;
use serde_json::json;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// Fields of a user an update may change (and the audit row shows).
const FIELDS: &[&str] = &[
    "name",
    "email",
    "groupId",
    "timezone",
    "dateFormat",
    "timeFormat",
];

/// `GET /api/users` → every user, by name.
pub fn list(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&users::list(&ctx.db)?)
}

/// `POST /api/users` `{name, email, password, groupId?}` → 201 with the user.
pub fn create(ctx: &Ctx) -> Answer {
    let new: NewUser = ctx.body()?;
    let holds = ctx.principal()?.permissions();
    let user = users::create(&ctx.db, &holds, &new, ctx.now)?;
    ctx.audit(
        action::CREATE,
        resource::USER,
        Some(&user.id),
        json!({ "email": user.email, "name": user.name, "groupId": user.group_id }),
    )?;
    dbackup_web::created(&user)
}

/// `GET /api/users/{id}`.
pub fn get(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&users::get(&ctx.db, ctx.param("id")?)?)
}

/// `PATCH /api/users/{id}` with any of [`FIELDS`] (`"groupId": null` removes the group).
pub fn update(ctx: &Ctx) -> Answer {
    let body = ctx.body_value()?;
    let upd: UserUpdate = Ctx::parse(body.clone())?;
    let id = ctx.param("id")?;
    let holds = ctx.principal()?.permissions();
    let user = users::update(&ctx.db, &holds, id, &upd, ctx.now)?;
    let changes = dbackup_web::pick(&body, FIELDS);
    ctx.audit(action::UPDATE, resource::USER, Some(id), changes)?;
    dbackup_web::ok(&user)
}

/// `DELETE /api/users/{id}` → 204. Not oneself, not the last SuperAdmin.
pub fn delete(ctx: &Ctx) -> Answer {
    let p = ctx.principal()?;
    let id = ctx.param("id")?;
    let email = users::find(&ctx.db, id)?.map(|u| u.email);
    users::delete(&ctx.db, p.user_id(), &p.permissions(), id)?;
    ctx.audit(
        action::DELETE,
        resource::USER,
        Some(id),
        json!({ "email": email }),
    )?;
    dbackup_web::no_content()
}

/// `POST /api/users/{id}/reset-2fa` → the user, with 2FA off.
pub fn reset_two_factor(ctx: &Ctx) -> Answer {
    let id = ctx.param("id")?;
    let holds = ctx.principal()?.permissions();
    let user = users::reset_two_factor(&ctx.db, &holds, id, ctx.now)?;
    ctx.audit(
        action::UPDATE,
        resource::TWO_FACTOR,
        Some(id),
        json!({ "event": "reset", "userId": id }),
    )?;
    dbackup_web::ok(&user)
}
