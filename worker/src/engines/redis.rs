//! Redis/Valkey: `redis-cli --rdb -` streams an RDB snapshot. Restore places the RDB file
//! where a (stopped) server loads it at start: `<dir>/<dbfilename>` from its config. The
//! worker does not stop or start servers; the caller does (see docs/WORKER.md).

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use super::placement::Placement;
use super::process::{tool_command, ChildSlot, Process};
use super::{require_token_like, Fields};
use crate::error::Error;
use crate::tools;

/// The `engine` value handled by this module.
pub const ENGINE: &str = "redis";

/// Connection to a Redis or Valkey server.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConnection {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// ACL user (optional).
    pub user: Option<String>,
    /// Password; passed only through `REDISCLI_AUTH` in the child's environment.
    pub password: Option<String>,
    /// Connect with TLS (`redis-cli --tls`, system trust store).
    pub tls: bool,
    /// Logical database for commands (`-n`, 0–15); an RDB snapshot covers all of them.
    pub database: Option<u8>,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("tls", &self.tls)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// Parses `{engine, host, port, user?, password?, tls?, database?}`.
    pub(crate) fn from_fields(mut fields: Fields) -> Result<Self, Error> {
        let _engine: Option<String> = fields.optional("engine")?;
        let host: String = fields.required("host")?;
        let port: i64 = fields.required("port")?;
        let user: Option<String> = fields.optional("user")?;
        let password: Option<String> = fields.optional("password")?;
        let tls: Option<bool> = fields.optional("tls")?;
        let database: Option<i64> = fields.optional("database")?;
        fields.finish()?;
        let database = database
            .map(|d| {
                u8::try_from(d)
                    .ok()
                    .filter(|d| *d <= 15)
                    .ok_or_else(|| Error::InvalidBody("database: must be between 0 and 15".into()))
            })
            .transpose()?;
        require_token_like("host", &host)?;
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| Error::InvalidBody("port: must be between 1 and 65535".into()))?;
        if let Some(user) = &user {
            require_token_like("user", user)?;
        }
        Ok(RedisConnection {
            host,
            port,
            user,
            password: password.filter(|p| !p.is_empty()),
            tls: tls.unwrap_or(false),
            database,
        })
    }

    /// The `redis-cli` options for `tls` and `database` (host, port and user are added by
    /// the callers).
    pub(crate) fn extra_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.tls {
            args.push("--tls".to_owned());
        }
        if let Some(db) = self.database {
            args.extend(["-n".to_owned(), db.to_string()]);
        }
        args
    }
}

/// Where a restored RDB goes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RdbTarget {
    /// Engine tag (`redis`).
    pub engine: String,
    /// Absolute path of the server's RDB file (`dir` + `dbfilename`).
    pub rdb_path: PathBuf,
    /// Highest RDB version the target server loads (Redis 7.0: 10, Valkey 8: 11). Omitted:
    /// not checked.
    pub max_rdb_version: Option<u32>,
}

fn redis_cli() -> Result<PathBuf, String> {
    tools::find_first(tools::REDIS_CLI).ok_or_else(|| "redis-cli not found".to_owned())
}

/// Starts `redis-cli --rdb -`.
pub fn start_dump(conn: &RedisConnection, slot: &ChildSlot) -> Result<Process, String> {
    let program = redis_cli()?;
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
    cmd.arg("--rdb").arg("-");
    Process::spawn(
        "redis-cli",
        &mut cmd,
        slot,
        conn.password.iter().cloned().collect(),
    )
}

/// Version of the redis-cli tool.
pub fn version() -> Option<String> {
    redis_cli()
        .ok()
        .and_then(|p| super::process::tool_version(&p))
}

/// Starts placing an RDB at `target.rdb_path`.
pub fn start_restore(target: &RdbTarget) -> Result<Placement, String> {
    Placement::new(&target.rdb_path)
}

/// Parses the RDB version from the `REDISnnnn` magic.
pub fn rdb_version(head: &[u8]) -> Option<u32> {
    if head.len() < 9 || &head[..5] != b"REDIS" {
        return None;
    }
    std::str::from_utf8(&head[5..9]).ok()?.parse().ok()
}

/// Refuses an RDB newer than the target loads (`maxRdbVersion`), before anything is written.
pub fn check_rdb_version(target: &RdbTarget, head: &[u8]) -> Result<(), String> {
    let version = rdb_version(head).ok_or("the backup is not an RDB file (bad magic)")?;
    match target.max_rdb_version {
        Some(max) if version > max => Err(format!(
            "the backup is RDB version {version}; the target loads at most version {max} \
             (e.g. Valkey 8 writes 11, Redis 7.0 loads up to 10)"
        )),
        _ => Ok(()),
    }
}

/// Checks the RDB magic and version, then swaps the file in.
pub fn finish_restore(
    mut placement: Placement,
    target: &RdbTarget,
) -> Result<Option<PathBuf>, String> {
    placement.sync()?;
    let mut head = [0u8; 9];
    File::open(placement.partial_path())
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|_| "the restored data is not an RDB file".to_owned())?;
    let version = rdb_version(&head).ok_or("the restored data is not an RDB file (bad magic)")?;
    if let Some(max) = target.max_rdb_version {
        if version > max {
            return Err(format!(
                "the backup is RDB version {version}; the target loads at most version {max}"
            ));
        }
    }
    placement.commit(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<RedisConnection, Error> {
        let serde_json::Value::Object(map) = v else {
            unreachable!()
        };
        RedisConnection::from_fields(Fields::new(map))
    }

    #[test]
    fn tls_and_database_become_redis_cli_options() {
        let c = parse(
            json!({"engine": "redis", "host": "h", "port": 6380, "tls": true,
                             "database": 3, "password": "pw"}),
        )
        .unwrap();
        assert!(c.tls);
        assert_eq!(c.database, Some(3));
        assert_eq!(c.extra_args(), vec!["--tls", "-n", "3"]);
        assert!(!format!("{c:?}").contains("pw"));
        let plain = parse(json!({"host": "h", "port": 6379, "tls": false})).unwrap();
        assert!(plain.extra_args().is_empty());
        for bad in [
            json!({"host": "h", "port": 6379, "database": 16}),
            json!({"host": "h", "port": 6379, "database": -1}),
            json!({"host": "h", "port": 6379, "tls": "yes"}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
