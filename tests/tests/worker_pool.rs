//! A pool of three real workers behind the real app (docs/WORKER.md, "A pool of workers"): the
//! configured worker (`worker_url`, capacity `maxConcurrentJobs` = 2) and two that register
//! themselves — `w2` (capacity 2, label `big`) and `w3` (capacity 1, label `eu`). Ten queued
//! backups spread over the three without any above its capacity; a source pinned to `eu` runs
//! only on `w3`; `w2` killed with SIGKILL in the middle of a big dump fails that execution while
//! the others finish theirs; `GET /api/workers` shows the three with the right health.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use dbackup_tests::{
    free_port, psql, spawn_worker, sqlite_json, wait_for, Api, Credential, RealApp,
};
use serde_json::{json, Value};

/// Heartbeat of the registered workers in this test (s): unhealthy after 3 missed.
const HEARTBEAT: &str = "2";

async fn workers(api: &Api, who: &Credential) -> BTreeMap<String, Value> {
    let list = api.expect(who, "GET", "/api/workers", None, 200).await;
    list.as_array()
        .expect("an array")
        .iter()
        .map(|w| (w["name"].as_str().unwrap_or_default().to_owned(), w.clone()))
        .collect()
}

async fn pool_worker(
    token: &str,
    app_url: &str,
    name: &str,
    labels: &str,
    capacity: &str,
) -> (tokio::process::Child, SocketAddr) {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (app_url, name, labels, capacity) = (
        app_url.to_owned(),
        name.to_owned(),
        labels.to_owned(),
        capacity.to_owned(),
    );
    let child = spawn_worker(addr, token, move |cmd| {
        cmd.env("DBACKUP_APP_URL", app_url)
            .env("DBACKUP_WORKER_NAME", name)
            .env("DBACKUP_WORKER_LABELS", labels)
            .env("DBACKUP_WORKER_CAPACITY", &capacity)
            .env("DBACKUP_WORKER_MAX_TASKS", &capacity)
            .env("DBACKUP_WORKER_HEARTBEAT_SECS", HEARTBEAT);
    })
    .await;
    (child, addr)
}

async fn job(api: &Api, admin: &Credential, name: &str, source: &str) -> String {
    let job = api
        .expect(
            admin,
            "POST",
            "/api/jobs",
            Some(&json!({
                "name": name, "schedule": "@yearly", "sourceId": source,
                "destinations": [{"destinationId": "disk"}], "compression": "GZIP"
            })),
            201,
        )
        .await;
    job["id"].as_str().expect("job id").to_owned()
}

async fn run(api: &Api, admin: &Credential, job: &str) -> String {
    let run = api
        .expect(admin, "POST", &format!("/api/jobs/{job}/run"), None, 202)
        .await;
    run["executionId"].as_str().expect("executionId").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pool_of_three_workers_spreads_pins_and_survives_a_killed_worker() {
    let pid = std::process::id();
    let (small_db, big_db) = (format!("pool_small_{pid}"), format!("pool_big_{pid}"));
    for db in [&small_db, &big_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
        psql("postgres", &format!("CREATE DATABASE {db}"));
    }
    psql(
        &small_db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g;",
    );
    // Big enough that the dump is still running when its worker is killed.
    psql(
        &big_db,
        "CREATE TABLE blob (id int PRIMARY KEY, a text, b text, c text); \
         INSERT INTO blob SELECT g, md5(g::text), md5((g * 7)::text), repeat(md5((g * 13)::text), 4) \
         FROM generate_series(1, 1500000) g;",
    );

    let app = RealApp::with_external_worker().app_url();
    let (default_addr, token) = (app.worker_addr(), app.value("SPIN_VARIABLE_WORKER_TOKEN"));
    let _default_worker = spawn_worker(default_addr, &token, |_| {}).await;
    let app = app.start().await;
    let app_url = format!("http://{}", app.host.addr);
    let (mut w2, _) = pool_worker(&token, &app_url, "w2", "big", "2").await;
    let (_w3, _) = pool_worker(&token, &app_url, "w3", "eu", "1").await;

    let api = app.api();
    let db_file = app.db_path();
    let store = app.backup_folder();
    let admin = api.signup_admin().await;
    api.expect(
        &admin,
        "PATCH",
        "/api/settings",
        Some(&json!({"maxConcurrentJobs": 2})),
        200,
    )
    .await;
    sqlite_json(
        &db_file,
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('small', 'Small', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{small_db}"}}'),
               ('small-eu', 'Small EU', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{small_db}","workerLabel":"eu"}}'),
               ('big', 'Big', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{big_db}","workerLabel":"big"}}'),
               ('disk', 'Disk', 'storage', 'local', '{{"path":"{}"}}')"#,
            store.display()
        ),
    );

    // The registered workers appear, healthy, next to the configured one.
    let listed = wait_for(Duration::from_secs(60), || async {
        let w = workers(&api, &admin).await;
        (w.len() == 3 && w.values().all(|w| w["healthy"] == true)).then_some(w)
    })
    .await
    .unwrap_or_else(|| panic!("three healthy workers: {:?}", workers_now(&db_file)));
    assert_eq!(listed["default"]["capacity"], 2);
    assert_eq!(listed["default"]["url"], format!("http://{default_addr}"));
    assert_eq!(listed["w2"]["labels"], json!(["big"]));
    assert_eq!(listed["w3"]["labels"], json!(["eu"]));
    assert_eq!(listed["w3"]["capacity"], 1);
    assert!(listed["w2"]["version"].is_string(), "{listed:?}");
    let id_of = |name: &str| listed[name]["id"].as_str().expect("id").to_owned();
    let capacity: BTreeMap<String, i64> = listed
        .values()
        .map(|w| {
            (
                w["id"].as_str().unwrap().to_owned(),
                w["capacity"].as_i64().unwrap(),
            )
        })
        .collect();

    // Ten queued backups: spread by capacity, none above it at any time, all Success.
    let small = job(&api, &admin, "small", "small").await;
    let mut ten = Vec::new();
    for _ in 0..10 {
        ten.push(run(&api, &admin, &small).await);
    }
    let ids = ten
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let peak: RefCell<BTreeMap<String, i64>> = RefCell::default();
    let done = wait_for(Duration::from_secs(240), || {
        let (db_file, ids, peak, capacity) = (&db_file, &ids, &peak, &capacity);
        async move {
            for row in sqlite_json(
                db_file,
                r#"SELECT "workerId", COUNT(*) AS n FROM "Execution" WHERE "status" = 'Running' GROUP BY "workerId""#,
            ) {
                let w = row["workerId"].as_str().unwrap_or("default").to_owned();
                let n = row["n"].as_i64().unwrap_or(0);
                assert!(
                    n <= capacity[&w],
                    "{n} running on {w}, capacity {}",
                    capacity[&w]
                );
                let mut peak = peak.borrow_mut();
                let p = peak.entry(w).or_default();
                *p = (*p).max(n);
            }
            let rows = sqlite_json(
                db_file,
                &format!(
                    r#"SELECT "status", "workerId" FROM "Execution" WHERE "id" IN ({ids}) AND "status" NOT IN ('Pending', 'Running')"#
                ),
            );
            (rows.len() == 10).then_some(rows)
        }
    })
    .await
    .expect("the ten backups finish");
    assert!(
        done.iter().all(|r| r["status"] == "Success"),
        "all Success: {done:?}"
    );
    let mut placed: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &done {
        *placed
            .entry(r["workerId"].as_str().unwrap_or("?"))
            .or_default() += 1;
    }
    eprintln!(
        "worker_pool: ten backups placed {placed:?}, peak running {:?}",
        peak.borrow()
    );
    let used: BTreeSet<&str> = done.iter().filter_map(|r| r["workerId"].as_str()).collect();
    assert_eq!(
        used,
        BTreeSet::from(["default", id_of("w2").as_str(), id_of("w3").as_str()]),
        "spread over the three workers (peaks {peak:?})"
    );
    let first = api
        .expect(
            &admin,
            "GET",
            &format!("/api/executions/{}", ten[0]),
            None,
            200,
        )
        .await;
    assert!(
        first["workerId"].is_string() && first["workerName"].is_string(),
        "{first}"
    );

    // A source pinned to `eu` runs only on w3.
    let eu = job(&api, &admin, "eu", "small-eu").await;
    for _ in 0..3 {
        let v = api.run_job(&admin, &eu).await;
        assert_eq!(v["status"], "Success", "{v}");
        assert_eq!(
            (v["workerId"].as_str(), v["workerName"].as_str()),
            (Some(id_of("w3").as_str()), Some("w3")),
            "{v}"
        );
    }

    // w2 killed in the middle of the big dump: that execution fails, the others finish theirs.
    let big = job(&api, &admin, "big", "big").await;
    let big_run = run(&api, &admin, &big).await;
    let sql = format!(
        r#"SELECT "taskId", "workerId" FROM "Execution" WHERE "id" = '{big_run}' AND "status" = 'Running' AND "taskId" IS NOT NULL"#
    );
    let started = wait_for(Duration::from_secs(60), || async {
        sqlite_json(&db_file, &sql).into_iter().next()
    })
    .await
    .expect("the big backup starts");
    assert_eq!(started["workerId"].as_str(), Some(id_of("w2").as_str()));
    w2.start_kill().expect("SIGKILL w2");
    let _ = w2.wait().await;
    // Run now right after the kill (its heartbeat is still fresh): a dispatch that w2 does not
    // answer puts the execution back in the queue and takes w2 out, so these end elsewhere.
    // (Queued before the kill, run now would have started them on w2's free slots at once.)
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(run(&api, &admin, &small).await);
    }
    let v = api
        .expect(
            &admin,
            "GET",
            &format!("/api/executions/{big_run}"),
            None,
            200,
        )
        .await;
    assert_eq!(
        v["status"], "Running",
        "the big backup ended before the kill: {v}"
    );

    let failed = api.finished_execution(&admin, &big_run).await;
    assert_eq!(failed["status"], "Failed", "{failed}");
    let text = failed.to_string();
    assert!(text.contains("worker w2 stopped answering"), "{failed}");
    for id in &others {
        let v = api.finished_execution(&admin, id).await;
        assert_eq!(v["status"], "Success", "{v}");
        assert_ne!(v["workerId"].as_str(), Some(id_of("w2").as_str()), "{v}");
    }

    // The pool after the kill: w2 unhealthy, the other two healthy, nothing running.
    let after = wait_for(Duration::from_secs(60), || async {
        let w = workers(&api, &admin).await;
        (w["w2"]["healthy"] == false).then_some(w)
    })
    .await
    .expect("w2 unhealthy");
    assert_eq!(after.len(), 3);
    assert_eq!(after["default"]["healthy"], true, "{after:?}");
    assert_eq!(after["w3"]["healthy"], true, "{after:?}");
    assert!(after.values().all(|w| w["running"] == 0), "{after:?}");

    for db in [&small_db, &big_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
}

fn workers_now(db_file: &std::path::Path) -> Vec<Value> {
    sqlite_json(db_file, r#"SELECT * FROM "Worker""#)
}
