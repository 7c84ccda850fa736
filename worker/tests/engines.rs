//! Round trips against the real servers on this machine: PostgreSQL 15 (127.0.0.1:5432,
//! trust), MariaDB (127.0.0.1:3306, root without password), sqlite3, and private
//! redis-server instances. Every test uses randomly named databases and cleans up.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::cli::{config, mariadb, psql, rand_name, sh};
use dbackup_worker::format::{BackupKey, Compression};
use dbackup_worker::tasks::{self, BackupPlan, BackupRequest, RestorePlan, RestoreRequest};
use serde_json::{json, Value};

const ALL: [Compression; 4] = [
    Compression::None,
    Compression::Gzip,
    Compression::Zstd,
    Compression::Brotli,
];
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

struct Backup {
    base: tempfile::TempDir,
    result: Value,
}

impl Backup {
    fn object(&self) -> String {
        self.result["objectName"].as_str().unwrap().to_owned()
    }
    fn path(&self) -> PathBuf {
        self.base.path().join(self.object())
    }
}

fn backup(source: Value, compression: Compression, encrypted: bool) -> Result<Backup, String> {
    let base = tempfile::tempdir().unwrap();
    let mut req = json!({
        "executionId": "exec-1",
        "source": source,
        "compression": compression,
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}], "prefix": "tests", "jobName": "round trip",
    });
    if encrypted {
        req["encryption"] = json!({"keyHex": KEY_HEX});
    }
    let req: BackupRequest = serde_json::from_value(req).unwrap();
    let plan = BackupPlan::new(req).map_err(|e| e.to_string())?;
    let task = tasks::detached_task(tasks::TaskKind::Backup);
    let result =
        tasks::run_backup(&config(), &task, &plan).map(|r| serde_json::to_value(r).unwrap())?;
    Ok(Backup { base, result })
}

fn restore(b: &Backup, target: Value, key_hex: Option<&str>) -> Result<Value, String> {
    let mut req = json!({
        "source": {"storage": {"kind": "local", "path": b.base.path()}, "objectName": b.object()},
        "target": target,
    });
    if let Some(key) = key_hex {
        req["encryption"] = json!({"keyHex": key});
    }
    let req: RestoreRequest = serde_json::from_value(req).unwrap();
    let plan = RestorePlan::new(req).map_err(|e| e.to_string())?;
    let task = tasks::detached_task(tasks::TaskKind::Restore);
    tasks::run_restore(&config(), &task, &plan).map(|r| serde_json::to_value(r).unwrap())
}

fn check_meta(b: &Backup, engine: &str, compression: Compression, encrypted: bool) {
    let meta_path = b.base.path().join(b.result["metaName"].as_str().unwrap());
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(meta_path).unwrap()).unwrap();
    assert_eq!(meta["engine"], engine);
    assert_eq!(meta["compression"], json!(compression));
    assert_eq!(meta["sha256"], b.result["sha256"]);
    assert_eq!(
        meta["size"].as_u64(),
        Some(std::fs::metadata(b.path()).unwrap().len())
    );
    assert_eq!(meta["encryption"].is_object(), encrypted);
    if encrypted {
        let fp = BackupKey::from_hex(KEY_HEX).unwrap().fingerprint_hex();
        assert_eq!(meta["encryption"]["keyFingerprint"], fp);
        assert!(b.object().ends_with(".dbk"));
    }
    assert!(
        b.object().starts_with("tests/round_trip/"),
        "{}",
        b.object()
    );
    assert!(b.object().contains(compression.suffix()));
}

// ---------------------------------------------------------------- PostgreSQL

fn pg_create(db: &str, rows: u32) {
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        db,
        &format!(
            "CREATE TABLE t (id int PRIMARY KEY, name text, v numeric, ts timestamptz, j jsonb, b bytea);
             INSERT INTO t SELECT i, md5(i::text) || ' row ' || i, i * 1.5, '2024-01-01'::timestamptz + i * interval '1 minute',
               jsonb_build_object('i', i, 'tag', 'x' || (i % 7)), decode(md5(i::text), 'hex')
             FROM generate_series(1, {rows}) i;
             CREATE TABLE u (k text PRIMARY KEY, n bigint);
             INSERT INTO u SELECT 'k' || i, i * i FROM generate_series(1, 500) i;
             CREATE VIEW tv AS SELECT id, name FROM t WHERE id % 2 = 0;
             CREATE SEQUENCE s START 42;"
        ),
    );
}

fn pg_checksum(db: &str) -> String {
    psql(
        db,
        "SELECT (SELECT count(*) FROM t) || ':' || (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM t)
           || ':' || (SELECT md5(string_agg(u::text, ',' ORDER BY k)) FROM u)
           || ':' || (SELECT count(*) FROM tv) || ':' || (SELECT last_value FROM s);",
    )
}

fn pg_drop(db: &str) {
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
}

fn pg_exists(db: &str) -> bool {
    psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
    ) == "1"
}

fn pg_source(db: &str) -> Value {
    json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": db})
}

#[test]
fn postgres_round_trip_every_compression_plain_and_encrypted() {
    let src = rand_name("dbk_pg_src");
    pg_create(&src, 15_000);
    let expected = pg_checksum(&src);
    for compression in ALL {
        for encrypted in [false, true] {
            let b = backup(pg_source(&src), compression, encrypted).unwrap();
            check_meta(&b, "postgresql", compression, encrypted);
            // Restore into a new database under another name (rename).
            let dst = rand_name("dbk_pg_dst");
            let key = encrypted.then_some(KEY_HEX);
            let r = restore(&b, pg_source(&dst), key);
            let got = pg_checksum(&dst);
            pg_drop(&dst);
            r.unwrap();
            assert_eq!(got, expected, "{compression:?} encrypted={encrypted}");
        }
    }
    // Restoring again over an existing, modified database (--clean --if-exists).
    let b = backup(pg_source(&src), Compression::Zstd, false).unwrap();
    let dst = rand_name("dbk_pg_dst");
    psql("postgres", &format!("CREATE DATABASE {dst}"));
    restore(&b, pg_source(&dst), None).unwrap();
    psql(
        &dst,
        "DELETE FROM t WHERE id < 100; INSERT INTO u VALUES ('extra', 1);",
    );
    restore(&b, pg_source(&dst), None).unwrap();
    let got = pg_checksum(&dst);
    pg_drop(&dst);
    pg_drop(&src);
    assert_eq!(got, expected);
}

/// A restore user without CREATEDB: refused alone; with `privileged` credentials the
/// database is created by them, handed to the user, and pg_restore runs as the user.
#[test]
fn postgres_privileged_credentials_create_the_database() {
    let src = rand_name("dbk_pg_src");
    pg_create(&src, 1_000);
    let expected = pg_checksum(&src);
    let b = backup(pg_source(&src), Compression::Zstd, false).unwrap();
    pg_drop(&src);
    let user = rand_name("dbk_restorer");
    psql(
        "postgres",
        &format!("CREATE ROLE {user} LOGIN NOCREATEDB PASSWORD 'r-pw'"),
    );
    let dst = rand_name("dbk_pg_priv");
    let target = json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                        "user": user, "password": "r-pw", "database": dst});
    let run = |privileged: Option<Value>| {
        let mut req = json!({
            "source": {"storage": {"kind": "local", "path": b.base.path()}, "objectName": b.object()},
            "target": target,
        });
        if let Some(p) = privileged {
            req["privileged"] = p;
        }
        let req: RestoreRequest = serde_json::from_value(req).unwrap();
        let plan = RestorePlan::new(req).map_err(|e| e.to_string())?;
        tasks::run_restore(
            &config(),
            &tasks::detached_task(tasks::TaskKind::Restore),
            &plan,
        )
        .map(|r| serde_json::to_value(r).unwrap())
    };
    let err = run(None).unwrap_err();
    let created = run(Some(json!({"user": "postgres", "password": "admin-pw"})));
    let owner = psql(
        "postgres",
        &format!("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{dst}'"),
    );
    let got = if pg_exists(&dst) {
        pg_checksum(&dst)
    } else {
        String::new()
    };
    pg_drop(&dst);
    psql("postgres", &format!("DROP ROLE {user}"));
    assert!(
        err.contains("permission denied to create database"),
        "{err}"
    );
    created.unwrap();
    assert_eq!(owner, user);
    assert_eq!(got, expected);
}

/// Corruptions of an encrypted object fail in the verification pass: the target database
/// is never created, and the error names the cause.
#[test]
fn postgres_corruption_is_detected_before_the_target_is_touched() {
    let src = rand_name("dbk_pg_src");
    pg_create(&src, 40_000); // > 2 MiB of dump: at least three 1 MiB chunks with NONE
    let b = backup(pg_source(&src), Compression::None, true).unwrap();
    pg_drop(&src);
    let original = std::fs::read(b.path()).unwrap();
    assert!(original.len() > 3 << 20, "{}", original.len());
    let chunk = (1 << 20) + 16;
    let header = 32;

    let cases: Vec<(&str, Vec<u8>, Option<&str>, &str)> = vec![
        (
            "flip",
            {
                let mut d = original.clone();
                d[header + chunk + 1000] ^= 0x04;
                d
            },
            Some(KEY_HEX),
            "corrupt chunk 1",
        ),
        (
            "truncate",
            original[..header + 2 * chunk].to_vec(),
            Some(KEY_HEX),
            "truncated",
        ),
        (
            "swap",
            {
                let mut d = original.clone();
                let c0 = d[header..header + chunk].to_vec();
                d.copy_within(header + chunk..header + 2 * chunk, header);
                d[header + chunk..header + 2 * chunk].copy_from_slice(&c0);
                d
            },
            Some(KEY_HEX),
            "corrupt chunk 0",
        ),
        (
            "wrong key",
            original.clone(),
            Some("ff".repeat(32).leak()),
            "wrong key",
        ),
        (
            "no key",
            original.clone(),
            None,
            "encryption key is required",
        ),
    ];
    for (name, data, key, expected) in cases {
        std::fs::write(b.path(), &data).unwrap();
        let dst = rand_name("dbk_pg_bad");
        let err = restore(&b, pg_source(&dst), key).unwrap_err();
        let exists = pg_exists(&dst);
        pg_drop(&dst);
        assert!(err.contains(expected), "{name}: {err}");
        assert!(!exists, "{name}: the target database was created");
    }
    // The wrong checksum is refused too (plain objects rely on it and on compression CRCs).
    std::fs::write(b.path(), &original).unwrap();
    let dst = rand_name("dbk_pg_ok");
    restore(&b, pg_source(&dst), Some(KEY_HEX)).unwrap();
    pg_drop(&dst);
}

// ---------------------------------------------------------------- MariaDB

fn maria_create(db: &str, rows: u32) {
    mariadb(None, &format!("CREATE DATABASE `{db}`"));
    mariadb(
        Some(db),
        &format!(
            "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(100), v DECIMAL(12,2), b BLOB, d DATETIME) ENGINE=InnoDB;
             INSERT INTO t SELECT seq, CONCAT(MD5(seq), ' row ', seq), seq * 1.5, UNHEX(MD5(seq)), '2024-01-01' + INTERVAL seq MINUTE
               FROM seq_1_to_{rows};
             CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(50));
             CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW INSERT INTO audit (note) VALUES (CONCAT('new ', NEW.id));
             CREATE PROCEDURE p_count() SELECT COUNT(*) FROM t;"
        ),
    );
}

fn maria_checksum(db: &str) -> String {
    mariadb(
        Some(db),
        "SET SESSION group_concat_max_len = 1073741824;
         SELECT CONCAT((SELECT COUNT(*) FROM t), ':',
           (SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', id, name, v, HEX(b), d) ORDER BY id)) FROM t), ':',
           (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()), ':',
           (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()));",
    )
}

fn maria_drop(db: &str) {
    mariadb(None, &format!("DROP DATABASE IF EXISTS `{db}`"));
}

fn maria_source(db: &str) -> Value {
    json!({"engine": "mariadb", "host": "127.0.0.1", "port": 3306, "user": "root", "database": db})
}

#[test]
fn mariadb_round_trip_every_compression_plain_and_encrypted() {
    let src = rand_name("dbk_my_src");
    maria_create(&src, 15_000);
    let expected = maria_checksum(&src);
    assert!(expected.ends_with(":1:1"), "{expected}");
    for compression in ALL {
        for encrypted in [false, true] {
            let b = backup(maria_source(&src), compression, encrypted).unwrap();
            check_meta(&b, "mariadb", compression, encrypted);
            let dst = rand_name("dbk_my_dst");
            let r = restore(&b, maria_source(&dst), encrypted.then_some(KEY_HEX));
            let got = maria_checksum(&dst);
            maria_drop(&dst);
            r.unwrap();
            assert_eq!(got, expected, "{compression:?} encrypted={encrypted}");
        }
    }
    maria_drop(&src);
}

/// A password-protected MariaDB user: the password never appears in any process's argv
/// while the dump runs, and the private defaults file is gone afterwards.
#[test]
fn mariadb_password_never_in_argv() {
    let src = rand_name("dbk_my_pw");
    maria_create(&src, 30_000);
    let user = rand_name("dbkuser");
    let password = format!("pw-{}-S3cret", rand_name("x"));
    mariadb(
        None,
        &format!(
            "CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';
             GRANT ALL ON `{src}`.* TO '{user}'@'127.0.0.1';
             GRANT SELECT ON mysql.proc TO '{user}'@'127.0.0.1';"
        ),
    );
    let source = json!({"engine": "mariadb", "host": "127.0.0.1", "port": 3306, "user": user, "password": password, "database": src});
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let scanner = {
        let done = done.clone();
        let password = password.clone();
        std::thread::spawn(move || {
            let mut saw_dump = false;
            let mut leaks = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                        continue;
                    };
                    let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                    if text.contains("mariadb-dump") {
                        saw_dump = true;
                    }
                    if text.contains(&password) {
                        leaks.push(text);
                    }
                }
            }
            (saw_dump, leaks)
        })
    };
    let b = backup(source.clone(), Compression::Gzip, true);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (saw_dump, leaks) = scanner.join().unwrap();
    mariadb(None, &format!("DROP USER '{user}'@'127.0.0.1'"));
    maria_drop(&src);
    let b = b.unwrap();
    assert!(leaks.is_empty(), "password in argv: {leaks:?}");
    assert!(saw_dump, "the scan never saw mariadb-dump running");
    assert!(std::fs::metadata(b.path()).unwrap().len() > 0);
}

// ---------------------------------------------------------------- SQLite

fn sqlite_create(path: &Path, rows: u32) {
    sh(
        "sqlite3",
        &[path.to_str().unwrap()],
        &format!(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v REAL, b BLOB);
             WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {rows})
             INSERT INTO t SELECT i, 'row ' || i || ' ' || hex(randomblob(8)), i * 1.5, randomblob(16) FROM c;
             CREATE INDEX t_name ON t(name);
             PRAGMA user_version = 7;"
        ),
    );
}

fn sqlite_checksum(path: &Path) -> String {
    sh(
        "sqlite3",
        &[path.to_str().unwrap()],
        "SELECT count(*) || ':' || sum(length(name)) || ':' || sum(v) || ':' || hex(group_concat(hex(b), ''))
           FROM (SELECT * FROM t ORDER BY id);
         PRAGMA user_version;",
    )
    .lines()
    .map(|l| if l.len() > 64 { format!("{}", l.len()) + &l[l.len() - 64..] } else { l.to_owned() })
    .collect::<Vec<_>>()
    .join("/")
}

#[test]
fn sqlite_round_trip_every_compression_plain_and_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("app.db");
    sqlite_create(&src, 20_000);
    let expected = sqlite_checksum(&src);
    for compression in ALL {
        for encrypted in [false, true] {
            let b = backup(
                json!({"engine": "sqlite", "path": src}),
                compression,
                encrypted,
            )
            .unwrap();
            check_meta(&b, "sqlite", compression, encrypted);
            let dst = dir
                .path()
                .join(format!("restored-{compression:?}-{encrypted}.db"));
            let r = restore(
                &b,
                json!({"engine": "sqlite", "path": dst}),
                encrypted.then_some(KEY_HEX),
            )
            .unwrap();
            assert!(r["safetyCopy"].is_null());
            assert_eq!(
                sqlite_checksum(&dst),
                expected,
                "{compression:?} encrypted={encrypted}"
            );
        }
    }
    // Restoring over an existing file keeps a safety copy of it.
    let b = backup(
        json!({"engine": "sqlite", "path": src}),
        Compression::Zstd,
        false,
    )
    .unwrap();
    let dst = dir.path().join("existing.db");
    sqlite_create(&dst, 10);
    let before = sqlite_checksum(&dst);
    let r = restore(&b, json!({"engine": "sqlite", "path": dst}), None).unwrap();
    let safety = PathBuf::from(r["safetyCopy"].as_str().unwrap());
    assert_eq!(sqlite_checksum(&safety), before);
    assert_eq!(sqlite_checksum(&dst), expected);
    // A non-SQLite payload (a corrupted plain object is caught by zstd's checksum) leaves
    // the target alone.
    let mut data = std::fs::read(b.path()).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(b.path(), &data).unwrap();
    let err = restore(&b, json!({"engine": "sqlite", "path": dst}), None).unwrap_err();
    assert!(err.contains("verification failed"), "{err}");
    assert_eq!(sqlite_checksum(&dst), expected);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
}

// ---------------------------------------------------------------- Redis

struct RedisServer {
    child: std::process::Child,
    port: u16,
}

impl RedisServer {
    fn start(dir: &Path, dbfilename: &str) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Owned by the guard from here on, so every path kills and reaps it.
        let server = RedisServer { child, port };
        for _ in 0..200 {
            if Command::new("redis-cli")
                .args(["-p", &port.to_string(), "ping"])
                .output()
                .is_ok_and(|o| o.stdout.starts_with(b"PONG"))
            {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("redis-server did not start");
    }

    fn cli(&self, args: &[&str]) -> String {
        let port = self.port.to_string();
        let mut all = vec!["-p", &port];
        all.extend_from_slice(args);
        sh("redis-cli", &all, "")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn redis_backup_is_an_rdb_and_restores_by_placement() {
    let src_dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start(src_dir.path(), "dump.rdb");
    for i in 0..200 {
        server.cli(&["SET", &format!("key:{i}"), &format!("value-{i}")]);
    }
    server.cli(&["RPUSH", "list", "a", "b", "c"]);
    for (compression, encrypted) in [
        (Compression::None, false),
        (Compression::Zstd, true),
        (Compression::Brotli, false),
    ] {
        let source = json!({"engine": "redis", "host": "127.0.0.1", "port": server.port});
        let b = backup(source, compression, encrypted).unwrap();
        check_meta(&b, "redis", compression, encrypted);
        // The stored object decodes to an RDB file.
        let key = BackupKey::from_hex(KEY_HEX).unwrap();
        let file = std::fs::File::open(b.path()).unwrap();
        let (_, mut reader) = dbackup_worker::stream::open_restore_stream(
            file,
            encrypted.then_some(&key),
            compression,
        )
        .unwrap();
        let mut head = [0u8; 9];
        reader.read_exact(&mut head).unwrap();
        assert!(head.starts_with(b"REDIS00"), "{head:?}");

        // Restore = place the RDB where a stopped server loads it, then start that server.
        let dst_dir = tempfile::tempdir().unwrap();
        let rdb = dst_dir.path().join("restored.rdb");
        restore(
            &b,
            json!({"engine": "redis", "rdbPath": rdb, "maxRdbVersion": 10}),
            encrypted.then_some(KEY_HEX),
        )
        .unwrap();
        let restored = RedisServer::start(dst_dir.path(), "restored.rdb");
        assert_eq!(restored.cli(&["DBSIZE"]), "201");
        assert_eq!(restored.cli(&["GET", "key:117"]), "value-117");
        assert_eq!(restored.cli(&["LRANGE", "list", "0", "-1"]), "a\nb\nc");
        // A target that loads only older RDB versions is refused.
        let err = restore(
            &b,
            json!({"engine": "redis", "rdbPath": rdb, "maxRdbVersion": 9}),
            encrypted.then_some(KEY_HEX),
        )
        .unwrap_err();
        assert!(err.contains("RDB version"), "{err}");
    }
}
