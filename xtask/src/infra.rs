//! Test infrastructure: installs what the tests need (Debian packages when running as root) and
//! makes sure the servers they talk to are up, on loopback only. Returns the environment the
//! tests read their endpoints from.

use crate::run_cmd;
use anyhow::{bail, Result};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages that provide missing programs (one apt-get call).
pub fn ensure_debian(programs: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = programs
        .iter()
        .filter(|(program, _)| !have(program))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "missing programs; install these Debian packages first: {}",
            missing.join(" ")
        );
    }
    run_cmd(Command::new("apt-get").args(["update", "-q"]))?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

fn wait_port(port: u16, what: &str, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if port_open(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not open 127.0.0.1:{port} within {timeout:?}")
}

/// PostgreSQL on 127.0.0.1:5432: this machine kind runs it; start the cluster if it is down,
/// install it on a machine that has none.
fn ensure_postgres() -> Result<()> {
    if port_open(5432) {
        return Ok(());
    }
    ensure_debian(&[
        ("pg_ctlcluster", "postgresql"),
        ("psql", "postgresql-client"),
    ])?;
    let versions = std::fs::read_dir("/etc/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let Some(version) = versions.first() else {
        bail!("PostgreSQL is installed but has no cluster in /etc/postgresql");
    };
    run_cmd(Command::new("pg_ctlcluster").args([
        "--skip-systemctl-redirect",
        version,
        "main",
        "start",
    ]))?;
    wait_port(5432, "PostgreSQL", Duration::from_secs(30))
}

/// Prepares everything; returns `(name, value)` pairs for the test environment.
pub fn prepare() -> Result<Vec<(String, String)>> {
    ensure_debian(&[("psql", "postgresql-client"), ("sqlite3", "sqlite3")])?;
    // SFTP tests (worker/tests/sftp.rs) start their own sshd; an absolute path because /usr/sbin
    // is not always on PATH. `openssl passwd` hashes the test user's password.
    ensure_debian(&[
        ("/usr/sbin/sshd", "openssh-server"),
        ("openssl", "openssl"),
    ])?;
    // Headless browser for tests/tests/ui_browser.rs (playwright-core comes from frontend's lockfile).
    ensure_debian(&[("chromium", "chromium")])?;
    ensure_postgres()?;
    Ok(vec![(
        "DBACKUP_TEST_PG".to_owned(),
        "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
    )])
}
