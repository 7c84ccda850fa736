//! Issue 14, findings 3 and 4 (validation side), through the real host:
//! - a stored secret stays with the target it was entered for: a `PUT /api/adapters/{id}` or a
//!   `POST /api/adapters/test` with `id` that changes a field binding the secret (host, port,
//!   user, URL, endpoint, bucket, …) while sending the mask `••••` is a 400 naming the secret,
//!   and nothing is sent anywhere; tests by id are audited like updates;
//! - every URL or host a user types is refused at validation when it points at a link-local or
//!   cloud-metadata address (in any literal form), loopback and private ranges stay allowed;
//! - a notification channel's non-2xx answer is reported as a short status line, its body is
//!   not echoed back.

mod adapters_common;

use std::sync::{Arc, Mutex};

use adapters_common::start_app_with_worker;
use dbackup_tests::{sqlite_json, Api, Credential, RealApp, TEST_PASSWORD};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MASK: &str = "••••";
const CANARY: &str = "CANARY-SECRET-5e1d";

async fn signup(api: &Api) -> Credential {
    api.signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await
        .1
}

/// A raw HTTP/1.1 server on loopback standing in for "the caller's own server": it records
/// every request (head and body, as text) and answers `status` with `body`.
struct Catcher {
    addr: std::net::SocketAddr,
    got: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Catcher {
    async fn start(status: u16, body: &'static str) -> Catcher {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = got.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Read the head, then as much body as Content-Length says.
                    loop {
                        let Ok(n) = stream.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).into_owned();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let len = text[..end]
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + len {
                                break;
                            }
                        }
                    }
                    sink.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf).into_owned());
                    let answer = format!(
                        "HTTP/1.1 {status} Whatever\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Catcher { addr, got, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}

async fn create(api: &Api, who: &Credential, adapter_id: &str, config: Value) -> Value {
    api.expect(
        who,
        "POST",
        "/api/adapters",
        Some(&json!({"name": adapter_id, "adapterId": adapter_id, "config": config})),
        201,
    )
    .await
}

/// The 400 of a kept secret whose target changed: names the secret field and the change.
fn assert_must_reenter(r: &dbackup_tests::HttpResponse, secret: &str, changed: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    let body = r.json();
    let why = body["details"]["fields"][secret]
        .as_str()
        .unwrap_or_else(|| panic!("details.fields.{secret} missing: {body}"));
    assert!(
        why.contains("must be entered again") && why.contains(changed),
        "{body}"
    );
    assert!(body["error"].as_str().unwrap().contains(secret), "{body}");
    assert!(!body.to_string().contains(CANARY), "{body}");
}

fn audit_rows(app: &RealApp, action: &str) -> Vec<Value> {
    sqlite_json(
        &app.db_path(),
        &format!(
            "SELECT action, resource, resourceId, details FROM AuditLog WHERE action = '{action}' AND resource = 'adapter' ORDER BY createdAt"
        ),
    )
}

#[tokio::test]
async fn a_kept_secret_stays_with_its_target() {
    let app = start_app_with_worker().await;
    let api = app.api();
    let admin = signup(&api).await;

    // PUT: a PostgreSQL source moved to another host with the masked password → 400 naming
    // `password`; nothing changes; with the password itself → 200.
    let pg = create(
        &api,
        &admin,
        "postgres",
        json!({"host": "127.0.0.1", "user": "postgres", "password": CANARY}),
    )
    .await;
    let pg_id = pg["id"].as_str().unwrap();
    let mut moved = pg["config"].clone();
    moved["host"] = json!("10.66.0.1");
    assert_eq!(moved["password"], MASK);
    let r = api
        .call(
            &admin,
            "PUT",
            &format!("/api/adapters/{pg_id}"),
            Some(&json!({"config": moved})),
        )
        .await;
    assert_must_reenter(&r, "password", "host");
    let still = api
        .expect(&admin, "GET", &format!("/api/adapters/{pg_id}"), None, 200)
        .await;
    assert_eq!(still["config"]["host"], "127.0.0.1");
    // The port and the user bind it too; a field that does not (the database) keeps it.
    for (field, value) in [("port", json!(6543)), ("user", json!("other"))] {
        let mut c = pg["config"].clone();
        c[field] = value;
        let r = api
            .call(
                &admin,
                "PUT",
                &format!("/api/adapters/{pg_id}"),
                Some(&json!({"config": c})),
            )
            .await;
        assert_must_reenter(&r, "password", field);
    }
    let mut c = pg["config"].clone();
    c["database"] = json!("app");
    api.expect(
        &admin,
        "PUT",
        &format!("/api/adapters/{pg_id}"),
        Some(&json!({"config": c})),
        200,
    )
    .await;
    moved["password"] = json!("entered-again");
    let ok = api
        .expect(
            &admin,
            "PUT",
            &format!("/api/adapters/{pg_id}"),
            Some(&json!({"config": moved})),
            200,
        )
        .await;
    assert_eq!(ok["config"]["host"], "10.66.0.1");
    assert_eq!(ok["config"]["password"], MASK);

    // A webhook's Authorization header: pointing the saved webhook at another server with the
    // masked secret, by PUT or by a test with `id`, never delivers the secret there.
    let home = Catcher::start(200, "ok").await;
    let elsewhere = Catcher::start(200, "ok").await;
    let hook = create(
        &api,
        &admin,
        "webhook",
        json!({"url": home.url("/hook"), "authorization": format!("Bearer {CANARY}")}),
    )
    .await;
    let hook_id = hook["id"].as_str().unwrap();
    let mut redirected = hook["config"].clone();
    redirected["url"] = json!(elsewhere.url("/steal"));
    let r = api
        .call(
            &admin,
            "POST",
            "/api/adapters/test",
            Some(&json!({"id": hook_id, "adapterId": "webhook", "config": redirected})),
        )
        .await;
    assert_must_reenter(&r, "authorization", "url");
    let r = api
        .call(
            &admin,
            "PUT",
            &format!("/api/adapters/{hook_id}"),
            Some(&json!({"config": redirected})),
        )
        .await;
    assert_must_reenter(&r, "authorization", "url");
    let stolen = elsewhere.take();
    assert!(stolen.is_empty(), "sent elsewhere: {stolen:?}");

    // A test by id that changes nothing binding runs with the stored secret, and is audited
    // like an update: the adapter named, the changed fields listed, never the secret.
    let mut same_target = hook["config"].clone();
    same_target["method"] = json!("PUT");
    let r = api
        .expect(
            &admin,
            "POST",
            "/api/adapters/test",
            Some(&json!({"id": hook_id, "adapterId": "webhook", "config": same_target})),
            200,
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");
    let got = home.take();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("PUT /hook"), "{}", got[0]);
    assert!(got[0].contains(&format!("Bearer {CANARY}")), "{}", got[0]);
    let rows = audit_rows(&app, "test");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["resourceId"], hook_id);
    let details: Value = serde_json::from_str(rows[0]["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["adapterId"], "webhook");
    assert_eq!(details["name"], "webhook");
    assert_eq!(details["changedFields"], json!(["method"]));
    let all_audit = sqlite_json(&app.db_path(), "SELECT * FROM AuditLog");
    assert!(!serde_json::to_string(&all_audit).unwrap().contains(CANARY));

    // An S3 destination: a test by id at another endpoint, or another bucket, with the masked
    // key → 400 naming secretAccessKey (the worker is never asked).
    let s3 = create(
        &api,
        &admin,
        "s3",
        json!({"endpoint": "http://127.0.0.1:9", "region": "us-east-1", "bucket": "b",
               "forcePathStyle": true, "accessKeyId": "AKID", "secretAccessKey": CANARY}),
    )
    .await;
    let s3_id = s3["id"].as_str().unwrap();
    for (field, value) in [
        ("endpoint", json!(elsewhere.url(""))),
        ("bucket", json!("other")),
        ("accessKeyId", json!("AKOTHER")),
    ] {
        let mut c = s3["config"].clone();
        c[field] = value;
        let r = api
            .call(
                &admin,
                "POST",
                "/api/adapters/test",
                Some(&json!({"id": s3_id, "adapterId": "s3", "config": c})),
            )
            .await;
        assert_must_reenter(&r, "secretAccessKey", field);
    }
    assert!(elsewhere.take().is_empty());
    // Refused tests leave no audit row; the one allowed test by id above did.
    assert_eq!(audit_rows(&app, "test").len(), 1);

    home.task.abort();
    elsewhere.task.abort();
    app.shutdown().await;
}

#[tokio::test]
async fn metadata_addresses_are_refused_at_validation() {
    let app = RealApp::start().await;
    let api = app.api();
    let admin = signup(&api).await;
    let s3 = |endpoint: &str| {
        json!({"endpoint": endpoint, "region": "us-east-1", "bucket": "b",
               "accessKeyId": "a", "secretAccessKey": "s"})
    };
    let refused: Vec<(&str, Value, &str)> = vec![
        ("s3", s3("http://169.254.169.254/"), "endpoint"),
        ("s3", s3("http://2852039166/"), "endpoint"),
        ("s3", s3("http://0xa9fea9fe"), "endpoint"),
        (
            "s3",
            s3("http://169.254.169.254\\@example.com/"),
            "endpoint",
        ),
        (
            "minio",
            json!({"endpoint": "http://[fd00:ec2::254]:9000", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            "endpoint",
        ),
        (
            "s3-r2",
            json!({"accountId": "x@169.254.169.254/", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            "accountId",
        ),
        (
            "s3-aws",
            json!({"region": "x@169.254.169.254/", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            "region",
        ),
        (
            "s3-hetzner",
            json!({"region": "169.254.169.254#", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            "region",
        ),
        ("webhook", json!({"url": "http://[fe80::1]/hook"}), "url"),
        (
            "webhook",
            json!({"url": "http://[::ffff:169.254.169.254]/"}),
            "url",
        ),
        (
            "webhook",
            json!({"url": "http://metadata.google.internal/computeMetadata/v1/"}),
            "url",
        ),
        (
            "webhook",
            json!({"url": "http://１６９.２５４.１６９.２５４/"}),
            "url",
        ),
        (
            "discord",
            json!({"webhookUrl": "http://100.100.100.200/latest/meta-data"}),
            "webhookUrl",
        ),
        (
            "telegram",
            json!({"botToken": "t", "chatId": "1", "apiUrl": "http://169.254.169.254"}),
            "apiUrl",
        ),
        (
            "gotify",
            json!({"serverUrl": "http://169.254.0.1:80", "appToken": "t"}),
            "serverUrl",
        ),
        (
            "ntfy",
            json!({"serverUrl": "https://169.254.169.254", "topic": "t"}),
            "serverUrl",
        ),
        (
            "postgres",
            json!({"host": "169.254.169.254", "user": "u"}),
            "host",
        ),
        (
            "mysql",
            json!({"host": "0251.0376.0251.0376", "user": "u"}),
            "host",
        ),
        ("redis", json!({"host": "[fe80::1%eth0]"}), "host"),
        ("mongodb", json!({"host": "100.100.100.200"}), "host"),
        (
            "mongodb",
            json!({"uri": "mongodb://u:p@10.0.0.1:27017,169.254.169.254:27017/db"}),
            "uri",
        ),
        (
            "sftp",
            json!({"host": "169.254.169.254", "username": "u", "password": "p", "hostKey": "SHA256:x", "path": "/b"}),
            "host",
        ),
        (
            "email",
            json!({"host": "169.254.169.254", "from": "a@example.com", "to": ["b@example.com"]}),
            "host",
        ),
    ];
    for (adapter_id, config, field) in refused {
        for route in ["/api/adapters", "/api/adapters/test"] {
            let body = json!({"name": "x", "adapterId": adapter_id, "config": config});
            let r = api.call(&admin, "POST", route, Some(&body)).await;
            assert_eq!(r.status, 400, "{route} {body}: {}", r.text());
            let got = r.json();
            assert!(
                got["details"]["fields"][field].is_string(),
                "{route} {body}: {got}"
            );
            assert!(
                got["error"].as_str().unwrap().contains(field),
                "{route} {body}: {got}"
            );
        }
    }
    // Loopback and private ranges stay allowed (self-hosted databases live there).
    let allowed: Vec<(&str, Value)> = vec![
        ("s3", s3("http://127.0.0.1:9000")),
        ("s3", s3("http://10.1.2.3:9000")),
        (
            "minio",
            json!({"endpoint": "http://[::1]:9000", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
        ),
        (
            "s3-r2",
            json!({"accountId": "0123456789abcdef0123456789abcdef", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
        ),
        (
            "s3-aws",
            json!({"region": "eu-central-1", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
        ),
        ("postgres", json!({"host": "192.168.1.10", "user": "u"})),
        ("postgres", json!({"host": "db.internal", "user": "u"})),
        (
            "mongodb",
            json!({"uri": "mongodb+srv://u:p@cluster0.example.net/db"}),
        ),
        ("webhook", json!({"url": "http://172.16.0.5:8080/hook"})),
        (
            "email",
            json!({"host": "localhost", "from": "a@example.com", "to": ["b@example.com"]}),
        ),
    ];
    for (adapter_id, config) in allowed {
        let body = json!({"name": "ok", "adapterId": adapter_id, "config": config});
        let r = api.call(&admin, "POST", "/api/adapters", Some(&body)).await;
        assert_eq!(r.status, 201, "{body}: {}", r.text());
    }
    // An update is validated the same way.
    let hook = create(
        &api,
        &admin,
        "webhook",
        json!({"url": "http://127.0.0.1:9/hook"}),
    )
    .await;
    let r = api
        .call(
            &admin,
            "PUT",
            &format!("/api/adapters/{}", hook["id"].as_str().unwrap()),
            Some(&json!({"config": {"url": "http://169.254.169.254/"}})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["details"]["fields"]["url"].is_string());
    app.shutdown().await;
}

#[tokio::test]
async fn a_channel_error_body_is_not_echoed() {
    let app = RealApp::start().await;
    let api = app.api();
    let admin = signup(&api).await;
    let body = "INTERNAL-DETAIL-41c2 stack trace, tokens, whatever the server says";
    let catcher = Catcher::start(500, body).await;
    for (adapter_id, config) in [
        ("webhook", json!({"url": catcher.url("/hook")})),
        (
            "discord",
            json!({"webhookUrl": catcher.url("/discord/1/x")}),
        ),
        (
            "gotify",
            json!({"serverUrl": catcher.url(""), "appToken": "t"}),
        ),
    ] {
        let r = api
            .expect(
                &admin,
                "POST",
                "/api/adapters/test",
                Some(&json!({"adapterId": adapter_id, "config": config})),
                200,
            )
            .await;
        assert_eq!(r["ok"], false, "{r}");
        let m = r["message"].as_str().unwrap();
        assert!(m.contains("HTTP 500"), "{adapter_id}: {m}");
        assert!(!m.contains("INTERNAL-DETAIL"), "{adapter_id}: {m}");
        assert!(m.len() < 80, "{adapter_id}: {m}");
    }
    assert_eq!(catcher.take().len(), 3);
    catcher.task.abort();
    app.shutdown().await;
}

/// Secrets never appear in answers: the generic webhook's header values (`Authorization:
/// Bearer …`) are sealed at rest and masked per header, kept on PUT (and used) while `url`
/// stays, and a URL carrying credentials in its userinfo is refused at validation, naming the
/// field.
#[tokio::test]
async fn webhook_headers_and_url_credentials_are_never_shown_back() {
    let app = RealApp::start().await;
    let api = app.api();
    let admin = signup(&api).await;
    let catcher = Catcher::start(200, "ok").await;

    let with_userinfo = format!("http://user:{CANARY}@{}/hook", catcher.addr);
    for (adapter_id, field, config) in [
        ("webhook", "url", json!({"url": with_userinfo})),
        (
            "gotify",
            "serverUrl",
            json!({"serverUrl": with_userinfo, "appToken": "t"}),
        ),
        (
            "minio",
            "endpoint",
            json!({"endpoint": with_userinfo, "bucket": "b", "accessKeyId": "a",
                   "secretAccessKey": "s"}),
        ),
    ] {
        let r = api
            .call(
                &admin,
                "POST",
                "/api/adapters",
                Some(&json!({"name": adapter_id, "adapterId": adapter_id, "config": config})),
            )
            .await;
        assert_eq!(r.status, 400, "{adapter_id}: {}", r.text());
        let body = r.json();
        let why = body["details"]["fields"][field]
            .as_str()
            .unwrap_or_default();
        assert!(why.contains("credentials"), "{adapter_id}: {body}");
        assert!(!body.to_string().contains(CANARY), "{body}");
    }

    let url = catcher.url("/hook");
    let created = create(
        &api,
        &admin,
        "webhook",
        json!({"url": url, "headers": {"Authorization": format!("Bearer {CANARY}"),
                                       "X-Env": "prod"}}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let shown = json!({"Authorization": MASK, "X-Env": MASK});
    assert_eq!(created["config"]["headers"], shown, "{created}");
    let one = api
        .expect(&admin, "GET", &format!("/api/adapters/{id}"), None, 200)
        .await;
    let all = api.expect(&admin, "GET", "/api/adapters", None, 200).await;
    for answer in [&created, &one, &all] {
        assert!(!answer.to_string().contains(CANARY), "{answer}");
    }
    assert_eq!(one["config"]["headers"], shown);
    let at_rest = sqlite_json(
        &app.db_path(),
        r#"SELECT "config" AS c FROM "AdapterConfig""#,
    );
    assert!(!at_rest[0]["c"].to_string().contains(CANARY), "{at_rest:?}");

    // Saved back as shown (the form sends the masks): kept, and sent with the notification.
    let config = one["config"].clone();
    let r = api
        .call(
            &admin,
            "PUT",
            &format!("/api/adapters/{id}"),
            Some(&json!({"config": config})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains(CANARY));
    let tested = api
        .expect(
            &admin,
            "POST",
            &format!("/api/adapters/{id}/test"),
            None,
            200,
        )
        .await;
    assert_eq!(tested["ok"], true, "{tested}");
    let got = catcher.take();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains(&format!("Bearer {CANARY}")),
        "the kept header is sent: {}",
        got[0]
    );

    // Pointed elsewhere with the headers masked: they must be entered again.
    let mut moved = config.clone();
    moved["url"] = json!(catcher.url("/elsewhere"));
    let r = api
        .call(
            &admin,
            "PUT",
            &format!("/api/adapters/{id}"),
            Some(&json!({"config": moved})),
        )
        .await;
    assert_must_reenter(&r, "headers", "url");
    assert!(catcher.take().is_empty());
    catcher.task.abort();
    app.shutdown().await;
}
