//! Connection tests and database lists. Databases are probed by the worker (`/v1/probe`),
//! storage by the worker (`/v1/storage/probe`), notification channels by sending a real test
//! message. Every test answers `{ok, latencyMs, version?, message}` within [`TEST_TIMEOUT`]; a
//! failed test is a 200 with `ok: false` and a message saying why.

use std::time::{Duration, Instant};

use dbackup_adapters_core::api::{AdapterTestRequest, TestResult};
use dbackup_adapters_core::notify::test_message;
use dbackup_adapters_core::registry::Kind;
use dbackup_adapters_core::{
    render_notification, secrets, store, validate, worker_source, worker_storage, Adapter,
    OutboundMessage,
};
use dbackup_core::ApiError;
use dbackup_web::gate::Ctx;
use dbackup_web::worker;
use serde_json::{json, Map, Value};
use spin_sdk::http::{Method, Request, Response};

use crate::{access, crud};
use dbackup_web::deadline;

/// How long a connection test may take.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A failed test that started at `started`.
fn failed(started: Instant, message: impl Into<String>) -> TestResult {
    TestResult::failed(elapsed_ms(started), message)
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The text of a worker error answer: `error: details`.
fn worker_error(status: u16, body: &Value) -> String {
    let error = body["error"].as_str().unwrap_or("worker error");
    match &body["details"] {
        Value::String(d) if !d.is_empty() => format!("{error}: {d}"),
        Value::Null => format!("{error} (HTTP {status})"),
        other => format!("{error}: {other}"),
    }
}

/// Posts to the worker within [`TEST_TIMEOUT`]; `Err` is the failure message.
async fn call_worker(path: &str, body: &Value) -> Result<(u16, Value), String> {
    match deadline::within(TEST_TIMEOUT, worker::post_json(path, body)).await {
        None => Err(format!("no answer within {} s", TEST_TIMEOUT.as_secs())),
        Some(Err(e)) => Err(e.message),
        Some(Ok(answer)) => Ok(answer),
    }
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

async fn test_database(a: &Adapter, started: Instant) -> TestResult {
    let source = match worker_source(a) {
        Ok(s) => s,
        Err(e) => return failed(started, e.message),
    };
    match call_worker("/v1/probe", &source).await {
        Err(m) => failed(started, m),
        Ok((200, body)) => {
            let version = body["version"].as_str().map(str::to_owned);
            let edition = body["edition"].as_str().map(str::to_owned);
            let name = dbackup_adapters_core::registry::find(&a.adapter_id)
                .map_or(a.adapter_id.as_str(), |t| t.name);
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
        Ok((status, body)) => failed(started, worker_error(status, &body)),
    }
}

async fn test_storage(a: &Adapter, started: Instant) -> TestResult {
    let storage = match worker_storage(a) {
        Ok(s) => s,
        Err(e) => return failed(started, e.message),
    };
    match call_worker("/v1/storage/probe", &json!({ "storage": storage })).await {
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
        Ok((status, body)) => failed(started, worker_error(status, &body)),
    }
}

/// Makes one outbound HTTP request (a chat service or webhook) within [`TEST_TIMEOUT`].
/// `Ok` is the status; `Err` a transport failure message. The answer's body is not read into
/// anything the caller sees: what a server answers is no business of the API caller (it could
/// be anything a metadata service or an internal API says).
pub async fn send_http(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &str,
) -> Result<u16, String> {
    let method = match method {
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        _ => Method::Post,
    };
    let mut builder = Request::builder();
    builder.method(method).uri(url);
    for (k, v) in headers {
        builder.header(k.as_str(), v.as_str());
    }
    let request = builder.body(body.as_bytes().to_vec()).build();
    let sent = deadline::within(TEST_TIMEOUT, spin_sdk::http::send::<_, Response>(request)).await;
    match sent {
        None => Err(format!("no answer within {} s", TEST_TIMEOUT.as_secs())),
        Some(Err(e)) => Err(format!("request failed: {e}")),
        Some(Ok(resp)) => Ok(*resp.status()),
    }
}

async fn test_notification(a: &Adapter, started: Instant) -> TestResult {
    let outbound = match render_notification(a, &test_message()) {
        Ok(o) => o,
        Err(e) => return failed(started, e.message),
    };
    match outbound {
        OutboundMessage::Http {
            method,
            url,
            headers,
            body,
        } => match send_http(&method, &url, &headers, &body).await {
            Err(m) => failed(started, m),
            Ok(status) if (200..300).contains(&status) => TestResult {
                ok: true,
                latency_ms: elapsed_ms(started),
                version: None,
                edition: None,
                message: format!("test message sent (HTTP {status})"),
                databases: None,
            },
            Ok(status) => failed(started, format!("the service answered HTTP {status}")),
        },
        OutboundMessage::Email { request } => {
            match call_worker("/v1/notify/email", &request).await {
                Err(m) => failed(started, m),
                Ok((200, body)) if body["ok"] != json!(false) => TestResult {
                    ok: true,
                    latency_ms: elapsed_ms(started),
                    version: None,
                    edition: None,
                    message: body["message"]
                        .as_str()
                        .unwrap_or("test e-mail sent")
                        .to_owned(),
                    databases: None,
                },
                Ok((200, body)) => failed(
                    started,
                    body["message"].as_str().unwrap_or("sending failed"),
                ),
                Ok((status, body)) => failed(started, worker_error(status, &body)),
            }
        }
    }
}

/// Tests an adapter (saved or not).
pub async fn run_test(a: &Adapter) -> TestResult {
    let started = Instant::now();
    match a.kind {
        Kind::Database => test_database(a, started).await,
        Kind::Storage => test_storage(a, started).await,
        Kind::Notification => test_notification(a, started).await,
    }
}

/// `POST /api/adapters/test`: tests a config that is not saved (needs the type's write
/// permission, since it connects wherever the body says). With `id`, `"••••"` takes that
/// adapter's stored secrets under the rule of updates (no field binding them may change, see
/// [`secrets::merge`]) and the test is audited like an update (`test`, the adapter and the
/// changed field names, never a value).
pub async fn test_unsaved(ctx: &Ctx) -> Result<Response, ApiError> {
    let body: AdapterTestRequest = ctx.body()?;
    let t = crud::adapter_type(&body.adapter_id, body.kind.as_deref())?;
    access::require(ctx, t.kind, true)?;
    let mut config = body.config.clone();
    let mut audit = None;
    if let Some(id) = &body.id {
        let stored = store::load(&ctx.db, &crud::sealer(ctx)?, id)?;
        access::require_on(ctx, stored.kind, true)?;
        if stored.adapter_id != t.id {
            return Err(
                ApiError::bad_request("id names an adapter of another adapterId")
                    .with_details(json!({"field": "id"})),
            );
        }
        config = secrets::merge(t, &config, &stored.config)?;
        audit = Some(crud::change_details(
            &stored.name,
            &stored,
            Some(&body.config),
        ));
    }
    let config = validate::validate(t, &config)?;
    if let (Some(id), Some(details)) = (&body.id, audit) {
        // Written before the test runs: a test that hangs or crashes is on record too.
        ctx.audit("test", "adapter", Some(id), details)?;
    }
    let adapter = Adapter {
        id: body.id.clone().unwrap_or_else(|| "unsaved".into()),
        name: body.name.clone().unwrap_or_else(|| t.name.to_owned()),
        kind: t.kind,
        adapter_id: t.id.to_owned(),
        config,
        metadata: Map::new(),
        created_at: String::new(),
        updated_at: String::new(),
        last_health_check: None,
        last_status: "ONLINE".into(),
        consecutive_failures: 0,
    };
    dbackup_web::ok(&run_test(&adapter).await)
}

/// Records the engine version of a successful database probe in `metadata`.
fn record_version(ctx: &Ctx, a: &Adapter, result: &TestResult) -> Result<(), ApiError> {
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
    patch.insert("lastCheck".into(), json!(ctx.now.iso()));
    store::merge_metadata(&ctx.db, &a.id, &patch)
}

/// `POST /api/adapters/{id}/test`: tests a saved adapter; a database's server version goes
/// into its `metadata`.
pub async fn test_saved(ctx: &Ctx) -> Result<Response, ApiError> {
    let a = crud::load_for(ctx, false)?;
    let result = run_test(&a).await;
    record_version(ctx, &a, &result)?;
    dbackup_web::ok(&result)
}

/// `GET /api/adapters/{id}/databases`: `[{name, system}]` from the worker's probe; 502 with
/// the reason when the server cannot be reached.
pub async fn databases(ctx: &Ctx) -> Result<Response, ApiError> {
    let a = crud::load_for(ctx, false)?;
    if a.kind != Kind::Database {
        return Err(ApiError::bad_request(
            "only database sources have databases",
        ));
    }
    let result = run_test(&a).await;
    record_version(ctx, &a, &result)?;
    if !result.ok {
        return Err(ApiError::new(
            502,
            format!("cannot list databases: {}", result.message),
        ));
    }
    dbackup_web::ok(&result.databases.unwrap_or_default())
}
