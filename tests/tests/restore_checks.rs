//! `POST /api/restores` through the host with the real worker and PostgreSQL:
//! - `privileged: {user, password}`: a low-privilege target user (no CREATEDB) cannot create the
//!   target database alone; with a superuser's credentials the database is created by that
//!   account and handed to the target user, who restores into it. The password is sealed in the
//!   stored request, never in an answer, masked in the audit log.
//! - the version check before queueing: a PostgreSQL dump of a newer major than the target's
//!   last probed version is a 409 unless `force`.

use dbackup_tests::{psql, sqlite_json, RealApp};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn privileged_credentials_create_the_database_and_newer_dumps_are_refused_early() {
    let pid = std::process::id();
    let (src, dst, low, admin_role) = (
        format!("rc_src_{pid}"),
        format!("rc_dst_{pid}"),
        format!("rc_low_{pid}"),
        format!("rc_admin_{pid}"),
    );
    let admin_password = format!("Adm1n-{pid}-secret");
    for db in [&src, &dst] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    for role in [&low, &admin_role] {
        psql("postgres", &format!("DROP ROLE IF EXISTS {role}"));
    }
    psql("postgres", &format!("CREATE DATABASE {src}"));
    psql(
        &src,
        "CREATE TABLE t (id int PRIMARY KEY, v text); \
         INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;",
    );
    psql(
        "postgres",
        &format!("CREATE ROLE {low} LOGIN NOSUPERUSER NOCREATEDB PASSWORD 'low-pw'"),
    );
    psql(
        "postgres",
        &format!("CREATE ROLE {admin_role} LOGIN SUPERUSER PASSWORD '{admin_password}'"),
    );

    let app = RealApp::with_worker().app_url().start().await;
    let store = app.backup_folder();
    let api = app.api();
    let db_file = app.db_path();
    let admin = api.signup_admin().await;
    sqlite_json(
        &db_file,
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg', 'PG', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{src}"}}'),
               ('low', 'Low', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"{low}","database":"postgres"}}'),
               ('disk', 'Disk', 'storage', 'local', '{{"path":"{}"}}')"#,
            store.display()
        ),
    );
    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(
                &json!({"name": "rc", "schedule": "@yearly", "sourceId": "pg",
                         "destinations": [{"destinationId": "disk"}], "compression": "GZIP"}),
            ),
            201,
        )
        .await;
    let backup = api.run_job(&admin, job["id"].as_str().expect("id")).await;
    assert_eq!(backup["status"], "Success", "{backup}");
    let path = backup["path"].as_str().expect("path").to_owned();
    let restore = |privileged: Value| {
        json!({"destinationId": "disk", "path": path, "targetSourceId": "low",
               "databaseMapping": {src.as_str(): dst.as_str()}, "privileged": privileged})
    };

    // Bad `privileged` values are 400s naming the field; the older flag is still accepted.
    for bad in [
        json!("yes"),
        json!({"password": "x"}),
        json!({"user": "a", "pw": "x"}),
    ] {
        let r = api
            .call(&admin, "POST", "/api/restores", Some(&restore(bad.clone())))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert_eq!(r.json()["details"]["field"], "privileged", "{}", r.text());
    }

    // The low-privilege user alone cannot create the database.
    let alone = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(&restore(json!(false))),
            202,
        )
        .await;
    let alone = api
        .finished_execution(&admin, alone["executionId"].as_str().expect("id"))
        .await;
    assert_eq!(alone["status"], "Failed", "{alone}");
    assert!(
        alone["error"]
            .as_str()
            .is_some_and(|e| e.contains("permission denied")),
        "{alone}"
    );
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{dst}'")
        ),
        "0"
    );

    // With the superuser's credentials: created by it, owned by the target user, restored.
    let with = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(&restore(
                json!({"user": admin_role, "password": admin_password}),
            )),
            202,
        )
        .await;
    let with_id = with["executionId"].as_str().expect("id").to_owned();
    let stored = sqlite_json(
        &db_file,
        &format!(r#"SELECT "request" FROM "Execution" WHERE "id" = '{with_id}'"#),
    );
    let request = stored[0]["request"].as_str().expect("request").to_owned();
    assert!(!request.contains(&admin_password), "{request}");
    let request: Value = serde_json::from_str(&request).expect("json");
    assert_eq!(request["privilegedAs"]["user"], admin_role.as_str());
    assert!(request["privilegedAs"]["passwordSealed"].is_string());
    let done = api.finished_execution(&admin, &with_id).await;
    assert_eq!(done["status"], "Success", "{done}");
    assert!(!done.to_string().contains(&admin_password));
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{dst}'")
        ),
        low
    );
    assert_eq!(
        psql(&dst, "SELECT count(*) || ':' || sum(id) FROM t"),
        "500:125250"
    );
    let audit = api
        .expect(&admin, "GET", "/api/audit?limit=200", None, 200)
        .await;
    let text = audit.to_string();
    assert!(
        !text.contains(&admin_password),
        "the audit log holds the password"
    );
    let logged = audit["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["resourceId"] == with_id.as_str()))
        .expect("the restore is audited");
    assert_eq!(logged["details"]["privileged"]["user"], admin_role.as_str());
    assert!(
        logged["details"]["privileged"]["password"].is_string(),
        "{logged}"
    );

    // The version check before queueing: the target's last probe says 9.6, the dump is newer.
    sqlite_json(
        &db_file,
        r#"UPDATE "AdapterConfig" SET "metadata" = '{"engineVersion":"9.6.24"}' WHERE "id" = 'low'"#,
    );
    let plain = |force: Option<bool>| {
        let mut b = json!({"destinationId": "disk", "path": path, "targetSourceId": "low",
                           "databaseMapping": {src.as_str(): format!("{dst}_v")}});
        if let Some(f) = force {
            b["force"] = json!(f);
        }
        b
    };
    let before = sqlite_json(&db_file, r#"SELECT COUNT(*) AS n FROM "Execution""#)[0]["n"].clone();
    let r = api
        .call(&admin, "POST", "/api/restores", Some(&plain(None)))
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let message = r.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("9.6.24") && message.contains("force"),
        "{message}"
    );
    assert_eq!(r.json()["details"]["field"], "force");
    assert_eq!(
        sqlite_json(&db_file, r#"SELECT COUNT(*) AS n FROM "Execution""#)[0]["n"],
        before,
        "a refused restore queued an execution"
    );
    // `force` queues it; a target version that is not older does too.
    api.expect(
        &admin,
        "POST",
        "/api/restores",
        Some(&plain(Some(true))),
        202,
    )
    .await;
    sqlite_json(
        &db_file,
        r#"UPDATE "AdapterConfig" SET "metadata" = '{"engineVersion":"99.0"}' WHERE "id" = 'low'"#,
    );
    api.expect(&admin, "POST", "/api/restores", Some(&plain(None)), 202)
        .await;

    app.shutdown().await;
    for db in [&src, &dst, &format!("{dst}_v")] {
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
    }
    for role in [&low, &admin_role] {
        psql("postgres", &format!("DROP ROLE IF EXISTS {role}"));
    }
}
