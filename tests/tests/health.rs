//! The real application (the repository's spin.toml and components): `/api/health` with a
//! spawned and a missing worker, JSON 404 for unknown API routes, and the web UI's static files
//! with their client-side-route fallback and no way out of `frontend/dist`.

use dbackup_tests::{get, repo, RealApp};
use serde_json::{json, Value};

/// The health body with the values that change between builds checked and replaced by
/// placeholders, so the snapshot shows the shape.
fn normalized(mut body: Value) -> Value {
    assert_eq!(
        body["schemaVersion"],
        dbackup_core::migrations::latest_version()
    );
    assert_eq!(body["version"], dbackup_core::VERSION);
    body["schemaVersion"] = json!("[latest]");
    body["version"] = json!("[version]");
    body
}

#[tokio::test]
async fn health_with_a_spawned_worker() {
    let app = RealApp::with_worker().cron(false).start().await;
    let worker = app.worker_addr;
    let resp = get(app.host.addr, "/api/health").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("content-type"), Some("application/json"));
    insta::assert_json_snapshot!("health_ok", normalized(resp.json()));
    app.shutdown().await;
    // Shutting down stops the worker the host started.
    assert!(
        !dbackup_tests::is_listening(worker).await,
        "the worker still listens after shutdown"
    );
}

#[tokio::test]
async fn health_without_a_worker() {
    let app = RealApp::with_external_worker().cron(false).start().await;
    let resp = get(app.host.addr, "/api/health").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["worker"], "unreachable", "{body}");
    assert_eq!(body["database"], "ok", "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_api_routes_and_static_files() {
    let app = RealApp::start().await;
    let addr = app.host.addr;

    for path in [
        "/api/whatever",
        "/api/settings/x",
        "/api/",
        "/api/whatever?x=1",
    ] {
        let resp = get(addr, path).await;
        assert_eq!(resp.status, 404, "{path}: {}", resp.text());
        assert_eq!(resp.json(), json!({"error": "not found"}), "{path}");
    }

    let index = std::fs::read(repo().join("frontend/dist/index.html"))
        .expect("frontend/dist/index.html (built by cargo xtask test)");
    for path in [
        "/",
        "/index.html",
        "/jobs/12",
        "/settings/users?tab=2",
        "/jobs/",
    ] {
        let resp = get(addr, path).await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        assert_eq!(resp.body.as_ref(), index.as_slice(), "{path}");
        assert_eq!(
            resp.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
    }

    for path in ["/assets/missing.js", "/favicon-missing.ico", "/a/b/c.css"] {
        let resp = get(addr, path).await;
        assert_eq!(resp.status, 404, "{path}: {}", resp.text());
    }

    // Nothing outside frontend/dist is ever served.
    let outside = [
        std::fs::read("/etc/passwd").unwrap_or_default(),
        std::fs::read(repo().join("spin.toml")).expect("spin.toml"),
    ];
    for path in [
        "/..%2f..%2fetc/passwd",
        "/a/../../etc/passwd",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/....//....//etc/passwd",
        "/..\\..\\etc\\passwd",
        "/../spin.toml",
        "/..%2fspin.toml",
        "/%2e%2e%2fspin.toml",
        "/../../spin.toml",
    ] {
        let resp = match dbackup_tests::request(addr, "GET", path, &[], None).await {
            Ok(r) => r,
            // A path the HTTP layer refuses to parse is fine too.
            Err(_) => continue,
        };
        let body = resp.body.as_ref();
        for file in &outside {
            assert!(
                file.is_empty() || body != file.as_slice(),
                "{path} served a file outside frontend/dist"
            );
        }
        assert!(!resp.text().contains("root:"), "{path}: {}", resp.text());
        assert!(!resp.text().contains("spin_manifest_version"), "{path}");
        assert!(
            resp.status != 200 || body == index.as_slice(),
            "{path} answered 200 with something other than index.html"
        );
    }
    app.shutdown().await;
}
