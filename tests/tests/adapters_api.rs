//! `/api/adapter-types` and `/api/adapters` through the host with a spawned worker, against
//! the real services of the test machine: PostgreSQL (:5432), MariaDB (:3306), Redis (:6379),
//! a real SQLite file, local storage, and a local HTTP receiver standing in for the chat
//! services (exact payloads snapshotted). A canary secret in every secret field must never
//! appear in an answer, an audit row or the database files.

mod adapters_common;

use adapters_common::{start_app_with_worker, Received, Receiver};
use dbackup_tests::{sqlite_json, Api, Credential, RealApp, TempDir, TEST_PASSWORD};
use serde_json::{json, Value};

const CANARY: &str = "CANARY-7f3a9b";

async fn signup(api: &Api) -> Credential {
    api.signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await
        .1
}

async fn create(api: &Api, who: &Credential, body: Value) -> Value {
    api.expect(who, "POST", "/api/adapters", Some(&body), 201)
        .await
}

/// Every adapter with a valid config; each secret field holds a canary.
fn every_adapter(receiver: &Receiver, sqlite_path: &str, local_path: &str) -> Vec<Value> {
    let secret = |field: &str| format!("{CANARY}-{field}");
    let s3 = |extra: Value| {
        let mut c = json!({"bucket": "b", "prefix": "p", "accessKeyId": "AKID",
                           "secretAccessKey": secret("secretAccessKey")});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    vec![
        json!({"adapterId": "postgres", "config": {"host": "127.0.0.1", "user": "postgres", "password": secret("pg")}}),
        json!({"adapterId": "mysql", "config": {"host": "127.0.0.1", "user": "root", "password": secret("mysql")}}),
        json!({"adapterId": "mariadb", "config": {"host": "127.0.0.1", "port": 3306, "user": "root"}}),
        json!({"adapterId": "mongodb", "config": {"uri": format!("mongodb://u:{}@127.0.0.1:27017/", secret("mongo"))}}),
        json!({"adapterId": "sqlite", "config": {"path": sqlite_path}}),
        json!({"adapterId": "redis", "config": {"host": "127.0.0.1", "password": secret("redis")}}),
        json!({"adapterId": "valkey", "config": {"host": "127.0.0.1", "database": 3}}),
        json!({"adapterId": "local", "config": {"path": local_path}}),
        json!({"adapterId": "s3", "config": s3(json!({"endpoint": "http://127.0.0.1:9", "region": "us-east-1", "forcePathStyle": true}))}),
        json!({"adapterId": "s3-aws", "config": s3(json!({"region": "eu-central-1"}))}),
        json!({"adapterId": "s3-r2", "config": s3(json!({"accountId": "acc"}))}),
        json!({"adapterId": "s3-hetzner", "config": s3(json!({"region": "fsn1"}))}),
        json!({"adapterId": "minio", "config": s3(json!({"endpoint": "http://127.0.0.1:9"}))}),
        json!({"adapterId": "sftp", "config": {"host": "127.0.0.1", "port": 2222, "username": "u",
               "password": secret("sftpPassword"), "privateKey": secret("sftpKey"),
               "passphrase": secret("sftpPassphrase"), "hostKey": "SHA256:abc", "path": "/srv"}}),
        json!({"adapterId": "ftp", "config": {"host": "127.0.0.1", "user": "u", "password": secret("ftp"), "tls": "explicit", "path": "backups"}}),
        json!({"adapterId": "webdav", "config": {"url": "http://127.0.0.1:9/remote.php/dav/files/u", "vendor": "nextcloud", "user": "u", "password": secret("webdav")}}),
        json!({"adapterId": "smb", "config": {"host": "127.0.0.1", "share": "backups", "user": "u", "password": secret("smb"), "domain": "WORKGROUP"}}),
        json!({"adapterId": "gdrive", "config": {"token": format!("{{\"access_token\":\"{}\"}}", secret("gdrive")), "clientSecret": secret("gdriveClient")}}),
        json!({"adapterId": "dropbox", "config": {"token": secret("dropbox")}}),
        json!({"adapterId": "onedrive", "config": {"token": secret("onedrive"), "driveId": "b!x", "driveType": "business"}}),
        json!({"adapterId": "b2", "config": {"account": "kid", "key": secret("b2"), "bucket": "bk"}}),
        json!({"adapterId": "azureblob", "config": {"account": "acct", "key": secret("azure"), "container": "c"}}),
        json!({"adapterId": "gcs", "config": {"serviceAccountJson": format!("{{\n\"private_key\": \"{}\"\n}}", secret("gcs")), "bucket": "bk"}}),
        json!({"adapterId": "rclone", "config": {"backend": "pcloud", "options": {"hostname": "eapi.pcloud.com"}, "secretOptions": {"token": secret("rclone")}}}),
        json!({"adapterId": "discord", "config": {"webhookUrl": receiver.url(&format!("/discord/{}", secret("discord")))}}),
        json!({"adapterId": "slack", "config": {"webhookUrl": receiver.url(&format!("/slack/{}", secret("slack"))), "channel": "#ops"}}),
        json!({"adapterId": "teams", "config": {"webhookUrl": receiver.url(&format!("/teams/{}", secret("teams")))}}),
        json!({"adapterId": "telegram", "config": {"botToken": secret("telegram"), "chatId": "-100", "apiUrl": receiver.url("/telegram")}}),
        json!({"adapterId": "gotify", "config": {"serverUrl": receiver.url("/gotify"), "appToken": secret("gotify")}}),
        json!({"adapterId": "ntfy", "config": {"serverUrl": receiver.url("/ntfy"), "topic": "backups", "accessToken": secret("ntfy")}}),
        json!({"adapterId": "webhook", "config": {"url": receiver.url("/hook"), "headers": {"X-Env": "test"}, "authorization": format!("Bearer {}", secret("webhook"))}}),
        json!({"adapterId": "email", "config": {"host": "127.0.0.1", "port": 1, "tls": "none", "username": "u", "password": secret("smtp"),
               "from": "dbackup@example.com", "to": ["ops@example.com"]}}),
    ]
}

/// Every file of the app's data dir contains no canary (the database, its WAL and journal).
fn assert_no_canary_on_disk(app: &RealApp) {
    let data = app.dir.join("data");
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes());
            assert!(!found, "canary in plaintext in {}", path.display());
        }
    }
}

#[tokio::test]
async fn crud_for_every_adapter_with_secrets_sealed_and_masked() {
    let app = start_app_with_worker().await;
    let api = app.api();
    let admin = signup(&api).await;
    let receiver = Receiver::start().await;
    let scratch = TempDir::new();
    let local = scratch.join("backups");
    std::fs::create_dir_all(&local).unwrap();

    // The registry: every adapter with its schema and secret fields.
    let types = api
        .expect(&admin, "GET", "/api/adapter-types", None, 200)
        .await;
    let ids: Vec<&str> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 33, "{ids:?}"); // + files (issue 17)
    let pg = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "postgres")
        .unwrap();
    assert_eq!(pg["type"], "database");
    assert_eq!(pg["secretFields"], json!(["password", "ssh"])); // ssh: its password/privateKey (issue 17)
    assert_eq!(pg["schema"]["properties"]["port"]["default"], 5432);
    let storage = api
        .expect(&admin, "GET", "/api/adapter-types?type=storage", None, 200)
        .await;
    assert_eq!(storage.as_array().unwrap().len(), 17);

    let mut created = Vec::new();
    for (i, spec) in every_adapter(&receiver, "/tmp/app.db", local.to_str().unwrap())
        .into_iter()
        .enumerate()
    {
        let adapter_id = spec["adapterId"].as_str().unwrap().to_owned();
        let t = types
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == adapter_id)
            .unwrap();
        let body = json!({"name": format!("{adapter_id} #{i}"), "type": t["type"], "adapterId": adapter_id, "config": spec["config"]});
        let a = create(&api, &admin, body).await;
        let text = a.to_string();
        assert!(!text.contains(CANARY), "{text}");
        for f in t["secretFields"].as_array().unwrap() {
            let f = f.as_str().unwrap();
            match spec["config"].get(f) {
                // A secret map (webhook headers): each value masked, the names shown.
                Some(Value::Object(m)) => {
                    for k in m.keys() {
                        assert_eq!(a["config"][f][k], "••••", "{adapter_id}.{f}.{k}");
                    }
                }
                Some(_) => assert_eq!(a["config"][f], "••••", "{adapter_id}.{f}"),
                None => {}
            }
        }
        assert_eq!(a["type"], t["type"]);
        assert_eq!(a["lastStatus"], "ONLINE");
        created.push((adapter_id, a));
    }

    // List (all and by type), get.
    let all = api.expect(&admin, "GET", "/api/adapters", None, 200).await;
    assert_eq!(all.as_array().unwrap().len(), 32);
    assert!(!all.to_string().contains(CANARY));
    let notif = api
        .expect(&admin, "GET", "/api/adapters?type=notification", None, 200)
        .await;
    assert_eq!(notif.as_array().unwrap().len(), 8);
    for (_, a) in &created {
        let id = a["id"].as_str().unwrap();
        let got = api
            .expect(&admin, "GET", &format!("/api/adapters/{id}"), None, 200)
            .await;
        assert_eq!(&got, a);
    }

    // Update: the marker keeps the stored secret (the webhook still sends it), a new value
    // replaces it, and type/adapterId cannot change.
    let (_, hook) = created.iter().find(|(id, _)| id == "webhook").unwrap();
    let hook_id = hook["id"].as_str().unwrap();
    let mut config = hook["config"].clone();
    config["headers"] = json!({"X-Env": "prod"});
    let updated = api
        .expect(
            &admin,
            "PUT",
            &format!("/api/adapters/{hook_id}"),
            Some(&json!({"name": "hook 2", "config": config})),
            200,
        )
        .await;
    assert_eq!(updated["name"], "hook 2");
    assert_eq!(updated["config"]["authorization"], "••••");
    let r = api
        .expect(
            &admin,
            "POST",
            &format!("/api/adapters/{hook_id}/test"),
            None,
            200,
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");
    let got = receiver.take();
    assert_eq!(got.len(), 1);
    let auth = got[0]
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap();
    assert_eq!(auth.1, format!("Bearer {CANARY}-webhook"));
    assert!(got[0].headers.contains(&("x-env".into(), "prod".into())));
    let r = api
        .call(
            &admin,
            "PUT",
            &format!("/api/adapters/{hook_id}"),
            Some(&json!({"adapterId": "slack"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());

    // Validation names every bad field.
    let r = api
        .call(
            &admin,
            "POST",
            "/api/adapters",
            Some(&json!({"name": "bad", "adapterId": "postgres",
            "config": {"host": "bad host", "port": 0, "color": "red"}})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"error": "invalid postgres config: color, host, port, user", "details": {"fields": {
            "color": "unknown field for postgres", "host": "must be a host name or IP address",
            "port": "must be an integer between 1 and 65535", "user": "is required"}}})
    );
    for body in [
        json!({"name": "x", "adapterId": "oracle", "config": {}}),
        json!({"name": "x", "type": "storage", "adapterId": "postgres", "config": {}}),
        json!({"name": "", "adapterId": "local", "config": {"path": "/x"}}),
        json!({"name": "x", "adapterId": "local", "config": {"path": "relative"}}),
        json!({"name": "x", "adapterId": "webhook", "config": {"url": "ftp://x"}}),
        json!({"name": "x", "adapterId": "sftp", "config": {"host": "h", "username": "u", "hostKey": "k", "path": "/"}}),
        json!({"name": "x", "adapterId": "s3", "config": {"endpoint": "http://x", "region": "r", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "••••"}}),
    ] {
        let r = api.call(&admin, "POST", "/api/adapters", Some(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
    }

    // Audit rows name what changed, never a secret.
    let audit = api
        .expect(&admin, "GET", "/api/audit?limit=200", None, 200)
        .await;
    let audit_text = audit.to_string();
    assert!(audit_text.contains("\"adapter\""), "{audit_text}");
    assert!(!audit_text.contains(CANARY), "{audit_text}");
    let rows = sqlite_json(&app.db_path(), "SELECT * FROM AuditLog");
    assert!(!serde_json::to_string(&rows).unwrap().contains(CANARY));

    // Stored config: envelopes, not plaintext.
    let stored = sqlite_json(
        &app.db_path(),
        &format!("SELECT config FROM AdapterConfig WHERE id = '{hook_id}'"),
    );
    let stored: Value = serde_json::from_str(stored[0]["config"].as_str().unwrap()).unwrap();
    assert!(
        stored["authorization"].as_str().unwrap().starts_with("v1:"),
        "{stored}"
    );

    assert_no_canary_on_disk(&app);

    // Delete: 204, then 404.
    for (_, a) in &created {
        let id = a["id"].as_str().unwrap();
        api.expect(&admin, "DELETE", &format!("/api/adapters/{id}"), None, 204)
            .await;
        let r = api
            .call(&admin, "GET", &format!("/api/adapters/{id}"), None)
            .await;
        assert_eq!(
            (r.status, r.json()),
            (404, json!({"error": "adapter not found"}))
        );
    }
    assert_no_canary_on_disk(&app);
    app.shutdown().await;
    receiver.task.abort();
}

/// Tests a config without saving it.
async fn test_unsaved(api: &Api, who: &Credential, adapter_id: &str, config: Value) -> Value {
    let started = std::time::Instant::now();
    let r = api
        .expect(
            who,
            "POST",
            "/api/adapters/test",
            Some(&json!({"adapterId": adapter_id, "config": config})),
            200,
        )
        .await;
    assert!(
        started.elapsed().as_secs() < 20,
        "{adapter_id}: {:?}",
        started.elapsed()
    );
    assert!(r["latencyMs"].is_u64(), "{r}");
    assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
    r
}

fn failed_with(r: &Value, needle: &str) {
    assert_eq!(r["ok"], false, "{r}");
    let m = r["message"].as_str().unwrap();
    assert!(m.contains(needle), "expected {needle:?} in {m:?}");
}

#[tokio::test]
async fn connection_tests_against_real_services() {
    let app = start_app_with_worker().await;
    let api = app.api();
    let admin = signup(&api).await;
    let scratch = TempDir::new();

    // PostgreSQL: saved adapter, version into metadata, databases with the system one flagged.
    let pg = create(
        &api,
        &admin,
        json!({"name": "pg", "adapterId": "postgres",
        "config": {"host": "127.0.0.1", "user": "postgres", "password": "unused-with-trust"}}),
    )
    .await;
    let id = pg["id"].as_str().unwrap();
    let r = api
        .expect(
            &admin,
            "POST",
            &format!("/api/adapters/{id}/test"),
            None,
            200,
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");
    let version = r["version"].as_str().unwrap().to_owned();
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .starts_with("connected to PostgreSQL"),
        "{r}"
    );
    let got = api
        .expect(&admin, "GET", &format!("/api/adapters/{id}"), None, 200)
        .await;
    assert_eq!(got["metadata"]["engineVersion"], version.as_str());
    assert!(got["metadata"]["lastCheck"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let dbs = api
        .expect(
            &admin,
            "GET",
            &format!("/api/adapters/{id}/databases"),
            None,
            200,
        )
        .await;
    assert!(
        dbs.as_array()
            .unwrap()
            .contains(&json!({"name": "postgres", "system": true})),
        "{dbs}"
    );

    let pg_at = |host: &str, port: u16| json!({"host": host, "port": port, "user": "postgres"});
    failed_with(
        &test_unsaved(&api, &admin, "postgres", pg_at("127.0.0.1", 1)).await,
        "Connection refused",
    );
    failed_with(
        &test_unsaved(&api, &admin, "postgres", pg_at("nonexistent.invalid", 5432)).await,
        "nonexistent.invalid",
    );

    // MariaDB: version and edition; a wrong password is refused by the server.
    let r = test_unsaved(
        &api,
        &admin,
        "mariadb",
        json!({"host": "127.0.0.1", "user": "root"}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["edition"].as_str().unwrap().starts_with("MariaDB"), "{r}");
    failed_with(
        &test_unsaved(
            &api,
            &admin,
            "mysql",
            json!({"host": "127.0.0.1", "user": "dbackup_nobody", "password": "wrong"}),
        )
        .await,
        "Access denied",
    );
    failed_with(
        &test_unsaved(
            &api,
            &admin,
            "mariadb",
            json!({"host": "127.0.0.1", "port": 1, "user": "root"}),
        )
        .await,
        "Can't connect",
    );

    // Redis.
    let r = test_unsaved(&api, &admin, "redis", json!({"host": "127.0.0.1"})).await;
    assert_eq!(r["ok"], true, "{r}");
    failed_with(
        &test_unsaved(
            &api,
            &admin,
            "valkey",
            json!({"host": "127.0.0.1", "port": 1}),
        )
        .await,
        "Connection refused",
    );

    // SQLite: a real file, a missing one.
    let db = scratch.join("app.db");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t(x);")
        .status()
        .unwrap();
    assert!(status.success());
    let r = test_unsaved(&api, &admin, "sqlite", json!({"path": db})).await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["version"].as_str().unwrap().starts_with('3'));
    failed_with(
        &test_unsaved(
            &api,
            &admin,
            "sqlite",
            json!({"path": scratch.join("missing.db")}),
        )
        .await,
        "no such file",
    );

    // MongoDB: without mongosh on this machine the worker says so.
    let r = test_unsaved(&api, &admin, "mongodb", json!({"host": "127.0.0.1"})).await;
    assert_eq!(r["ok"], false, "{r}");

    // Local storage: write/read/delete a probe object; a base under a file fails.
    let base = scratch.join("store");
    std::fs::create_dir_all(&base).unwrap();
    let r = test_unsaved(&api, &admin, "local", json!({"path": base})).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        std::fs::read_dir(&base).unwrap().count(),
        0,
        "the probe object is deleted"
    );
    let r = test_unsaved(&api, &admin, "local", json!({"path": db.join("sub")})).await;
    assert_eq!(r["ok"], false, "{r}");

    // S3 with nothing listening: a clear failure, not a hang.
    let r = test_unsaved(
        &api,
        &admin,
        "s3",
        json!({"endpoint": "http://127.0.0.1:1", "region": "us-east-1",
        "bucket": "b", "forcePathStyle": true, "accessKeyId": "a", "secretAccessKey": "s"}),
    )
    .await;
    assert_eq!(r["ok"], false, "{r}");
    app.shutdown().await;
}

/// The part of a received request that the snapshot shows.
fn shown(r: &Received) -> Value {
    let headers: Vec<&(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| k == "content-type" || k == "authorization" || k.starts_with("x-"))
        .collect();
    json!({
        "method": r.method,
        "path": r.path,
        "headers": headers,
        "body": serde_json::from_str::<Value>(&r.body).unwrap_or(json!(r.body)),
    })
}

#[tokio::test]
async fn chat_channels_send_exact_payloads() {
    let app = start_app_with_worker().await;
    let api = app.api();
    let admin = signup(&api).await;
    let receiver = Receiver::start().await;
    let channels = [
        (
            "discord",
            json!({"webhookUrl": receiver.url("/discord/123/token")}),
        ),
        (
            "slack",
            json!({"webhookUrl": receiver.url("/slack/T/B/X"), "channel": "#ops", "username": "dbackup"}),
        ),
        ("teams", json!({"webhookUrl": receiver.url("/teams/hook")})),
        (
            "telegram",
            json!({"botToken": "123:ABC", "chatId": "-100200", "apiUrl": receiver.url("/tg")}),
        ),
        (
            "gotify",
            json!({"serverUrl": receiver.url("/gotify/"), "appToken": "Atoken", "priority": 4}),
        ),
        (
            "ntfy",
            json!({"serverUrl": receiver.url("/ntfy"), "topic": "backups", "accessToken": "tk_1"}),
        ),
        (
            "webhook",
            json!({"url": receiver.url("/hook"), "method": "PUT", "headers": {"X-Env": "test"},
            "bodyTemplate": "{\"text\": \"{{title}}\", \"status\": \"{{status}}\"}"}),
        ),
    ];
    let mut payloads = serde_json::Map::new();
    for (adapter_id, config) in channels {
        let a = create(
            &api,
            &admin,
            json!({"name": adapter_id, "adapterId": adapter_id, "config": config}),
        )
        .await;
        let id = a["id"].as_str().unwrap();
        let r = api
            .expect(
                &admin,
                "POST",
                &format!("/api/adapters/{id}/test"),
                None,
                200,
            )
            .await;
        assert_eq!(r["ok"], true, "{adapter_id}: {r}");
        assert_eq!(r["message"], "test message sent (HTTP 200)");
        let got = receiver.take();
        assert_eq!(got.len(), 1, "{adapter_id}: {got:?}");
        payloads.insert(adapter_id.to_owned(), shown(&got[0]));
    }
    insta::assert_json_snapshot!("adapters_chat_payloads", Value::Object(payloads));

    // A service that answers 500, and one that is not there.
    let r = test_unsaved(
        &api,
        &admin,
        "discord",
        json!({"webhookUrl": receiver.url("/fail")}),
    )
    .await;
    failed_with(&r, "HTTP 500");
    let r = test_unsaved(
        &api,
        &admin,
        "webhook",
        json!({"url": "http://127.0.0.1:1/x"}),
    )
    .await;
    failed_with(&r, "request failed");
    receiver.task.abort();
    app.shutdown().await;
}

#[tokio::test]
async fn permissions_follow_the_adapter_type() {
    // The worker checks a local destination's path before it is saved.
    let app = start_app_with_worker().await;
    let api = app.api();
    let admin = signup(&api).await;
    let pg = create(
        &api,
        &admin,
        json!({"name": "pg", "adapterId": "postgres",
        "config": {"host": "127.0.0.1", "user": "postgres"}}),
    )
    .await;
    let local = create(
        &api,
        &admin,
        json!({"name": "disk", "adapterId": "local", "config": {"path": app.dir.join("data/backups/b")}}),
    )
    .await;
    let group = api
        .create_group(&admin, "source readers", &["sources:read"])
        .await;
    api.create_user(&admin, "Reader", "reader@example.com", group["id"].as_str())
        .await;
    let reader = api.login("reader@example.com", TEST_PASSWORD).await;

    let list = api.expect(&reader, "GET", "/api/adapters", None, 200).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pg"]);
    let pg_id = pg["id"].as_str().unwrap();
    let local_id = local["id"].as_str().unwrap();
    api.expect(&reader, "GET", &format!("/api/adapters/{pg_id}"), None, 200)
        .await;
    let r = api
        .call(&reader, "GET", &format!("/api/adapters/{local_id}"), None)
        .await;
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"error": "adapter not found"}))
    );
    let r = api
        .call(&reader, "GET", "/api/adapters?type=storage", None)
        .await;
    assert_eq!(
        (r.status, r.json()),
        (
            403,
            json!({"error": "missing permission destinations:read"})
        )
    );
    let r = api
        .call(&reader, "DELETE", &format!("/api/adapters/{pg_id}"), None)
        .await;
    assert_eq!(
        (r.status, r.json()),
        (403, json!({"error": "missing permission sources:write"}))
    );
    let r = api
        .call(
            &reader,
            "POST",
            "/api/adapters",
            Some(&json!({"name": "x", "adapterId": "local", "config": {"path": "/x"}})),
        )
        .await;
    assert_eq!(
        (r.status, r.json()),
        (
            403,
            json!({"error": "missing permission destinations:write"})
        )
    );
    let r = api
        .call(
            &reader,
            "POST",
            "/api/adapters/test",
            Some(&json!({"adapterId": "postgres", "config": {"host": "h", "user": "u"}})),
        )
        .await;
    assert_eq!(
        (r.status, r.json()),
        (403, json!({"error": "missing permission sources:write"}))
    );
    let r = api
        .call(&Credential::Anonymous, "GET", "/api/adapter-types", None)
        .await;
    assert_eq!(r.status, 401);
    app.shutdown().await;
}

#[tokio::test]
async fn delete_is_refused_while_a_job_uses_the_adapter() {
    let app = start_app_with_worker().await;
    let api = app.api();
    let admin = signup(&api).await;
    let pg = create(
        &api,
        &admin,
        json!({"name": "pg", "adapterId": "postgres",
        "config": {"host": "127.0.0.1", "user": "postgres"}}),
    )
    .await;
    let local = create(
        &api,
        &admin,
        json!({"name": "disk", "adapterId": "local", "config": {"path": app.dir.join("data/backups/b")}}),
    )
    .await;
    let (pg_id, local_id) = (pg["id"].as_str().unwrap(), local["id"].as_str().unwrap());
    sqlite_json(
        &app.db_path(),
        &format!("INSERT INTO Job (id, name, schedule, sourceId, destinationId) VALUES ('j1', 'nightly', '0 3 * * *', '{pg_id}', '{local_id}')"),
    );
    for id in [pg_id, local_id] {
        let r = api
            .call(&admin, "DELETE", &format!("/api/adapters/{id}"), None)
            .await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({"error": "adapter is used by jobs: nightly", "details": {"jobs": [{"id": "j1", "name": "nightly"}]}})
        );
    }
    sqlite_json(&app.db_path(), "DELETE FROM Job");
    api.expect(
        &admin,
        "DELETE",
        &format!("/api/adapters/{pg_id}"),
        None,
        204,
    )
    .await;
    app.shutdown().await;
}
