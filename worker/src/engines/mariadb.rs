//! MariaDB/MySQL via `mariadb-dump`/`mysqldump` and `mariadb`/`mysql`.
//!
//! The password goes into a 0600 `--defaults-extra-file` in a private 0700 directory that is
//! deleted when the tool exits: never argv, never the environment. A single database is
//! dumped **without** `--databases`, so the dump holds no `CREATE DATABASE`/`USE` and the
//! restore target is simply the database the client connects to (rename without rewriting
//! SQL).

use std::path::PathBuf;
use std::process::Stdio;

use super::process::{run_with_input, tool_command, ChildSlot, PrivateDir, Process};
use super::{require_token_like, Fields};
use crate::error::Error;
use crate::tools;

/// The `engine` value handled by this module.
pub const ENGINE: &str = "mariadb";
/// Also accepted as an engine name (same tools).
pub const ENGINE_MYSQL: &str = "mysql";

/// Connection to a MariaDB/MySQL server and one database.
#[derive(Clone, PartialEq, Eq)]
pub struct MariaConnection {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Password (defaults-extra-file only).
    pub password: Option<String>,
    /// Database to dump, or restore target.
    pub database: String,
}

impl std::fmt::Debug for MariaConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MariaConnection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl MariaConnection {
    /// Parses `{engine, host, port, user, password?, database}`.
    pub(crate) fn from_fields(mut fields: Fields) -> Result<Self, Error> {
        let _engine: Option<String> = fields.optional("engine")?;
        let host: String = fields.required("host")?;
        let port: i64 = fields.required("port")?;
        let user: String = fields.required("user")?;
        let password: Option<String> = fields.optional("password")?;
        let database: String = fields.required("database")?;
        fields.finish()?;
        require_token_like("host", &host)?;
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| Error::InvalidBody("port: must be between 1 and 65535".into()))?;
        if user.is_empty() || user.chars().any(char::is_control) {
            return Err(Error::InvalidBody(
                "user: must be non-empty without control characters".into(),
            ));
        }
        if password
            .as_deref()
            .is_some_and(|p| p.chars().any(char::is_control))
        {
            return Err(Error::InvalidBody(
                "password: must not contain control characters".into(),
            ));
        }
        if database.is_empty()
            || database.len() > 64
            || database.chars().any(char::is_control)
            || database.starts_with('-')
        {
            return Err(Error::InvalidBody(
                "database: must be 1-64 characters, no control characters, not starting with '-'"
                    .into(),
            ));
        }
        Ok(MariaConnection {
            host,
            port,
            user,
            password: password.filter(|p| !p.is_empty()),
            database,
        })
    }

    fn secrets(&self) -> Vec<String> {
        self.password.iter().cloned().collect()
    }

    /// A tool command with the defaults file first (the tools require that) and connection
    /// flags. The returned directory holds the defaults file; keep it alive while the tool runs.
    pub(super) fn command(
        &self,
        program: &std::path::Path,
    ) -> Result<(std::process::Command, PrivateDir), String> {
        let dir = PrivateDir::new().map_err(|e| format!("temp dir: {e}"))?;
        let mut contents = String::from("[client]\n");
        if let Some(password) = &self.password {
            let escaped = password.replace('\\', "\\\\").replace('"', "\\\"");
            contents.push_str(&format!("password=\"{escaped}\"\n"));
        }
        let file = dir
            .write_secret_file("client.cnf", contents.as_bytes())
            .map_err(|e| format!("defaults file: {e}"))?;
        let mut cmd = tool_command(program);
        let mut arg = std::ffi::OsString::from("--defaults-extra-file=");
        arg.push(&file);
        cmd.arg(arg)
            .arg("--protocol=tcp")
            .arg("-h")
            .arg(&self.host)
            .arg("-P")
            .arg(self.port.to_string())
            .arg("-u")
            .arg(&self.user);
        Ok((cmd, dir))
    }
}

fn find(names: &[&str]) -> Result<PathBuf, String> {
    names
        .iter()
        .find_map(|n| tools::find_tool(n, &[]))
        .ok_or_else(|| format!("{} not found", names[0]))
}

/// Starts the dump of one database to stdout.
pub fn start_dump(
    conn: &MariaConnection,
    slot: &ChildSlot,
) -> Result<(Process, PrivateDir), String> {
    let program = find(&["mariadb-dump", "mysqldump"])?;
    let (mut cmd, dir) = conn.command(&program)?;
    cmd.args([
        "--single-transaction",
        "--routines",
        "--events",
        "--triggers",
        "--hex-blob",
        "--default-character-set=utf8mb4",
        "--",
    ])
    .arg(&conn.database);
    let process = Process::spawn("mariadb-dump", &mut cmd, slot, conn.secrets())?;
    Ok((process, dir))
}

/// Schemas that are the server's own.
const SYSTEM_SCHEMAS: &[&str] = &["information_schema", "mysql", "performance_schema", "sys"];

/// The server's non-system databases.
pub fn list_databases(conn: &MariaConnection, slot: &ChildSlot) -> Result<Vec<String>, String> {
    let program = find(&["mariadb", "mysql"])?;
    let (mut cmd, _dir) = conn.command(&program)?;
    cmd.args(["-N", "-B"]);
    let out = run_with_input(
        "mariadb",
        &mut cmd,
        b"SHOW DATABASES;\n",
        slot,
        conn.secrets(),
    )?;
    Ok(out
        .lines()
        .filter(|l| !l.is_empty() && !SYSTEM_SCHEMAS.contains(l))
        .map(str::to_owned)
        .collect())
}

/// Version line of the dump tool.
pub fn version() -> Option<String> {
    find(&["mariadb-dump", "mysqldump"])
        .ok()
        .and_then(|p| super::process::tool_version(&p))
}

fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `CREATE DATABASE IF NOT EXISTS` for the target (SQL on stdin).
///
/// With `privileged` credentials that account creates it (grants stay the operator's job).
pub fn create_database_if_missing(
    conn: &MariaConnection,
    privileged: Option<&super::Privileged>,
    slot: &ChildSlot,
) -> Result<(), String> {
    let program = find(&["mariadb", "mysql"])?;
    let admin = privileged.map(|p| MariaConnection {
        user: p.user.clone(),
        password: p.password.clone(),
        ..conn.clone()
    });
    let runner = admin.as_ref().unwrap_or(conn);
    let (mut cmd, _dir) = runner.command(&program)?;
    let sql = format!("CREATE DATABASE IF NOT EXISTS {};\n", ident(&conn.database));
    run_with_input("mariadb", &mut cmd, sql.as_bytes(), slot, runner.secrets()).map(|_| ())
}

/// Starts `mariadb <target>` reading the dump on stdin.
pub fn start_restore(
    conn: &MariaConnection,
    slot: &ChildSlot,
) -> Result<(Process, PrivateDir), String> {
    let program = find(&["mariadb", "mysql"])?;
    let (mut cmd, dir) = conn.command(&program)?;
    cmd.arg("--max-allowed-packet=1G")
        .arg("--database")
        .arg(&conn.database)
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let process = Process::spawn("mariadb", &mut cmd, slot, conn.secrets())?;
    Ok((process, dir))
}
