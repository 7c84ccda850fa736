//! The `Db` trait over a native rusqlite connection, for the shared crates' unit tests
//! (feature `native-sqlite`; components use `spin:sqlite`, the host libSQL).

use rusqlite::types::{Value as SqlValue, ValueRef};

use crate::db::{DbError, Rows, Value};

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
