//! Login throttling under parallel guesses (issue 14, finding 11), against the real host: the
//! attempt is reserved before the password is verified, so 50 wrong logins fired at once get
//! exactly the account's free attempts verified (401, one `LOGIN_FAILED` row each) and every
//! other one a 429 before any argon2 work; then the right password is refused while locked.
//! Password re-entry (here: changing the password) counts against the same account budget.

use dbackup_identity::lockout::ACCOUNT_FREE_FAILURES;
use dbackup_tests::{sqlite_json, Credential, RealApp, TEST_PASSWORD};
use serde_json::json;

fn count(app: &RealApp, sql: &str) -> i64 {
    sqlite_json(&app.db_path(), sql)[0]["n"]
        .as_i64()
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_wrong_logins_verify_at_most_the_free_attempts() {
    let app = RealApp::start().await;
    let api = app.api();
    api.signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let wrong = json!({"email": "admin@example.com", "password": "not the password"});
    // All 50 on the wire at once (tasks on a multi-threaded runtime, so the host serves them
    // side by side as it would 50 clients).
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let wrong = wrong.clone();
            tokio::spawn(async move {
                api.call(
                    &Credential::Anonymous,
                    "POST",
                    "/api/auth/login",
                    Some(&wrong),
                )
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("a login task"));
    }
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    let verified = statuses.iter().filter(|s| **s != 429).count();
    println!("50 parallel wrong logins: {verified} verified (401), the rest 429: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let failed_rows = count(
        &app,
        r#"SELECT COUNT(*) AS n FROM "AuditLog" WHERE action = 'LOGIN_FAILED'"#,
    );
    assert_eq!(
        verified as i64, ACCOUNT_FREE_FAILURES,
        "only the free attempts may be verified: {statuses:?}"
    );
    assert_eq!(failed_rows, ACCOUNT_FREE_FAILURES);
    for r in answers.iter().filter(|r| r.status == 429) {
        assert!(r.header("retry-after").is_some(), "{}", r.text());
    }
    // Locked: the right password is refused too, and verifies nothing.
    let right = json!({"email": "admin@example.com", "password": TEST_PASSWORD});
    let resp = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/login",
            Some(&right),
        )
        .await;
    assert_eq!(resp.status, 429, "{}", resp.text());
    assert_eq!(
        count(
            &app,
            r#"SELECT COUNT(*) AS n FROM "AuditLog" WHERE action = 'LOGIN'"#
        ),
        1,
        "only the signup's"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn password_re_entry_shares_the_account_lockout() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let change =
        json!({"currentPassword": "not the password", "newPassword": "another long password"});
    for i in 0..ACCOUNT_FREE_FAILURES {
        let resp = api
            .call(&admin, "POST", "/api/profile/password", Some(&change))
            .await;
        assert_eq!(resp.status, 400, "attempt {i}: {}", resp.text());
    }
    // Locked for re-entry, even with the right current password …
    let right = json!({"currentPassword": TEST_PASSWORD, "newPassword": "another long password"});
    let resp = api
        .call(&admin, "POST", "/api/profile/password", Some(&right))
        .await;
    assert_eq!(resp.status, 429, "{}", resp.text());
    // … for starting 2FA …
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/auth/2fa/enroll",
            Some(&json!({"password": TEST_PASSWORD})),
        )
        .await;
    assert_eq!(resp.status, 429, "{}", resp.text());
    // … and for signing in: one budget per account.
    let login = json!({"email": "admin@example.com", "password": TEST_PASSWORD});
    let resp = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/login",
            Some(&login),
        )
        .await;
    assert_eq!(resp.status, 429, "{}", resp.text());
    app.shutdown().await;
}
