//! `cargo xtask bench host`: requests/s and latency through the host for `/api/health` (a
//! component doing SQLite and an outbound call to the worker) and a static file, at 1, 16 and 64
//! connections, measured with wrk against a release build on loopback.

use crate::{build, infra, local_secrets, Profile};

/// `cargo xtask bench hosts`: {our host, spin up} × {local file, libSQL server}.
#[path = "bench_hosts.rs"]
pub mod hosts;
/// `cargo xtask bench run-now`: click → worker task started and → Success.
#[path = "bench_run_now.rs"]
pub mod run_now;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY-free: ask the host to stop gracefully, then make sure.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// One wrk measurement.
struct Row {
    target: &'static str,
    connections: u32,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn parse_latency(text: &str, pct: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.trim_start().starts_with(pct))?;
    let value = line.split_whitespace().nth(1)?;
    let (num, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => return None,
    })
}

fn wrk(url: &str, connections: u32) -> Result<(f64, f64, f64)> {
    wrk_with(url, connections, &[], 5)
}

/// wrk for `secs` seconds with `connections` (on at most 2 threads) and extra `headers`
/// (`"name: value"`): (requests/s, p50 ms, p99 ms). Fails when any answer is not 2xx.
pub fn wrk_with(
    url: &str,
    connections: u32,
    headers: &[&str],
    secs: u32,
) -> Result<(f64, f64, f64)> {
    let threads = connections.min(2).to_string();
    let mut cmd = Command::new("wrk");
    cmd.args([
        "--latency",
        "--timeout",
        "20s",
        "-d",
        &format!("{secs}s"),
        "-t",
        &threads,
        "-c",
        &connections.to_string(),
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        bail!("{url} answered errors under load:\n{text}");
    }
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("unexpected wrk output:\n{text}"))?;
    let p50 = parse_latency(&text, "50%").context("no p50")?;
    let p99 = parse_latency(&text, "99%").context("no p99")?;
    Ok((rps, p50, p99))
}

pub fn host(root: &Path) -> Result<()> {
    infra::ensure_debian(&[("wrk", "wrk")])?;
    let bin = build(root, Profile::Release)?;
    let data = tempdir()?;
    let port = 3900;
    let worker_port = 3901;
    let mut cmd = Command::new(bin.join("dbackup"));
    cmd.args(["--manifest", "spin.toml", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data)
        .env(
            "SPIN_VARIABLE_WORKER_URL",
            format!("http://127.0.0.1:{worker_port}"),
        )
        .stdout(Stdio::null());
    for (k, v) in local_secrets(root)? {
        cmd.env(k, v);
    }
    let _host = Guard(cmd.spawn().context("cannot start dbackup")?);
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !ready {
        bail!("the host did not start");
    }
    let health = Command::new("curl")
        .args(["-fsS", &format!("{base}/api/health")])
        .output()
        .context("cannot run curl")?;
    if !health.status.success() {
        bail!("GET /api/health failed before the benchmark");
    }
    eprintln!(
        "xtask: /api/health → {}",
        String::from_utf8_lossy(&health.stdout)
    );
    let mut rows = Vec::new();
    for (target, path) in [
        ("/api/health", "/api/health"),
        ("static /index.html", "/index.html"),
    ] {
        for c in [1, 16, 64] {
            let (rps, p50_ms, p99_ms) = wrk(&format!("{base}{path}"), c)?;
            rows.push(Row {
                target,
                connections: c,
                rps,
                p50_ms,
                p99_ms,
            });
        }
    }
    println!("| target | connections | requests/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} |",
            r.target, r.connections, r.rps, r.p50_ms, r.p99_ms
        );
    }
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

fn tempdir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("dbackup-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
