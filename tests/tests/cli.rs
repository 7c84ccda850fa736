//! The `dbackup` binary: every startup problem is one line on stderr and exit code 1; a normal
//! run serves the real app with its worker and stops both on SIGTERM.

use dbackup_tests::{
    bin, free_port, get, is_listening, random_hex, repo, share_compile_cache, warm_real_app,
    TempDir,
};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// The four variables of spin.toml, with the worker on `worker_port`.
struct Vars {
    encryption_key: String,
    session_secret: String,
    worker_token: String,
    worker_url: String,
}

impl Vars {
    fn new(worker_port: u16) -> Self {
        Vars {
            encryption_key: random_hex(),
            session_secret: random_hex(),
            worker_token: random_hex(),
            worker_url: format!("http://127.0.0.1:{worker_port}"),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SPIN_VARIABLE_ENCRYPTION_KEY", self.encryption_key.clone()),
            ("SPIN_VARIABLE_SESSION_SECRET", self.session_secret.clone()),
            ("SPIN_VARIABLE_WORKER_TOKEN", self.worker_token.clone()),
            ("SPIN_VARIABLE_WORKER_URL", self.worker_url.clone()),
        ]
    }
}

/// `dbackup --manifest <repo>/spin.toml --data-dir <data_dir> --listen <listen> [extra]`, with
/// no `SPIN_VARIABLE_*` from the test's environment and `env` set.
fn dbackup(data_dir: &Path, listen: SocketAddr, extra: &[&str], env: &[(&str, String)]) -> Command {
    dbackup_tests::dbackup_command(&repo().join("spin.toml"), data_dir, listen, extra, env)
}

/// The host's own stderr lines: the worker child shares the stream, its lines start with
/// `dbackup-worker`.
fn host_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| !l.starts_with("dbackup-worker"))
        .map(str::to_owned)
        .collect()
}

/// Runs `dbackup` expecting it to fail at start; returns its one stderr line.
async fn start_failure(cmd: &mut Command) -> String {
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("dbackup exits on its own")
        .expect("dbackup runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines = host_lines(&stderr);
    assert_eq!(lines.len(), 1, "exactly one line expected, got: {lines:#?}");
    assert!(lines[0].starts_with("dbackup: "), "{}", lines[0]);
    lines[0].clone()
}

fn sigterm(pid: u32) {
    let pid = i32::try_from(pid).expect("pid fits");
    // SAFETY: kill(2) on a child process this test started.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill -TERM {pid}");
}

/// A child that gets SIGTERM (not SIGKILL) if the test ends early, so it can stop its own
/// children.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
                // SAFETY: kill(2) on a child process this test started.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
        }
    }
}

/// Starts `dbackup-worker` with `token` on `port`, waiting until it listens.
async fn start_worker(port: u16, token: &str) -> Running {
    let child = Command::new(bin("dbackup-worker"))
        .env("DBACKUP_WORKER_LISTEN", format!("127.0.0.1:{port}"))
        .env("DBACKUP_WORKER_TOKEN", token)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dbackup-worker");
    let worker = Running { child };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let up = dbackup_tests::wait_for(Duration::from_secs(30), || async move {
        is_listening(addr).await.then_some(())
    })
    .await;
    assert!(up.is_some(), "dbackup-worker did not listen on {addr}");
    worker
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[tokio::test]
async fn missing_required_variable() {
    let dir = TempDir::new();
    let line = start_failure(&mut dbackup(
        &dir.join("data"),
        local(free_port()),
        &[],
        &[],
    ))
    .await;
    assert!(line.starts_with("dbackup: required variable"), "{line}");
    assert!(line.contains("SPIN_VARIABLE_WORKER_TOKEN"), "{line}");

    // One variable missing is named alone.
    let vars = Vars::new(free_port());
    let env: Vec<_> = vars
        .env()
        .into_iter()
        .filter(|(k, _)| *k != "SPIN_VARIABLE_SESSION_SECRET")
        .collect();
    let line = start_failure(&mut dbackup(
        &dir.join("data"),
        local(free_port()),
        &[],
        &env,
    ))
    .await;
    assert_eq!(
        line,
        "dbackup: required variable not set: SPIN_VARIABLE_SESSION_SECRET (set the environment variable)"
    );
}

#[tokio::test]
async fn unusable_data_dir() {
    let dir = TempDir::new();
    let file = dir.join("file");
    std::fs::write(&file, "not a folder").expect("write");
    let vars = Vars::new(free_port());
    let line = start_failure(&mut dbackup(
        &file.join("sub"),
        local(free_port()),
        &[],
        &vars.env(),
    ))
    .await;
    assert!(line.contains("cannot create data folder"), "{line}");
    assert!(line.contains(&file.display().to_string()), "{line}");
}

#[tokio::test]
async fn port_in_use() {
    let dir = TempDir::new();
    let data = dir.join("data");
    share_compile_cache(&data);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let worker_port = free_port();
    let vars = Vars::new(worker_port);
    let line = start_failure(&mut dbackup(&data, addr, &[], &vars.env())).await;
    assert!(line.contains(&format!("cannot listen on {addr}")), "{line}");
    // It failed before starting a worker.
    assert!(!is_listening(local(worker_port)).await);
    drop(taken);
}

#[tokio::test]
async fn worker_token_mismatch() {
    let dir = TempDir::new();
    let data = dir.join("data");
    share_compile_cache(&data);
    let worker_port = free_port();
    let worker = start_worker(worker_port, &random_hex()).await;
    // The host's token (from Vars) is another random one.
    let vars = Vars::new(worker_port);
    let line = start_failure(&mut dbackup(
        &data,
        local(free_port()),
        &["--no-worker"],
        &vars.env(),
    ))
    .await;
    assert!(line.contains("tokens differ"), "{line}");
    assert!(
        !line.contains(&vars.worker_token),
        "the token leaked: {line}"
    );
    drop(worker);
}

#[tokio::test]
async fn serves_and_stops_on_sigterm() {
    warm_real_app().await;
    let dir = TempDir::new();
    let data = dir.join("data");
    share_compile_cache(&data);
    let worker_port = free_port();
    let listen = local(free_port());
    let vars = Vars::new(worker_port);
    let mut child = dbackup(&data, listen, &[], &vars.env())
        .spawn()
        .expect("start dbackup");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, reader) = dbackup_tests::collect_lines(stderr);
    let mut host = Running { child };

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let serving = format!("dbackup: serving on http://{listen}");
    while !lines.lock().expect("lines").contains(&serving) {
        if let Ok(Some(status)) = host.child.try_wait() {
            panic!(
                "dbackup exited ({status}): {:#?}",
                lines.lock().expect("lines")
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "dbackup did not start within 60 s: {:#?}",
            lines.lock().expect("lines")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let health = get(listen, "/api/health").await;
    assert_eq!(health.status, 200, "{}", health.text());
    assert_eq!(health.json()["worker"], "ok", "{}", health.text());
    assert_eq!(health.json()["database"], "ok", "{}", health.text());
    assert!(is_listening(local(worker_port)).await);

    sigterm(host.child.id().expect("pid"));
    let status = tokio::time::timeout(Duration::from_secs(15), host.child.wait())
        .await
        .expect("dbackup stops within 15 s of SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0), "{status}");
    reader.await.expect("stderr reader");
    assert!(
        !is_listening(local(worker_port)).await,
        "the worker outlived the host"
    );
    assert!(!is_listening(listen).await);

    let stderr = lines.lock().expect("lines").join("\n");
    let host_lines = host_lines(&stderr);
    assert!(host_lines.contains(&serving), "{host_lines:#?}");
    assert_eq!(
        host_lines.last().map(String::as_str),
        Some("dbackup: shutting down")
    );
    for line in &host_lines {
        assert!(line.starts_with("dbackup"), "unexpected output: {line}");
        assert!(!line.contains("panicked"), "{line}");
        for secret in [
            &vars.encryption_key,
            &vars.session_secret,
            &vars.worker_token,
        ] {
            assert!(
                !line.contains(secret.as_str()),
                "a secret in the log: {line}"
            );
        }
    }
}
