//! The databases behind `spin:sqlite`: a local libSQL file by default, or a libSQL server named in
//! a Spin runtime-config file (`[sqlite_database.<label>]`, `type = "libsql"`, `url`, `token`).

use anyhow::{anyhow, bail, Context, Result};
use dbackup_core::db::{Db, DbError, Rows, Value};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// How a database label is backed, as read from the runtime config.
#[derive(Debug, Clone, PartialEq)]
pub enum DatabaseConfig {
    Local { path: PathBuf },
    Remote { url: String, token: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuntimeConfig {
    #[serde(default)]
    sqlite_database: BTreeMap<String, RawDatabase>,
}

#[derive(Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum RawDatabase {
    #[serde(rename = "spin")]
    Spin { path: Option<PathBuf> },
    #[serde(rename = "libsql")]
    Libsql { url: String, token: String },
}

/// Reads the `[sqlite_database.*]` tables of a runtime-config file. Relative paths resolve against
/// the file's folder, as Spin does.
pub fn read_runtime_config(
    path: &Path,
    default_dir: &Path,
) -> Result<BTreeMap<String, DatabaseConfig>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read runtime config {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse_runtime_config(&text, dir, default_dir)
        .with_context(|| format!("invalid runtime config {}", path.display()))
}

fn parse_runtime_config(
    text: &str,
    dir: &Path,
    default_dir: &Path,
) -> Result<BTreeMap<String, DatabaseConfig>> {
    // Spin's runtime config has other sections (key_value_store, llm_compute …): keep only ours.
    let value: toml::Table = toml::from_str(text).map_err(|e| anyhow!("{}", e.message()))?;
    let only_sqlite: toml::Table = value
        .into_iter()
        .filter(|(k, _)| k == "sqlite_database")
        .collect();
    let rc: RuntimeConfig = only_sqlite
        .try_into()
        .map_err(|e: toml::de::Error| anyhow!("{}", e.message()))?;
    let mut out = BTreeMap::new();
    for (label, raw) in rc.sqlite_database {
        let cfg = match raw {
            RawDatabase::Spin { path } => DatabaseConfig::Local {
                path: match path {
                    Some(p) if p.is_absolute() => p,
                    Some(p) => dir.join(p),
                    None => default_dir.join(format!("{label}.db")),
                },
            },
            RawDatabase::Libsql { url, token } => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bail!("sqlite_database.{label}: url must start with http:// or https://");
                }
                DatabaseConfig::Remote { url, token }
            }
        };
        out.insert(label, cfg);
    }
    Ok(out)
}

/// An opened database; cheap to clone, hands out connections.
#[derive(Clone)]
pub struct Database {
    db: std::sync::Arc<libsql::Database>,
    local: bool,
    /// Idle connections, reused so a request does not pay for opening the file and its pragmas.
    idle: std::sync::Arc<std::sync::Mutex<Vec<libsql::Connection>>>,
}

/// Idle connections kept per database.
const MAX_IDLE: usize = 32;

/// How long one statement on a libSQL server keeps being retried on fresh connections while the
/// server cannot be reached, before its error reaches the component (which answers 503).
const RECONNECT_WINDOW: std::time::Duration = std::time::Duration::from_secs(3);
/// The first pause between two tries; it doubles up to [`RECONNECT_MAX_PAUSE`].
const RECONNECT_FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);
const RECONNECT_MAX_PAUSE: std::time::Duration = std::time::Duration::from_millis(800);

/// Why a statement on a libSQL server failed, judged from libSQL's error text (the Hrana errors
/// are not exported as types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteFailure {
    /// The server ran the statement and refused it (SQL error, constraint, busy …): the
    /// connection is fine and the error is the component's.
    Statement,
    /// The server certainly did not run it: the connection's stream is gone (the server
    /// restarted, or the stream expired) or the server cannot be reached at all. Safe to run
    /// again on a fresh connection.
    NotRun,
    /// The connection broke while the statement was in flight: it may have run. The connection
    /// is replaced, the statement is not repeated.
    Unknown,
}

/// Classifies the text of a libSQL error from a remote connection.
pub fn classify_remote_error(message: &str) -> RemoteFailure {
    let m = message.to_ascii_lowercase();
    // sqld refuses a stale baton before running anything (Hrana over HTTP: the stream is
    // server-side state the baton names; a restarted server knows none).
    let stream_gone = [
        "invalid baton",
        "baton that has already been used",
        "stream for this baton was closed",
        "stream_expired",
        "stream has expired",
    ];
    // hyper's connect errors: the request was never sent.
    let unreachable = [
        "error trying to connect",
        "tcp connect error",
        "connection refused",
    ];
    if stream_gone
        .iter()
        .chain(&unreachable)
        .any(|p| m.contains(p))
    {
        RemoteFailure::NotRun
    } else if m.contains("http error")
        || m.contains("stream closed")
        || m.contains("unexpected response")
        || m.contains("json error")
        || m.contains("connection reset")
        || m.contains("broken pipe")
    {
        RemoteFailure::Unknown
    } else {
        RemoteFailure::Statement
    }
}

/// What [`Database::execute_remote`] did besides running the statement.
pub struct RemoteOutcome {
    pub result: Result<Rows, DbError>,
    /// The connection to use from now on, when the old one was replaced.
    pub replaced: Option<libsql::Connection>,
    /// Whether the connection in use is broken (a transaction's stream was lost): it must not
    /// go back to the pool, and its next statements fail.
    pub broken: bool,
}

impl Database {
    /// Opens (creating if needed) the database. A local file is switched to WAL mode.
    pub async fn open(cfg: &DatabaseConfig) -> Result<Self> {
        match cfg {
            DatabaseConfig::Local { path } => {
                if let Some(parent) = path.parent() {
                    if !parent.as_os_str().is_empty() && !parent.exists() {
                        create_private_dir(parent)?;
                    }
                }
                // The database holds password hashes, sessions and encrypted secrets: owner only.
                // SQLite creates its -wal and -shm files with the same mode.
                if !path.exists() {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(path)
                        .with_context(|| format!("cannot create database {}", path.display()))?;
                }
                let db = libsql::Builder::new_local(path)
                    .build()
                    .await
                    .with_context(|| format!("cannot open database {}", path.display()))?;
                let this = Database {
                    db: std::sync::Arc::new(db),
                    local: true,
                    idle: Default::default(),
                };
                let conn = this.connect().await?;
                // journal_mode answers with a row; query() and drain it.
                let mut rows = conn
                    .query("PRAGMA journal_mode=WAL", ())
                    .await
                    .with_context(|| format!("cannot use database {}", path.display()))?;
                while rows.next().await?.is_some() {}
                Ok(this)
            }
            DatabaseConfig::Remote { url, token } => {
                let db = libsql::Builder::new_remote(url.clone(), token.clone())
                    .build()
                    .await
                    .with_context(|| format!("cannot open libSQL database at {url}"))?;
                Ok(Database {
                    db: std::sync::Arc::new(db),
                    local: false,
                    idle: Default::default(),
                })
            }
        }
    }

    /// Whether this is a local file (not a libSQL server).
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// A connection from the idle pool, or a new one.
    pub async fn acquire(&self) -> Result<libsql::Connection> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match pooled {
            Some(conn) => Ok(conn),
            None => self.connect().await,
        }
    }

    /// Returns a connection to the pool. One left inside a transaction is closed instead (closing
    /// rolls the transaction back), so no caller ever inherits another's transaction.
    pub fn release(&self, conn: libsql::Connection) {
        if !conn.is_autocommit() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }

    /// Forgets every idle connection (after the server restarted they all hold dead streams).
    pub fn discard_idle(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// Runs one statement on a libSQL server connection, surviving a server restart: when the
    /// server did not run it (stale stream, server unreachable) and no transaction was open, it
    /// runs again on a fresh connection, with backoff, for at most [`RECONNECT_WINDOW`]. A
    /// statement that may have run is never repeated, and a transaction whose stream was lost is
    /// never continued on another connection (its statements would run outside it): that
    /// connection is reported broken and fails until the component lets it go. Either way the
    /// idle pool is emptied, so the next request starts on a fresh connection.
    pub async fn execute_remote(
        &self,
        conn: &libsql::Connection,
        sql: &str,
        params: &[Value],
    ) -> RemoteOutcome {
        let deadline = tokio::time::Instant::now() + RECONNECT_WINDOW;
        let mut pause = RECONNECT_FIRST_PAUSE;
        let mut current = conn.clone();
        let mut replaced = None;
        loop {
            let in_transaction = !current.is_autocommit();
            let result = run_statement(&current, sql, params).await;
            let failure = match &result {
                Ok(_) => None,
                Err(e) => Some(classify_remote_error(&e.message)),
            };
            match failure {
                None | Some(RemoteFailure::Statement) => {
                    return RemoteOutcome {
                        result,
                        replaced,
                        broken: false,
                    }
                }
                Some(kind) => {
                    self.discard_idle();
                    if in_transaction {
                        return RemoteOutcome {
                            result,
                            replaced,
                            broken: true,
                        };
                    }
                    // A fresh connection starts a new stream (no baton); opening it does not
                    // touch the network.
                    match self.connect().await {
                        Ok(fresh) => {
                            current = fresh.clone();
                            replaced = Some(fresh);
                        }
                        Err(_) => {
                            return RemoteOutcome {
                                result,
                                replaced,
                                broken: true,
                            }
                        }
                    }
                    let now = tokio::time::Instant::now();
                    if kind == RemoteFailure::Unknown || now + pause > deadline {
                        return RemoteOutcome {
                            result,
                            replaced,
                            broken: false,
                        };
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RECONNECT_MAX_PAUSE);
                }
            }
        }
    }

    /// A new connection with the settings every caller expects (foreign keys on, busy timeout).
    pub async fn connect(&self) -> Result<libsql::Connection> {
        let conn = self
            .db
            .connect()
            .context("cannot connect to the database")?;
        if self.local {
            conn.execute("PRAGMA foreign_keys=ON", ()).await?;
            let mut rows = conn.query("PRAGMA busy_timeout=5000", ()).await?;
            while rows.next().await?.is_some() {}
        }
        Ok(conn)
    }
}

/// Creates a folder (and its parents) readable by the owner only.
fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create database folder {}", dir.display()))
}

/// Converts our value into libSQL's.
pub fn to_libsql(v: &Value) -> libsql::Value {
    match v {
        Value::Integer(i) => libsql::Value::Integer(*i),
        Value::Real(f) => libsql::Value::Real(*f),
        Value::Text(s) => libsql::Value::Text(s.clone()),
        Value::Blob(b) => libsql::Value::Blob(b.clone()),
        Value::Null => libsql::Value::Null,
    }
}

/// Converts libSQL's value into ours.
pub fn from_libsql(v: libsql::Value) -> Value {
    match v {
        libsql::Value::Integer(i) => Value::Integer(i),
        libsql::Value::Real(f) => Value::Real(f),
        libsql::Value::Text(s) => Value::Text(s),
        libsql::Value::Blob(b) => Value::Blob(b),
        libsql::Value::Null => Value::Null,
    }
}

/// Runs one statement and collects every row.
pub async fn run_statement(
    conn: &libsql::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Rows, DbError> {
    run_statement_checked(conn, sql, params, false).await
}

/// Runs one statement; with `check_params`, a wrong number of parameters is an error (SQLite would
/// bind NULL to missing ones and libSQL ignores extra ones; Spin rejects both, so a component that
/// works here works there). Only local statements know their parameter count before binding.
pub async fn run_statement_checked(
    conn: &libsql::Connection,
    sql: &str,
    params: &[Value],
    check_params: bool,
) -> Result<Rows, DbError> {
    let params: Vec<libsql::Value> = params.iter().map(to_libsql).collect();
    let err = |e: libsql::Error| DbError::new(e.to_string());
    let mut rows = if check_params {
        let stmt = conn.prepare(sql).await.map_err(err)?;
        let needed = stmt.parameter_count();
        if needed != params.len() {
            return Err(DbError::new(format!(
                "Wrong number of parameters passed to query. Got {} parameters, needed {needed}",
                params.len()
            )));
        }
        stmt.query(params).await
    } else {
        conn.query(sql, params).await
    }
    .map_err(err)?;
    let count = rows.column_count();
    let columns = (0..count)
        .map(|i| rows.column_name(i).unwrap_or_default().to_owned())
        .collect();
    let mut out = Vec::new();
    while let Some(row) = rows.next().await.map_err(err)? {
        let mut values = Vec::with_capacity(usize::try_from(count).unwrap_or_default());
        for i in 0..count {
            values.push(from_libsql(row.get_value(i).map_err(err)?));
        }
        out.push(values);
    }
    Ok(Rows { columns, rows: out })
}

/// A blocking `Db` over a libSQL connection, for the shared migration code. Use it only from a
/// blocking thread (`spawn_blocking`), never on the async runtime's workers.
pub struct BlockingDb {
    pub conn: libsql::Connection,
    pub handle: tokio::runtime::Handle,
}

impl Db for BlockingDb {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.handle.block_on(run_statement(&self.conn, sql, params))
    }
}

/// Applies pending migrations; the error names the migration that failed.
pub async fn migrate(db: &Database) -> Result<Vec<i64>> {
    let conn = db.connect().await?;
    let handle = tokio::runtime::Handle::current();
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    tokio::task::spawn_blocking(move || {
        let db = BlockingDb { conn, handle };
        dbackup_core::migrations::apply_pending(&db, &now).map_err(|e| anyhow!("{e}"))
    })
    .await
    .context("migration task failed")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_errors_are_classified_by_whether_the_statement_ran() {
        // Texts as libSQL 0.9 renders them (captured against sqld 0.24 in libsql_server.rs).
        for not_run in [
            "Hrana: `api error: `status=400 Bad Request, body=Received an invalid baton``",
            "Hrana: `api error: `status=400 Bad Request, body=The stream has expired due to inactivity``",
            "Hrana: `http error: `error trying to connect: tcp connect error: Connection refused (os error 111)``",
        ] {
            assert_eq!(classify_remote_error(not_run), RemoteFailure::NotRun, "{not_run}");
        }
        for unknown in [
            "Hrana: `http error: `connection closed before message completed``",
            "Hrana: `stream closed: `cursor ended``",
        ] {
            assert_eq!(
                classify_remote_error(unknown),
                RemoteFailure::Unknown,
                "{unknown}"
            );
        }
        for statement in [
            "Hrana: `stream error: `Error { message: \"SQLite error: no such table: x\", code: \"SQLITE_UNKNOWN\" }``",
            "UNIQUE constraint failed: User.email",
        ] {
            assert_eq!(classify_remote_error(statement), RemoteFailure::Statement, "{statement}");
        }
    }

    #[test]
    fn runtime_config_parses_both_kinds() {
        let text = r#"
[sqlite_database.default]
type = "libsql"
url = "https://db.example.com"
token = "abc"

[sqlite_database.other]
type = "spin"
path = "data/other.db"

[key_value_store.default]
type = "spin"
"#;
        let cfg =
            parse_runtime_config(text, Path::new("/etc/app"), Path::new("/data")).expect("parses");
        assert_eq!(
            cfg["default"],
            DatabaseConfig::Remote {
                url: "https://db.example.com".into(),
                token: "abc".into()
            }
        );
        assert_eq!(
            cfg["other"],
            DatabaseConfig::Local {
                path: PathBuf::from("/etc/app/data/other.db")
            }
        );
    }

    #[test]
    fn runtime_config_rejects_what_spin_rejects() {
        let no_scheme =
            "[sqlite_database.default]\ntype='libsql'\nurl='db.example.com'\ntoken='x'\n";
        assert!(parse_runtime_config(no_scheme, Path::new("."), Path::new(".")).is_err());
        let no_token = "[sqlite_database.default]\ntype='libsql'\nurl='https://x'\n";
        assert!(parse_runtime_config(no_token, Path::new("."), Path::new(".")).is_err());
        let unknown =
            "[sqlite_database.default]\ntype='libsql'\nurl='https://x'\ntoken='t'\nextra=1\n";
        assert!(parse_runtime_config(unknown, Path::new("."), Path::new(".")).is_err());
    }
}
