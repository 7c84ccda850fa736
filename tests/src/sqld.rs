//! A real libSQL server (`sqld`) for the tests, with JWT auth.
//!
//! [`Sqld::start`] runs the `sqld` on `PATH` (see `/work/shared/tools`) on a fresh database
//! folder and a free port, with an Ed25519 key pair made for this run: the public key goes to
//! `--auth-jwt-key-file`, and [`Sqld::token`] is an EdDSA JWT signed with the private key (so a
//! wrong or missing token is refused, as in production). [`Sqld::runtime_config_toml`] is the
//! `[sqlite_database.default] type = "libsql"` text that both our host and `spin up` read.
//! [`Sqld::stop`] and [`Sqld::start_again`] restart it on the same folder and port; it is
//! killed on drop. A machine without `sqld` fails the test (never a silent pass).

use crate::{free_port, request, TempDir};
use anyhow::{anyhow, bail, Context, Result};
use ed25519_dalek::{Signer, SigningKey};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `sqld` may take to answer once started (it is ready in about a second when idle).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running (or stopped) `sqld` with JWT auth; killed on drop.
pub struct Sqld {
    dir: TempDir,
    port: u16,
    token: String,
    child: Option<tokio::process::Child>,
}

impl Sqld {
    /// Starts `sqld` and waits until it answers an authenticated `SELECT 1`. Panics (failing
    /// the test) when `sqld` is not installed or does not come up.
    pub async fn start() -> Sqld {
        Self::try_start()
            .await
            .unwrap_or_else(|e| panic!("sqld does not start: {e:#}"))
    }

    /// [`Sqld::start`] returning the error.
    pub async fn try_start() -> Result<Sqld> {
        let binary = sqld_binary()?;
        let dir = TempDir::new();
        let signing = SigningKey::from_bytes(&random_32());
        let public = base64url(signing.verifying_key().as_bytes());
        std::fs::write(dir.join("jwt-key.pub"), public).context("write the JWT key file")?;
        let token = jwt(&signing);
        let mut sqld = Sqld {
            dir,
            port: free_port(),
            token,
            child: None,
        };
        // The port is free when picked but may be taken before sqld binds it: retry on another.
        let mut attempts = 0;
        loop {
            match sqld.spawn(&binary).await {
                Ok(()) => return Ok(sqld),
                Err(e) if attempts >= 4 => return Err(e),
                Err(_) => {
                    attempts += 1;
                    sqld.kill().await;
                    sqld.port = free_port();
                }
            }
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The JWT clients send as `Authorization: Bearer` (full access, no expiry).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The runtime config naming this server as the `default` database, for
    /// `--runtime-config-file` of our host and of `spin up`.
    pub fn runtime_config_toml(&self) -> String {
        format!(
            "[sqlite_database.default]\ntype = \"libsql\"\nurl = {}\ntoken = {}\n",
            crate::toml_str(self.url()),
            crate::toml_str(&self.token)
        )
    }

    /// Writes [`Sqld::runtime_config_toml`] to `path` and returns it.
    pub fn write_runtime_config(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.runtime_config_toml())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path.to_path_buf()
    }

    /// The folder holding the database (`db/`), the key file and sqld's log (`sqld.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// sqld's output so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sqld.log")).unwrap_or_default()
    }

    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills it (SIGKILL: what a crash or a lost server looks like to clients) and waits for
    /// the port to close.
    pub async fn stop(&mut self) {
        self.kill().await;
        let addr = self.addr();
        let closed = crate::wait_for(READY_TIMEOUT, || async {
            (!crate::is_listening(addr).await).then_some(())
        })
        .await;
        assert!(closed.is_some(), "sqld still listens on {addr} after kill");
    }

    /// Starts it again on the same folder and port; waits until ready. Panics if it cannot.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "sqld is already running");
        let binary = sqld_binary().unwrap_or_else(|e| panic!("{e:#}"));
        // The old process's socket may linger a moment: retry binding for a while.
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            match self.spawn(&binary).await {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    self.kill().await;
                    eprintln!("sqld restart: {e:#}; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("sqld does not start again: {e:#}\n{}", self.log()),
            }
        }
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    async fn spawn(&mut self, binary: &Path) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("sqld.log"))
            .context("open sqld.log")?;
        let log_err = log.try_clone().context("clone the log handle")?;
        let mut cmd = tokio::process::Command::new(binary);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SQLD_") {
                cmd.env_remove(k);
            }
        }
        cmd.arg("--db-path")
            .arg(self.dir.join("db"))
            .arg("--http-listen-addr")
            .arg(self.addr().to_string())
            .arg("--auth-jwt-key-file")
            .arg(self.dir.join("jwt-key.pub"))
            .arg("--no-welcome")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true);
        let child = cmd.spawn().context("spawn sqld")?;
        self.child = Some(child);
        self.wait_ready().await
    }

    /// Polls an authenticated `SELECT 1` until it succeeds (or sqld exits, or time runs out).
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().context("poll sqld")? {
                    self.child = None;
                    bail!("sqld exited ({status}) while starting:\n{}", self.log());
                }
            }
            match self.select_one().await {
                Ok(()) => return Ok(()),
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    bail!(
                        "sqld is not ready after {READY_TIMEOUT:?}: {e:#}\n{}",
                        self.log()
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn select_one(&self) -> Result<()> {
        let rows = self.execute("SELECT 1").await?;
        if rows["results"][0]["type"] == "ok" {
            Ok(())
        } else {
            bail!("SELECT 1 answered {rows}")
        }
    }

    /// Runs one statement through the Hrana-over-HTTP pipeline (`/v2/pipeline`) with the token;
    /// returns the pipeline's JSON answer. For tests that look at the database directly.
    pub async fn execute(&self, sql: &str) -> Result<serde_json::Value> {
        let body = serde_json::json!({
            "requests": [
                {"type": "execute", "stmt": {"sql": sql}},
                {"type": "close"}
            ]
        });
        let auth = format!("Bearer {}", self.token);
        let resp = request(
            self.addr(),
            "POST",
            "/v2/pipeline",
            &[
                ("content-type", "application/json"),
                ("authorization", auth.as_str()),
            ],
            Some(body.to_string().into_bytes()),
        )
        .await?;
        if resp.status != 200 {
            bail!("/v2/pipeline answered {}: {}", resp.status, resp.text());
        }
        serde_json::from_slice(&resp.body).context("the pipeline answer is not JSON")
    }

    /// The rows of `sql` as JSON arrays of Hrana values (`{"type":"integer","value":"1"}` …).
    pub async fn query(&self, sql: &str) -> Result<Vec<serde_json::Value>> {
        let answer = self.execute(sql).await?;
        let result = &answer["results"][0];
        if result["type"] != "ok" {
            bail!("{sql}: {result}");
        }
        Ok(result["response"]["result"]["rows"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

impl Drop for Sqld {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// The `sqld` on `PATH`, or an error saying how to install it.
pub fn sqld_binary() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("sqld"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "`sqld` is not on PATH: install it with /work/shared/tools/install.sh \
                 (the libSQL server tests need a real sqld)"
            )
        })
}

fn random_32() -> [u8; 32] {
    use std::io::Read;
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An EdDSA JWT with full access (sqld's "legacy" claims: no namespace, write permission) that
/// expires in a day.
fn jwt(key: &SigningKey) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = base64url(br#"{"alg":"EdDSA","typ":"JWT"}"#);
    let claims = serde_json::json!({"a": "rw", "iat": now, "exp": now + 86_400});
    let claims = base64url(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{claims}");
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", base64url(&signature.to_bytes()))
}
