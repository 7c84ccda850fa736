//! `cargo xtask bench control-plane [--jobs N] [--executions M] [--seconds S] [--clients C]
//! [--spin] [--release] [--wasm-dir DIR] [--label TEXT]` (issue 20): the API and the runner
//! at scale, on our host and (with `--spin`) under `spin up` with the same wasm files.
//!
//! 1. The app starts on an empty data directory and migrates; a user signs up, creates an API
//!    key, a PostgreSQL source and a local destination through the API.
//! 2. The generator fills that database through the real schema with SQL (sqlite3, one
//!    transaction; not through the API, for speed): N jobs (cron spread over the day, two or
//!    three destinations each), M executions over a year (status mix, logs of 1.5–4 KiB),
//!    50 users in 10 groups, 200 adapters (copies of the two made through the API), 500,000
//!    audit entries; the destination's directory gets 10,000 objects.
//! 3. Load: C clients (half with the session cookie, half with the API key) on loopback for S
//!    seconds over keep-alive connections, cycling through the UI's calls; per route req/s,
//!    p50/p99/max, errors; the host's peak RSS. Then C clients on the jobs list's first page
//!    alone (its req/s goal).
//! 4. Runner: `shared/jobs/examples/control_plane_tick.rs` runs the tick natively on a copy of
//!    the database: nothing due, then every job due at once.
//!
//! Prints one row per route and one PASS/FAIL line per goal; writes the table into
//! docs/BENCH.md (its section, one sub-table per `--label`).

use crate::bench::hosts::{descendants, expect, json_field, random_hex, spawn, wait_port, Group};
use crate::{build_components, target_dir};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Opts {
    jobs: usize,
    executions: usize,
    seconds: u64,
    clients: usize,
    spin: bool,
    release: bool,
    wasm_dir: Option<PathBuf>,
    label: String,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        jobs: 1000,
        executions: 100_000,
        seconds: 60,
        clients: 64,
        spin: false,
        release: false,
        wasm_dir: None,
        label: String::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<String> {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--jobs" => o.jobs = value("--jobs")?.parse().context("--jobs")?,
            "--executions" => o.executions = value("--executions")?.parse().context("--executions")?,
            "--seconds" => o.seconds = value("--seconds")?.parse().context("--seconds")?,
            "--clients" => o.clients = value("--clients")?.parse().context("--clients")?,
            "--spin" => o.spin = true,
            "--release" => o.release = true,
            "--wasm-dir" => o.wasm_dir = Some(PathBuf::from(value("--wasm-dir")?)),
            "--label" => o.label = value("--label")?,
            other => bail!(
                "unknown argument {other}: cargo xtask bench control-plane [--jobs N] [--executions M] [--seconds S] [--clients C] [--spin] [--release] [--wasm-dir DIR] [--label TEXT]"
            ),
        }
    }
    if o.jobs == 0 || o.clients == 0 || o.seconds == 0 {
        bail!("--jobs, --clients and --seconds must be at least 1");
    }
    Ok(o)
}

#[derive(Clone, Copy, PartialEq)]
enum Host {
    Ours,
    Spin,
}

/// One route of the load and what it measured.
struct RouteStats {
    name: &'static str,
    latencies_ms: Vec<f64>,
    errors: usize,
    first_error: Option<String>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            stream: None,
        }
    }

    /// GET `path`: (status, body length).
    fn get(&mut self, path: &str, auth: &str) -> Result<(u16, usize)> {
        for attempt in 0..2 {
            if self.stream.is_none() {
                let s = TcpStream::connect(&self.addr)?;
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(Duration::from_secs(60)))?;
                self.stream = Some(BufReader::new(s));
            }
            match self.exchange(path, auth) {
                Ok(r) => return Ok(r),
                Err(e) => {
                    self.stream = None;
                    if attempt == 1 {
                        return Err(e);
                    }
                }
            }
        }
        bail!("unreachable")
    }

    fn exchange(&mut self, path: &str, auth: &str) -> Result<(u16, usize)> {
        let r = self.stream.as_mut().context("no connection")?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nhost: {}\r\n{auth}\r\naccept: application/json\r\n\r\n",
            self.addr
        );
        r.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            bail!("connection closed");
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length: Option<usize> = None;
        let mut chunked = false;
        let mut close = false;
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                match k.as_str() {
                    "content-length" => length = v.parse().ok(),
                    "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                    "connection" => close = v.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = 0usize;
        if chunked {
            loop {
                line.clear();
                r.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .with_context(|| format!("bad chunk size {line:?}"))?;
                let mut buf = vec![0u8; size + 2];
                r.read_exact(&mut buf)?;
                body += size;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            let mut buf = vec![0u8; n];
            r.read_exact(&mut buf)?;
            body = n;
        } else {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf)?;
            body = buf.len();
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok((status, body))
    }
}

/// The UI's calls, each with its share of the mix (how many times it appears in one cycle).
fn routes(
    dest: &str,
    deep_cursor: &str,
    job_id: &str,
    execution_id: &str,
) -> Vec<(&'static str, String, usize)> {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    vec![
        ("GET /api/jobs?limit=50", "/api/jobs?limit=50".to_owned(), 3),
        ("GET /api/jobs (all, dashboard)", "/api/jobs".to_owned(), 1),
        (
            "GET /api/executions?limit=50",
            "/api/executions?limit=50".to_owned(),
            3,
        ),
        (
            "GET /api/executions?status=Failed",
            "/api/executions?status=Failed&limit=50".to_owned(),
            1,
        ),
        (
            "GET /api/executions?jobId",
            format!("/api/executions?jobId={}&limit=50", enc(job_id)),
            1,
        ),
        (
            "GET /api/executions?cursor (deep)",
            format!("/api/executions?limit=50&cursor={}", enc(deep_cursor)),
            2,
        ),
        (
            "GET /api/executions?limit=200 (dashboard)",
            "/api/executions?limit=200".to_owned(),
            1,
        ),
        (
            "GET /api/executions/{id} (logs)",
            format!("/api/executions/{}", enc(execution_id)),
            2,
        ),
        (
            "GET /api/storage/{id}/backups",
            format!("/api/storage/{}/backups", enc(dest)),
            1,
        ),
        ("GET /metrics", "/metrics".to_owned(), 1),
        ("GET /api/health", "/api/health".to_owned(), 2),
        // The static component: no database, no outbound call (instantiation and HTTP only).
        ("GET /index.html (static)", "/index.html".to_owned(), 1),
        ("GET /api/users", "/api/users".to_owned(), 1),
        ("GET /api/groups", "/api/groups".to_owned(), 1),
        (
            "GET /api/adapters?type=database",
            "/api/adapters?type=database".to_owned(),
            1,
        ),
        ("GET /api/api-keys", "/api/api-keys".to_owned(), 1),
    ]
}

/// RSS (KiB) of `pids`, summed.
fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// `clients` threads for `secs` over `plan` (name, path, weight); returns per-route stats and
/// the peak RSS (KiB) of `app_pid` and its descendants.
fn load(
    addr: &str,
    plan: &[(&'static str, String, usize)],
    auths: &[String],
    clients: usize,
    secs: u64,
    app_pid: u32,
) -> (Vec<RouteStats>, u64) {
    let cycle: Vec<usize> = plan
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, w))| std::iter::repeat_n(i, *w))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let plan: Arc<Vec<(&'static str, String, usize)>> = Arc::new(plan.to_vec());
    let cycle = Arc::new(cycle);
    let mut handles = Vec::new();
    for c in 0..clients {
        let (stop, plan, cycle) = (stop.clone(), plan.clone(), cycle.clone());
        let auth = auths[c % auths.len()].clone();
        let addr = addr.to_owned();
        handles.push(std::thread::spawn(move || {
            let mut conn = Conn::new(&addr);
            let mut lat: Vec<Vec<f64>> = vec![Vec::new(); plan.len()];
            let mut errors: Vec<(usize, Option<String>)> = vec![(0, None); plan.len()];
            let mut k = c * 7;
            while !stop.load(Ordering::Relaxed) {
                let i = cycle[k % cycle.len()];
                k += 1;
                let started = Instant::now();
                let r = conn.get(&plan[i].1, &auth);
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                match r {
                    Ok((s, _)) if (200..300).contains(&s) => lat[i].push(ms),
                    other => {
                        errors[i].0 += 1;
                        if errors[i].1.is_none() {
                            errors[i].1 = Some(match other {
                                Ok((s, _)) => format!("status {s}"),
                                Err(e) => format!("{e:#}"),
                            });
                        }
                    }
                }
            }
            (lat, errors)
        }));
    }
    let started = Instant::now();
    let mut peak = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        peak = peak.max(rss_kib(&descendants(app_pid)));
        std::thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, Ordering::Relaxed);
    let mut stats: Vec<RouteStats> = plan
        .iter()
        .map(|(name, _, _)| RouteStats {
            name,
            latencies_ms: Vec::new(),
            errors: 0,
            first_error: None,
        })
        .collect();
    for h in handles {
        if let Ok((lat, errs)) = h.join() {
            for (i, l) in lat.into_iter().enumerate() {
                stats[i].latencies_ms.extend(l);
                stats[i].errors += errs[i].0;
                if stats[i].first_error.is_none() {
                    stats[i].first_error = errs[i].1.clone();
                }
            }
        }
    }
    for s in &mut stats {
        s.latencies_ms.sort_by(f64::total_cmp);
    }
    (stats, peak)
}

fn sqlite(db: &Path, sql: &str) -> Result<String> {
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run sqlite3")?;
    child
        .stdin
        .take()
        .context("sqlite3 stdin")?
        .write_all(format!(".timeout 60000\n{sql}\n").as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() || !out.stderr.is_empty() {
        bail!(
            "sqlite3 {}: {}",
            db.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The generator's SQL (see the module doc). `source`/`dest` are the adapters made through the
/// API; their rows are copied for the other 198.
fn generator_sql(jobs: usize, executions: usize, source: &str, dest: &str, user: &str) -> String {
    let log_entry = r#"{"timestamp":"2026-01-01T03:00:00.000Z","level":"info","stage":"dump","message":"pg_dump: dumping contents of table public.orders (1234567 rows, 98765432 bytes)"}"#;
    let ok_logs = format!("[{}]", [log_entry; 11].join(","));
    let failed_logs = format!(
        "[{},{}]",
        [log_entry; 24].join(","),
        r#"{"timestamp":"2026-01-01T03:00:09.000Z","level":"error","stage":"dump","message":"pg_dump: error: connection to server failed: FATAL: password authentication failed"}"#
    );
    format!(
        r#"
PRAGMA foreign_keys = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
INSERT INTO "Group" ("id", "name", "permissions") SELECT printf('bench-group-%02d', i), printf('group %02d', i), '["jobs:read","history:read","storage:read"]' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
INSERT INTO "User" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt", "groupId")
SELECT printf('bench-user-%02d', i), printf('User %02d', i), printf('user%02d@example.com', i), 1,
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', printf('bench-group-%02d', i % 10 + 1) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 149)
INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config", "metadata")
SELECT printf('bench-src-%03d', i), printf('source %03d', i), a."type", a."adapterId", a."config", a."metadata"
  FROM n, "AdapterConfig" a WHERE a."id" = '{source}';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 49)
INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config", "metadata")
SELECT printf('bench-dst-%03d', i), printf('destination %03d', i), a."type", a."adapterId", a."config", a."metadata"
  FROM n, "AdapterConfig" a WHERE a."id" = '{dest}';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {jobs})
INSERT INTO "Job" ("id", "name", "schedule", "enabled", "compression", "sourceId", "destinationId",
                   "databases", "timezone", "lastScheduledAt", "createdAt", "updatedAt")
SELECT printf('bench-job-%05d', i), printf('nightly %05d', i),
       printf('%d %d * * *', (i * 7) % 60, (i / 3) % 24), 1, 'GZIP',
       CASE WHEN i % 150 = 0 THEN '{source}' ELSE printf('bench-src-%03d', i % 150) END,
       '{dest}', '["postgres"]', 'UTC', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM n;
INSERT INTO "JobDestination" ("jobId", "destinationId", "retention", "position")
SELECT "id", '{dest}', '{{"mode":"SIMPLE","simple":{{"keepCount":7}}}}', 0 FROM "Job" WHERE "id" LIKE 'bench-job-%';
INSERT INTO "JobDestination" ("jobId", "destinationId", "retention", "position")
SELECT "id", printf('bench-dst-%03d', CAST(substr("id", 11) AS INTEGER) % 49 + 1), '{{"mode":"NONE"}}', 1 FROM "Job" WHERE "id" LIKE 'bench-job-%';
INSERT INTO "JobDestination" ("jobId", "destinationId", "retention", "position")
SELECT "id", printf('bench-dst-%03d', (CAST(substr("id", 11) AS INTEGER) + 17) % 49 + 1), '{{"mode":"NONE"}}', 2 FROM "Job"
 WHERE "id" LIKE 'bench-job-%' AND CAST(substr("id", 11) AS INTEGER) % 2 = 0
   AND (CAST(substr("id", 11) AS INTEGER) + 17) % 49 <> CAST(substr("id", 11) AS INTEGER) % 49;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {executions}),
     e(i, status, started) AS (
       SELECT i,
              CASE WHEN i % 100 < 90 THEN 'Success' WHEN i % 100 < 96 THEN 'Failed'
                   WHEN i % 100 < 98 THEN 'Partial' ELSE 'Cancelled' END,
              strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', ({executions} - i) * 31536000 / {executions} + 120))
         FROM n)
INSERT INTO "Execution" ("id", "jobId", "type", "status", "logs", "startedAt", "endedAt", "size", "path",
                         "metadata", "triggerType", "workerId", "postProcessedAt", "lastSeq")
SELECT printf('bench-exec-%07d', i), printf('bench-job-%05d', i % {jobs} + 1),
       CASE WHEN i % 97 = 0 THEN 'Restore' ELSE 'Backup' END, status,
       CASE WHEN status = 'Failed' THEN '{failed_logs}' ELSE '{ok_logs}' END,
       started, strftime('%Y-%m-%dT%H:%M:%fZ', started, printf('+%d seconds', 5 + i % 900)),
       CASE WHEN status = 'Success' THEN 1048576 + i ELSE NULL END,
       CASE WHEN status = 'Success' THEN printf('nightly/%07d.sql.gz', i) ELSE NULL END,
       '{{"stage":"done","percent":100}}', 'Scheduler', 'default',
       strftime('%Y-%m-%dT%H:%M:%fZ', started, '+1000 seconds'), 12 FROM e;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500000)
INSERT INTO "AuditLog" ("id", "userId", "action", "resource", "resourceId", "details", "ipAddress", "userAgent", "createdAt")
SELECT printf('bench-audit-%06d', i),
       CASE WHEN i % 5 = 0 THEN '{user}' ELSE printf('bench-user-%02d', i % 50 + 1) END,
       CASE i % 4 WHEN 0 THEN 'CREATE' WHEN 1 THEN 'UPDATE' WHEN 2 THEN 'EXECUTE' ELSE 'LOGIN' END,
       CASE i % 3 WHEN 0 THEN 'JOB' WHEN 1 THEN 'ADAPTER' ELSE 'USER' END,
       printf('bench-job-%05d', i % {jobs} + 1), '{{"name":"nightly"}}', '127.0.0.1', 'bench',
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', (500000 - i) * 63))
  FROM n;
INSERT INTO "SystemSetting" ("key", "value", "description", "updatedAt")
VALUES ('maxConcurrentJobs', '10', 'bench', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value";
COMMIT;
"#
    )
}

struct Run {
    host: Host,
    stats: Vec<RouteStats>,
    seconds: u64,
    rss_kib: u64,
    jobs_only_rps: f64,
    jobs_only_p99: f64,
    jobs_only_errors: usize,
    generate_secs: f64,
    tick: Option<(f64, f64, f64, String)>,
}

/// Lays out an app directory whose spin.toml names `wasm_dir`'s components (copied) and the
/// repository's frontend/dist, so a rebuild elsewhere does not change what is measured.
fn app_dir(root: &Path, dir: &Path, wasm_dir: &Path) -> Result<PathBuf> {
    let app = dir.join("app");
    let wasm = app.join("target/wasm32-wasip2/release");
    std::fs::create_dir_all(&wasm)?;
    for entry in
        std::fs::read_dir(wasm_dir).with_context(|| format!("list {}", wasm_dir.display()))?
    {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "wasm") {
            if let Some(name) = p.file_name() {
                std::fs::copy(&p, wasm.join(name))?;
            }
        }
    }
    std::fs::create_dir_all(app.join("frontend"))?;
    let dist = root.join("frontend/dist");
    if dist.is_dir() {
        std::os::unix::fs::symlink(&dist, app.join("frontend/dist"))?;
    } else {
        std::fs::create_dir_all(app.join("frontend/dist"))?;
        std::fs::write(
            app.join("frontend/dist/index.html"),
            "<!doctype html><title>dbackup</title>",
        )?;
    }
    std::fs::copy(root.join("spin.toml"), app.join("spin.toml"))?;
    Ok(app)
}

fn find_db(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == name) {
                return Some(p);
            }
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn measure(
    root: &Path,
    bin: &Path,
    host_bin: &Path,
    wasm_dir: &Path,
    tick_bin: Option<&Path>,
    host: Host,
    o: &Opts,
) -> Result<Run> {
    let name = if host == Host::Ours { "host" } else { "spin" };
    eprintln!("xtask: bench control-plane: {name}");
    let dir = std::env::temp_dir().join(format!("dbackup-bench-cp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let backups = dir.join("backups");
    std::fs::create_dir_all(backups.join("bench"))?;
    let app = app_dir(root, &dir, wasm_dir)?;
    let port = crate::bench::hosts::free_port()?;
    let worker_port = crate::bench::hosts::free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let key = random_hex()?;
    let vars = [
        ("SPIN_VARIABLE_ENCRYPTION_KEY", key.clone()),
        ("SPIN_VARIABLE_SESSION_SECRET", random_hex()?),
        ("SPIN_VARIABLE_WORKER_TOKEN", random_hex()?),
        (
            "SPIN_VARIABLE_WORKER_URL",
            format!("http://127.0.0.1:{worker_port}"),
        ),
        ("SPIN_VARIABLE_APP_URL", base.clone()),
    ];
    let mut worker = Command::new(bin.join("dbackup-worker"));
    worker
        .env("DBACKUP_WORKER_TOKEN", &vars[2].1)
        .env("DBACKUP_WORKER_LISTEN", format!("127.0.0.1:{worker_port}"))
        .env("DBACKUP_WORKER_DATA_DIR", dir.join("worker"))
        .env("DBACKUP_LOCAL_ROOTS", &backups);
    let _worker = spawn(&mut worker, &dir.join("worker.log"))?;
    wait_port(worker_port, "dbackup-worker", Duration::from_secs(30))?;

    let app_proc: Group = match host {
        Host::Ours => {
            let data = dir.join("data");
            std::fs::create_dir_all(&data)?;
            let cache = target_dir(root)?.join("tmp/dbackup-tests-cwasm");
            std::fs::create_dir_all(&cache)?;
            std::os::unix::fs::symlink(&cache, data.join("cache"))?;
            let mut cmd = Command::new(host_bin);
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
    crate::bench::hosts::wait_ready(&base, &dir.join("app.log"), name)?;
    let (cookie, signup) = crate::bench::hosts::sign_up(&base)?;
    let user = json_field(&signup, "id").unwrap_or_default();
    let post = |path: &str, body: String| -> Result<String> {
        let (_, text) = expect(
            "POST",
            &format!("{base}{path}"),
            Some(&cookie),
            Some(&body),
            201,
        )?;
        Ok(text)
    };
    let source = json_field(
        &post("/api/adapters", r#"{"name":"PG","type":"database","adapterId":"postgres","config":{"host":"127.0.0.1","port":5432,"user":"postgres","database":"postgres"}}"#.to_owned())?,
        "id",
    )
    .context("source id")?;
    let dest = json_field(
        &post(
            "/api/adapters",
            format!(
                r#"{{"name":"Disk","type":"storage","adapterId":"local","config":{{"path":"{}"}}}}"#,
                backups.display()
            ),
        )?,
        "id",
    )
    .context("destination id")?;
    let api_key = json_field(
        &post(
            "/api/api-keys",
            r#"{"name":"bench","permissions":["jobs:read","history:read","storage:read","settings:read","users:read","groups:read","sources:read","destinations:read","api-keys:read"]}"#.to_owned(),
        )?,
        "key",
    )
    .context("api key")?;
    for i in 0..10_000 {
        std::fs::write(backups.join(format!("bench/{i:05}.sql.gz")), b"x")?;
    }

    let db_name = if host == Host::Ours {
        "dbackup.db"
    } else {
        "sqlite_db.db"
    };
    let db =
        find_db(&dir, db_name).with_context(|| format!("no {db_name} under {}", dir.display()))?;
    let generated = Instant::now();
    sqlite(
        &db,
        &generator_sql(o.jobs, o.executions, &source, &dest, &user),
    )?;
    let generate_secs = generated.elapsed().as_secs_f64();
    eprintln!("xtask: bench control-plane: generated in {generate_secs:.1} s");
    let deep_cursor = sqlite(
        &db,
        &format!(
            r#"SELECT "startedAt" || '|' || "id" FROM "Execution" ORDER BY "startedAt" DESC, "id" DESC LIMIT 1 OFFSET {}"#,
            o.executions / 2
        ),
    )?;
    let execution_id = sqlite(
        &db,
        r#"SELECT "id" FROM "Execution" WHERE "status" = 'Failed' LIMIT 1"#,
    )?;

    let addr = format!("127.0.0.1:{port}");
    let auths = vec![
        format!("cookie: dbackup_session={cookie}"),
        format!("authorization: Bearer {api_key}"),
    ];
    let plan = routes(&dest, &deep_cursor, "bench-job-00007", &execution_id);
    // Warm-up (compiles and instantiates every component once).
    let _ = load(&addr, &plan, &auths, 2, 2, app_proc.0.id());
    let (stats, rss_kib) = load(&addr, &plan, &auths, o.clients, o.seconds, app_proc.0.id());
    let jobs_secs = o.seconds.min(10);
    let (jobs_only, _) = load(
        &addr,
        &plan[..1]
            .iter()
            .map(|(n, p, _)| (*n, p.clone(), 1))
            .collect::<Vec<_>>(),
        &auths,
        o.clients,
        jobs_secs,
        app_proc.0.id(),
    );
    let tick = match tick_bin {
        Some(t) => {
            let copy = dir.join("tick.db");
            sqlite(&db, &format!(".backup '{}'", copy.display()))?;
            let out = Command::new(t)
                .arg(&copy)
                .arg(&key)
                .stderr(Stdio::null())
                .output()
                .context("cannot run control_plane_tick")?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if !out.status.success() {
                bail!("control_plane_tick failed: {text}");
            }
            let word = |k: &str, n: usize| -> f64 {
                text.lines()
                    .find(|l| l.starts_with(k))
                    .and_then(|l| l.split_whitespace().nth(n))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN)
            };
            let due_line = text
                .lines()
                .find(|l| l.starts_with("due_ms"))
                .unwrap_or("")
                .to_owned();
            Some((
                word("idle_ms", 1),
                word("idle_ms", 2),
                word("due_ms", 1),
                due_line,
            ))
        }
        None => None,
    };
    drop(app_proc);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Run {
        host,
        stats,
        seconds: o.seconds,
        rss_kib,
        jobs_only_rps: jobs_only[0].latencies_ms.len() as f64 / jobs_secs as f64,
        jobs_only_p99: percentile(&jobs_only[0].latencies_ms, 0.99),
        jobs_only_errors: jobs_only[0].errors,
        generate_secs,
        tick,
    })
}

fn host_name(h: Host, release: bool) -> &'static str {
    match (h, release) {
        (Host::Ours, true) => "ours (release)",
        (Host::Ours, false) => "ours (debug)",
        (Host::Spin, _) => "spin up",
    }
}

fn table(runs: &[Run], release: bool) -> String {
    let mut out = String::from(
        "| host | route | req/s | p50 ms | p99 ms | max ms | errors |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        for s in &r.stats {
            out.push_str(&format!(
                "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} |\n",
                host_name(r.host, release),
                s.name,
                s.latencies_ms.len() as f64 / r.seconds as f64,
                percentile(&s.latencies_ms, 0.5),
                percentile(&s.latencies_ms, 0.99),
                s.latencies_ms.last().copied().unwrap_or(f64::NAN),
                s.errors
            ));
        }
        out.push_str(&format!(
            "| {} | GET /api/jobs?limit=50 alone | {:.0} | | {:.1} | | {} |\n",
            host_name(r.host, release),
            r.jobs_only_rps,
            r.jobs_only_p99,
            r.jobs_only_errors
        ));
    }
    out
}

fn goals(runs: &[Run], release: bool) -> (String, bool) {
    let mut out = String::new();
    let mut all = true;
    let mut line = |ok: bool, text: String| {
        all &= ok;
        out.push_str(&format!("{} {text}\n", if ok { "PASS" } else { "FAIL" }));
    };
    for r in runs {
        let h = host_name(r.host, release);
        let p99 = |name: &str| {
            r.stats
                .iter()
                .find(|s| s.name == name)
                .map(|s| percentile(&s.latencies_ms, 0.99))
                .unwrap_or(f64::NAN)
        };
        for route in [
            "GET /api/jobs?limit=50",
            "GET /api/executions?limit=50",
            "GET /api/executions?cursor (deep)",
        ] {
            let v = p99(route);
            line(v <= 10.0, format!("{h}: {route} p99 {v:.1} ms ≤ 10 ms"));
        }
        line(
            r.jobs_only_rps >= 2000.0,
            format!(
                "{h}: GET /api/jobs?limit=50 {:.0} req/s ≥ 2,000",
                r.jobs_only_rps
            ),
        );
        let m = p99("GET /metrics");
        line(
            m <= 100.0,
            format!("{h}: GET /metrics p99 {m:.1} ms ≤ 100 ms"),
        );
        let errors: usize = r.stats.iter().map(|s| s.errors).sum::<usize>() + r.jobs_only_errors;
        let first = r
            .stats
            .iter()
            .find_map(|s| {
                s.first_error
                    .as_ref()
                    .map(|e| format!(" (first: {} → {e})", s.name))
            })
            .unwrap_or_default();
        line(errors == 0, format!("{h}: API errors {errors} = 0{first}"));
        let mib = r.rss_kib as f64 / 1024.0;
        line(
            mib <= 150.0,
            format!("{h}: peak RSS under load {mib:.0} MiB ≤ 150 MiB"),
        );
        if let Some((idle, idle_max, due, due_line)) = &r.tick {
            line(
                *idle <= 20.0,
                format!(
                    "runner tick, nothing due: median {idle:.1} ms (max {idle_max:.1}) ≤ 20 ms"
                ),
            );
            line(
                *due <= 1000.0,
                format!("runner tick, all jobs due: {due:.0} ms ≤ 1 s ({due_line})"),
            );
        }
    }
    (out, all)
}

const SECTION: &str =
    "## `cargo xtask bench control-plane` (1,000 jobs, 100,000 executions, 64 clients)";

/// Replaces (or adds) this run's `### label` part of this bench's section of docs/BENCH.md.
fn write_section(root: &Path, label: &str, body: &str) -> Result<()> {
    let path = root.join("docs/BENCH.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let (before, mut section, after) = match doc.find(SECTION) {
        Some(start) => {
            let rest = start + SECTION.len();
            let end = doc[rest..].find("\n## ").map(|i| rest + i + 1).unwrap_or(doc.len());
            (doc[..start].to_owned(), doc[start..end].to_owned(), doc[end..].to_owned())
        }
        None => (
            doc.trim_end_matches('\n').to_owned() + "\n\n",
            format!("{SECTION}\n\nRows per route under the mixed load; PASS/FAIL per goal of issue 20. How it works: xtask/src/bench_control_plane.rs.\n"),
            String::new(),
        ),
    };
    let head = format!("### {label}\n");
    let part = format!("{head}\n{body}\n");
    match section.find(&head) {
        Some(s) => {
            let rest = s + head.len();
            let e = section[rest..]
                .find("\n### ")
                .map(|i| rest + i + 1)
                .unwrap_or(section.len());
            section.replace_range(s..e, &part);
        }
        None => {
            section = section.trim_end_matches('\n').to_owned() + "\n\n" + &part;
        }
    }
    let after = if after.is_empty() {
        String::new()
    } else {
        format!("\n{after}")
    };
    std::fs::write(
        &path,
        format!(
            "{before}{}{after}",
            section.trim_end_matches('\n').to_owned() + "\n"
        ),
    )
    .with_context(|| format!("cannot write {}", path.display()))
}

pub fn control_plane(root: &Path, args: &[String]) -> Result<()> {
    let o = parse(args)?;
    if !crate::infra::have("sqlite3") {
        crate::infra::ensure_debian(&[("sqlite3", "sqlite3")])?;
    }
    crate::infra::ensure_debian(&[("curl", "curl")])?;
    if o.spin && !crate::infra::have("spin") {
        bail!("`spin` is not on PATH: run ../shared/tools/install.sh");
    }
    let started = Instant::now();
    let built_wasm = build_components(root, false)?;
    let wasm_dir = o.wasm_dir.clone().unwrap_or(built_wasm);
    // The worker is the debug build either way (here it only lists the destination), so
    // --release builds one more binary, the host.
    let mut cmd = crate::cargo();
    cmd.args(["build", "-p", "dbackup-worker", "-p", "dbackup-jobs-core"]);
    cmd.args(["--example", "control_plane_tick"]);
    if !o.release {
        cmd.args(["-p", "dbackup-host"]);
    }
    crate::run_cmd(&mut cmd)?;
    if o.release {
        let mut cmd = crate::cargo();
        cmd.args(["build", "--release", "-p", "dbackup-host"]);
        crate::run_cmd(&mut cmd)?;
    }
    let target = target_dir(root)?;
    let debug = target.join("debug");
    let host_bin = target.join(if o.release {
        "release/dbackup"
    } else {
        "debug/dbackup"
    });
    let tick_bin = target.join("debug/examples/control_plane_tick");
    // With other components (--wasm-dir, e.g. an older build) the tick is not theirs: not measured.
    let tick = o.wasm_dir.is_none().then_some(tick_bin.as_path());
    let mut runs = vec![measure(
        root,
        &debug,
        &host_bin,
        &wasm_dir,
        tick,
        Host::Ours,
        &o,
    )?];
    if o.spin {
        runs.push(measure(
            root,
            &debug,
            &host_bin,
            &wasm_dir,
            None,
            Host::Spin,
            &o,
        )?);
    }
    let (goal_lines, _) = goals(&runs, o.release);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    let label = if o.label.is_empty() {
        date.clone()
    } else {
        o.label.clone()
    };
    let body = format!(
        "Measured {date} (load average at the end: {}): {} jobs, {} executions, {} clients for {} s \
         (generated in {:.0} s); our host {}; Spin runs the same components. Runner tick: native \
         (shared/jobs/examples/control_plane_tick.rs on a copy of the database, no wasm).\n\n{}\n```\n{}```\n",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        o.jobs,
        o.executions,
        o.clients,
        o.seconds,
        runs[0].generate_secs,
        if o.release { "release" } else { "debug" },
        table(&runs, o.release),
        goal_lines
    );
    println!("{body}");
    write_section(root, &label, &body)?;
    eprintln!(
        "xtask: bench control-plane took {:.0} s; docs/BENCH.md updated",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
