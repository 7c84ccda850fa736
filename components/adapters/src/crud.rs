//! `GET /api/adapter-types`, create/list/get/update/delete of adapters, and their health
//! history. The rules are `dbackup_adapters_core::manage`; here: parse, authorize, audit.

use dbackup_adapters_core::registry::{self, Kind};
use dbackup_adapters_core::{api, health, manage, store, Adapter};
use dbackup_core::query::query_param;
use dbackup_core::ApiError;
use dbackup_web::gate::Ctx;
use dbackup_web::worker::SpinWorker;
use serde_json::json;
use spin_sdk::http::Response;

use crate::access;

/// `GET /api/adapter-types[?type=]`: the registry with each adapter's JSON Schema.
pub fn types(ctx: &Ctx) -> Result<Response, ApiError> {
    let kind = kind_param(ctx)?;
    dbackup_web::ok(&registry::describe_all(kind))
}

fn kind_param(ctx: &Ctx) -> Result<Option<Kind>, ApiError> {
    match query_param(&ctx.query, "type").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) => Kind::parse(&t).map(Some).ok_or_else(|| {
            ApiError::bad_request("type must be database, storage or notification")
                .with_details(json!({"field": "type"}))
        }),
    }
}

/// `GET /api/adapters[?type=]`: the adapters of the kinds the caller may read (asking for one
/// kind without its read permission is a 403).
pub fn list(ctx: &Ctx) -> Result<Response, ApiError> {
    let kind = kind_param(ctx)?;
    if let Some(k) = kind {
        access::require(ctx, k, false)?;
    }
    let all = store::list(&ctx.db, &ctx.secret_box()?, kind)?;
    let visible: Vec<_> = all
        .iter()
        .filter(|a| access::can_read(ctx, a.kind))
        .map(Adapter::to_public)
        .collect::<Result<_, _>>()?;
    dbackup_web::ok(&visible)
}

/// Loads adapter `{id}` if the caller may see it (`write`: and change it).
pub fn load_for(ctx: &Ctx, write: bool) -> Result<Adapter, ApiError> {
    let id = ctx.param("id")?;
    access::require_on(ctx, store::kind_of(&ctx.db, id)?, write)?;
    store::load(&ctx.db, &ctx.secret_box()?, id)
}

/// `GET /api/adapters/{id}`.
pub fn get(ctx: &Ctx) -> Result<Response, ApiError> {
    dbackup_web::ok(&load_for(ctx, false)?.to_public()?)
}

/// `POST /api/adapters` `{name, type?, adapterId, config}` → 201 with the masked adapter.
pub async fn create(ctx: &Ctx) -> Result<Response, ApiError> {
    let body: api::NewAdapter = ctx.body()?;
    let t = manage::adapter_type(&body.adapter_id, body.kind.as_deref())?;
    access::require(ctx, t.kind, true)?;
    let sealer = ctx.secret_box()?;
    let (id, details) = manage::create(&ctx.db, &sealer, &SpinWorker, t, &body).await?;
    ctx.audit("create", "adapter", Some(&id), details)?;
    dbackup_web::created(&store::load(&ctx.db, &sealer, &id)?.to_public()?)
}

/// `PUT /api/adapters/{id}` `{name?, config?}` → the masked adapter.
pub async fn update(ctx: &Ctx) -> Result<Response, ApiError> {
    let current = load_for(ctx, true)?;
    let body: api::AdapterUpdate = ctx.body()?;
    let sealer = ctx.secret_box()?;
    let details = manage::update(&ctx.db, &sealer, &SpinWorker, &current, &body).await?;
    ctx.audit("update", "adapter", Some(&current.id), details)?;
    dbackup_web::ok(&store::load(&ctx.db, &sealer, &current.id)?.to_public()?)
}

/// `DELETE /api/adapters/{id}`: 409 naming the jobs that use it.
pub fn delete(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("id")?;
    access::require_on(ctx, store::kind_of(&ctx.db, id)?, true)?;
    let details = manage::delete(&ctx.db, id)?;
    ctx.audit("delete", "adapter", Some(id), details)?;
    dbackup_web::no_content()
}

/// `GET /api/adapters/{id}/health?from&to`: the check history (oldest first, at most 5000
/// rows) and the current status.
pub fn health(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("id")?;
    access::require_on(ctx, store::kind_of(&ctx.db, id)?, false)?;
    let from = query_param(&ctx.query, "from").unwrap_or_default();
    let to = query_param(&ctx.query, "to").unwrap_or_else(|| "9999".to_owned());
    dbackup_web::ok(&health::history(&ctx.db, id, &from, &to)?)
}
