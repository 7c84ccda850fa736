//! Small SQL helpers over `dbackup_core::db::Db`: rows by column name, transactions, settings.

use dbackup_core::db::{Db, Value};
use dbackup_core::ApiError;

/// One result row with its column names.
#[derive(Debug, Clone)]
pub struct Row {
    columns: std::rc::Rc<Vec<String>>,
    values: Vec<Value>,
}

impl Row {
    fn get(&self, name: &str) -> Option<&Value> {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.values.get(i))
    }

    /// A text column (`None` if NULL or absent).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|v| v.as_str().map(str::to_owned))
    }

    /// An integer column (`None` if NULL or absent).
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }
}

/// Runs a statement and returns its rows.
pub fn query(db: &dyn Db, sql: &str, params: &[Value]) -> Result<Vec<Row>, ApiError> {
    let rows = db.execute(sql, params)?;
    let columns = std::rc::Rc::new(rows.columns);
    Ok(rows
        .rows
        .into_iter()
        .map(|values| Row {
            columns: columns.clone(),
            values,
        })
        .collect())
}

/// Runs `f` inside `BEGIN IMMEDIATE … COMMIT` (rolled back on error).
pub fn transaction<T>(db: &dyn Db, f: impl FnOnce() -> Result<T, ApiError>) -> Result<T, ApiError> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    match f() {
        Ok(v) => match db.execute("COMMIT", &[]) {
            Ok(_) => Ok(v),
            Err(e) => {
                let _ = db.execute("ROLLBACK", &[]);
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = db.execute("ROLLBACK", &[]);
            Err(e)
        }
    }
}

/// A SystemSetting value.
pub fn setting(db: &dyn Db, key: &str) -> Result<Option<String>, ApiError> {
    Ok(query(
        db,
        r#"SELECT "value" FROM "SystemSetting" WHERE "key" = ?"#,
        &[key.into()],
    )?
    .first()
    .and_then(|r| r.text("value")))
}

/// An integer SystemSetting, clamped to `min..=max`; `default` when unset or not a number.
pub fn setting_i64(
    db: &dyn Db,
    key: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    Ok(setting(db, key)?
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(default)
        .clamp(min, max))
}
