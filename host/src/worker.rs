//! The native worker sidecar as the host manages it: started as a child process with a cleared
//! environment plus an allow-list (token passed there, never argv; the host's own secrets such as
//! `SPIN_VARIABLE_ENCRYPTION_KEY` never reach it), checked for reachability and for agreeing on
//! the token, and stopped with SIGTERM on shutdown.

use anyhow::{anyhow, bail, Context, Result};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// How the host finds its worker.
#[derive(Debug, Clone)]
pub enum WorkerMode {
    /// Start this binary as a child process.
    Spawn { binary: PathBuf },
    /// A worker started by someone else, at `worker_url`.
    External,
    /// No worker at all (tests of the host alone).
    Disabled,
}

/// A started child worker.
pub struct WorkerProcess {
    child: Child,
}

/// `host:port` of an `http://host:port` URL.
pub fn authority_of(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("worker_url {url:?} must start with http://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        bail!("worker_url {url:?} has no host");
    }
    Ok(authority.to_owned())
}

/// Sends a bodiless request and returns the status code.
pub async fn status_of(
    authority: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> Result<u16> {
    let mut stream = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(authority),
    )
    .await
    .map_err(|_| anyhow!("timed out connecting to {authority}"))?
    .with_context(|| format!("cannot connect to {authority}"))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head[read..]))
            .await
            .map_err(|_| anyhow!("timed out waiting for {authority}"))??;
        if n == 0 {
            break;
        }
        read += n;
    }
    let line = String::from_utf8_lossy(&head[..read]);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("{authority} did not answer HTTP"))
}

/// Whether the worker answers and accepts our token. `Ok(false)` means unreachable.
pub async fn check(authority: &str, token: &str) -> Result<bool> {
    match status_of(authority, "GET", "/healthz", None).await {
        Ok(200) => {}
        Ok(code) => bail!("worker at {authority} answered /healthz with HTTP {code}"),
        Err(_) => return Ok(false),
    }
    match status_of(authority, "GET", "/v1/ping", Some(token)).await? {
        401 | 403 => bail!(
            "worker at {authority} rejected worker_token (HTTP 401): the host's and the worker's tokens differ"
        ),
        _ => Ok(true),
    }
}

/// Variables of the host's environment a started worker inherits, by exact name: the system
/// basics its tools need (the search path, home, locale, temp dir, time zone), outbound proxies,
/// logging, and the worker's own settings (docs/WORKER.md). Everything else — the host's
/// `SPIN_VARIABLE_*` secrets above all — is left out.
const INHERITED: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LANGUAGE",
    "TMPDIR",
    "TZ",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "DBACKUP_LOCAL_ROOTS",
    "DBACKUP_PG_BIN_DIRS",
];

/// Prefixes of inherited variables: the locale categories and the worker's settings
/// (`DBACKUP_WORKER_MAX_TASKS`, `DBACKUP_WORKER_CA_FILE`, …).
const INHERITED_PREFIXES: &[&str] = &["LC_", "DBACKUP_WORKER_"];

/// The environment variable naming the worker's data folder (its default local root is
/// `<data-dir>/backups`).
pub const ENV_DATA_DIR: &str = "DBACKUP_WORKER_DATA_DIR";

/// The environment of a started worker: the allow-listed part of `host_env`, then the listen
/// address, token and data folder the host decides (these win over inherited values).
pub fn worker_env(
    host_env: impl IntoIterator<Item = (OsString, OsString)>,
    listen: SocketAddr,
    token: &str,
    data_dir: &Path,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = host_env
        .into_iter()
        .filter(|(k, _)| {
            k.to_str().is_some_and(|k| {
                INHERITED.contains(&k) || INHERITED_PREFIXES.iter().any(|p| k.starts_with(p))
            })
        })
        .filter(|(k, _)| {
            !matches!(
                k.to_str(),
                Some("DBACKUP_WORKER_LISTEN" | "DBACKUP_WORKER_TOKEN") | Some(ENV_DATA_DIR)
            )
        })
        .collect();
    env.push(("DBACKUP_WORKER_LISTEN".into(), listen.to_string().into()));
    env.push(("DBACKUP_WORKER_TOKEN".into(), token.into()));
    env.push((ENV_DATA_DIR.into(), data_dir.as_os_str().to_owned()));
    env
}

impl WorkerProcess {
    /// Starts the worker with [`worker_env`] of `host_env` (the host's environment) and waits
    /// until it answers (at most 15 s). `data_dir` is the host's data folder, made absolute for
    /// the worker.
    pub async fn spawn(
        binary: &PathBuf,
        worker_url: &str,
        token: &str,
        data_dir: &Path,
        host_env: Vec<(OsString, OsString)>,
    ) -> Result<Self> {
        let authority = authority_of(worker_url)?;
        let listen: SocketAddr = authority.parse().with_context(|| {
            format!("worker_url {worker_url:?} must name an IP address and port to start a worker")
        })?;
        if check(&authority, token).await? {
            bail!("something already answers at {worker_url}; stop it or start the host with --no-worker to use it");
        }
        let data_dir = std::path::absolute(data_dir)
            .with_context(|| format!("cannot resolve the data folder {}", data_dir.display()))?;
        let child = Command::new(binary)
            .env_clear()
            .envs(worker_env(host_env, listen, token, &data_dir))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start the worker {}", binary.display()))?;
        let mut this = WorkerProcess { child };
        for _ in 0..150 {
            if let Some(status) = this.child.try_wait()? {
                bail!("the worker {} exited at start ({status})", binary.display());
            }
            if check(&authority, token).await? {
                return Ok(this);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        this.stop().await;
        bail!("the worker did not answer at {worker_url} within 15 s")
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            if let Ok(pid) = i32::try_from(pid) {
                // SAFETY: plain kill(2) on our own child's pid.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_parsing() {
        assert_eq!(
            authority_of("http://127.0.0.1:3001").expect("ok"),
            "127.0.0.1:3001"
        );
        assert_eq!(
            authority_of("http://127.0.0.1:3001/").expect("ok"),
            "127.0.0.1:3001"
        );
        assert!(authority_of("https://x").is_err());
        assert!(authority_of("http://").is_err());
    }

    #[test]
    fn worker_env_is_an_allow_list() {
        let host: Vec<(OsString, OsString)> = [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/d"),
            ("LC_ALL", "C.UTF-8"),
            ("TZ", "UTC"),
            ("RUST_LOG", "info"),
            ("DBACKUP_LOCAL_ROOTS", "/srv/backups"),
            ("DBACKUP_WORKER_MAX_TASKS", "2"),
            ("DBACKUP_WORKER_TOKEN", "from-the-environment"),
            ("DBACKUP_WORKER_DATA_DIR", "/elsewhere"),
            ("SPIN_VARIABLE_ENCRYPTION_KEY", "secret"),
            ("SPIN_VARIABLE_SESSION_SECRET", "secret"),
            ("DBACKUP_OLD_ENCRYPTION_KEY", "secret"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("PGPASSWORD", "secret"),
        ]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
        let env = worker_env(
            host,
            "127.0.0.1:3001".parse().expect("addr"),
            "tok",
            Path::new("/data"),
        );
        let mut got: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        got.sort();
        let want: Vec<(String, String)> = [
            ("DBACKUP_LOCAL_ROOTS", "/srv/backups"),
            ("DBACKUP_WORKER_DATA_DIR", "/data"),
            ("DBACKUP_WORKER_LISTEN", "127.0.0.1:3001"),
            ("DBACKUP_WORKER_MAX_TASKS", "2"),
            ("DBACKUP_WORKER_TOKEN", "tok"),
            ("HOME", "/home/d"),
            ("LC_ALL", "C.UTF-8"),
            ("PATH", "/usr/bin"),
            ("RUST_LOG", "info"),
            ("TZ", "UTC"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(got, want);
    }
}
