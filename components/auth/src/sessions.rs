//! The caller and their sessions.

use dbackup_core::ApiError;
use dbackup_identity::audit::{action, resource};
use dbackup_identity::authorize;
use dbackup_identity::sessions;
use dbackup_identity::Permission;
use dbackup_web::gate::Ctx;
use serde_json::json;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// `GET /api/auth/session` → who is calling: user (with group), permissions, session.
pub fn current(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&authorize::who_am_i(&ctx.db, ctx.principal()?)?)
}

/// `GET /api/auth/sessions` → the caller's live sessions, newest first, `current` marked.
pub fn list(ctx: &Ctx) -> Answer {
    let p = ctx.principal()?;
    let list = sessions::list_for_user(&ctx.db, p.user_id(), p.session_id(), ctx.now)?;
    dbackup_web::ok(&list)
}

/// `DELETE /api/auth/sessions/{id}` → 204. One's own sessions; anyone's with users:write. 404
/// for a session that does not exist or is someone else's.
pub fn revoke(ctx: &Ctx) -> Answer {
    let p = ctx.principal()?;
    let id = ctx.param("id")?;
    let owner = sessions::get(&ctx.db, id)?.map(|s| s.user_id);
    sessions::revoke(&ctx.db, id, p.user_id(), p.has(Permission::UsersWrite))?;
    ctx.audit(
        action::DELETE,
        resource::SESSION,
        Some(id),
        json!({ "userId": owner }),
    )?;
    let mut resp = dbackup_web::no_content()?;
    if p.session_id() == Some(id) {
        resp.set_header("set-cookie", ctx.clear_cookie());
    }
    Ok(resp)
}
