//! `POST /v1/probe` for MariaDB (127.0.0.1:3306, root without password), SQLite (a real file),
//! Redis (127.0.0.1:6379) and MongoDB (a 503 naming `mongosh` when the tool is missing), with
//! the failures a user meets: closed port, wrong password, missing or foreign file.

mod common;

use common::Worker;
use http::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "probe-S3cret!";

fn names(body: &Value) -> Vec<(String, bool)> {
    body["databases"]
        .as_array()
        .unwrap_or_else(|| panic!("no databases in {body}"))
        .iter()
        .map(|d| (d["name"].as_str().unwrap().to_owned(), d["system"] == true))
        .collect()
}

#[tokio::test]
async fn mariadb_version_edition_databases_and_failures() {
    let w = Worker::start().await;
    for engine in ["mariadb", "mysql"] {
        let r = w
            .probe(json!({"engine": engine, "host": "127.0.0.1", "port": 3306, "user": "root"}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["ok"], true);
        assert_eq!(r.json["engine"], engine);
        assert!(
            r.json["version"].as_str().unwrap().contains('.'),
            "{}",
            r.text
        );
        assert!(
            r.json["edition"].as_str().unwrap().starts_with("MariaDB"),
            "{}",
            r.text
        );
        let dbs = names(&r.json);
        assert!(dbs.contains(&("mysql".into(), true)), "{dbs:?}");
        assert!(
            dbs.contains(&("information_schema".into(), true)),
            "{dbs:?}"
        );
        assert!(r.json["latencyMs"].is_u64());
    }

    let r = w
        .probe(json!({"engine": "mariadb", "host": "127.0.0.1", "port": 1, "user": "root"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json["error"], "connection failed");
    assert!(
        r.json["details"]
            .as_str()
            .unwrap()
            .contains("Can't connect"),
        "{}",
        r.text
    );

    let r = w
        .probe(
            json!({"engine": "mariadb", "host": "127.0.0.1", "port": 3306,
                      "user": "dbackup_nobody", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let details = r.json["details"].as_str().unwrap();
    assert!(details.contains("Access denied"), "{details}");
    assert!(!r.text.contains(PASSWORD), "{}", r.text);
    w.stop().await.unwrap();
}

#[tokio::test]
async fn sqlite_file_missing_file_and_foreign_file() {
    let w = Worker::start().await;
    let dir = std::env::temp_dir().join(format!("dbackup-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("app.db");
    let _ = std::fs::remove_file(&db);
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .status()
        .unwrap();
    assert!(status.success());
    let r = w.probe(json!({"engine": "sqlite", "path": db})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.json["version"].as_str().unwrap().starts_with('3'),
        "{}",
        r.text
    );
    assert_eq!(names(&r.json), [("app".to_owned(), false)]);

    let r = w
        .probe(json!({"engine": "sqlite", "path": dir.join("missing.db")}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.json["details"]
            .as_str()
            .unwrap()
            .ends_with("no such file"),
        "{}",
        r.text
    );

    let foreign = dir.join("notes.txt");
    std::fs::write(&foreign, "this is not a database, just text").unwrap();
    let r = w.probe(json!({"engine": "sqlite", "path": foreign})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.json["details"]
            .as_str()
            .unwrap()
            .contains("is not a SQLite database"),
        "{}",
        r.text
    );
    let r = w
        .probe(json!({"engine": "sqlite", "path": "relative.db"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    std::fs::remove_dir_all(&dir).unwrap();
    w.stop().await.unwrap();
}

#[tokio::test]
async fn redis_version_and_failures() {
    let w = Worker::start().await;
    let r = w
        .probe(json!({"engine": "redis", "host": "127.0.0.1", "port": 6379}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.json["version"].as_str().unwrap().contains('.'),
        "{}",
        r.text
    );
    let edition = r.json["edition"].as_str().unwrap();
    assert!(
        edition.starts_with("Redis") || edition.starts_with("Valkey"),
        "{edition}"
    );

    let r = w
        .probe(json!({"engine": "valkey", "host": "127.0.0.1", "port": 1}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.json["details"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{}",
        r.text
    );

    // The test server has no password: sending one is refused, and the message says why.
    let r = w
        .probe(json!({"engine": "redis", "host": "127.0.0.1", "port": 6379, "password": PASSWORD}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(!r.text.contains(PASSWORD), "{}", r.text);
    let details = r.json["details"].as_str().unwrap().to_ascii_lowercase();
    assert!(
        details.contains("auth") || details.contains("password"),
        "{details}"
    );

    // A server with a password (started here, loopback, no persistence): right and wrong one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--requirepass", PASSWORD])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let body = |password: &str| json!({"engine": "redis", "host": "127.0.0.1", "port": port, "password": password});
    let r = w.probe(body(PASSWORD)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = w.probe(body("wrong-password")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let details = r.json["details"].as_str().unwrap();
    assert!(
        details.contains("WRONGPASS") || details.contains("AUTH failed"),
        "{details}"
    );
    let r = w
        .probe(json!({"engine": "redis", "host": "127.0.0.1", "port": port}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.json["details"].as_str().unwrap().contains("NOAUTH"),
        "{}",
        r.text
    );
    server.kill().unwrap();
    server.wait().unwrap();
    w.stop().await.unwrap();
}

#[tokio::test]
async fn mongodb_without_mongosh_is_a_clear_503() {
    let has_mongosh = ["mongosh", "mongo"].iter().any(|t| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {t}"))
            .status()
            .is_ok_and(|s| s.success())
    });
    let w = Worker::start().await;
    let r = w
        .probe(json!({"engine": "mongodb", "uri": format!("mongodb://u:{PASSWORD}@127.0.0.1:1/")}))
        .await;
    assert!(!r.text.contains(PASSWORD), "{}", r.text);
    if has_mongosh {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    } else {
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
        assert!(r.text.contains("mongosh"), "{}", r.text);
    }
    let r = w
        .probe(json!({"engine": "mongodb", "uri": "http://x"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    w.stop().await.unwrap();
}
