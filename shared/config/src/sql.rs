//! Rows as JSON objects, and the transaction that commits or rolls back.

use dbackup_core::db::{Db, Value as DbValue};
use dbackup_core::ApiError;
use serde_json::{Map, Value};

/// A row as `{column: value}` (integers and reals as numbers, text as strings, NULL as null).
pub type Row = Map<String, Value>;

/// Runs a statement; every row as a JSON object.
pub fn rows(db: &dyn Db, sql: &str, params: &[DbValue]) -> Result<Vec<Row>, ApiError> {
    let result = db.execute(sql, params)?;
    Ok(result
        .rows
        .into_iter()
        .map(|values| {
            result
                .columns
                .iter()
                .cloned()
                .zip(values.into_iter().map(to_json))
                .collect()
        })
        .collect())
}

fn to_json(v: DbValue) -> Value {
    match v {
        DbValue::Integer(i) => Value::from(i),
        DbValue::Real(f) => Value::from(f),
        DbValue::Text(s) => Value::String(s),
        DbValue::Blob(b) => Value::String(hex::encode(b)),
        DbValue::Null => Value::Null,
    }
}

/// A text column of a row.
pub fn text(row: &Row, name: &str) -> Option<String> {
    row.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// Parses a JSON text column (absent, NULL or unparsable: `default`).
pub fn json_column(row: &Row, name: &str, default: Value) -> Value {
    row.get(name)
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(default)
}

/// Runs `f` inside `BEGIN IMMEDIATE`; commits when `commit` and `f` succeeded, else rolls back.
pub fn transaction<T>(
    db: &dyn Db,
    commit: bool,
    f: impl FnOnce() -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    match f() {
        Ok(v) if commit => match db.execute("COMMIT", &[]) {
            Ok(_) => Ok(v),
            Err(e) => {
                let _ = db.execute("ROLLBACK", &[]);
                Err(e.into())
            }
        },
        Ok(v) => {
            db.execute("ROLLBACK", &[])?;
            Ok(v)
        }
        Err(e) => {
            let _ = db.execute("ROLLBACK", &[]);
            Err(e)
        }
    }
}
