//! Storage is not trusted (issue 14, finding 5), end to end: an encrypted backup made by a job
//! is replaced in its local destination by a plain `pg_dump -Fc` of another database (gzipped,
//! like the original's payload), with the sidecar's checksum updated. `POST /api/restores` of
//! that backup fails, and the target database is never created: the restore sends the key
//! (the name ends in `.dbk`) and the worker then accepts nothing but the encrypted container.

mod adapters_common;

use std::process::Command;

use adapters_common::start_app;
use dbackup_identity::secretbox::SecretBox;
use dbackup_tests::{psql, sqlite_json, TEST_PASSWORD};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn pg_exists(db: &str) -> bool {
    psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
    ) == "1"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_substituted_plain_dump_never_reaches_the_target() {
    let suffix = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let (legit, evil, target) = (
        format!("sr_legit_{suffix}"),
        format!("sr_evil_{suffix}"),
        format!("sr_target_{suffix}"),
    );
    psql("postgres", &format!("CREATE DATABASE {legit}"));
    psql(&legit, "CREATE TABLE accounts AS SELECT 1 AS id");
    psql("postgres", &format!("CREATE DATABASE {evil}"));
    psql(&evil, "CREATE TABLE planted AS SELECT 'attacker' AS who");

    // With the cron trigger: the runner dispatches the queued backup and restore.
    let app = start_app(true).await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    // Inside the worker's default root (the data directory's backups/ folder).
    let store = app.dir.join("data/backups/store");
    std::fs::create_dir_all(&store).expect("store");
    sqlite_json(
        &app.db_path(),
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg', 'PG', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{legit}"}}'),
               ('pg-target', 'PG target', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"postgres"}}'),
               ('disk', 'Disk', 'storage', 'local', '{{"path":"{}"}}')"#,
            store.display()
        ),
    );
    let sealed = SecretBox::from_hex_key(&app.encryption_key)
        .expect("box")
        .encrypt(&[9u8; 32], "EncryptionProfile.secretKey:prof")
        .expect("seal");
    sqlite_json(
        &app.db_path(),
        &format!(
            r#"INSERT INTO "EncryptionProfile" ("id", "name", "secretKey") VALUES ('prof', 'Key', '{sealed}')"#
        ),
    );
    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(
                &json!({"name": "nightly", "schedule": "@yearly", "sourceId": "pg",
                         "destinations": [{"destinationId": "disk"}], "compression": "GZIP",
                         "encryptionProfileId": "prof"}),
            ),
            201,
        )
        .await;
    let backup = api.run_job(&admin, job["id"].as_str().expect("id")).await;
    assert_eq!(backup["status"], "Success", "{backup}");
    let path = backup["path"].as_str().expect("path").to_owned();
    assert!(path.ends_with(".dump.gz.dbk"), "{path}");

    // Someone with write access to the destination swaps in their own dump.
    let object = store.join(&path);
    let planted = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "pg_dump -Fc -h 127.0.0.1 -U postgres -d {evil} | gzip -c > '{}'",
            object.display()
        ))
        .status()
        .expect("pg_dump");
    assert!(planted.success());
    let sha = format!(
        "{:x}",
        Sha256::digest(std::fs::read(&object).expect("object"))
    );
    let meta_path = store.join(format!("{path}.meta.json"));
    let mut meta: Value =
        serde_json::from_slice(&std::fs::read(&meta_path).expect("sidecar")).expect("json");
    meta["sha256"] = json!(sha);
    std::fs::write(&meta_path, meta.to_string()).expect("sidecar");

    let restore = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(
                &json!({"destinationId": "disk", "path": path, "targetSourceId": "pg-target",
                         "databaseMapping": {legit.as_str(): target.as_str()}}),
            ),
            202,
        )
        .await;
    let id = restore["executionId"]
        .as_str()
        .or_else(|| restore["id"].as_str())
        .expect("execution id")
        .to_owned();
    let done = api.finished_execution(&admin, &id).await;
    let created = pg_exists(&target);
    for db in [&legit, &evil, &target] {
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
    }
    app.shutdown().await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert!(
        done.to_string()
            .contains("not an encrypted dbackup container"),
        "{done}"
    );
    assert!(!created, "the target database was created");
}
