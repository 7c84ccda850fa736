//! A PostgreSQL source with `ssh` end to end, through the host with the real worker (issue 17):
//! a private `sshd -D` on a loopback port (temp host key, root by key only), the source
//! adapter created through the API with `ssh: {host, port, user, privateKey, hostKey}` (probed
//! ONLINE over SSH, its private key masked in the answer), a job to a local destination runs
//! now → Success and the sshd log shows the login → `POST /api/restores` onto a second
//! PostgreSQL source (also over SSH) → equal data. A PUT that moves `ssh.host` while keeping
//! the masked key is refused.

use std::process::Command;

use dbackup_tests::sshd::Sshd;
use dbackup_tests::{free_port, RealApp, TempDir};
use serde_json::json;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn psql(db: &str, sql: &str) -> String {
    run(Command::new("psql")
        .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-c", sql]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_source_over_ssh_through_the_app() {
    let work = TempDir::new();
    let sshd = Sshd::start(work.path());
    let suffix = free_port();
    let src = format!("sshjsrc{suffix}");
    let dst = format!("sshjdst{suffix}");
    psql("postgres", &format!("CREATE DATABASE {src}"));
    psql("postgres", &format!("CREATE DATABASE {dst}"));
    psql(
        &src,
        "CREATE TABLE t(id int primary key, s text); INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 3000) i;",
    );

    let real = RealApp::with_worker().app_url().start().await;
    let api = real.api();
    let admin = api.signup_admin().await;
    let store = real.backup_folder();
    let disk = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(
                &json!({"name": "Disk", "type": "storage", "adapterId": "local",
                          "config": {"path": store}}),
            ),
            201,
        )
        .await;
    let ssh = json!({"host": "127.0.0.1", "port": sshd.port, "user": "root",
                     "privateKey": sshd.client_key, "hostKey": sshd.host_key});
    let source = |name: &str, db: &str| {
        json!({"name": name, "type": "database", "adapterId": "postgres",
               "config": {"host": "127.0.0.1", "port": 5432, "user": "postgres",
                          "database": db, "ssh": ssh}})
    };
    let pg = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(&source("Remote", &src)),
            201,
        )
        .await;
    assert_eq!(pg["lastStatus"], "ONLINE", "{pg}");
    assert_eq!(pg["config"]["ssh"]["privateKey"], "••••", "{pg}");
    assert_eq!(pg["config"]["ssh"]["host"], "127.0.0.1", "{pg}");
    let target = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(&source("Remote copy", &dst)),
            201,
        )
        .await;

    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(
                &json!({"name": "remote", "schedule": "@yearly", "sourceId": pg["id"],
                          "destinations": [{"destinationId": disk["id"]}], "compression": "ZSTD"}),
            ),
            201,
        )
        .await;
    let backup = api.run_job(&admin, job["id"].as_str().expect("id")).await;
    assert_eq!(backup["status"], "Success", "{backup}");
    let log = std::fs::read_to_string(&sshd.log).unwrap_or_default();
    assert!(log.contains("Accepted publickey for root"), "{log}");
    let path = backup["path"].as_str().expect("path").to_owned();

    let queued = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(
                &json!({"destinationId": disk["id"], "path": path, "targetSourceId": target["id"],
                         "databaseMapping": {src.clone(): dst.clone()}}),
            ),
            202,
        )
        .await;
    let done = api
        .finished_execution(&admin, queued["executionId"].as_str().expect("id"))
        .await;
    assert_eq!(done["status"], "Success", "{done}");
    assert_eq!(
        psql(&dst, "SELECT count(*), sum(length(s)) FROM t"),
        psql(&src, "SELECT count(*), sum(length(s)) FROM t")
    );

    // Moving ssh.host while keeping the masked key: refused, the key must be entered again.
    let mut moved = pg["config"].clone();
    moved["ssh"]["host"] = json!("127.0.0.2");
    let r = api
        .call(
            &admin,
            "PUT",
            &format!("/api/adapters/{}", pg["id"].as_str().expect("id")),
            Some(&json!({"config": moved})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("ssh"), "{}", r.text());

    psql("postgres", &format!("DROP DATABASE {src}"));
    psql("postgres", &format!("DROP DATABASE {dst}"));
}
