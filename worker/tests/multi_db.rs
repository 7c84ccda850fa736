//! Several databases per backup (a streamed TAR of per-database dumps + manifest.json)
//! against the machine's PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306): restore of
//! all, of a renamed subset (`databaseMapping`), GNU tar compatibility, corruption, and
//! mapping errors before the target is touched.

mod common;

use std::path::PathBuf;

use common::cli::{config, mariadb, psql, rand_name, sh};
use dbackup_worker::format::Compression;
use dbackup_worker::tasks::{self, BackupPlan, BackupRequest, RestorePlan, RestoreRequest};
use serde_json::{json, Value};

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

struct Backup {
    base: tempfile::TempDir,
    result: Value,
}

impl Backup {
    fn path(&self) -> PathBuf {
        self.base
            .path()
            .join(self.result["objectName"].as_str().unwrap())
    }
    fn meta(&self) -> Value {
        let path = self
            .base
            .path()
            .join(self.result["metaName"].as_str().unwrap());
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }
}

fn backup(source: Value, databases: &[&str], encrypted: bool) -> Result<Backup, String> {
    let base = tempfile::tempdir().unwrap();
    let mut req = json!({
        "source": source,
        "databases": databases,
        "compression": if encrypted { Compression::Zstd } else { Compression::None },
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}],
        "jobName": "multi",
    });
    if encrypted {
        req["encryption"] = json!({"keyHex": KEY_HEX});
    }
    let req: BackupRequest = serde_json::from_value(req).unwrap();
    let plan = BackupPlan::new(req).map_err(|e| e.to_string())?;
    let result = tasks::run_backup(
        &config(),
        &tasks::detached_task(tasks::TaskKind::Backup),
        &plan,
    )
    .map(|r| serde_json::to_value(r).unwrap())?;
    Ok(Backup { base, result })
}

fn restore(b: &Backup, target: Value, mapping: Option<Value>) -> Result<Value, String> {
    let mut req = json!({
        "source": {"storage": {"kind": "local", "path": b.base.path()},
                   "objectName": b.result["objectName"]},
        "target": target,
    });
    if b.result["objectName"].as_str().unwrap().ends_with(".dbk") {
        req["encryption"] = json!({"keyHex": KEY_HEX});
    }
    if let Some(m) = mapping {
        req["databaseMapping"] = m;
    }
    let req: RestoreRequest = serde_json::from_value(req).unwrap();
    let plan = RestorePlan::new(req).map_err(|e| e.to_string())?;
    tasks::run_restore(
        &config(),
        &tasks::detached_task(tasks::TaskKind::Restore),
        &plan,
    )
    .map(|r| serde_json::to_value(r).unwrap())
}

// ---------------------------------------------------------------- PostgreSQL

fn pg_create(db: &str, rows: u32) {
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        db,
        &format!(
            "CREATE TABLE t (id int PRIMARY KEY, name text, j jsonb, ts timestamptz);
             INSERT INTO t SELECT i, md5(i::text) || ' {db} ' || i, jsonb_build_object('i', i),
               '2024-01-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, {rows}) i;
             CREATE TABLE u (k text PRIMARY KEY, n bigint);
             INSERT INTO u SELECT 'k' || i, i * i FROM generate_series(1, 200) i;"
        ),
    );
}

fn pg_checksum(db: &str) -> String {
    psql(
        db,
        "SELECT 't=' || (SELECT count(*) FROM t) || ':' || (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM t)
           || ' u=' || (SELECT count(*) FROM u) || ':' || (SELECT md5(string_agg(u::text, ',' ORDER BY k)) FROM u);",
    )
}

fn pg_exists(db: &str) -> bool {
    psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
    ) == "1"
}

fn pg_drop(db: &str) {
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
}

fn pg_conn(db: Option<&str>) -> Value {
    let mut v =
        json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres"});
    if let Some(db) = db {
        v["database"] = json!(db);
    }
    v
}

#[test]
fn postgres_several_databases_round_trip_all_and_mapped_subset() {
    let names: Vec<String> = (0..3).map(|_| rand_name("dbk_multi")).collect();
    // The second is larger than one 4 MiB part, so its dump spans several tar entries.
    for (i, n) in names.iter().enumerate() {
        pg_create(n, if i == 1 { 60_000 } else { 2_000 });
    }
    let expected: Vec<String> = names.iter().map(|n| pg_checksum(n)).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();

    // Plain object: GNU tar lists it and the parts concatenate to a pg_dump archive.
    let plain = backup(pg_conn(None), &refs, false).unwrap();
    assert!(plain.path().to_string_lossy().ends_with(".tar"));
    let meta = plain.meta();
    assert_eq!(meta["databases"], json!(names));
    assert_eq!(meta["format"], "tar");
    assert!(meta["serverVersion"].as_str().unwrap().starts_with("15."));
    let unpacked = tempfile::tempdir().unwrap();
    let tar_path = plain.path();
    sh(
        "tar",
        &[
            "-xf",
            tar_path.to_str().unwrap(),
            "-C",
            unpacked.path().to_str().unwrap(),
        ],
        "",
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(unpacked.path().join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["engine"], "postgresql");
    assert!(manifest["entries"][1]["parts"].as_array().unwrap().len() >= 2);
    let dir = manifest["entries"][1]["dir"].as_str().unwrap();
    let listing = sh(
        "sh",
        &[
            "-c",
            &format!(
                "cat {}/{dir}/*.part | pg_restore -l | grep -c 'TABLE DATA'",
                unpacked.path().display()
            ),
        ],
        "",
    );
    assert_eq!(listing, "2");

    // Encrypted + ZSTD: restore a renamed subset.
    let enc = backup(pg_conn(None), &refs, true).unwrap();
    let copies: Vec<String> = names.iter().map(|n| format!("{n}_copy")).collect();
    let r = restore(
        &enc,
        pg_conn(None),
        Some(json!({&names[0]: &copies[0], &names[1]: &copies[1]})),
    )
    .unwrap();
    assert_eq!(r["databases"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(pg_checksum(&copies[0]), expected[0]);
    assert_eq!(pg_checksum(&copies[1]), expected[1]);
    assert!(!pg_exists(&copies[2]));

    // A mapping naming a database the backup lacks fails before anything is created.
    let err = restore(
        &enc,
        pg_conn(None),
        Some(json!({"nope": "nope_copy", &names[2]: &copies[2]})),
    )
    .unwrap_err();
    assert!(err.contains("no database \"nope\""), "{err}");
    assert!(!pg_exists(&copies[2]));

    // Drop the originals and restore everything under the original names.
    for n in &names {
        pg_drop(n);
    }
    restore(&plain, pg_conn(None), None).unwrap();
    for (n, e) in names.iter().zip(&expected) {
        assert_eq!(&pg_checksum(n), e, "{n}");
    }

    // A flipped byte inside a part (unencrypted object): caught by the manifest's SHA-256
    // in the verification pass, before any database is created.
    let mut bytes = std::fs::read(plain.path()).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(plain.path(), &bytes).unwrap();
    let err = restore(&plain, pg_conn(None), Some(json!({&names[2]: &copies[2]}))).unwrap_err();
    assert!(err.contains("verification failed"), "{err}");
    assert!(!pg_exists(&copies[2]));

    for n in names.iter().chain(&copies) {
        pg_drop(n);
    }
}

// ---------------------------------------------------------------- MariaDB

fn maria_create(db: &str, rows: u32) {
    mariadb(None, &format!("CREATE DATABASE `{db}`"));
    mariadb(
        Some(db),
        &format!(
            "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(100), b BLOB) ENGINE=InnoDB;
             INSERT INTO t SELECT seq, CONCAT(MD5(seq), ' {db} ', seq), UNHEX(MD5(seq)) FROM seq_1_to_{rows};
             CREATE PROCEDURE p_count() SELECT COUNT(*) FROM t;"
        ),
    );
}

fn maria_checksum(db: &str) -> String {
    mariadb(
        Some(db),
        "SET SESSION group_concat_max_len = 1073741824;
         SELECT CONCAT((SELECT COUNT(*) FROM t), ':',
           (SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', id, name, HEX(b)) ORDER BY id)) FROM t), ':',
           (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()));",
    )
}

fn maria_drop(db: &str) {
    mariadb(None, &format!("DROP DATABASE IF EXISTS `{db}`"));
}

fn maria_exists(db: &str) -> bool {
    mariadb(
        None,
        &format!("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db}'"),
    ) == "1"
}

fn maria_conn() -> Value {
    json!({"engine": "mariadb", "host": "127.0.0.1", "port": 3306, "user": "root"})
}

#[test]
fn mariadb_several_databases_round_trip_with_rename() {
    let names: Vec<String> = (0..2).map(|_| rand_name("dbk_mmulti")).collect();
    for n in &names {
        maria_create(n, 3_000);
    }
    let expected: Vec<String> = names.iter().map(|n| maria_checksum(n)).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let b = backup(maria_conn(), &refs, true).unwrap();
    assert_eq!(b.meta()["databases"], json!(names));

    // Renamed copies next to the originals: the dumps carry no database name, each is
    // replayed with its target selected (no SQL rewriting).
    let copies: Vec<String> = names.iter().map(|n| format!("{n}_c")).collect();
    restore(
        &b,
        maria_conn(),
        Some(json!({&names[0]: &copies[0], &names[1]: &copies[1]})),
    )
    .unwrap();
    for (c, e) in copies.iter().zip(&expected) {
        assert_eq!(&maria_checksum(c), e, "{c}");
    }
    // The originals are untouched and a subset restore creates only what it names.
    for (n, e) in names.iter().zip(&expected) {
        assert_eq!(&maria_checksum(n), e, "{n}");
    }
    maria_drop(&copies[1]);
    restore(&b, maria_conn(), Some(json!({&names[0]: &copies[0]}))).unwrap();
    assert!(!maria_exists(&copies[1]));

    // Several databases of SQLite are refused up front.
    let err = backup(
        json!({"engine": "sqlite", "path": "/tmp/x.db"}),
        &["a", "b"],
        false,
    )
    .err()
    .unwrap();
    assert!(err.contains("several databases"), "{err}");

    for n in names.iter().chain(&copies) {
        maria_drop(n);
    }
}
