//! No secret in any process's argv while a backup runs: `/proc/*/cmdline` is scanned in a
//! loop during PostgreSQL and Redis backups with passwords (MariaDB: engines.rs
//! `mariadb_password_never_in_argv`; MongoDB: the fake tools in tests/fixtures/fake-mongo
//! refuse a secret on argv). Each scan must also have seen the dump tool running.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::cli::config;
use dbackup_worker::format::Compression;
use dbackup_worker::tasks::{self, BackupPlan, BackupRequest};
use serde_json::{json, Value};

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn rand_name(prefix: &str) -> String {
    let bytes: [u8; 5] = dbackup_worker::format::random_bytes().unwrap();
    format!("{prefix}_{}", hex::encode(bytes))
}

/// Runs `backup` while scanning every process's argv for `secrets`; returns the backup's
/// outcome, whether `tool` was seen running, and the leaking command lines.
fn scan_during(
    tool: &'static str,
    secrets: Vec<String>,
    backup: impl FnOnce() -> Result<Value, String>,
) -> (Result<Value, String>, bool, Vec<String>) {
    let done = Arc::new(AtomicBool::new(false));
    let scanner = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut saw = false;
            let mut leaks = Vec::new();
            while !done.load(Ordering::SeqCst) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                        continue;
                    };
                    let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                    saw |= text.contains(tool);
                    if secrets.iter().any(|s| text.contains(s.as_str())) {
                        leaks.push(text);
                    }
                }
            }
            (saw, leaks)
        })
    };
    let result = backup();
    done.store(true, Ordering::SeqCst);
    let (saw, leaks) = scanner.join().unwrap();
    (result, saw, leaks)
}

fn run_backup(source: Value, base: &std::path::Path) -> Result<Value, String> {
    let req: BackupRequest = serde_json::from_value(json!({
        "source": source,
        "compression": Compression::Gzip,
        "encryption": {"keyHex": KEY_HEX},
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base}}],
        "jobName": "argv",
    }))
    .unwrap();
    let plan = BackupPlan::new(req).map_err(|e| e.to_string())?;
    tasks::run_backup(
        &config(),
        &tasks::detached_task(tasks::TaskKind::Backup),
        &plan,
    )
    .map(|r| serde_json::to_value(r).unwrap())
}

fn psql(db: &str, sql: &str) {
    let ok = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ])
        .args(["-d", db, "-c", sql])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "psql {sql}");
}

#[test]
fn postgres_password_never_in_argv() {
    let db = rand_name("dbk_argv");
    let user = rand_name("dbk_argv_user");
    let password = format!("pw-{}-S3cret", rand_name("x"));
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        "postgres",
        &format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'"),
    );
    psql(&db, &format!("CREATE TABLE t AS SELECT i, md5(i::text) AS m FROM generate_series(1, 50000) i; ALTER TABLE t OWNER TO {user}"));
    // Hold a lock for a while so pg_dump is certainly running during the scan.
    let mut locker = Command::new("psql")
        .args(["-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", &db])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let stdin = locker.stdin.as_mut().unwrap();
        stdin
            .write_all(
                b"BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(1.5); COMMIT;\n",
            )
            .unwrap();
        stdin.flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    let base = tempfile::tempdir().unwrap();
    let source = json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                        "user": user, "password": password, "database": db});
    let (result, saw, leaks) = scan_during("pg_dump", vec![password.clone()], || {
        run_backup(source, base.path())
    });
    drop(locker.stdin.take());
    let _ = locker.wait();
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    psql("postgres", &format!("DROP ROLE IF EXISTS {user}"));
    result.unwrap();
    assert!(leaks.is_empty(), "password in argv: {leaks:?}");
    assert!(saw, "the scan never saw pg_dump running");
}

struct Redis(std::process::Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn redis_password_never_in_argv() {
    let password = format!("pw-{}-S3cret", rand_name("r"));
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The password goes in through a config file on stdin, not this test's own argv.
    let mut child = Command::new("redis-server")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        write!(
            stdin,
            "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\nrequirepass {password}\n",
            dir.path().display()
        )
        .unwrap();
    }
    let _server = Redis(child);
    let cli = |args: &[&str]| {
        Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .env("REDISCLI_AUTH", &password)
            .output()
            .unwrap()
    };
    let mut up = false;
    for _ in 0..200 {
        if cli(&["ping"]).stdout.starts_with(b"PONG") {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(up, "redis-server did not start");
    // ~80 MB of values so the RDB transfer and GZIP take a moment.
    let out = cli(&[
        "EVAL",
        "for i=1,80 do redis.call('SET', 'k'..i, string.rep(string.format('%08d-', i), 110000)) end return 1",
        "0",
    ]);
    assert!(out.status.success());
    let base = tempfile::tempdir().unwrap();
    let source =
        json!({"engine": "redis", "host": "127.0.0.1", "port": port, "password": password});
    let (result, saw, leaks) = scan_during("redis-cli", vec![password.clone()], || {
        run_backup(source, base.path())
    });
    result.unwrap();
    assert!(leaks.is_empty(), "password in argv: {leaks:?}");
    assert!(saw, "the scan never saw redis-cli running");
}
