//! `GET/PATCH /api/settings` (settings:read, settings:write).
//!
//! The keys, types, ranges and defaults live in `dbackup_identity::settings::ALL`, the one
//! definition every reader (identity, runner, jobs and adapters cores) uses.

use dbackup_core::ApiError;
use dbackup_identity::audit::{action, resource};
use dbackup_identity::settings;
use dbackup_web::gate::Ctx;
use serde_json::{json, Map, Value};
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// `GET /api/settings` → every known setting with its value (or default).
pub fn get(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&settings::current(&ctx.db)?)
}

/// `PATCH /api/settings` `{key: value, …}` → every known setting after the change. Unknown keys
/// are a 400 naming them; each change is audited with its old and new value.
pub fn update(ctx: &Ctx) -> Answer {
    let patch = ctx.body_value()?;
    let changes = settings::update(&ctx.db, &patch, ctx.now)?;
    if !changes.is_empty() {
        let details: Map<String, Value> = changes
            .iter()
            .map(|c| (c.key.to_owned(), json!({ "old": c.old, "new": c.new })))
            .collect();
        ctx.audit(
            action::UPDATE,
            resource::SETTINGS,
            None,
            Value::Object(details),
        )?;
    }
    dbackup_web::ok(&settings::current(&ctx.db)?)
}
