//! The glue every HTTP component uses: `spin:sqlite` as `dbackup_core::db::Db`, JSON responses,
//! errors rendered once, and the gate that answers 503 until the database is migrated.

use dbackup_core::db::{Db, DbError, Rows, Value};
use dbackup_core::migrations;
use dbackup_core::ApiError;
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

/// A JSON response.
pub fn json(status: u16, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(body.to_string())
        .build()
}

/// Renders an error: the client gets the message, the log gets the cause.
pub fn error(e: &ApiError) -> Response {
    if let Some(cause) = &e.cause {
        eprintln!("dbackup: {} {}: {cause}", e.status, e.message);
    }
    json(e.status, &e.body())
}

/// Renders a handler's outcome.
pub fn respond(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| error(&e))
}

/// The answer of a route group whose issue has not landed yet.
pub fn not_found() -> Response {
    error(&ApiError::not_found())
}
