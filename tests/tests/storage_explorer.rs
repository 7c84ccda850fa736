//! The storage explorer through the host with the real worker and PostgreSQL: backups made by
//! running jobs are listed with their sidecar metadata (and paged), locked ones refuse deletion
//! (409) until unlocked, a deletion removes the object and its sidecar, downloads return the
//! exact bytes (decrypted on request) and stream without being buffered, and a destination that
//! cannot be listed answers an error, never an empty list.

use std::time::{Duration, Instant};

use dbackup_identity::secretbox::SecretBox;
use dbackup_tests::{free_port, psql, sqlite_json, wait_for, Api, Credential, RealApp, TempDir};
use serde_json::{json, Value};

struct App {
    real: RealApp,
    api: Api,
    admin: Credential,
    db: std::path::PathBuf,
}

/// The real app with the cron trigger (the runner) and a spawned worker, in `dir`.
async fn start(dir: TempDir) -> App {
    let real = RealApp::with_worker().dir(dir).app_url().start().await;
    let api = real.api();
    let admin = api.signup_admin().await;
    App {
        api,
        admin,
        db: real.db_path(),
        real,
    }
}

/// Runs job `job` now and waits for Success; returns the execution.
async fn run_job(app: &App, job: &str) -> Value {
    let run = app
        .api
        .expect(
            &app.admin,
            "POST",
            &format!("/api/jobs/{job}/run"),
            None,
            202,
        )
        .await;
    let id = run["executionId"].as_str().expect("id").to_owned();
    let done = app.api.finished_execution(&app.admin, &id).await;
    assert_eq!(done["status"], "Success", "{done}");
    // Wait for post-processing (retention, notifications) to be over.
    let settled = format!(r#"SELECT "postProcessedAt" FROM "Execution" WHERE "id" = '{id}'"#);
    wait_for(Duration::from_secs(60), || async {
        sqlite_json(&app.db, &settled)[0]["postProcessedAt"]
            .is_string()
            .then_some(())
    })
    .await
    .expect("the execution is finalized");
    done
}

fn enc(s: &str) -> String {
    dbackup_tests::encode(s)
}

async fn list(app: &App, dest: &str, query: &str) -> Value {
    app.api
        .expect(
            &app.admin,
            "GET",
            &format!("/api/storage/{dest}/backups{query}"),
            None,
            200,
        )
        .await
}

/// The test process's resident memory (the host runs in-process), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn explorer_lists_locks_deletes_and_downloads_real_backups() {
    let src_db = format!("explorer_src_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {src_db}"));
    psql("postgres", &format!("CREATE DATABASE {src_db}"));
    psql(
        &src_db,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 2000) g;",
    );
    let dir = TempDir::new();
    let store = dir.join("backups");
    std::fs::create_dir_all(&store).expect("backup folder");
    let not_a_dir = dir.join("not-a-folder");
    std::fs::write(&not_a_dir, b"a file where a folder should be").expect("file");
    let app = start(dir).await;
    let (api, admin) = (&app.api, &app.admin);

    let sealer = SecretBox::from_hex_key(&app.real.encryption_key).expect("box");
    let s3_secret = sealer
        .encrypt(b"SECRET", "AdapterConfig.config.secretAccessKey:dead-s3")
        .expect("seal");
    let dead_s3 = json!({"endpoint": format!("http://127.0.0.1:{}", free_port()), "region": "us-east-1",
        "bucket": "nowhere", "forcePathStyle": true, "accessKeyId": "AK", "secretAccessKey": s3_secret});
    sqlite_json(
        &app.db,
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg', 'PG', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{src_db}"}}'),
               ('disk', 'Disk', 'storage', 'local', '{{"path":"{}"}}'),
               ('broken-disk', 'Broken disk', 'storage', 'local', '{{"path":"{}"}}'),
               ('dead-s3', 'Dead S3', 'storage', 's3', '{dead_s3}')"#,
            store.display(),
            not_a_dir.display()
        ),
    );
    let sealed = sealer
        .encrypt(&[9u8; 32], "EncryptionProfile.secretKey:prof")
        .expect("seal");
    sqlite_json(
        &app.db,
        &format!(
            r#"INSERT INTO "EncryptionProfile" ("id", "name", "secretKey") VALUES ('prof', 'Explorer key', '{sealed}')"#
        ),
    );
    let mut jobs = Vec::new();
    for (name, extra) in [
        ("plain", json!({})),
        ("secret", json!({"encryptionProfileId": "prof"})),
    ] {
        let mut body = json!({
            "name": name, "schedule": "@yearly", "sourceId": "pg", "databases": [src_db],
            "destinations": [{"destinationId": "disk"}], "compression": "GZIP",
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let job = api
            .expect(admin, "POST", "/api/jobs", Some(&body), 201)
            .await;
        jobs.push(job["id"].as_str().expect("id").to_owned());
    }
    let (plain, secret) = (jobs[0].clone(), jobs[1].clone());
    let p1 = run_job(&app, &plain).await;
    // Object names carry a timestamp in seconds: keep the two runs apart.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let p2 = run_job(&app, &plain).await;
    let s1 = run_job(&app, &secret).await;

    // --- listing with metadata ----------------------------------------------------------------
    let all = list(&app, "disk", "").await;
    let items = all["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{all}");
    assert_eq!(all["total"], 3);
    assert!(all["nextCursor"].is_null());
    let by_path = |p: &Value| -> Value {
        items
            .iter()
            .find(|i| i["path"] == *p)
            .cloned()
            .unwrap_or_else(|| panic!("{p} not listed: {all}"))
    };
    let server_major = psql("postgres", "SHOW server_version")
        .split('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    for (exec, job, encrypted) in [
        (&p1, &plain, false),
        (&p2, &plain, false),
        (&s1, &secret, true),
    ] {
        let item = by_path(&exec["path"]);
        assert_eq!(item["jobId"], json!(job), "{item}");
        assert_eq!(item["databases"], json!([src_db]), "{item}");
        assert_eq!(item["engine"], "postgresql", "{item}");
        assert!(
            item["engineVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with(&server_major)),
            "{item}"
        );
        assert_eq!(item["encrypted"], encrypted, "{item}");
        assert_eq!(item["keyFingerprint"].is_string(), encrypted, "{item}");
        assert_eq!(item["compression"], "GZIP", "{item}");
        assert_eq!(item["locked"], false);
        assert_eq!(item["hasMetadata"], true);
        let file = store.join(item["path"].as_str().expect("path"));
        assert_eq!(
            item["size"].as_u64(),
            Some(std::fs::metadata(&file).expect("object").len()),
            "{item}"
        );
        assert!(item["createdAt"]
            .as_str()
            .is_some_and(|t| t.starts_with("20")));
    }
    assert_eq!(by_path(&p1["path"])["jobName"], "plain");
    // Newest first.
    assert_eq!(items[0]["path"], s1["path"], "{all}");
    // Filtered by job; paged one at a time with the cursor.
    let only = list(&app, "disk", &format!("?jobId={plain}")).await;
    assert_eq!(only["items"].as_array().map(Vec::len), Some(2), "{only}");
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(&app, "disk", &format!("?limit=1&cursor={}", enc(&cursor))).await;
        let page_items = page["items"].as_array().expect("items");
        assert!(page_items.len() <= 1);
        seen.extend(page_items.iter().map(|i| i["path"].clone()));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(
        seen,
        items.iter().map(|i| i["path"].clone()).collect::<Vec<_>>()
    );

    // --- download: exact bytes; decrypted on request; streamed ---------------------------------
    let plain_path = p1["path"].as_str().expect("path").to_owned();
    let dl = api
        .call(
            admin,
            "GET",
            &format!("/api/storage/disk/download?path={}", enc(&plain_path)),
            None,
        )
        .await;
    assert_eq!(dl.status, 200, "{}", dl.text());
    assert_eq!(
        dl.body.as_ref(),
        std::fs::read(store.join(&plain_path))
            .expect("object")
            .as_slice()
    );
    assert_eq!(dl.header("content-type"), Some("application/octet-stream"));
    let last = plain_path.rsplit('/').next().unwrap_or_default();
    assert_eq!(
        dl.header("content-disposition"),
        Some(format!("attachment; filename=\"{last}\"").as_str()),
        "{plain_path}"
    );
    let secret_path = s1["path"].as_str().expect("path").to_owned();
    let raw = api
        .call(
            admin,
            "GET",
            &format!("/api/storage/disk/download?path={}", enc(&secret_path)),
            None,
        )
        .await;
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.body.as_ref(),
        std::fs::read(store.join(&secret_path))
            .expect("object")
            .as_slice()
    );
    let clear = api
        .call(
            admin,
            "GET",
            &format!(
                "/api/storage/disk/download?path={}&decrypt=true",
                enc(&secret_path)
            ),
            None,
        )
        .await;
    assert_eq!(clear.status, 200, "{}", clear.text());
    assert_eq!(
        &clear.body[..2],
        &[0x1f, 0x8b],
        "decrypted is the gzip stream"
    );
    assert_ne!(clear.body.as_ref(), raw.body.as_ref());
    let refused = api
        .call(
            admin,
            "GET",
            &format!(
                "/api/storage/disk/download?path={}&decrypt=true",
                enc(&plain_path)
            ),
            None,
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());

    // A large object streams through the host: its peak memory does not grow by its size.
    let big_name = "imported/big.bin";
    let big_len: u64 = 256 * 1024 * 1024;
    std::fs::create_dir_all(store.join("imported")).expect("folder");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(store.join(big_name)).expect("big file");
        let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
        for _ in 0..(big_len / chunk.len() as u64) {
            f.write_all(&chunk).expect("write");
        }
    }
    let cookie = match admin {
        Credential::Cookie(jwt) => format!("dbackup_session={jwt}"),
        _ => unreachable!("signup gives a cookie"),
    };
    let out_file = store.join("downloaded.bin");
    let before = rss_kib();
    let started = Instant::now();
    let mut curl = tokio::process::Command::new("curl")
        .args(["-sS", "-f", "-o"])
        .arg(&out_file)
        .args([
            "-H",
            &format!("cookie: {cookie}"),
            "-H",
            "x-requested-with: XMLHttpRequest",
        ])
        .arg(format!(
            "http://{}/api/storage/disk/download?path={}",
            api.addr,
            enc(big_name)
        ))
        .spawn()
        .expect("run curl");
    // Sample the resident memory while the body flows.
    let mut highest = before;
    let curl = loop {
        if let Some(status) = curl.try_wait().expect("curl status") {
            break status;
        }
        highest = highest.max(rss_kib());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = started.elapsed();
    assert!(curl.success(), "curl failed: {curl}");
    let after = highest;
    let got = std::fs::metadata(&out_file).expect("downloaded").len();
    assert_eq!(got, big_len);
    let grew_mib = after.saturating_sub(before) / 1024;
    eprintln!(
        "explorer: {} MiB download in {took:?} ({:.0} MiB/s); host RSS grew at most {grew_mib} MiB during it",
        big_len >> 20,
        (big_len >> 20) as f64 / took.as_secs_f64()
    );
    assert!(
        grew_mib < 64,
        "peak RSS grew {grew_mib} MiB for a {} MiB download",
        big_len >> 20
    );
    std::fs::remove_file(&out_file).expect("cleanup");
    // An object without a sidecar is listed with what the storage knows.
    let bare = list(&app, "disk", "").await;
    let big = bare["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["path"] == big_name)
        .cloned()
        .expect("listed");
    assert_eq!(big["hasMetadata"], false);
    assert_eq!(big["size"], big_len);
    // … and cannot be locked (no sidecar to record it in).
    api.expect(
        admin,
        "POST",
        "/api/storage/disk/backups/lock",
        Some(&json!({"path": big_name})),
        409,
    )
    .await;
    api.expect(
        admin,
        "DELETE",
        &format!("/api/storage/disk/backups?path={}", enc(big_name)),
        None,
        204,
    )
    .await;
    assert!(!store.join(big_name).exists());

    // --- lock → delete refused → unlock → delete ----------------------------------------------
    let p2_path = p2["path"].as_str().expect("path").to_owned();
    let locked = api
        .expect(
            admin,
            "POST",
            "/api/storage/disk/backups/lock",
            Some(&json!({"path": p2_path})),
            200,
        )
        .await;
    assert_eq!(locked["locked"], true, "{locked}");
    let sidecar: Value = serde_json::from_slice(
        &std::fs::read(store.join(format!("{p2_path}.meta.json"))).expect("sidecar"),
    )
    .expect("json");
    assert_eq!(sidecar["locked"], true);
    assert_eq!(sidecar["meta"]["jobId"], json!(plain), "the rest is kept");
    let listed = list(&app, "disk", &format!("?jobId={plain}")).await;
    assert!(listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|i| i["path"] == p2_path.as_str() && i["locked"] == true));
    let del = format!("/api/storage/disk/backups?path={}", enc(&p2_path));
    let refused = api.call(admin, "DELETE", &del, None).await;
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert!(refused.json()["error"]
        .as_str()
        .is_some_and(|e| e.contains("locked")));
    assert!(store.join(&p2_path).is_file());
    let unlocked = api
        .expect(
            admin,
            "POST",
            "/api/storage/disk/backups/unlock",
            Some(&json!({"path": p2_path})),
            200,
        )
        .await;
    assert_eq!(unlocked["locked"], false);
    api.expect(admin, "DELETE", &del, None, 204).await;
    assert!(!store.join(&p2_path).exists());
    assert!(!store.join(format!("{p2_path}.meta.json")).exists());
    let left = list(&app, "disk", "").await;
    assert_eq!(left["items"].as_array().map(Vec::len), Some(2), "{left}");
    api.expect(admin, "DELETE", &del, None, 404).await;
    let audit = sqlite_json(
        &app.db,
        r#"SELECT "action", "details" FROM "AuditLog" WHERE "resource" = 'BACKUP' ORDER BY "timestamp""#,
    );
    assert!(
        audit.iter().any(|r| r["action"] == "DELETE"
            && r["details"].as_str().is_some_and(|d| d.contains(&p2_path))),
        "{audit:?}"
    );
    // Downloads and lock changes are audited too (path in the details, never a key).
    for (action, needle) in [("EXPORT", secret_path.as_str()), ("UPDATE", "\"lock\"")] {
        assert!(
            audit.iter().any(|r| r["action"] == action
                && r["details"]
                    .as_str()
                    .is_some_and(|d| d.contains(needle) && !d.contains("keyHex"))),
            "{action}: {audit:?}"
        );
    }

    // --- bad input and broken destinations -------------------------------------------------------
    for (method, target, status) in [
        ("DELETE", "/api/storage/disk/backups".to_owned(), 400),
        (
            "DELETE",
            format!("/api/storage/disk/backups?path={}", enc("../etc/passwd")),
            400,
        ),
        (
            "DELETE",
            format!(
                "/api/storage/disk/backups?path={}",
                enc(&format!("{plain_path}.meta.json"))
            ),
            400,
        ),
        (
            "GET",
            "/api/storage/disk/download?path=%2Fetc%2Fpasswd".to_owned(),
            400,
        ),
        (
            "GET",
            "/api/storage/disk/download?path=nope%2Fmissing.sql.gz".to_owned(),
            404,
        ),
        ("GET", "/api/storage/disk/backups?limit=0".to_owned(), 400),
        (
            "GET",
            "/api/storage/disk/backups?cursor=garbage".to_owned(),
            400,
        ),
        (
            "GET",
            "/api/storage/disk/backups?jobId=nope".to_owned(),
            400,
        ),
        ("GET", "/api/storage/pg/backups".to_owned(), 404),
        ("GET", "/api/storage/nothing/backups".to_owned(), 404),
    ] {
        let resp = api.call(admin, method, &target, None).await;
        assert_eq!(resp.status, status, "{method} {target}: {}", resp.text());
        assert!(resp.json()["error"].is_string(), "{method} {target}");
    }
    for dest in ["broken-disk", "dead-s3"] {
        let resp = api
            .call(admin, "GET", &format!("/api/storage/{dest}/backups"), None)
            .await;
        assert!(
            matches!(resp.status, 502 | 503),
            "{dest}: {} {}",
            resp.status,
            resp.text()
        );
        let err = resp.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(
            err.starts_with("listing the destination failed"),
            "{dest}: {err}"
        );
        assert!(resp.json().get("items").is_none());
        eprintln!("explorer: {dest} → {} {}", resp.status, resp.text());
    }

    app.real.shutdown().await;
    psql("postgres", &format!("DROP DATABASE IF EXISTS {src_db}"));
}
