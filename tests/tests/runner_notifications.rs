//! Notifications after executions, through the host with the real worker: a webhook channel
//! pointing at a local HTTP receiver gets the job name, status, source, destinations and —
//! on failure — the error text; `notificationEvents` filters; the send is logged on the
//! execution and never changes its status.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbackup_tests::{sqlite_json, wait_for, RealApp};
use http_body_util::BodyExt;
use hyper::service::service_fn;
use serde_json::{json, Value};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Value,
}

/// A loopback HTTP server recording every request (answers 204).
async fn receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<Received>>>) {
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
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let sink = sink.clone();
                    async move {
                        let method = req.method().to_string();
                        let path = req.uri().path().to_owned();
                        let content_type = req
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let bytes = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        sink.lock().expect("lock").push(Received {
                            method,
                            path,
                            content_type,
                            body,
                        });
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failure_notification_carries_the_error_and_filters_apply() {
    let (hook_addr, got) = receiver().await;
    let app = RealApp::with_worker().app_url().start().await;
    let store = app.backup_folder();
    let api = app.api();
    let admin = api.signup_admin().await;
    sqlite_json(
        &app.db_path(),
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg-missing', 'Missing DB', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"no_such_db_{pid}"}}'),
               ('disk', 'Local disk', 'storage', 'local', '{{"path":"{store}"}}'),
               ('hook', 'Ops hook', 'notification', 'webhook', '{{"url":"http://{hook_addr}/hooks/dbackup"}}')"#,
            pid = std::process::id(),
            store = store.display()
        ),
    );
    let job = |name: &str, events: &str| {
        json!({"name": name, "schedule": "@yearly", "sourceId": "pg-missing",
               "destinations": [{"destinationId": "disk"}], "notificationIds": ["hook"],
               "notificationEvents": events})
    };
    let quiet = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&job("quiet", "SUCCESS_ONLY")),
            201,
        )
        .await;
    let loud = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&job("loud", "FAILURE_ONLY")),
            201,
        )
        .await;

    // SUCCESS_ONLY: the failure sends nothing.
    let run = |j: &Value| format!("/api/jobs/{}/run", j["id"].as_str().expect("id"));
    let e1 = api.expect(&admin, "POST", &run(&quiet), None, 202).await;
    let e1 = api
        .finished_execution(&admin, e1["executionId"].as_str().expect("id"))
        .await;
    assert_eq!(e1["status"], "Failed", "{e1}");

    // FAILURE_ONLY: the failure sends one notification with the error text.
    let e2 = api.expect(&admin, "POST", &run(&loud), None, 202).await;
    let e2_id = e2["executionId"].as_str().expect("id").to_owned();
    let e2 = api.finished_execution(&admin, &e2_id).await;
    assert_eq!(e2["status"], "Failed", "{e2}");
    let error = e2["error"].as_str().expect("error text").to_owned();
    assert!(error.contains("no_such_db"), "{error}");

    let sent = wait_for(Duration::from_secs(60), || async {
        let g = got.lock().expect("lock").clone();
        (!g.is_empty()).then_some(g)
    })
    .await
    .expect("the webhook receives the notification");
    // Give a wrongly sent SUCCESS_ONLY notification the time to arrive too.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let sent_now = got.lock().expect("lock").clone();
    assert_eq!(sent_now.len(), 1, "{sent_now:?}");
    let r = &sent[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hooks/dbackup");
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.body["job"], "loud", "{:?}", r.body);
    assert_eq!(r.body["status"], "failure");
    assert_eq!(r.body["source"], "Missing DB");
    assert_eq!(r.body["destinations"], json!(["Local disk"]));
    assert_eq!(r.body["error"], error.as_str());
    assert!(r.body["title"]
        .as_str()
        .is_some_and(|t| t.contains("loud") && t.contains("Failed")));
    assert!(r.body["durationMs"].is_u64());

    // The send is logged on the execution; its status is unchanged.
    let logs = wait_for(Duration::from_secs(30), || async {
        let v = api
            .expect(
                &admin,
                "GET",
                &format!("/api/executions/{e2_id}"),
                None,
                200,
            )
            .await;
        let text = v["logs"].to_string();
        text.contains("notification sent to Ops hook").then_some(v)
    })
    .await
    .expect("the notification is logged on the execution");
    assert_eq!(logs["status"], "Failed");
    app.shutdown().await;
}
