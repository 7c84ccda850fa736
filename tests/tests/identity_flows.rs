//! Identity flows over HTTP against the real app: first-user sign-up (and its race), lockout,
//! sessions (revocation, logout, password change, sliding refresh, forged and expired JWTs),
//! CSRF, TOTP with codes computed here, backup codes, API keys, settings, the audit trail and
//! its paging, and the runner's hourly maintenance.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dbackup_identity::{token, Timestamp};
use dbackup_tests::{
    session_cookie, sqlite_json, Api, Credential, RealApp, TEST_PASSWORD, TEST_USER_AGENT,
};
use serde_json::{json, Value};

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Every audit row matching `query` (`action=LOGIN&…`), newest first, following the cursor.
async fn audit_rows(api: &Api, admin: &Credential, query: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut target = format!("/api/audit?limit=200&{query}");
        if let Some(c) = &cursor {
            target.push_str(&format!("&cursor={c}"));
        }
        let page = api.expect(admin, "GET", &target, None, 200).await;
        rows.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return rows,
        }
    }
}

async fn session_id(api: &Api, who: &Credential) -> String {
    let me = api.expect(who, "GET", "/api/auth/session", None, 200).await;
    me["session"]["id"].as_str().expect("session id").to_owned()
}

#[tokio::test]
async fn first_user_signup_race_and_setup_status() {
    let app = RealApp::start().await;
    let api = app.api();
    let anon = Credential::Anonymous;
    let status = api
        .expect(&anon, "GET", "/api/auth/setup-status", None, 200)
        .await;
    assert_eq!(status, json!({"needsSetup": true, "passkeyLogin": true}));

    let body = |email: &str| json!({"name": "First", "email": email, "password": TEST_PASSWORD});
    let (one, two) = (body("one@example.com"), body("two@example.com"));
    let (a, b) = tokio::join!(
        api.call(&anon, "POST", "/api/auth/signup", Some(&one)),
        api.call(&anon, "POST", "/api/auth/signup", Some(&two)),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 403], "{} / {}", a.text(), b.text());
    let (winner, loser) = if a.status == 201 { (a, b) } else { (b, a) };
    assert_eq!(
        loser.json(),
        json!({"error": "setup has already been completed"})
    );
    assert!(session_cookie(&loser).is_none());
    let user = winner.json();
    assert!(user["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(user["group"]["name"], "SuperAdmin");
    assert!(user.get("password").is_none());
    let cookie = winner
        .header("set-cookie")
        .expect("the winner is signed in")
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain-HTTP loopback: no Secure: {cookie}"
    );
    let admin = Credential::Cookie(session_cookie(&winner).expect("jwt"));

    let status = api
        .expect(&anon, "GET", "/api/auth/setup-status", None, 200)
        .await;
    assert_eq!(status, json!({"needsSetup": false, "passkeyLogin": true}));
    let later = api
        .call(
            &anon,
            "POST",
            "/api/auth/signup",
            Some(&body("three@example.com")),
        )
        .await;
    assert_eq!(later.status, 403, "{}", later.text());
    let users = api.expect(&admin, "GET", "/api/users", None, 200).await;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
    let me = api
        .expect(&admin, "GET", "/api/auth/session", None, 200)
        .await;
    assert_eq!(me["user"]["id"], user["id"]);
    assert_eq!(me["permissions"].as_array().map(Vec::len), Some(30));
    app.shutdown().await;
}

#[tokio::test]
async fn lockout_answers_429_with_retry_after() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let anon = Credential::Anonymous;
    let wrong = json!({"email": "admin@example.com", "password": "wrong password"});
    let unknown = json!({"email": "nobody@example.com", "password": "wrong password"});
    for _ in 0..5 {
        let resp = api
            .call(&anon, "POST", "/api/auth/login", Some(&wrong))
            .await;
        assert_eq!(resp.status, 401, "{}", resp.text());
        assert_eq!(resp.json(), json!({"error": "invalid email or password"}));
    }
    // An unknown email answers exactly like a wrong password.
    let resp = api
        .call(&anon, "POST", "/api/auth/login", Some(&unknown))
        .await;
    assert_eq!(
        (resp.status, resp.json()),
        (401, json!({"error": "invalid email or password"}))
    );
    // Locked: even the right password is refused, with Retry-After.
    let right = json!({"email": "admin@example.com", "password": TEST_PASSWORD});
    let resp = api
        .call(&anon, "POST", "/api/auth/login", Some(&right))
        .await;
    assert_eq!(resp.status, 429, "{}", resp.text());
    let retry: u64 = resp
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(resp.json()["details"]["retryAfterSecs"], json!(retry));
    assert!(session_cookie(&resp).is_none());

    // Persisted in the database (components are stateless).
    let rows = sqlite_json(
        &app.db_path(),
        r#"SELECT key, failures FROM "LoginThrottle" ORDER BY key"#,
    );
    assert!(
        rows.contains(&json!({"key": "account:admin@example.com", "failures": 5})),
        "{rows:?}"
    );
    assert!(
        rows.contains(&json!({"key": "ip:127.0.0.1", "failures": 6})),
        "{rows:?}"
    );
    let failed = audit_rows(&api, &admin, "action=LOGIN_FAILED").await;
    assert_eq!(failed.len(), 6);
    for row in &failed {
        assert_eq!(row["ipAddress"], "127.0.0.1");
        assert_eq!(row["userAgent"], TEST_USER_AGENT);
        assert_eq!(row["resource"], "AUTH");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn sessions_revocation_and_logout() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, a) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let b = api.login("admin@example.com", TEST_PASSWORD).await;
    let (a_id, b_id) = (session_id(&api, &a).await, session_id(&api, &b).await);
    let list = api.expect(&a, "GET", "/api/auth/sessions", None, 200).await;
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 2);
    for s in list {
        assert_eq!(s["current"], json!(s["id"] == json!(a_id)), "{s}");
        assert_eq!(s["userAgent"], TEST_USER_AGENT);
        assert!(s.get("token").is_none(), "{s}");
    }

    // Revocation takes effect on the very next request.
    api.expect(
        &a,
        "DELETE",
        &format!("/api/auth/sessions/{b_id}"),
        None,
        204,
    )
    .await;
    let resp = api.call(&b, "GET", "/api/auth/session", None).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    assert!(
        resp.header("set-cookie")
            .is_some_and(|c| c.starts_with("dbackup_session=;") && c.contains("Max-Age=0")),
        "a dead session's cookie is deleted: {:?}",
        resp.header("set-cookie")
    );
    api.expect(&a, "GET", "/api/auth/session", None, 200).await;

    // Someone else's session: 404 without users:write, revocable with it.
    api.create_user(&a, "Plain", "plain@example.com", None)
        .await;
    let plain = api.login("plain@example.com", TEST_PASSWORD).await;
    let plain_id = session_id(&api, &plain).await;
    api.expect(
        &plain,
        "DELETE",
        &format!("/api/auth/sessions/{a_id}"),
        None,
        404,
    )
    .await;
    api.expect(
        &a,
        "DELETE",
        &format!("/api/auth/sessions/{plain_id}"),
        None,
        204,
    )
    .await;
    assert_eq!(
        api.call(&plain, "GET", "/api/profile", None).await.status,
        401
    );
    let revoked = audit_rows(&api, &a, "resource=SESSION&action=DELETE").await;
    assert_eq!(revoked.len(), 2);

    // Logout ends the session and deletes the cookie.
    let resp = api.call(&a, "POST", "/api/auth/logout", None).await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    let cleared = resp.header("set-cookie").expect("cookie cleared");
    assert!(cleared.starts_with("dbackup_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        api.call(&a, "GET", "/api/auth/session", None).await.status,
        401
    );
    let rows = sqlite_json(
        &app.db_path(),
        r#"SELECT action FROM "AuditLog" WHERE action = 'LOGOUT'"#,
    );
    assert_eq!(rows.len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn password_change_revokes_other_sessions() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, a) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let b = api.login("admin@example.com", TEST_PASSWORD).await;
    let (_, key) = api.create_api_key(&a, "script", &["users:read"]).await;
    let wrong = json!({"currentPassword": "not it at all", "newPassword": "a brand new password"});
    let resp = api
        .call(&a, "POST", "/api/profile/password", Some(&wrong))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    api.expect(&b, "GET", "/api/auth/session", None, 200).await;

    let short = json!({"currentPassword": TEST_PASSWORD, "newPassword": "short"});
    let resp = api
        .call(&a, "POST", "/api/profile/password", Some(&short))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());

    let change = json!({"currentPassword": TEST_PASSWORD, "newPassword": "a brand new password"});
    api.expect(&a, "POST", "/api/profile/password", Some(&change), 204)
        .await;
    assert_eq!(
        api.call(&b, "GET", "/api/auth/session", None).await.status,
        401
    );
    api.expect(&a, "GET", "/api/auth/session", None, 200).await;
    // API keys are not sessions: they keep working.
    api.expect(&key, "GET", "/api/users", None, 200).await;
    let old = json!({"email": "admin@example.com", "password": TEST_PASSWORD});
    assert_eq!(
        api.call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/login",
            Some(&old)
        )
        .await
        .status,
        401
    );
    api.login("admin@example.com", "a brand new password").await;
    app.shutdown().await;
}

#[tokio::test]
async fn csrf_rule_for_cookie_sessions() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let Credential::Cookie(jwt) = &admin else {
        unreachable!()
    };
    let cookie = format!("dbackup_session={jwt}");
    let origin = api.origin();
    let group = |name: &str| json!({"name": name, "permissions": []});
    let refused =
        "cross-site request refused: send a same-origin Origin or X-Requested-With header";

    for headers in [
        vec![("cookie", cookie.as_str())],
        vec![
            ("cookie", cookie.as_str()),
            ("origin", "http://evil.example"),
        ],
        vec![("cookie", cookie.as_str()), ("origin", "null")],
        vec![
            ("cookie", cookie.as_str()),
            ("origin", "https://127.0.0.1:1"),
        ],
    ] {
        let resp = api
            .send("POST", "/api/groups", &headers, Some(&group("Evil")))
            .await;
        assert_eq!(resp.status, 403, "{headers:?}: {}", resp.text());
        assert_eq!(resp.json(), json!({"error": refused}));
    }
    let resp = api
        .send(
            "DELETE",
            "/api/users/whoever",
            &[("cookie", cookie.as_str())],
            None,
        )
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());

    let same_origin = [("cookie", cookie.as_str()), ("origin", origin.as_str())];
    let resp = api
        .send(
            "POST",
            "/api/groups",
            &same_origin,
            Some(&group("Same origin")),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let xrw = [("cookie", cookie.as_str()), ("x-requested-with", "fetch")];
    let resp = api
        .send("POST", "/api/groups", &xrw, Some(&group("XRW")))
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    // Reads need nothing.
    let resp = api
        .send("GET", "/api/groups", &[("cookie", cookie.as_str())], None)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    // Bearer requests cannot be forged by a browser: exempt.
    let (_, key) = api
        .create_api_key(&admin, "script", &["groups:write"])
        .await;
    let Credential::Bearer(key) = key else {
        unreachable!()
    };
    let bearer = format!("Bearer {key}");
    let resp = api
        .send(
            "POST",
            "/api/groups",
            &[
                ("authorization", bearer.as_str()),
                ("origin", "http://evil.example"),
            ],
            Some(&group("Bearer")),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    app.shutdown().await;
}

#[tokio::test]
async fn forged_expired_and_refreshed_session_tokens() {
    let app = RealApp::start().await;
    let api = app.api();
    let (user, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let user_id = user["id"].as_str().expect("id");
    let sid = session_id(&api, &admin).await;
    let now = Timestamp::from_secs(i64::try_from(now_secs()).expect("secs"));
    let forged = token::issue_session(
        "another-secret-that-is-long-enough-0123",
        &sid,
        user_id,
        now,
        now.plus_secs(3600),
    )
    .expect("sign");
    let expired = token::issue_session(
        &app.session_secret,
        &sid,
        user_id,
        now.plus_secs(-7200),
        now.plus_secs(-3600),
    )
    .expect("sign");
    let genuine =
        token::issue_session(&app.session_secret, &sid, user_id, now, now.plus_secs(3600))
            .expect("sign");
    let mut tampered = genuine.clone();
    tampered.pop();
    tampered.push(if genuine.ends_with('A') { 'B' } else { 'A' });
    for (what, jwt) in [
        ("bad signature", forged),
        ("expired", expired),
        ("tampered", tampered),
        ("garbage", "x.y.z".to_owned()),
    ] {
        let resp = api
            .call(&Credential::Cookie(jwt), "GET", "/api/auth/session", None)
            .await;
        assert_eq!(resp.status, 401, "{what}: {}", resp.text());
        assert_eq!(resp.json(), json!({"error": "authentication required"}));
    }
    // Signed with the app's secret and naming a live session: accepted.
    api.expect(
        &Credential::Cookie(genuine),
        "GET",
        "/api/auth/session",
        None,
        200,
    )
    .await;
    // A bearer token that is not a key is not rescued by the cookie.
    let Credential::Cookie(jwt) = &admin else {
        unreachable!()
    };
    let cookie = format!("dbackup_session={jwt}");
    let resp = api
        .send(
            "GET",
            "/api/auth/session",
            &[("cookie", &cookie), ("authorization", "Bearer dbk_bogus")],
            None,
        )
        .await;
    assert_eq!(resp.status, 401, "{}", resp.text());

    // Sliding expiry: a session last refreshed over an hour ago is extended, and every answer of
    // that request, a refusal included, carries the re-signed cookie.
    let before = api
        .expect(&admin, "GET", "/api/auth/session", None, 200)
        .await;
    let two_hours_ago = now.plus_secs(-7200).iso();
    sqlite_json(
        &app.db_path(),
        &format!(r#"UPDATE "Session" SET updatedAt = '{two_hours_ago}' WHERE id = '{sid}'"#),
    );
    let resp = api
        .send(
            "POST",
            "/api/groups",
            &[("cookie", &cookie)],
            Some(&json!({"name": "x", "permissions": []})),
        )
        .await;
    assert_eq!(resp.status, 403, "CSRF refusal: {}", resp.text());
    let refreshed = session_cookie(&resp).expect("the refusal carries the refreshed cookie");
    let row = sqlite_json(
        &app.db_path(),
        &format!(r#"SELECT updatedAt FROM "Session" WHERE id = '{sid}'"#),
    );
    assert!(
        row[0]["updatedAt"].as_str() > Some(two_hours_ago.as_str()),
        "{row:?}"
    );
    let fresh = Credential::Cookie(refreshed);
    let after = api
        .expect(&fresh, "GET", "/api/auth/session", None, 200)
        .await;
    assert_eq!(after["session"]["id"], before["session"]["id"]);
    assert!(
        after["session"]["expiresAt"].as_str() >= before["session"]["expiresAt"].as_str(),
        "{before} → {after}"
    );
    // Refreshed at most once an hour: the next answers set no cookie.
    let resp = api.call(&admin, "GET", "/api/auth/session", None).await;
    assert_eq!(
        resp.status, 200,
        "the old cookie stays valid until its expiry"
    );
    assert!(resp.header("set-cookie").is_none());
    app.shutdown().await;
}

fn totp_of(enrollment: &Value) -> totp_rs::TOTP {
    let uri = enrollment["otpauthUri"].as_str().expect("otpauthUri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let totp = totp_rs::TOTP::from_url(uri).expect("a valid otpauth URI");
    assert_eq!(
        totp.get_secret_base32(),
        enrollment["secret"].as_str().expect("secret")
    );
    totp
}

async fn password_login_challenge(api: &Api, email: &str) -> String {
    let body = json!({"email": email, "password": TEST_PASSWORD});
    let resp = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/login",
            Some(&body),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(session_cookie(&resp).is_none(), "no session before 2FA");
    let body = resp.json();
    assert_eq!(body["twoFactorRequired"], true, "{body}");
    body["challenge"].as_str().expect("challenge").to_owned()
}

async fn second_factor(api: &Api, challenge: &str, code: &str) -> dbackup_tests::HttpResponse {
    let body = json!({"challenge": challenge, "code": code});
    api.call(
        &Credential::Anonymous,
        "POST",
        "/api/auth/login/2fa",
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn totp_login_and_single_use_backup_codes() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let bad = api
        .call(
            &admin,
            "POST",
            "/api/auth/2fa/enroll",
            Some(&json!({"password": "not the password"})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    let enrollment = api
        .expect(
            &admin,
            "POST",
            "/api/auth/2fa/enroll",
            Some(&json!({"password": TEST_PASSWORD})),
            200,
        )
        .await;
    let totp = totp_of(&enrollment);
    // Pending until verified: login still needs only the password.
    api.login("admin@example.com", TEST_PASSWORD).await;
    let wrong = api
        .call(
            &admin,
            "POST",
            "/api/auth/2fa/verify",
            Some(&json!({"code": "000000"})),
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text());
    let code = totp.generate(now_secs());
    let verified = api
        .expect(
            &admin,
            "POST",
            "/api/auth/2fa/verify",
            Some(&json!({"code": code})),
            200,
        )
        .await;
    let backup: Vec<String> = verified["backupCodes"]
        .as_array()
        .expect("backupCodes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    assert_eq!(backup.len(), 10);
    let profile = api.expect(&admin, "GET", "/api/profile", None, 200).await;
    assert_eq!(profile["twoFactorEnabled"], true);

    // Password, then a TOTP code (the next step's: the current one was spent verifying).
    let challenge = password_login_challenge(&api, "admin@example.com").await;
    let code = totp.generate(now_secs() + 30);
    let resp = second_factor(&api, &challenge, &code).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["twoFactorRequired"], false);
    let session = Credential::Cookie(session_cookie(&resp).expect("session"));
    api.expect(&session, "GET", "/api/auth/session", None, 200)
        .await;
    // The same code again, even with a fresh challenge: refused.
    let challenge = password_login_challenge(&api, "admin@example.com").await;
    let resp = second_factor(&api, &challenge, &code).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    assert_eq!(resp.json(), json!({"error": "invalid two-factor code"}));
    // A forged challenge: refused.
    let resp = second_factor(&api, "x.y.z", &backup[1]).await;
    assert_eq!(resp.status, 401, "{}", resp.text());

    // A backup code works once.
    let resp = second_factor(&api, &challenge, &backup[0]).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(session_cookie(&resp).is_some());
    let challenge = password_login_challenge(&api, "admin@example.com").await;
    let resp = second_factor(&api, &challenge, &backup[0]).await;
    assert_eq!(resp.status, 401, "{}", resp.text());

    // Regenerating voids the old codes.
    let fresh = api
        .expect(
            &admin,
            "POST",
            "/api/auth/2fa/backup-codes",
            Some(&json!({"password": TEST_PASSWORD})),
            200,
        )
        .await;
    let fresh_codes = fresh["backupCodes"].as_array().expect("codes").clone();
    assert_eq!(fresh_codes.len(), 10);
    let resp = second_factor(&api, &challenge, &backup[2]).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    let resp = second_factor(&api, &challenge, fresh_codes[0].as_str().expect("code")).await;
    assert_eq!(resp.status, 200, "{}", resp.text());

    // Disabling: back to password-only logins.
    api.expect(
        &admin,
        "POST",
        "/api/auth/2fa/disable",
        Some(&json!({"password": TEST_PASSWORD})),
        204,
    )
    .await;
    api.login("admin@example.com", TEST_PASSWORD).await;
    let events: Vec<Value> = audit_rows(&api, &admin, "resource=TWO_FACTOR")
        .await
        .iter()
        .map(|r| r["details"]["event"].clone())
        .collect();
    assert_eq!(
        events,
        vec![
            json!("disabled"),
            json!("backupCodesRegenerated"),
            json!("enabled"),
            json!("enrollStarted")
        ]
    );
    // The secret is stored encrypted, the backup codes hashed.
    let rows = sqlite_json(&app.db_path(), r#"SELECT * FROM "TwoFactor""#);
    assert!(rows.is_empty(), "disabled 2FA leaves no row: {rows:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn admin_resets_a_users_two_factor() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let group = api
        .create_group(&admin, "Self-service", &["profile:manage_2fa"])
        .await;
    let user = api
        .create_user(&admin, "Ann", "ann@example.com", group["id"].as_str())
        .await;
    let ann = api.login("ann@example.com", TEST_PASSWORD).await;
    let enrollment = api
        .expect(
            &ann,
            "POST",
            "/api/auth/2fa/enroll",
            Some(&json!({"password": TEST_PASSWORD})),
            200,
        )
        .await;
    let code = totp_of(&enrollment).generate(now_secs());
    api.expect(
        &ann,
        "POST",
        "/api/auth/2fa/verify",
        Some(&json!({"code": code})),
        200,
    )
    .await;
    password_login_challenge(&api, "ann@example.com").await;
    let id = user["id"].as_str().expect("id");
    let reset = api
        .expect(
            &admin,
            "POST",
            &format!("/api/users/{id}/reset-2fa"),
            None,
            200,
        )
        .await;
    assert_eq!(reset["twoFactorEnabled"], false);
    api.login("ann@example.com", TEST_PASSWORD).await;
    app.shutdown().await;
}

#[tokio::test]
async fn api_keys_are_shown_once_and_act_with_their_permissions() {
    let app = RealApp::start().await;
    let api = app.api();
    let (admin_user, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let (created, key) = api
        .create_api_key(&admin, "reporting", &["users:read", "audit:read"])
        .await;
    let Credential::Bearer(secret) = &key else {
        unreachable!()
    };
    assert!(secret.starts_with("dbk_"), "{secret}");
    assert_eq!(created["permissions"], json!(["users:read", "audit:read"]));
    assert_eq!(created["lastUsedAt"], Value::Null);
    assert!(created["id"].as_str().is_some());
    let listed = api.expect(&admin, "GET", "/api/api-keys", None, 200).await;
    assert!(!listed.to_string().contains(secret.as_str()), "{listed}");
    assert!(listed[0].get("key").is_none(), "{listed}");

    api.expect(&key, "GET", "/api/users", None, 200).await;
    api.expect(&key, "GET", "/api/audit", None, 200).await;
    let me = api
        .expect(&key, "GET", "/api/auth/session", None, 200)
        .await;
    assert_eq!(me["authenticatedBy"], "apiKey");
    assert_eq!(me["user"]["id"], admin_user["id"]);
    assert_eq!(me["session"], Value::Null);
    let resp = api
        .call(
            &key,
            "POST",
            "/api/groups",
            Some(&json!({"name": "x", "permissions": []})),
        )
        .await;
    assert_eq!(
        (resp.status, resp.json()),
        (403, json!({"error": "missing permission groups:write"}))
    );
    let listed = api.expect(&admin, "GET", "/api/api-keys", None, 200).await;
    assert!(listed[0]["lastUsedAt"].as_str().is_some(), "{listed}");

    // Nobody grants what they do not hold.
    let readers = api
        .create_group(&admin, "Readers", &["users:read", "api-keys:write"])
        .await;
    api.create_user(
        &admin,
        "Reader",
        "reader@example.com",
        readers["id"].as_str(),
    )
    .await;
    let reader = api.login("reader@example.com", TEST_PASSWORD).await;
    let resp = api
        .call(
            &reader,
            "POST",
            "/api/api-keys",
            Some(&json!({"name": "sneaky", "permissions": ["users:write"]})),
        )
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    let past = json!({"name": "old", "permissions": [], "expiresAt": "2001-01-01T00:00:00Z"});
    let resp = api.call(&admin, "POST", "/api/api-keys", Some(&past)).await;
    assert_eq!(resp.status, 400, "{}", resp.text());

    // Deleted: the key stops working at once.
    let id = created["id"].as_str().expect("id");
    api.expect(&admin, "DELETE", &format!("/api/api-keys/{id}"), None, 204)
        .await;
    assert_eq!(api.call(&key, "GET", "/api/users", None).await.status, 401);
    api.expect(&admin, "DELETE", &format!("/api/api-keys/{id}"), None, 404)
        .await;
    app.shutdown().await;
}

#[tokio::test]
async fn settings_are_validated_and_audited() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let settings = api.expect(&admin, "GET", "/api/settings", None, 200).await;
    assert_eq!(settings["sessionLifetimeHours"], 168);
    assert_eq!(settings["auditLogRetentionDays"], 90);
    let resp = api
        .call(
            &admin,
            "PATCH",
            "/api/settings",
            Some(&json!({"sessionLifetimeHours": 24, "siteName": "x", "smtpHost": "y"})),
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_eq!(
        resp.json(),
        json!({"error": "unknown settings: siteName, smtpHost",
               "details": {"unknownKeys": ["siteName", "smtpHost"]}})
    );
    for bad in [
        json!({"sessionLifetimeHours": 0}),
        json!({"sessionLifetimeHours": "24"}),
        json!({"auditLogRetentionDays": 366}),
        json!([]),
    ] {
        let resp = api.call(&admin, "PATCH", "/api/settings", Some(&bad)).await;
        assert_eq!(resp.status, 400, "{bad}: {}", resp.text());
    }
    let updated = api
        .expect(
            &admin,
            "PATCH",
            "/api/settings",
            Some(&json!({"sessionLifetimeHours": 24})),
            200,
        )
        .await;
    assert_eq!(updated["sessionLifetimeHours"], 24);
    assert_eq!(updated["auditLogRetentionDays"], 90);
    let rows = audit_rows(&api, &admin, "resource=SETTINGS").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0]["details"],
        json!({"sessionLifetimeHours": {"old": 168, "new": 24}})
    );
    // New sessions live 24 hours.
    let resp = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/login",
            Some(&json!({"email": "admin@example.com", "password": TEST_PASSWORD})),
        )
        .await;
    assert!(
        resp.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=86400")),
        "{:?}",
        resp.header("set-cookie")
    );
    app.shutdown().await;
}

/// Every identity change leaves an audit row with the caller's address and user agent; the
/// log filters and pages newest first.
#[tokio::test]
async fn audit_trail_filters_and_pages() {
    let app = RealApp::start().await;
    let api = app.api();
    let (admin_user, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let admin_id = admin_user["id"].as_str().expect("id").to_owned();
    // An unknown email: a failure without a user.
    let failed = json!({"email": "ghost@example.com", "password": "wrong password"});
    api.call(
        &Credential::Anonymous,
        "POST",
        "/api/auth/login",
        Some(&failed),
    )
    .await;
    let group = api.create_group(&admin, "Ops", &["jobs:read"]).await;
    let gid = group["id"].as_str().expect("id").to_owned();
    api.expect(
        &admin,
        "PATCH",
        &format!("/api/groups/{gid}"),
        Some(&json!({"name": "Operations"})),
        200,
    )
    .await;
    let user = api
        .create_user(&admin, "Ann", "ann@example.com", Some(&gid))
        .await;
    let uid = user["id"].as_str().expect("id").to_owned();
    api.expect(
        &admin,
        "PATCH",
        &format!("/api/users/{uid}"),
        Some(&json!({"groupId": null, "timezone": "Europe/Berlin"})),
        200,
    )
    .await;
    api.expect(&admin, "DELETE", &format!("/api/users/{uid}"), None, 204)
        .await;
    api.expect(&admin, "DELETE", &format!("/api/groups/{gid}"), None, 204)
        .await;
    let (key, _) = api.create_api_key(&admin, "ci", &[]).await;
    let kid = key["id"].as_str().expect("id").to_owned();
    api.expect(&admin, "DELETE", &format!("/api/api-keys/{kid}"), None, 204)
        .await;
    api.expect(
        &admin,
        "PATCH",
        "/api/profile",
        Some(&json!({"name": "The Admin"})),
        200,
    )
    .await;
    api.expect(
        &admin,
        "PATCH",
        "/api/settings",
        Some(&json!({"auditLogRetentionDays": 30})),
        200,
    )
    .await;

    let all = audit_rows(&api, &admin, "").await;
    let trail: Vec<String> = all
        .iter()
        .rev()
        .map(|r| {
            format!(
                "{} {}",
                r["action"].as_str().unwrap_or("?"),
                r["resource"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let expected_in_order = [
        "LOGIN_FAILED AUTH",
        "CREATE GROUP",
        "UPDATE GROUP",
        "CREATE USER",
        "UPDATE USER",
        "DELETE USER",
        "DELETE GROUP",
        "CREATE API_KEY",
        "DELETE API_KEY",
        "UPDATE PROFILE",
        "UPDATE SETTINGS",
    ];
    // Sign-up's two rows share a millisecond (their order is by id), then the rest in order.
    let mut signup: Vec<&str> = trail[..2].iter().map(String::as_str).collect();
    signup.sort_unstable();
    assert_eq!(signup, ["CREATE USER", "LOGIN AUTH"], "{trail:#?}");
    assert_eq!(&trail[2..], expected_in_order, "{trail:#?}");
    for row in &all {
        assert_eq!(row["ipAddress"], "127.0.0.1", "{row}");
        assert_eq!(row["userAgent"], TEST_USER_AGENT, "{row}");
    }
    let update = all
        .iter()
        .find(|r| r["action"] == "UPDATE" && r["resource"] == "GROUP")
        .expect("group update");
    assert_eq!(
        update["details"],
        json!({"name": "Operations", "previous": {"name": "Ops", "permissions": ["jobs:read"]}})
    );

    // Filters.
    let logins = audit_rows(&api, &admin, "action=LOGIN").await;
    assert_eq!(logins.len(), 1);
    let users = audit_rows(&api, &admin, "resource=USER").await;
    assert_eq!(users.len(), 4, "sign-up, create, update, delete");
    let mine = audit_rows(&api, &admin, &format!("userId={admin_id}")).await;
    assert_eq!(mine.len(), all.len() - 1, "all but the anonymous failure");
    let today = &all[0]["createdAt"].as_str().expect("createdAt")[..10];
    assert_eq!(
        audit_rows(&api, &admin, &format!("from={today}"))
            .await
            .len(),
        all.len()
    );
    assert_eq!(
        audit_rows(&api, &admin, &format!("to={today}")).await.len(),
        all.len()
    );
    assert!(audit_rows(&api, &admin, "from=2999-01-01").await.is_empty());
    assert!(audit_rows(&api, &admin, "to=2000-01-01").await.is_empty());
    let bad = api
        .call(&admin, "GET", "/api/audit?from=yesterday", None)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text());

    // Keyset pages of 3 add up to the whole log, in the same order, without repeats.
    let mut paged = Vec::new();
    let mut target = "/api/audit?limit=3".to_owned();
    loop {
        let page = api.expect(&admin, "GET", &target, None, 200).await;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        paged.extend(items.iter().map(|r| r["id"].clone()));
        match page["nextCursor"].as_str() {
            Some(c) => target = format!("/api/audit?limit=3&cursor={c}"),
            None => break,
        }
    }
    let ids: Vec<Value> = all.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(paged, ids);
    app.shutdown().await;
}

#[tokio::test]
async fn runner_maintenance_runs_hourly() {
    let app = RealApp::start_with_cron(true).await;
    let api = app.api();
    let (user, _admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let uid = user["id"].as_str().expect("id");
    let db = app.db_path();
    let day = 86_400;
    let now = i64::try_from(now_secs()).expect("secs");
    let at = |offset: i64| Timestamp::from_secs(now + offset).iso();
    let seed = |suffix: &str| {
        format!(
            r#"INSERT INTO "Session" (id, expiresAt, token, createdAt, updatedAt, userId)
               VALUES ('expired-{suffix}', '{}', 'expired-{suffix}', '{}', '{}', '{uid}');
               INSERT INTO "AuditLog" (id, action, resource, createdAt)
               VALUES ('ancient-{suffix}', 'LOGIN', 'AUTH', '{}');
               INSERT INTO "LoginThrottle" (key, failures, updatedAt)
               VALUES ('ip:idle-{suffix}', 3, '{}');"#,
            at(-60),
            at(-day),
            at(-day),
            at(-100 * day),
            at(-2 * day)
        )
    };
    let leftovers = |suffix: &str| {
        sqlite_json(
            &db,
            &format!(
                r#"SELECT (SELECT COUNT(*) FROM "Session" WHERE id = 'expired-{suffix}')
                        + (SELECT COUNT(*) FROM "AuditLog" WHERE id = 'ancient-{suffix}')
                        + (SELECT COUNT(*) FROM "LoginThrottle" WHERE key = 'ip:idle-{suffix}')
                        AS n"#
            ),
        )[0]["n"]
            .as_i64()
            .expect("count")
    };
    let last_run = || {
        sqlite_json(
            &db,
            r#"SELECT value FROM "SystemSetting" WHERE key = 'runner.lastMaintenanceAt'"#,
        )
        .first()
        .and_then(|r| r["value"].as_str().map(str::to_owned))
    };
    let last_tick = || {
        sqlite_json(
            &db,
            r#"SELECT value FROM "SystemSetting" WHERE key = 'runner.lastTickAt'"#,
        )
        .first()
        .and_then(|r| r["value"].as_str().map(str::to_owned))
    };
    sqlite_json(&db, &seed("a"));
    assert_eq!(leftovers("a"), 3);
    // Forget any earlier run, so the next tick is due.
    sqlite_json(
        &db,
        r#"DELETE FROM "SystemSetting" WHERE key = 'runner.lastMaintenanceAt'"#,
    );
    let ran = dbackup_tests::wait_for(Duration::from_secs(40), || async {
        last_run().filter(|_| leftovers("a") == 0)
    })
    .await
    .expect("the runner cleaned up within 40 s");
    assert!(ran.as_str() >= at(-60).as_str(), "{ran}");

    // Within the hour: nothing more, though ticks go on.
    sqlite_json(&db, &seed("b"));
    let tick = last_tick();
    dbackup_tests::wait_for(Duration::from_secs(40), || async {
        (last_tick() != tick).then_some(())
    })
    .await
    .expect("another tick within 40 s");
    assert_eq!(leftovers("b"), 3);
    assert_eq!(last_run(), Some(ran));
    app.shutdown().await;
}
