//! Write-only (public-key) encryption through the worker's real backup and restore tasks
//! against the local PostgreSQL (issue 18 item 4): a backup sealed to an X25519 public key
//! (`encryption.keyKind = "public"`) is a version 2 container that the public key cannot open;
//! the private key (`keyKind = "private"`) restores it equal; a wrong private key is refused
//! before the target database exists; the private key is never on any process's argv or in
//! any child's environment while the restore runs.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::cli::{config, psql, rand_name};
use dbackup_worker::format::{BackupKey, Compression, FormatError, VERSION_PUBLIC};
use dbackup_worker::tasks::{self, BackupPlan, BackupRequest, RestorePlan, RestoreRequest};
use serde_json::{json, Value};

fn pg_source(db: &str) -> Value {
    json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres",
           "database": db})
}

fn checksum(db: &str) -> String {
    psql(
        db,
        "SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM t",
    )
}

fn exists(db: &str) -> bool {
    psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
    )
    .trim()
        == "1"
}

fn drop_db(db: &str) {
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
}

fn restore(
    base: &std::path::Path,
    object: &str,
    target: &str,
    key: Value,
) -> Result<Value, String> {
    let req: RestoreRequest = serde_json::from_value(json!({
        "source": {"storage": {"kind": "local", "path": base}, "objectName": object},
        "target": pg_source(target),
        "encryption": key,
    }))
    .unwrap();
    let plan = RestorePlan::new(req).map_err(|e| e.to_string())?;
    let task = tasks::detached_task(tasks::TaskKind::Restore);
    tasks::run_restore(&config(), &task, &plan).map(|r| serde_json::to_value(r).unwrap())
}

/// Scans every process's argv and environment for `secret` until `done`; returns the
/// leaking lines and whether `tool` was seen.
fn scanner(
    secret: String,
    tool: &'static str,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(bool, Vec<String>)> {
    std::thread::spawn(move || {
        let mut saw = false;
        let mut leaks = Vec::new();
        while !done.load(Ordering::SeqCst) {
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                for file in ["cmdline", "environ"] {
                    let Ok(bytes) = std::fs::read(entry.path().join(file)) else {
                        continue;
                    };
                    let text = String::from_utf8_lossy(&bytes).replace('\0', " ");
                    saw |= file == "cmdline" && text.contains(tool);
                    if text.contains(&secret) {
                        leaks.push(format!("{file}: {text}"));
                    }
                }
            }
        }
        (saw, leaks)
    })
}

#[test]
fn postgres_backup_to_a_public_key_restores_only_with_its_private_key() {
    let db = rand_name("dbk_pub");
    let target = format!("{db}_r");
    let wrong_target = format!("{db}_w");
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v text);
         INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 20000) i;",
    );
    let (public, private) = BackupKey::generate_pair().unwrap();
    let public_hex = public.public_hex().unwrap();
    let private_hex = private.secret_hex().unwrap();
    let base = tempfile::tempdir().unwrap();
    let req: BackupRequest = serde_json::from_value(json!({
        "source": pg_source(&db),
        "compression": Compression::Zstd,
        "encryption": {"keyHex": public_hex, "keyKind": "public"},
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}],
        "jobName": "public",
    }))
    .unwrap();
    let plan = BackupPlan::new(req).unwrap();
    let task = tasks::detached_task(tasks::TaskKind::Backup);
    let result = serde_json::to_value(tasks::run_backup(&config(), &task, &plan).unwrap()).unwrap();
    let object = result["objectName"].as_str().unwrap().to_owned();
    assert!(object.ends_with(".dump.zst.dbk"), "{object}");
    let stored = std::fs::read(base.path().join(&object)).unwrap();
    assert_eq!(&stored[..8], b"DBKENC01");
    assert_eq!(stored[8], VERSION_PUBLIC);
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(base.path().join(result["metaName"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(
        meta["encryption"]["keyFingerprint"],
        public.fingerprint_hex()
    );

    // The public key (all the server holds) opens nothing.
    let e = restore(
        base.path(),
        &object,
        &wrong_target,
        json!({"keyHex": public_hex, "keyKind": "public"}),
    )
    .unwrap_err();
    assert!(e.contains("only its private key opens it"), "{e}");
    // A wrong private key is refused from the header: the target database is never created.
    let (_, other) = BackupKey::generate_pair().unwrap();
    let e = restore(
        base.path(),
        &object,
        &wrong_target,
        json!({"keyHex": other.secret_hex().unwrap(), "keyKind": "private"}),
    )
    .unwrap_err();
    assert!(
        e.contains(
            &FormatError::WrongKey {
                expected: public.fingerprint_hex(),
                actual: other.fingerprint_hex()
            }
            .to_string()
        ),
        "{e}"
    );
    assert!(!exists(&wrong_target), "the target was touched");
    // A backup request carrying a private key is refused.
    let bad: BackupRequest = serde_json::from_value(json!({
        "source": pg_source(&db), "compression": Compression::None,
        "encryption": {"keyHex": private_hex, "keyKind": "private"},
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}],
        "jobName": "public",
    }))
    .unwrap();
    let e = BackupPlan::new(bad).err().unwrap().to_string();
    assert!(e.contains("encryption.keyKind"), "{e}");

    // The right private key restores it equal; meanwhile no argv or environment holds it.
    let done = Arc::new(AtomicBool::new(false));
    let scan = scanner(private_hex.clone(), "pg_restore", done.clone());
    let restored = restore(
        base.path(),
        &object,
        &target,
        json!({"keyHex": private_hex, "keyKind": "private",
               "keyFingerprint": public.fingerprint_hex()}),
    );
    done.store(true, Ordering::SeqCst);
    let (saw, leaks) = scan.join().unwrap();
    let equal = restored.is_ok() && checksum(&db) == checksum(&target);
    drop_db(&db);
    drop_db(&target);
    drop_db(&wrong_target);
    restored.unwrap();
    assert!(equal, "restored data differs");
    assert!(leaks.is_empty(), "private key leaked: {leaks:?}");
    assert!(saw, "the scan never saw pg_restore running");
}
