//! The `Db` trait over a native rusqlite connection, for the shared crates' unit tests
//! (feature `native-sqlite`; components use `spin:sqlite`, the host libSQL), and [`TestDb`],
//! the one test database every crate's tests start from.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::{Value as SqlValue, ValueRef};

use crate::db::{Db, DbError, Rows, Value};

/// The `applied_at` recorded for the migrations of a [`TestDb`] (nothing else reads it).
const MIGRATED_AT: &str = "2026-01-01T00:00:00.000Z";

/// A native `Db` over one rusqlite connection, for unit tests. Test support: it panics on any
/// database error instead of returning it.
pub struct TestDb(rusqlite::Connection);

impl TestDb {
    /// An in-memory database with every migration applied and foreign keys on.
    pub fn migrated() -> Self {
        Self::empty().migrate()
    }

    /// A file database, migrated by the first opener: several `TestDb::file` on one path race
    /// as separate processes' connections do (30 s busy timeout).
    pub fn file(path: &Path) -> Self {
        Self::open(path).migrate()
    }

    /// An in-memory database with no schema and SQLite's defaults (the migration tests start
    /// here).
    pub fn empty() -> Self {
        TestDb(rusqlite::Connection::open_in_memory().expect("open an in-memory SQLite database"))
    }

    /// A file database with no schema, a 30 s busy timeout and SQLite's defaults.
    pub fn open(path: &Path) -> Self {
        let conn = rusqlite::Connection::open(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        conn.busy_timeout(Duration::from_secs(30))
            .expect("set the busy timeout");
        TestDb(conn)
    }

    /// Adds adapters `src` (database), `dst1`, `dst2` (storage), `note` (notification) and the
    /// encryption profile `prof` (fingerprint `00`; its `secretKey` is a placeholder, not
    /// sealed): what a job needs to point at.
    pub fn with_adapters(self) -> Self {
        for (id, kind, adapter) in [
            ("src", "database", "postgres"),
            ("dst1", "storage", "local"),
            ("dst2", "storage", "local"),
            ("note", "notification", "discord"),
        ] {
            self.execute(
                r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES (?, ?, ?, ?, '{}')"#,
                &[id.into(), id.into(), kind.into(), adapter.into()],
            )
            .expect("insert an adapter");
        }
        self.exec(
            r#"INSERT INTO "EncryptionProfile" ("id", "name", "secretKey", "fingerprint") VALUES ('prof', 'p', 'sealed', '00')"#,
        );
        self
    }

    fn migrate(self) -> Self {
        self.exec("PRAGMA foreign_keys = ON");
        crate::migrations::apply_pending(&self, MIGRATED_AT).expect("apply the migrations");
        self
    }

    /// Runs a statement that must succeed.
    pub fn exec(&self, sql: &str) {
        if let Err(e) = self.execute(sql, &[]) {
            panic!("{sql}: {e}");
        }
    }

    /// The first column of the first row (`Null` when there is no row).
    pub fn scalar(&self, sql: &str) -> Value {
        match self.execute(sql, &[]) {
            Ok(rows) => rows.scalar().cloned().unwrap_or(Value::Null),
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    /// An integer result, e.g. of `SELECT COUNT(*) …`.
    pub fn count(&self, sql: &str) -> i64 {
        let value = self.scalar(sql);
        value
            .as_i64()
            .unwrap_or_else(|| panic!("{sql}: not an integer: {value:?}"))
    }

    /// A text result, `None` when there is no row or the value is not text.
    pub fn text(&self, sql: &str) -> Option<String> {
        self.scalar(sql).as_str().map(str::to_owned)
    }
}

impl Db for TestDb {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        execute(&self.0, sql, params)
    }
}

/// Runs one statement on `conn` as [`crate::db::Db::execute`] does, keeping SQLite's own error
/// message (as `spin:sqlite` and libSQL report it).
pub fn execute(conn: &rusqlite::Connection, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
    let err = |e: rusqlite::Error| match e {
        rusqlite::Error::SqlInputError { msg, .. } => DbError::new(msg),
        rusqlite::Error::SqliteFailure(_, Some(msg)) => DbError::new(msg),
        other => DbError::new(other.to_string()),
    };
    // `prepare` rejects trailing statements.
    let mut stmt = conn.prepare(sql).map_err(err)?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let params = params.iter().map(|v| match v {
        Value::Integer(i) => SqlValue::Integer(*i),
        Value::Real(r) => SqlValue::Real(*r),
        Value::Text(t) => SqlValue::Text(t.clone()),
        Value::Blob(b) => SqlValue::Blob(b.clone()),
        Value::Null => SqlValue::Null,
    });
    let mut query = stmt
        .query(rusqlite::params_from_iter(params))
        .map_err(err)?;
    let mut rows = Vec::new();
    while let Some(row) = query.next().map_err(err)? {
        let mut out = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            out.push(match row.get_ref(i).map_err(err)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Integer(i),
                ValueRef::Real(r) => Value::Real(r),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        rows.push(out);
    }
    Ok(Rows { columns, rows })
}
