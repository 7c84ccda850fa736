//! A WebDAV destination (stored through rclone) end to end, through the host with the real
//! worker, PostgreSQL and `rclone serve webdav` on loopback: the adapter created and tested
//! through the API → a PostgreSQL job runs twice → Success, the objects and sidecars on the
//! WebDAV server's disk → retention (keep 1) deletes the older → the explorer lists and
//! downloads the exact bytes → a restore into a new database gives equal data → the explorer
//! deletes the backup. No secret on any process's command line, none in the app's answers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dbackup_tests::{free_port, psql, sqlite_json, wait_for, Api, Credential, RealApp, TempDir};
use serde_json::{json, Value};

const DAV_PASS: &str = "dav-App-Secret-6e2a9";

/// `rclone serve webdav` on `root` with user `davuser` (password in an htpasswd file, never on
/// a command line); killed on drop.
struct Dav {
    child: Child,
    port: u16,
}

impl Dav {
    fn start(dir: &Path, root: &Path) -> Dav {
        let rclone = ["/usr/bin/rclone", "/usr/local/bin/rclone"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .expect("rclone is missing: apt-get install rclone (cargo xtask test does)");
        let hash = Command::new("openssl")
            .args(["passwd", "-apr1", DAV_PASS])
            .output()
            .expect("openssl");
        assert!(hash.status.success());
        let htpasswd = dir.join("htpasswd");
        std::fs::write(
            &htpasswd,
            format!("davuser:{}\n", String::from_utf8_lossy(&hash.stdout).trim()),
        )
        .expect("htpasswd");
        let port = free_port();
        let log = std::fs::File::create(dir.join("dav.log")).expect("log");
        let child = Command::new(rclone)
            .env("RCLONE_CONFIG", "")
            .args(["serve", "webdav"])
            .arg(root)
            .args(["--addr", &format!("127.0.0.1:{port}"), "--htpasswd"])
            .arg(&htpasswd)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("rclone serve webdav");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "webdav server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Dav { child, port }
    }
}

impl Drop for Dav {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The files under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Any process's command line holding `needle`.
fn argv_with(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|text| text.contains(needle))
        .collect()
}

async fn create(api: &Api, admin: &Credential, body: Value) -> String {
    let a = api
        .expect(admin, "POST", "/api/adapters", Some(&body), 201)
        .await;
    assert!(!a.to_string().contains(DAV_PASS), "{a}");
    a["id"].as_str().expect("id").to_owned()
}

/// Runs the job, waits for Success and for its post-processing (retention) to be over.
async fn run_job(api: &Api, admin: &Credential, db: &Path, job: &str) -> Value {
    let done = api.run_job(admin, job).await;
    assert_eq!(done["status"], "Success", "{done}");
    let id = done["id"].as_str().expect("id");
    let settled = format!(r#"SELECT "postProcessedAt" FROM "Execution" WHERE "id" = '{id}'"#);
    wait_for(Duration::from_secs(90), || async {
        sqlite_json(db, &settled)[0]["postProcessedAt"]
            .is_string()
            .then_some(())
    })
    .await
    .expect("the execution is post-processed");
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_job_to_webdav_backs_up_lists_restores_and_keeps_one() {
    let pid = std::process::id();
    let (src_db, copy_db) = (format!("davsrc_{pid}"), format!("davcopy_{pid}"));
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    psql("postgres", &format!("CREATE DATABASE {src_db}"));
    psql(
        &src_db,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 5000) g;",
    );
    let dir = TempDir::new();
    let dav_root = dir.join("dav");
    std::fs::create_dir_all(&dav_root).expect("dav root");
    let dav = Dav::start(&dir.join(""), &dav_root);
    let real = RealApp::with_worker().dir(dir).app_url().start().await;
    let api = real.api();
    let admin = api.signup_admin().await;
    let db = real.db_path();

    let pg = create(
        &api,
        &admin,
        json!({"name": "PG", "type": "database", "adapterId": "postgres",
               "config": {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": src_db}}),
    )
    .await;
    let target = create(
        &api,
        &admin,
        json!({"name": "PG target", "type": "database", "adapterId": "postgres",
               "config": {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}}),
    )
    .await;
    let dav_config = json!({"url": format!("http://127.0.0.1:{}/", dav.port), "vendor": "other",
                            "user": "davuser", "password": DAV_PASS, "path": "dbackup/prod"});
    // Test connection before saving (the worker writes, reads back and deletes a probe).
    let probe = api
        .expect(
            &admin,
            "POST",
            "/api/adapters/test",
            Some(&json!({"adapterId": "webdav", "config": dav_config})),
            200,
        )
        .await;
    assert_eq!(probe["ok"], true, "{probe}");
    let mut wrong = dav_config.clone();
    wrong["password"] = json!("not-the-password");
    let refused = api
        .expect(
            &admin,
            "POST",
            "/api/adapters/test",
            Some(&json!({"adapterId": "webdav", "config": wrong})),
            200,
        )
        .await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert!(!refused.to_string().contains("not-the-password"));
    let dest = create(
        &api,
        &admin,
        json!({"name": "Nextcloud", "type": "storage", "adapterId": "webdav", "config": dav_config}),
    )
    .await;
    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&json!({
                "name": "to-webdav", "schedule": "@yearly", "sourceId": pg, "databases": [src_db],
                "destinations": [{"destinationId": dest,
                                  "retention": {"mode": "SIMPLE", "simple": {"keepCount": 1}}}],
                "compression": "GZIP",
            })),
            201,
        )
        .await;
    let job = job["id"].as_str().expect("job id").to_owned();

    let store = dav_root.join("dbackup/prod");
    let first = run_job(&api, &admin, &db, &job).await;
    let first_path = first["path"].as_str().expect("path").to_owned();
    assert!(
        store.join(&first_path).is_file(),
        "{first_path} not on the WebDAV server: {:?}",
        files_under(&dav_root)
    );
    assert!(
        argv_with(DAV_PASS).is_empty(),
        "the password is on a command line"
    );
    // Object names carry a timestamp in seconds: keep the two runs apart.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = run_job(&api, &admin, &db, &job).await;
    let path = second["path"].as_str().expect("path").to_owned();
    assert_ne!(path, first_path);

    // Retention kept the newest only; its sidecar beside it; no partial left.
    assert_eq!(
        files_under(&store),
        vec![path.clone(), format!("{path}.meta.json")],
        "retention (keep 1) and atomic uploads"
    );
    let size = std::fs::metadata(store.join(&path)).expect("object").len();
    assert_eq!(second["size"].as_u64(), Some(size), "{second}");

    // The explorer lists it (with its metadata) and downloads the exact bytes.
    let listed = api
        .expect(
            &admin,
            "GET",
            &format!("/api/storage/{dest}/backups"),
            None,
            200,
        )
        .await;
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["path"], json!(path));
    assert_eq!(items[0]["hasMetadata"], true, "{listed}");
    assert_eq!(items[0]["size"].as_u64(), Some(size));
    let dl = api
        .call(
            &admin,
            "GET",
            &format!(
                "/api/storage/{dest}/download?path={}",
                dbackup_tests::encode(&path)
            ),
            None,
        )
        .await;
    assert_eq!(dl.status, 200, "{}", dl.text());
    assert_eq!(
        dl.body.as_ref(),
        std::fs::read(store.join(&path)).expect("object").as_slice()
    );

    // Restore into a new database: equal rows.
    let restore = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(
                &json!({"destinationId": dest, "path": path, "targetSourceId": target,
                         "databaseMapping": {src_db.clone(): copy_db.clone()}}),
            ),
            202,
        )
        .await;
    let rid = restore["executionId"].as_str().expect("id").to_owned();
    let restored = api.finished_execution(&admin, &rid).await;
    assert_eq!(restored["status"], "Success", "{restored}");
    let q = "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM item";
    let (a, b) = (psql(&src_db, q), psql(&copy_db, q));
    assert!(a.starts_with("5000:"), "{a}");
    assert_eq!(a, b, "the restored data differs");

    // The explorer deletes the backup and its sidecar on the server.
    api.expect(
        &admin,
        "DELETE",
        &format!(
            "/api/storage/{dest}/backups?path={}",
            dbackup_tests::encode(&path)
        ),
        None,
        204,
    )
    .await;
    assert!(
        files_under(&store).is_empty(),
        "{:?}",
        files_under(&dav_root)
    );
    let logs: String = sqlite_json(
        &db,
        &format!(r#"SELECT "logs" FROM "Execution" WHERE "jobId" = '{job}'"#),
    )
    .iter()
    .map(|r| r["logs"].as_str().unwrap_or_default().to_owned())
    .collect();
    assert!(!logs.contains(DAV_PASS));

    drop(dav);
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
}
