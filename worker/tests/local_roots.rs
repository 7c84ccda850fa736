//! Local storage stays inside the operator's roots (`DBACKUP_LOCAL_ROOTS`): every storage
//! operation, backup destination and restore source naming a directory outside them, inside
//! the data directory (other than its `backups/`), or reaching out through a symlink or `..`
//! is refused with 400, and nothing outside is read, listed, written or deleted.

mod common;

use std::path::Path;

use common::{Worker, TOKEN};
use http::StatusCode;
use serde_json::{json, Value};

async fn post(w: &Worker, path: &str, body: Value) -> common::Reply {
    w.post(path, Some(TOKEN), &body.to_string()).await
}

fn local(path: &Path) -> Value {
    json!({"kind": "local", "path": path})
}

/// 400 naming `storage.path`.
fn refused(r: &common::Reply, what: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
    let details = r.json["details"].as_str().unwrap_or_default();
    assert!(details.contains("storage.path"), "{what}: {details}");
}

#[tokio::test]
async fn storage_outside_the_roots_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim"), "keep me").unwrap();
    std::fs::write(data.path().join("secrets.env"), "encryption_key=…").unwrap();
    std::fs::create_dir(data.path().join("backups")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
    // The whole data directory is (wrongly) a root too: only its backups/ stays usable.
    let w = Worker::start_with_roots(
        vec![root.path().to_owned(), data.path().to_owned()],
        Some(data.path().to_owned()),
    )
    .await;

    let inside = root.path().join("store");
    let r = post(&w, "/v1/storage/list", json!({"storage": local(&inside)})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = post(
        &w,
        "/v1/storage/list",
        json!({"storage": local(&data.path().join("backups/job"))}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let escapes = [
        ("/etc", Path::new("/etc").to_owned()),
        ("another directory", outside.path().to_owned()),
        ("a symlink out", root.path().join("link")),
        ("below a symlink out", root.path().join("link/sub")),
        (
            "..",
            root.path()
                .join("..")
                .join(outside.path().file_name().unwrap()),
        ),
        ("the data directory", data.path().to_owned()),
        ("inside the data directory", data.path().join("cache")),
        ("the root's parent", root.path().join("..")),
    ];
    for (what, path) in &escapes {
        let storage = local(path);
        let r = post(&w, "/v1/storage/list", json!({"storage": storage})).await;
        refused(&r, &format!("list {what}"));
        for op in ["stat", "delete"] {
            let name = if *what == "another directory" {
                "victim"
            } else {
                "secrets.env"
            };
            let r = post(
                &w,
                &format!("/v1/storage/{op}"),
                json!({"storage": storage, "name": name}),
            )
            .await;
            refused(&r, &format!("{op} {what}"));
        }
        let r = post(
            &w,
            "/v1/storage/put",
            json!({"storage": storage, "name": "planted", "content": "x"}),
        )
        .await;
        refused(&r, &format!("put {what}"));
        let r = post(&w, "/v1/storage/check", json!({"storage": storage})).await;
        refused(&r, &format!("check {what}"));
        let r = post(
            &w,
            "/v1/backups",
            json!({"source": {"engine": "sqlite", "path": "/nonexistent.db"}, "compression": "NONE",
                   "destinations": [{"id": "d", "storage": storage}], "jobName": "j"}),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "backup to {what}: {}",
            r.text
        );
        let r = post(
            &w,
            "/v1/restores",
            json!({"source": {"storage": storage, "objectName": "x.db"},
                   "target": {"engine": "sqlite", "path": root.path().join("t.db")}}),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "restore from {what}: {}",
            r.text
        );
    }
    assert_eq!(
        std::fs::read_to_string(outside.path().join("victim")).unwrap(),
        "keep me"
    );
    assert!(data.path().join("secrets.env").exists());
    assert!(!outside.path().join("planted").exists());
    assert!(!Path::new("/etc/planted").exists());

    let r = post(&w, "/v1/storage/check", json!({"storage": local(&inside)})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["ok"], true);
}
