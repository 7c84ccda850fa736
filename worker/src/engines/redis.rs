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
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// Parses `{engine, host, port, user?, password?}`.
    pub(crate) fn from_fields(mut fields: Fields) -> Result<Self, Error> {
        let _engine: Option<String> = fields.optional("engine")?;
        let host: String = fields.required("host")?;
        let port: i64 = fields.required("port")?;
        let user: Option<String> = fields.optional("user")?;
        let password: Option<String> = fields.optional("password")?;
        fields.finish()?;
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
        })
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
    tools::find_tool("redis-cli", &[])
        .or_else(|| tools::find_tool("valkey-cli", &[]))
        .ok_or_else(|| "redis-cli not found".to_owned())
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
