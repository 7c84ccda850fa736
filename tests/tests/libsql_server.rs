//! The app on a libSQL server (`sqld`) as its shared database: the harness itself, our host's
//! journey on it, surviving a sqld restart, and two app instances (our host and `spin up`) on
//! one sqld with the runner's scheduled occurrences each run exactly once.
//!
//! Every test needs a real `sqld` on PATH and fails without one.

use dbackup_tests::journey::{self, PgPair};
use dbackup_tests::sqld::Sqld;
use dbackup_tests::{request, wait_for, RealApp, TempDir};
use serde_json::json;
use std::time::{Duration, Instant};

/// The harness: auth is enforced, data survives stop/start_again on the same port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqld_harness_auth_and_restart() {
    let mut sqld = Sqld::start().await;
    sqld.execute("CREATE TABLE t (x INTEGER)")
        .await
        .expect("create");
    sqld.execute("INSERT INTO t VALUES (42)")
        .await
        .expect("insert");

    // A wrong token is refused.
    let body = serde_json::json!({"requests": [{"type": "execute", "stmt": {"sql": "SELECT 1"}}]});
    for auth in ["", "Bearer nope.nope.nope"] {
        let mut headers = vec![("content-type", "application/json")];
        if !auth.is_empty() {
            headers.push(("authorization", auth));
        }
        let resp = request(
            sqld.addr(),
            "POST",
            "/v2/pipeline",
            &headers,
            Some(body.to_string().into_bytes()),
        )
        .await
        .expect("sqld answers");
        assert_eq!(resp.status, 401, "auth {auth:?}: {}", resp.text());
    }

    sqld.stop().await;
    assert!(
        sqld.execute("SELECT 1").await.is_err(),
        "stopped sqld answers"
    );
    sqld.start_again().await;
    let rows = sqld.query("SELECT x FROM t").await.expect("select");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0]["value"], "42", "{rows:?}");
    assert!(sqld.runtime_config_toml().contains("type = \"libsql\""));
}

/// Our host on sqld: requests work; while sqld is down they fail cleanly (503 JSON naming the
/// database); once it is back they work again within seconds, without restarting the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_survives_a_sqld_restart() {
    let mut sqld = Sqld::start().await;
    let dir = TempDir::new();
    let rc = sqld.write_runtime_config(&dir.join("runtime-config.toml"));
    let app = RealApp::without_worker()
        .runtime_config(rc)
        .dir(dir)
        .start()
        .await;
    let api = app.api();
    let admin = api.signup_admin().await;
    api.expect(&admin, "GET", "/api/jobs", None, 200).await;
    // The data is in sqld, not in a local file.
    let users = sqld
        .query(r#"SELECT COUNT(*) FROM "User""#)
        .await
        .expect("users");
    assert_eq!(users[0][0]["value"], "1", "{users:?}");
    assert!(!app.db_path().exists(), "a local database was created");

    sqld.stop().await;
    for target in ["/api/jobs", "/api/health"] {
        let resp = api.call(&admin, "GET", target, None).await;
        assert_eq!(
            resp.status,
            503,
            "{target} while sqld is down: {}",
            resp.text()
        );
        let body = resp.json();
        assert!(
            body["error"].as_str().is_some()
                || body["database"].is_object()
                || body["status"].is_string(),
            "{target}: {body}"
        );
    }

    sqld.start_again().await;
    let back = Instant::now();
    let recovered = wait_for(Duration::from_secs(20), || async {
        let resp = api.call(&admin, "GET", "/api/jobs", None).await;
        (resp.status == 200).then_some(())
    })
    .await;
    assert!(
        recovered.is_some(),
        "the host still fails 20 s after sqld is back: {}",
        api.call(&admin, "GET", "/api/jobs", None).await.text()
    );
    let took = back.elapsed();
    eprintln!("host answers 200 again {took:?} after sqld is back");
    assert!(took < Duration::from_secs(5), "recovery took {took:?}");
    // Writes work too, and the health report is green for the database.
    let created = api
        .expect(
            &admin,
            "POST",
            "/api/encryption-profiles",
            Some(&json!({"name": "after restart"})),
            201,
        )
        .await;
    assert!(created["id"].is_string(), "{created}");
    let health = api.call(&admin, "GET", "/api/health", None).await;
    assert_ne!(health.status, 503, "{}", health.text());
    app.shutdown().await;
}

/// The journey on sqld: signup → PostgreSQL source → local destination → encrypted job → run
/// now → Success → restore into a new database → equal data.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn journey_on_libsql_server() {
    let sqld = Sqld::start().await;
    let dir = TempDir::new();
    let rc = sqld.write_runtime_config(&dir.join("runtime-config.toml"));
    let app = RealApp::with_worker()
        .runtime_config(rc)
        .dir(dir)
        .start()
        .await;
    let api = app.api();
    let admin = api.signup_admin().await;
    let pg = PgPair::new("libsql_journey");
    let ids = journey::setup(&api, &admin, &pg, &app.backup_folder()).await;
    let job = journey::create_job(&api, &admin, "libsql journey", "0 3 * * *", &ids, &pg).await;

    let exec = api.run_job(&admin, &job).await;
    assert_eq!(exec["status"], "Success", "{exec}");
    let path = exec["path"].as_str().expect("path").to_owned();
    let object = app.backup_folder().join(&path);
    let head = std::fs::read(&object).expect("the backup object");
    assert!(head.starts_with(b"DBKENC01"), "the backup is not encrypted");
    // The execution is recorded in sqld.
    let rows = sqld
        .query(&format!(
            r#"SELECT "status" FROM "Execution" WHERE "jobId" = '{job}'"#
        ))
        .await
        .expect("executions");
    assert_eq!(rows.len(), 1, "{rows:?}");

    let restore = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(
                &json!({"destinationId": ids.disk, "path": path, "targetSourceId": ids.target,
                         "databaseMapping": {pg.src.clone(): pg.copy.clone()}}),
            ),
            202,
        )
        .await;
    let rid = restore["executionId"].as_str().expect("executionId");
    let restored = api.finished_execution(&admin, rid).await;
    assert_eq!(restored["status"], "Success", "{restored}");
    pg.assert_equal();
    app.shutdown().await;
}
