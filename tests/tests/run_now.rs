//! "Run now" starts at once (issue 19), through the host with the real components, worker and
//! PostgreSQL: the request that queues a backup or a restore also dispatches it when a slot
//! under `maxConcurrentJobs` is free — with the runner's own claim, so however requests on two
//! hosts and two runners interleave, every execution starts exactly once and the cap holds.
//! Also: a job created without `compression` is ZSTD level 3.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dbackup_host::app::{self, RunningHost};
use dbackup_host::worker::WorkerMode;
use dbackup_tests::{psql, sqlite_json, wait_for, Api, Credential, RealApp, TEST_PASSWORD};
use serde_json::{json, Value};

/// A fresh PostgreSQL database `name` with a small table.
fn small_database(name: &str) {
    psql("postgres", &format!("DROP DATABASE IF EXISTS {name}"));
    psql("postgres", &format!("CREATE DATABASE {name}"));
    psql(
        name,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 500) g;",
    );
}

/// The source `pg` (database `db`), the restore target `pg-target` and the local destination
/// `disk` (`store`), written straight into the app's database.
fn adapters(app_db: &Path, db: &str, store: &Path) {
    sqlite_json(
        app_db,
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg', 'PG source', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{db}"}}'),
               ('pg-target', 'PG target', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"postgres"}}'),
               ('disk', 'Local disk', 'storage', 'local', '{{"path":"{}"}}')"#,
            store.display()
        ),
    );
}

/// Waits until the runner has ticked (the app is up and its runner alive: run-now dispatches
/// at once only beside a live runner).
async fn runner_ticked(app_db: &Path) {
    let sql = r#"SELECT COUNT(*) AS n FROM "SystemSetting" WHERE "key" = 'runner.lastTickAt'"#;
    wait_for(Duration::from_secs(30), || async {
        (sqlite_json(app_db, sql)[0]["n"] == 1).then_some(())
    })
    .await
    .expect("the runner never ticked");
}

fn parse(t: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t.as_str().expect("a time"))
        .expect("an RFC 3339 time")
        .with_timezone(&Utc)
}

/// POSTs `path` (a run now or a restore) and checks the execution left the queue before the
/// answer: it is no longer Pending, the worker has its task, and `startedAt` is within 1.5 s of
/// the request. Returns the execution id and how long the request took.
async fn dispatched_at_once(
    api: &Api,
    who: &Credential,
    path: &str,
    body: Option<&Value>,
) -> (String, Duration) {
    let requested = Utc::now();
    let clock = Instant::now();
    let accepted = api.expect(who, "POST", path, body, 202).await;
    let took = clock.elapsed();
    let id = accepted["executionId"]
        .as_str()
        .expect("executionId")
        .to_owned();
    let exec = api
        .expect(who, "GET", &format!("/api/executions/{id}"), None, 200)
        .await;
    assert_ne!(exec["status"], "Pending", "still queued after 202: {exec}");
    assert!(
        exec["logs"].to_string().contains("Started on the worker"),
        "{exec}"
    );
    let lag = (parse(&exec["startedAt"]) - requested).num_milliseconds();
    assert!(
        (-1500..1500).contains(&lag),
        "startedAt {} is {lag} ms from the request",
        exec["startedAt"]
    );
    (id, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_now_and_a_restore_start_within_a_second_on_an_idle_host() {
    let db = format!("runnow_src_{}", std::process::id());
    let copy = format!("runnow_copy_{}", std::process::id());
    small_database(&db);
    psql("postgres", &format!("DROP DATABASE IF EXISTS {copy}"));
    let app = RealApp::with_worker().app_url().start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    adapters(&app.db_path(), &db, &app.backup_folder());
    // No compression given: ZSTD level 3.
    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(
                &json!({"name": "now", "schedule": "0 3 * * *", "sourceId": "pg",
                         "databases": [db], "destinations": [{"destinationId": "disk"}]}),
            ),
            201,
        )
        .await;
    assert_eq!(
        (&job["compression"], &job["compressionLevel"]),
        (&json!("ZSTD"), &json!(3)),
        "{job}"
    );
    runner_ticked(&app.db_path()).await;

    let run = format!("/api/jobs/{}/run", job["id"].as_str().expect("id"));
    let (id, took) = dispatched_at_once(&api, &admin, &run, None).await;
    let done = api.finished_execution(&admin, &id).await;
    assert_eq!(done["status"], "Success", "{done}");
    let path = done["path"].as_str().expect("path").to_owned();
    assert!(path.ends_with(".dump.zst"), "{path}");
    let backup_ms = (parse(&done["endedAt"]) - parse(&done["startedAt"])).num_milliseconds();

    let restore = json!({"destinationId": "disk", "path": path, "targetSourceId": "pg-target",
                         "databaseMapping": {db.clone(): copy.clone()}});
    let (rid, restore_took) =
        dispatched_at_once(&api, &admin, "/api/restores", Some(&restore)).await;
    let restored = api.finished_execution(&admin, &rid).await;
    assert_eq!(restored["status"], "Success", "{restored}");
    let q = "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM item";
    assert_eq!(psql(&copy, q), psql(&db, q));
    eprintln!(
        "run now: request {took:?} (started before the answer), backup {backup_ms} ms; \
         restore request {restore_took:?}"
    );
    app.shutdown().await;
    for d in [&db, &copy] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {d}"));
    }
}

/// Six jobs, "Run now" on each at once through two hosts sharing one database (two runners
/// ticking too), `maxConcurrentJobs` 2: every execution is claimed once (one "Started on the
/// worker", one task), all succeed, never more than two run at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_run_now_on_two_hosts_and_the_runners_start_each_execution_once() {
    let db = format!("runnow_race_{}", std::process::id());
    small_database(&db);
    let builder = RealApp::with_worker().app_url();
    let dir = dbackup_tests::TempDir::new();
    dbackup_tests::warm_real_app().await;
    let mut hosts: Vec<RunningHost> = Vec::new();
    for i in 0..2 {
        let mut config = builder.host_config(dir.path());
        if i == 1 {
            config.worker = WorkerMode::External;
        }
        hosts.push(app::start(config).await.expect("host starts"));
    }
    let app_db = dir.join("data").join("dbackup.db");
    let (a, b) = (
        Api {
            addr: hosts[0].addr,
        },
        Api {
            addr: hosts[1].addr,
        },
    );
    let (_, admin) = a.signup("Admin", "admin@example.com", TEST_PASSWORD).await;
    let store = dir.join("backups");
    std::fs::create_dir_all(&store).expect("backup folder");
    adapters(&app_db, &db, &store);
    a.expect(
        &admin,
        "PATCH",
        "/api/settings",
        Some(&json!({"maxConcurrentJobs": 2})),
        200,
    )
    .await;
    let mut runs = Vec::new();
    for i in 0..6 {
        let job = a
            .expect(
                &admin,
                "POST",
                "/api/jobs",
                Some(
                    &json!({"name": format!("race {i}"), "schedule": "0 3 * * *",
                             "sourceId": "pg", "databases": [db],
                             "destinations": [{"destinationId": "disk"}]}),
                ),
                201,
            )
            .await;
        runs.push(format!("/api/jobs/{}/run", job["id"].as_str().expect("id")));
    }
    runner_ticked(&app_db).await;

    let post = |api: Api, path: String| {
        let admin = admin.clone();
        async move {
            api.expect(&admin, "POST", &path, None, 202).await["executionId"]
                .as_str()
                .expect("executionId")
                .to_owned()
        }
    };
    let started = Instant::now();
    let ids = tokio::join!(
        post(a, runs[0].clone()),
        post(b, runs[1].clone()),
        post(a, runs[2].clone()),
        post(b, runs[3].clone()),
        post(a, runs[4].clone()),
        post(b, runs[5].clone()),
    );
    let ids = [ids.0, ids.1, ids.2, ids.3, ids.4, ids.5];
    for id in &ids {
        let done = a.finished_execution(&admin, id).await;
        assert_eq!(done["status"], "Success", "{done}");
    }
    let all_done = started.elapsed();

    let rows = sqlite_json(
        &app_db,
        r#"SELECT "id", "taskId", "startedAt", "endedAt", "logs" FROM "Execution" ORDER BY "startedAt""#,
    );
    assert_eq!(rows.len(), 6, "{rows:?}");
    let mut tasks: Vec<&str> = rows
        .iter()
        .map(|r| r["taskId"].as_str().expect("a task"))
        .collect();
    tasks.sort_unstable();
    tasks.dedup();
    assert_eq!(tasks.len(), 6, "{rows:?}");
    for r in &rows {
        let starts = r["logs"]
            .as_str()
            .expect("logs")
            .matches("Started on the worker")
            .count();
        assert_eq!(starts, 1, "{r}");
    }
    // The cap: at every start, fewer than 2 others were running.
    let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = rows
        .iter()
        .map(|r| (parse(&r["startedAt"]), parse(&r["endedAt"])))
        .collect();
    for (s, _) in &spans {
        let running = spans.iter().filter(|(s2, e2)| s2 <= s && s < e2).count();
        assert!(running <= 2, "{running} running at {s}: {rows:?}");
    }
    // Two started before the requests' answers (the free slots); the others as slots freed.
    let ids_started_at_once = ids
        .iter()
        .filter(|id| {
            rows.iter().any(|r| {
                r["id"] == id.as_str() && (parse(&r["startedAt"]) - spans[0].0).num_seconds() < 2
            })
        })
        .count();
    assert!(ids_started_at_once >= 2, "{rows:?}");
    eprintln!("six run-now on two hosts, cap 2: all Success after {all_done:?}");
    for h in hosts {
        h.shutdown().await;
    }
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
}
