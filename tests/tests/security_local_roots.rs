//! A local destination names a directory on the worker's machine, and the storage explorer
//! lists, downloads and deletes files below it: outside the worker's roots
//! (`DBACKUP_LOCAL_ROOTS`, default `<data-dir>/backups`) it is refused when it is created or
//! changed — `POST /api/adapters` answers 400 naming `path` — and the worker refuses it again
//! on every storage operation (worker/tests/local_roots.rs).
//!
//! Passes with `DBACKUP_LOCAL_ROOTS` unset (roots: the data directory's `backups/`) and set to
//! the temp dir (as `cargo xtask test` does).

mod adapters_common;

use adapters_common::start_app_with_worker;
use dbackup_tests::{Api, Credential, TEST_PASSWORD};
use serde_json::{json, Value};

async fn create_local(api: &Api, who: &Credential, path: &Value) -> (u16, Value) {
    let r = api
        .call(
            who,
            "POST",
            "/api/adapters",
            Some(&json!({"name": "disk", "adapterId": "local", "config": {"path": path}})),
        )
        .await;
    (r.status, r.json())
}

#[tokio::test]
async fn a_local_destination_outside_the_roots_is_refused_at_create() {
    let app = start_app_with_worker().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;

    for path in [
        json!("/etc"),
        json!("/"),
        // The app's own data directory: secrets.env and the database live there.
        json!(app.dir.join("data")),
        json!(app.dir.join("data/cache")),
    ] {
        let (status, body) = create_local(&api, &admin, &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["details"]["field"], "path", "{path}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("invalid local config: path"),
            "{path}: {body}"
        );
    }
    let listed = api.expect(&admin, "GET", "/api/adapters", None, 200).await;
    assert_eq!(listed, json!([]), "nothing was saved");

    // Inside the roots (the data directory's backups/ folder is one either way): saved.
    // Changing it to a path outside is refused the same way.
    let inside = app.dir.join("data/backups/store");
    let (status, created) = create_local(&api, &admin, &json!(inside)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let r = api
        .call(
            &admin,
            "PUT",
            &format!("/api/adapters/{id}"),
            Some(&json!({"config": {"path": "/etc"}})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["details"]["field"], "path");
    let kept = api
        .expect(&admin, "GET", &format!("/api/adapters/{id}"), None, 200)
        .await;
    assert_eq!(kept["config"]["path"], json!(inside));

    // A connection test of such a path reports the refusal instead of touching it.
    let r = api
        .expect(
            &admin,
            "POST",
            "/api/adapters/test",
            Some(&json!({"adapterId": "local", "config": {"path": "/etc"}})),
            200,
        )
        .await;
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("DBACKUP_LOCAL_ROOTS"),
        "{r}"
    );
    app.shutdown().await;
}

/// A SQLite source names a file the worker reads into storage: the app's own database in the
/// data directory (password hashes, sealed secrets) is refused when the adapter is created or
/// changed, directly or through a symlink, and the worker refuses it again on every backup
/// (worker/tests/data_dir_files.rs).
#[tokio::test]
async fn a_sqlite_source_in_the_data_directory_is_refused_at_create() {
    let app = start_app_with_worker().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let create = |path: Value| {
        let api = &api;
        let admin = &admin;
        async move {
            let r = api
                .call(
                    admin,
                    "POST",
                    "/api/adapters",
                    Some(&json!({"name": "lite", "adapterId": "sqlite", "config": {"path": path}})),
                )
                .await;
            (r.status, r.json())
        }
    };
    let link = app.dir.join("innocent.db");
    std::os::unix::fs::symlink(app.dir.join("data/dbackup.db"), &link).unwrap();
    for path in [
        json!(app.dir.join("data/dbackup.db")),
        json!(app.dir.join("data/secrets.env")),
        json!(link),
        json!(app.dir.join("data/../data/dbackup.db")),
    ] {
        let (status, body) = create(path.clone()).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["details"]["fields"]["path"].is_string(),
            "{path}: {body}"
        );
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("invalid sqlite config: path"),
            "{path}: {body}"
        );
    }
    let listed = api.expect(&admin, "GET", "/api/adapters", None, 200).await;
    assert_eq!(listed, json!([]), "nothing was saved");

    // A SQLite file anywhere else is saved; changing it to the app's database is refused.
    let (status, created) = create(json!(app.dir.join("shop.db"))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let r = api
        .call(
            &admin,
            "PUT",
            &format!("/api/adapters/{id}"),
            Some(&json!({"config": {"path": app.dir.join("data/dbackup.db")}})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["details"]["field"], "path");
    app.shutdown().await;
}
