//! Config restore grants nothing the caller does not hold (issue 14, finding 1), through the real
//! host: a user with `settings:write` (and users/groups write) uploads documents that widen their
//! own group, move them into SuperAdmin, or replace the SuperAdmin's password hash — each is a
//! 403, dry run included, and nothing changes. The same kind of document restored by a
//! SuperAdmin works, and the user whose group and password hash changed is signed out
//! everywhere (their old session answers 401). A document whose job has a cron string that
//! `POST /api/jobs` rejects is a 400 naming the job and the field, and nothing is written.

mod adapters_common;

use dbackup_tests::{sqlite_json, Api, Credential, HttpResponse, RealApp, TEST_PASSWORD};
use serde_json::{json, Value};

const ADMIN_PASSWORD: &str = "the admin's own passphrase";

/// A config document (formatVersion 1) with these entities.
fn document(groups: Value, users: Value, jobs: Value, settings: Value) -> Value {
    json!({
        "kind": "dbackup-config", "formatVersion": 1, "schemaVersion": 6,
        "createdAt": "2026-01-01T00:00:00.000Z", "appVersion": "test",
        "includesSecrets": true, "includesPasswordHashes": true,
        "settings": settings, "adapters": [], "encryptionProfiles": [],
        "groups": groups, "users": users, "ssoProviders": [], "jobs": jobs,
    })
}

/// A user entry as an export writes it, from the API's view of the user.
fn user_entry(u: &Value, group: &str, password_hash: Option<&str>) -> Value {
    let mut e = json!({
        "email": u["email"], "name": u["name"], "emailVerified": u["emailVerified"],
        "image": u["image"], "timezone": u["timezone"], "dateFormat": u["dateFormat"],
        "timeFormat": u["timeFormat"], "group": group,
    });
    if let Some(h) = password_hash {
        e["passwordHash"] = json!(h);
    }
    e
}

/// `POST /api/system/config-restore[?dryRun=true]` with `doc` as the uploaded file.
async fn restore(api: &Api, who: &Credential, doc: &Value, dry_run: bool) -> HttpResponse {
    let Credential::Cookie(jwt) = who else {
        panic!("cookie session expected")
    };
    let cookie = format!("dbackup_session={jwt}");
    let target = if dry_run {
        "/api/system/config-restore?dryRun=true"
    } else {
        "/api/system/config-restore"
    };
    api.send(
        "POST",
        target,
        &[("cookie", &cookie), ("x-requested-with", "XMLHttpRequest")],
        Some(doc),
    )
    .await
}

fn one(app: &RealApp, sql: &str) -> Value {
    sqlite_json(&app.db_path(), sql)
        .into_iter()
        .next()
        .map(|r| r["v"].clone())
        .unwrap_or(Value::Null)
}

fn hash_of(app: &RealApp, email: &str) -> String {
    one(
        app,
        &format!(
            r#"SELECT a."password" AS v FROM "Account" a JOIN "User" u ON u."id" = a."userId"
               WHERE u."email" = '{email}' AND a."providerId" = 'credential'"#
        ),
    )
    .as_str()
    .expect("a password hash")
    .to_owned()
}

/// What the escalation documents could change: every group's permissions, every user's group,
/// every password hash, the sessions.
fn state(app: &RealApp) -> Vec<Value> {
    sqlite_json(
        &app.db_path(),
        r#"SELECT 'g' AS k, "name" AS a, "permissions" AS b FROM "Group"
           UNION ALL SELECT 'u', "email", "groupId" FROM "User"
           UNION ALL SELECT 'p', "userId", "password" FROM "Account"
           UNION ALL SELECT 's', "userId", "id" FROM "Session"
           ORDER BY 1, 2, 3"#,
    )
}

struct Setup {
    app: RealApp,
    api: Api,
    admin: Credential,
    admin_user: Value,
    mallory: Credential,
    mallory_user: Value,
}

/// An install with the SuperAdmin `admin@example.com` and `mallory@example.com` in "Admins":
/// settings, users and groups — read and write.
async fn setup() -> Setup {
    let app = RealApp::start().await;
    let api = app.api();
    let (admin_user, admin) = api
        .signup("Admin", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let group = api
        .create_group(
            &admin,
            "Admins",
            &[
                "settings:read",
                "settings:write",
                "users:read",
                "users:write",
                "groups:read",
                "groups:write",
            ],
        )
        .await;
    let mallory_user = api
        .create_user(
            &admin,
            "Mallory",
            "mallory@example.com",
            group["id"].as_str(),
        )
        .await;
    let mallory = api.login("mallory@example.com", TEST_PASSWORD).await;
    Setup {
        app,
        api,
        admin,
        admin_user,
        mallory,
        mallory_user,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_that_grants_what_the_caller_lacks_is_refused_and_changes_nothing() {
    let s = setup().await;
    let admins_plus_vault = json!([{"name": "Admins", "permissions": [
        "settings:read", "settings:write", "users:read", "users:write", "groups:read",
        "groups:write", "vault:write"]}]);
    let escalations = [
        (
            "widen own group",
            document(admins_plus_vault, json!([]), json!([]), json!({})),
            "vault:write",
        ),
        (
            "move self into SuperAdmin",
            document(
                json!([]),
                json!([user_entry(&s.mallory_user, "SuperAdmin", None)]),
                json!([]),
                json!({}),
            ),
            "you do not hold",
        ),
        (
            "replace the SuperAdmin's password hash",
            document(
                json!([]),
                json!([user_entry(
                    &s.admin_user,
                    "SuperAdmin",
                    Some(&hash_of(&s.app, "mallory@example.com"))
                )]),
                json!([]),
                json!({}),
            ),
            "you do not hold",
        ),
    ];
    let before = state(&s.app);
    for (what, doc, names) in &escalations {
        for dry_run in [true, false] {
            let r = restore(&s.api, &s.mallory, doc, dry_run).await;
            assert_eq!(r.status, 403, "{what} (dry run {dry_run}): {}", r.text());
            let body = r.json();
            let message = body["error"].as_str().unwrap_or_default();
            assert!(message.contains(names), "{what}: {body}");
            assert_eq!(state(&s.app), before, "{what} (dry run {dry_run}) changed");
        }
    }
    // The admin's password is still theirs, Mallory's does not open the admin account.
    s.api.login("admin@example.com", ADMIN_PASSWORD).await;
    let wrong = s
        .api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/login",
            Some(&json!({"email": "admin@example.com", "password": TEST_PASSWORD})),
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    // What Mallory may do through the API she may restore: a group within her permissions.
    let within = document(
        json!([{"name": "Readers", "permissions": ["settings:read", "users:read"]}]),
        json!([]),
        json!([]),
        json!({}),
    );
    let r = restore(&s.api, &s.mallory, &within, false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["counts"]["create"], 1);
    s.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_super_admin_restores_it_and_the_changed_user_is_signed_out() {
    let s = setup().await;
    let admin_hash = hash_of(&s.app, "admin@example.com");
    let doc = document(
        json!([]),
        json!([user_entry(&s.mallory_user, "SuperAdmin", Some(&admin_hash))]),
        json!([]),
        json!({}),
    );
    s.api
        .expect(&s.mallory, "GET", "/api/auth/session", None, 200)
        .await;
    let dry = restore(&s.api, &s.admin, &doc, true).await;
    assert_eq!(dry.status, 200, "{}", dry.text());
    // A dry run signs nobody out.
    s.api
        .expect(&s.mallory, "GET", "/api/auth/session", None, 200)
        .await;
    let r = restore(&s.api, &s.admin, &doc, false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let report = r.json();
    assert_eq!(report["changes"], dry.json()["changes"]);
    let change = report["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["entity"] == "user"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(change["action"], "update", "{report}");
    // Mallory's old session is gone; the restoring admin's is not.
    let old = s
        .api
        .call(&s.mallory, "GET", "/api/auth/session", None)
        .await;
    assert_eq!(old.status, 401, "{}", old.text());
    assert!(
        change["reason"]
            .as_str()
            .is_some_and(|r| r.contains("signed out")),
        "{report}"
    );
    s.api
        .expect(&s.admin, "GET", "/api/auth/session", None, 200)
        .await;
    // The restored hash and group are in place.
    let mallory = s.api.login("mallory@example.com", ADMIN_PASSWORD).await;
    let me = s
        .api
        .expect(&mallory, "GET", "/api/auth/session", None, 200)
        .await;
    assert!(me.to_string().contains("SuperAdmin"), "{me}");
    s.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_entity_the_api_would_reject_is_a_400_naming_it_and_nothing_is_written() {
    let s = setup().await;
    let mut doc = document(
        json!([{"name": "Restored", "permissions": ["jobs:read"]}]),
        json!([]),
        json!([{"name": "nightly", "schedule": "61 * * * *", "source": "PG",
                "destinations": [{"name": "Bucket"}]}]),
        json!({"maxConcurrentJobs": 3}),
    );
    doc["adapters"] = json!([
        {"name": "PG", "type": "database", "adapterId": "postgres", "config": {
            "host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "pw",
            "database": "shop"}},
        {"name": "Bucket", "type": "storage", "adapterId": "minio", "config": {
            "endpoint": "http://127.0.0.1:9000", "bucket": "backups", "accessKeyId": "key",
            "secretAccessKey": "secret"}},
    ]);
    for dry_run in [true, false] {
        let r = restore(&s.api, &s.admin, &doc, dry_run).await;
        assert_eq!(r.status, 400, "dry run {dry_run}: {}", r.text());
        let e = r.json();
        assert_eq!(e["details"]["entity"], "job", "{e}");
        assert_eq!(e["details"]["name"], "nightly", "{e}");
        assert_eq!(e["details"]["field"], "schedule", "{e}");
        assert!(
            e["error"].as_str().unwrap_or_default().contains("nightly"),
            "{e}"
        );
    }
    assert_eq!(
        one(
            &s.app,
            r#"SELECT count(*) AS v FROM "Group" WHERE "name" = 'Restored'"#
        ),
        json!(0)
    );
    assert_eq!(
        one(
            &s.app,
            r#"SELECT count(*) AS v FROM "SystemSetting" WHERE "key" = 'maxConcurrentJobs'"#
        ),
        json!(0)
    );
    assert_eq!(one(&s.app, r#"SELECT count(*) AS v FROM "Job""#), json!(0));
    assert_eq!(
        one(&s.app, r#"SELECT count(*) AS v FROM "AdapterConfig""#),
        json!(0)
    );
    // A permission name that does not exist is a 400 naming it, too.
    let doc = document(
        json!([{"name": "Odd", "permissions": ["jobs:read", "root"]}]),
        json!([]),
        json!([]),
        json!({}),
    );
    let r = restore(&s.api, &s.admin, &doc, false).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let e = r.json();
    assert_eq!(e["details"]["entity"], "group", "{e}");
    assert_eq!(e["details"]["field"], "permissions", "{e}");
    s.app.shutdown().await;
}

/// Imported local destinations and SQLite sources go through the worker's path check as
/// `POST /api/adapters` does (tests/tests/security_local_roots.rs): a destination at `/etc` or a
/// SQLite source at the app's own database is a 400 naming the adapter and `path`, dry run
/// included, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imported_paths_the_worker_refuses_are_a_400_naming_the_adapter() {
    let app = adapters_common::start_app_with_worker().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let app_db = app.dir.join("data/dbackup.db");
    for (name, adapter) in [
        (
            "Disk",
            json!({"name": "Disk", "type": "storage", "adapterId": "local",
                   "config": {"path": "/etc"}}),
        ),
        (
            "Own DB",
            json!({"name": "Own DB", "type": "database", "adapterId": "sqlite",
                   "config": {"path": app_db}}),
        ),
    ] {
        let mut doc = document(json!([]), json!([]), json!([]), json!({}));
        doc["adapters"] = json!([adapter]);
        for dry_run in [true, false] {
            let r = restore(&api, &admin, &doc, dry_run).await;
            assert_eq!(r.status, 400, "{name} dry run {dry_run}: {}", r.text());
            let e = r.json();
            assert_eq!(e["details"]["entity"], "adapter", "{e}");
            assert_eq!(e["details"]["name"], name, "{e}");
            assert_eq!(e["details"]["field"], "path", "{e}");
        }
    }
    assert_eq!(
        one(&app, r#"SELECT count(*) AS v FROM "AdapterConfig""#),
        json!(0)
    );
    app.shutdown().await;
}
