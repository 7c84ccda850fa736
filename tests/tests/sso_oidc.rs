//! SSO end to end against a real OpenID Connect provider (node-oidc-provider, tests/oidc/,
//! started here on loopback): the admin API (discovery on save, the sealed secret), and the
//! full redirect flow driven like a browser — a cookie jar, following redirects, posting the
//! provider's login and consent forms — through provisioning on and off, linking by verified
//! email, wrong state, a replayed code, a tampered ID token, a wrong audience, and a JWKS key
//! rotation (the provider restarted with a new signing key).

mod sso_common;

use dbackup_tests::{
    free_port, session_cookie, sqlite_json, Api, Credential, RealApp, TEST_PASSWORD,
};
use serde_json::{json, Value};
use sso_common::{blocking, session_user, Browser, Provider, SLUG};

async fn sso_failures(api: &Api, admin: &Credential) -> Vec<Value> {
    let page = api
        .expect(
            admin,
            "GET",
            "/api/audit?action=LOGIN_FAILED&limit=200",
            None,
            200,
        )
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["details"]["method"] == "sso")
        .cloned()
        .collect()
}

#[tokio::test]
async fn oidc_login_against_a_real_provider() {
    let app = RealApp::start().await;
    let api = app.api();
    let origin = api.origin();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let port = free_port();
    let callback = format!("{origin}/api/auth/sso/{SLUG}/callback");
    let cb = callback.clone();
    let provider = blocking(move || Provider::start(port, &cb, "key-1")).await;
    let issuer = provider.issuer();

    // --- admin API -------------------------------------------------------------------------
    let mut body = json!({
        "name": "Test IdP", "providerId": SLUG, "adapter": "generic", "issuer": issuer,
        "clientId": "backup-app", "clientSecret": "backup-secret", "allowProvisioning": true,
    });
    // Discovery is fetched on save: an issuer where nothing answers is a 400.
    let mut unreachable = body.clone();
    unreachable["issuer"] = json!(format!("http://127.0.0.1:{}", free_port()));
    let resp = api
        .call(&admin, "POST", "/api/sso-providers", Some(&unreachable))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_eq!(resp.json()["details"]["field"], "issuer");
    for (field, bad) in [
        ("providerId", json!("Not Valid!")),
        ("adapter", json!("okta")),
        ("clientSecret", json!("")),
    ] {
        let mut b = body.clone();
        b[field] = bad;
        let resp = api
            .call(&admin, "POST", "/api/sso-providers", Some(&b))
            .await;
        assert_eq!(resp.status, 400, "{field}: {}", resp.text());
    }
    let created = api
        .expect(&admin, "POST", "/api/sso-providers", Some(&body), 201)
        .await;
    assert_eq!(created["issuer"], issuer);
    assert_eq!(created["tokenEndpoint"], format!("{issuer}/token"));
    assert_eq!(created["jwksEndpoint"], format!("{issuer}/jwks"));
    assert_eq!(created["hasClientSecret"], true);
    assert!(!created.to_string().contains("backup-secret"), "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let stored = sqlite_json(
        &app.db_path(),
        &format!(r#"SELECT clientSecret FROM "SsoProvider" WHERE id = '{id}'"#),
    );
    let sealed = stored[0]["clientSecret"].as_str().unwrap();
    assert!(
        sealed.starts_with("v1:") && !sealed.contains("backup-secret"),
        "{sealed}"
    );
    let listed = api
        .expect(&admin, "GET", "/api/sso-providers", None, 200)
        .await;
    assert!(!listed.to_string().contains("backup-secret"));
    body["name"] = json!("Duplicate");
    let resp = api
        .call(&admin, "POST", "/api/sso-providers", Some(&body))
        .await;
    assert_eq!(resp.status, 409, "{}", resp.text());
    let public = api
        .expect(
            &Credential::Anonymous,
            "GET",
            "/api/auth/sso/providers",
            None,
            200,
        )
        .await;
    assert_eq!(
        public,
        json!([{"id": SLUG, "name": "Test IdP", "adapter": "generic"}])
    );

    // --- provisioning on: a new user, without a group ------------------------------------------
    let o = origin.clone();
    let (location, jwt) = blocking(move || Browser::new().login(&o, "alice")).await;
    assert_eq!(location, "/");
    let alice = session_user(&api, &jwt.expect("alice is signed in")).await;
    assert_eq!(alice["email"], "alice@example.test");
    assert_eq!(alice["name"], "Alice Test");
    assert!(alice["group"].is_null(), "{alice}");
    // Again: the same user through the linked account.
    let o = origin.clone();
    let (_, jwt) = blocking(move || Browser::new().login(&o, "alice")).await;
    assert_eq!(session_user(&api, &jwt.unwrap()).await["id"], alice["id"]);

    // --- linking by verified email: only for a provider trusted for it -----------------------
    let bob = api
        .create_user(&admin, "Bob Local", "bob@example.test", None)
        .await;
    let o = origin.clone();
    let (location, jwt) = blocking(move || Browser::new().login(&o, "bob")).await;
    assert_eq!(location, "/login?error=sso_link_required");
    assert!(jwt.is_none());
    api.expect(
        &admin,
        "PATCH",
        &format!("/api/sso-providers/{id}"),
        Some(&json!({"trustEmailLinking": true})),
        200,
    )
    .await;
    let o = origin.clone();
    let (_, jwt) = blocking(move || Browser::new().login(&o, "bob")).await;
    assert_eq!(session_user(&api, &jwt.unwrap()).await["id"], bob["id"]);
    let accounts = sqlite_json(
        &app.db_path(),
        &format!(
            r#"SELECT userId FROM "Account" WHERE providerId = '{SLUG}' AND accountId = 'bob'"#
        ),
    );
    assert_eq!(accounts[0]["userId"], bob["id"]);
    // An unverified email is never linked or provisioned.
    let o = origin.clone();
    let (location, jwt) = blocking(move || Browser::new().login(&o, "carol")).await;
    assert_eq!(location, "/login?error=sso_email_unverified");
    assert!(jwt.is_none());

    // --- provisioning off ---------------------------------------------------------------------
    api.expect(
        &admin,
        "PATCH",
        &format!("/api/sso-providers/{id}"),
        Some(&json!({"allowProvisioning": false})),
        200,
    )
    .await;
    let o = origin.clone();
    let (location, jwt) = blocking(move || Browser::new().login(&o, "dave")).await;
    assert_eq!(location, "/login?error=sso_no_account");
    assert!(jwt.is_none());
    let users = api.expect(&admin, "GET", "/api/users", None, 200).await;
    assert!(!users.to_string().contains("dave@example.test"));
    // Existing links still work with provisioning off.
    let o = origin.clone();
    let (location, _) = blocking(move || Browser::new().login(&o, "alice")).await;
    assert_eq!(location, "/");

    // --- wrong state, replayed state and code -------------------------------------------------
    let o = origin.clone();
    let (wrong, right, replay, second) = blocking(move || {
        let mut b = Browser::new();
        let cb = b.until_callback(&o, "alice");
        let state = cb
            .split("state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_owned();
        let forged = cb.replace(&state, "not-the-state");
        let wrong = b.finish(&forged);
        let right = b.finish(&cb);
        let replay = b.finish(&cb);
        // A fresh login's state with the first login's (used) code.
        let cb2 = b.until_callback(&o, "alice");
        let state2 = cb2
            .split("state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_owned();
        let second = b.finish(&cb.replace(&state, &state2));
        (wrong, right, replay, second)
    })
    .await;
    assert_eq!(wrong.0, "/login?error=sso_state");
    assert_eq!(right.0, "/");
    assert!(right.1.is_some());
    assert_eq!(replay.0, "/login?error=sso_state");
    assert_eq!(second.0, "/login?error=sso_exchange_failed");
    assert!(wrong.1.is_none() && replay.1.is_none() && second.1.is_none());

    // --- a tampered ID token and a validly signed one for another audience --------------------
    for (mode, reason) in [
        ("tamper", "ID token rejected"),
        ("wrong-aud", "ID token rejected"),
    ] {
        provider.set_mode(mode);
        let o = origin.clone();
        let (location, jwt) = blocking(move || Browser::new().login(&o, "alice")).await;
        assert_eq!(location, "/login?error=sso_invalid_token", "{mode}");
        assert!(jwt.is_none(), "{mode}");
        let failures = sso_failures(&api, &admin).await;
        assert!(
            failures[0]["details"]["reason"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{mode}: {failures:?}"
        );
    }
    provider.set_mode("normal");
    let failures = sso_failures(&api, &admin).await;
    let reasons = failures
        .iter()
        .map(|r| r["details"]["reason"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(reasons.to_lowercase().contains("audience"), "{reasons}");

    // --- JWKS rotation: the provider restarts with a new signing key ----------------------------
    assert_eq!(provider.kids(), vec!["key-1"]);
    drop(provider);
    let cb = callback.clone();
    let provider = blocking(move || Provider::start(port, &cb, "key-2")).await;
    assert_eq!(provider.kids(), vec!["key-2"]);
    let o = origin.clone();
    let (location, jwt) = blocking(move || Browser::new().login(&o, "alice")).await;
    assert_eq!(location, "/");
    let alice_jwt = jwt.unwrap();
    assert_eq!(session_user(&api, &alice_jwt).await["id"], alice["id"]);

    // --- linked accounts in the profile: never the last way to sign in ------------------------
    let alice_session = Credential::Cookie(alice_jwt);
    let mine = api
        .expect(&alice_session, "GET", "/api/profile/accounts", None, 200)
        .await;
    assert_eq!(mine["hasPassword"], false);
    assert_eq!(mine["accounts"][0]["providerId"], SLUG);
    assert_eq!(mine["accounts"][0]["providerName"], "Test IdP");
    assert_eq!(mine["accounts"][0]["accountId"], "alice");
    let alice_link = mine["accounts"][0]["id"].as_str().unwrap().to_owned();
    let resp = api
        .call(
            &alice_session,
            "DELETE",
            &format!("/api/profile/accounts/{alice_link}"),
            None,
        )
        .await;
    assert_eq!(resp.status, 409, "{}", resp.text());
    let bob_session = api.login("bob@example.test", TEST_PASSWORD).await;
    let resp = api
        .call(
            &bob_session,
            "DELETE",
            &format!("/api/profile/accounts/{alice_link}"),
            None,
        )
        .await;
    assert_eq!(resp.status, 404, "{}", resp.text());
    let bobs = api
        .expect(&bob_session, "GET", "/api/profile/accounts", None, 200)
        .await;
    assert_eq!(bobs["hasPassword"], true);
    let bob_link = bobs["accounts"][0]["id"].as_str().unwrap().to_owned();
    api.expect(
        &bob_session,
        "DELETE",
        &format!("/api/profile/accounts/{bob_link}"),
        None,
        204,
    )
    .await;
    let bobs = api
        .expect(&bob_session, "GET", "/api/profile/accounts", None, 200)
        .await;
    assert_eq!(bobs["accounts"], json!([]));

    // --- disabled, then deleted ---------------------------------------------------------------
    api.expect(
        &admin,
        "PATCH",
        &format!("/api/sso-providers/{id}"),
        Some(&json!({"enabled": false})),
        200,
    )
    .await;
    let public = api
        .expect(
            &Credential::Anonymous,
            "GET",
            "/api/auth/sso/providers",
            None,
            200,
        )
        .await;
    assert_eq!(public, json!([]));
    let resp = api
        .call(
            &Credential::Anonymous,
            "GET",
            &format!("/api/auth/sso/{SLUG}/start"),
            None,
        )
        .await;
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("location"), Some("/login?error=sso_disabled"));
    assert!(session_cookie(&resp).is_none());
    api.expect(
        &admin,
        "DELETE",
        &format!("/api/sso-providers/{id}"),
        None,
        204,
    )
    .await;
    let accounts = sqlite_json(
        &app.db_path(),
        &format!(r#"SELECT COUNT(*) AS n FROM "Account" WHERE providerId = '{SLUG}'"#),
    );
    assert_eq!(accounts[0]["n"], 0);
    let audit = api
        .expect(
            &admin,
            "GET",
            "/api/audit?resource=SSO&limit=200",
            None,
            200,
        )
        .await;
    let events: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["details"]["event"].as_str())
        .collect();
    for e in ["provisioned", "linked", "linkedByEmail", "unlinked"] {
        assert!(events.contains(&e), "{e} not in {events:?}");
    }
    drop(provider);
    app.shutdown().await;
}
