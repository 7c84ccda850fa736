//! `spin:sqlite/sqlite@3.0.0` and `fermyon:spin/variables@2.0.0` for the components.

use crate::database::{from_libsql, to_libsql};
use crate::runtime::spin::fermyon::spin::variables;
use crate::runtime::spin::spin::sqlite::sqlite::{self, Error, QueryResult, RowResult, Value};
use crate::runtime::StoreData;
use wasmtime::component::Resource;

/// The host side of a `connection` resource.
pub struct Connection {
    conn: libsql::Connection,
    /// Whether a statement's parameter count is checked before it runs (local files; a remote
    /// statement does not know its parameters before they are bound).
    check_params: bool,
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
        let Some(db) = self.shared.databases.get(&database) else {
            return Ok(Err(Error::NoSuchDatabase));
        };
        let conn = match db.connect().await {
            Ok(c) => c,
            Err(e) => return Ok(Err(Error::Io(format!("{e:#}")))),
        };
        let check_params = db.is_local();
        let handle = self.table().push(Connection { conn, check_params })?;
        Ok(Ok(handle))
    }

    async fn execute(
        &mut self,
        this: Resource<Connection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let this = self.table().get(&this)?;
        let (conn, check_params) = (this.conn.clone(), this.check_params);
        Ok(execute(&conn, check_params, &statement, parameters).await)
    }

    async fn last_insert_rowid(&mut self, this: Resource<Connection>) -> wasmtime::Result<i64> {
        Ok(self.table().get(&this)?.conn.last_insert_rowid())
    }

    async fn changes(&mut self, this: Resource<Connection>) -> wasmtime::Result<u64> {
        Ok(self.table().get(&this)?.conn.changes())
    }

    async fn drop(&mut self, this: Resource<Connection>) -> wasmtime::Result<()> {
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

async fn execute(
    conn: &libsql::Connection,
    check_params: bool,
    sql: &str,
    params: Vec<Value>,
) -> Result<QueryResult, Error> {
    let params: Vec<libsql::Value> = params.into_iter().map(|v| to_libsql(&to_core(v))).collect();
    let mut rows = if check_params {
        // SQLite binds NULL to missing parameters and libSQL ignores extra ones; Spin (rusqlite)
        // rejects both, so a component that works here works there.
        let stmt = conn
            .prepare(sql)
            .await
            .map_err(|e| Error::Io(e.to_string()))?;
        let needed = stmt.parameter_count();
        if needed != params.len() {
            return Err(Error::Io(format!(
                "Wrong number of parameters passed to query. Got {} parameters, needed {needed}",
                params.len()
            )));
        }
        stmt.query(params).await
    } else {
        conn.query(sql, params).await
    }
    .map_err(|e| Error::Io(e.to_string()))?;
    let count = rows.column_count();
    let columns = (0..count)
        .map(|i| rows.column_name(i).unwrap_or_default().to_owned())
        .collect();
    let mut out = Vec::new();
    while let Some(row) = rows.next().await.map_err(|e| Error::Io(e.to_string()))? {
        let mut values = Vec::with_capacity(count as usize);
        for i in 0..count {
            let v = row.get_value(i).map_err(|e| Error::Io(e.to_string()))?;
            values.push(from_core(from_libsql(v)));
        }
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
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
