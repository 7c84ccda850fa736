//! The host's HTTP limits, in one place: how large a request body may be (per route), and how
//! long a client may take to send a request's headers, to send its body, or to sit idle on a
//! connection. They are read from the manifest's `[application.tool.dbackup]` table (Spin ignores
//! `tool` tables), with the defaults below for anything not set.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::time::Duration;

/// Body limit of every route that has no entry of its own.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
/// From a request's first byte to the end of its headers.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no request in flight and no byte arriving, or a response no byte of which
/// the client takes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The whole body of one request, from the end of its headers.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// After a body is refused (413, 408) the rest of it is never read into a request, but closing a
/// socket with unread bytes resets it, and a client still writing its body then sees a network
/// error instead of the answer. So the host closes like nginx's `lingering_close`: it sends the
/// answer, shuts its write side, and reads and discards what the client still sends — at most
/// this long in all,
pub const LINGER_TOTAL: Duration = Duration::from_secs(2);
/// at most this long without a byte arriving,
pub const LINGER_IDLE: Duration = Duration::from_millis(500);
/// and at most this many bytes — then it closes.
pub const LINGER_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The limits in force.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpLimits {
    pub max_body_bytes: u64,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_read_timeout: Duration,
    /// Routes that accept larger bodies (or need more time for them), by exact path.
    pub body_limits: Vec<BodyLimit>,
}

/// One route's body limit.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyLimit {
    /// The request path, e.g. `/api/system/config-restore` (no wildcards, no query).
    pub path: String,
    pub max_bytes: u64,
    /// Overrides [`HttpLimits::body_read_timeout`] for this route.
    pub body_read_timeout: Option<Duration>,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            body_limits: Vec::new(),
        }
    }
}

/// `[application.tool.dbackup]` as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_body_bytes: Option<u64>,
    header_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    body_read_timeout_secs: Option<u64>,
    #[serde(default)]
    body_limits: Vec<RawBodyLimit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBodyLimit {
    path: String,
    max_bytes: u64,
    body_read_timeout_secs: Option<u64>,
}

fn seconds(name: &str, value: Option<u64>, default: Duration) -> Result<Duration> {
    match value {
        None => Ok(default),
        Some(0) => bail!("{name} must be at least 1"),
        Some(s) => Ok(Duration::from_secs(s)),
    }
}

impl HttpLimits {
    /// Reads the limits from the `dbackup` tool table of a manifest (`None`: all defaults).
    pub fn from_tool_table(table: Option<&toml::Table>) -> Result<Self> {
        let Some(table) = table else {
            return Ok(Self::default());
        };
        let raw: RawLimits = toml::Value::Table(table.clone())
            .try_into()
            .context("[application.tool.dbackup]")?;
        let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if max_body_bytes == 0 {
            bail!("[application.tool.dbackup] max_body_bytes must be at least 1");
        }
        let mut body_limits = Vec::new();
        for r in raw.body_limits {
            if !r.path.starts_with('/') || r.path.contains(['?', '*']) || r.path.ends_with("/...") {
                bail!(
                    "[application.tool.dbackup] body_limits path {:?} must be an exact path starting with '/'",
                    r.path
                );
            }
            if r.max_bytes == 0 {
                bail!(
                    "[application.tool.dbackup] body_limits {}: max_bytes must be at least 1",
                    r.path
                );
            }
            if body_limits
                .iter()
                .any(|b: &BodyLimit| b.path == normalize(&r.path))
            {
                bail!(
                    "[application.tool.dbackup] body_limits names {} twice",
                    r.path
                );
            }
            body_limits.push(BodyLimit {
                path: normalize(&r.path).to_owned(),
                max_bytes: r.max_bytes,
                body_read_timeout: match r.body_read_timeout_secs {
                    None => None,
                    Some(s) => Some(seconds("body_read_timeout_secs", Some(s), Duration::ZERO)?),
                },
            });
        }
        Ok(HttpLimits {
            max_body_bytes,
            header_read_timeout: seconds(
                "header_read_timeout_secs",
                raw.header_read_timeout_secs,
                DEFAULT_HEADER_READ_TIMEOUT,
            )?,
            idle_timeout: seconds(
                "idle_timeout_secs",
                raw.idle_timeout_secs,
                DEFAULT_IDLE_TIMEOUT,
            )?,
            body_read_timeout: seconds(
                "body_read_timeout_secs",
                raw.body_read_timeout_secs,
                DEFAULT_BODY_READ_TIMEOUT,
            )?,
            body_limits,
        })
    }

    /// The largest body a request to `path` may carry, and how long it may take to send it.
    pub fn for_path(&self, path: &str) -> (u64, Duration) {
        let path = normalize(path);
        match self.body_limits.iter().find(|b| b.path == path) {
            Some(b) => (
                b.max_bytes,
                b.body_read_timeout.unwrap_or(self.body_read_timeout),
            ),
            None => (self.max_body_bytes, self.body_read_timeout),
        }
    }
}

/// `/a/b/` and `/a/b` are one route (as the router treats them).
fn normalize(path: &str) -> &str {
    if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HttpLimits> {
        let table: toml::Table = toml::from_str(text).expect("toml");
        HttpLimits::from_tool_table(Some(&table))
    }

    #[test]
    fn defaults_without_a_table() {
        let l = HttpLimits::from_tool_table(None).expect("defaults");
        assert_eq!(l, HttpLimits::default());
        assert_eq!(
            l.for_path("/api/anything"),
            (1024 * 1024, Duration::from_secs(60))
        );
    }

    #[test]
    fn per_route_limits_override_the_default() {
        let l = parse(
            r#"
            max_body_bytes = 2048
            header_read_timeout_secs = 3
            idle_timeout_secs = 4
            body_read_timeout_secs = 5
            [[body_limits]]
            path = "/api/system/config-restore"
            max_bytes = 33_554_432
            body_read_timeout_secs = 300
            [[body_limits]]
            path = "/upload/"
            max_bytes = 10
            "#,
        )
        .expect("valid");
        assert_eq!(l.header_read_timeout, Duration::from_secs(3));
        assert_eq!(l.idle_timeout, Duration::from_secs(4));
        assert_eq!(
            l.for_path("/api/system/config-restore"),
            (33_554_432, Duration::from_secs(300))
        );
        assert_eq!(
            l.for_path("/api/system/config-restore/"),
            (33_554_432, Duration::from_secs(300))
        );
        assert_eq!(l.for_path("/upload"), (10, Duration::from_secs(5)));
        assert_eq!(
            l.for_path("/api/system/config-restorex"),
            (2048, Duration::from_secs(5))
        );
    }

    #[test]
    fn mistakes_are_refused() {
        for bad in [
            "max_body_bytes = 0",
            "idle_timeout_secs = 0",
            "max_body = 5",
            "[[body_limits]]\npath = \"api\"\nmax_bytes = 1",
            "[[body_limits]]\npath = \"/api/...\"\nmax_bytes = 1",
            "[[body_limits]]\npath = \"/a\"\nmax_bytes = 0",
            "[[body_limits]]\npath = \"/a\"\nmax_bytes = 1\n[[body_limits]]\npath = \"/a\"\nmax_bytes = 2",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_repository_manifest_states_its_limits() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml");
        let m = crate::manifest::Manifest::load(&path).expect("spin.toml parses");
        let l = HttpLimits::from_tool_table(m.application.tool.get("dbackup")).expect("valid");
        assert_eq!(l.for_path("/api/auth/login").0, 1024 * 1024);
        // Config backups are at most 32 MiB (dbackup_config::run::MAX_BACKUP_BYTES).
        assert_eq!(l.for_path("/api/system/config-restore").0, 32 * 1024 * 1024);
    }
}
