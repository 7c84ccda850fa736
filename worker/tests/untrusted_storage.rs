//! Storage is not trusted: whoever can write to a destination must not be able to substitute
//! a dump of their choice for an encrypted backup. When the object's name says encrypted
//! (`.dbk`), its sidecar says so, or a key is supplied, a restore requires the `DBKENC01`
//! container and its authentication before a byte reaches the target, and `/v1/unseal`
//! (config restores) refuses plaintext the same way.

mod common;

use std::process::Command;

use base64::Engine;
use common::cli::{psql, rand_name};
use common::Worker;
use http::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

fn pg_exists(db: &str) -> bool {
    psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
    ) == "1"
}

fn pg_drop(db: &str) {
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
}

/// Restores `object` from `base` into the PostgreSQL database `target`; the finished task.
async fn restore(w: &Worker, base: &std::path::Path, object: &str, extra: Value) -> Value {
    let mut body = json!({
        "source": {"storage": {"kind": "local", "path": base}, "objectName": object},
        "target": {"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                   "user": "postgres", "database": extra["target"]},
    });
    for (k, v) in extra.as_object().unwrap() {
        if k != "target" {
            body[k] = v.clone();
        }
    }
    let r = w.call(Method::POST, "/v1/restores", Some(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    w.wait_task(r.json["taskId"].as_str().unwrap()).await
}

#[tokio::test]
async fn a_plain_dump_in_place_of_an_encrypted_backup_is_refused() {
    let w = Worker::start().await;
    let base = tempfile::tempdir().unwrap();
    let (legit, evil) = (rand_name("dbk_legit"), rand_name("dbk_evil"));
    psql("postgres", &format!("CREATE DATABASE {legit}"));
    psql(&legit, "CREATE TABLE accounts AS SELECT 1 AS id");
    psql("postgres", &format!("CREATE DATABASE {evil}"));
    psql(&evil, "CREATE TABLE planted AS SELECT 'attacker' AS who");

    // An encrypted backup (no compression, so the name carries no compression hint).
    let backup = w
        .run_task(
            "/v1/backups",
            json!({
                "source": {"engine": "postgresql", "host": "127.0.0.1", "port": 5432,
                           "user": "postgres", "database": legit},
                "compression": "NONE",
                "encryption": {"keyHex": KEY_HEX},
                "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}],
                "jobName": "nightly",
            }),
        )
        .await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let object = backup["result"]["objectName"].as_str().unwrap().to_owned();
    assert!(object.ends_with(".dump.dbk"), "{object}");

    // Someone with write access to the storage puts a plain `pg_dump -Fc` of another
    // database there and updates the sidecar's checksum.
    let path = base.path().join(&object);
    let dumped = Command::new("pg_dump")
        .args([
            "-Fc",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            &evil,
            "-f",
        ])
        .arg(&path)
        .status()
        .unwrap();
    assert!(dumped.success());
    let planted = std::fs::read(&path).unwrap();
    let sha = hex::encode(Sha256::digest(&planted));
    let meta_path = base.path().join(format!("{object}.meta.json"));
    let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["sha256"] = json!(sha);
    std::fs::write(&meta_path, meta.to_string()).unwrap();

    // As the app asks for it: the key and the sidecar's checksum.
    let with_key = rand_name("dbk_target");
    let task = restore(
        &w,
        base.path(),
        &object,
        json!({"target": with_key, "encryption": {"keyHex": KEY_HEX}, "expectedSha256": sha}),
    )
    .await;
    let with_key_created = pg_exists(&with_key);
    pg_drop(&with_key);

    // Without a key: the name still says encrypted.
    let without_key = rand_name("dbk_target");
    let task_no_key = restore(&w, base.path(), &object, json!({"target": without_key})).await;
    let without_key_created = pg_exists(&without_key);
    pg_drop(&without_key);

    // Under a name without `.dbk`: the sidecar still says encrypted.
    let renamed = object.trim_end_matches(".dbk").to_owned();
    std::fs::rename(&path, base.path().join(&renamed)).unwrap();
    std::fs::rename(&meta_path, base.path().join(format!("{renamed}.meta.json"))).unwrap();
    let by_sidecar = rand_name("dbk_target");
    let task_sidecar = restore(&w, base.path(), &renamed, json!({"target": by_sidecar})).await;
    let by_sidecar_created = pg_exists(&by_sidecar);
    pg_drop(&by_sidecar);

    // Verification off changes nothing: the container is still required.
    let unverified = rand_name("dbk_target");
    let task_unverified = restore(
        &w,
        base.path(),
        &renamed,
        json!({"target": unverified, "encryption": {"keyHex": KEY_HEX}, "verify": false}),
    )
    .await;
    let unverified_created = pg_exists(&unverified);
    pg_drop(&unverified);

    pg_drop(&legit);
    pg_drop(&evil);
    for (what, task, created) in [
        ("with the key", &task, with_key_created),
        ("without a key", &task_no_key, without_key_created),
        ("by the sidecar", &task_sidecar, by_sidecar_created),
        ("unverified", &task_unverified, unverified_created),
    ] {
        assert_eq!(task["status"], "failed", "{what}: {task}");
        assert!(!created, "{what}: the target database was created");
        let error = task["error"].as_str().unwrap_or_default();
        assert!(error.contains("not an encrypted"), "{what}: {error}");
    }
}

#[tokio::test]
async fn unseal_refuses_plaintext_where_a_container_is_expected() {
    let w = Worker::start().await;
    let plain = base64::engine::general_purpose::STANDARD.encode(br#"{"kind":"dbackup-config"}"#);
    // A key supplied: the content must be a container.
    let r = w
        .call(
            Method::POST,
            "/v1/unseal",
            Some(json!({"contentBase64": plain, "keyHex": KEY_HEX})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.json["details"]
        .as_str()
        .unwrap()
        .contains("not an encrypted"));
    // The object's name says encrypted.
    let r = w
        .call(
            Method::POST,
            "/v1/unseal",
            Some(json!({"contentBase64": plain,
                    "name": "config-backups/dbackup-config_2026-01-01T00-00-00Z.json.gz.dbk"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // Plaintext under a plain name, without a key, is still read (unencrypted config backups).
    let r = w
        .call(
            Method::POST,
            "/v1/unseal",
            Some(json!({"contentBase64": plain, "name": "config-backups/x.json"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
