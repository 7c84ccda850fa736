//! Adapter types, and create/list/get/update/delete of adapters, plus their health history.

use dbackup_adapters_core::registry::{self, Kind};
use dbackup_adapters_core::store::adapter_not_found;
use dbackup_adapters_core::{api, secrets, store, validate, worker_spec, Adapter, SecretBox};
use dbackup_core::db::{Db, Value as DbValue};
use dbackup_core::ApiError;
use dbackup_web::gate::Ctx;
use serde_json::{json, Value};
use spin_sdk::http::Response;

use crate::access;

/// `name=value` pairs of the query string (values with `%XX` and `+` decoded).
pub fn query_param(ctx: &Ctx, name: &str) -> Option<String> {
    ctx.query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 2;
            }
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `encryption_key` box.
pub fn sealer(ctx: &Ctx) -> Result<SecretBox, ApiError> {
    ctx.secret_box()
}

/// `GET /api/adapter-types[?type=]`: the registry with each adapter's JSON Schema.
pub fn types(ctx: &Ctx) -> Result<Response, ApiError> {
    let kind = kind_param(ctx)?;
    dbackup_web::ok(&registry::describe_all(kind))
}

fn kind_param(ctx: &Ctx) -> Result<Option<Kind>, ApiError> {
    match query_param(ctx, "type").filter(|s| !s.is_empty()) {
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
    let all = store::list(&ctx.db, &sealer(ctx)?, kind)?;
    let visible: Vec<_> = all
        .iter()
        .filter(|a| access::can_read(ctx, a.kind))
        .map(Adapter::to_public)
        .collect::<Result<_, _>>()?;
    dbackup_web::ok(&visible)
}

/// Loads an adapter the caller may see (`write`: and change).
pub fn load_for(ctx: &Ctx, write: bool) -> Result<Adapter, ApiError> {
    let id = ctx.param("id")?;
    let kind = kind_of(&ctx.db, id)?;
    access::require_on(ctx, kind, write)?;
    store::load(&ctx.db, &sealer(ctx)?, id)
}

/// The kind of adapter `id` (404 if absent), read without decrypting anything.
fn kind_of(db: &dyn Db, id: &str) -> Result<Kind, ApiError> {
    let rows = db.execute(
        r#"SELECT "type" FROM "AdapterConfig" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let t = rows
        .scalar()
        .and_then(DbValue::as_str)
        .ok_or_else(adapter_not_found)?;
    Kind::parse(t).ok_or_else(|| ApiError::internal(format!("adapter {id} has type {t}")))
}

/// `GET /api/adapters/{id}`.
pub fn get(ctx: &Ctx) -> Result<Response, ApiError> {
    dbackup_web::ok(&load_for(ctx, false)?.to_public()?)
}

fn check_name(name: &str) -> Result<String, ApiError> {
    validate::name(name)
}

/// The registry entry for `adapter_id`, checked against a given `type`.
pub fn adapter_type(
    adapter_id: &str,
    kind: Option<&str>,
) -> Result<&'static registry::AdapterType, ApiError> {
    let t = registry::find(adapter_id).ok_or_else(|| {
        ApiError::bad_request(format!("unknown adapterId {adapter_id:?}"))
            .with_details(json!({"field": "adapterId"}))
    })?;
    if let Some(k) = kind {
        if k != t.kind.as_str() {
            return Err(ApiError::bad_request(format!(
                "adapter {} is of type {}, not {k}",
                t.id,
                t.kind.as_str()
            ))
            .with_details(json!({"field": "type"})));
        }
    }
    Ok(t)
}

/// What audit rows record of an adapter: never its config.
fn audit_details(name: &str, t: &registry::AdapterType) -> Value {
    json!({"name": name, "type": t.kind.as_str(), "adapterId": t.id})
}

/// The audit details of a change of `current` by a request config `incoming` (as sent: the
/// secret marker counts as unchanged): the adapter and the names of the fields that differ,
/// never a value.
pub fn change_details(name: &str, current: &Adapter, incoming: Option<&Value>) -> Value {
    let mut details = json!({
        "name": name,
        "type": current.kind.as_str(),
        "adapterId": current.adapter_id,
    });
    if let Some(c) = incoming.and_then(Value::as_object) {
        details["changedFields"] = json!(c
            .keys()
            .filter(
                |k| c.get(*k) != current.config.get(*k).or(Some(&Value::Null))
                    && c.get(*k).and_then(Value::as_str) != Some(secrets::MASK)
            )
            .collect::<Vec<_>>());
    }
    details
}

/// A local destination's or SQLite source's path must be one the worker accepts (400 naming
/// `path`).
async fn check_worker_path(
    t: &registry::AdapterType,
    config: &serde_json::Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(request) = worker_spec::path_check(t.id, config) else {
        return Ok(());
    };
    let (status, body) = dbackup_web::worker::post_json("/v1/storage/check", &request).await?;
    worker_spec::path_verdict(t.id, status, &body)
}

/// `POST /api/adapters` `{name, type?, adapterId, config}` → 201 with the masked adapter.
pub async fn create(ctx: &Ctx) -> Result<Response, ApiError> {
    let body: api::NewAdapter = ctx.body()?;
    let t = adapter_type(&body.adapter_id, body.kind.as_deref())?;
    access::require(ctx, t.kind, true)?;
    let name = check_name(&body.name)?;
    let config = validate::validate(t, &body.config)?;
    check_worker_path(t, &config).await?;
    let id = store::new_id()?;
    store::insert(&ctx.db, &sealer(ctx)?, &id, &name, t, &config)?;
    ctx.audit("create", "adapter", Some(&id), audit_details(&name, t))?;
    let created = store::load(&ctx.db, &sealer(ctx)?, &id)?;
    dbackup_web::created(&created.to_public()?)
}

/// `PUT /api/adapters/{id}` `{name?, config?}`: a secret sent as `"••••"` keeps the stored one,
/// unless a field binding it to its target changes (400 naming the secret, see
/// [`secrets::merge`]).
pub async fn update(ctx: &Ctx) -> Result<Response, ApiError> {
    let current = load_for(ctx, true)?;
    let body: api::AdapterUpdate = ctx.body()?;
    let t = current.adapter_type()?;
    if body.adapter_id.as_deref().is_some_and(|a| a != t.id)
        || body.kind.as_deref().is_some_and(|k| k != t.kind.as_str())
    {
        return Err(ApiError::bad_request(
            "type and adapterId cannot be changed; create a new adapter instead",
        ));
    }
    let name = match &body.name {
        Some(n) => check_name(n)?,
        None => current.name.clone(),
    };
    let config = match &body.config {
        Some(c) => validate::validate(t, &secrets::merge(t, c, &current.config)?)?,
        None => current.config.clone(),
    };
    if body.config.is_some() {
        check_worker_path(t, &config).await?;
    }
    store::update(&ctx.db, &sealer(ctx)?, &current.id, &name, t, &config)?;
    let details = change_details(&name, &current, body.config.as_ref());
    ctx.audit("update", "adapter", Some(&current.id), details)?;
    let updated = store::load(&ctx.db, &sealer(ctx)?, &current.id)?;
    dbackup_web::ok(&updated.to_public()?)
}

/// `DELETE /api/adapters/{id}`: 409 naming the jobs that use it.
pub fn delete(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("id")?;
    let kind = kind_of(&ctx.db, id)?;
    access::require_on(ctx, kind, true)?;
    let name = ctx
        .db
        .execute(
            r#"SELECT "name", "adapterId" FROM "AdapterConfig" WHERE "id" = ?"#,
            &[id.into()],
        )?
        .rows
        .first()
        .map(|r| {
            (
                r.first().and_then(DbValue::as_str).unwrap_or("").to_owned(),
                r.get(1).and_then(DbValue::as_str).unwrap_or("").to_owned(),
            )
        })
        .unwrap_or_default();
    store::delete(&ctx.db, id)?;
    ctx.audit(
        "delete",
        "adapter",
        Some(id),
        json!({"name": name.0, "type": kind.as_str(), "adapterId": name.1}),
    )?;
    dbackup_web::no_content()
}

/// `GET /api/adapters/{id}/health?from&to`: the check history (oldest first, at most 5000
/// rows) and the current status.
pub fn health(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("id")?;
    let kind = kind_of(&ctx.db, id)?;
    access::require_on(ctx, kind, false)?;
    let from = query_param(ctx, "from").unwrap_or_default();
    let to = query_param(ctx, "to").unwrap_or_else(|| "9999".to_owned());
    let rows = ctx.db.execute(
        r#"SELECT "status", "latencyMs", "error", "createdAt" FROM "HealthCheckLog"
           WHERE "adapterConfigId" = ? AND "createdAt" >= ? AND "createdAt" <= ?
           ORDER BY "createdAt" LIMIT 5000"#,
        &[id.into(), from.into(), to.into()],
    )?;
    let entries: Vec<api::HealthEntry> = rows
        .rows
        .iter()
        .map(|r| {
            let text = |i: usize| r.get(i).and_then(DbValue::as_str).map(str::to_owned);
            api::HealthEntry {
                status: text(0),
                latency_ms: r.get(1).and_then(DbValue::as_i64),
                error: text(2),
                created_at: text(3),
            }
        })
        .collect();
    let state = ctx.db.execute(
        r#"SELECT "lastStatus", "lastHealthCheck", "consecutiveFailures" FROM "AdapterConfig"
           WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let s = state.rows.first().ok_or_else(adapter_not_found)?;
    dbackup_web::ok(&api::HealthHistory {
        adapter_id: id.to_owned(),
        status: s.first().and_then(DbValue::as_str).map(str::to_owned),
        last_health_check: s.get(1).and_then(DbValue::as_str).map(str::to_owned),
        consecutive_failures: s.get(2).and_then(DbValue::as_i64),
        entries,
    })
}
