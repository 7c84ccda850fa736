//! PostgreSQL, driven through the `psql` client tool.

use std::fmt;
use std::process::{ExitStatus, Stdio};
use std::time::Instant;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use dbackup_protocol::PgMajor;

use super::pg_tools::{self, PgTools};
use super::{require_token_like, Fields, ProbeDatabase, ProbeResult};
use crate::error::Error;
use crate::{mask_secrets, tools, Config};

/// The `engine` value handled by this module.
pub const ENGINE: &str = "postgresql";

/// `sslmode` values libpq accepts.
const SSL_MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// Seconds libpq waits for the TCP connection (`PGCONNECT_TIMEOUT`).
const CONNECT_TIMEOUT_SECS: &str = "10";

/// The probe SQL, sent on stdin (never on argv).
const PROBE_SQL: &str = "SELECT current_setting('server_version');\n\
SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname;\n";

/// Longest piece of tool output returned in an error's details.
const MAX_DETAILS_CHARS: usize = 500;

/// Validated connection parameters for one PostgreSQL server.
#[derive(Clone, PartialEq, Eq)]
pub struct PgConnection {
    /// Host name, IP address, or socket directory.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login role.
    pub user: String,
    /// Password; passed to the client only through `PGPASSWORD`.
    pub password: Option<String>,
    /// Database to connect to.
    pub database: String,
    /// libpq `sslmode`.
    pub sslmode: String,
}

impl fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConnection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field(
                "password",
                &self.password.as_ref().map(|_| crate::secrets::MASK),
            )
            .field("database", &self.database)
            .field("sslmode", &self.sslmode)
            .finish()
    }
}

impl PgConnection {
    /// Reads and validates the connection fields of a request body (`engine` is skipped).
    pub(crate) fn from_fields(mut fields: Fields) -> Result<Self, Error> {
        let _engine: Option<String> = fields.optional("engine")?;
        let host: String = fields.required("host")?;
        let port: i64 = fields.required("port")?;
        let user: String = fields.required("user")?;
        let password: Option<String> = fields.optional("password")?;
        let database: Option<String> = fields.optional("database")?;
        let sslmode: Option<String> = fields.optional("sslmode")?;
        fields.finish()?;

        require_token_like("host", &host)?;
        if host.contains(',') {
            return Err(Error::InvalidBody(
                "host: must be a single host name or IP address".into(),
            ));
        }
        if host.len() > 255 {
            return Err(Error::InvalidBody("host: too long".into()));
        }
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| Error::InvalidBody("port: must be between 1 and 65535".into()))?;
        if user.is_empty() {
            return Err(Error::InvalidBody("user: must not be empty".into()));
        }
        if user.chars().any(char::is_control) {
            return Err(Error::InvalidBody(
                "user: must not contain control characters".into(),
            ));
        }
        let password = password.filter(|p| !p.is_empty());
        if password.as_deref().is_some_and(|p| p.contains('\0')) {
            return Err(Error::InvalidBody(
                "password: must not contain NUL characters".into(),
            ));
        }
        let database = database.unwrap_or_else(|| "postgres".into());
        if database.is_empty() {
            return Err(Error::InvalidBody("database: must not be empty".into()));
        }
        if database.chars().any(char::is_control) {
            return Err(Error::InvalidBody(
                "database: must not contain control characters".into(),
            ));
        }
        // psql expands a dbname that looks like a connection string, which would let the
        // request override host, sslmode, etc. Only plain names are accepted.
        if database.contains('=')
            || database.starts_with("postgres://")
            || database.starts_with("postgresql://")
        {
            return Err(Error::InvalidBody(
                "database: must be a database name, not a connection string".into(),
            ));
        }
        let sslmode = sslmode.unwrap_or_else(|| "prefer".into());
        if !SSL_MODES.contains(&sslmode.as_str()) {
            return Err(Error::InvalidBody(format!(
                "sslmode: must be one of {}",
                SSL_MODES.join(", ")
            )));
        }

        Ok(PgConnection {
            host,
            port,
            user,
            password,
            database,
            sslmode,
        })
    }

    /// Secrets that must be masked in any output produced for this connection.
    fn secrets(&self) -> Vec<&str> {
        self.password.iter().map(String::as_str).collect()
    }

    /// Builds a client-tool command with the connection's environment: cleared, then the
    /// allow-list of [`super::process::inherited_env`], the password only in `PGPASSWORD`.
    fn command(&self, program: &std::path::Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .envs(super::process::inherited_env())
            .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
            .env("PGSSLMODE", &self.sslmode)
            .env("PGAPPNAME", "dbackup-worker")
            .env("PGCLIENTENCODING", "UTF8")
            // Untranslated messages, so error details are stable.
            .env("LC_ALL", "C");
        if let Some(password) = &self.password {
            cmd.env("PGPASSWORD", password);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }
}

/// Handles `POST /v1/probe` for PostgreSQL.
pub(crate) async fn probe(config: &Config, fields: Fields) -> Result<ProbeResult, Error> {
    let conn = PgConnection::from_fields(fields)?;
    let psql = tools::find_tool("psql", &config.pg_bin_dirs).ok_or(Error::ToolNotFound("psql"))?;

    let mut cmd = conn.command(&psql);
    cmd.args(["-X", "-A", "-t", "-q", "-w", "-v", "ON_ERROR_STOP=1"])
        .arg("-h")
        .arg(&conn.host)
        .arg("-p")
        .arg(conn.port.to_string())
        .arg("-U")
        .arg(&conn.user)
        .arg("-d")
        .arg(&conn.database);

    let started = Instant::now();
    let run = async {
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::Internal(format!("cannot start {}: {e}", psql.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // psql may exit before reading stdin (e.g. connection refused): ignore EPIPE.
            let _ = stdin.write_all(PROBE_SQL.as_bytes()).await;
        }
        child
            .wait_with_output()
            .await
            .map_err(|e| Error::Internal(format!("waiting for psql: {e}")))
    };
    // On timeout `run` is dropped, which drops the child and kills it (kill_on_drop).
    let output = tokio::time::timeout(config.probe_timeout, run)
        .await
        .map_err(|_| {
            Error::Timeout(format!(
                "psql did not finish within {} s",
                config.probe_timeout.as_secs()
            ))
        })??;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    let secrets = conn.secrets();
    if !output.status.success() {
        let stderr = mask_secrets(&String::from_utf8_lossy(&output.stderr), &secrets);
        return Err(failure(output.status, &stderr));
    }
    let stdout = mask_secrets(&String::from_utf8_lossy(&output.stdout), &secrets);
    let (version, _major_version, databases) = parse_probe_output(&stdout)?;
    let databases = databases
        .into_iter()
        .map(|name| ProbeDatabase {
            system: name == "postgres",
            name,
        })
        .collect();
    Ok(ProbeResult::new(
        ENGINE, version, None, databases, latency_ms,
    ))
}

impl PgConnection {
    /// A blocking client-tool command (own process group) with the same environment rules
    /// as [`PgConnection::command`]. Connection flags are added by the caller.
    fn tool_command(&self, program: &std::path::Path) -> std::process::Command {
        let mut cmd = super::process::tool_command(program);
        cmd.env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
            .env("PGSSLMODE", &self.sslmode)
            .env("PGAPPNAME", "dbackup-worker")
            .env("PGCLIENTENCODING", "UTF8");
        if let Some(password) = &self.password {
            cmd.env("PGPASSWORD", password);
        }
        cmd.arg("-w")
            .arg("-h")
            .arg(&self.host)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-U")
            .arg(&self.user);
        cmd
    }

    fn owned_secrets(&self) -> Vec<String> {
        self.password.iter().cloned().collect()
    }
}

/// Server version of `conn` (`(major, server_version)`), asked with any `psql` found,
/// connecting to `database`.
pub fn server_version(
    conn: &PgConnection,
    sets: &[PgTools],
    database: &str,
    slot: &super::process::ChildSlot,
) -> Result<(PgMajor, String), String> {
    let psql = pg_tools::any_psql(sets)?;
    let mut cmd = conn.tool_command(&psql);
    cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(database);
    let out = super::process::run_with_input(
        "psql",
        &mut cmd,
        b"SELECT current_setting('server_version_num') || ' ' || current_setting('server_version');\n",
        slot,
        conn.owned_secrets(),
    )?;
    let line = out.trim();
    let (num, version) = line
        .split_once(' ')
        .ok_or_else(|| format!("unexpected server version answer {line:?}"))?;
    let num: u32 = num
        .parse()
        .map_err(|_| format!("unexpected server_version_num {num:?}"))?;
    Ok((PgMajor::from_version_num(num), version.to_owned()))
}

/// Databases of the server that accept connections, except templates and `postgres`.
pub fn list_databases(
    conn: &PgConnection,
    config: &Config,
    slot: &super::process::ChildSlot,
) -> Result<Vec<String>, String> {
    let sets = pg_tools::discover(&config.pg_bin_dirs);
    let psql = pg_tools::any_psql(&sets)?;
    let mut cmd = conn.tool_command(&psql);
    cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(&conn.database);
    let out = super::process::run_with_input(
        "psql",
        &mut cmd,
        b"SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate \
          AND datname <> 'postgres' ORDER BY datname;\n",
        slot,
        conn.owned_secrets(),
    )?;
    Ok(out
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// A started `pg_dump` and what it was matched to.
pub struct PgDump {
    /// The running `pg_dump`.
    pub process: super::process::Process,
    /// The source server's `server_version`.
    pub server_version: String,
    /// The `pg_dump --version` line of the tool chosen.
    pub tool_version: String,
}

/// `pg_dump -Fc -Z0` of `conn.database` (compression is the pipeline's), with the `pg_dump`
/// of the lowest major ≥ the server's among the tool sets found.
pub fn start_dump(
    conn: &PgConnection,
    config: &Config,
    slot: &super::process::ChildSlot,
) -> Result<PgDump, String> {
    let sets = pg_tools::discover(&config.pg_bin_dirs);
    let (major, server_version) = server_version(conn, &sets, &conn.database, slot)?;
    let (set, program) = pg_tools::select(&sets, major, "pg_dump")?;
    let mut cmd = conn.tool_command(&program);
    cmd.args(["-Fc", "-Z0", "-d"]).arg(&conn.database);
    let process = super::process::Process::spawn("pg_dump", &mut cmd, slot, conn.owned_secrets())?;
    Ok(PgDump {
        process,
        server_version,
        tool_version: set.version_line,
    })
}

/// Tools chosen for one restore, after the version check.
#[derive(Debug, Clone)]
pub struct PgRestorePlan {
    /// `psql` for `CREATE DATABASE`.
    pub psql: std::path::PathBuf,
    /// `pg_restore` of a major ≥ both the target server's and the archive's `pg_dump`.
    pub pg_restore: std::path::PathBuf,
    /// The target server's `server_version`.
    pub target_version: String,
    /// What the archive header says.
    pub archive: Option<pg_tools::ArchiveInfo>,
}

/// Checks that the archive in `head` can go onto the target server and picks the tools:
/// a dump of a newer server major than the target's is refused unless `force`.
pub fn plan_restore(
    conn: &PgConnection,
    config: &Config,
    head: &[u8],
    force: bool,
    slot: &super::process::ChildSlot,
) -> Result<PgRestorePlan, String> {
    let sets = pg_tools::discover(&config.pg_bin_dirs);
    let (target_major, target_version) = server_version(conn, &sets, "postgres", slot)?;
    let archive = pg_tools::parse_archive_header(head);
    let source_major = archive
        .as_ref()
        .and_then(|a| a.server_version.as_deref())
        .and_then(PgMajor::parse);
    if let Some(source_major) = source_major.filter(|m| *m > target_major) {
        if !force {
            return Err(format!(
                "the backup was taken from PostgreSQL {source_major} ({}) and the target server \
                 runs {target_version}: restoring onto an older major can fail or lose \
                 features; upgrade the target or set force: true",
                archive
                    .as_ref()
                    .and_then(|a| a.server_version.as_deref())
                    .unwrap_or("?"),
            ));
        }
    }
    let dump_major = archive
        .as_ref()
        .and_then(|a| a.dump_version.as_deref())
        .and_then(PgMajor::parse)
        .unwrap_or(PgMajor::new(0));
    let (_, pg_restore) = pg_tools::select(&sets, target_major.max(dump_major), "pg_restore")?;
    let (_, psql) = pg_tools::select(&sets, PgMajor::new(0), "psql")?;
    Ok(PgRestorePlan {
        psql,
        pg_restore,
        target_version,
        archive,
    })
}

/// SQL identifier quoting.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// SQL literal quoting (standard_conforming_strings, the default since 9.1).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Creates `conn.database` (connecting to the `postgres` maintenance DB) unless it exists.
///
/// With `privileged` credentials the database is created by that role and then handed to
/// the target's user (`ALTER DATABASE … OWNER TO`), so the restore itself runs unprivileged.
pub fn create_database_if_missing(
    conn: &PgConnection,
    plan: &PgRestorePlan,
    privileged: Option<&super::Privileged>,
    slot: &super::process::ChildSlot,
) -> Result<(), String> {
    let program = plan.psql.clone();
    let admin = privileged.map(|p| PgConnection {
        user: p.user.clone(),
        password: p.password.clone(),
        ..conn.clone()
    });
    let runner = admin.as_ref().unwrap_or(conn);
    let mut cmd = runner.tool_command(&program);
    cmd.args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        "postgres",
    ]);
    let mut sql = format!(
        "SELECT 'CREATE DATABASE ' || {ident} WHERE NOT EXISTS \
         (SELECT 1 FROM pg_database WHERE datname = {lit})\\gexec\n",
        ident = literal(&ident(&conn.database)),
        lit = literal(&conn.database),
    );
    if admin.is_some() {
        sql.push_str(&format!(
            "ALTER DATABASE {} OWNER TO {};\n",
            ident(&conn.database),
            ident(&conn.user)
        ));
    }
    let mut secrets = conn.owned_secrets();
    secrets.extend(runner.owned_secrets());
    super::process::run_with_input("psql", &mut cmd, sql.as_bytes(), slot, secrets).map(|_| ())
}

/// `pg_restore --clean --if-exists --no-owner -d <conn.database>` reading the dump on stdin.
pub fn start_restore(
    conn: &PgConnection,
    plan: &PgRestorePlan,
    slot: &super::process::ChildSlot,
) -> Result<super::process::Process, String> {
    let program = plan.pg_restore.clone();
    let mut cmd = conn.tool_command(&program);
    cmd.args([
        "--clean",
        "--if-exists",
        "--no-owner",
        "--exit-on-error",
        "-d",
    ])
    .arg(&conn.database)
    .stdin(Stdio::piped())
    .stdout(Stdio::null());
    super::process::Process::spawn("pg_restore", &mut cmd, slot, conn.owned_secrets())
}

/// Maps a failed psql run to an error, using the first line of its (already masked) stderr.
fn failure(status: ExitStatus, masked_stderr: &str) -> Error {
    let details = first_line(masked_stderr)
        .unwrap_or_else(|| format!("psql exited with {status} and no message"));
    match status.code() {
        // psql: 2 = connection to the server went bad, 3 = error in the script.
        Some(3) => Error::QueryFailed(details),
        Some(_) => Error::ConnectionFailed(details),
        None => Error::Internal(format!("psql terminated abnormally ({status}): {details}")),
    }
}

/// First non-empty line, trimmed and bounded in length.
fn first_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(super::truncate(line, MAX_DETAILS_CHARS))
}

/// Parses psql's unaligned, tuples-only output of [`PROBE_SQL`].
fn parse_probe_output(stdout: &str) -> Result<(String, PgMajor, Vec<String>), Error> {
    let mut lines = stdout.lines();
    let version = lines
        .next()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::QueryFailed("psql returned no server version".into()))?
        .to_owned();
    let major_version = PgMajor::parse(&version).ok_or_else(|| {
        Error::QueryFailed(format!(
            "unrecognised server version {:?}",
            super::truncate(&version, 64)
        ))
    })?;
    let databases = lines.filter(|l| !l.is_empty()).map(str::to_owned).collect();
    Ok((version, major_version, databases))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn conn(body: Value) -> Result<PgConnection, Error> {
        let Value::Object(map) = body else {
            unreachable!()
        };
        PgConnection::from_fields(Fields::new(map))
    }

    fn base() -> Value {
        json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres"})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut body = base();
        body[key] = value;
        body
    }

    fn err(body: Value) -> String {
        conn(body).unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let c = conn(base()).unwrap();
        assert_eq!(c.database, "postgres");
        assert_eq!(c.sslmode, "prefer");
        assert_eq!(c.password, None);
    }

    #[test]
    fn validation_names_the_field() {
        assert!(err(with("host", json!(""))).starts_with("invalid request body: host:"));
        assert!(err(with("host", json!("a b"))).contains("host:"));
        assert!(err(with("host", json!("a,b"))).contains("host:"));
        assert!(err(with("port", json!(0))).contains("port:"));
        assert!(err(with("port", json!(65536))).contains("port:"));
        assert!(err(with("port", json!(-1))).contains("port:"));
        assert!(err(with("port", json!("5432"))).contains("port:"));
        assert!(err(with("user", json!(""))).contains("user:"));
        assert!(err(with("database", json!("host=evil"))).contains("database:"));
        assert!(err(with("database", json!("postgresql://x/y"))).contains("database:"));
        assert!(err(with("sslmode", json!("yes"))).contains("sslmode:"));
        assert!(err(with("sslMode", json!("require"))).contains("`sslMode`"));
        assert_eq!(conn(with("port", json!(65535))).unwrap().port, 65535);
    }

    #[test]
    fn debug_hides_password() {
        let c = conn(with("password", json!("s3cr3t-P@ss"))).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn parses_output() {
        let (version, major, dbs) =
            parse_probe_output("15.19 (Debian 15.19-0+deb12u1)\npostgres\nroot\ntest\n").unwrap();
        assert_eq!(version, "15.19 (Debian 15.19-0+deb12u1)");
        assert_eq!(major, PgMajor::new(15));
        assert_eq!(dbs, ["postgres", "root", "test"]);
        let (_, major, _) = parse_probe_output("9.6.24\npostgres\n").unwrap();
        assert_eq!(major.to_string(), "9.6");
        assert!(parse_probe_output("").is_err());
    }

    #[test]
    fn first_line_skips_blank_and_bounds_length() {
        assert_eq!(
            first_line("\n  psql: error: x \nmore"),
            Some("psql: error: x".into())
        );
        assert_eq!(first_line(" \n"), None);
        let long = "x".repeat(2000);
        assert_eq!(
            first_line(&long).unwrap().chars().count(),
            MAX_DETAILS_CHARS + 1
        );
    }
}
