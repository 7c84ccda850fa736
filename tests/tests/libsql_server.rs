//! The app on a libSQL server (`sqld`) as its shared database: the harness itself, our host's
//! journey on it, surviving a sqld restart, and two app instances (our host and `spin up`) on
//! one sqld with the runner's scheduled occurrences each run exactly once.
//!
//! Every test needs a real `sqld` on PATH and fails without one.

use dbackup_tests::journey::{self, PgPair};
use dbackup_tests::spin::{SpinApp, SpinOptions};
use dbackup_tests::sqld::Sqld;
use dbackup_tests::{request, wait_for, Credential, RealApp, TempDir};
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
    let job = job["id"].as_str().expect("job id").to_owned();

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

/// The schedule of the two-instance test: every 20 s (six fields, seconds first); the runners
/// tick every 10 s.
const EVERY_SECS: i64 = 20;

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A Hrana value (`{"type":"text","value":"…"}`) as text.
fn hrana_text(v: &serde_json::Value) -> String {
    match &v["value"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Our host and a `spin up` instance, both with their runner (cron), on one sqld: a job every
/// 20 s runs each scheduled occurrence exactly once (one execution, one worker task), none is
/// lost, and sqld killed across an occurrence and started again is survived: the occurrence
/// that fell into the outage is caught up by the next tick, without a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_sqld_run_each_occurrence_once() {
    let mut sqld = Sqld::start().await;
    let spin = SpinApp::start(SpinOptions {
        runtime_config: Some(sqld.runtime_config_toml()),
        ..Default::default()
    })
    .await;
    // Spin's runner migrates the database on its first tick (every 10 s).
    let spin_api = spin.api();
    let migrated = wait_for(Duration::from_secs(60), || async {
        let r = spin_api
            .call(&Credential::Anonymous, "GET", "/api/jobs", None)
            .await;
        (r.status != 503).then_some(())
    })
    .await;
    assert!(
        migrated.is_some(),
        "spin never migrated sqld\n{}",
        spin.log()
    );

    // Our host on the same sqld, with the same secrets and Spin's worker (one worker: an
    // execution dispatched by one instance is polled by either).
    let dir = TempDir::new();
    let rc = sqld.write_runtime_config(&dir.join("runtime-config.toml"));
    let mut builder = RealApp::with_external_worker()
        .runtime_config(rc)
        .dir(dir)
        .var(
            "SPIN_VARIABLE_WORKER_URL",
            format!("http://{}", spin.worker_addr()),
        );
    for name in [
        "SPIN_VARIABLE_ENCRYPTION_KEY",
        "SPIN_VARIABLE_SESSION_SECRET",
        "SPIN_VARIABLE_WORKER_TOKEN",
    ] {
        builder = builder.var(name, spin.var(name));
    }
    let host = builder.start().await;
    let api = host.api();
    let admin = api.signup_admin().await;
    // One session for both: the same secret signs it.
    spin_api.expect(&admin, "GET", "/api/jobs", None, 200).await;

    let pg = PgPair::new("libsql_two");
    let ids = journey::setup(&api, &admin, &pg, &spin.backup_folder()).await;
    let job = journey::create_job(
        &api,
        &admin,
        "every 20 s",
        &format!("*/{EVERY_SECS} * * * * *"),
        &ids,
        &pg,
    )
    .await;
    let job_id = job["id"].as_str().expect("job id").to_owned();
    let created =
        chrono::DateTime::parse_from_rfc3339(job["createdAt"].as_str().expect("createdAt"))
            .expect("createdAt is RFC 3339")
            .timestamp();

    let executions = format!(
        r#"SELECT "scheduledFor", COUNT(*), COUNT(DISTINCT "taskId"), GROUP_CONCAT("status"), GROUP_CONCAT("triggerType")
           FROM "Execution" WHERE "jobId" = '{job_id}' GROUP BY "scheduledFor" ORDER BY "scheduledFor""#
    );
    let successes = |rows: &[serde_json::Value]| {
        rows.iter()
            .filter(|r| hrana_text(&r[3]) == "Success")
            .count()
    };
    // The first scheduled run succeeds.
    let first = wait_for(Duration::from_secs(120), || async {
        let rows = sqld.query(&executions).await.ok()?;
        (successes(&rows) >= 1).then_some(())
    })
    .await;
    assert!(
        first.is_some(),
        "no scheduled run succeeded: {:?}\n{}",
        sqld.query(&executions).await,
        spin.log()
    );

    // Kill sqld 5 s before an occurrence and bring it back 10 s later: the occurrence and a
    // tick of each runner fall into the outage.
    let into = unix_now().rem_euclid(EVERY_SECS as f64);
    let until_stop = (EVERY_SECS as f64 - 5.0 - into).rem_euclid(EVERY_SECS as f64);
    tokio::time::sleep(Duration::from_secs_f64(until_stop)).await;
    sqld.stop().await;
    let outage_from = unix_now();
    let down = api.call(&admin, "GET", "/api/jobs", None).await;
    assert_eq!(down.status, 503, "host while sqld is down: {}", down.text());
    let down = spin_api.call(&admin, "GET", "/api/jobs", None).await;
    assert!(
        down.status >= 500,
        "spin while sqld is down: {}",
        down.text()
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    sqld.start_again().await;
    let outage_to = unix_now();
    eprintln!("sqld was down from {outage_from:.1} to {outage_to:.1}");
    for a in [&api, &spin_api] {
        let back = wait_for(Duration::from_secs(10), || async {
            (a.call(&admin, "GET", "/api/jobs", None).await.status == 200).then_some(())
        })
        .await;
        assert!(
            back.is_some(),
            "{a:?} does not recover after sqld restarted"
        );
    }

    // Two more occurrences after the outage, then stop scheduling.
    let after = outage_to as i64;
    let enough = wait_for(Duration::from_secs(150), || async {
        let rows = sqld.query(&executions).await.ok()?;
        let later = rows
            .iter()
            .filter(|r| {
                chrono::DateTime::parse_from_rfc3339(&hrana_text(&r[0]))
                    .is_ok_and(|t| t.timestamp() > after)
            })
            .count();
        (later >= 2).then_some(())
    })
    .await;
    assert!(
        enough.is_some(),
        "no two occurrences after the outage: {:?}\n{}",
        sqld.query(&executions).await,
        spin.log()
    );
    let mut body = job.clone();
    body["enabled"] = json!(false);
    api.expect(
        &admin,
        "PUT",
        &format!("/api/jobs/{job_id}"),
        Some(&body),
        200,
    )
    .await;
    let pending = format!(
        r#"SELECT COUNT(*) FROM "Execution" WHERE "jobId" = '{job_id}' AND "status" IN ('Pending', 'Running')"#
    );
    let settled = wait_for(Duration::from_secs(180), || async {
        let rows = sqld.query(&pending).await.ok()?;
        (hrana_text(&rows[0][0]) == "0").then_some(())
    })
    .await;
    assert!(
        settled.is_some(),
        "executions did not finish: {:?}",
        sqld.query(&executions).await
    );

    // Every occurrence from the first after the job's creation to the last one run: exactly
    // one execution each (one worker task), scheduled (no gaps, the outage's one included).
    let rows = sqld.query(&executions).await.expect("executions");
    let summary: Vec<String> = rows
        .iter()
        .map(|r| {
            let cells: Vec<String> = r
                .as_array()
                .map(|c| c.iter().map(hrana_text).collect())
                .unwrap_or_default();
            cells.join(" ")
        })
        .collect();
    eprintln!(
        "executions per occurrence (scheduledFor, count, tasks, status, trigger): {summary:#?}"
    );
    let times: Vec<i64> = rows
        .iter()
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(&hrana_text(&r[0]))
                .unwrap_or_else(|e| panic!("scheduledFor {:?}: {e}", r[0]))
                .timestamp()
        })
        .collect();
    for r in &rows {
        assert_eq!(
            hrana_text(&r[1]),
            "1",
            "one execution per occurrence: {rows:?}"
        );
        assert!(
            matches!(hrana_text(&r[2]).as_str(), "0" | "1"),
            "one worker task per occurrence: {rows:?}"
        );
        assert_eq!(hrana_text(&r[4]), "Scheduler", "{rows:?}");
    }
    assert!(times.len() >= 4, "too few occurrences: {rows:?}");
    let first_due = (created / EVERY_SECS + 1) * EVERY_SECS;
    assert_eq!(
        times[0], first_due,
        "the first occurrence was lost: {rows:?}"
    );
    for pair in times.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            EVERY_SECS,
            "an occurrence was lost: {rows:?}"
        );
    }
    let in_outage = times
        .iter()
        .any(|t| (*t as f64) > outage_from && (*t as f64) < outage_to);
    assert!(in_outage, "no occurrence fell into the outage: {rows:?}");
    assert!(successes(&rows) >= 3, "too few successes: {rows:?}");

    host.shutdown().await;
    spin.stop().await;
}
