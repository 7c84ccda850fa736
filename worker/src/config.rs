//! Worker configuration, read from the environment (plus `--listen`).

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::storage::LocalRoots;

/// Environment variable holding the listen address (`IP:PORT`).
pub const ENV_LISTEN: &str = "DBACKUP_WORKER_LISTEN";
/// Environment variable holding the bearer token (required, at least 32 characters).
pub const ENV_TOKEN: &str = "DBACKUP_WORKER_TOKEN";
/// Environment variable holding colon-separated directories searched for `psql`/`pg_dump`
/// before `PATH`.
pub const ENV_PG_BIN_DIRS: &str = "DBACKUP_PG_BIN_DIRS";

/// Environment variable holding the number of backup/restore tasks run at once (1–64).
pub const ENV_MAX_TASKS: &str = "DBACKUP_WORKER_MAX_TASKS";
/// Environment variable naming a PEM file of extra CA certificates trusted for https
/// callbacks (in addition to the built-in web PKI roots).
pub const ENV_CA_FILE: &str = "DBACKUP_WORKER_CA_FILE";
/// Environment variable holding the colon-separated absolute directories local storage may
/// use (default `<data-dir>/backups`).
pub const ENV_LOCAL_ROOTS: &str = "DBACKUP_LOCAL_ROOTS";
/// Environment variable naming the dbackup data directory (the host passes its `--data-dir`):
/// local storage stays out of it except for its `backups/` folder, the default root.
pub const ENV_DATA_DIR: &str = "DBACKUP_WORKER_DATA_DIR";
/// Environment variable naming the app's base URL (as this worker reaches it): set, the worker
/// joins the app's pool by registering there (docs/WORKER.md, "A pool of workers").
pub const ENV_APP_URL: &str = "DBACKUP_APP_URL";
/// The worker's name in the pool (required with `DBACKUP_APP_URL`).
pub const ENV_WORKER_NAME: &str = "DBACKUP_WORKER_NAME";
/// Comma-separated labels (sources pin one with `workerLabel`).
pub const ENV_WORKER_LABELS: &str = "DBACKUP_WORKER_LABELS";
/// Tasks the app may send at once (1 to `DBACKUP_WORKER_MAX_TASKS`, default that).
pub const ENV_WORKER_CAPACITY: &str = "DBACKUP_WORKER_CAPACITY";
/// The base URL the app calls this worker at (default `http://<listen address>`).
pub const ENV_ADVERTISE_URL: &str = "DBACKUP_WORKER_ADVERTISE_URL";
/// Seconds between two registrations (2–300, default 15).
pub const ENV_HEARTBEAT_SECS: &str = "DBACKUP_WORKER_HEARTBEAT_SECS";
/// The data directory when `DBACKUP_WORKER_DATA_DIR` is not set: the host's default
/// (`.dbackup` in the working directory).
pub const DEFAULT_DATA_DIR: &str = ".dbackup";
/// Tasks run at once when `DBACKUP_WORKER_MAX_TASKS` is not set.
pub const DEFAULT_MAX_TASKS: usize = 4;

/// Listen address used when neither `--listen` nor `DBACKUP_WORKER_LISTEN` is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3001";
/// Minimum token length, in characters.
pub const MIN_TOKEN_LEN: usize = 32;
/// Default overall time limit for a probe (the client tool is killed after it).
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runtime configuration of the worker.
#[derive(Clone)]
pub struct Config {
    /// Address the HTTP server listens on (used by the binary to bind; `serve` takes a bound
    /// listener).
    pub listen: SocketAddr,
    /// Bearer token every request except `GET /healthz` must present.
    pub token: String,
    /// Directories searched for PostgreSQL client tools before `PATH`.
    pub pg_bin_dirs: Vec<PathBuf>,
    /// Overall time limit for one probe; the client tool is killed when it elapses.
    pub probe_timeout: Duration,
    /// Backup/restore tasks run at once; more are refused with 429.
    pub max_tasks: usize,
    /// PEM file of extra CA certificates for https callbacks.
    pub ca_file: Option<PathBuf>,
    /// Where local storage may live (every storage operation checks it).
    pub local_roots: LocalRoots,
    /// Membership of an app's pool of workers (`DBACKUP_APP_URL` set).
    pub pool: Option<PoolConfig>,
}

/// What the worker registers with, and where (`DBACKUP_APP_URL` and friends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// The app's base URL, without a trailing slash.
    pub app_url: String,
    /// The registration sent (name, advertised URL, labels, capacity, version, interval).
    pub registration: dbackup_protocol::registration::Registration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("token", &"********")
            .field("pg_bin_dirs", &self.pg_bin_dirs)
            .field("probe_timeout", &self.probe_timeout)
            .field("max_tasks", &self.max_tasks)
            .field("ca_file", &self.ca_file)
            .field("local_roots", &self.local_roots)
            .field("pool", &self.pool)
            .finish()
    }
}

/// A configuration problem; its `Display` is a single line meant for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the configuration from the process environment only.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_and_args(std::iter::empty::<OsString>())
    }

    /// Reads the configuration from the process environment, then applies command-line
    /// flags (without the program name). The only flag is `--listen ADDR` / `--listen=ADDR`;
    /// the token is deliberately never accepted on the command line.
    pub fn from_env_and_args<I, S>(args: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self::from_lookup(|key| std::env::var_os(key), args)
    }

    /// Like [`Config::from_env_and_args`] but with an explicit variable lookup.
    fn from_lookup<F, I, S>(lookup: F, args: I) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<OsString>,
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let listen_flag = parse_args(args)?;

        let listen = match listen_flag {
            Some(addr) => addr,
            None => match env_string(&lookup, ENV_LISTEN)? {
                Some(value) if !value.is_empty() => parse_listen(&value, ENV_LISTEN)?,
                _ => parse_listen(DEFAULT_LISTEN, ENV_LISTEN)?,
            },
        };

        let token = match env_string(&lookup, ENV_TOKEN)? {
            Some(token) if !token.is_empty() => token,
            _ => return Err(ConfigError(format!("{ENV_TOKEN} is not set"))),
        };

        let pg_bin_dirs = match lookup(ENV_PG_BIN_DIRS) {
            Some(value) => std::env::split_paths(&value)
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
            None => Vec::new(),
        };

        let max_tasks = match env_string(&lookup, ENV_MAX_TASKS)? {
            Some(value) if !value.trim().is_empty() => value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    ConfigError(format!("{ENV_MAX_TASKS} must be a number from 1 to 64"))
                })?,
            _ => DEFAULT_MAX_TASKS,
        };

        let ca_file = lookup(ENV_CA_FILE)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);

        let local_roots = local_roots(&lookup)?;
        let pool = pool_config(&lookup, listen, max_tasks)?;

        let config = Config {
            listen,
            token,
            pg_bin_dirs,
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            max_tasks,
            ca_file,
            local_roots,
            pool,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks invariants that `serve` relies on (currently: the token's strength and charset).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let len = self.token.chars().count();
        if len < MIN_TOKEN_LEN {
            return Err(ConfigError(format!(
                "{ENV_TOKEN} must be at least {MIN_TOKEN_LEN} characters (got {len})"
            )));
        }
        if !self.token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError(format!(
                "{ENV_TOKEN} must contain only visible ASCII characters (no spaces)"
            )));
        }
        Ok(())
    }
}

/// `DBACKUP_LOCAL_ROOTS` (absolute paths only; default `<data-dir>/backups`) and the data
/// directory (`DBACKUP_WORKER_DATA_DIR`, relative to the working directory; default `.dbackup`).
fn local_roots<F>(lookup: &F) -> Result<LocalRoots, ConfigError>
where
    F: Fn(&str) -> Option<OsString>,
{
    let cwd = || {
        std::env::current_dir().map_err(|e| {
            ConfigError(format!(
                "cannot read the working directory for {ENV_DATA_DIR}: {e}"
            ))
        })
    };
    let data_dir = match lookup(ENV_DATA_DIR).filter(|v| !v.is_empty()) {
        Some(dir) if PathBuf::from(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => cwd()?.join(dir),
        None => cwd()?.join(DEFAULT_DATA_DIR),
    };
    let mut roots = Vec::new();
    if let Some(value) = lookup(ENV_LOCAL_ROOTS) {
        for root in std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()) {
            if !root.is_absolute() {
                return Err(ConfigError(format!(
                    "{ENV_LOCAL_ROOTS} must list absolute directories (got {})",
                    root.display()
                )));
            }
            roots.push(root);
        }
    }
    if roots.is_empty() {
        roots.push(data_dir.join(crate::storage::roots::DATA_BACKUPS));
    }
    Ok(LocalRoots::new(roots, Some(data_dir)))
}

/// The pool membership: `None` without `DBACKUP_APP_URL`; with it, every field checked with the
/// bounds the app applies (`Registration::check`), named by its variable.
fn pool_config<F>(
    lookup: &F,
    listen: SocketAddr,
    max_tasks: usize,
) -> Result<Option<PoolConfig>, ConfigError>
where
    F: Fn(&str) -> Option<OsString>,
{
    use dbackup_protocol::registration::{Registration, DEFAULT_HEARTBEAT_SECS};
    let Some(app_url) = env_string(lookup, ENV_APP_URL)?.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let app_url = app_url.trim().trim_end_matches('/').to_owned();
    if !(app_url.starts_with("http://") || app_url.starts_with("https://")) {
        return Err(ConfigError(format!(
            "{ENV_APP_URL} must start with http:// or https://"
        )));
    }
    let name = env_string(lookup, ENV_WORKER_NAME)?
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConfigError(format!("{ENV_WORKER_NAME} is required with {ENV_APP_URL}")))?;
    let url = match env_string(lookup, ENV_ADVERTISE_URL)?.filter(|v| !v.trim().is_empty()) {
        Some(u) => u.trim().trim_end_matches('/').to_owned(),
        None if listen.ip().is_unspecified() => {
            return Err(ConfigError(format!(
                "{ENV_ADVERTISE_URL} is required when listening on {listen} (the app needs an address to call)"
            )))
        }
        None => format!("http://{listen}"),
    };
    let labels = env_string(lookup, ENV_WORKER_LABELS)?
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let number = |key: &str| -> Result<Option<i64>, ConfigError> {
        match env_string(lookup, key)? {
            Some(v) if !v.trim().is_empty() => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ConfigError(format!("{key} must be a number"))),
            _ => Ok(None),
        }
    };
    let max = i64::try_from(max_tasks).unwrap_or(64);
    let capacity = number(ENV_WORKER_CAPACITY)?.unwrap_or(max);
    if capacity > max {
        return Err(ConfigError(format!(
            "{ENV_WORKER_CAPACITY} ({capacity}) must not exceed {ENV_MAX_TASKS} ({max})"
        )));
    }
    let heartbeat_secs = number(ENV_HEARTBEAT_SECS)?
        .map_or(Ok(DEFAULT_HEARTBEAT_SECS), u32::try_from)
        .unwrap_or(0);
    let registration = Registration {
        name,
        url,
        labels,
        capacity,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        heartbeat_secs,
    };
    if let Some((field, why)) = registration.check().into_iter().next() {
        let var = match field {
            "name" => ENV_WORKER_NAME,
            "url" => ENV_ADVERTISE_URL,
            "labels" => ENV_WORKER_LABELS,
            "capacity" => ENV_WORKER_CAPACITY,
            "heartbeatSecs" => ENV_HEARTBEAT_SECS,
            other => other,
        };
        return Err(ConfigError(format!("{var}: {why}")));
    }
    Ok(Some(PoolConfig {
        app_url,
        registration,
    }))
}

fn env_string<F>(lookup: &F, key: &str) -> Result<Option<String>, ConfigError>
where
    F: Fn(&str) -> Option<OsString>,
{
    match lookup(key) {
        None => Ok(None),
        Some(value) => value
            .into_string()
            .map(Some)
            .map_err(|_| ConfigError(format!("{key} is not valid UTF-8"))),
    }
}

fn parse_listen(value: &str, source: &str) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| {
        ConfigError(format!(
            "invalid {source} {value:?}: expected IP:PORT, e.g. {DEFAULT_LISTEN}"
        ))
    })
}

/// Parses the command line; returns the `--listen` override, if any.
fn parse_args<I, S>(args: I) -> Result<Option<SocketAddr>, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut listen = None;
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|_| ConfigError("command-line arguments must be valid UTF-8".into()))?;
        if arg == "--listen" {
            let value = args
                .next()
                .ok_or_else(|| ConfigError("--listen requires a value (IP:PORT)".into()))?;
            let value = value.to_string_lossy().into_owned();
            listen = Some(parse_listen(&value, "--listen")?);
        } else if let Some(value) = arg.strip_prefix("--listen=") {
            listen = Some(parse_listen(value, "--listen")?);
        } else if arg == "--token" || arg.starts_with("--token=") {
            return Err(ConfigError(format!(
                "the token is never accepted on the command line; set {ENV_TOKEN}"
            )));
        } else {
            return Err(ConfigError(format!(
                "unexpected argument {arg:?} (usage: dbackup-worker [--listen IP:PORT])"
            )));
        }
    }
    Ok(listen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn load(vars: &[(&str, &str)], args: &[&str]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Config::from_lookup(|k| vars.get(k).cloned(), args.iter().copied())
    }

    #[test]
    fn defaults() {
        let c = load(&[(ENV_TOKEN, TOKEN)], &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3001".parse().unwrap());
        assert!(c.pg_bin_dirs.is_empty());
        assert_eq!(c.probe_timeout, DEFAULT_PROBE_TIMEOUT);
    }

    #[test]
    fn pool_membership_from_the_environment() {
        assert_eq!(load(&[(ENV_TOKEN, TOKEN)], &[]).unwrap().pool, None);
        let c = load(
            &[
                (ENV_TOKEN, TOKEN),
                (ENV_APP_URL, "http://app:3000/"),
                (ENV_WORKER_NAME, "eu-1"),
                (ENV_WORKER_LABELS, "eu, net-a,"),
                (ENV_MAX_TASKS, "3"),
            ],
            &["--listen", "10.0.0.5:3001"],
        )
        .unwrap();
        let pool = c.pool.unwrap();
        assert_eq!(pool.app_url, "http://app:3000");
        let r = pool.registration;
        assert_eq!(
            (
                r.name.as_str(),
                r.url.as_str(),
                r.capacity,
                r.heartbeat_secs
            ),
            ("eu-1", "http://10.0.0.5:3001", 3, 15)
        );
        assert_eq!(r.labels, ["eu", "net-a"]);
        // Each bad value is named by its variable.
        let err = |extra: &[(&str, &str)]| {
            let mut vars = vec![
                (ENV_TOKEN, TOKEN),
                (ENV_APP_URL, "http://app:3000"),
                (ENV_WORKER_NAME, "w"),
            ];
            vars.extend_from_slice(extra);
            load(&vars, &[]).unwrap_err().to_string()
        };
        assert!(err(&[(ENV_WORKER_NAME, "")]).contains(ENV_WORKER_NAME));
        assert!(err(&[(ENV_WORKER_LABELS, "a_b")]).contains(ENV_WORKER_LABELS));
        assert!(err(&[(ENV_WORKER_CAPACITY, "9")]).contains(ENV_WORKER_CAPACITY));
        assert!(err(&[(ENV_HEARTBEAT_SECS, "1")]).contains(ENV_HEARTBEAT_SECS));
        assert!(err(&[(ENV_ADVERTISE_URL, "http://h/x")]).contains(ENV_ADVERTISE_URL));
        assert!(err(&[(ENV_LISTEN, "0.0.0.0:3001")]).contains(ENV_ADVERTISE_URL));
        assert!(err(&[(ENV_APP_URL, "app:3000")]).contains(ENV_APP_URL));
    }

    #[test]
    fn flag_overrides_env() {
        let c = load(
            &[(ENV_TOKEN, TOKEN), (ENV_LISTEN, "not an address")],
            &["--listen", "0.0.0.0:4000"],
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:4000".parse().unwrap());
        let c = load(
            &[(ENV_TOKEN, TOKEN), (ENV_LISTEN, "127.0.0.1:5000")],
            &["--listen=[::1]:4001"],
        )
        .unwrap();
        assert_eq!(c.listen, "[::1]:4001".parse().unwrap());
        let c = load(&[(ENV_TOKEN, TOKEN), (ENV_LISTEN, "127.0.0.1:5000")], &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:5000".parse().unwrap());
    }

    #[test]
    fn token_rules() {
        assert_eq!(
            load(&[], &[]).unwrap_err().to_string(),
            "DBACKUP_WORKER_TOKEN is not set"
        );
        assert_eq!(
            load(&[(ENV_TOKEN, "")], &[]).unwrap_err().to_string(),
            "DBACKUP_WORKER_TOKEN is not set"
        );
        let short = load(&[(ENV_TOKEN, "short")], &[]).unwrap_err().to_string();
        assert!(short.contains("at least 32"), "{short}");
        assert!(
            !short.contains("short\""),
            "token must not be echoed: {short}"
        );
        let spaced = "0123456789abcdef 0123456789abcdef";
        assert!(load(&[(ENV_TOKEN, spaced)], &[]).is_err());
    }

    #[test]
    fn max_tasks_from_env() {
        assert_eq!(
            load(&[(ENV_TOKEN, TOKEN)], &[]).unwrap().max_tasks,
            DEFAULT_MAX_TASKS
        );
        let c = load(&[(ENV_TOKEN, TOKEN), (ENV_MAX_TASKS, "1")], &[]).unwrap();
        assert_eq!(c.max_tasks, 1);
        for bad in ["0", "65", "many", "-1"] {
            let err = load(&[(ENV_TOKEN, TOKEN), (ENV_MAX_TASKS, bad)], &[]).unwrap_err();
            assert!(err.to_string().contains(ENV_MAX_TASKS), "{bad}: {err}");
        }
    }

    #[test]
    fn token_never_from_argv() {
        let err = load(&[(ENV_TOKEN, TOKEN)], &["--token", TOKEN]).unwrap_err();
        assert!(err.to_string().contains(ENV_TOKEN));
        assert!(!err.to_string().contains(TOKEN));
        assert!(load(&[(ENV_TOKEN, TOKEN)], &["--bogus"]).is_err());
        assert!(load(&[(ENV_TOKEN, TOKEN)], &["--listen"]).is_err());
    }

    #[test]
    fn pg_bin_dirs_split_on_colon() {
        let c = load(
            &[
                (ENV_TOKEN, TOKEN),
                (ENV_PG_BIN_DIRS, "/usr/lib/postgresql/16/bin::/opt/pg/bin"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            c.pg_bin_dirs,
            vec![
                PathBuf::from("/usr/lib/postgresql/16/bin"),
                PathBuf::from("/opt/pg/bin")
            ]
        );
    }

    #[test]
    fn local_roots_default_to_the_data_backups_folder() {
        let c = load(&[(ENV_TOKEN, TOKEN), (ENV_DATA_DIR, "/srv/dbackup")], &[]).unwrap();
        assert_eq!(
            c.local_roots,
            LocalRoots::new(
                vec![PathBuf::from("/srv/dbackup/backups")],
                Some(PathBuf::from("/srv/dbackup"))
            )
        );
        let c = load(
            &[
                (ENV_TOKEN, TOKEN),
                (ENV_DATA_DIR, "/srv/dbackup"),
                (ENV_LOCAL_ROOTS, "/var/backups::/mnt/nas"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            c.local_roots.roots(),
            [PathBuf::from("/var/backups"), PathBuf::from("/mnt/nas")]
        );
        // Unset: the host's default data directory, in the working directory.
        let c = load(&[(ENV_TOKEN, TOKEN)], &[]).unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            c.local_roots.data_dir(),
            Some(cwd.join(".dbackup").as_path())
        );
        assert_eq!(c.local_roots.roots(), [cwd.join(".dbackup/backups")]);
        let err = load(
            &[(ENV_TOKEN, TOKEN), (ENV_LOCAL_ROOTS, "/ok:relative")],
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains(ENV_LOCAL_ROOTS), "{err}");
    }

    #[test]
    fn debug_redacts_token() {
        let c = load(&[(ENV_TOKEN, TOKEN)], &[]).unwrap();
        assert!(!format!("{c:?}").contains(TOKEN));
    }
}
