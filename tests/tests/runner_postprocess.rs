//! Post-processing is at least once, through the host with the real worker: the host crashes
//! (its runtime is dropped mid-tick) while the second of two notifications is being delivered;
//! after the claim's lease (simulated by backdating `finalizedAt`) a new host finishes the job —
//! the second channel is notified, the first is not notified again and retention is not redone.
//! A finished execution older than a day is left alone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbackup_host::app::{self, RunningHost};
use dbackup_tests::{
    psql, spawn_worker, sqlite_json, wait_for, warm_real_app, Api, RealApp, TempDir,
};
use http_body_util::BodyExt;
use hyper::service::service_fn;
use serde_json::{json, Value};

/// A loopback receiver recording request paths; while `hold` is set, requests to `/second`
/// never get an answer.
async fn receiver(hold: Arc<AtomicBool>) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let sink = sink.clone();
            let hold = hold.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let sink = sink.clone();
                    let hold = hold.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let _ = req.into_body().collect().await;
                        sink.lock().expect("lock").push(path.clone());
                        if path == "/second" && hold.load(Ordering::SeqCst) {
                            std::future::pending::<()>().await;
                        }
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(204)
                                .body(http_body_util::Full::new(bytes::Bytes::new()))
                                .expect("response"),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, got)
}

/// Starts a host on its own runtime (on another thread), so the test can drop it mid-tick.
fn start_crashable(config: app::HostConfig) -> (tokio::runtime::Runtime, RunningHost) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let host = rt.block_on(app::start(config)).expect("the host starts");
        (rt, host)
    })
    .join()
    .expect("host thread")
}

fn count(paths: &Arc<Mutex<Vec<String>>>, path: &str) -> usize {
    paths
        .lock()
        .expect("lock")
        .iter()
        .filter(|p| *p == path)
        .count()
}

fn occurrences(logs: &str, needle: &str) -> usize {
    logs.matches(needle).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_between_finish_and_notifications_is_made_up_for_once() {
    let db_name = format!("postprocess_src_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db_name}"));
    psql("postgres", &format!("CREATE DATABASE {db_name}"));
    psql(
        &db_name,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);",
    );
    let hold = Arc::new(AtomicBool::new(true));
    let (hook, got) = receiver(hold.clone()).await;

    warm_real_app().await;
    let dir = TempDir::new();
    let store = dir.join("backups");
    std::fs::create_dir_all(&store).expect("backup folder");
    let app = RealApp::with_external_worker().app_url();
    let token = app.value("SPIN_VARIABLE_WORKER_TOKEN");
    let _worker = spawn_worker(app.worker_addr(), &token, |_| {}).await;

    let (crashing, host) = start_crashable(app.host_config(dir.path()));
    let api = Api { addr: host.addr };
    let db_file = dir.join("data").join("dbackup.db");
    let admin = api.signup_admin().await;
    sqlite_json(
        &db_file,
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg', 'PG', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{db_name}"}}'),
               ('disk', 'Disk', 'storage', 'local', '{{"path":"{}"}}'),
               ('first', 'First', 'notification', 'webhook', '{{"url":"http://{hook}/first"}}'),
               ('second', 'Second', 'notification', 'webhook', '{{"url":"http://{hook}/second"}}')"#,
            store.display()
        ),
    );
    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&json!({
                "name": "postprocess", "schedule": "@yearly", "sourceId": "pg",
                "destinations": [{"destinationId": "disk",
                                  "retention": {"mode": "SIMPLE", "simple": {"keepCount": 1}}}],
                "compression": "GZIP", "notificationIds": ["first", "second"],
                "notificationEvents": "ALWAYS"
            })),
            201,
        )
        .await;
    let job_id = job["id"].as_str().expect("id").to_owned();
    let run = api
        .expect(
            &admin,
            "POST",
            &format!("/api/jobs/{job_id}/run"),
            None,
            202,
        )
        .await;
    let id = run["executionId"].as_str().expect("id").to_owned();

    // The second notification is on its way (and held): crash the host now.
    wait_for(Duration::from_secs(120), || async {
        (count(&got, "/second") == 1).then_some(())
    })
    .await
    .expect("post-processing reaches the second notification");
    crashing.shutdown_background();
    drop(host);

    let row_sql = format!(
        r#"SELECT "status", "finalizedAt", "postProcessedAt", "postProcess", "logs" FROM "Execution" WHERE "id" = '{id}'"#
    );
    let row = sqlite_json(&db_file, &row_sql).remove(0);
    assert_eq!(row["status"], "Success", "{row}");
    assert!(row["finalizedAt"].is_string(), "{row}");
    assert!(row["postProcessedAt"].is_null(), "{row}");
    let done: Value =
        serde_json::from_str(row["postProcess"].as_str().expect("markers")).expect("json");
    assert_eq!(
        done,
        json!({"retention": ["disk"], "notified": ["first"]}),
        "{row}"
    );
    assert_eq!(count(&got, "/first"), 1);

    // The claim's lease (5 minutes) runs out: backdate it rather than wait. An execution that
    // ended more than a day ago and was never post-processed is not picked up any more.
    sqlite_json(
        &db_file,
        &format!(
            r#"UPDATE "Execution" SET "finalizedAt" = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 minutes') WHERE "id" = '{id}';
               INSERT INTO "Execution" ("id", "jobId", "type", "status", "logs", "startedAt", "endedAt", "metadata")
               VALUES ('old-one', '{job_id}', 'Backup', 'Failed', '[]',
                       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-26 hours'),
                       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-25 hours'), '{{}}')"#
        ),
    );
    hold.store(false, Ordering::SeqCst);

    let host = app::start(app.host_config(dir.path()))
        .await
        .expect("the host starts again");
    let done_sql = format!(
        r#"SELECT "postProcessedAt", "logs" FROM "Execution" WHERE "id" = '{id}' AND "postProcessedAt" IS NOT NULL"#
    );
    let row = wait_for(Duration::from_secs(60), || async {
        sqlite_json(&db_file, &done_sql).into_iter().next()
    })
    .await
    .expect("post-processing is completed after the restart");
    // Let further ticks pass: nothing is sent again.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(count(&got, "/first"), 1, "{:?}", got.lock().expect("lock"));
    assert_eq!(count(&got, "/second"), 2, "{:?}", got.lock().expect("lock"));
    let logs = row["logs"].as_str().expect("logs");
    assert_eq!(occurrences(logs, "notification sent to First"), 1, "{logs}");
    assert_eq!(
        occurrences(logs, "notification sent to Second"),
        1,
        "{logs}"
    );
    assert_eq!(
        occurrences(logs, "disk: 1 backups, 1 kept, 0 deleted"),
        1,
        "{logs}"
    );
    let old = sqlite_json(
        &db_file,
        r#"SELECT "finalizedAt", "postProcessedAt" FROM "Execution" WHERE "id" = 'old-one'"#,
    );
    assert_eq!(
        old,
        vec![json!({"finalizedAt": null, "postProcessedAt": null})]
    );
    host.shutdown().await;
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db_name}"));
}
