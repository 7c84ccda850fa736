//! Config self-backup through the real host, worker, runner and PostgreSQL: a configured
//! install backs its configuration up (run now and on its schedule, keep-N), then a *new*
//! install — new data dir, different `encryption_key` — restores it from the uploaded file (dry
//! run first: the change list; then for real: ids remapped, secrets re-sealed, the admin's
//! password working), the restored job runs and its backup restores into PostgreSQL. Bad
//! documents and wrong keys change nothing; validation answers 400 naming the field; every
//! change is audited.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dbackup_tests::{
    psql, request, sqlite_json, wait_for, Api, Credential, HttpResponse, RealApp, TempDir,
    TEST_PASSWORD,
};
use serde_json::{json, Value};

struct App {
    app: RealApp,
    api: Api,
    admin: Credential,
    db: PathBuf,
}

/// The real app with the runner and a spawned worker, a fresh data dir and fresh secrets; the
/// first user signs up as `email`.
async fn start(email: &str) -> App {
    let app = RealApp::with_worker().app_url().start().await;
    let api = app.api();
    let (_, admin) = api.signup("Admin", email, TEST_PASSWORD).await;
    App {
        api,
        admin,
        db: app.db_path(),
        app,
    }
}

impl App {
    async fn expect(&self, method: &str, target: &str, body: Option<&Value>, status: u16) -> Value {
        self.api
            .expect(&self.admin, method, target, body, status)
            .await
    }

    /// Uploads `bytes` as the raw body of `POST /api/system/config-restore?{query}`.
    async fn upload(&self, query: &str, bytes: &[u8]) -> HttpResponse {
        let Credential::Cookie(jwt) = &self.admin else {
            panic!("cookie session expected")
        };
        let cookie = format!("dbackup_session={jwt}");
        request(
            self.api.addr,
            "POST",
            &format!("/api/system/config-restore?{query}"),
            &[
                ("cookie", &cookie),
                ("x-requested-with", "XMLHttpRequest"),
                ("content-type", "application/octet-stream"),
            ],
            Some(bytes.to_vec()),
        )
        .await
        .expect("upload")
    }

    fn count(&self, table: &str) -> u64 {
        sqlite_json(&self.db, &format!(r#"SELECT count(*) AS n FROM "{table}""#))[0]["n"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Runs job `id` now; waits for the execution to end; returns it.
    async fn run_job(&self, id: &str) -> Value {
        self.api.run_job(&self.admin, id).await
    }
}

fn objects(store: &Path) -> Vec<String> {
    let dir = store.join("config-backups");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn change<'a>(report: &'a Value, entity: &str, name: &str) -> &'a Value {
    report["changes"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["entity"] == entity && c["name"] == name)
        })
        .unwrap_or_else(|| panic!("no {entity} {name} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn config_backup_restores_into_a_new_install_with_another_key() {
    let pid = std::process::id();
    let (src_db, copy_db) = (format!("cfgbk_src_{pid}"), format!("cfgbk_copy_{pid}"));
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    psql("postgres", &format!("CREATE DATABASE {src_db}"));
    psql(
        &src_db,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 500) g;",
    );
    let outer = TempDir::new();
    let store = outer.join("backups");
    std::fs::create_dir_all(&store).expect("store");

    // ---------------------------------------------------------------- the original install
    let a = start("admin@example.com").await;
    let pg = a
        .expect(
            "POST",
            "/api/adapters",
            Some(&json!({"name": "PG", "adapterId": "postgres", "config": {
                "host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "not-needed-but-secret",
                "database": src_db}})),
            201,
        )
        .await;
    let disk = a
        .expect(
            "POST",
            "/api/adapters",
            Some(&json!({"name": "Disk", "adapterId": "local", "config": {"path": store}})),
            201,
        )
        .await;
    let (pg_id, disk_id) = (pg["id"].as_str().unwrap(), disk["id"].as_str().unwrap());
    let profile = a
        .expect(
            "POST",
            "/api/encryption-profiles",
            Some(&json!({"name": "Main key"})),
            201,
        )
        .await;
    let profile_id = profile["id"].as_str().unwrap().to_owned();
    let revealed = a
        .expect(
            "POST",
            &format!("/api/encryption-profiles/{profile_id}/reveal"),
            Some(&json!({"password": TEST_PASSWORD})),
            200,
        )
        .await;
    let key_hex = revealed["key"].as_str().unwrap().to_owned();
    let job = a
        .expect(
            "POST",
            "/api/jobs",
            Some(
                &json!({"name": "nightly", "schedule": "0 2 * * *", "sourceId": pg_id,
                "databases": [src_db], "destinations": [{"destinationId": disk_id}],
                "compression": "ZSTD", "encryptionProfileId": profile_id}),
            ),
            201,
        )
        .await;
    let original_job_id = job["id"].as_str().unwrap().to_owned();

    // Defaults, then validation: 400 naming the field, nothing stored.
    let view = a
        .expect("GET", "/api/system/config-backup", None, 200)
        .await;
    assert_eq!(
        view["config"],
        json!({"enabled": false, "schedule": "0 3 * * *", "timezone": "UTC", "destinationId": null,
               "encryptionProfileId": null, "includeSecrets": false, "includePasswordHashes": false, "keep": 10})
    );
    assert_eq!(view["lastRun"], Value::Null);
    assert_eq!(view["nextRunAt"], Value::Null);
    for (body, field) in [
        (json!({"schedule": "61 * * * *"}), "schedule"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"destinationId": pg_id}), "destinationId"),
        (json!({"enabled": true}), "destinationId"),
        (
            json!({"destinationId": disk_id, "includeSecrets": true}),
            "encryptionProfileId",
        ),
        (json!({"keep": 0}), "keep"),
        (json!({"keep": 1001}), "keep"),
        (json!({"unknown": 1}), "unknown"),
    ] {
        let e = a
            .expect("PUT", "/api/system/config-backup", Some(&body), 400)
            .await;
        assert_eq!(e["details"]["field"], field, "{body}: {e}");
    }
    assert_eq!(
        a.expect("GET", "/api/system/config-backup", None, 200)
            .await["config"]["destinationId"],
        Value::Null
    );
    // Run now without a destination: 400.
    a.expect("POST", "/api/system/config-backup", None, 400)
        .await;

    // Scheduled every minute, kept 2, with secrets and password hashes (encrypted).
    let view = a
        .expect(
            "PUT",
            "/api/system/config-backup",
            Some(
                &json!({"enabled": true, "schedule": "* * * * *", "destinationId": disk_id,
                "encryptionProfileId": profile_id, "includeSecrets": true,
                "includePasswordHashes": true, "keep": 2}),
            ),
            200,
        )
        .await;
    assert!(view["nextRunAt"].as_str().is_some(), "{view}");

    let started = Instant::now();
    let run = a
        .expect("POST", "/api/system/config-backup", None, 201)
        .await;
    let run_ms = started.elapsed().as_millis();
    let name = run["objectName"].as_str().unwrap().to_owned();
    assert!(
        name.starts_with("config-backups/dbackup-config_") && name.ends_with(".json.gz.dbk"),
        "{run}"
    );
    assert_eq!(run["encrypted"], true);
    assert_eq!(run["destinationId"], disk_id);
    assert_eq!(run["counts"]["jobs"], 1);
    assert_eq!(run["counts"]["adapters"], 2);
    let file = store.join(&name);
    let bytes = std::fs::read(&file).expect("the config backup");
    assert!(bytes.starts_with(b"DBKENC01"));
    assert_eq!(run["size"].as_u64(), Some(bytes.len() as u64));
    eprintln!(
        "config backup: {} bytes (2 adapters, 1 profile, 1 job, 1 user), run now took {run_ms} ms",
        bytes.len()
    );
    // Nothing secret in the clear on the destination.
    for needle in ["not-needed-but-secret", &key_hex, "argon2"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} in the clear"
        );
    }
    let listed = a
        .expect("GET", "/api/system/config-backups", None, 200)
        .await;
    assert_eq!(listed["destinationId"], disk_id);
    assert_eq!(listed["backups"][0]["name"], name);
    assert_eq!(listed["backups"][0]["encrypted"], true);
    let view = a
        .expect("GET", "/api/system/config-backup", None, 200)
        .await;
    assert_eq!(view["lastRun"]["status"], "success");
    assert_eq!(view["lastRun"]["objectName"], name);

    // A dry run from the destination on the same install: everything unchanged.
    let same = a
        .expect(
            "POST",
            "/api/system/config-restore",
            Some(&json!({"source": {"destinationId": disk_id, "name": name}, "dryRun": true})),
            200,
        )
        .await;
    assert_eq!(same["dryRun"], true);
    assert_eq!(same["formatVersion"], 1);
    assert_eq!(same["counts"]["create"], 0, "{same}");
    assert_eq!(same["counts"]["update"], 0, "{same}");
    a.expect(
        "POST",
        "/api/system/config-restore",
        Some(&json!({"source": {"destinationId": disk_id, "name": "config-backups/dbackup-config_2001-01-01T00-00-00Z.json.gz"}})),
        404,
    )
    .await;
    a.expect(
        "POST",
        "/api/system/config-restore",
        Some(&json!({"source": {"destinationId": disk_id, "name": "../etc/passwd"}})),
        400,
    )
    .await;

    // The runner runs the schedule (every minute): a second object, keep 2 holds.
    let scheduled = wait_for(Duration::from_secs(150), || async {
        let v = a
            .expect("GET", "/api/system/config-backup", None, 200)
            .await;
        (v["lastRun"]["objectName"] != json!(name) && v["lastRun"]["status"] == "success")
            .then_some(v)
    })
    .await
    .expect("a scheduled config backup");
    assert!(objects(&store).len() <= 2, "{:?}", objects(&store));
    assert!(objects(&store)
        .iter()
        .any(|o| Some(format!("config-backups/{o}").as_str())
            == scheduled["lastRun"]["objectName"].as_str()));

    // Audit: the PUT (old → new) and the runs.
    let audit = a
        .expect("GET", "/api/audit?resource=SETTINGS&limit=200", None, 200)
        .await;
    let rows = audit["items"].as_array().expect("items");
    assert!(rows.iter().any(|r| r["action"] == "UPDATE"
        && r["details"]["configBackup"]["new"]["keep"] == 2
        && r["details"]["configBackup"]["old"]["keep"] == 10));
    assert!(rows
        .iter()
        .any(|r| r["action"] == "EXECUTE" && r["details"]["objectName"] == json!(name)));
    a.app.shutdown().await;

    // ---------------------------------------------------------------- a new install
    let b = start("root@example.com").await;
    // The backup's key is not in this vault yet: a clear 400, nothing changed.
    let r = b.upload("dryRun=true", &bytes).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("not in the vault"), "{}", r.text());
    // Garbage: a 4xx, nothing changed.
    for garbage in [
        &b"\x1f\x8b\x08not gzip"[..],
        b"{\"kind\":\"something else\"}",
        b"\x00\x01",
    ] {
        let r = b.upload("", garbage).await;
        assert!((400..500).contains(&r.status), "{}: {}", r.status, r.text());
    }
    // A wrong key given explicitly: 422 naming the cause, nothing changed.
    let wrong = b
        .expect(
            "POST",
            "/api/encryption-profiles",
            Some(&json!({"name": "Wrong key"})),
            201,
        )
        .await;
    let r = b
        .upload(
            &format!("encryptionProfileId={}", wrong["id"].as_str().unwrap()),
            &bytes,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("wrong key"), "{}", r.text());
    assert_eq!(b.count("Job"), 0);
    assert_eq!(b.count("AdapterConfig"), 0);

    // Import the key (from the recovery kit), dry run, then restore.
    b.expect(
        "POST",
        "/api/encryption-profiles",
        Some(&json!({"name": "Imported", "key": key_hex})),
        201,
    )
    .await;
    let dry = b.upload("dryRun=true", &bytes).await;
    assert_eq!(dry.status, 200, "{}", dry.text());
    let dry = dry.json();
    assert_eq!(dry["dryRun"], true);
    assert_eq!(change(&dry, "adapter", "PG")["action"], "create");
    assert_eq!(change(&dry, "adapter", "Disk")["action"], "create");
    assert_eq!(change(&dry, "job", "nightly")["action"], "create");
    assert_eq!(
        change(&dry, "user", "admin@example.com")["action"],
        "create"
    );
    assert_eq!(
        change(&dry, "encryptionProfile", "Main key")["action"],
        "update"
    );
    assert_eq!(change(&dry, "setting", "configBackup")["action"], "update");
    assert_eq!(dry["warnings"], json!([]));
    assert_eq!(b.count("Job"), 0, "the dry run wrote");
    assert_eq!(b.count("AdapterConfig"), 0, "the dry run wrote");

    let real = b.upload("", &bytes).await;
    assert_eq!(real.status, 200, "{}", real.text());
    let real = real.json();
    assert_eq!(real["dryRun"], false);
    assert_eq!(real["changes"], dry["changes"]);
    let jobs = b.expect("GET", "/api/jobs", None, 200).await;
    let jobs = jobs
        .as_array()
        .or_else(|| jobs["items"].as_array())
        .cloned()
        .expect("jobs");
    assert_eq!(jobs.len(), 1);
    let new_job_id = jobs[0]["id"].as_str().unwrap().to_owned();
    assert_ne!(new_job_id, original_job_id, "ids are remapped");
    // The restored config backup points at the restored destination.
    let view = b
        .expect("GET", "/api/system/config-backup", None, 200)
        .await;
    let new_disk = sqlite_json(
        &b.db,
        r#"SELECT "id" FROM "AdapterConfig" WHERE "name" = 'Disk'"#,
    );
    assert_eq!(view["config"]["destinationId"], new_disk[0]["id"]);
    assert_ne!(view["config"]["destinationId"], json!(disk_id));
    // The restored admin signs in with their old password.
    b.api.login("admin@example.com", TEST_PASSWORD).await;
    // Restoring again changes nothing.
    let again = b.upload("dryRun=true", &bytes).await.json();
    assert_eq!(again["counts"]["create"], 0, "{again}");
    assert_eq!(again["counts"]["update"], 0, "{again}");

    // The restored job runs (its source password re-sealed with the new key) and its backup
    // restores into PostgreSQL.
    let exec = b.run_job(&new_job_id).await;
    assert_eq!(exec["status"], "Success", "{exec}");
    let path = exec["path"].as_str().unwrap().to_owned();
    let target = b
        .expect(
            "POST",
            "/api/adapters",
            Some(
                &json!({"name": "PG copy", "adapterId": "postgres", "config": {
                "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}}),
            ),
            201,
        )
        .await;
    let restore = b
        .expect(
            "POST",
            "/api/restores",
            Some(&json!({"destinationId": new_disk[0]["id"], "path": path,
                "targetSourceId": target["id"], "databaseMapping": {src_db.clone(): copy_db.clone()}})),
            202,
        )
        .await;
    let rid = restore["executionId"].as_str().unwrap().to_owned();
    let restored = b.api.finished_execution(&b.admin, &rid).await;
    assert_eq!(restored["status"], "Success", "{restored}");
    let q = "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM item";
    assert_eq!(psql(&copy_db, q), psql(&src_db, q));

    // Audit rows of the restore attempts on the new install.
    let audit = b
        .expect("GET", "/api/audit?resource=SETTINGS&limit=200", None, 200)
        .await;
    let restores: Vec<&Value> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|r| r["action"] == "EXECUTE" && r["resourceId"] == "config-restore")
        .collect();
    assert!(restores.iter().any(|r| r["details"]["status"] == "success"));
    assert!(restores.iter().any(|r| r["details"]["status"] == "failed"));

    b.app.shutdown().await;
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
}
