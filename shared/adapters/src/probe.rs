//! "Test this adapter": the one code path behind `POST /api/adapters/test`,
//! `POST /api/adapters/{id}/test`, `GET /api/adapters/{id}/databases` and the runner's health
//! checks ([`crate::health::run_round`]). Databases are probed by the worker (`/v1/probe`),
//! storage by the worker (`/v1/storage/probe`), notification channels by sending a real test
//! message ([`Deliver`]). Every test answers `{ok, latencyMs, version?, message}`; a failed test
//! is `ok: false` with a message saying why, never an error.
//!
//! Callers bound the wait: the worker client and the deliverer they pass answer within
//! [`TEST_TIMEOUT`] (a silent one reports `no answer within 15 s`).

use std::time::{Duration, Instant};

use dbackup_core::db::Db;
use dbackup_core::worker::Worker;
use dbackup_core::ApiError;
use serde_json::{json, Map, Value};

use crate::api::{AdapterTestRequest, TestResult};
use crate::notify::{test_message, Deliver, Delivered};
use crate::registry::{self, AdapterType, Kind};
use crate::{manage, render_notification, secrets, store, validate};
use crate::{worker_source, worker_storage, Adapter};

/// How long a connection test may take.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(15);

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A failed test that started at `started`.
fn failed(started: Instant, message: impl Into<String>) -> TestResult {
    TestResult::failed(elapsed_ms(started), message)
}

/// The text of a worker's refusal: `error: details`, or `error (HTTP status)` without details.
pub fn refusal_text(status: u16, body: &Value) -> String {
    let error = body["error"].as_str().unwrap_or("worker error");
    match &body["details"] {
        Value::String(d) if !d.is_empty() => format!("{error}: {d}"),
        Value::Null => format!("{error} (HTTP {status})"),
        other => format!("{error}: {other}"),
    }
}

/// Posts to the worker; `Err` is the failure message.
async fn call(worker: &impl Worker, path: &str, body: &Value) -> Result<(u16, Value), String> {
    worker.post_json(path, body).await.map_err(|e| e.message)
}

/// Databases of a probe answer as `[{name, system}]` (older workers send plain names).
fn databases_of(body: &Value) -> Vec<Value> {
    body["databases"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|d| match d {
                    Value::String(name) => json!({"name": name, "system": false}),
                    other => other.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn test_database(worker: &impl Worker, a: &Adapter, started: Instant) -> TestResult {
    let source = match worker_source(a) {
        Ok(s) => s,
        Err(e) => return failed(started, e.message),
    };
    match call(worker, "/v1/probe", &source).await {
        Err(m) => failed(started, m),
        Ok((200, body)) => {
            let version = body["version"].as_str().map(str::to_owned);
            let edition = body["edition"].as_str().map(str::to_owned);
            let name = registry::find(&a.adapter_id).map_or(a.adapter_id.as_str(), |t| t.name);
            TestResult {
                ok: true,
                latency_ms: body["latencyMs"]
                    .as_u64()
                    .unwrap_or_else(|| elapsed_ms(started)),
                message: format!(
                    "connected to {name}{}",
                    version
                        .as_deref()
                        .map(|v| format!(" {v}"))
                        .unwrap_or_default()
                ),
                version,
                edition,
                databases: Some(databases_of(&body)),
            }
        }
        Ok((status, body)) => failed(started, refusal_text(status, &body)),
    }
}

async fn test_storage(worker: &impl Worker, a: &Adapter, started: Instant) -> TestResult {
    let storage = match worker_storage(a) {
        Ok(s) => s,
        Err(e) => return failed(started, e.message),
    };
    match call(worker, "/v1/storage/probe", &json!({ "storage": storage })).await {
        Err(m) => failed(started, m),
        Ok((200, body)) if body["ok"] != json!(false) => TestResult {
            ok: true,
            latency_ms: body["latencyMs"]
                .as_u64()
                .unwrap_or_else(|| elapsed_ms(started)),
            version: None,
            edition: None,
            message: body["message"]
                .as_str()
                .unwrap_or("listed, wrote, read back and deleted a probe object")
                .to_owned(),
            databases: None,
        },
        Ok((200, body)) => failed(
            started,
            body["message"].as_str().unwrap_or("storage probe failed"),
        ),
        Ok((status, body)) => failed(started, refusal_text(status, &body)),
    }
}

async fn test_notification(deliver: &impl Deliver, a: &Adapter, started: Instant) -> TestResult {
    let outbound = match render_notification(a, &test_message()) {
        Ok(o) => o,
        Err(e) => return failed(started, e.message),
    };
    let message = match deliver.send(outbound).await {
        Err(m) => return failed(started, m),
        Ok(Delivered::Http(status)) => format!("test message sent (HTTP {status})"),
        Ok(Delivered::Email(said)) => said.unwrap_or_else(|| "test e-mail sent".to_owned()),
        Ok(Delivered::Sent) => "test message sent".to_owned(),
    };
    TestResult {
        ok: true,
        latency_ms: elapsed_ms(started),
        version: None,
        edition: None,
        message,
        databases: None,
    }
}

/// Tests an adapter, saved or not.
pub async fn test(worker: &impl Worker, deliver: &impl Deliver, a: &Adapter) -> TestResult {
    let started = Instant::now();
    match a.kind {
        Kind::Database => test_database(worker, a, started).await,
        Kind::Storage => test_storage(worker, a, started).await,
        Kind::Notification => test_notification(deliver, a, started).await,
    }
}

/// The adapter a `POST /api/adapters/test` body describes, validated, and (with `id`) the
/// audit details of the test: `stored` is that adapter, already loaded and authorized by the
/// caller. `"••••"` takes the stored secrets under the rule of updates (no field binding them
/// may change, see [`secrets::merge`]).
pub fn unsaved(
    t: &'static AdapterType,
    body: &AdapterTestRequest,
    stored: Option<&Adapter>,
) -> Result<(Adapter, Option<Value>), ApiError> {
    let mut config = body.config.clone();
    let mut audit = None;
    if let Some(stored) = stored {
        if stored.adapter_id != t.id {
            return Err(
                ApiError::bad_request("id names an adapter of another adapterId")
                    .with_details(json!({"field": "id"})),
            );
        }
        config = secrets::merge(t, &config, &stored.config)?;
        audit = Some(manage::change_details(
            &stored.name,
            stored,
            Some(&body.config),
        ));
    }
    let adapter = not_stored(
        body.id.clone().unwrap_or_else(|| "unsaved".into()),
        body.name.clone().unwrap_or_else(|| t.name.to_owned()),
        t,
        validate::validate(t, &config)?,
    );
    Ok((adapter, audit))
}

/// An adapter as it would be stored, without a row: what a test of a form's config runs on.
pub fn not_stored(
    id: String,
    name: String,
    t: &AdapterType,
    config: Map<String, Value>,
) -> Adapter {
    Adapter {
        id,
        name,
        kind: t.kind,
        adapter_id: t.id.to_owned(),
        config,
        metadata: Map::new(),
        created_at: String::new(),
        updated_at: String::new(),
        last_health_check: None,
        last_status: "ONLINE".into(),
        consecutive_failures: 0,
    }
}

/// Records the engine version of a successful database probe in `metadata` (`now`: ISO-8601).
fn record_version(
    db: &dyn Db,
    a: &Adapter,
    result: &TestResult,
    now: &str,
) -> Result<(), ApiError> {
    if a.kind != Kind::Database || !result.ok {
        return Ok(());
    }
    let mut patch = Map::new();
    if let Some(v) = &result.version {
        patch.insert("engineVersion".into(), json!(v));
    }
    if let Some(e) = &result.edition {
        patch.insert("engineEdition".into(), json!(e));
    }
    patch.insert("lastCheck".into(), json!(now));
    store::merge_metadata(db, &a.id, &patch)
}

/// Tests a saved adapter; a database's server version goes into its `metadata`.
pub async fn test_saved(
    db: &dyn Db,
    worker: &impl Worker,
    deliver: &impl Deliver,
    a: &Adapter,
    now: &str,
) -> Result<TestResult, ApiError> {
    let result = test(worker, deliver, a).await;
    record_version(db, a, &result, now)?;
    Ok(result)
}

/// The databases of a saved source, `[{name, system}]` from the worker's probe: 400 for an
/// adapter that is not a database source, 502 with the reason when its server cannot be
/// reached.
pub async fn databases(
    db: &dyn Db,
    worker: &impl Worker,
    deliver: &impl Deliver,
    a: &Adapter,
    now: &str,
) -> Result<Vec<Value>, ApiError> {
    if a.kind != Kind::Database {
        return Err(ApiError::bad_request(
            "only database sources have databases",
        ));
    }
    let result = test_saved(db, worker, deliver, a, now).await?;
    if !result.ok {
        return Err(ApiError::new(
            502,
            format!("cannot list databases: {}", result.message),
        ));
    }
    Ok(result.databases.unwrap_or_default())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::notify::OutboundMessage;
    use dbackup_core::worker::fake::{block_on, FakeWorker};
    use std::cell::RefCell;

    /// A deliverer that records what it is asked to send and answers as scripted.
    #[derive(Default)]
    pub struct Outbox {
        pub sent: RefCell<Vec<OutboundMessage>>,
        pub answer: RefCell<Option<Result<Delivered, String>>>,
    }

    impl Deliver for Outbox {
        async fn deliver(&self, out: OutboundMessage) -> Result<(), String> {
            self.send(out).await.map(|_| ())
        }
        async fn send(&self, out: OutboundMessage) -> Result<Delivered, String> {
            self.sent.borrow_mut().push(out);
            self.answer
                .borrow()
                .clone()
                .unwrap_or(Ok(Delivered::Http(200)))
        }
    }

    pub fn adapter(kind: Kind, adapter_id: &str, config: Value) -> Adapter {
        let t = registry::find(adapter_id).unwrap();
        assert_eq!(t.kind, kind);
        let config = config.as_object().cloned().unwrap_or_default();
        not_stored("a1".into(), "main".into(), t, config)
    }

    fn postgres() -> Adapter {
        adapter(
            Kind::Database,
            "postgres",
            json!({"host": "db", "port": 5432, "user": "u", "password": "p", "database": "app"}),
        )
    }

    #[test]
    fn a_database_probe_names_the_server_and_lists_databases() {
        let w = FakeWorker::new();
        w.answer(
            "/v1/probe",
            200,
            json!({"version": "16.2", "latencyMs": 7, "databases": ["app", {"name": "postgres", "system": true}]}),
        );
        let r = block_on(test(&w, &Outbox::default(), &postgres()));
        assert!(r.ok, "{r:?}");
        assert_eq!(r.message, "connected to PostgreSQL 16.2");
        assert_eq!(r.latency_ms, 7);
        assert_eq!(
            r.databases.unwrap(),
            vec![
                json!({"name": "app", "system": false}),
                json!({"name": "postgres", "system": true})
            ]
        );
        assert_eq!(w.requests_to("/v1/probe")[0].body["host"], "db");
    }

    #[test]
    fn failures_say_why() {
        let w = FakeWorker::new();
        w.answer(
            "/v1/probe",
            400,
            json!({"error": "connection failed", "details": "Connection refused"}),
        );
        let r = block_on(test(&w, &Outbox::default(), &postgres()));
        assert_eq!(
            (r.ok, r.message.as_str()),
            (false, "connection failed: Connection refused")
        );
        let storage = adapter(Kind::Storage, "local", json!({"path": "/b"}));
        w.answer(
            "/v1/storage/probe",
            200,
            json!({"ok": false, "message": "not writable"}),
        );
        let r = block_on(test(&w, &Outbox::default(), &storage));
        assert_eq!((r.ok, r.message.as_str()), (false, "not writable"));
        w.answer("/v1/storage/probe", 503, json!({"error": "busy"}));
        let r = block_on(test(&w, &Outbox::default(), &storage));
        assert_eq!(r.message, "busy (HTTP 503)");
        // No worker at all.
        let r = block_on(test(&FakeWorker::new(), &Outbox::default(), &storage));
        assert_eq!(r.message, "worker unreachable");
    }

    #[test]
    fn a_notification_test_sends_the_test_message() {
        let hook = adapter(
            Kind::Notification,
            "webhook",
            json!({"url": "https://hooks.example.com/x"}),
        );
        let outbox = Outbox::default();
        let r = block_on(test(&FakeWorker::new(), &outbox, &hook));
        assert_eq!(
            (r.ok, r.message.as_str()),
            (true, "test message sent (HTTP 200)")
        );
        assert_eq!(outbox.sent.borrow().len(), 1);
        *outbox.answer.borrow_mut() = Some(Err("the service answered HTTP 500".into()));
        let r = block_on(test(&FakeWorker::new(), &outbox, &hook));
        assert_eq!(
            (r.ok, r.message.as_str()),
            (false, "the service answered HTTP 500")
        );
    }

    #[test]
    fn a_saved_database_records_its_version_and_lists_databases() {
        let db = dbackup_core::native_sqlite::TestDb::migrated().with_adapters();
        let mut src = postgres();
        src.id = "src".into();
        let w = FakeWorker::new();
        w.answer(
            "/v1/probe",
            200,
            json!({"version": "15.4", "edition": "community", "databases": ["app"]}),
        );
        let list = block_on(databases(
            &db,
            &w,
            &Outbox::default(),
            &src,
            "2026-01-01T00:00:00.000Z",
        ))
        .unwrap();
        assert_eq!(list, vec![json!({"name": "app", "system": false})]);
        let meta: Value = serde_json::from_str(
            &db.text(r#"SELECT "metadata" FROM "AdapterConfig" WHERE "id" = 'src'"#)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(meta["engineVersion"], "15.4");
        assert_eq!(meta["lastCheck"], "2026-01-01T00:00:00.000Z");
        w.answer("/v1/probe", 400, json!({"error": "auth failed"}));
        let e = block_on(databases(&db, &w, &Outbox::default(), &src, "now")).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (502, "cannot list databases: auth failed (HTTP 400)")
        );
        let dst = adapter(Kind::Storage, "local", json!({"path": "/b"}));
        let e = block_on(databases(&db, &w, &Outbox::default(), &dst, "now")).unwrap_err();
        assert_eq!(e.status, 400);
    }

    #[test]
    fn an_unsaved_test_takes_stored_secrets_only_for_the_same_type() {
        let t = registry::find("postgres").unwrap();
        let stored = postgres();
        let body: AdapterTestRequest = serde_json::from_value(json!({
            "id": "a1", "adapterId": "postgres",
            "config": {"host": "db", "port": 5432, "user": "u", "password": "••••", "database": "app"}
        }))
        .unwrap();
        let (a, audit) = unsaved(t, &body, Some(&stored)).unwrap();
        assert_eq!(a.config["password"], "p");
        assert_eq!(audit.unwrap()["changedFields"], json!([]));
        let other = adapter(Kind::Database, "mysql", json!({}));
        let e = unsaved(t, &body, Some(&other)).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "id");
    }
}
