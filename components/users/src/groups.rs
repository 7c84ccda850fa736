//! /api/groups: permission groups (groups:read, groups:write).

use dbackup_core::ApiError;
use dbackup_identity::audit::{action, resource};
use dbackup_identity::groups::{self, GroupUpdate, NewGroup};
use dbackup_web::gate::Ctx;
use serde_json::json;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// `GET /api/groups` → every group, by name, with its effective permissions and member count.
pub fn list(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&groups::list(&ctx.db)?)
}

/// `POST /api/groups` `{name, permissions}` → 201 with the group. Unknown permission strings
/// are a 400 naming them.
pub fn create(ctx: &Ctx) -> Answer {
    let new: NewGroup = ctx.body()?;
    let holds = ctx.principal()?.permissions();
    let group = groups::create(&ctx.db, &holds, &new, ctx.now)?;
    ctx.audit(
        action::CREATE,
        resource::GROUP,
        Some(&group.id),
        json!({ "name": group.name, "permissions": group.permissions }),
    )?;
    dbackup_web::created(&group)
}

/// `GET /api/groups/{id}`.
pub fn get(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&groups::get(&ctx.db, ctx.param("id")?)?)
}

/// `PATCH /api/groups/{id}` `{name?, permissions?}`. SuperAdmin cannot be edited.
pub fn update(ctx: &Ctx) -> Answer {
    let body = ctx.body_value()?;
    let upd: GroupUpdate = Ctx::parse(body.clone())?;
    let id = ctx.param("id")?;
    let holds = ctx.principal()?.permissions();
    let before = groups::get(&ctx.db, id)?;
    let group = groups::update(&ctx.db, &holds, id, &upd, ctx.now)?;
    let mut details = dbackup_web::pick(&body, &["name", "permissions"]);
    details["previous"] = json!({ "name": before.name, "permissions": before.permissions });
    ctx.audit(action::UPDATE, resource::GROUP, Some(id), details)?;
    dbackup_web::ok(&group)
}

/// `DELETE /api/groups/{id}` → 204. Not SuperAdmin, not a group with members.
pub fn delete(ctx: &Ctx) -> Answer {
    let id = ctx.param("id")?;
    let holds = ctx.principal()?.permissions();
    let name = groups::get(&ctx.db, id)?.name;
    groups::delete(&ctx.db, &holds, id)?;
    ctx.audit(
        action::DELETE,
        resource::GROUP,
        Some(id),
        json!({ "name": name }),
    )?;
    dbackup_web::no_content()
}
