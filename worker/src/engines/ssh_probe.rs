//! Probe of a source whose tools run on an SSH host (`ssh` in the probe body): the same
//! client tools the dump uses run there through [`ChildSlot::with_remote`], so a probe checks
//! the SSH login (pinned host key first), the remote tool and the database login at once.

use std::time::Instant;

use serde_json::{Map, Value};

use super::process::{run_with_input, tool_command, ChildSlot};
use super::{pg_tools, postgres, redis, ProbeDatabase, ProbeResult, Source};
use crate::error::Error;
use crate::{tools, Config};

/// MariaDB/MySQL schemas that are the server's own.
const MYSQL_SYSTEM: &[&str] = &["information_schema", "mysql", "performance_schema", "sys"];

fn leading_number(version: &str) -> u32 {
    version
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Probes over SSH; `map` still holds `ssh`.
pub(crate) async fn probe(config: &Config, map: Map<String, Value>) -> Result<ProbeResult, Error> {
    let engine = map
        .get("engine")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let source = Source::from_value(Value::Object(map))?;
    let Source::Ssh(inner, login) = source else {
        return Err(Error::InvalidBody("ssh: expected an object".into()));
    };
    let config = config.clone();
    // The SSH handshake comes on top of the tool's own probe.
    let config_timeout = config.probe_timeout + crate::ssh::CONNECT_TIMEOUT;
    let started = Instant::now();
    let run = tokio::task::spawn_blocking(move || {
        let slot = ChildSlot::default();
        slot.with_remote(&login, || run_probe(&config, &inner, &slot))
    });
    let limit = config_timeout;
    let (version, edition, databases) = match tokio::time::timeout(limit, run).await {
        Err(_) => {
            return Err(Error::Timeout(format!(
                "probe over SSH: no answer in {} s",
                limit.as_secs()
            )))
        }
        Ok(Err(e)) => return Err(Error::QueryFailed(format!("probe over SSH: {e}"))),
        Ok(Ok(Err(e))) => return Err(Error::ConnectionFailed(e)),
        Ok(Ok(Ok(found))) => found,
    };
    Ok(ProbeResult {
        ok: true,
        engine,
        major_version: leading_number(&version),
        version,
        edition,
        databases,
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

type Found = (String, Option<String>, Vec<ProbeDatabase>);

fn run_probe(config: &Config, source: &Source, slot: &ChildSlot) -> Result<Found, String> {
    match source {
        Source::Postgres(c) => {
            let sets = pg_tools::discover(&config.pg_bin_dirs);
            let (_, version) = postgres::server_version(c, &sets, &c.database, slot)?;
            let mut databases: Vec<ProbeDatabase> = postgres::list_databases(c, config, slot)?
                .into_iter()
                .map(|name| ProbeDatabase {
                    name,
                    system: false,
                })
                .collect();
            databases.push(ProbeDatabase {
                name: "postgres".into(),
                system: true,
            });
            Ok((version, None, databases))
        }
        Source::MariaDb(c) => {
            let program = tools::find_first(tools::MARIADB_CLIENT)
                .ok_or_else(|| "mariadb client not found".to_owned())?;
            let (mut cmd, _dir) = c.command(&program)?;
            cmd.args(["-N", "-B"]);
            let out = run_with_input(
                "mariadb",
                &mut cmd,
                b"SELECT VERSION(); SHOW DATABASES;\n",
                slot,
                c.password.iter().cloned().collect(),
            )?;
            let mut lines = out.lines().map(str::trim);
            let version = lines.next().unwrap_or_default().to_owned();
            let edition = version
                .to_ascii_lowercase()
                .contains("mariadb")
                .then(|| "MariaDB".to_owned());
            let databases = lines
                .filter(|l| !l.is_empty())
                .map(|name| ProbeDatabase {
                    name: name.to_owned(),
                    system: MYSQL_SYSTEM.contains(&name),
                })
                .collect();
            Ok((version, edition, databases))
        }
        Source::Redis(c) => {
            let program = tools::find_first(tools::REDIS_CLI)
                .ok_or_else(|| "redis-cli not found".to_owned())?;
            let mut cmd = tool_command(&program);
            cmd.arg("-h")
                .arg(&c.host)
                .arg("-p")
                .arg(c.port.to_string())
                .arg("--no-auth-warning");
            if let Some(user) = &c.user {
                cmd.arg("--user").arg(user);
            }
            if let Some(password) = &c.password {
                cmd.env("REDISCLI_AUTH", password);
            }
            cmd.args(c.extra_args()).args(["INFO", "server"]);
            let out = run_with_input(
                "redis-cli",
                &mut cmd,
                b"",
                slot,
                c.password.iter().cloned().collect(),
            )?;
            let field = |name: &str| {
                out.lines()
                    .find_map(|l| l.trim().strip_prefix(name))
                    .map(str::to_owned)
            };
            let version = field("valkey_version:")
                .or_else(|| field("redis_version:"))
                .ok_or_else(|| {
                    format!(
                        "unexpected INFO answer: {}",
                        super::truncate(out.trim(), 200)
                    )
                })?;
            let edition = field("server_name:").or_else(|| Some(redis::ENGINE.to_owned()));
            Ok((version, edition, Vec::new()))
        }
        Source::Sqlite(f) => {
            let version = super::sqlite::remote_probe(f, slot)?;
            Ok((version, None, Vec::new()))
        }
        Source::Files(f) => {
            // Over SFTP: each path must be there (the walk reads what the SSH user may).
            use super::files::SourceFs;
            let login = slot
                .remote_login()
                .ok_or("internal: files probe without an SSH host")?;
            let remote =
                crate::storage::sftp::RemoteFiles::connect(login).map_err(|e| e.to_string())?;
            for (i, p) in f.paths.iter().enumerate() {
                remote
                    .lstat(p)
                    .map_err(|e| format!("paths[{i}]: {}: {e}", p.display()))?;
            }
            Ok(("sftp".into(), None, Vec::new()))
        }
        _ => Err("probe over SSH: not supported for this engine".into()),
    }
}
