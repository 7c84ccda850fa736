//! `spin:sqlite/sqlite@3.0.0` and `fermyon:spin/variables@2.0.0` for the components.

use crate::database::{run_statement_checked, Database};
use crate::runtime::spin::fermyon::spin::variables;
use crate::runtime::spin::spin::sqlite::sqlite::{self, Error, QueryResult, RowResult, Value};
use crate::runtime::StoreData;
use wasmtime::component::Resource;

/// The host side of a `connection` resource: a pooled connection plus what this resource did,
/// so `last-insert-rowid` and `changes` never report another request's statements.
pub struct Connection {
    conn: Option<libsql::Connection>,
    db: Database,
    /// Whether a statement's parameter count is checked before it runs (local files; a remote
    /// statement does not know its parameters before they are bound).
    check_params: bool,
    baseline_rowid: i64,
    baseline_total_changes: u64,
    inserted: bool,
    /// A libSQL server connection whose transaction's stream was lost: never pooled again.
    broken: bool,
}

impl Connection {
    fn conn(&self) -> wasmtime::Result<&libsql::Connection> {
        self.conn
            .as_ref()
            .ok_or_else(|| wasmtime::Error::msg("connection already closed"))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !self.broken {
                self.db.release(conn);
            }
        }
    }
}

/// Whether a statement inserts rows (its first keyword, past comments and `WITH …`, is INSERT or
/// REPLACE), so `last-insert-rowid` may legitimately equal the pooled connection's old value.
fn is_insert(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    upper.starts_with("INSERT")
        || upper.starts_with("REPLACE")
        || (upper.starts_with("WITH")
            && (upper.contains(" INSERT ") || upper.contains(" REPLACE ")))
}

impl sqlite::Host for StoreData {}

impl sqlite::HostConnection for StoreData {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        if !self.component.sqlite_databases.contains(&database) {
            return Ok(Err(Error::AccessDenied));
        }
        let Some(db) = self.shared.databases.get(&database).cloned() else {
            return Ok(Err(Error::NoSuchDatabase));
        };
        let conn = match db.acquire().await {
            Ok(c) => c,
            Err(e) => return Ok(Err(Error::Io(format!("{e:#}")))),
        };
        let resource = Connection {
            baseline_rowid: conn.last_insert_rowid(),
            baseline_total_changes: conn.total_changes(),
            inserted: false,
            broken: false,
            check_params: db.is_local(),
            conn: Some(conn),
            db,
        };
        Ok(Ok(self.table().push(resource)?))
    }

    async fn execute(
        &mut self,
        this: Resource<Connection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let resource = self.table().get(&this)?;
        let conn = resource.conn()?.clone();
        let check_params = resource.check_params;
        let db = resource.db.clone();
        let params: Vec<_> = parameters.into_iter().map(to_core).collect();
        let result = if db.is_local() {
            run_statement_checked(&conn, &statement, &params, check_params).await
        } else {
            // A libSQL server: a statement it did not run (restart, outage) is retried on a
            // fresh connection; see Database::execute_remote.
            let outcome = db.execute_remote(&conn, &statement, &params).await;
            let r = self.table().get_mut(&this)?;
            if let Some(fresh) = outcome.replaced {
                // A fresh connection starts from zero; the statement may already have run on it.
                r.baseline_rowid = 0;
                r.baseline_total_changes = 0;
                r.conn = Some(fresh);
            }
            r.broken |= outcome.broken;
            outcome.result
        };
        if result.is_ok() && is_insert(&statement) {
            self.table().get_mut(&this)?.inserted = true;
        }
        Ok(result
            .map(|rows| QueryResult {
                columns: rows.columns,
                rows: rows
                    .rows
                    .into_iter()
                    .map(|r| RowResult {
                        values: r.into_iter().map(from_core).collect(),
                    })
                    .collect(),
            })
            .map_err(|e| Error::Io(e.message)))
    }

    async fn last_insert_rowid(&mut self, this: Resource<Connection>) -> wasmtime::Result<i64> {
        let r = self.table().get(&this)?;
        let rowid = r.conn()?.last_insert_rowid();
        Ok(if r.inserted || rowid != r.baseline_rowid {
            rowid
        } else {
            0
        })
    }

    async fn changes(&mut self, this: Resource<Connection>) -> wasmtime::Result<u64> {
        let r = self.table().get(&this)?;
        let conn = r.conn()?;
        Ok(if conn.total_changes() != r.baseline_total_changes {
            conn.changes()
        } else {
            0
        })
    }

    async fn drop(&mut self, this: Resource<Connection>) -> wasmtime::Result<()> {
        // Dropping the resource returns its connection to the pool.
        self.table().delete(this)?;
        Ok(())
    }
}

fn to_core(v: Value) -> dbackup_core::db::Value {
    use dbackup_core::db::Value as V;
    match v {
        Value::Integer(i) => V::Integer(i),
        Value::Real(f) => V::Real(f),
        Value::Text(s) => V::Text(s),
        Value::Blob(b) => V::Blob(b),
        Value::Null => V::Null,
    }
}

fn from_core(v: dbackup_core::db::Value) -> Value {
    use dbackup_core::db::Value as V;
    match v {
        V::Integer(i) => Value::Integer(i),
        V::Real(f) => Value::Real(f),
        V::Text(s) => Value::Text(s),
        V::Blob(b) => Value::Blob(b),
        V::Null => Value::Null,
    }
}

impl variables::Host for StoreData {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        if !crate::manifest::is_valid_variable_name(&name) {
            return Ok(Err(variables::Error::InvalidName(name)));
        }
        Ok(match self.component.variables.get(&name) {
            Some(v) => Ok(v.clone()),
            None => Err(variables::Error::Undefined(format!(
                "no variable for {:?}.{name:?}",
                self.component.id
            ))),
        })
    }
}
