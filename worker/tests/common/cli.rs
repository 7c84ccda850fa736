//! Shared helpers of the engine round-trip tests: a worker config, random names, and the
//! `psql` / `mariadb` command-line clients against the servers on this machine.

use std::process::{Command, Stdio};

use dbackup_worker::{Config, DEFAULT_PROBE_TIMEOUT};

pub fn config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: "test-token-0123456789abcdef-0123456789".into(),
        pg_bin_dirs: Vec::new(),
        probe_timeout: DEFAULT_PROBE_TIMEOUT,
        max_tasks: dbackup_worker::DEFAULT_MAX_TASKS,
        ca_file: None,
        local_roots: dbackup_worker::LocalRoots::new(vec![std::env::temp_dir()], None),
        pool: None,
    }
}

pub fn rand_name(prefix: &str) -> String {
    let bytes: [u8; 5] = dbackup_worker::format::random_bytes().unwrap();
    format!("{prefix}_{}", hex::encode(bytes))
}

pub fn sh(program: &str, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn psql(db: &str, sql: &str) -> String {
    sh(
        "psql",
        &[
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            db,
        ],
        sql,
    )
}

pub fn mariadb(db: Option<&str>, sql: &str) -> String {
    let mut args = vec![
        "--protocol=tcp",
        "-h127.0.0.1",
        "-P3306",
        "-uroot",
        "-N",
        "-B",
    ];
    if let Some(db) = db {
        args.push(db);
    }
    sh("mariadb", &args, sql)
}

/// Runs `sql` with the `sqlite3` command-line tool on the database file `path`; its output,
/// trimmed (panics with sqlite3's error when it fails).
pub fn sqlite(path: &std::path::Path, sql: &str) -> String {
    let out = Command::new("sqlite3").arg(path).arg(sql).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A SQLite database of `mib` MiB of random blobs (table `t(id, b)`); returns its [`digest`].
pub fn big_db(path: &std::path::Path, mib: u32) -> String {
    sqlite(
        path,
        &format!(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);
             WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < {mib})
             INSERT INTO t SELECT i, randomblob(1048576) FROM c;"
        ),
    );
    digest(path)
}

/// SHA-256 (hex) of the rows of table `t` of a [`big_db`] database, to compare a restore.
pub fn digest(path: &std::path::Path) -> String {
    use sha2::Digest;
    let out = Command::new("sqlite3")
        .arg(path)
        .arg("SELECT id, hex(b) FROM t ORDER BY id")
        .output()
        .unwrap();
    assert!(out.status.success());
    hex::encode(sha2::Sha256::digest(&out.stdout))
}
