//! Dumps over SSH (issue 17) against a real OpenSSH sshd on loopback (common/sshd.rs): the
//! tools of this machine are reached through SSH, so PostgreSQL (127.0.0.1:5432), MariaDB
//! (127.0.0.1:3306) and Redis run their dump on "the database's host". Checked: a backup over
//! SSH restores to equal data (PostgreSQL and MariaDB also restore over SSH), a wrong host key
//! is refused before authentication (no session in the sshd log), the password never shows
//! in any /proc/*/cmdline during a dump, and a connection cut mid-dump is a clean Failed.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cli::{mariadb, psql, rand_name};
use common::sshd::{Sshd, PASSPHRASE, USER};
use common::Worker;
use http::Method;
use serde_json::{json, Value};

const KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

/// The `ssh` object of a source/target: key auth, host key line pinned.
fn ssh(sshd: &Sshd) -> Value {
    json!({"host": "127.0.0.1", "port": sshd.port, "user": USER,
           "privateKey": sshd.client_key, "passphrase": PASSPHRASE, "hostKey": sshd.host_key})
}

async fn backup(w: &Worker, source: Value, dir: &std::path::Path) -> Value {
    w.run_task(
        "/v1/backups",
        json!({
            "source": source,
            "compression": "ZSTD",
            "encryption": {"keyHex": KEY_HEX},
            "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir}}],
            "jobName": "ssh",
        }),
    )
    .await
}

async fn restore(w: &Worker, object: &str, dir: &std::path::Path, target: Value) -> Value {
    w.run_task(
        "/v1/restores",
        json!({
            "source": {"storage": {"kind": "local", "path": dir}, "objectName": object},
            "encryption": {"keyHex": KEY_HEX},
            "target": target,
        }),
    )
    .await
}

/// Kills sshd's processes under a running task and checks it ends Failed naming the cause:
/// either the connection closed first or the remote tool's SIGKILL was reported over the channel
/// first (a race; both are clean). The task's error.
async fn cut_mid_task(w: &Worker, sshd: &mut Sshd, id: &str, tool: &str) -> String {
    sshd.kill_all();
    let task = w.wait_task(id).await;
    assert_eq!(task["status"], "failed", "{task}");
    let error = task["error"].as_str().unwrap().to_owned();
    let closed = format!(
        "SSH connection to 127.0.0.1:{} closed before the remote {tool} exited",
        sshd.port
    );
    let killed = format!("{tool} failed (signal KILL, over SSH)");
    assert!(
        error.contains(&closed) || error.contains(&killed),
        "{error}"
    );
    error
}

/// Every process command line on the machine, scanned until `done`; returns how many scans
/// ran and the command lines that contained `secret`.
fn scan_cmdlines(
    secret: String,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(u32, Vec<String>)> {
    std::thread::spawn(move || {
        let mut scans = 0;
        let mut leaks = Vec::new();
        while !done.load(Ordering::SeqCst) {
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                    let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                    if text.contains(&secret) {
                        leaks.push(text);
                    }
                }
            }
            scans += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        (scans, leaks)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_ssh_round_trip() {
    let sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = rand_name("sshsrc");
    let dst = rand_name("sshdst");
    psql("postgres", &format!("CREATE DATABASE {src}"));
    psql(
        &src,
        "CREATE TABLE t(id int primary key, s text); INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 5000) i;",
    );
    let source = json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                        "user": "postgres", "database": src, "ssh": ssh(&sshd)});
    // The probe runs psql on the SSH host too.
    let probe = w.probe(source.clone()).await;
    assert_eq!(probe.status.as_u16(), 200, "{}", probe.text);
    assert!(
        probe.json["majorVersion"].as_u64().unwrap_or(0) >= 10,
        "{}",
        probe.text
    );
    assert!(probe.text.contains(&src), "{}", probe.text);
    let task = backup(&w, source, dir.path()).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let object = task["result"]["objectName"].as_str().unwrap().to_owned();
    let log = std::fs::read_to_string(sshd.dir.path().join("sshd.log")).unwrap_or_default();
    assert!(
        log.contains(&format!("Accepted publickey for {USER}")),
        "{log}"
    );
    // Restored over SSH as well (pg_restore on the remote host reads the stream on stdin).
    let target = json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                        "user": "postgres", "database": dst, "ssh": ssh(&sshd)});
    let restored = restore(&w, &object, dir.path(), target).await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    assert_eq!(
        psql(&dst, "SELECT count(*), max(id), sum(length(s)) FROM t"),
        psql(&src, "SELECT count(*), max(id), sum(length(s)) FROM t")
    );
    assert_eq!(psql(&dst, "SELECT s FROM t WHERE id = 4321"), "row 4321");
    psql("postgres", &format!("DROP DATABASE {src}"));
    psql("postgres", &format!("DROP DATABASE {dst}"));
    w.stop().await.unwrap();
}

/// A wrong pinned host key: refused before authentication (sshd never accepts a login, so
/// neither the SSH credentials nor the database password were sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_host_key_is_refused_before_any_secret() {
    let sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut login = ssh(&sshd);
    login["hostKey"] = json!(sshd.other_key());
    let source = json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                        "user": "postgres", "password": "never-sent-pw", "database": "postgres",
                        "ssh": login});
    let task = backup(&w, source, dir.path()).await;
    assert_eq!(task["status"], "failed", "{task}");
    let error = task["error"].as_str().unwrap();
    assert!(error.contains("host key mismatch"), "{error}");
    assert!(!error.contains("never-sent-pw"), "{error}");
    let log = std::fs::read_to_string(sshd.dir.path().join("sshd.log")).unwrap_or_default();
    assert!(!log.contains("Accepted"), "sshd accepted a login:\n{log}");
    // A bad ssh object is a 400 naming the field.
    let r = w
        .call(
            Method::POST,
            "/v1/backups",
            Some(json!({
                "source": {"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                           "user": "postgres", "database": "postgres",
                           "ssh": {"host": "127.0.0.1", "user": USER, "password": "x", "hostKey": "garbage"}},
                "compression": "NONE",
                "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir.path()}}],
                "jobName": "ssh",
            })),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert!(r.text.contains("source.ssh.hostKey"), "{}", r.text);
    w.stop().await.unwrap();
}

/// A PostgreSQL role with a password: no command line on the machine shows it while the
/// dump runs over SSH; then the sshd and its sessions are killed mid-dump: a clean Failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hidden_and_cut_connection_fails_cleanly() {
    let mut sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = rand_name("sshbig");
    let role = rand_name("sshrole");
    let password = format!("Pw-{}-secret", rand_name("x"));
    psql(
        "postgres",
        &format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"),
    );
    psql("postgres", &format!("CREATE DATABASE {db} OWNER {role}"));
    psql(
        &db,
        &format!("CREATE TABLE big(id int, s text); INSERT INTO big SELECT i, md5(i::text) || md5((i+1)::text) FROM generate_series(1, 1500000) i; ALTER TABLE big OWNER TO {role};"),
    );
    let done = Arc::new(AtomicBool::new(false));
    let scanner = scan_cmdlines(password.clone(), done.clone());
    let id = w
        .start_task(
            "/v1/backups",
            json!({
                "source": {"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                           "user": role, "password": password, "database": db, "ssh": ssh(&sshd)},
                "compression": "NONE",
                "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir.path()}}],
                "jobName": "ssh",
            }),
        )
        .await;
    w.wait_bytes_in(&id, 8 * 1024 * 1024).await;
    done.store(true, Ordering::SeqCst);
    let (scans, leaks) = scanner.join().unwrap();
    assert!(scans > 0);
    assert!(leaks.is_empty(), "password in a command line: {leaks:?}");
    let error = cut_mid_task(&w, &mut sshd, &id, "pg_dump").await;
    assert!(!error.contains(&password), "{error}");
    eprintln!("cut mid-dump: {error} ({scans} cmdline scans)");
    psql("postgres", &format!("DROP DATABASE {db}"));
    psql("postgres", &format!("DROP ROLE {role}"));
    w.stop().await.unwrap();
}

/// Cancel during a dump over SSH: the task ends cancelled and the remote pg_dump goes away
/// (the worker closes the connection; sshd ends the session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_the_remote_dump() {
    let sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = rand_name("sshcancel");
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        &db,
        "CREATE TABLE big(id int, s text); INSERT INTO big SELECT i, md5(i::text) || md5((i+1)::text) FROM generate_series(1, 1000000) i;",
    );
    let id = w
        .start_task(
            "/v1/backups",
            json!({
                "source": {"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                           "user": "postgres", "database": db, "ssh": ssh(&sshd)},
                "compression": "NONE",
                "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir.path()}}],
                "jobName": "ssh",
            }),
        )
        .await;
    let remote_dumps = || -> usize {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                    let text = String::from_utf8_lossy(&c);
                    text.contains("pg_dump") && text.contains(&db) && !text.contains("sshd")
                })
            })
            .count()
    };
    let started = Instant::now();
    loop {
        let t = w.call(Method::GET, &format!("/v1/tasks/{id}"), None).await;
        assert_eq!(
            t.json["status"], "running",
            "finished before the cancel: {}",
            t.json
        );
        if t.json["bytesIn"].as_u64().unwrap_or(0) > 4 * 1024 * 1024 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{}", t.json);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(remote_dumps() >= 1, "pg_dump runs under the SSH session");
    let r = w
        .call(Method::POST, &format!("/v1/tasks/{id}/cancel"), None)
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.text);
    let task = w.wait_task(&id).await;
    assert_eq!(task["status"], "cancelled", "{task}");
    let started = Instant::now();
    while remote_dumps() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the remote pg_dump still runs 30 s after the cancel"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "remote pg_dump gone {:?} after the cancel",
        started.elapsed()
    );
    psql("postgres", &format!("DROP DATABASE {db}"));
    w.stop().await.unwrap();
}

/// By hand (`--run-ignored only`): the same PostgreSQL dump (~100 MiB, compression NONE,
/// encrypted) locally and over SSH; prints MiB/s of both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput measurement, by hand"]
async fn throughput_postgres_local_vs_ssh() {
    let sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = rand_name("sshtput");
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        &db,
        "CREATE TABLE big(id int, s text); INSERT INTO big SELECT i, md5(i::text) || md5((i+1)::text) FROM generate_series(1, 1500000) i;",
    );
    let mut line = String::new();
    for over_ssh in [false, true, false, true] {
        let mut source = json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                                "user": "postgres", "database": db});
        if over_ssh {
            source["ssh"] = ssh(&sshd);
        }
        let started = Instant::now();
        let task = w
            .run_task(
                "/v1/backups",
                json!({
                    "source": source,
                    "compression": "NONE",
                    "encryption": {"keyHex": KEY_HEX},
                    "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir.path()}}],
                    "jobName": "tput",
                }),
            )
            .await;
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(task["status"], "succeeded", "{task}");
        let bytes = task["result"]["bytesIn"]
            .as_u64()
            .or_else(|| task["bytesIn"].as_u64())
            .unwrap_or(0);
        let mib = bytes as f64 / 1048576.0;
        line.push_str(&format!(
            "{}: {mib:.0} MiB in {secs:.1} s = {:.0} MiB/s; ",
            if over_ssh { "ssh" } else { "local" },
            mib / secs
        ));
    }
    eprintln!("throughput: {line}");
    psql("postgres", &format!("DROP DATABASE {db}"));
    w.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_over_ssh_round_trip_with_password() {
    let sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = rand_name("sshsrc");
    let dst = rand_name("sshdst");
    let user = rand_name("sshu");
    let password = format!("Maria-{}-pw", rand_name("x"));
    mariadb(
        None,
        &format!(
            "CREATE DATABASE {src}; CREATE DATABASE {dst}; CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}'; GRANT ALL ON *.* TO '{user}'@'%'; GRANT ALL ON *.* TO '{user}'@'localhost';"
        ),
    );
    mariadb(
        Some(&src),
        "CREATE TABLE t(id INT PRIMARY KEY, s VARCHAR(50)); INSERT INTO t SELECT seq, CONCAT('row ', seq) FROM seq_1_to_3000;",
    );
    let done = Arc::new(AtomicBool::new(false));
    let scanner = scan_cmdlines(password.clone(), done.clone());
    let conn = |db: &str| {
        json!({"engine": "mariadb", "host": "127.0.0.1", "port": 3306, "user": user,
               "password": password, "database": db, "ssh": ssh(&sshd)})
    };
    let probe = w.probe(conn(&src)).await;
    assert_eq!(probe.status.as_u16(), 200, "{}", probe.text);
    assert!(probe.text.contains(&src), "{}", probe.text);
    let task = backup(&w, conn(&src), dir.path()).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let object = task["result"]["objectName"].as_str().unwrap().to_owned();
    let restored = restore(&w, &object, dir.path(), conn(&dst)).await;
    done.store(true, Ordering::SeqCst);
    let (_, leaks) = scanner.join().unwrap();
    assert_eq!(restored["status"], "succeeded", "{restored}");
    assert!(leaks.is_empty(), "password in a command line: {leaks:?}");
    assert_eq!(
        mariadb(
            Some(&dst),
            "SELECT COUNT(*), MAX(id), SUM(LENGTH(s)) FROM t"
        ),
        mariadb(
            Some(&src),
            "SELECT COUNT(*), MAX(id), SUM(LENGTH(s)) FROM t"
        )
    );
    mariadb(
        None,
        &format!("DROP DATABASE {src}; DROP DATABASE {dst}; DROP USER '{user}'@'%'; DROP USER '{user}'@'localhost';"),
    );
    w.stop().await.unwrap();
}

/// Redis: `redis-cli --rdb -` runs over SSH (with REDISCLI_AUTH sent on stdin); the RDB is
/// restored by placement here and a server started on it has the keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_over_ssh_dump_restores() {
    let sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let password = format!("Redis-{}-pw", rand_name("x"));
    let src = RedisServer::start(dir.path(), "src.rdb", Some(&password));
    for i in 0..300 {
        src.cli(&["SET", &format!("key:{i}"), &format!("value-{i}")]);
    }
    let source = json!({"engine": "redis", "host": "127.0.0.1", "port": src.port,
                        "password": password, "ssh": ssh(&sshd)});
    let probe = w.probe(source.clone()).await;
    assert_eq!(probe.status.as_u16(), 200, "{}", probe.text);
    assert!(
        probe.json["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{}",
        probe.text
    );
    let task = backup(&w, source, dir.path()).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let object = task["result"]["objectName"].as_str().unwrap().to_owned();
    let dst_dir = tempfile::tempdir().unwrap();
    let rdb = dst_dir.path().join("restored.rdb");
    let restored = restore(
        &w,
        &object,
        dir.path(),
        json!({"engine": "redis", "rdbPath": rdb}),
    )
    .await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    let dst = RedisServer::start(dst_dir.path(), "restored.rdb", None);
    assert_eq!(dst.cli(&["DBSIZE"]), "300");
    assert_eq!(dst.cli(&["GET", "key:123"]), "value-123");
    // A Redis target over SSH is refused (its restore places a file on the worker's host).
    let r = w
        .call(
            Method::POST,
            "/v1/restores",
            Some(json!({
                "source": {"storage": {"kind": "local", "path": dir.path()}, "objectName": object},
                "encryption": {"keyHex": KEY_HEX},
                "target": {"engine": "redis", "rdbPath": rdb, "ssh": ssh(&sshd)},
            })),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert!(r.text.contains("target.ssh"), "{}", r.text);
    w.stop().await.unwrap();
}

struct RedisServer {
    child: std::process::Child,
    port: u16,
    password: Option<String>,
}

impl RedisServer {
    fn start(dir: &std::path::Path, dbfilename: &str, password: Option<&str>) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = std::process::Command::new("redis-server");
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .args(["--dbfilename", dbfilename])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        if let Some(p) = password {
            cmd.args(["--requirepass", p]);
        }
        let server = RedisServer {
            child: cmd.spawn().unwrap(),
            port,
            password: password.map(str::to_owned),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            let out = std::process::Command::new("redis-cli")
                .args(["-p", &port.to_string(), "ping"])
                .envs(
                    server
                        .password
                        .as_ref()
                        .map(|p| ("REDISCLI_AUTH", p.clone())),
                )
                .output();
            if out.is_ok_and(|o| o.stdout.starts_with(b"PONG")) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not start");
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .envs(self.password.as_ref().map(|p| ("REDISCLI_AUTH", p.clone())))
            .output()
            .unwrap();
        assert!(out.status.success(), "redis-cli {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sqlite3` as root on `path` (the test's own view of the files on "the SSH host").
fn sqlite_dump_text(path: &std::path::Path) -> String {
    common::cli::sqlite(path, ".dump")
}

/// A directory under the SSH user's home, owned by it (the remote sqlite3 runs as that user).
fn remote_dir(sshd: &Sshd, name: &str) -> std::path::PathBuf {
    let dir = sshd.base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    chown_to_user(&sshd.base);
    dir
}

fn chown_to_user(path: &std::path::Path) {
    let ok = std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{USER}:{USER}"))
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "chown {}", path.display());
}

/// SQLite over SSH: the probe runs sqlite3 there; the dump is `sqlite3 .dump` streamed back
/// (SQL text, object `….sql…`); restored over SSH into a new file (sqlite3 executes the text
/// there, then the file is checked and swapped in) and once more onto it (safety copy kept);
/// a local backup (a database file) restored over SSH, and the SSH backup restored on this
/// machine: all equal by `.dump`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_over_ssh_round_trip() {
    let sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let remote = remote_dir(&sshd, "lite");
    let src = remote.join("app data.db");
    common::cli::sqlite(
        &src,
        "PRAGMA journal_mode=WAL;
         CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT NOT NULL, b BLOB);
         CREATE INDEX t_s ON t(s);
         CREATE VIEW v AS SELECT id FROM t WHERE id % 2 = 0;
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 5000)
         INSERT INTO t SELECT i, 'zeile ü ''' || i || char(10) || 'x', randomblob(100) FROM c;",
    );
    chown_to_user(&sshd.base);
    let expected = sqlite_dump_text(&src);
    let source = json!({"engine": "sqlite", "path": src, "ssh": ssh(&sshd)});
    let probe = w.probe(source.clone()).await;
    assert_eq!(probe.status.as_u16(), 200, "{}", probe.text);
    assert!(
        probe.json["version"]
            .as_str()
            .is_some_and(|v| v.starts_with('3')),
        "{}",
        probe.text
    );
    let task = backup(&w, source, dir.path()).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let object = task["result"]["objectName"].as_str().unwrap().to_owned();
    assert!(object.contains(".sql"), "{object}");
    let log = std::fs::read_to_string(sshd.dir.path().join("sshd.log")).unwrap_or_default();
    assert!(
        log.contains(&format!("Accepted publickey for {USER}")),
        "{log}"
    );

    // Over SSH into a new file, then onto it again (the first restore is the safety copy).
    let dst = remote.join("restored.db");
    let target = json!({"engine": "sqlite", "path": dst, "ssh": ssh(&sshd)});
    let restored = restore(&w, &object, dir.path(), target.clone()).await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    assert!(restored["result"]["safetyCopy"].is_null(), "{restored}");
    assert_eq!(sqlite_dump_text(&dst), expected);
    let again = restore(&w, &object, dir.path(), target.clone()).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    let safety = again["result"]["safetyCopy"].as_str().unwrap().to_owned();
    assert!(
        safety.starts_with(&format!("{}.bak-", dst.display())),
        "{safety}"
    );
    assert_eq!(sqlite_dump_text(std::path::Path::new(&safety)), expected);
    assert_eq!(sqlite_dump_text(&dst), expected);
    assert!(!remote.join("restored.db.dbackup-restore.partial").exists());

    // The SQL text restored on this machine (sqlite3 here executes it into the new file).
    let local_dir = tempfile::tempdir().unwrap();
    let local = local_dir.path().join("local.db");
    let restored = restore(
        &w,
        &object,
        dir.path(),
        json!({"engine": "sqlite", "path": local}),
    )
    .await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    assert_eq!(sqlite_dump_text(&local), expected);

    // A local backup (a database file, VACUUM INTO) restored over SSH (cat there, checked).
    let task = backup(&w, json!({"engine": "sqlite", "path": local}), dir.path()).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let file_object = task["result"]["objectName"].as_str().unwrap().to_owned();
    assert!(file_object.contains(".db"), "{file_object}");
    let from_file = remote.join("from-file.db");
    let restored = restore(
        &w,
        &file_object,
        dir.path(),
        json!({"engine": "sqlite", "path": from_file, "ssh": ssh(&sshd)}),
    )
    .await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    assert_eq!(sqlite_dump_text(&from_file), expected);

    // Into a directory missing on the SSH host: Failed naming it, nothing left behind.
    let missing = remote.join("no-such-dir").join("x.db");
    let failed = restore(
        &w,
        &object,
        dir.path(),
        json!({"engine": "sqlite", "path": missing, "ssh": ssh(&sshd)}),
    )
    .await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("does not exist"),
        "{failed}"
    );
    w.stop().await.unwrap();
}

/// SQLite over SSH: a wrong host key is refused before authentication; a connection cut
/// mid-dump is a clean Failed naming the remote sqlite3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_over_ssh_wrong_key_and_cut_connection() {
    let mut sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let remote = remote_dir(&sshd, "big");
    let src = remote.join("big.db");
    common::cli::big_db(&src, 48);
    chown_to_user(&sshd.base);
    let mut login = ssh(&sshd);
    login["hostKey"] = json!(sshd.other_key());
    let task = backup(
        &w,
        json!({"engine": "sqlite", "path": src, "ssh": login}),
        dir.path(),
    )
    .await;
    assert_eq!(task["status"], "failed", "{task}");
    assert!(
        task["error"]
            .as_str()
            .unwrap()
            .contains("host key mismatch"),
        "{task}"
    );
    let log = std::fs::read_to_string(sshd.dir.path().join("sshd.log")).unwrap_or_default();
    assert!(!log.contains("Accepted"), "sshd accepted a login:\n{log}");

    let id = w
        .start_task(
            "/v1/backups",
            json!({
                "source": {"engine": "sqlite", "path": src, "ssh": ssh(&sshd)},
                "compression": "NONE",
                "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir.path()}}],
                "jobName": "ssh",
            }),
        )
        .await;
    w.wait_bytes_in(&id, 8 * 1024 * 1024).await;
    let error = cut_mid_task(&w, &mut sshd, &id, "sqlite3").await;
    // No object that looks complete (local storage writes under a hidden partial name).
    let mut left = Vec::new();
    let mut dirs = vec![dir.path().to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                left.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    assert!(
        left.iter()
            .all(|n| n.starts_with('.') || !n.contains(".sql")),
        "{left:?}"
    );
    eprintln!("cut mid-dump: {error}; storage holds {left:?}");
    w.stop().await.unwrap();
}
