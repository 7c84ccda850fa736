//! Write-only (public-key) encryption profiles through the real host, components, runner,
//! worker and PostgreSQL (issue 18 item 4): a profile created from a public key only, a job
//! that backs up with it (a version 2 container the server cannot open), restores that refuse
//! to start without the private key or with the wrong one (the target database never
//! created), a restore with the right one (equal data). The canary private key is then looked
//! for everywhere it must not be: the database file (and its WAL), every execution's logs and
//! answers, the audit log, the worker's log, and every process's argv while the restore ran.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dbackup_tests::{
    collect_lines, psql, random_hex, spawn_worker, warm_real_app, RealApp, TempDir,
};
use dbackup_worker::format::BackupKey;
use serde_json::{json, Value};

fn exists(db: &str) -> bool {
    psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
    )
    .trim()
        == "1"
}

fn checksum(db: &str) -> String {
    psql(
        db,
        "SELECT count(*) || ':' || md5(string_agg(item::text, ',' ORDER BY id)) FROM item",
    )
}

/// Every file under `dir` whose bytes contain `needle` (hex, either case).
fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                let text = String::from_utf8_lossy(&bytes).to_lowercase();
                if text.contains(needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn write_only_profile_backs_up_and_restores_only_with_the_private_key() {
    let tag = &random_hex()[..10];
    let (src, copy, wrong) = (
        format!("wo_src_{tag}"),
        format!("wo_copy_{tag}"),
        format!("wo_wrong_{tag}"),
    );
    psql("postgres", &format!("CREATE DATABASE {src}"));
    psql(
        &src,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 5000) g;",
    );
    let (public, private) = BackupKey::generate_pair().expect("key pair");
    let public_hex = public.public_hex().expect("public");
    let private_hex = private.secret_hex().expect("private");
    let (_, other) = BackupKey::generate_pair().expect("key pair");

    warm_real_app().await;
    let dir = TempDir::new();
    let store = dir.join("backups");
    std::fs::create_dir_all(&store).expect("backup folder");
    let worker_data = dir.join("worker");
    let app_dir = dir.path().to_path_buf();
    let app = RealApp::with_external_worker().dir(dir).app_url();
    let token = app.value("SPIN_VARIABLE_WORKER_TOKEN");
    let mut worker = spawn_worker(app.worker_addr(), &token, |c| {
        c.env("DBACKUP_WORKER_DATA_DIR", &worker_data)
            .env("DBACKUP_LOCAL_ROOTS", &store)
            .stderr(std::process::Stdio::piped());
    })
    .await;
    let (worker_log, _reader) = collect_lines(worker.stderr.take().expect("stderr"));
    let app = app.start().await;
    let api = app.api();
    let admin = api.signup_admin().await;
    let expect = |method: &'static str, target: String, body: Option<Value>, status: u16| {
        let admin = admin.clone();
        async move {
            api.expect(&admin, method, &target, body.as_ref(), status)
                .await
        }
    };

    // The profile: a public key only; malformed ones are refused by field.
    for (body, field) in [
        (json!({"name": "wo", "kind": "public"}), "publicKey"),
        (
            json!({"name": "wo", "kind": "public", "publicKey": "abcd"}),
            "publicKey",
        ),
        (
            json!({"name": "wo", "kind": "public", "publicKey": public_hex, "key": "ab".repeat(32)}),
            "key",
        ),
    ] {
        let e = expect("POST", "/api/encryption-profiles".into(), Some(body), 400).await;
        assert_eq!(e["details"]["field"], field, "{e}");
    }
    let profile = expect(
        "POST",
        "/api/encryption-profiles".into(),
        Some(json!({"name": "Write-only", "kind": "public", "publicKey": public_hex})),
        201,
    )
    .await;
    assert_eq!(profile["kind"], "public", "{profile}");
    assert_eq!(profile["fingerprint"], public.fingerprint_hex());

    let pg = expect(
        "POST",
        "/api/adapters".into(),
        Some(json!({"name": "PG", "adapterId": "postgres", "config": {
            "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": src}})),
        201,
    )
    .await;
    let disk = expect(
        "POST",
        "/api/adapters".into(),
        Some(json!({"name": "Disk", "adapterId": "local", "config": {"path": store}})),
        201,
    )
    .await;
    let job = expect(
        "POST",
        "/api/jobs".into(),
        Some(
            json!({"name": "wo", "schedule": "@yearly", "sourceId": pg["id"],
            "databases": [src], "destinations": [{"destinationId": disk["id"]}],
            "compression": "GZIP", "encryptionProfileId": profile["id"]}),
        ),
        201,
    )
    .await;
    let run = expect(
        "POST",
        format!("/api/jobs/{}/run", job["id"].as_str().expect("job id")),
        None,
        202,
    )
    .await;
    let exec = api
        .finished_execution(&admin, run["executionId"].as_str().expect("id"))
        .await;
    assert_eq!(exec["status"], "Success", "{exec}");
    let path = exec["path"].as_str().expect("path").to_owned();
    let stored = std::fs::read(store.join(&path)).expect("the backup object");
    assert_eq!(&stored[..9], b"DBKENC01\x02", "a version 2 container");

    // Restores: without the private key (400 naming it), with another one (the execution
    // fails on the header; the target is never created), then with the right one.
    let restore = |key: Option<&str>, target_db: &str| {
        let mut body = json!({"destinationId": disk["id"], "path": path,
            "targetSourceId": pg["id"], "databaseMapping": {src.clone(): target_db}});
        if let Some(k) = key {
            body["privateKey"] = json!(k);
        }
        body
    };
    let e = expect(
        "POST",
        "/api/restores".into(),
        Some(restore(None, &wrong)),
        400,
    )
    .await;
    assert_eq!(e["details"]["field"], "privateKey", "{e}");
    let e = expect(
        "POST",
        "/api/restores".into(),
        Some(restore(Some("12"), &wrong)),
        400,
    )
    .await;
    assert_eq!(e["details"]["field"], "privateKey", "{e}");
    let other_hex = other.secret_hex().expect("other");
    let queued = expect(
        "POST",
        "/api/restores".into(),
        Some(restore(Some(&other_hex), &wrong)),
        202,
    )
    .await;
    let failed = api
        .finished_execution(&admin, queued["executionId"].as_str().expect("id"))
        .await;
    assert_eq!(failed["status"], "Failed", "{failed}");
    assert!(
        failed.to_string().contains("wrong key"),
        "the failure names the wrong key: {failed}"
    );
    assert!(!exists(&wrong), "the target database was created");

    // The right key; every process's argv is scanned meanwhile.
    let done = Arc::new(AtomicBool::new(false));
    let scan = {
        let (done, needle) = (done.clone(), private_hex.clone());
        std::thread::spawn(move || {
            let mut leaks = Vec::new();
            while !done.load(Ordering::SeqCst) {
                for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
                    if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
                        let text = String::from_utf8_lossy(&cmd).to_lowercase();
                        if text.contains(&needle) {
                            leaks.push(text);
                        }
                    }
                }
            }
            leaks
        })
    };
    let queued = expect(
        "POST",
        "/api/restores".into(),
        Some(restore(Some(&private_hex.to_uppercase()), &copy)),
        202,
    )
    .await;
    let restored = api
        .finished_execution(&admin, queued["executionId"].as_str().expect("id"))
        .await;
    done.store(true, Ordering::SeqCst);
    let argv_leaks = scan.join().expect("scan");
    let equal = restored["status"] == "Success" && checksum(&src) == checksum(&copy);
    for db in [&src, &copy, &wrong] {
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
    }
    assert_eq!(restored["status"], "Success", "{restored}");
    assert!(equal, "the restored data differs");
    assert!(argv_leaks.is_empty(), "private key in argv: {argv_leaks:?}");

    // A decrypted download is refused: the server holds no key for it.
    let e = expect(
        "GET",
        format!(
            "/api/storage/{}/download?path={}&decrypt=true",
            disk["id"].as_str().expect("id"),
            dbackup_tests::encode(&path)
        ),
        None,
        400,
    )
    .await;
    assert!(e.to_string().contains("write-only"), "{e}");

    // Nowhere: answers about the restores, audit, database files, worker log.
    let needle = private_hex.to_lowercase();
    for id in [
        queued["executionId"].as_str().expect("id"),
        failed["id"].as_str().unwrap_or_default(),
    ] {
        if id.is_empty() {
            continue;
        }
        let e = expect("GET", format!("/api/executions/{id}"), None, 200).await;
        assert!(!e.to_string().to_lowercase().contains(&needle), "{e}");
    }
    let audit = expect("GET", "/api/audit?limit=200".into(), None, 200).await;
    assert!(!audit.to_string().to_lowercase().contains(&needle));
    let stored_request = dbackup_tests::sqlite_json(
        &app.db_path(),
        &format!(
            r#"SELECT "request" FROM "Execution" WHERE "id" = '{}'"#,
            queued["executionId"].as_str().expect("id")
        ),
    );
    assert!(
        !stored_request[0].to_string().contains("privateKeySealed"),
        "the sealed private key outlived the dispatch: {stored_request:?}"
    );
    // Every file of the app (database and WAL, worker data, backups), the app still running.
    let hits = files_containing(&app_dir, &needle);
    assert!(hits.is_empty(), "private key in files: {hits:?}");
    app.shutdown().await;
    let log = worker_log.lock().expect("log").join("\n").to_lowercase();
    assert!(!log.is_empty(), "the worker log was captured");
    assert!(!log.contains(&needle), "private key in the worker log");
}
