//! `cargo xtask bench run-now [--runs N] [--host ours|spin|both] [--label TEXT] [--app DIR]
//! [--bin DIR]`: what a user feels after "Run now" — the time from the click (`POST
//! /api/jobs/{id}/run`) to the worker task started (the execution's log says "Started on the
//! worker") and to `Success`, for a small PostgreSQL database (`dbk_bench_runnow`, ~1,000 rows)
//! backed up with ZSTD to a local folder, on our host (debug build) and under `spin up` (the same
//! release components), each with a local database file and the worker beside it.
//!
//! The client polls `GET /api/executions/{id}` every 25 ms (one `curl` each, ~5–10 ms), so
//! every time is the one a browser polling as fast would see, within ~35 ms. Each click follows
//! the previous run's end by a pause stratified over the runner's 10 s period (run i of n:
//! 0.25 s + 10 s × (i − ½)/n), so the clicks fall evenly across the tick instead of always just
//! after one (a fixed pause would lock every click to the same point of the tick).
//!
//! `--app DIR` runs another build: DIR holds a `spin.toml` and its
//! `target/wasm32-wasip2/release/*.wasm` (e.g. a copy of the previous commit's), `--bin DIR` the
//! `dbackup` and `dbackup-worker` binaries; without them the current tree is built. The table
//! in docs/BENCH.md keeps one row per (label, host): a run replaces its own rows only, so the
//! "before" rows stay beside the "after" ones.

use crate::bench::hosts::{
    curl, expect, free_port, json_field, random_hex, sign_up, spawn, wait_port, wait_ready, Group,
};
use crate::{build, Profile};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DATABASE: &str = "dbk_bench_runnow";
const POLL: Duration = Duration::from_millis(25);
/// The runner's cron period (spin.toml).
const TICK: Duration = Duration::from_secs(10);
const START: &str = "<!-- bench run-now: start -->";
const END: &str = "<!-- bench run-now: end -->";

#[derive(Clone, Copy, PartialEq)]
enum Host {
    Ours,
    Spin,
}

impl Host {
    fn name(self) -> &'static str {
        match self {
            Host::Ours => "ours (debug)",
            Host::Spin => "spin up",
        }
    }
}

/// One run: request duration, click → task started, click → Success (ms).
struct Sample {
    request_ms: f64,
    started_ms: f64,
    success_ms: f64,
}

fn psql(sql: &str, db: &str) -> Result<String> {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc", sql])
        .output()
        .context("cannot run psql")?;
    if !out.status.success() {
        bail!(
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The small database (created once).
fn ensure_database() -> Result<()> {
    let exists = psql(
        &format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"),
        "postgres",
    )?;
    if exists != "1" {
        psql(&format!("CREATE DATABASE {DATABASE}"), "postgres")?;
        psql(
            "CREATE TABLE items AS SELECT g AS id, md5(g::text) AS note, now() AS at \
             FROM generate_series(1, 1000) g",
            DATABASE,
        )?;
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn spread(v: &[f64]) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.0} ({min:.0}–{max:.0})", median(v.to_vec()))
}

fn measure(app: &Path, bin: &Path, host: Host, runs: usize) -> Result<Vec<Sample>> {
    let tag = if host == Host::Ours { "host" } else { "spin" };
    eprintln!("xtask: bench run-now: {}", host.name());
    let dir =
        std::env::temp_dir().join(format!("dbackup-bench-runnow-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("backups"))?;
    let port = free_port()?;
    let worker_port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let token = random_hex()?;
    let vars = [
        ("SPIN_VARIABLE_ENCRYPTION_KEY", random_hex()?),
        ("SPIN_VARIABLE_SESSION_SECRET", random_hex()?),
        ("SPIN_VARIABLE_WORKER_TOKEN", token.clone()),
        (
            "SPIN_VARIABLE_WORKER_URL",
            format!("http://127.0.0.1:{worker_port}"),
        ),
        ("SPIN_VARIABLE_APP_URL", base.clone()),
    ];
    let mut worker = Command::new(bin.join("dbackup-worker"));
    worker
        .env("DBACKUP_WORKER_TOKEN", &token)
        .env("DBACKUP_WORKER_LISTEN", format!("127.0.0.1:{worker_port}"))
        .env("DBACKUP_WORKER_DATA_DIR", dir.join("worker"))
        .env("DBACKUP_LOCAL_ROOTS", dir.join("backups"));
    let _worker: Group = spawn(&mut worker, &dir.join("worker.log"))?;
    wait_port(worker_port, "dbackup-worker", Duration::from_secs(30))?;
    let _app: Group = match host {
        Host::Ours => {
            let data = dir.join("data");
            std::fs::create_dir_all(&data)?;
            // The tests' compiled-component cache (keyed by wasm bytes and engine).
            let cache = crate::target_dir(&crate::repo_root())?.join("tmp/dbackup-tests-cwasm");
            std::fs::create_dir_all(&cache)?;
            std::os::unix::fs::symlink(&cache, data.join("cache"))?;
            let mut cmd = Command::new(bin.join("dbackup"));
            cmd.arg("--manifest")
                .arg(app.join("spin.toml"))
                .args(["--listen", &format!("127.0.0.1:{port}"), "--no-worker"])
                .arg("--data-dir")
                .arg(&data)
                .envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
            spawn(&mut cmd, &dir.join("app.log"))?
        }
        Host::Spin => {
            let mut cmd = Command::new("spin");
            cmd.arg("up")
                .arg("--from")
                .arg(app.join("spin.toml"))
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .arg("--state-dir")
                .arg(dir.join("state"))
                .current_dir(&dir)
                .envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
            spawn(&mut cmd, &dir.join("app.log"))?
        }
    };
    wait_ready(&base, &dir.join("app.log"), host.name())?;
    let (cookie, _) = sign_up(&base)?;
    let post = |path: &str, body: String| -> Result<String> {
        let (_, text) = expect(
            "POST",
            &format!("{base}{path}"),
            Some(&cookie),
            Some(&body),
            201,
        )?;
        json_field(&text, "id").with_context(|| format!("no id from {path}"))
    };
    let source = post(
        "/api/adapters",
        format!(
            r#"{{"name":"PG","type":"database","adapterId":"postgres","config":{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{DATABASE}"}}}}"#
        ),
    )?;
    let disk = post(
        "/api/adapters",
        format!(
            r#"{{"name":"Disk","type":"storage","adapterId":"local","config":{{"path":"{}"}}}}"#,
            dir.join("backups").display()
        ),
    )?;
    let job = post(
        "/api/jobs",
        format!(
            r#"{{"name":"run-now","schedule":"0 3 * * *","timezone":"UTC","sourceId":"{source}","databases":["{DATABASE}"],"destinations":[{{"destinationId":"{disk}"}}],"compression":"ZSTD"}}"#
        ),
    )?;

    let mut samples = Vec::new();
    for i in 0..runs + 1 {
        let pause = if i == 0 {
            0.25
        } else {
            0.25 + TICK.as_secs_f64() * (i as f64 - 0.5) / runs as f64
        };
        std::thread::sleep(Duration::from_secs_f64(pause));
        let click = Instant::now();
        let (status, _, text) = curl(
            "POST",
            &format!("{base}/api/jobs/{job}/run"),
            Some(&cookie),
            Some("{}"),
        )?;
        let request_ms = click.elapsed().as_secs_f64() * 1e3;
        if status != 202 {
            bail!("run now: {status}: {text}");
        }
        let execution = json_field(&text, "executionId").context("no executionId")?;
        let mut started_ms = None;
        let success_ms = loop {
            let (_, _, body) = curl(
                "GET",
                &format!("{base}/api/executions/{execution}"),
                Some(&cookie),
                None,
            )?;
            let ms = click.elapsed().as_secs_f64() * 1e3;
            if started_ms.is_none() && body.contains("Started on the worker") {
                started_ms = Some(ms);
            }
            if body.contains(r#""status":"Success""#) {
                break ms;
            }
            if body.contains(r#""status":"Failed""#) || body.contains(r#""status":"Partial""#) {
                bail!("execution {execution} did not succeed: {body}");
            }
            if click.elapsed() > Duration::from_secs(120) {
                bail!("execution {execution} not done after 120 s: {body}");
            }
            std::thread::sleep(POLL);
        };
        let sample = Sample {
            request_ms,
            started_ms: started_ms.unwrap_or(success_ms),
            success_ms,
        };
        eprintln!(
            "xtask: bench run-now: {} run {i}: request {:.0} ms, task started {:.0} ms, Success {:.0} ms",
            host.name(),
            sample.request_ms,
            sample.started_ms,
            sample.success_ms
        );
        // The first run warms the components' and the worker's caches: not counted.
        if i > 0 {
            samples.push(sample);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(samples)
}

/// Puts `rows` (whole table lines) into the table between the markers of docs/BENCH.md's
/// section, replacing the lines that start with the same `| label | host |` and keeping others.
fn write_rows(root: &Path, rows: &[(String, String)]) -> Result<()> {
    let path = root.join("docs/BENCH.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let header = "| build | host | run request ms | click → task started ms, median (min–max) | click → Success ms, median (min–max) | runs | load |\n|---|---|---:|---:|---:|---:|---|\n";
    let (before, mut kept, after) = match (doc.find(START), doc.find(END)) {
        (Some(s), Some(e)) if s < e => {
            let inner = &doc[s + START.len()..e];
            let kept: Vec<String> = inner
                .lines()
                .filter(|l| l.starts_with("| ") && !l.starts_with("| build |"))
                .filter(|l| !rows.iter().any(|(key, _)| l.starts_with(key.as_str())))
                .map(str::to_owned)
                .collect();
            (doc[..s].to_owned(), kept, doc[e + END.len()..].to_owned())
        }
        _ => bail!(
            "docs/BENCH.md has no `{START}` … `{END}` markers (the run-now section): add them"
        ),
    };
    kept.extend(rows.iter().map(|(_, line)| line.clone()));
    let table = format!("{START}\n{header}{}\n{END}", kept.join("\n"));
    std::fs::write(&path, format!("{before}{table}{after}"))
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn run_now(root: &Path, args: &[String]) -> Result<()> {
    let mut runs = 6usize;
    let mut hosts = vec![Host::Ours, Host::Spin];
    let mut label = None;
    let mut app = None;
    let mut bin = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--runs" => runs = value()?.parse().context("--runs: a number")?,
            "--host" => {
                hosts = match value()?.as_str() {
                    "ours" => vec![Host::Ours],
                    "spin" => vec![Host::Spin],
                    "both" => vec![Host::Ours, Host::Spin],
                    other => bail!("--host {other}: ours, spin or both"),
                }
            }
            "--label" => label = Some(value()?.clone()),
            "--app" => app = Some(PathBuf::from(value()?)),
            "--bin" => bin = Some(PathBuf::from(value()?)),
            other => bail!("bench run-now: unknown argument {other}"),
        }
    }
    ensure_database()?;
    let (app, bin) = match (app, bin) {
        (Some(a), Some(b)) => (a, b),
        (None, None) => {
            let bin = build(root, Profile::Debug)?;
            (root.to_path_buf(), bin)
        }
        _ => bail!("--app and --bin go together"),
    };
    let label = match label {
        Some(l) => l,
        None => Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default(),
    };
    let mut rows = Vec::new();
    for host in hosts {
        let samples = measure(&app, &bin, host, runs)?;
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load = load.split_whitespace().next().unwrap_or("?").to_owned();
        let key = format!("| {label} | {} |", host.name());
        let line = format!(
            "{key} {:.0} | {} | {} | {} | {load} |",
            median(samples.iter().map(|s| s.request_ms).collect()),
            spread(&samples.iter().map(|s| s.started_ms).collect::<Vec<_>>()),
            spread(&samples.iter().map(|s| s.success_ms).collect::<Vec<_>>()),
            samples.len()
        );
        println!("{line}");
        rows.push((key, line));
    }
    write_rows(root, &rows)?;
    eprintln!("xtask: bench run-now: docs/BENCH.md updated");
    Ok(())
}
