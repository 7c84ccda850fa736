//! Small helpers over [`Db`]: typed column access by name, transactions, ids.

use dbackup_core::db::{Db, DbError, Rows, Value};

use crate::error::{IdentityError, Result};

/// One result row, with its values addressed by column name.
pub(crate) struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

impl<'a> Row<'a> {
    fn get(&self, name: &str) -> Result<&'a Value> {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| IdentityError::Internal(format!("column {name} missing from result")))
    }

    fn wrong_type(name: &str, v: &Value) -> IdentityError {
        IdentityError::Internal(format!("column {name} has unexpected value {v:?}"))
    }

    /// A non-NULL text column.
    pub fn text(&self, name: &str) -> Result<String> {
        match self.get(name)? {
            Value::Text(s) => Ok(s.clone()),
            v => Err(Self::wrong_type(name, v)),
        }
    }

    /// A nullable text column.
    pub fn opt_text(&self, name: &str) -> Result<Option<String>> {
        match self.get(name)? {
            Value::Text(s) => Ok(Some(s.clone())),
            Value::Null => Ok(None),
            v => Err(Self::wrong_type(name, v)),
        }
    }

    /// A non-NULL integer column.
    pub fn int(&self, name: &str) -> Result<i64> {
        match self.get(name)? {
            Value::Integer(i) => Ok(*i),
            v => Err(Self::wrong_type(name, v)),
        }
    }

    /// A nullable integer column.
    pub fn opt_int(&self, name: &str) -> Result<Option<i64>> {
        match self.get(name)? {
            Value::Integer(i) => Ok(Some(*i)),
            Value::Null => Ok(None),
            v => Err(Self::wrong_type(name, v)),
        }
    }

    /// A 0/1 boolean column; NULL reads as false.
    pub fn flag(&self, name: &str) -> Result<bool> {
        Ok(self.opt_int(name)?.unwrap_or(0) != 0)
    }
}

fn rows(r: &Rows) -> impl Iterator<Item = Row<'_>> {
    r.rows.iter().map(|values| Row {
        columns: &r.columns,
        values,
    })
}

/// Runs a statement and discards its rows.
pub(crate) fn exec(db: &dyn Db, sql: &str, params: &[Value]) -> Result<()> {
    db.execute(sql, params)?;
    Ok(())
}

/// Runs a statement and maps every row.
pub(crate) fn all<T>(
    db: &dyn Db,
    sql: &str,
    params: &[Value],
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let result = db.execute(sql, params)?;
    rows(&result).map(|r| f(&r)).collect()
}

/// Runs a statement and maps its first row, if any.
pub(crate) fn first<T>(
    db: &dyn Db,
    sql: &str,
    params: &[Value],
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let result = db.execute(sql, params)?;
    let first = rows(&result).next();
    first.map(|r| f(&r)).transpose()
}

/// The integer in the first column of the first row (0 when there is none).
pub(crate) fn scalar_i64(db: &dyn Db, sql: &str, params: &[Value]) -> Result<i64> {
    Ok(db
        .execute(sql, params)?
        .scalar()
        .and_then(Value::as_i64)
        .unwrap_or(0))
}

/// Whether a statement returned at least one row (used with `RETURNING` to learn whether a
/// guarded `UPDATE`/`DELETE` touched anything, since [`Db`] reports no change count).
pub(crate) fn returned_any(db: &dyn Db, sql: &str, params: &[Value]) -> Result<bool> {
    Ok(!db.execute(sql, params)?.rows.is_empty())
}

/// Runs `f` inside `BEGIN IMMEDIATE … COMMIT` (SQLite's write lock, so checks and writes are
/// atomic against other connections), rolling back on any error. Must not be nested.
pub(crate) fn transaction<T>(db: &dyn Db, f: impl FnOnce() -> Result<T>) -> Result<T> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    match f() {
        Ok(v) => match db.execute("COMMIT", &[]) {
            Ok(_) => Ok(v),
            Err(e) => {
                rollback(db);
                Err(e.into())
            }
        },
        Err(e) => {
            rollback(db);
            Err(e)
        }
    }
}

fn rollback(db: &dyn Db) {
    // A failed ROLLBACK means SQLite already ended the transaction: nothing left to undo.
    let _ = db.execute("ROLLBACK", &[]);
}

/// Whether a database error is a UNIQUE constraint violation.
pub(crate) fn is_unique_violation(e: &IdentityError) -> bool {
    matches!(e, IdentityError::Db(DbError { message }) if message.contains("UNIQUE constraint failed"))
}

/// A new random id ([`dbackup_core::id::new_id`]).
pub(crate) fn new_id() -> Result<String> {
    dbackup_core::id::new_id().map_err(internal)
}

/// Fills `buf` from the operating system's CSPRNG ([`dbackup_core::id::random_bytes`]).
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<()> {
    dbackup_core::id::random_bytes(buf).map_err(internal)
}

/// `n` random bytes as lowercase hex ([`dbackup_core::id::random_hex`]).
pub(crate) fn random_hex(n: usize) -> Result<String> {
    dbackup_core::id::random_hex(n).map_err(internal)
}

/// Randomness failing is an internal error here as in `dbackup_core`.
fn internal(e: dbackup_core::ApiError) -> IdentityError {
    IdentityError::Internal(e.cause.unwrap_or(e.message))
}
