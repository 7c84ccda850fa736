//! The runner end to end, through the host with the real worker and PostgreSQL: a job whose
//! schedule comes due during the test runs on its own, once per occurrence, even with two
//! hosts (two runners) on one database file → Success with the object on disk → a restore
//! into a new database → the data is equal.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dbackup_host::app::{self, RunningHost};
use dbackup_host::worker::WorkerMode;
use dbackup_identity::secretbox::SecretBox;
use dbackup_tests::s3::S3Server;
use dbackup_tests::{
    bin, free_port, host_config, psql, real_app_env, repo, sqlite_json, wait_for, warm_real_app,
    Api, Credential, TempDir, TEST_PASSWORD,
};
use serde_json::{json, Value};

struct Hosts {
    hosts: Vec<RunningHost>,
    encryption_key: String,
    _dir: TempDir,
    db: std::path::PathBuf,
}

/// `n` hosts of the real app on one data folder (one database file), cron on; the first
/// starts the worker, the others use it.
async fn start_hosts(n: usize, dir: TempDir) -> Hosts {
    warm_real_app().await;
    let worker_url = format!("http://127.0.0.1:{}", free_port());
    let env = real_app_env(&worker_url);
    let data = dir.join("data");
    let mut hosts = Vec::new();
    for i in 0..n {
        let port = free_port();
        let mut env = env.clone();
        env.push(("SPIN_VARIABLE_APP_URL", format!("http://127.0.0.1:{port}")));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut config = host_config(repo().join("spin.toml"), &data, &env);
        config.listen = ([127, 0, 0, 1], port).into();
        config.migrate = true;
        config.cron = true;
        config.worker = if i == 0 {
            WorkerMode::Spawn {
                binary: bin("dbackup-worker"),
            }
        } else {
            WorkerMode::External
        };
        hosts.push(
            app::start(config)
                .await
                .unwrap_or_else(|e| panic!("host {i} does not start: {e:#}")),
        );
    }
    let encryption_key = env
        .iter()
        .find(|(k, _)| *k == "SPIN_VARIABLE_ENCRYPTION_KEY")
        .map(|(_, v)| v.clone())
        .expect("encryption key");
    Hosts {
        hosts,
        encryption_key,
        db: data.join("dbackup.db"),
        _dir: dir,
    }
}

async fn wait_status(api: &Api, who: &Credential, id: &str, timeout: Duration) -> Value {
    let last = std::sync::Mutex::new(Value::Null);
    let done = wait_for(timeout, || async {
        let v = api
            .expect(who, "GET", &format!("/api/executions/{id}"), None, 200)
            .await;
        let finished = !matches!(v["status"].as_str(), Some("Pending" | "Running"));
        *last.lock().expect("lock") = v.clone();
        finished.then_some(v)
    })
    .await;
    done.unwrap_or_else(|| {
        panic!(
            "execution {id} did not finish: {}",
            last.lock().expect("lock")
        )
    })
}

/// Where the journey's backups go.
enum Target {
    /// A local folder.
    Local,
    /// The in-process S3 server (s3s-fs, SigV4), with an object-name prefix.
    S3(S3Server),
}

impl Target {
    /// The AdapterConfig row of the destination `disk` (secrets sealed like the adapters API).
    fn adapter_sql(&self, store: &Path, encryption_key: &str) -> String {
        match self {
            Target::Local => format!(
                r#"('disk', 'Local disk', 'storage', 'local', '{{"path":"{}"}}')"#,
                store.display()
            ),
            Target::S3(s3) => {
                let sealed = SecretBox::from_hex_key(encryption_key)
                    .expect("box")
                    .encrypt(
                        S3_SECRET_KEY.as_bytes(),
                        "AdapterConfig.config.secretAccessKey:disk",
                    )
                    .expect("seal");
                let config = json!({"endpoint": format!("http://{}", s3.addr), "region": "us-east-1",
                    "bucket": S3_BUCKET, "prefix": "tenant-a", "forcePathStyle": true,
                    "accessKeyId": S3_ACCESS_KEY, "secretAccessKey": sealed});
                format!("('disk', 'S3', 'storage', 's3', '{config}')")
            }
        }
    }

    /// The file holding object `name` (relative to the destination's base).
    fn file(&self, store: &Path, name: &str) -> PathBuf {
        match self {
            Target::Local => store.join(name),
            Target::S3(s3) => s3.root.join(S3_BUCKET).join("tenant-a").join(name),
        }
    }

    /// Every stored object of the job (without sidecars and partials).
    fn objects(&self, store: &Path, job: &str) -> Vec<PathBuf> {
        let dir = self.file(store, job);
        let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        out.retain(|p| {
            let n = p.to_string_lossy();
            !n.ends_with(".meta.json") && !n.ends_with(".partial") && !n.contains(".s3s-fs")
        });
        out.sort();
        out
    }
}

/// The journey: a scheduled job (every minute, Asia/Kolkata, GZIP, encrypted, keep 1) runs on
/// its own on `hosts` hosts sharing one database: exactly one execution per occurrence; after
/// two successes retention has left one object; it restores into a new database with equal
/// data. Returns the time to the second success and to the restored data.
async fn journey(target: Target, hosts_n: usize, label: &str) {
    let started = Instant::now();
    let suffix = format!("{}_{label}", std::process::id());
    let (src_db, copy_db) = (
        format!("journey_src_{suffix}"),
        format!("journey_copy_{suffix}"),
    );
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
    let store = dir.join("backups");
    std::fs::create_dir_all(&store).expect("backup folder");
    let hosts = start_hosts(hosts_n, dir).await;
    let api = Api {
        addr: hosts.hosts[0].addr,
    };
    let api_b = Api {
        addr: hosts.hosts[hosts_n - 1].addr,
    };
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    sqlite_json(
        &hosts.db,
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg', 'PG source', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{src_db}"}}'),
               ('pg-target', 'PG target', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"postgres"}}'),
               {}"#,
            target.adapter_sql(&store, &hosts.encryption_key)
        ),
    );
    // An encryption profile, sealed the way the vault seals it.
    let sealed = SecretBox::from_hex_key(&hosts.encryption_key)
        .expect("box")
        .encrypt(&[7u8; 32], "EncryptionProfile.secretKey:prof")
        .expect("seal");
    sqlite_json(
        &hosts.db,
        &format!(
            r#"INSERT INTO "EncryptionProfile" ("id", "name", "secretKey") VALUES ('prof', 'Journey key', '{sealed}')"#
        ),
    );

    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&json!({
                "name": "journey", "schedule": "* * * * *", "timezone": "Asia/Kolkata",
                "sourceId": "pg", "databases": [src_db],
                "destinations": [{"destinationId": "disk", "retention": {"mode": "SIMPLE", "simple": {"keepCount": 1}}}],
                "compression": "GZIP", "encryptionProfileId": "prof"
            })),
            201,
        )
        .await;
    let job_id = job["id"].as_str().expect("id").to_owned();

    // Wait for two occurrences to run on their own.
    let listing = format!("/api/executions?jobId={job_id}&limit=50");
    wait_for(Duration::from_secs(200), || async {
        let page = api.expect(&admin, "GET", &listing, None, 200).await;
        let done = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|e| e["status"] == "Success")
            .count();
        (done >= 2).then_some(())
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "two scheduled runs did not succeed: {}",
            api_rows(&hosts.db)
        )
    });
    let second_success = started.elapsed();

    // Stop scheduling, and let everything in flight finish and be post-processed.
    let mut body = job.clone();
    body["enabled"] = json!(false);
    api.expect(
        &admin,
        "PUT",
        &format!("/api/jobs/{job_id}"),
        Some(&body),
        200,
    )
    .await;
    let settled = format!(
        r#"SELECT COUNT(*) AS n FROM "Execution" WHERE "jobId" = '{job_id}' AND "postProcessedAt" IS NULL"#
    );
    wait_for(Duration::from_secs(120), || async {
        (sqlite_json(&hosts.db, &settled)[0]["n"] == 0).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("executions did not settle: {}", api_rows(&hosts.db)));

    // Post-processing is claimed first (finalizedAt) and logged when done: wait for the log.
    let logs_sql = format!(
        r#"SELECT "logs" FROM "Execution" WHERE "jobId" = '{job_id}' AND "status" = 'Success'"#
    );
    let retention_logged = wait_for(Duration::from_secs(60), || async {
        let logs: String = sqlite_json(&hosts.db, &logs_sql)
            .iter()
            .map(|r| r["logs"].as_str().unwrap_or_default().to_owned())
            .collect();
        (logs.contains("deleted journey/") && logs.contains("not among the newest 1")).then_some(())
    })
    .await;
    assert!(
        retention_logged.is_some(),
        "retention logged no deletion: {}",
        api_rows(&hosts.db)
    );

    // Exactly one execution per occurrence, all from the scheduler, each one worker task.
    let rows = sqlite_json(
        &hosts.db,
        &format!(
            r#"SELECT "scheduledFor", COUNT(*) AS n, GROUP_CONCAT("status") AS s, COUNT(DISTINCT "taskId") AS tasks
               FROM "Execution" WHERE "jobId" = '{job_id}' GROUP BY "scheduledFor""#
        ),
    );
    for r in &rows {
        assert!(
            r["scheduledFor"]
                .as_str()
                .is_some_and(|t| t.ends_with(":00.000Z")),
            "{rows:?}"
        );
        assert_eq!(r["n"], 1, "{rows:?}");
        assert_eq!(r["tasks"], 1, "{rows:?}");
        assert_eq!(r["s"], "Success", "{rows:?}");
    }

    // Retention (keep 1): one object is left, the newest success's; its sidecar beside it.
    let newest = &sqlite_json(
        &hosts.db,
        &format!(
            r#"SELECT "id" FROM "Execution" WHERE "jobId" = '{job_id}' AND "status" = 'Success' ORDER BY "startedAt" DESC LIMIT 1"#
        ),
    )[0]["id"];
    let exec = api
        .expect(
            &admin,
            "GET",
            &format!("/api/executions/{}", newest.as_str().expect("id")),
            None,
            200,
        )
        .await;
    let exec_b = api_b
        .expect(
            &admin,
            "GET",
            &format!("/api/executions/{}", newest.as_str().expect("id")),
            None,
            200,
        )
        .await;
    assert_eq!(exec["status"], exec_b["status"]);
    assert_eq!(exec["trigger"], "Scheduler");
    let path = exec["path"].as_str().expect("path").to_owned();
    let object = target.file(&store, &path);
    assert_eq!(target.objects(&store, "journey"), vec![object.clone()]);
    let size = std::fs::metadata(&object).expect("backup object").len();
    assert_eq!(exec["size"].as_u64(), Some(size));
    let head = std::fs::read(&object).expect("read the backup");
    assert!(head.starts_with(b"DBKENC01"), "the backup is not encrypted");
    assert!(target.file(&store, &format!("{path}.meta.json")).is_file());
    assert_eq!(exec["progress"]["percent"], 100);
    // Verification after upload: the object was read back from its destination, every chunk
    // authenticated and its SHA-256 compared (issue 18 item 1).
    let checks = exec["verification"].as_array().expect("verification");
    assert_eq!(checks.len(), 1, "{exec}");
    assert_eq!(checks[0]["destinationId"], "disk", "{exec}");
    assert_eq!(checks[0]["status"], "Verified", "{exec}");
    assert!(
        checks[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("every container chunk authenticated, SHA-256 equal")),
        "{exec}"
    );
    assert!(
        checks[0]["checkedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{exec}"
    );
    // Restore it into a new database.
    let restore = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(
                &json!({"destinationId": "disk", "path": path, "targetSourceId": "pg-target",
                          "databaseMapping": {src_db.clone(): copy_db.clone()}}),
            ),
            202,
        )
        .await;
    let rid = restore["executionId"].as_str().expect("id").to_owned();
    let restored = wait_status(&api, &admin, &rid, Duration::from_secs(90)).await;
    assert_eq!(restored["status"], "Success", "{restored}");
    assert_eq!(restored["type"], "Restore");
    let q = "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM item";
    assert_eq!(psql(&copy_db, q), psql(&src_db, q));
    eprintln!(
        "journey ({label}, {hosts_n} host(s)): second scheduled success after {second_success:?}, \
         restored data checked after {:?}",
        started.elapsed()
    );

    for h in hosts.hosts {
        h.shutdown().await;
    }
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_journey_on_two_hosts_runs_each_occurrence_once() {
    journey(Target::Local, 2, "local").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_journey() {
    journey(
        Target::S3(S3Server::start(S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET)),
        1,
        "s3",
    )
    .await;
}

fn api_rows(db: &Path) -> String {
    format!(
        "{:?}",
        sqlite_json(
            db,
            r#"SELECT "id", "status", "scheduledFor", "taskId", "logs" FROM "Execution""#
        )
    )
}

const S3_ACCESS_KEY: &str = "AKIDJOURNEY";
const S3_SECRET_KEY: &str = "SECRETJOURNEY";
const S3_BUCKET: &str = "backups";
