//! `POST /v1/probe` for the engines other than PostgreSQL (which probes in `postgres.rs`):
//! MariaDB/MySQL through `mariadb`/`mysql`, SQLite through `sqlite3`, Redis/Valkey through
//! `redis-cli`/`valkey-cli`, MongoDB through `mongosh`. Each probe runs the client tool once,
//! bounded by `probe_timeout` (the child is killed on timeout), with secrets only in a 0600
//! file or the child's environment and masked in every message.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use super::process::{tool_command, PrivateDir};
use super::{mariadb, redis, sqlite, Fields, ProbeDatabase, ProbeResult};
use crate::error::Error;
use crate::{mask_secrets, tools, Config};

/// Longest piece of tool output returned in an error's details.
const MAX_DETAILS_CHARS: usize = 500;

/// MariaDB/MySQL schemas that are the server's own.
const MYSQL_SYSTEM: &[&str] = &["information_schema", "mysql", "performance_schema", "sys"];

/// MongoDB databases that are the server's own.
const MONGO_SYSTEM: &[&str] = &["admin", "config", "local"];

fn find(names: &[&'static str]) -> Result<PathBuf, Error> {
    tools::find_first(names).ok_or(Error::ToolNotFound(names[0]))
}

fn first_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(super::truncate(line, MAX_DETAILS_CHARS))
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What one tool run produced.
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with `input` on stdin within the probe timeout; output is masked.
async fn run(
    config: &Config,
    tool: &str,
    cmd: std::process::Command,
    input: &[u8],
    secrets: &[String],
) -> Result<Output, Error> {
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let run = async {
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::Internal(format!("cannot start {tool}: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            // The tool may exit before reading stdin (connection refused): ignore EPIPE.
            let _ = stdin.write_all(input).await;
        }
        child
            .wait_with_output()
            .await
            .map_err(|e| Error::Internal(format!("waiting for {tool}: {e}")))
    };
    let output = tokio::time::timeout(config.probe_timeout, run)
        .await
        .map_err(|_| {
            Error::Timeout(format!(
                "{tool} did not finish within {} s",
                config.probe_timeout.as_secs()
            ))
        })??;
    Ok(Output {
        success: output.status.success(),
        stdout: mask_secrets(&String::from_utf8_lossy(&output.stdout), secrets),
        stderr: mask_secrets(&String::from_utf8_lossy(&output.stderr), secrets),
    })
}

fn connection_failed(tool: &str, out: &Output) -> Error {
    let details = first_line(&out.stderr)
        .or_else(|| first_line(&out.stdout))
        .unwrap_or_else(|| format!("{tool} failed without a message"));
    Error::ConnectionFailed(details)
}

/// MariaDB / MySQL: server version, edition (`MariaDB` or `MySQL` plus the version comment),
/// databases with the system schemas flagged.
pub(crate) async fn mariadb(
    config: &Config,
    mut map: Map<String, Value>,
) -> Result<ProbeResult, Error> {
    // The probe needs no database; the client connects to the server's own `mysql` schema
    // unless one is given.
    if matches!(map.get("database"), None | Some(Value::Null)) {
        map.insert("database".into(), Value::String("mysql".into()));
    }
    let engine = if map.get("engine").and_then(Value::as_str) == Some(mariadb::ENGINE_MYSQL) {
        mariadb::ENGINE_MYSQL
    } else {
        mariadb::ENGINE
    };
    let conn = mariadb::MariaConnection::from_fields(Fields::new(map))?;
    let program = find(tools::MARIADB_CLIENT)?;
    let (mut cmd, _defaults_dir) = conn.command(&program).map_err(Error::Internal)?;
    cmd.args(["-N", "-B", "--connect-timeout=10"]);
    let secrets: Vec<String> = conn.password.iter().cloned().collect();
    let started = Instant::now();
    let sql = b"SELECT VERSION();\nSELECT @@version_comment;\nSHOW DATABASES;\n";
    let out = run(config, "mariadb", cmd, sql, &secrets).await?;
    let latency_ms = elapsed_ms(started);
    if !out.success {
        return Err(connection_failed("mariadb", &out));
    }
    let mut lines = out.stdout.lines().map(str::trim);
    let version = lines
        .next()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::QueryFailed("the server returned no version".into()))?
        .to_owned();
    let comment = lines.next().unwrap_or_default().to_owned();
    let flavour = if version.to_ascii_lowercase().contains("mariadb")
        || comment.to_ascii_lowercase().contains("mariadb")
    {
        "MariaDB"
    } else {
        "MySQL"
    };
    let edition = if comment.is_empty() {
        flavour.to_owned()
    } else {
        format!("{flavour} ({comment})")
    };
    let databases = lines
        .filter(|l| !l.is_empty())
        .map(|name| ProbeDatabase {
            name: name.to_owned(),
            system: MYSQL_SYSTEM.contains(&name),
        })
        .collect();
    Ok(ProbeResult::new(
        engine,
        version,
        Some(edition),
        databases,
        latency_ms,
    ))
}

/// SQLite: the file must exist and be a SQLite database; version of the library that reads it.
pub(crate) async fn sqlite(config: &Config, map: Map<String, Value>) -> Result<ProbeResult, Error> {
    let file: sqlite::SqliteFile = serde_json::from_value(Value::Object(map))
        .map_err(|e| Error::InvalidBody(e.to_string()))?;
    file.validate()?;
    // Probing reads the file's first bytes and opens it: the data directory stays out of reach.
    config
        .local_roots
        .check_file(&file.path, "path")
        .map_err(|e| Error::InvalidBody(e.to_string()))?;
    let started = Instant::now();
    let meta = std::fs::metadata(&file.path).map_err(|e| {
        Error::ConnectionFailed(format!("{}: {}", file.path.display(), io_reason(&e)))
    })?;
    if !meta.is_file() {
        return Err(Error::ConnectionFailed(format!(
            "{} is not a file",
            file.path.display()
        )));
    }
    if meta.len() > 0 {
        let mut head = [0u8; 16];
        let read = std::fs::File::open(&file.path).and_then(|mut f| {
            use std::io::Read;
            f.read_exact(&mut head)
        });
        if read.is_err() || &head != sqlite::MAGIC {
            return Err(Error::ConnectionFailed(format!(
                "{} is not a SQLite database",
                file.path.display()
            )));
        }
    }
    let program = find(tools::SQLITE)?;
    let mut cmd = tool_command(&program);
    cmd.arg("-bail").arg("-readonly").arg(&file.path);
    let out = run(config, "sqlite3", cmd, b"SELECT sqlite_version();\n", &[]).await?;
    if !out.success {
        return Err(connection_failed("sqlite3", &out));
    }
    let version = first_line(&out.stdout)
        .ok_or_else(|| Error::QueryFailed("sqlite3 returned no version".into()))?;
    Ok(ProbeResult::new(
        sqlite::ENGINE,
        version,
        None,
        vec![ProbeDatabase {
            name: file.label(),
            system: false,
        }],
        elapsed_ms(started),
    ))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Redis / Valkey: `INFO` through `redis-cli` (password in `REDISCLI_AUTH`); the edition tells
/// Redis from Valkey, databases are the keyspace's non-empty `dbN`.
pub(crate) async fn redis(config: &Config, map: Map<String, Value>) -> Result<ProbeResult, Error> {
    let engine = if map.get("engine").and_then(Value::as_str) == Some("valkey") {
        "valkey"
    } else {
        redis::ENGINE
    };
    let conn = redis::RedisConnection::from_fields(Fields::new(map))?;
    let program = find(tools::REDIS_CLI)?;
    let mut cmd = tool_command(&program);
    cmd.arg("-h")
        .arg(&conn.host)
        .arg("-p")
        .arg(conn.port.to_string())
        .arg("--no-auth-warning");
    if let Some(user) = &conn.user {
        cmd.arg("--user").arg(user);
    }
    if let Some(password) = &conn.password {
        cmd.env("REDISCLI_AUTH", password);
    }
    cmd.args(conn.extra_args());
    cmd.arg("INFO");
    let secrets: Vec<String> = conn.password.iter().cloned().collect();
    let started = Instant::now();
    let out = run(config, "redis-cli", cmd, b"", &secrets).await?;
    let latency_ms = elapsed_ms(started);
    let info = parse_info(&out.stdout);
    // redis-cli reports a refused AUTH on stderr and still runs the command (INFO needs no
    // auth when the server has no password): the configured credentials are wrong either way.
    if let Some(line) = out.stderr.lines().find(|l| l.contains("AUTH failed")) {
        return Err(Error::ConnectionFailed(super::truncate(
            line.trim(),
            MAX_DETAILS_CHARS,
        )));
    }
    let Some(redis_version) = info.get("redis_version") else {
        // redis-cli prints AUTH and connection errors on stdout or stderr, sometimes with
        // exit status 0: no version means it failed.
        return Err(connection_failed("redis-cli", &out));
    };
    let valkey = info.get("valkey_version").cloned().or_else(|| {
        (info.get("server_name").map(String::as_str) == Some("valkey"))
            .then(|| redis_version.clone())
    });
    let (version, edition) = match valkey {
        Some(v) => (v, "Valkey"),
        None => (redis_version.clone(), "Redis"),
    };
    let edition = match info.get("redis_mode") {
        Some(mode) => format!("{edition} ({mode})"),
        None => edition.to_owned(),
    };
    let mut databases: Vec<ProbeDatabase> = info
        .keys()
        .filter(|k| {
            k.starts_with("db") && k[2..].chars().all(|c| c.is_ascii_digit()) && k.len() > 2
        })
        .map(|k| ProbeDatabase {
            name: k.clone(),
            system: false,
        })
        .collect();
    databases.sort_by_key(|d| d.name[2..].parse::<u32>().unwrap_or(u32::MAX));
    Ok(ProbeResult::new(
        engine,
        version,
        Some(edition),
        databases,
        latency_ms,
    ))
}

/// `key:value` lines of a Redis `INFO` answer.
fn parse_info(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// MongoDB through `mongosh`: the connection string goes into a 0600 script file (never argv);
/// without `mongosh` on the worker's machine the probe is a 503 saying so.
pub(crate) async fn mongodb(config: &Config, mut fields: Fields) -> Result<ProbeResult, Error> {
    let _engine: Option<String> = fields.optional("engine")?;
    let uri: Option<String> = fields.optional("uri")?;
    let host: Option<String> = fields.optional("host")?;
    let port: Option<i64> = fields.optional("port")?;
    let user: Option<String> = fields.optional("user")?;
    let password: Option<String> = fields.optional("password")?;
    let auth_db: Option<String> = fields.optional("authDatabase")?;
    let _database: Option<String> = fields.optional("database")?;
    fields.finish()?;
    let uri = match (uri, host) {
        (Some(u), _) => {
            if !(u.starts_with("mongodb://") || u.starts_with("mongodb+srv://")) {
                return Err(Error::InvalidBody(
                    "uri: must start with mongodb:// or mongodb+srv://".into(),
                ));
            }
            u
        }
        (None, Some(h)) => {
            super::require_token_like("host", &h)?;
            let port = port.unwrap_or(27017);
            let creds = match (&user, &password) {
                (Some(u), Some(p)) => format!("{}:{}@", pct(u), pct(p)),
                (Some(u), None) => format!("{}@", pct(u)),
                _ => String::new(),
            };
            let auth = auth_db
                .map(|a| format!("?authSource={}", pct(&a)))
                .unwrap_or_default();
            format!("mongodb://{creds}{h}:{port}/{auth}")
        }
        (None, None) => return Err(Error::InvalidBody("missing field `uri` or `host`".into())),
    };
    let program = find(tools::MONGOSH)?;
    let dir = PrivateDir::new().map_err(|e| Error::Internal(format!("temp dir: {e}")))?;
    let uri_json = serde_json::to_string(&uri).map_err(|e| Error::Internal(e.to_string()))?;
    let script = format!(
        "const m = new Mongo({uri_json});\n\
         const admin = m.getDB('admin');\n\
         const info = admin.runCommand({{buildInfo: 1}});\n\
         const dbs = admin.runCommand({{listDatabases: 1, nameOnly: true}}).databases.map(d => d.name);\n\
         print(JSON.stringify({{version: info.version, modules: info.modules || [], dbs: dbs}}));\n"
    );
    let file = dir
        .write_secret_file("probe.js", script.as_bytes())
        .map_err(|e| Error::Internal(format!("script file: {e}")))?;
    let mut cmd = tool_command(&program);
    cmd.args(["--nodb", "--quiet", "--norc", "--file"])
        .arg(&file);
    let mut secrets: Vec<String> = vec![uri.clone()];
    secrets.extend(password);
    let started = Instant::now();
    let out = run(config, "mongosh", cmd, b"", &secrets).await?;
    let latency_ms = elapsed_ms(started);
    let answer = out.stdout.lines().rev().find_map(|l| {
        serde_json::from_str::<Value>(l.trim())
            .ok()
            .filter(Value::is_object)
    });
    let (true, Some(answer)) = (out.success, answer) else {
        return Err(connection_failed("mongosh", &out));
    };
    let version = answer["version"].as_str().unwrap_or_default().to_owned();
    let enterprise = answer["modules"]
        .as_array()
        .is_some_and(|m| m.iter().any(|x| x == "enterprise"));
    let databases = answer["dbs"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(|n| ProbeDatabase {
                    name: n.to_owned(),
                    system: MONGO_SYSTEM.contains(&n),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ProbeResult::new(
        "mongodb",
        version,
        Some(
            if enterprise {
                "Enterprise"
            } else {
                "Community"
            }
            .to_owned(),
        ),
        databases,
        latency_ms,
    ))
}

/// Percent-encodes a URI userinfo/query component.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_info() {
        let info = parse_info(
            "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n# Keyspace\r\ndb0:keys=3,expires=0\r\ndb10:keys=1\r\n",
        );
        assert_eq!(info["redis_version"], "7.0.15");
        assert!(info.contains_key("db10"));
        assert_eq!(pct("p@ss:w/rd"), "p%40ss%3Aw%2Frd");
    }
}
