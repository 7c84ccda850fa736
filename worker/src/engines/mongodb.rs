//! MongoDB via `mongodump --archive` / `mongorestore --archive`.
//!
//! Secrets never reach argv or the environment: the password (or a whole connection string)
//! goes into a 0600 YAML file passed with `--config` (mongo-tools ≥ 100.3), in a private 0700
//! directory removed when the tool exits. A single database is dumped with `--db`; no
//! database dumps the whole server (the archive itself is multi-database). Renames on restore
//! use `--nsFrom '<src>.*' --nsTo '<dst>.*'` (the tools' own namespace mapping), a subset
//! `--nsInclude '<src>.*'`.

use std::process::Stdio;

use super::process::{tool_command, ChildSlot, PrivateDir, Process};
use super::{require_token_like, Fields};
use crate::error::Error;
use crate::tools;

/// The `engine` value handled by this module.
pub const ENGINE: &str = "mongodb";

/// First bytes of a `mongodump --archive` stream (magic `0x8199e26d`, little-endian).
pub const MAGIC: &[u8] = &[0x6d, 0xe2, 0x99, 0x81];

/// Connection to a MongoDB deployment.
#[derive(Clone, PartialEq, Eq)]
pub struct MongoConnection {
    /// A full `mongodb://` / `mongodb+srv://` URI (may hold credentials; config file only).
    pub uri: Option<String>,
    /// Host (when no URI).
    pub host: Option<String>,
    /// Port (when no URI).
    pub port: u16,
    /// User name.
    pub user: Option<String>,
    /// Password (config file only).
    pub password: Option<String>,
    /// Authentication database.
    pub auth_database: Option<String>,
    /// Database to dump, or restore target; none = every database.
    pub database: Option<String>,
}

impl std::fmt::Debug for MongoConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoConnection")
            .field("uri", &self.uri.as_ref().map(|_| crate::secrets::MASK))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field(
                "password",
                &self.password.as_ref().map(|_| crate::secrets::MASK),
            )
            .field("auth_database", &self.auth_database)
            .field("database", &self.database)
            .finish()
    }
}

fn check_name(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty()
        || value.len() > 64
        || value
            .chars()
            .any(|c| c.is_control() || "/\\. \"$*<>:|?".contains(c))
    {
        return Err(Error::InvalidBody(format!(
            "{field}: 1-64 characters, none of /\\. \"$*<>:|? or control characters"
        )));
    }
    Ok(())
}

impl MongoConnection {
    /// Parses `{engine, uri? | host, port?, user?, password?, authDatabase?, database?}`.
    pub(crate) fn from_fields(mut fields: Fields) -> Result<Self, Error> {
        let _engine: Option<String> = fields.optional("engine")?;
        let uri: Option<String> = fields.optional("uri")?;
        let host: Option<String> = fields.optional("host")?;
        let port: Option<i64> = fields.optional("port")?;
        let user: Option<String> = fields.optional("user")?;
        let password: Option<String> = fields.optional("password")?;
        let auth_database: Option<String> = fields.optional("authDatabase")?;
        let database: Option<String> = fields.optional("database")?;
        fields.finish()?;
        match (&uri, &host) {
            (Some(u), _) => {
                if !(u.starts_with("mongodb://") || u.starts_with("mongodb+srv://"))
                    || u.chars().any(char::is_control)
                {
                    return Err(Error::InvalidBody(
                        "uri: must start with mongodb:// or mongodb+srv://".into(),
                    ));
                }
            }
            (None, Some(h)) => require_token_like("host", h)?,
            (None, None) => return Err(Error::InvalidBody("missing field `uri` or `host`".into())),
        }
        let port = u16::try_from(port.unwrap_or(27017))
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| Error::InvalidBody("port: must be between 1 and 65535".into()))?;
        if let Some(u) = &user {
            require_token_like("user", u)?;
        }
        if let Some(a) = &auth_database {
            check_name("authDatabase", a)?;
        }
        if let Some(d) = &database {
            check_name("database", d)?;
        }
        if password.as_deref().is_some_and(|p| p.contains('\0')) {
            return Err(Error::InvalidBody("password: must not contain NUL".into()));
        }
        Ok(MongoConnection {
            uri,
            host,
            port,
            user,
            password: password.filter(|p| !p.is_empty()),
            auth_database,
            database,
        })
    }

    fn secrets(&self) -> Vec<String> {
        self.password.iter().chain(&self.uri).cloned().collect()
    }

    /// The tool with `--config=<0600 file>` (password / URI) and the non-secret connection
    /// flags. Keep the directory alive while the tool runs.
    fn command(
        &self,
        program: &std::path::Path,
    ) -> Result<(std::process::Command, PrivateDir), String> {
        let dir = PrivateDir::new().map_err(|e| format!("temp dir: {e}"))?;
        let yaml = |s: &str| serde_json::to_string(s).unwrap_or_default(); // JSON strings are YAML
        let mut contents = String::new();
        if let Some(uri) = &self.uri {
            contents.push_str(&format!("uri: {}\n", yaml(uri)));
        }
        if let Some(password) = &self.password {
            contents.push_str(&format!("password: {}\n", yaml(password)));
        }
        let file = dir
            .write_secret_file("mongo-tools.yaml", contents.as_bytes())
            .map_err(|e| format!("config file: {e}"))?;
        let mut cmd = tool_command(program);
        let mut arg = std::ffi::OsString::from("--config=");
        arg.push(&file);
        cmd.arg(arg);
        if let (None, Some(host)) = (&self.uri, &self.host) {
            cmd.arg(format!("--host={host}"))
                .arg(format!("--port={}", self.port));
        }
        if let Some(user) = &self.user {
            cmd.arg(format!("--username={user}"));
        }
        if let Some(auth) = &self.auth_database {
            cmd.arg(format!("--authenticationDatabase={auth}"));
        }
        Ok((cmd, dir))
    }
}

fn find(names: &[&str]) -> Result<std::path::PathBuf, String> {
    tools::find_first(names).ok_or_else(|| format!("{} not found", names[0]))
}

/// `mongodump --archive` (stdout) of `conn.database`, or of everything.
pub fn start_dump(
    conn: &MongoConnection,
    slot: &ChildSlot,
) -> Result<(Process, PrivateDir), String> {
    let program = find(tools::MONGODUMP)?;
    let (mut cmd, dir) = conn.command(&program)?;
    cmd.arg("--archive");
    if let Some(db) = &conn.database {
        cmd.arg(format!("--db={db}"));
    }
    let process = Process::spawn("mongodump", &mut cmd, slot, conn.secrets())?;
    Ok((process, dir))
}

/// Version line of `mongodump`.
pub fn version() -> Option<String> {
    find(tools::MONGODUMP)
        .ok()
        .and_then(|p| super::process::tool_version(&p))
}

/// Where a MongoDB archive is restored: the connection plus renames (`from → to`); with
/// renames only those databases are restored.
#[derive(Debug, Clone)]
pub struct MongoTarget {
    pub conn: MongoConnection,
    pub renames: Vec<(String, String)>,
}

/// `mongorestore --archive --drop` reading stdin, with `--nsInclude/--nsFrom/--nsTo` for
/// each rename.
pub fn start_restore(
    target: &MongoTarget,
    slot: &ChildSlot,
) -> Result<(Process, PrivateDir), String> {
    let program = find(tools::MONGORESTORE)?;
    let mut conn = target.conn.clone();
    conn.database = None;
    let (mut cmd, dir) = conn.command(&program)?;
    cmd.args(["--archive", "--drop", "--stopOnError"]);
    for (from, to) in &target.renames {
        cmd.arg(format!("--nsInclude={from}.*"))
            .arg(format!("--nsFrom={from}.*"))
            .arg(format!("--nsTo={to}.*"));
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::null());
    let process = Process::spawn("mongorestore", &mut cmd, slot, conn.secrets())?;
    Ok((process, dir))
}

/// Checks a database name used in a rename.
pub fn check_rename(from: &str, to: &str) -> Result<(), String> {
    check_name("databaseMapping", from)
        .and_then(|()| check_name("databaseMapping", to))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn conn(v: Value) -> Result<MongoConnection, Error> {
        let Value::Object(map) = v else {
            unreachable!()
        };
        MongoConnection::from_fields(Fields::new(map))
    }

    #[test]
    fn validation_and_masking() {
        let c = conn(
            json!({"engine": "mongodb", "host": "127.0.0.1", "user": "u", "password": "pw-1"}),
        )
        .unwrap();
        assert_eq!(c.port, 27017);
        assert!(!format!("{c:?}").contains("pw-1"));
        assert!(conn(json!({"engine": "mongodb"})).is_err());
        assert!(conn(json!({"engine": "mongodb", "uri": "http://x"})).is_err());
        assert!(conn(json!({"engine": "mongodb", "host": "h", "database": "a.b"})).is_err());
        assert!(conn(json!({"engine": "mongodb", "host": "h", "database": "a*"})).is_err());
        let u = conn(json!({"engine": "mongodb", "uri": "mongodb://u:secret@h/"})).unwrap();
        assert!(!format!("{u:?}").contains("secret"));
    }
}
