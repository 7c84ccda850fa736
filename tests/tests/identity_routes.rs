//! The route table (`dbackup_routes::ROUTES`) and the components agree: every rule
//! reaches a handler of its component (never the gate's 404/405, never the 500 of a rule the
//! component does not dispatch), and anything else under the identity route groups is the
//! gate's JSON 404 (an unknown path) or 405 with `Allow` (a known path, another method).

use dbackup_routes::{self as routes, ROUTES};
use dbackup_tests::{Credential, HttpResponse, RealApp, TEST_PASSWORD};
use serde_json::{json, Value};

fn is_gate_not_found(resp: &HttpResponse) -> bool {
    resp.status == 404 && resp.json() == json!({"error": "not found"})
}

#[tokio::test]
async fn every_rule_reaches_a_handler() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    // Ids that exist nowhere: handlers answer "<thing> not found", the gate only "not found".
    let missing = "00000000-0000-4000-8000-000000000000";
    let mut rules: Vec<_> = ROUTES.iter().collect();
    rules.sort_by_key(|r| r.pattern == "/api/auth/logout");
    for rule in rules {
        let path = rule.pattern.replace("{id}", missing);
        let body = (!matches!(rule.method, "GET" | "DELETE")).then(|| json!({}));
        let resp = api.call(&admin, rule.method, &path, body.as_ref()).await;
        let what = format!("{} {path}: {} {}", rule.method, resp.status, resp.text());
        assert!(!is_gate_not_found(&resp), "the gate did not know {what}");
        assert_ne!(resp.status, 405, "{what}");
        assert!(resp.status < 500, "{what}");
        if resp.status == 404 {
            assert!(resp.json()["error"].as_str().is_some(), "{what}");
        }
        // HEAD is GET without a body.
        if rule.method == "GET" {
            let head = api.call(&admin, "HEAD", &path, None).await;
            assert_eq!(head.status, resp.status, "HEAD {path}");
        }
    }
    app.shutdown().await;
}

#[tokio::test]
async fn unlisted_paths_and_methods_are_refused() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    for who in [Credential::Anonymous, admin] {
        for path in [
            "/api/auth",
            "/api/auth/nope",
            "/api/auth/session/x",
            "/api/auth/sessions/x/y",
            "/api/auth/2fa",
            "/api/auth/2fa/nope",
            "/api/auth/login/2fa/x",
            "/api/users/x/y",
            "/api/users/x/reset-2fa/z",
            "/api/groups/x/members",
            "/api/profile/x",
            "/api/profile/password/x",
            "/api/api-keys/x/y",
            "/api/audit/x",
            "/api/settings/x",
            "/api/health/x",
            "/api/nope",
        ] {
            for method in ["GET", "POST", "PATCH", "DELETE"] {
                let resp = api.call(&who, method, path, None).await;
                assert_eq!(
                    (resp.status, resp.json()),
                    (404, json!({"error": "not found"})),
                    "{method} {path} as {who:?}"
                );
            }
        }
        // A listed path with an unlisted method: 405 naming the table's methods for it.
        for (method, path) in [
            ("PUT", "/api/users/x"),
            ("POST", "/api/users/x"),
            ("DELETE", "/api/users"),
            ("GET", "/api/auth/login"),
            ("DELETE", "/api/auth/sessions"),
            ("GET", "/api/profile/password"),
            ("POST", "/api/settings"),
            ("DELETE", "/api/audit"),
            ("POST", "/api/health"),
        ] {
            let resp = api.call(&who, method, path, None).await;
            assert_eq!(resp.status, 405, "{method} {path}: {}", resp.text());
            assert_eq!(resp.json(), json!({"error": "method not allowed"}));
            let mut expected = routes::allowed_methods(path);
            expected.sort_unstable();
            let mut allow: Vec<&str> = resp
                .header("allow")
                .unwrap_or_else(|| panic!("{method} {path}: no Allow"))
                .split(", ")
                .collect();
            allow.sort_unstable();
            assert_eq!(allow, expected, "{method} {path}");
            assert!(!allow.is_empty(), "{method} {path}");
        }
    }
    app.shutdown().await;
}

/// Authorization comes before validation: a refused caller never learns whether its body was
/// valid, and a malformed body is a 400 only for callers the gate admitted.
#[tokio::test]
async fn refusals_come_before_the_body_is_read() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let (_, weak_key) = api.create_api_key(&admin, "reader", &["users:read"]).await;
    let bodies = [
        None,
        Some(json!("not an object")),
        Some(json!({"name": 5, "permissions": ["bogus:perm"]})),
    ];
    for body in &bodies {
        let resp = api
            .call(&Credential::Anonymous, "POST", "/api/groups", body.as_ref())
            .await;
        assert_eq!(resp.status, 401, "{}", resp.text());
        let resp = api
            .call(&weak_key, "POST", "/api/groups", body.as_ref())
            .await;
        assert_eq!(resp.status, 403, "{}", resp.text());
        assert_eq!(
            resp.json(),
            json!({"error": "missing permission groups:write"})
        );
    }
    let raw = api
        .send(
            "POST",
            "/api/groups",
            &[
                ("x-requested-with", "x"),
                ("content-type", "application/json"),
            ],
            None,
        )
        .await;
    assert_eq!(raw.status, 401, "{}", raw.text());
    for body in &bodies[1..] {
        let resp = api.call(&admin, "POST", "/api/groups", body.as_ref()).await;
        assert_eq!(resp.status, 400, "{}", resp.text());
    }
    let unknown = api
        .call(
            &admin,
            "POST",
            "/api/groups",
            Some(&json!({"name": "Ops", "permissions": ["jobs:read", "bogus:perm", "x"]})),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.json()["details"]["unknownPermissions"],
        json!(["bogus:perm", "x"])
    );
    // Sign-up once set up: 403 whatever the body.
    for body in [
        json!({}),
        json!({"name": "x", "email": "x@example.com", "password": "p"}),
    ] {
        let resp = api
            .call(
                &Credential::Anonymous,
                "POST",
                "/api/auth/signup",
                Some(&body),
            )
            .await;
        assert_eq!(resp.status, 403, "{}", resp.text());
        assert_eq!(
            resp.json(),
            json!({"error": "setup has already been completed"})
        );
    }
    let _: Value = api.expect(&admin, "GET", "/api/users", None, 200).await;
    app.shutdown().await;
}
