//! The runner end to end, through the host with the real worker and PostgreSQL: a job whose
//! schedule comes due during the test runs on its own, once per occurrence, even with two
//! hosts (two runners) on one database file → Success with the object on disk → a restore
//! into a new database → the data is equal.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dbackup_host::app::{self, RunningHost};
use dbackup_host::worker::WorkerMode;
use dbackup_identity::secretbox::SecretBox;
use dbackup_tests::{
    bin, free_port, host_config, real_app_env, repo, sqlite_json, wait_for, warm_real_app, Api,
    Credential, TempDir, TEST_PASSWORD,
};
use serde_json::{json, Value};

fn psql(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            db,
            "-c",
            sql,
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {db} {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

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

fn object_path(base: &Path, exec: &Value) -> std::path::PathBuf {
    base.join(exec["path"].as_str().expect("path"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_backup_runs_once_per_occurrence_on_two_hosts_then_restores() {
    let started = Instant::now();
    let suffix = std::process::id();
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
    let hosts = start_hosts(2, dir).await;
    let api = Api {
        addr: hosts.hosts[0].addr,
    };
    let api_b = Api {
        addr: hosts.hosts[1].addr,
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
               ('disk', 'Local disk', 'storage', 'local', '{{"path":"{}"}}')"#,
            store.display()
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

    // Every minute, in a non-UTC timezone, compressed and encrypted.
    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&json!({
                "name": "journey", "schedule": "* * * * *", "timezone": "Asia/Kolkata",
                "sourceId": "pg", "databases": [src_db],
                "destinations": [{"destinationId": "disk", "retention": {"mode": "SIMPLE", "simple": {"keepCount": 5}}}],
                "compression": "GZIP", "encryptionProfileId": "prof"
            })),
            201,
        )
        .await;
    let job_id = job["id"].as_str().expect("id").to_owned();

    // Wait for two occurrences to run on their own.
    let listing = format!("/api/executions?jobId={job_id}&limit=50");
    let two = wait_for(Duration::from_secs(200), || async {
        let page = api.expect(&admin, "GET", &listing, None, 200).await;
        let done: Vec<Value> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|e| e["status"] == "Success")
            .cloned()
            .collect();
        (done.len() >= 2).then_some(done)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "two scheduled runs did not succeed: {}",
            api_rows(&hosts.db)
        )
    });
    let first_success = started.elapsed();

    // Exactly one execution per occurrence, all from the scheduler, none failed.
    let rows = sqlite_json(
        &hosts.db,
        &format!(
            r#"SELECT "scheduledFor", COUNT(*) AS n, GROUP_CONCAT("status") AS s, COUNT(DISTINCT "taskId") AS tasks
               FROM "Execution" WHERE "jobId" = '{job_id}' GROUP BY "scheduledFor""#
        ),
    );
    for r in &rows {
        assert!(
            r["scheduledFor"].is_string(),
            "a run without an occurrence: {rows:?}"
        );
        assert_eq!(r["n"], 1, "{rows:?}");
        assert!(r["tasks"].as_i64() <= Some(1), "{rows:?}");
        assert!(
            ["Success", "Running", "Pending"].contains(&r["s"].as_str().unwrap_or("")),
            "{rows:?}"
        );
    }
    // Each occurrence is a whole minute.
    for r in &rows {
        assert!(
            r["scheduledFor"]
                .as_str()
                .is_some_and(|t| t.ends_with(":00.000Z")),
            "{r}"
        );
    }

    // The object is on disk, with its sidecar; the second host sees the same history.
    let exec = api
        .expect(
            &admin,
            "GET",
            &format!("/api/executions/{}", two[0]["id"].as_str().expect("id")),
            None,
            200,
        )
        .await;
    let exec_b = api_b
        .expect(
            &admin,
            "GET",
            &format!("/api/executions/{}", two[0]["id"].as_str().expect("id")),
            None,
            200,
        )
        .await;
    assert_eq!(exec["status"], exec_b["status"]);
    assert_eq!(exec["trigger"], "Scheduler");
    let object = object_path(&store, &exec);
    let size = std::fs::metadata(&object).expect("backup object").len();
    let head = std::fs::read(&object).expect("read the backup");
    assert!(head.starts_with(b"DBKENC01"), "the backup is not encrypted");
    assert_eq!(exec["size"].as_u64(), Some(size));
    assert!(object
        .with_file_name(format!(
            "{}.meta.json",
            object.file_name().expect("name").to_string_lossy()
        ))
        .is_file());
    assert!(
        exec["logs"].as_array().is_some_and(|l| l.len() >= 3),
        "{exec}"
    );
    assert_eq!(exec["progress"]["percent"], 100);

    // Restore the newest backup into a new database.
    let restore = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(&json!({"destinationId": "disk", "path": exec["path"], "targetSourceId": "pg-target",
                          "databaseMapping": {src_db.clone(): copy_db.clone()}})),
            202,
        )
        .await;
    let rid = restore["executionId"].as_str().expect("id").to_owned();
    let restored = wait_status(&api, &admin, &rid, Duration::from_secs(90)).await;
    assert_eq!(restored["status"], "Success", "{restored}");
    assert_eq!(restored["type"], "Restore");
    let q = "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM item";
    assert_eq!(psql(&copy_db, q), psql(&src_db, q));
    let total = started.elapsed();
    eprintln!("journey: first two scheduled successes after {first_success:?}, restore done after {total:?}");

    // Disable the job: nothing new is scheduled.
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

    for h in hosts.hosts {
        h.shutdown().await;
    }
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
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
