//! The native worker sidecar as the host manages it: started as a child process (token passed in
//! its environment, never argv), checked for reachability and for agreeing on the token, and
//! stopped with SIGTERM on shutdown.

use anyhow::{anyhow, bail, Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
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

impl WorkerProcess {
    /// Starts the worker and waits until it answers (at most 15 s).
    pub async fn spawn(binary: &PathBuf, worker_url: &str, token: &str) -> Result<Self> {
        let authority = authority_of(worker_url)?;
        let listen: SocketAddr = authority.parse().with_context(|| {
            format!("worker_url {worker_url:?} must name an IP address and port to start a worker")
        })?;
        if check(&authority, token).await? {
            bail!("something already answers at {worker_url}; stop it or start the host with --no-worker to use it");
        }
        let child = Command::new(binary)
            .env("DBACKUP_WORKER_LISTEN", listen.to_string())
            .env("DBACKUP_WORKER_TOKEN", token)
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
}
