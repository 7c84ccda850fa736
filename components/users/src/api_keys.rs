//! /api/api-keys: the caller's API keys (api-keys:read, api-keys:write).

use dbackup_core::ApiError;
use dbackup_identity::api_keys::{self, NewApiKeyRequest};
use dbackup_identity::audit::{action, resource};
use dbackup_web::gate::Ctx;
use serde_json::json;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// `GET /api/api-keys` → the caller's keys, newest first (never the secret).
pub fn list(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&api_keys::list_for_user(
        &ctx.db,
        ctx.principal()?.user_id(),
    )?)
}

/// `POST /api/api-keys` `{name, permissions, expiresAt?}` → 201 with the key and, this once,
/// the full `key`. The permissions must be a subset of the caller's.
pub fn create(ctx: &Ctx) -> Answer {
    let req: NewApiKeyRequest = ctx.body()?;
    let p = ctx.principal()?;
    let created = api_keys::create(&ctx.db, p.user_id(), &p.permissions(), &req, ctx.now)?;
    let k = &created.key;
    ctx.audit(
        action::CREATE,
        resource::API_KEY,
        Some(&k.id),
        json!({ "name": k.name, "prefix": k.prefix, "permissions": k.permissions,
                "expiresAt": k.expires_at }),
    )?;
    dbackup_web::created(&created)
}

/// `DELETE /api/api-keys/{id}` → 204; 404 unless it is the caller's.
pub fn delete(ctx: &Ctx) -> Answer {
    let id = ctx.param("id")?;
    let user_id = ctx.principal()?.user_id();
    let name = api_keys::list_for_user(&ctx.db, user_id)?
        .into_iter()
        .find(|k| k.id == id)
        .map(|k| k.name);
    api_keys::delete(&ctx.db, id, user_id)?;
    ctx.audit(
        action::DELETE,
        resource::API_KEY,
        Some(id),
        json!({ "name": name }),
    )?;
    dbackup_web::no_content()
}
