//! The task API over HTTP: backup → status → restore, validation, cancel.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::cli::sqlite;
use common::Worker;
use http::{Method, StatusCode};
use serde_json::{json, Value};

const KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

#[tokio::test]
async fn backup_then_restore_over_http() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    sqlite(&db, "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 5000) INSERT INTO t SELECT i, 'item ' || i FROM c;");
    let base = dir.path().join("backups");
    let fp = dbackup_worker::format::BackupKey::from_hex(KEY_HEX)
        .unwrap()
        .fingerprint_hex();
    let r = w.call(Method::POST,
            "/v1/backups",
            Some(json!({
                "executionId": "exec-42",
                "source": {"engine": "sqlite", "path": db},
                "compression": "ZSTD",
                "compressionLevel": 5,
                "encryption": {"keyHex": KEY_HEX, "keyFingerprint": fp},
                "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base}}], "prefix": "acme", "jobName": "nightly",
                "timestamp": "2026-11-27T03-00-00Z",
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let id = r.json["taskId"].as_str().unwrap().to_owned();
    let task = w.wait_task(&id).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["executionId"], "exec-42");
    let object = task["result"]["objectName"].as_str().unwrap();
    assert_eq!(object, "acme/nightly/2026-11-27T03-00-00Z_shop.db.zst.dbk");
    assert!(task["bytesOut"].as_u64().unwrap() > 0);
    let meta: Value =
        serde_json::from_slice(&std::fs::read(base.join(format!("{object}.meta.json"))).unwrap())
            .unwrap();
    assert_eq!(meta["encryption"]["keyFingerprint"], fp);
    assert_eq!(meta["sha256"], task["result"]["sha256"]);
    // The sidecar is not needed for the restore.
    std::fs::remove_file(base.join(format!("{object}.meta.json"))).unwrap();

    let target = dir.path().join("restored.db");
    let task = w
        .run_task(
            "/v1/restores",
            json!({
                "source": {"storage": {"kind": "local", "path": base}, "objectName": object},
                "encryption": {"keyHex": KEY_HEX},
                "target": {"engine": "sqlite", "path": target},
                "expectedSha256": task["result"]["sha256"],
            }),
        )
        .await;
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(
        sqlite(&target, "SELECT count(*), max(s) FROM t"),
        "5000|item 999"
    );

    // A wrong expected checksum fails before the target is touched.
    let task = w
        .run_task(
            "/v1/restores",
            json!({
                "source": {"storage": {"kind": "local", "path": base}, "objectName": object},
                "encryption": {"keyHex": KEY_HEX},
                "target": {"engine": "sqlite", "path": dir.path().join("never.db")},
                "expectedSha256": "00".repeat(32),
            }),
        )
        .await;
    assert_eq!(task["status"], "failed");
    assert!(
        task["error"]
            .as_str()
            .unwrap()
            .contains("checksum mismatch"),
        "{task}"
    );
    assert!(!dir.path().join("never.db").exists());
    w.stop().await.unwrap();
}

#[tokio::test]
async fn invalid_requests_are_400() {
    let w = Worker::start().await;
    let cases = [
        json!({"source": {"engine": "sqlite", "path": "/x.db"}, "compression": "LZ4",
               "destinations": [{"id": "d1", "storage": {"kind": "local", "path": "/tmp"}}], "jobName": "j"}),
        json!({"source": {"engine": "sqlite", "path": "/x.db"}, "compression": "ZSTD", "compressionLevel": 40,
               "destinations": [{"id": "d1", "storage": {"kind": "local", "path": "/tmp"}}], "jobName": "j"}),
        json!({"source": {"engine": "sqlite", "path": "/x.db"}, "compression": "NONE",
               "encryption": {"keyHex": "abcd"},
               "destinations": [{"id": "d1", "storage": {"kind": "local", "path": "/tmp"}}], "jobName": "j"}),
        json!({"source": {"engine": "sqlite", "path": "/x.db"}, "compression": "NONE",
               "encryption": {"keyHex": KEY_HEX, "keyFingerprint": "0000000000000000"},
               "destinations": [{"id": "d1", "storage": {"kind": "local", "path": "/tmp"}}], "jobName": "j"}),
        json!({"source": {"engine": "sqlite", "path": "/x.db"}, "compression": "NONE",
               "destinations": [{"id": "d1", "storage": {"kind": "s3", "path": "/tmp"}}], "jobName": "j"}),
        json!({"source": {"engine": "postgresql", "host": "h", "port": 5432, "user": "u", "database": "host=evil"},
               "compression": "NONE", "destinations": [{"id": "d1", "storage": {"kind": "local", "path": "/tmp"}}], "jobName": "j"}),
        json!({"source": {"engine": "sqlite", "path": "/x.db"}, "compression": "NONE", "extra": 1,
               "destinations": [{"id": "d1", "storage": {"kind": "local", "path": "/tmp"}}], "jobName": "j"}),
    ];
    for body in cases {
        let r = w
            .call(Method::POST, "/v1/backups", Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body} → {}", r.json);
    }
    let r = w.call(Method::POST,
        "/v1/restores",
        Some(
            json!({"source": {"storage": {"kind": "local", "path": "/tmp"}, "objectName": "../etc/passwd"},
                        "target": {"engine": "sqlite", "path": "/tmp/x.db"}}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let r = w.call(Method::GET, "/v1/tasks/nope", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    w.stop().await.unwrap();
}

fn psql(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            db,
            "-c",
            sql,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn pg_dump_running_for(db: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
            let text = String::from_utf8_lossy(&c);
            text.contains("pg_dump") && text.contains(db)
        })
    })
}

/// pg_dump blocks on a table lock held by another session; cancel kills it, and neither
/// the object nor its `.partial` remains.
#[tokio::test]
async fn cancel_mid_dump_kills_the_child_and_leaves_nothing() {
    let w = Worker::start().await;
    let bytes: [u8; 5] = dbackup_worker::format::random_bytes().unwrap();
    let db = format!("dbk_cancel_{}", hex::encode(bytes));
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        &db,
        "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) i",
    );
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
            .write_all(b"BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\n")
            .unwrap();
        stdin.flush().unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = tempfile::tempdir().unwrap();
    let r = w.call(Method::POST,
            "/v1/backups",
            Some(json!({
                "source": {"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": db},
                "compression": "GZIP",
                "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}], "jobName": "j",
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let id = r.json["taskId"].as_str().unwrap().to_owned();
    let mut seen = false;
    for _ in 0..100 {
        if pg_dump_running_for(&db) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = w
        .call(Method::POST, &format!("/v1/tasks/{id}/cancel"), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let task = w.wait_task(&id).await;
    let still_running = pg_dump_running_for(&db);
    let files: Vec<_> = walk(base.path());
    let _ = locker.kill();
    let _ = locker.wait();
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    assert!(seen, "pg_dump never started");
    assert_eq!(task["status"], "cancelled", "{task}");
    assert!(!still_running, "pg_dump survived the cancel");
    assert!(files.is_empty(), "left behind: {files:?}");
    w.stop().await.unwrap();
}

/// `DBACKUP_WORKER_MAX_TASKS` = 1: a second task while one runs is 429, naming the limit;
/// once the first is done, a new one is accepted.
#[tokio::test]
async fn concurrency_limit_answers_429_when_full() {
    let w = Worker::start_with_max_tasks(1).await;
    let bytes: [u8; 5] = dbackup_worker::format::random_bytes().unwrap();
    let db = format!("dbk_limit_{}", hex::encode(bytes));
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        &db,
        "CREATE TABLE t AS SELECT i FROM generate_series(1, 100) i",
    );
    // A held lock keeps the first backup's pg_dump waiting.
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
            .write_all(b"BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\n")
            .unwrap();
        stdin.flush().unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = tempfile::tempdir().unwrap();
    let body = json!({
        "source": {"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": db},
        "compression": "NONE",
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}], "jobName": "j",
    });
    let first = w
        .call(Method::POST, "/v1/backups", Some(body.clone()))
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.json);
    let second = w
        .call(Method::POST, "/v1/backups", Some(body.clone()))
        .await;
    let _ = locker.kill();
    let _ = locker.wait();
    assert_eq!(
        second.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        second.json
    );
    assert_eq!(second.json["error"], "too many tasks");
    let details = second.json["details"].as_str().unwrap();
    assert!(
        details.contains("at most 1") && details.contains("DBACKUP_WORKER_MAX_TASKS"),
        "{details}"
    );
    let done = w.wait_task(first.json["taskId"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // Another job name: object names carry the time to the second, and the first backup may
    // have finished within the same second.
    let mut body = body;
    body["jobName"] = json!("j-again");
    let third = w.call(Method::POST, "/v1/backups", Some(body)).await;
    assert_eq!(third.status, StatusCode::ACCEPTED, "{}", third.json);
    let done = w.wait_task(third.json["taskId"].as_str().unwrap()).await;
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    assert_eq!(done["status"], "succeeded", "{done}");
    w.stop().await.unwrap();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Three destinations, one of which cannot be created: the two others get identical
/// objects and sidecars, the task is `partial` and names the failed destination.
#[tokio::test]
async fn fan_out_with_one_failing_destination_is_partial() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    sqlite(&db, "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 3000) INSERT INTO t SELECT i, 'v' || i FROM c;");
    std::fs::write(dir.path().join("a-file"), "not a directory").unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let r = w.call(Method::POST, "/v1/backups", Some(json!({
        "source": {"engine": "sqlite", "path": db},
        "compression": "ZSTD",
        "destinations": [
            {"id": "a", "storage": {"kind": "local", "path": a}},
            {"id": "broken", "storage": {"kind": "local", "path": dir.path().join("a-file/sub")}},
            {"id": "b", "storage": {"kind": "local", "path": b}},
        ],
        "jobName": "j",
        "meta": {"k": "v"},
    }))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let task = w.wait_task(r.json["taskId"].as_str().unwrap()).await;
    assert_eq!(task["status"], "partial", "{task}");
    let result = &task["result"];
    let object = result["objectName"].as_str().unwrap();
    let dests = result["destinations"].as_array().unwrap();
    assert_eq!(dests.len(), 3);
    assert_eq!(
        (dests[0]["id"].as_str(), dests[0]["ok"].as_bool()),
        (Some("a"), Some(true))
    );
    assert_eq!(
        (dests[1]["id"].as_str(), dests[1]["ok"].as_bool()),
        (Some("broken"), Some(false))
    );
    assert!(
        dests[1]["error"].as_str().unwrap().starts_with("storage: "),
        "{task}"
    );
    assert_eq!(dests[2]["ok"], true);
    assert_eq!(dests[2]["path"], json!(b.join(object)));
    let (copy_a, copy_b) = (
        std::fs::read(a.join(object)).unwrap(),
        std::fs::read(b.join(object)).unwrap(),
    );
    assert!(copy_a == copy_b);
    for base in [&a, &b] {
        let meta: Value = serde_json::from_slice(
            &std::fs::read(base.join(format!("{object}.meta.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["meta"], json!({"k": "v"}));
        assert_eq!(meta["sha256"], result["sha256"]);
    }

    // Every destination failing fails the task.
    let r = w.call(Method::POST, "/v1/backups", Some(json!({
        "source": {"engine": "sqlite", "path": db},
        "compression": "NONE",
        "destinations": [{"id": "broken", "storage": {"kind": "local", "path": dir.path().join("a-file/x")}}],
        "jobName": "j",
    }))).await;
    let task = w.wait_task(r.json["taskId"].as_str().unwrap()).await;
    assert_eq!(task["status"], "failed", "{task}");
    assert!(
        task["error"]
            .as_str()
            .unwrap()
            .contains("every destination failed"),
        "{task}"
    );

    // Duplicate ids and an empty list are 400.
    for destinations in [
        json!([]),
        json!([{"id": "x", "storage": {"kind": "local", "path": a}}, {"id": "x", "storage": {"kind": "local", "path": b}}]),
    ] {
        let r = w
            .call(
                Method::POST,
                "/v1/backups",
                Some(json!({
            "source": {"engine": "sqlite", "path": db}, "compression": "NONE",
            "destinations": destinations, "jobName": "j"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    }
    w.stop().await.unwrap();
}

/// Two backups of one job in the same second (same timestamp): the second gets a unique name
/// with a suffix from its execution id; nothing is overwritten, both restore. Two started at
/// once (one of them still writing when the other opens) also end under distinct names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_second_backups_get_unique_names() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    sqlite(&db, "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 3000) INSERT INTO t SELECT i, 'item ' || i FROM c;");
    let base = dir.path().join("backups");
    let body = |execution: Option<&str>| {
        let mut body = json!({
            "source": {"engine": "sqlite", "path": db},
            "compression": "GZIP",
            "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base}}],
            "jobName": "nightly",
            "timestamp": "2026-11-27T04-00-00Z",
        });
        if let Some(e) = execution {
            body["executionId"] = json!(e);
        }
        body
    };
    let mut names = Vec::new();
    for execution in ["Exec-0001-aaaa", "Exec-0002-bbbb"] {
        let r = w
            .call(Method::POST, "/v1/backups", Some(body(Some(execution))))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        let task = w.wait_task(r.json["taskId"].as_str().unwrap()).await;
        assert_eq!(task["status"], "succeeded", "{task}");
        names.push(task["result"]["objectName"].as_str().unwrap().to_owned());
    }
    assert_eq!(names[0], "nightly/2026-11-27T04-00-00Z_shop.db.gz");
    assert_eq!(names[1], "nightly/2026-11-27T04-00-00Z_shop-exec0002.db.gz");
    let meta: Value = serde_json::from_slice(
        &std::fs::read(base.join(format!("{}.meta.json", names[1]))).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["objectName"], names[1].as_str());

    // Two at once, no execution id: both succeed under distinct names (task-id suffixes).
    let (a, b) = tokio::join!(
        w.call(Method::POST, "/v1/backups", Some(body(None))),
        w.call(Method::POST, "/v1/backups", Some(body(None))),
    );
    for r in [&a, &b] {
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    }
    let ta = w.wait_task(a.json["taskId"].as_str().unwrap()).await;
    let tb = w.wait_task(b.json["taskId"].as_str().unwrap()).await;
    assert_eq!(ta["status"], "succeeded", "{ta}");
    assert_eq!(tb["status"], "succeeded", "{tb}");
    for t in [&ta, &tb] {
        names.push(t["result"]["objectName"].as_str().unwrap().to_owned());
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{names:?}");

    // Every object is intact and restorable.
    for (i, name) in names.iter().enumerate() {
        let target = dir.path().join(format!("restored-{i}.db"));
        let task = w
            .run_task(
                "/v1/restores",
                json!({
                    "source": {"storage": {"kind": "local", "path": base}, "objectName": name},
                    "target": {"engine": "sqlite", "path": target},
                }),
            )
            .await;
        assert_eq!(task["status"], "succeeded", "{name}: {task}");
        assert_eq!(sqlite(&target, "SELECT count(*) FROM t"), "3000");
    }
    w.stop().await.unwrap();
}
