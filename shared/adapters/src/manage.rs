//! Creating, changing and deleting adapters as `/api/adapters` does: the type a request names
//! checked against the registry, the name and config validated, a path the worker must accept
//! checked by the worker, the row written with its secrets sealed, and what the audit row
//! records (names of changed fields, never a value). The caller authorizes first (the
//! adapter's kind decides the permission).

use dbackup_core::db::{Db, Value as DbValue};
use dbackup_core::worker::Worker;
use dbackup_core::ApiError;
use serde_json::{json, Map, Value};

use crate::api::{AdapterUpdate, NewAdapter};
use crate::registry::{self, AdapterType};
use crate::{secrets, store, validate, worker_spec, Adapter, SecretBox};

/// The registry entry for `adapter_id`, checked against a given `type` (400 naming the field).
pub fn adapter_type(
    adapter_id: &str,
    kind: Option<&str>,
) -> Result<&'static AdapterType, ApiError> {
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
fn audit_details(name: &str, kind: &str, adapter_id: &str) -> Value {
    json!({"name": name, "type": kind, "adapterId": adapter_id})
}

/// The audit details of a change of `current` by a request config `incoming` (as sent: the
/// secret marker counts as unchanged): the adapter and the names of the fields that differ,
/// never a value.
pub fn change_details(name: &str, current: &Adapter, incoming: Option<&Value>) -> Value {
    let mut details = audit_details(name, current.kind.as_str(), &current.adapter_id);
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
pub async fn check_worker_path(
    worker: &impl Worker,
    t: &AdapterType,
    config: &Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(request) = worker_spec::path_check(t.id, config) else {
        return Ok(());
    };
    let (status, body) = worker.post_json("/v1/storage/check", &request).await?;
    worker_spec::path_verdict(t.id, status, &body)
}

/// Creates the adapter `body` describes, of type `t` (checked and authorized by the caller);
/// returns its id and the audit details.
pub async fn create(
    db: &dyn Db,
    sealer: &SecretBox,
    worker: &impl Worker,
    t: &'static AdapterType,
    body: &NewAdapter,
) -> Result<(String, Value), ApiError> {
    let name = validate::name(&body.name)?;
    let config = validate::validate(t, &body.config)?;
    check_worker_path(worker, t, &config).await?;
    let id = store::new_id()?;
    store::insert(db, sealer, &id, &name, t, &config)?;
    Ok((id, audit_details(&name, t.kind.as_str(), t.id)))
}

/// Changes `current` (loaded and authorized by the caller) as `body` says: a secret sent as
/// `"••••"` keeps the stored one, unless a field binding it to its target changes (400 naming
/// the secret, see [`secrets::merge`]); type and adapterId never change. Returns the audit
/// details.
pub async fn update(
    db: &dyn Db,
    sealer: &SecretBox,
    worker: &impl Worker,
    current: &Adapter,
    body: &AdapterUpdate,
) -> Result<Value, ApiError> {
    let t = current.adapter_type()?;
    if body.adapter_id.as_deref().is_some_and(|a| a != t.id)
        || body.kind.as_deref().is_some_and(|k| k != t.kind.as_str())
    {
        return Err(ApiError::bad_request(
            "type and adapterId cannot be changed; create a new adapter instead",
        ));
    }
    let name = match &body.name {
        Some(n) => validate::name(n)?,
        None => current.name.clone(),
    };
    let config = match &body.config {
        Some(c) => validate::validate(t, &secrets::merge(t, c, &current.config)?)?,
        None => current.config.clone(),
    };
    if body.config.is_some() {
        check_worker_path(worker, t, &config).await?;
    }
    store::update(db, sealer, &current.id, &name, t, &config)?;
    Ok(change_details(&name, current, body.config.as_ref()))
}

/// Deletes adapter `id` (404 if absent, 409 naming the jobs that use it); returns the audit
/// details.
pub fn delete(db: &dyn Db, id: &str) -> Result<Value, ApiError> {
    let rows = db.execute(
        r#"SELECT "name", "type", "adapterId" FROM "AdapterConfig" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let text = |i: usize| {
        rows.rows
            .first()
            .and_then(|r| r.get(i))
            .and_then(DbValue::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let details = audit_details(&text(0), &text(1), &text(2));
    store::delete(db, id)?;
    Ok(details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Kind;
    use dbackup_core::native_sqlite::TestDb;
    use dbackup_core::worker::fake::{block_on, FakeWorker};

    fn sealer() -> SecretBox {
        SecretBox::from_hex_key(&"22".repeat(32)).unwrap()
    }

    #[test]
    fn the_type_must_exist_and_match() {
        assert_eq!(
            adapter_type("postgres", Some("database")).unwrap().id,
            "postgres"
        );
        let e = adapter_type("nope", None).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "adapterId");
        let e = adapter_type("postgres", Some("storage")).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "type");
    }

    #[test]
    fn create_checks_a_local_path_with_the_worker_then_update_and_delete_audit_names_only() {
        let db = TestDb::migrated();
        let w = FakeWorker::new();
        w.answer("/v1/storage/check", 200, json!({"ok": true}));
        let t = adapter_type("local", None).unwrap();
        let body: NewAdapter = serde_json::from_value(
            json!({"name": " backups ", "adapterId": "local", "config": {"path": "/srv/b"}}),
        )
        .unwrap();
        let (id, details) = block_on(create(&db, &sealer(), &w, t, &body)).unwrap();
        assert_eq!(
            details,
            json!({"name": "backups", "type": "storage", "adapterId": "local"})
        );
        assert_eq!(
            w.requests_to("/v1/storage/check")[0].body,
            json!({"storage": {"kind": "local", "path": "/srv/b"}})
        );
        let current = store::load(&db, &sealer(), &id).unwrap();
        assert_eq!(current.kind, Kind::Storage);
        let change: AdapterUpdate =
            serde_json::from_value(json!({"config": {"path": "/srv/c"}})).unwrap();
        let details = block_on(update(&db, &sealer(), &w, &current, &change)).unwrap();
        assert_eq!(details["changedFields"], json!(["path"]));
        assert_eq!(w.requests_to("/v1/storage/check").len(), 2);
        let retype: AdapterUpdate = serde_json::from_value(json!({"adapterId": "s3"})).unwrap();
        assert_eq!(
            block_on(update(&db, &sealer(), &w, &current, &retype))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(store::kind_of(&db, &id).unwrap(), Kind::Storage);
        assert_eq!(
            delete(&db, &id).unwrap(),
            json!({"name": "backups", "type": "storage", "adapterId": "local"})
        );
        assert_eq!(store::kind_of(&db, &id).unwrap_err().status, 404);
    }

    #[test]
    fn a_path_the_worker_refuses_writes_nothing() {
        let db = TestDb::migrated();
        let w = FakeWorker::new();
        w.answer(
            "/v1/storage/check",
            400,
            json!({"error": "invalid request", "details": "storage.path: outside the local roots"}),
        );
        let t = adapter_type("local", None).unwrap();
        let body: NewAdapter = serde_json::from_value(
            json!({"name": "b", "adapterId": "local", "config": {"path": "/etc"}}),
        )
        .unwrap();
        let e = block_on(create(&db, &sealer(), &w, t, &body)).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "AdapterConfig""#), 0);
    }
}
