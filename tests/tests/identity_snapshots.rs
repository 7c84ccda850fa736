//! The JSON shapes of the identity API, as insta snapshots: the caller's session, a user, a
//! group, a page of the audit log, a freshly created API key. Ids, timestamps, the cursor and
//! the key are redacted, after checking they have the right form.

use dbackup_tests::{Credential, RealApp, TEST_PASSWORD};
use insta::internals::Content;
use insta::{assert_json_snapshot, dynamic_redaction};
use serde_json::{json, Value};

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

fn is_timestamp(s: &str) -> bool {
    dbackup_identity::Timestamp::parse_iso(s).is_some() && s.len() == 24
}

/// `[id]` for a UUID (anything else fails the test).
fn id() -> insta::internals::Redaction {
    dynamic_redaction(|value: Content, path| {
        let s = value.as_str().unwrap_or_default();
        assert!(is_uuid(s), "{path}: {s:?} is not an id");
        "[id]"
    })
}

/// `[timestamp]` for an ISO-8601 UTC millisecond timestamp.
fn timestamp() -> insta::internals::Redaction {
    dynamic_redaction(|value: Content, path| {
        let s = value.as_str().unwrap_or_default();
        assert!(is_timestamp(s), "{path}: {s:?} is not a timestamp");
        "[timestamp]"
    })
}

async fn setup() -> (RealApp, Credential, Value) {
    let app = RealApp::start().await;
    let api = app.api();
    let (user, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    (app, admin, user)
}

#[tokio::test]
async fn session_shape() {
    let (app, admin, _) = setup().await;
    let me = app
        .api()
        .expect(&admin, "GET", "/api/auth/session", None, 200)
        .await;
    assert_json_snapshot!("session", me, {
        ".user.id" => id(),
        ".user.groupId" => id(),
        ".user.group.id" => id(),
        ".user.createdAt" => timestamp(),
        ".user.updatedAt" => timestamp(),
        ".session.id" => id(),
        ".session.expiresAt" => timestamp(),
    });
    let sessions = app
        .api()
        .expect(&admin, "GET", "/api/auth/sessions", None, 200)
        .await;
    assert_json_snapshot!("sessions", sessions, {
        "[].id" => id(),
        "[].userId" => id(),
        "[].createdAt" => timestamp(),
        "[].updatedAt" => timestamp(),
        "[].expiresAt" => timestamp(),
    });
    app.shutdown().await;
}

#[tokio::test]
async fn user_and_group_shapes() {
    let (app, admin, _) = setup().await;
    let api = app.api();
    let group = api
        .create_group(
            &admin,
            "Operators",
            &["jobs:read", "jobs:execute", "history:read"],
        )
        .await;
    let gid = group["id"].as_str().expect("id");
    let user = api
        .create_user(&admin, "Ann Example", "Ann@Example.com", Some(gid))
        .await;
    let uid = user["id"].as_str().expect("id");
    let fetched = api
        .expect(&admin, "GET", &format!("/api/users/{uid}"), None, 200)
        .await;
    assert_eq!(fetched, user, "created and fetched users look the same");
    assert_json_snapshot!("user", fetched, {
        ".id" => id(),
        ".groupId" => id(),
        ".group.id" => id(),
        ".createdAt" => timestamp(),
        ".updatedAt" => timestamp(),
    });
    let fetched = api
        .expect(&admin, "GET", &format!("/api/groups/{gid}"), None, 200)
        .await;
    assert_json_snapshot!("group", fetched, {
        ".id" => id(),
        ".createdAt" => timestamp(),
        ".updatedAt" => timestamp(),
    });
    app.shutdown().await;
}

#[tokio::test]
async fn audit_page_shape() {
    let (app, admin, _) = setup().await;
    let api = app.api();
    let group = api.create_group(&admin, "Ops", &["jobs:read"]).await;
    let gid = group["id"].as_str().expect("id");
    api.expect(
        &admin,
        "PATCH",
        &format!("/api/groups/{gid}"),
        Some(&json!({"name": "Operations", "permissions": ["jobs:read", "jobs:write"]})),
        200,
    )
    .await;
    api.expect(&admin, "DELETE", &format!("/api/groups/{gid}"), None, 204)
        .await;
    let page = api
        .expect(
            &admin,
            "GET",
            "/api/audit?resource=GROUP&limit=2",
            None,
            200,
        )
        .await;
    assert_json_snapshot!("audit_page", page, {
        ".items[].id" => id(),
        ".items[].userId" => id(),
        ".items[].resourceId" => id(),
        ".items[].createdAt" => timestamp(),
        ".nextCursor" => "[cursor]",
    });
    let logins = api
        .expect(&admin, "GET", "/api/audit?action=LOGIN", None, 200)
        .await;
    assert_json_snapshot!("audit_login", logins, {
        ".items[].id" => id(),
        ".items[].userId" => id(),
        ".items[].resourceId" => id(),
        ".items[].details.sessionId" => id(),
        ".items[].createdAt" => timestamp(),
    });
    app.shutdown().await;
}

#[tokio::test]
async fn api_key_shape() {
    let (app, admin, _) = setup().await;
    let created = app
        .api()
        .expect(
            &admin,
            "POST",
            "/api/api-keys",
            Some(
                &json!({"name": "nightly export", "permissions": ["jobs:read", "history:read"],
                         "expiresAt": "2999-01-01T00:00:00Z"}),
            ),
            201,
        )
        .await;
    let prefix = created["prefix"].as_str().expect("prefix").to_owned();
    assert_json_snapshot!("api_key_created", created, {
        ".id" => id(),
        ".userId" => id(),
        ".createdAt" => timestamp(),
        ".prefix" => dynamic_redaction(|value: Content, _| {
            let s = value.as_str().unwrap_or_default();
            assert!(s.len() == 8 && s.chars().all(|c| c.is_ascii_hexdigit()), "{s}");
            "[prefix]"
        }),
        ".key" => dynamic_redaction(move |value: Content, _| {
            let s = value.as_str().unwrap_or_default();
            let secret = s.strip_prefix(&format!("dbk_{prefix}_")).unwrap_or_default();
            assert!(secret.len() == 64 && secret.chars().all(|c| c.is_ascii_hexdigit()), "{s}");
            "dbk_[prefix]_[secret]"
        }),
    });
    app.shutdown().await;
}
