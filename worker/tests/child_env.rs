//! The tools the worker starts get a cleared environment plus an allow-list, never the
//! worker's own: the `dbackup-worker` binary runs with `SPIN_VARIABLE_*` secrets and canary
//! variables in its environment, a PostgreSQL backup is held up by a table lock so that
//! `pg_dump` is certainly alive, and `/proc/<pg_dump>/environ` is read while it waits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_dbackup-worker");
const TOKEN: &str = "test-token-0123456789abcdef-0123456789";
const CANARY: &str = "canary-7d0c5e1f-must-not-leak";

/// Kills and reaps a child this test started, however the test ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn psql(db: &str, sql: &str) {
    let ok = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
        .args(["-U", "postgres", "-d", db, "-c", sql])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "psql {sql}");
}

/// One request on a fresh connection; the answer's status and JSON body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: worker\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

/// `(pid, comm)` of the children of `parent`.
fn children(parent: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …"; comm may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let ppid = stat[close + 1..].split_whitespace().nth(1);
        if ppid.and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            found.push((pid, stat[open + 1..close].to_owned()));
        }
    }
    found
}

#[test]
fn pg_dump_runs_without_the_workers_environment() {
    let suffix = hex::encode(dbackup_worker::format::random_bytes::<5>().unwrap());
    let db = format!("dbk_env_{suffix}");
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        &db,
        "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) i",
    );
    // pg_dump waits for this lock until the locker's stdin is closed (psql exits, the
    // transaction aborts).
    let mut locker = Command::new("psql")
        .args(["-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", &db])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    locker
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\n")
        .unwrap();
    let mut locker = Guard(locker);
    std::thread::sleep(Duration::from_millis(300));

    let base = tempfile::tempdir().unwrap();
    let mut worker = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .env("DBACKUP_WORKER_TOKEN", TOKEN)
        .env("DBACKUP_LOCAL_ROOTS", base.path())
        .env("SPIN_VARIABLE_ENCRYPTION_KEY", CANARY)
        .env("SPIN_VARIABLE_SESSION_SECRET", CANARY)
        .env("SESSION_SECRET", CANARY)
        .env("SOME_UNRELATED_CANARY", CANARY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(worker.stderr.take().unwrap());
    let worker = Guard(worker);
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let addr: SocketAddr = first.trim().rsplit(' ').next().unwrap().parse().unwrap();
    // Keep draining the worker's log so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));

    let (status, started) = http(
        addr,
        "POST",
        "/v1/backups",
        Some(&json!({
            "source": {"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                       "user": "postgres", "database": db},
            "compression": "GZIP",
            "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}],
            "jobName": "env",
        })),
    );
    assert_eq!(status, 202, "{started}");
    let task = started["taskId"].as_str().unwrap().to_owned();

    let deadline = Instant::now() + Duration::from_secs(30);
    let pg_dump = loop {
        // The dump itself (`pg_dump --version` runs first, to pick the tool set).
        let dump = children(worker.0.id()).into_iter().find(|(pid, comm)| {
            comm == "pg_dump"
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&db))
        });
        if let Some((pid, _)) = dump {
            break pid;
        }
        assert!(Instant::now() < deadline, "pg_dump never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    let environ = std::fs::read(format!("/proc/{pg_dump}/environ")).unwrap();
    let vars: Vec<String> = environ
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();

    drop(locker.0.stdin.take());
    let _ = locker.0.wait();
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let (_, t) = http(addr, "GET", &format!("/v1/tasks/{task}"), None);
        if t["status"] != "running" {
            break t;
        }
        assert!(Instant::now() < deadline, "the backup did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(worker);
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );

    let leaked: Vec<&String> = vars
        .iter()
        .filter(|v| v.starts_with("SPIN_VARIABLE_") || v.contains(CANARY))
        .collect();
    assert!(leaked.is_empty(), "pg_dump inherited {leaked:?}");
    assert!(
        !vars.iter().any(|v| v.starts_with("DBACKUP_")),
        "pg_dump inherited the worker's settings: {vars:?}"
    );
    // What the tool does get: PATH and the C locale from the allow-list, its own settings.
    assert!(vars.iter().any(|v| v.starts_with("PATH=")), "{vars:?}");
    assert!(vars.iter().any(|v| v == "LC_ALL=C"), "{vars:?}");
    assert!(
        vars.iter().any(|v| v == "PGAPPNAME=dbackup-worker"),
        "{vars:?}"
    );
    assert_eq!(finished["status"], "succeeded", "{finished}");
}
