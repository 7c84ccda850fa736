//! The glue every component uses: `spin:sqlite` as `dbackup_core::db::Db`, the worker over Spin's
//! outbound HTTP as `dbackup_core::worker::Worker` ([`worker`]), JSON responses, errors rendered
//! once (429 with `Retry-After`), the 503 until the database is migrated, and the request
//! [`gate`] (route table → credentials → authorization → CSRF).

#![forbid(unsafe_code)]

pub mod deadline;
pub mod gate;
pub mod notify;
pub mod provider_http;
pub mod worker;

use dbackup_core::db::{Db, DbError, Rows, Value};
use dbackup_core::migrations;
use dbackup_core::ApiError;
use serde::Serialize;
use spin_sdk::http::Response;
use spin_sdk::sqlite3;

/// The `default` database through Spin's SQLite interface.
pub struct SpinDb {
    conn: sqlite3::Connection,
}

impl SpinDb {
    /// Opens the `default` database.
    pub fn open() -> Result<Self, ApiError> {
        sqlite3::Connection::open_default()
            .map(|conn| SpinDb { conn })
            .map_err(|e| ApiError::unavailable("database unavailable").with_cause(format!("{e:?}")))
    }

    /// Opens the database and fails with 503 unless every migration has been applied.
    pub fn open_migrated() -> Result<Self, ApiError> {
        let db = Self::open()?;
        match migrations::current_version(&db) {
            Ok(v) if v >= migrations::latest_version() => Ok(db),
            Ok(_) => Err(ApiError::unavailable("database is not migrated")),
            Err(e) => Err(ApiError::unavailable("database unavailable").with_cause(e.message)),
        }
    }
}

fn to_spin(v: &Value) -> sqlite3::Value {
    match v {
        Value::Integer(i) => sqlite3::Value::Integer(*i),
        Value::Real(f) => sqlite3::Value::Real(*f),
        Value::Text(s) => sqlite3::Value::Text(s.clone()),
        Value::Blob(b) => sqlite3::Value::Blob(b.clone()),
        Value::Null => sqlite3::Value::Null,
    }
}

fn from_spin(v: sqlite3::Value) -> Value {
    match v {
        sqlite3::Value::Integer(i) => Value::Integer(i),
        sqlite3::Value::Real(f) => Value::Real(f),
        sqlite3::Value::Text(s) => Value::Text(s),
        sqlite3::Value::Blob(b) => Value::Blob(b),
        sqlite3::Value::Null => Value::Null,
    }
}

impl Db for SpinDb {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let params: Vec<sqlite3::Value> = params.iter().map(to_spin).collect();
        let result = self.conn.execute(sql, params.as_slice()).map_err(|e| {
            DbError::new(match e {
                sqlite3::Error::Io(msg) => msg,
                other => format!("{other:?}"),
            })
        })?;
        Ok(Rows {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|r| r.values.into_iter().map(from_spin).collect())
                .collect(),
        })
    }
}

/// The box that seals secrets at rest, from the `encryption_key` variable: the one reader, used
/// by `gate::Ctx::secret_box` and by code outside the request gate (runner, worker callbacks).
pub fn secret_box() -> Result<dbackup_identity::secretbox::SecretBox, ApiError> {
    let key = spin_sdk::variables::get("encryption_key")
        .map_err(|e| ApiError::internal(format!("variable encryption_key: {e:?}")))?;
    Ok(dbackup_identity::secretbox::SecretBox::from_hex_key(&key)?)
}

/// The app's own base URL as the worker reaches it (the `app_url` variable; the worker's
/// callbacks go there): read by the runner and by the requests that dispatch at once ("Run now",
/// restores).
pub fn app_url() -> String {
    spin_sdk::variables::get("app_url").unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned())
}

/// A JSON response.
pub fn json(status: u16, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(body.to_string())
        .build()
}

/// A value serialized as the JSON body (a serialization failure is a 500).
pub fn json_of<T: Serialize + ?Sized>(status: u16, body: &T) -> Result<Response, ApiError> {
    let value = serde_json::to_value(body)
        .map_err(|e| ApiError::internal(format!("serializing the answer: {e}")))?;
    Ok(json(status, &value))
}

/// `200` with `body` as JSON.
pub fn ok<T: Serialize + ?Sized>(body: &T) -> Result<Response, ApiError> {
    json_of(200, body)
}

/// `201` with the created resource (which carries its `id`) as JSON.
pub fn created<T: Serialize + ?Sized>(body: &T) -> Result<Response, ApiError> {
    json_of(201, body)
}

/// `204` without a body (deletions, logout).
pub fn no_content() -> Result<Response, ApiError> {
    Ok(Response::builder()
        .status(204)
        .header("cache-control", "no-store")
        .build())
}

/// Renders an error: the client gets the message, the log gets the cause. A 429 carrying
/// `details.retryAfterSecs` (identity's lockout) gets the matching `Retry-After` header.
pub fn error(e: &ApiError) -> Response {
    if let Some(cause) = &e.cause {
        eprintln!("dbackup: {} {}: {cause}", e.status, e.message);
    }
    let mut resp = json(e.status, &e.body());
    let retry_after = e
        .details
        .as_ref()
        .and_then(|d| d.get("retryAfterSecs"))
        .and_then(serde_json::Value::as_u64);
    if let (429, Some(secs)) = (e.status, retry_after) {
        resp.set_header("retry-after", secs.max(1).to_string());
    }
    resp
}

/// Renders a handler's outcome.
pub fn respond(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| error(&e))
}

/// The answer of a route group whose issue has not landed yet.
pub fn not_found() -> Response {
    error(&ApiError::not_found())
}

/// The members of a JSON object named in `keys` (for audit details: what a request changed,
/// without whatever else its body carried).
pub fn pick(value: &serde_json::Value, keys: &[&str]) -> serde_json::Value {
    let picked = value
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    serde_json::Value::Object(picked)
}
