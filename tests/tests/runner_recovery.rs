//! The runner's recovery through the host with the real worker: the worker is killed with
//! SIGKILL in the middle of a backup and started again; the runner asks it about the task, fails
//! the execution ("no longer knows this task") and the next backup runs — the queue (one slot)
//! does not stay blocked.

use std::time::{Duration, Instant};

use dbackup_tests::{
    psql, spawn_worker, sqlite_json, wait_for, Api, Credential, PgTableLock, RealApp,
};
use serde_json::{json, Value};

async fn execution(api: &Api, who: &Credential, id: &str) -> Value {
    api.expect(who, "GET", &format!("/api/executions/{id}"), None, 200)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_killed_mid_backup_fails_the_execution_and_the_queue_moves_on() {
    let db_name = format!("recovery_src_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db_name}"));
    psql("postgres", &format!("CREATE DATABASE {db_name}"));
    // A held table lock keeps pg_dump waiting, so the backup is certainly still dumping when the
    // worker is killed or the execution cancelled (a size-based delay lost the race under load).
    psql(
        &db_name,
        "CREATE TABLE blob (id int PRIMARY KEY, a text); \
         INSERT INTO blob SELECT g, md5(g::text) FROM generate_series(1, 1000) g;",
    );

    let app = RealApp::with_external_worker().app_url();
    let (worker_addr, token) = (app.worker_addr(), app.value("SPIN_VARIABLE_WORKER_TOKEN"));
    let mut worker = spawn_worker(worker_addr, &token, |_| {}).await;
    let app = app.start().await;
    let store = app.backup_folder();
    let api = app.api();
    let db_file = app.db_path();
    let admin = api.signup_admin().await;
    sqlite_json(
        &db_file,
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg', 'PG', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{db_name}"}}'),
               ('disk', 'Disk', 'storage', 'local', '{{"path":"{}"}}')"#,
            store.display()
        ),
    );
    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&json!({
                "name": "recovery", "schedule": "@yearly", "sourceId": "pg",
                "destinations": [{"destinationId": "disk"}],
                "compression": "GZIP", "compressionLevel": 9
            })),
            201,
        )
        .await;
    let run = format!("/api/jobs/{}/run", job["id"].as_str().expect("id"));

    // Run; kill the worker as soon as its task exists.
    let lock = PgTableLock::hold(&db_name, "blob");
    let first = api.expect(&admin, "POST", &run, None, 202).await;
    let first = first["executionId"].as_str().expect("id").to_owned();
    let sql = format!(
        r#"SELECT "taskId" FROM "Execution" WHERE "id" = '{first}' AND "status" = 'Running'"#
    );
    let task = wait_for(Duration::from_secs(60), || async {
        sqlite_json(&db_file, &sql)
            .first()
            .and_then(|r| r["taskId"].as_str().map(str::to_owned))
    })
    .await
    .expect("the backup starts on the worker");
    worker.start_kill().expect("SIGKILL the worker");
    let _ = worker.wait().await;
    let killed_at = Instant::now();
    let v = execution(&api, &admin, &first).await;
    assert_eq!(
        v["status"], "Running",
        "the backup finished before the kill: {v}"
    );

    // A new worker (empty task list) on the same address.
    let mut worker = spawn_worker(worker_addr, &token, |_| {}).await;
    let failed = wait_for(Duration::from_secs(90), || async {
        let v = execution(&api, &admin, &first).await;
        (v["status"] != "Running").then_some(v)
    })
    .await
    .expect("the lost execution is failed");
    let recovered_after = killed_at.elapsed();
    assert_eq!(failed["status"], "Failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("no longer knows this task"), "{failed}");
    assert!(failed["endedAt"].is_string());
    eprintln!("recovery: task {task} lost; execution failed {recovered_after:?} after the kill");
    // No finished object appeared (a `.partial` may remain: SIGKILL leaves no time to clean up).
    let complete: Vec<_> = walk(&store)
        .into_iter()
        .filter(|p| !p.ends_with(".partial"))
        .collect();
    assert!(complete.is_empty(), "{complete:?}");

    drop(lock);

    // The single slot is free again: the next run succeeds.
    let second = api.expect(&admin, "POST", &run, None, 202).await;
    let second = second["executionId"].as_str().expect("id").to_owned();
    let done = api.finished_execution(&admin, &second).await;
    assert_eq!(done["status"], "Success", "{done}");
    assert!(store.join(done["path"].as_str().expect("path")).is_file());

    // Cancel a running backup: the execution is Cancelled at once, the worker task stops.
    let lock = PgTableLock::hold(&db_name, "blob");
    let third = api.expect(&admin, "POST", &run, None, 202).await;
    let third = third["executionId"].as_str().expect("id").to_owned();
    let sql = format!(
        r#"SELECT "taskId" FROM "Execution" WHERE "id" = '{third}' AND "status" = 'Running'"#
    );
    let task = wait_for(Duration::from_secs(60), || async {
        sqlite_json(&db_file, &sql)
            .first()
            .and_then(|r| r["taskId"].as_str().map(str::to_owned))
    })
    .await
    .expect("the third backup starts on the worker");
    let cancelled = api
        .expect(
            &admin,
            "POST",
            &format!("/api/executions/{third}/cancel"),
            None,
            200,
        )
        .await;
    assert_eq!(cancelled["status"], "Cancelled", "{cancelled}");
    let worker_status = wait_for(Duration::from_secs(30), || async {
        let auth = format!("Bearer {token}");
        let resp = dbackup_tests::request(
            worker_addr,
            "GET",
            &format!("/v1/tasks/{task}"),
            &[("authorization", auth.as_str())],
            None,
        )
        .await
        .ok()?;
        let v: Value = serde_json::from_slice(&resp.body).ok()?;
        (v["status"] != "running").then_some(v)
    })
    .await
    .expect("the worker task stops");
    assert_eq!(worker_status["status"], "cancelled", "{worker_status}");
    // Its late result (cancelled) does not change the execution.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let v = execution(&api, &admin, &third).await;
    assert_eq!(v["status"], "Cancelled");
    drop(lock);

    app.shutdown().await;
    let _ = worker.start_kill();
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db_name}"));
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out
}
