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
    tools::find_first(names).ok_or_else(|| format!("{} not found", names[0]))
}

/// Starts the dump of one database to stdout.
pub fn start_dump(
    conn: &MariaConnection,
    slot: &ChildSlot,
) -> Result<(Process, PrivateDir), String> {
    let program = find(tools::MARIADB_DUMP)?;
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
    let program = find(tools::MARIADB_CLIENT)?;
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
    find(tools::MARIADB_DUMP)
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
    let program = find(tools::MARIADB_CLIENT)?;
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

/// Starts `mariadb <target>` reading the dump on stdin, with client commands off
/// ([`untrusted_input_flags`]): the dump comes from storage, which is not trusted.
pub fn start_restore(
    conn: &MariaConnection,
    slot: &ChildSlot,
) -> Result<(Process, PrivateDir), String> {
    let program = find(tools::MARIADB_CLIENT)?;
    let flags = untrusted_input_flags(&program)?;
    let (mut cmd, dir) = conn.command(&program)?;
    cmd.args(flags)
        .arg("--max-allowed-packet=1G")
        .arg("--database")
        .arg(&conn.database)
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let process = Process::spawn("mariadb", &mut cmd, slot, conn.secrets())?;
    Ok((process, dir))
}

/// The oldest MariaDB client of each series with `--sandbox` (CVE-2024-21096, MDEV-21778):
/// `(major, minor, first patch)`. Series not listed got no fix and are refused; series after
/// 11.4 all have it.
const SANDBOX_SINCE: &[(u32, u32, u32)] = &[
    (10, 5, 25),
    (10, 6, 18),
    (10, 11, 8),
    (11, 0, 6),
    (11, 1, 5),
    (11, 2, 4),
    (11, 4, 2),
];

/// A `mariadb`/`mysql` client, from the first line of its `--version`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Client {
    MariaDb(u32, u32, u32),
    MySql(u32, u32, u32),
}

fn version_triple(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split('.').map(|p| {
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// `mariadb  Ver 15.1 Distrib 10.11.19-MariaDB, for …`, `mariadb from 11.4.2-MariaDB, client
/// 15.2 for …`, `mysql  Ver 8.0.36 for Linux …`, `mysql  Ver 14.14 Distrib 5.7.44, for …`.
fn parse_client(line: &str) -> Option<Client> {
    if let Some(word) = line.split_whitespace().find(|w| w.contains("-MariaDB")) {
        let (v, _) = word.split_once("-MariaDB")?;
        let (a, b, c) = version_triple(v)?;
        return Some(Client::MariaDb(a, b, c));
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1))
            .and_then(|v| version_triple(v.trim_end_matches(',')))
    };
    let (a, b, c) = after("Distrib").or_else(|| after("Ver"))?;
    Some(Client::MySql(a, b, c))
}

/// Whether a MariaDB client version has `--sandbox`.
fn has_sandbox(major: u32, minor: u32, patch: u32) -> bool {
    if (major, minor) > (11, 4) {
        return true;
    }
    SANDBOX_SINCE
        .iter()
        .any(|&(a, b, first)| (a, b) == (major, minor) && patch >= first)
}

/// The client flags that turn client commands off for a dump read on stdin (a dump in storage
/// may hold `\! cmd` or `system cmd`, which the client would run on this machine): MariaDB
/// `--binary-mode --sandbox` (10.5.25 / 10.6.18 / 10.11.8 / 11.0.6 / 11.1.5 / 11.2.4 / 11.4.2
/// or newer), MySQL `--binary-mode --commands=OFF` (clients that know `--commands`). Any other
/// client is refused with the reason.
fn untrusted_input_flags(program: &std::path::Path) -> Result<[&'static str; 2], String> {
    let line = super::process::tool_version(program).unwrap_or_default();
    let refuse = |why: &str| {
        Err(format!(
            "refusing to restore with {} ({}): {why}; install a newer client",
            program.display(),
            if line.is_empty() {
                "version unknown"
            } else {
                line.as_str()
            }
        ))
    };
    match parse_client(&line) {
        Some(Client::MariaDb(a, b, c)) if has_sandbox(a, b, c) => Ok(["--binary-mode", "--sandbox"]),
        Some(Client::MariaDb(..)) => refuse(
            "this MariaDB client has no --sandbox, so commands in a dump (\\! …) would run on the worker (MariaDB 10.5.25, 10.6.18, 10.11.8, 11.0.6, 11.1.5, 11.2.4, 11.4.2 or newer have it)",
        ),
        Some(Client::MySql(..)) => {
            // `--commands` is recent in MySQL's client; ask the client rather than guess.
            let known = super::process::tool_command(program)
                .args(["--commands=OFF", "--version"])
                .output()
                .is_ok_and(|o| o.status.success());
            if known {
                Ok(["--binary-mode", "--commands=OFF"])
            } else {
                refuse("this MySQL client has no --commands option, so commands in a dump (\\! …) would run on the worker")
            }
        }
        None => refuse("not a MariaDB or MySQL client this worker knows how to sandbox"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_versions() {
        let cases = [
            (
                "mariadb  Ver 15.1 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64) using  EditLine wrapper",
                Some(Client::MariaDb(10, 11, 19)),
            ),
            (
                "mariadb from 11.4.2-MariaDB, client 15.2 for debian-linux-gnu (x86_64) using  EditLine wrapper",
                Some(Client::MariaDb(11, 4, 2)),
            ),
            (
                "mysql  Ver 15.1 Distrib 10.6.17-MariaDB, for Linux (x86_64) using readline 5.1",
                Some(Client::MariaDb(10, 6, 17)),
            ),
            (
                "mysql  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)",
                Some(Client::MySql(8, 0, 36)),
            ),
            (
                "mysql  Ver 14.14 Distrib 5.7.44, for Linux (x86_64) using  EditLine wrapper",
                Some(Client::MySql(5, 7, 44)),
            ),
            ("", None),
            ("psql (PostgreSQL) 15", None),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_client(line), expected, "{line}");
        }
    }

    #[test]
    fn sandbox_versions() {
        for (v, ok) in [
            ((10, 5, 24), false),
            ((10, 5, 25), true),
            ((10, 6, 17), false),
            ((10, 6, 18), true),
            ((10, 11, 7), false),
            ((10, 11, 8), true),
            ((10, 11, 19), true),
            ((10, 10, 99), false),
            ((11, 3, 2), false),
            ((11, 4, 1), false),
            ((11, 4, 2), true),
            ((11, 8, 0), true),
            ((12, 0, 1), true),
            ((10, 4, 99), false),
        ] {
            assert_eq!(has_sandbox(v.0, v.1, v.2), ok, "{v:?}");
        }
    }

    #[test]
    fn an_old_client_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("mariadb");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'mariadb  Ver 15.1 Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)'\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = untrusted_input_flags(&fake).unwrap_err();
        assert!(
            e.contains("10.11.6-MariaDB") && e.contains("--sandbox"),
            "{e}"
        );
    }
}
