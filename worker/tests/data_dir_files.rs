//! Database files the worker reads or writes — a SQLite source or restore target, a
//! Redis/Valkey `rdbPath` — never lie in the worker's data directory (the app's own
//! `dbackup.db` with password hashes and sealed secrets, `secrets.env`, the local backups),
//! not through a symlink or `..` either: backups, restores and probes answer 400 naming the
//! field, nothing is read into storage and nothing in the data directory is written.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Worker, TOKEN};
use http::StatusCode;
use serde_json::{json, Value};

struct Setup {
    root: tempfile::TempDir,
    outside: tempfile::TempDir,
    data: tempfile::TempDir,
    w: Worker,
}

async fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir(data.path().join("backups")).unwrap();
    sqlite(
        &data.path().join("dbackup.db"),
        "CREATE TABLE user(hash TEXT); INSERT INTO user VALUES ('argon2-secret');",
    );
    std::fs::write(data.path().join("secrets.env"), "ENCRYPTION_KEY=canary\n").unwrap();
    std::fs::write(data.path().join("dump.rdb"), "REDIS0011 original").unwrap();
    let w = Worker::start_with_roots(
        vec![root.path().to_owned(), data.path().join("backups")],
        Some(data.path().to_owned()),
    )
    .await;
    Setup {
        root,
        outside,
        data,
        w,
    }
}

fn sqlite(path: &Path, sql: &str) {
    let ok = Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .status()
        .expect("sqlite3 runs")
        .success();
    assert!(ok, "sqlite3 {sql}");
}

async fn post(w: &Worker, path: &str, body: Value) -> common::Reply {
    w.post(path, Some(TOKEN), &body.to_string()).await
}

/// 400 whose details name `field`.
fn refused(r: &common::Reply, field: &str, what: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
    let details = r.json["details"].as_str().unwrap_or_default();
    assert!(
        details.starts_with(&format!("{field}: ")),
        "{what}: {details}"
    );
    // A dangling symlink (to a file not there yet) cannot be checked, so it is refused too.
    assert!(
        details.contains("data directory") || details.contains("cannot be resolved"),
        "{what}: {details}"
    );
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The paths into the data directory a request might name: directly, through a symlink to
/// the file, through a symlinked directory, and with `..`.
fn into_the_data_dir(s: &Setup, file: &str) -> Vec<(String, PathBuf)> {
    let link = s.outside.path().join(format!("link-{file}"));
    if !link.exists() {
        std::os::unix::fs::symlink(s.data.path().join(file), &link).unwrap();
    }
    let dir_link = s.outside.path().join("data-link");
    if !dir_link.exists() {
        std::os::unix::fs::symlink(s.data.path(), &dir_link).unwrap();
    }
    let dotdot = s
        .outside
        .path()
        .join("..")
        .join(s.data.path().file_name().unwrap())
        .join(file);
    vec![
        ("the data directory's file".into(), s.data.path().join(file)),
        ("a symlink to it".into(), link),
        ("below a symlinked directory".into(), dir_link.join(file)),
        ("..".into(), dotdot),
        (
            "the backups folder".into(),
            s.data.path().join("backups").join(file),
        ),
    ]
}

#[tokio::test]
async fn a_sqlite_source_in_the_data_directory_is_refused() {
    let s = setup().await;
    let dest = s.root.path().join("store");
    for file in ["dbackup.db", "secrets.env"] {
        for (what, path) in into_the_data_dir(&s, file) {
            let what = format!("{file}: {what}");
            let r = post(
                &s.w,
                "/v1/backups",
                json!({"source": {"engine": "sqlite", "path": path}, "compression": "NONE",
                       "destinations": [{"id": "d", "storage": {"kind": "local", "path": dest}}],
                       "jobName": "j"}),
            )
            .await;
            refused(&r, "source.path", &format!("backup {what}"));
            let r = s.w.probe(json!({"engine": "sqlite", "path": path})).await;
            refused(&r, "path", &format!("probe {what}"));
            // What the app asks before saving a SQLite source adapter.
            let r = post(
                &s.w,
                "/v1/storage/check",
                json!({"source": {"engine": "sqlite", "path": path}}),
            )
            .await;
            refused(&r, "source.path", &format!("check {what}"));
        }
    }
    assert!(
        files_below(&dest).is_empty(),
        "nothing was backed up: {:?}",
        files_below(&dest)
    );

    // A SQLite file anywhere else still backs up.
    let app = s.outside.path().join("app.db");
    sqlite(&app, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    let r = post(
        &s.w,
        "/v1/storage/check",
        json!({"source": {"engine": "sqlite", "path": app}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for both_or_none in [
        json!({}),
        json!({"storage": {"kind": "local", "path": dest}, "source": {"engine": "sqlite", "path": app}}),
    ] {
        let r = post(&s.w, "/v1/storage/check", both_or_none).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    }
    let r = post(
        &s.w,
        "/v1/backups",
        json!({"source": {"engine": "sqlite", "path": app}, "compression": "NONE",
               "destinations": [{"id": "d", "storage": {"kind": "local", "path": dest}}],
               "jobName": "j"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let done = s.w.wait_task(r.json["taskId"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

/// The data directory's files and their bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = files_below(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Storage holding a valid SQLite backup and an RDB (what someone with bucket access could
/// put there).
fn planted_storage(s: &Setup) -> Value {
    let store = s.root.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    sqlite(
        &store.join("evil.db"),
        "CREATE TABLE user(hash TEXT); INSERT INTO user VALUES ('attacker');",
    );
    std::fs::write(store.join("evil.rdb"), b"REDIS0009\xff").unwrap();
    json!({"kind": "local", "path": store})
}

#[tokio::test]
async fn a_sqlite_restore_never_writes_into_the_data_directory() {
    let s = setup().await;
    let storage = planted_storage(&s);
    let before = snapshot(s.data.path());
    for file in ["dbackup.db", "secrets.env", "new.db"] {
        for (what, path) in into_the_data_dir(&s, file) {
            let what = format!("{file}: {what}");
            let r = post(
                &s.w,
                "/v1/restores",
                json!({"source": {"storage": storage, "objectName": "evil.db"},
                       "target": {"engine": "sqlite", "path": path}}),
            )
            .await;
            refused(&r, "target.path", &format!("sqlite restore onto {what}"));
        }
    }
    // Give a wrongly accepted task time to write, then compare.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        before,
        snapshot(s.data.path()),
        "the data directory is unchanged"
    );
}

#[tokio::test]
async fn a_redis_rdb_path_in_the_data_directory_is_refused() {
    let s = setup().await;
    let storage = planted_storage(&s);
    let before = snapshot(s.data.path());
    for file in ["dump.rdb", "dbackup.db", "secrets.env"] {
        for (what, path) in into_the_data_dir(&s, file) {
            let what = format!("{file}: {what}");
            for engine in ["redis", "valkey"] {
                let r = post(
                    &s.w,
                    "/v1/restores",
                    json!({"source": {"storage": storage, "objectName": "evil.rdb"},
                           "target": {"engine": engine, "rdbPath": path}}),
                )
                .await;
                refused(
                    &r,
                    "target.rdbPath",
                    &format!("{engine} restore onto {what}"),
                );
            }
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        before,
        snapshot(s.data.path()),
        "the data directory is unchanged"
    );
}
