//! `cargo xtask bench hosts`: the API and the runner on {our host, `spin up`} × {local file,
//! libSQL server}: `GET /api/health` and `GET /api/jobs` (100 jobs) latency with one client
//! (p50/p99) and throughput with 16 (wrk, 2 s each), and the runner's tick time. Writes the
//! table into docs/BENCH.md (its own section) and prints it.
//!
//! Our host is the debug build unless `--release` (a release build takes over 15 minutes here);
//! Spin runs the same release `.wasm` files. The worker runs beside both. The tick time is the span of the
//! database work of one idle tick (100 jobs, none due): for a libSQL server, from the start of
//! the tick's first request to the end of its last one in sqld's request log; for a local
//! file, from the first to the last SQLite file read/write/sync syscall of the app's
//! processes (strace, which slows each syscall a little).

use crate::{bench, build, infra, target_dir, Profile};
use anyhow::{bail, Context, Result};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How many jobs `GET /api/jobs` lists.
const JOBS: usize = 100;
/// Seconds of wrk per cell.
const WRK_SECS: u32 = 3;
/// The runner's cron period in spin.toml.
const TICK_SECS: u64 = 10;

/// A child process group, killed on drop.
pub(crate) struct Group(pub(crate) Child);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

pub(crate) fn spawn(cmd: &mut Command, log: &Path) -> Result<Group> {
    let out = std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    Ok(Group(
        cmd.spawn()
            .with_context(|| format!("cannot start {cmd:?}"))?,
    ))
}

#[derive(Clone, Copy, PartialEq)]
enum Host {
    Ours,
    Spin,
}

#[derive(Clone, Copy, PartialEq)]
enum Store {
    File,
    Libsql,
}

struct Row {
    host: Host,
    store: Store,
    health_p50: f64,
    health_p99: f64,
    health_rps: f64,
    jobs_p50: f64,
    jobs_p99: f64,
    jobs_rps: f64,
    /// Tick spans (ms) of the ticks observed, and the database events in each.
    ticks: Vec<(f64, usize)>,
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) fn random_hex() -> Result<String> {
    use std::io::Read;
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub(crate) fn wait_port(port: u16, what: &str, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} does not listen on port {port} after {timeout:?}")
}

/// One request with curl: (status, headers, body).
pub(crate) fn curl(
    method: &str,
    url: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, String, String)> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-D", "-", "-X", method, "--max-time", "30", url]);
    if let Some(c) = cookie {
        cmd.args([
            "-H",
            &format!("cookie: dbackup_session={c}"),
            "-H",
            "x-requested-with: XMLHttpRequest",
        ]);
    }
    if let Some(b) = body {
        cmd.args(["-H", "content-type: application/json", "--data-binary", b]);
    }
    let out = cmd.output().context("cannot run curl")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or((text.clone(), String::new()));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, head, body))
}

/// A JSON string field `"name":"value"` of a flat answer (no JSON parser in xtask).
pub(crate) fn json_field(body: &str, name: &str) -> Option<String> {
    let key = format!("\"{name}\":\"");
    let start = body.find(&key)? + key.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

pub(crate) fn expect(
    method: &str,
    url: &str,
    cookie: Option<&str>,
    body: Option<&str>,
    status: u16,
) -> Result<(String, String)> {
    let (got, head, text) = curl(method, url, cookie, body)?;
    if got != status {
        bail!("{method} {url}: {got} (expected {status}): {text}");
    }
    Ok((head, text))
}

/// Seconds since midnight of a `HH:MM:SS.ffffff` wall-clock time (UTC, as sqld and strace print
/// it on this machine).
/// Waits until the app at `base` answers `/api/jobs` with neither nothing nor 503 (ready and
/// migrated: Spin migrates on the runner's first tick); after 300 s fails with the app's log.
pub(crate) fn wait_ready(base: &str, log: &Path, name: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        if let Ok((status, _, _)) = curl("GET", &format!("{base}/api/jobs"), None, None) {
            if status != 0 && status != 503 {
                return Ok(());
            }
        }
        if start.elapsed() > Duration::from_secs(300) {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            bail!("{name}: the app is not ready after 300 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Signs up the bench's admin on a fresh app: its session cookie value and the sign-up answer.
pub(crate) fn sign_up(base: &str) -> Result<(String, String)> {
    let (head, body) = expect(
        "POST",
        &format!("{base}/api/auth/signup"),
        None,
        Some(
            r#"{"name":"Bench","email":"bench@example.com","password":"correct horse battery staple"}"#,
        ),
        201,
    )?;
    let cookie = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| v.trim().strip_prefix("dbackup_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .context("signup set no session cookie")?;
    Ok((cookie, body))
}

fn day_secs(hms: &str) -> Option<f64> {
    let mut parts = hms.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// The (start, end) seconds-of-day of each request in sqld's log (tower-http's "finished
/// processing request latency=… μs" lines).
fn sqld_requests(log: &str) -> Vec<(f64, f64)> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split("latency=").nth(1)?;
            let ts = l.split_whitespace().next()?;
            let end = day_secs(ts.split('T').nth(1)?.trim_end_matches('Z'))?;
            let mut it = rest.split_whitespace();
            let n: f64 = it.next()?.parse().ok()?;
            let secs = match it.next()? {
                "μs" | "us" => n / 1e6,
                "ms" => n / 1e3,
                "s" => n,
                _ => return None,
            };
            Some((end - secs, end))
        })
        .collect()
}

/// The seconds-of-day of the strace lines (`-tt`) naming `needle` (the database file).
fn strace_events(log: &str, needle: &str) -> Vec<(f64, f64)> {
    log.lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| {
            // "PID HH:MM:SS.ffffff call(...)" or "HH:MM:SS.ffffff call(...)".
            let t = l
                .split_whitespace()
                .find(|w| w.len() > 8 && w.as_bytes().get(2) == Some(&b':'))?;
            let t = day_secs(t)?;
            Some((t, t))
        })
        .collect()
}

/// The span (ms) of the events that start within [boundary − 0.5 s, boundary + 9 s) for each
/// boundary (a cron scheduler may fire a few milliseconds early), and how many there were.
fn tick_spans(events: &[(f64, f64)], boundaries: &[f64]) -> Vec<(f64, usize)> {
    boundaries
        .iter()
        .filter_map(|b| {
            let (b, e) = (
                (b - 0.5).rem_euclid(86_400.0),
                (b + 9.0).rem_euclid(86_400.0),
            );
            let inside: Vec<&(f64, f64)> =
                events.iter().filter(|(s, _)| *s >= b && *s < e).collect();
            let first = inside.iter().map(|(s, _)| *s).fold(f64::MAX, f64::min);
            let last = inside.iter().map(|(_, e)| *e).fold(f64::MIN, f64::max);
            (!inside.is_empty()).then_some(((last - first) * 1000.0, inside.len()))
        })
        .collect()
}

/// Every descendant process of `pid` (Spin starts its triggers as child processes).
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid …": comm may hold spaces, so split after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok());
            if let Some(ppid) = ppid {
                parents.push((p, ppid));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(parents.iter().filter(|(_, pp)| *pp == cur).map(|(p, _)| *p));
        i += 1;
    }
    out
}

fn measure(root: &Path, bin: &Path, host: Host, store: Store) -> Result<Row> {
    let name = format!(
        "{}-{}",
        if host == Host::Ours { "host" } else { "spin" },
        if store == Store::File {
            "file"
        } else {
            "libsql"
        }
    );
    eprintln!("xtask: bench hosts: {name}");
    let dir =
        std::env::temp_dir().join(format!("dbackup-bench-hosts-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("backups"))?;
    let port = free_port()?;
    let worker_port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let vars = [
        ("SPIN_VARIABLE_ENCRYPTION_KEY", random_hex()?),
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
        .env("DBACKUP_LOCAL_ROOTS", dir.join("backups"));
    let _worker = spawn(&mut worker, &dir.join("worker.log"))?;
    wait_port(worker_port, "dbackup-worker", Duration::from_secs(30))?;

    let mut sqld_guard = None;
    let rc = dir.join("runtime-config.toml");
    if store == Store::Libsql {
        let sqld_port = free_port()?;
        let mut cmd = Command::new("sqld");
        cmd.arg("--db-path")
            .arg(dir.join("sqld"))
            .args(["--http-listen-addr", &format!("127.0.0.1:{sqld_port}")])
            .arg("--no-welcome")
            .env("RUST_LOG", "tower_http=debug");
        sqld_guard = Some(spawn(&mut cmd, &dir.join("sqld.log"))?);
        wait_port(sqld_port, "sqld", Duration::from_secs(30))?;
        std::fs::write(
            &rc,
            format!(
                "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"http://127.0.0.1:{sqld_port}\"\ntoken = \"bench\"\n"
            ),
        )?;
    }

    let app = match host {
        Host::Ours => {
            let data = dir.join("data");
            std::fs::create_dir_all(&data)?;
            // The tests' compiled-component cache (keyed by wasm bytes and engine).
            let cache = target_dir(root)?.join("tmp/dbackup-tests-cwasm");
            std::fs::create_dir_all(&cache)?;
            std::os::unix::fs::symlink(&cache, data.join("cache"))?;
            let mut cmd = Command::new(bin.join("dbackup"));
            cmd.arg("--manifest")
                .arg(root.join("spin.toml"))
                .args(["--listen", &format!("127.0.0.1:{port}"), "--no-worker"])
                .arg("--data-dir")
                .arg(&data);
            if store == Store::Libsql {
                cmd.arg("--runtime-config-file").arg(&rc);
            }
            cmd.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
            spawn(&mut cmd, &dir.join("app.log"))?
        }
        Host::Spin => {
            let mut cmd = Command::new("spin");
            cmd.arg("up")
                .arg("--from")
                .arg(root.join("spin.toml"))
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .arg("--state-dir")
                .arg(dir.join("state"))
                .current_dir(&dir);
            if store == Store::Libsql {
                cmd.arg("--runtime-config-file").arg(&rc);
            }
            cmd.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
            spawn(&mut cmd, &dir.join("app.log"))?
        }
    };
    // Ready and migrated (Spin migrates on the runner's first tick).
    wait_ready(&base, &dir.join("app.log"), &name)?;
    let (cookie, _) = sign_up(&base)?;
    let adapter = |body: String| -> Result<String> {
        let (_, text) = expect(
            "POST",
            &format!("{base}/api/adapters"),
            Some(&cookie),
            Some(&body),
            201,
        )?;
        json_field(&text, "id").context("adapter id")
    };
    let source = adapter(
        r#"{"name":"PG","type":"database","adapterId":"postgres","config":{"host":"127.0.0.1","port":5432,"user":"postgres","database":"postgres"}}"#.to_owned(),
    )?;
    let disk = adapter(format!(
        r#"{{"name":"Disk","type":"storage","adapterId":"local","config":{{"path":"{}"}}}}"#,
        dir.join("backups").display()
    ))?;
    for i in 0..JOBS {
        expect(
            "POST",
            &format!("{base}/api/jobs"),
            Some(&cookie),
            Some(&format!(
                r#"{{"name":"job {i}","schedule":"0 3 * * *","timezone":"UTC","sourceId":"{source}","databases":["postgres"],"destinations":[{{"destinationId":"{disk}"}}],"compression":"GZIP"}}"#
            )),
            201,
        )?;
    }

    let cookie_header = format!("cookie: dbackup_session={cookie}");
    let health = format!("{base}/api/health");
    let jobs = format!("{base}/api/jobs");
    let (_, health_p50, health_p99) = bench::wrk_with(&health, 1, &[], WRK_SECS)?;
    let (health_rps, _, _) = bench::wrk_with(&health, 16, &[], WRK_SECS)?;
    let (_, jobs_p50, jobs_p99) = bench::wrk_with(&jobs, 1, &[&cookie_header], WRK_SECS)?;
    let (jobs_rps, _, _) = bench::wrk_with(&jobs, 16, &[&cookie_header], WRK_SECS)?;

    // Two idle ticks, nothing else talking to the database.
    let now = unix_now();
    let next = ((now / TICK_SECS as f64).floor() + 1.0) * TICK_SECS as f64;
    std::thread::sleep(Duration::from_secs_f64((next - now - 1.0).max(0.0)));
    let boundaries = [next, next + TICK_SECS as f64];
    let ticks = match store {
        Store::Libsql => {
            let offset = std::fs::metadata(dir.join("sqld.log"))?.len() as usize;
            std::thread::sleep(Duration::from_secs(2 * TICK_SECS + 1));
            let log = std::fs::read(dir.join("sqld.log"))?;
            let log = String::from_utf8_lossy(&log[offset.min(log.len())..]).into_owned();
            tick_spans(&sqld_requests(&log), &boundaries)
        }
        Store::File => {
            let pids = descendants(app.0.id());
            let trace = dir.join("strace.log");
            let mut cmd = Command::new("timeout");
            cmd.arg((2 * TICK_SECS + 1).to_string())
                .args(["strace", "-f", "-tt", "-y", "-e"])
                .arg("trace=pread64,pwrite64,read,write,fsync,fdatasync")
                .arg("-o")
                .arg(&trace);
            for p in pids {
                cmd.args(["-p", &p.to_string()]);
            }
            let status = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .context("cannot run strace")?;
            // timeout's 124 is the expected end.
            if !(status.success() || status.code() == Some(124)) {
                bail!("strace failed ({status})");
            }
            let log = std::fs::read_to_string(&trace).unwrap_or_default();
            let db = if host == Host::Ours {
                "dbackup.db"
            } else {
                "sqlite_db.db"
            };
            tick_spans(&strace_events(&log, db), &boundaries)
        }
    };
    drop(app);
    drop(sqld_guard);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Row {
        host,
        store,
        health_p50,
        health_p99,
        health_rps,
        jobs_p50,
        jobs_p99,
        jobs_rps,
        ticks,
    })
}

fn table(rows: &[Row], ours: &str) -> String {
    let mut out = String::from(
        "| host | database | health p50 ms | health p99 ms | health req/s (16 clients) | jobs p50 ms | jobs p99 ms | jobs req/s (16 clients) | idle tick ms (db events) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let ticks = if r.ticks.is_empty() {
            "n/a".to_owned()
        } else {
            r.ticks
                .iter()
                .map(|(t, n)| format!("{t:.0} ({n})"))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} | {:.0} | {} |\n",
            if r.host == Host::Ours {
                ours
            } else {
                "spin up 3.5"
            },
            if r.store == Store::File {
                "local file"
            } else {
                "libSQL server (sqld)"
            },
            r.health_p50,
            r.health_p99,
            r.health_rps,
            r.jobs_p50,
            r.jobs_p99,
            r.jobs_rps,
            ticks
        ));
    }
    out
}

const SECTION: &str =
    "## `cargo xtask bench hosts` (our host and spin up, local file and libSQL server)";

/// Replaces (or appends) this bench's section of docs/BENCH.md.
fn write_section(root: &Path, body: &str) -> Result<()> {
    let path = root.join("docs/BENCH.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let section = format!("{SECTION}\n\n{body}");
    let new = match doc.find(SECTION) {
        Some(start) => {
            let after = start + SECTION.len();
            let end = doc[after..]
                .find("\n## ")
                .map(|i| after + i + 1)
                .unwrap_or(doc.len());
            format!("{}{section}\n{}", &doc[..start], &doc[end..])
        }
        None => format!(
            "{}\n{section}",
            doc.trim_end_matches('\n').to_owned() + "\n"
        ),
    };
    std::fs::write(&path, new).with_context(|| format!("cannot write {}", path.display()))
}

/// `args`: `--release` measures our host's release build (otherwise the debug build, which
/// `cargo xtask test` already has; a release host build takes over 15 minutes here).
pub fn hosts(root: &Path, args: &[String]) -> Result<()> {
    let profile = match args {
        [] => Profile::Debug,
        [flag] if flag == "--release" => Profile::Release,
        _ => bail!("usage: cargo xtask bench hosts [--release]"),
    };
    infra::ensure_debian(&[("wrk", "wrk"), ("strace", "strace"), ("curl", "curl")])?;
    for program in ["sqld", "spin"] {
        if !infra::have(program) {
            bail!("`{program}` is not on PATH: run ../shared/tools/install.sh");
        }
    }
    let started = Instant::now();
    let bin: PathBuf = build(root, profile)?;
    let ours = if profile == Profile::Release {
        "ours (release)"
    } else {
        "ours (debug)"
    };
    let mut rows = Vec::new();
    for store in [Store::File, Store::Libsql] {
        for host in [Host::Ours, Host::Spin] {
            rows.push(measure(root, &bin, host, store)?);
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let body = format!(
        "Measured {date} (load average at the end: {}), {} jobs listed, wrk {WRK_SECS} s per cell \
         (p50/p99 with one client, req/s with 16 on 2 threads); our host: {ours}, \
         Spin runs the same release components. Idle tick: the database work of one runner \
         tick with {} jobs none due (two ticks; in brackets the requests or syscalls seen) — \
         libSQL: first request start to last request end in sqld's log; local file: first to \
         last SQLite file syscall of the app (strace -f; reads served from SQLite's page cache \
         make no syscall, so this is closer to the tick's write span). The worker runs beside \
         both. A req/s of 0: no request finished within the {WRK_SECS} s.\n\n{}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        JOBS,
        JOBS,
        table(&rows, ours)
    );
    println!("{body}");
    write_section(root, &body)?;
    eprintln!(
        "xtask: bench hosts took {:.0} s; docs/BENCH.md updated",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
