//! `cargo xtask bench pipeline [--size-mb N] [--runs N] [--no-restore] [--worker PATH]`: the worker's backup/restore pipeline against
//! the local PostgreSQL (127.0.0.1:5432), side by side with the bare tools. Not a test; CI
//! never runs it. Each scenario runs in a freshly spawned release worker so that its peak RSS
//! (`VmHWM` in /proc/<pid>/status) belongs to that scenario alone.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod servers;

const TOKEN: &str = "bench-token-0123456789abcdef-0123456789abcdef";
/// Approximate bytes of `pg_dump -Fp` text per generated row.
const ROW_BYTES: u64 = 240;
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pg_bin() -> PathBuf {
    // The newest Debian client tools (what the worker discovers too), else PATH.
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.pop().unwrap_or_default()
}

fn tool(name: &str) -> PathBuf {
    let p = pg_bin().join(name);
    if p.is_file() {
        p
    } else {
        PathBuf::from(name)
    }
}

fn psql(db: &str, sql: &str) -> Result<String> {
    let out = Command::new(tool("psql"))
        .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-c", sql])
        .output()?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Orders with text, numbers, timestamps and JSON; about 3× compressible.
fn ensure_dataset(db: &str, size_mb: u64) -> Result<()> {
    let exists = psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
    )?;
    let rows = size_mb * 1_000_000 / ROW_BYTES;
    if exists == "1" {
        // Complete from an earlier run: reuse; a half-generated one is dropped.
        if psql(db, "SELECT count(*) FROM orders").ok() == Some(rows.to_string()) {
            return Ok(());
        }
        psql("postgres", &format!("DROP DATABASE {db} WITH (FORCE)"))?;
    }
    eprintln!("bench: generating {db} ({rows} rows)…");
    let started = Instant::now();
    psql("postgres", &format!("CREATE DATABASE {db}"))?;
    psql(
        db,
        "CREATE TABLE orders (id bigint PRIMARY KEY, created_at timestamptz, customer_id int,
           amount numeric(12,2), status text, note text, payload jsonb)",
    )?;
    let batch = 500_000u64;
    let mut from = 1;
    while from <= rows {
        let to = (from + batch - 1).min(rows);
        psql(
            db,
            &format!(
                "INSERT INTO orders SELECT i, '2024-01-01'::timestamptz + i * interval '7 seconds',
                   (i * 7919) % 100000, ((i * 31) % 1000000) / 100.0,
                   (ARRAY['new','paid','shipped','cancelled','refunded'])[1 + i % 5],
                   'order ' || i || ' for customer ' || ((i * 7919) % 100000) || ' ref ' || md5(i::text),
                   jsonb_build_object('sku', 'SKU-' || (i % 5000), 'qty', i % 9 + 1,
                     'tags', jsonb_build_array('t' || i % 13, 't' || i % 17),
                     'h', substr(md5((i * 3)::text), 1, 12))
                 FROM generate_series({from}::bigint, {to}::bigint) i"
            ),
        )?;
        from = to + 1;
    }
    psql(db, "VACUUM ANALYZE orders")?;
    eprintln!(
        "bench: generated in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn curl(method: &str, url: &str, body: Option<&str>) -> Result<String> {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-X", method, url])
        .arg("-H")
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .args(["-H", "Content-Type: application/json"]);
    if let Some(b) = body {
        cmd.args(["--data-binary", b]);
    }
    let out = cmd.output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn json_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":");
    let at = text.find(&pat)? + pat.len();
    let rest = text[at..].trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        s.split('"').next()
    } else {
        rest.split([',', '}']).next()
    }
}

/// A task's top-level `status`: its last `"status"` key (the result's per-destination
/// verifications carry one of their own, before it).
fn task_status(task: &str) -> Option<&str> {
    let at = task.rfind("\"status\":")?;
    json_field(&task[at..], "status")
}

/// Peak resident set of a process, in MiB.
fn vm_hwm_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Run {
    wall: f64,
    rss_mib: f64,
    /// Peak resident set of the worker's `rclone` children (summed), sampled every 50 ms.
    rclone_rss_mib: f64,
    /// The worker's own CPU time (user + system, all threads; not its children).
    cpu: f64,
    task: String,
}

/// CPU seconds (user + system) a live process used so far.
fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            // After the command: state is field 3, so utime (14) and stime (15) sit at 11, 12.
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// Resident set (MiB) of the `rclone` processes whose parent is `pid`, summed.
fn rclone_children_rss_mib(pid: u32) -> f64 {
    let mut kib = 0.0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid != Some(pid) || !head.ends_with("(rclone") {
            continue;
        }
        kib += std::fs::read_to_string(e.path().join("status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .unwrap_or(0.0);
    }
    kib / 1024.0
}

/// Spawns a worker, runs one task (`route` with `body`), returns wall time, peak RSS, task JSON.
fn run_task(worker_bin: &Path, route: &str, body: &str) -> Result<Run> {
    let port = free_port()?;
    let child = Command::new(worker_bin)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("DBACKUP_WORKER_TOKEN", TOKEN)
        // The local destination lives in the bench's work directory under the temp dir.
        .env("DBACKUP_LOCAL_ROOTS", std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the worker")?;
    let worker = Killed(child);
    let base = format!("http://127.0.0.1:{port}");
    let ready = Instant::now();
    while !curl("GET", &format!("{base}/healthz"), None)?.contains("ok") {
        if ready.elapsed() > Duration::from_secs(10) {
            bail!("worker did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let cpu_before = cpu_seconds(worker.0.id());
    let started = Instant::now();
    let answer = curl("POST", &format!("{base}{route}"), Some(body))?;
    let id = json_field(&answer, "taskId")
        .with_context(|| format!("no task id in {answer}"))?
        .to_owned();
    let mut rclone_rss_mib = 0.0f64;
    loop {
        rclone_rss_mib = rclone_rss_mib.max(rclone_children_rss_mib(worker.0.id()));
        let task = curl("GET", &format!("{base}/v1/tasks/{id}"), None)?;
        if task_status(&task) != Some("running") {
            let wall = started.elapsed().as_secs_f64();
            let rss_mib = vm_hwm_mib(worker.0.id());
            let cpu = cpu_seconds(worker.0.id()) - cpu_before;
            if task_status(&task) != Some("succeeded") {
                bail!("task failed: {task}");
            }
            return Ok(Run {
                wall,
                rss_mib,
                rclone_rss_mib,
                cpu,
                task,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn timed(cmd: &mut Command) -> Result<f64> {
    let started = Instant::now();
    let status = cmd.status()?;
    if !status.success() {
        bail!("{cmd:?} failed");
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Entry point.
pub fn pipeline(root: &Path, args: &[String]) -> Result<()> {
    let mut size_mb = 700u64;
    let mut runs = 1usize;
    let mut restores = true;
    let mut worker_override: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--size-mb" => {
                size_mb = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .context("--size-mb needs a number")?;
            }
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n >= 1)
                    .context("--runs needs a number ≥ 1")?;
            }
            "--no-restore" => restores = false,
            "--worker" => {
                worker_override = Some(PathBuf::from(it.next().context("--worker needs a path")?));
            }
            other => bail!("unknown option {other}"),
        }
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    crate::run_cmd(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
            "build",
            "--release",
            "-p",
            "dbackup-worker",
            "--bin",
            "dbackup-worker",
            "--example",
            "s3s_server",
        ]),
    )?;
    // `--worker PATH` measures another build (e.g. the previous commit's) on the same data.
    let worker_bin = worker_override.unwrap_or_else(|| target.join("release/dbackup-worker"));
    let s3_bin = target.join("release/examples/s3s_server");
    let db = format!("dbk_bench_{size_mb}");
    ensure_dataset(&db, size_mb)?;
    let work = std::env::temp_dir().join(format!("dbk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;

    // The floor, and the reference dump for pg_restore.
    let null = || std::fs::File::create("/dev/null").map(Stdio::from);
    let pg_dump = tool("pg_dump");
    let conn = ["-h", "127.0.0.1", "-U", "postgres", "-d", db.as_str()];
    let _warm = timed(Command::new(&pg_dump).args(conn).arg("-Fp").stdout(null()?))?;
    let floor = median_of(runs, || {
        timed(Command::new(&pg_dump).args(conn).arg("-Fp").stdout(null()?))
    })?;
    // The custom format the worker asks for (`-Fc -Z0`, our compression), into a pipe.
    let fc_null = median_of(runs, || {
        timed(
            Command::new(&pg_dump)
                .args(conn)
                .args(["-Fc", "-Z0"])
                .stdout(null()?),
        )
    })?;
    let text_size = {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{} -h 127.0.0.1 -U postgres -Fp -d {db} | wc -c",
                pg_dump.display()
            ))
            .output()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .unwrap_or(0.0)
    };
    let fc_dump = work.join("ref.dump");
    let fc = median_of(runs, || {
        let _ = std::fs::remove_file(&fc_dump);
        timed(
            Command::new(&pg_dump)
                .args(conn)
                .args(["-Fc", "-Z0", "-f"])
                .arg(&fc_dump),
        )
    })?;

    let s3_root = work.join("s3");
    let s3_port = free_port()?;
    let _s3 = Killed(
        Command::new(&s3_bin)
            .arg(&s3_root)
            .arg(s3_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting s3s_server")?,
    );
    std::thread::sleep(Duration::from_millis(300));
    let local = format!(
        r#"{{"kind": "local", "path": "{}"}}"#,
        work.join("local").display()
    );
    let s3 = format!(
        r#"{{"kind": "s3", "endpoint": "http://127.0.0.1:{s3_port}", "region": "us-east-1", "bucket": "backups", "prefix": "bench", "pathStyle": true, "accessKeyId": "AKIDTEST", "secretAccessKey": "SECRETTEST"}}"#
    );
    let source = format!(
        r#"{{"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "{db}"}}"#
    );
    // SFTP (native) and the rclone-backed stores that have a local server.
    let (_sftp, sftp) = servers::sftp(&work)?;
    let (_ftp, ftp) = servers::ftp(&work)?;
    let (_webdav, webdav) = servers::webdav(&work)?;
    let (_smb, smb) = servers::smb(&work)?;
    // Every backup reads its object back after upload (verifyAfterUpload, default on); the
    // two "verify off" rows measure what that costs (docs/BENCH.md).
    let scenarios: [(&str, &str, bool, &str); 10] = [
        ("ZSTD-3 + AES-GCM → local", "ZSTD", true, &local),
        ("ZSTD-3 + AES-GCM → local, verify off", "ZSTD", true, &local),
        ("GZIP-6 → local", "GZIP", false, &local),
        ("NONE → local", "NONE", false, &local),
        ("ZSTD-3 + AES-GCM → S3", "ZSTD", true, &s3),
        ("ZSTD-3 + AES-GCM → S3, verify off", "ZSTD", true, &s3),
        ("ZSTD-3 + AES-GCM → SFTP", "ZSTD", true, &sftp),
        ("ZSTD-3 + AES-GCM → FTP (rclone)", "ZSTD", true, &ftp),
        ("ZSTD-3 + AES-GCM → WebDAV (rclone)", "ZSTD", true, &webdav),
        ("ZSTD-3 + AES-GCM → SMB (rclone)", "ZSTD", true, &smb),
    ];
    let mut rows: Vec<[String; 8]> = Vec::new();
    let row = |name: &str, wall: f64, stored: Option<f64>, run: Option<&Run>| -> [String; 8] {
        [
            name.to_owned(),
            format!("{wall:.2}"),
            format!("{:.2}×", wall / floor),
            format!("{:.0}", text_size / 1e6 / wall),
            stored.map_or("–".into(), |s| format!("{:.0}", s / 1e6)),
            run.map_or("–".into(), |r| format!("{:.2}", r.cpu)),
            run.map_or("–".into(), |r| format!("{:.1}", r.rss_mib)),
            run.filter(|r| r.rclone_rss_mib > 0.0)
                .map_or("–".into(), |r| format!("{:.1}", r.rclone_rss_mib)),
        ]
    };
    rows.push(row("pg_dump -Fp > /dev/null (floor)", floor, None, None));
    rows.push(row("pg_dump -Fc -Z0 > /dev/null", fc_null, None, None));
    rows.push(row(
        "pg_dump -Fc -Z0 -f file",
        fc,
        std::fs::metadata(&fc_dump).ok().map(|m| m.len() as f64),
        None,
    ));
    let mut objects = Vec::new();
    for (i, (name, compression, encrypted, dest)) in scenarios.iter().enumerate() {
        let enc = if *encrypted {
            format!(r#", "encryption": {{"keyHex": "{KEY_HEX}"}}"#)
        } else {
            String::new()
        };
        let verify = !name.ends_with("verify off");
        let body = format!(
            r#"{{"source": {source}, "compression": "{compression}"{enc}, "destinations": [{{"id": "d", "storage": {dest}}}], "jobName": "bench{i}", "verifyAfterUpload": {verify}}}"#
        );
        let mut measured = Vec::with_capacity(runs);
        for r in 0..runs {
            // Distinct job names: every run stores a new object.
            let body = body.replace(
                &format!(r#""jobName": "bench{i}""#),
                &format!(r#""jobName": "bench{i}-{r}""#),
            );
            measured.push(run_task(&worker_bin, "/v1/backups", &body)?);
        }
        let run = median_run(measured);
        let size = json_field(&run.task, "size").and_then(|s| s.parse::<f64>().ok());
        let object = json_field(&run.task, "objectName")
            .unwrap_or_default()
            .to_owned();
        rows.push(row(
            &format!("worker backup {name}"),
            run.wall,
            size,
            Some(&run),
        ));
        if verify {
            // The same object as the row above: no second restore.
            objects.push((name.to_owned(), dest.to_owned(), object, *encrypted));
        }
    }

    if !restores {
        print_table(&db, text_size, &fc_dump, rows);
        let _ = std::fs::remove_dir_all(&work);
        return Ok(());
    }
    // Restores into fresh databases, against pg_restore of the -Fc dump.
    let fresh = |tag: &str| format!("{db}_r_{tag}");
    let target =
        psql("postgres", &format!("CREATE DATABASE {}", fresh("ref"))).map(|_| fresh("ref"))?;
    let pg_restore = timed(
        Command::new(tool("pg_restore"))
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "--no-owner",
                "-d",
                &target,
            ])
            .arg(&fc_dump),
    )?;
    psql("postgres", &format!("DROP DATABASE {target}"))?;
    rows.push(row("pg_restore -d (reference)", pg_restore, None, None));
    for (i, (name, dest, object, encrypted)) in objects.iter().enumerate() {
        for verify in [true, false] {
            if !verify && i != 0 {
                continue;
            }
            let target = fresh(&format!("{i}{}", u8::from(verify)));
            let enc = if *encrypted {
                format!(r#", "encryption": {{"keyHex": "{KEY_HEX}"}}"#)
            } else {
                String::new()
            };
            let body = format!(
                r#"{{"source": {{"storage": {dest}, "objectName": "{object}"}}{enc}, "target": {{"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "{target}"}}, "verify": {verify}}}"#
            );
            let mut measured = Vec::with_capacity(runs);
            for _ in 0..runs {
                let run = run_task(&worker_bin, "/v1/restores", &body);
                let _ = psql("postgres", &format!("DROP DATABASE IF EXISTS {target}"));
                measured.push(run?);
            }
            let run = median_run(measured);
            let label = if verify {
                "verify + restore"
            } else {
                "restore, no verify"
            };
            rows.push(row(
                &format!("worker {label} {name}"),
                run.wall,
                None,
                Some(&run),
            ));
        }
    }
    print_table(&db, text_size, &fc_dump, rows);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Median of `runs` timings.
fn median_of(runs: usize, mut f: impl FnMut() -> Result<f64>) -> Result<f64> {
    let mut times = (0..runs).map(|_| f()).collect::<Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// The run with the median wall time; its peak RSS is the largest of all runs.
fn median_run(mut runs: Vec<Run>) -> Run {
    let rss = runs.iter().map(|r| r.rss_mib).fold(0.0, f64::max);
    runs.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let mid = runs.len() / 2;
    let mut run = runs.swap_remove(mid);
    run.rss_mib = rss;
    run
}

fn print_table(db: &str, text_size: f64, fc_dump: &Path, rows: Vec<[String; 8]>) {
    let fc_size = std::fs::metadata(fc_dump).map_or(0.0, |m| m.len() as f64);
    println!(
        "\npipeline benchmark: database {db}, pg_dump -Fp text {:.0} MB, -Fc -Z0 {:.0} MB\n",
        text_size / 1e6,
        fc_size / 1e6
    );
    let header = [
        "scenario",
        "wall s",
        "× floor",
        "MB/s (text)",
        "stored MB",
        "worker CPU s",
        "peak RSS MiB",
        "rclone RSS MiB",
    ];
    println!("| {} |", header.join(" | "));
    println!("|{}", "---|".repeat(header.len()));
    for r in rows {
        println!("| {} |", r.join(" | "));
    }
}
