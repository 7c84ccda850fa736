//! Passkeys over HTTP against the real app, with a software authenticator
//! (`dbackup_identity::webauthn_authenticator`, signing with p256 / rsa / ed25519-compact) in
//! place of the browser: registration with each algorithm, management, passwordless login,
//! the passkey as a second factor, `auth.disablePasskeyLogin`, and each refusal — wrong origin,
//! wrong RP ID, reused challenge, user verification missing, bad signature, counter going
//! backwards (audited) — against the app's default RP (`localhost`, `http://localhost:3000`).

use dbackup_identity::webauthn::from_b64url;
use dbackup_identity::webauthn_authenticator::{Alg, SoftAuthenticator};
use dbackup_tests::{session_cookie, Api, Credential, HttpResponse, RealApp, TEST_PASSWORD};
use serde_json::{json, Value};

const ORIGIN: &str = "http://localhost:3000";
const RP_ID: &str = "localhost";

/// A new authenticator holding a credential for the user of registration `options`.
fn authenticator(alg: Alg, options: &Value) -> SoftAuthenticator {
    let handle = from_b64url(options["user"]["id"].as_str().expect("user.id"), "id").unwrap();
    SoftAuthenticator::new(alg, RP_ID, ORIGIN, &handle)
}

async fn register_options(api: &Api, who: &Credential) -> Value {
    api.expect(
        who,
        "POST",
        "/api/auth/passkeys/register/options",
        None,
        200,
    )
    .await
}

/// Registers a new credential of `alg` for `who`; returns it and the stored passkey.
async fn register(api: &Api, who: &Credential, alg: Alg, name: &str) -> (SoftAuthenticator, Value) {
    let options = register_options(api, who).await;
    let a = authenticator(alg, &options);
    let body =
        json!({"name": name, "credential": a.register(options["challenge"].as_str().unwrap())});
    let passkey = api
        .expect(
            who,
            "POST",
            "/api/auth/passkeys/register/verify",
            Some(&body),
            201,
        )
        .await;
    (a, passkey)
}

async fn login_challenge(api: &Api, body: Value) -> String {
    let options = api
        .expect(
            &Credential::Anonymous,
            "POST",
            "/api/auth/passkeys/login/options",
            Some(&body),
            200,
        )
        .await;
    assert_eq!(options["rpId"], RP_ID);
    assert_eq!(options["userVerification"], "required");
    options["challenge"].as_str().expect("challenge").to_owned()
}

async fn login_verify(api: &Api, body: &Value) -> HttpResponse {
    api.call(
        &Credential::Anonymous,
        "POST",
        "/api/auth/passkeys/login/verify",
        Some(body),
    )
    .await
}

/// A passwordless login attempt with `a`.
async fn passwordless(api: &Api, a: &mut SoftAuthenticator) -> HttpResponse {
    let challenge = login_challenge(api, json!({})).await;
    login_verify(api, &json!({"credential": a.assert(&challenge)})).await
}

fn signed_in(resp: &HttpResponse) -> Credential {
    assert_eq!(resp.status, 200, "{}", resp.text());
    Credential::Cookie(session_cookie(resp).expect("a session cookie"))
}

fn refused(resp: &HttpResponse, status: u16) {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert!(session_cookie(resp).is_none(), "{}", resp.text());
}

/// LOGIN_FAILED audit rows of passkey logins, newest first.
async fn passkey_failures(api: &Api, admin: &Credential) -> Vec<Value> {
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
        .expect("items")
        .iter()
        .filter(|r| r["details"]["method"] == "passkey")
        .cloned()
        .collect()
}

#[tokio::test]
async fn register_manage_and_sign_in_with_each_algorithm() {
    let app = RealApp::start().await;
    let api = app.api();
    let (admin_user, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;

    let options = register_options(&api, &admin).await;
    assert_eq!(options["rp"]["id"], RP_ID);
    assert_eq!(options["attestation"], "none");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    let algs: Vec<i64> = options["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert_eq!(algs, vec![-7, -8, -257]);

    let mut keys = Vec::new();
    for (alg, id, name) in [
        (Alg::Es256, -7, "phone"),
        (Alg::Rs256, -257, "windows hello"),
        (Alg::EdDsa, -8, "yubikey"),
    ] {
        let (a, passkey) = register(&api, &admin, alg, name).await;
        assert_eq!(passkey["alg"], id);
        assert_eq!(passkey["name"], name);
        assert_eq!(passkey["transports"], json!(["internal"]));
        assert!(passkey.get("publicKey").is_none(), "{passkey}");
        keys.push((a, passkey));
    }
    let listed = api
        .expect(&admin, "GET", "/api/auth/passkeys", None, 200)
        .await;
    assert_eq!(listed["passkeys"].as_array().unwrap().len(), 3);
    assert_eq!(listed["passkeyTwoFactor"], false);
    // Known credentials are excluded from the next registration.
    let options = register_options(&api, &admin).await;
    assert_eq!(options["excludeCredentials"].as_array().unwrap().len(), 3);
    // The same credential twice: 409.
    let again = json!({"credential": keys[0].0.register(options["challenge"].as_str().unwrap())});
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/auth/passkeys/register/verify",
            Some(&again),
        )
        .await;
    assert_eq!(resp.status, 409, "{}", resp.text());

    // Passwordless login with each algorithm; the session is a real one.
    for (a, passkey) in keys.iter_mut() {
        let session = signed_in(&passwordless(&api, a).await);
        let me = api
            .expect(&session, "GET", "/api/auth/session", None, 200)
            .await;
        assert_eq!(me["user"]["id"], admin_user["id"], "{passkey}");
    }
    let listed = api
        .expect(&admin, "GET", "/api/auth/passkeys", None, 200)
        .await;
    assert!(listed["passkeys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["lastUsedAt"].is_string()));
    let logins = api
        .expect(
            &admin,
            "GET",
            "/api/audit?action=LOGIN&limit=200",
            None,
            200,
        )
        .await;
    let passkey_logins = logins["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["details"]["method"] == "passkey")
        .count();
    assert_eq!(passkey_logins, 3);

    // Rename and delete: own passkeys only.
    let id = keys[2].1["id"].as_str().unwrap().to_owned();
    let renamed = api
        .expect(
            &admin,
            "PATCH",
            &format!("/api/auth/passkeys/{id}"),
            Some(&json!({"name": "  security key "})),
            200,
        )
        .await;
    assert_eq!(renamed["name"], "security key");
    let resp = api
        .call(
            &admin,
            "PATCH",
            &format!("/api/auth/passkeys/{id}"),
            Some(&json!({"name": ""})),
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    let group = api
        .create_group(&admin, "Passkey users", &["profile:manage_passkeys"])
        .await;
    api.create_user(&admin, "Bob", "bob@example.com", group["id"].as_str())
        .await;
    let bob = api.login("bob@example.com", TEST_PASSWORD).await;
    let resp = api
        .call(&bob, "DELETE", &format!("/api/auth/passkeys/{id}"), None)
        .await;
    assert_eq!(resp.status, 404, "{}", resp.text());
    // Bob cannot finish a registration with a challenge issued to the admin.
    let options = register_options(&api, &admin).await;
    let stolen = json!({"credential": authenticator(Alg::Es256, &options)
        .register(options["challenge"].as_str().unwrap())});
    let resp = api
        .call(
            &bob,
            "POST",
            "/api/auth/passkeys/register/verify",
            Some(&stolen),
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    api.expect(
        &admin,
        "DELETE",
        &format!("/api/auth/passkeys/{id}"),
        None,
        204,
    )
    .await;
    // A deleted passkey no longer signs in.
    refused(&passwordless(&api, &mut keys[2].0).await, 401);

    // auth.disablePasskeyLogin turns passwordless login off (options and verify).
    let challenge = login_challenge(&api, json!({})).await;
    let pending = json!({"credential": keys[0].0.assert(&challenge)});
    api.expect(
        &admin,
        "PATCH",
        "/api/settings",
        Some(&json!({"auth.disablePasskeyLogin": true})),
        200,
    )
    .await;
    let resp = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/passkeys/login/options",
            Some(&json!({})),
        )
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    refused(&login_verify(&api, &pending).await, 403);
    let settings = api.expect(&admin, "GET", "/api/settings", None, 200).await;
    assert_eq!(settings["auth.disablePasskeyLogin"], true);
    // The login page hides its passkey button on the public setup status.
    let status = api
        .expect(
            &Credential::Anonymous,
            "GET",
            "/api/auth/setup-status",
            None,
            200,
        )
        .await;
    assert_eq!(status, json!({"needsSetup": false, "passkeyLogin": false}));
    api.expect(
        &admin,
        "PATCH",
        "/api/settings",
        Some(&json!({"auth.disablePasskeyLogin": false})),
        200,
    )
    .await;
    signed_in(&passwordless(&api, &mut keys[0].0).await);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_responses_are_refused_and_audited() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;

    // Registration: wrong origin, wrong RP ID, no user verification, reused challenge.
    let options = register_options(&api, &admin).await;
    let challenge = options["challenge"].as_str().unwrap().to_owned();
    let mut a = authenticator(Alg::Es256, &options);
    a.origin = "http://evil.example".into();
    let body = json!({"credential": a.register(&challenge)});
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/auth/passkeys/register/verify",
            Some(&body),
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(resp.text().contains("origin"), "{}", resp.text());
    // The failed attempt consumed the challenge: the right origin now fails too.
    a.origin = ORIGIN.into();
    let body = json!({"credential": a.register(&challenge)});
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/auth/passkeys/register/verify",
            Some(&body),
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(resp.text().contains("challenge"), "{}", resp.text());
    for (field, expect) in [("rp", "RP ID"), ("uv", "user not verified")] {
        let options = register_options(&api, &admin).await;
        let mut a = authenticator(Alg::Es256, &options);
        match field {
            "rp" => a.rp_id = "example.com".into(),
            _ => a.user_verified = false,
        }
        let body = json!({"credential": a.register(options["challenge"].as_str().unwrap())});
        let resp = api
            .call(
                &admin,
                "POST",
                "/api/auth/passkeys/register/verify",
                Some(&body),
            )
            .await;
        assert_eq!(resp.status, 400, "{}", resp.text());
        assert!(resp.text().contains(expect), "{field}: {}", resp.text());
    }
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/auth/passkeys/register/verify",
            Some(&json!({"credential": {"id": "x", "response": {"clientDataJSON": "!!"}}})),
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    let (mut key, _) = register(&api, &admin, Alg::Es256, "laptop").await;

    // Login: each kind of bad assertion is a 401 without a session.
    let challenge = login_challenge(&api, json!({})).await;
    let good = key.assert(&challenge);
    signed_in(&login_verify(&api, &json!({"credential": good})).await);
    // The same response again: the challenge is gone.
    refused(&login_verify(&api, &json!({"credential": good})).await, 401);

    key.origin = "http://localhost:3001".into();
    refused(&passwordless(&api, &mut key).await, 401);
    key.origin = ORIGIN.into();
    key.rp_id = "127.0.0.1".into();
    refused(&passwordless(&api, &mut key).await, 401);
    key.rp_id = RP_ID.into();
    key.user_verified = false;
    refused(&passwordless(&api, &mut key).await, 401);
    key.user_verified = true;
    // A signature by another key over the right data.
    let challenge = login_challenge(&api, json!({})).await;
    let mut forged = key.assert(&challenge);
    let other = SoftAuthenticator::new(Alg::Es256, RP_ID, ORIGIN, b"x");
    let cd = from_b64url(forged["response"]["clientDataJSON"].as_str().unwrap(), "cd").unwrap();
    let mut msg = from_b64url(
        forged["response"]["authenticatorData"].as_str().unwrap(),
        "ad",
    )
    .unwrap();
    msg.extend_from_slice(&sha256(&cd));
    forged["response"]["signature"] = json!(dbackup_identity::webauthn::b64url(&other.sign(&msg)));
    refused(
        &login_verify(&api, &json!({"credential": forged})).await,
        401,
    );
    // Four failures so far: a success resets the account's lockout counter (5 free failures).
    signed_in(&passwordless(&api, &mut key).await);
    // A challenge that was never issued.
    let unknown = key.assert("bm90LWlzc3VlZC1ieS10aGUtc2VydmVy");
    refused(
        &login_verify(&api, &json!({"credential": unknown})).await,
        401,
    );
    // The user handle must name the key's owner.
    let challenge = login_challenge(&api, json!({})).await;
    let mut wrong_user = key.assert(&challenge);
    wrong_user["response"]["userHandle"] = json!("c29tZW9uZS1lbHNl");
    refused(
        &login_verify(&api, &json!({"credential": wrong_user})).await,
        401,
    );

    // The counter going backwards (a cloned authenticator): refused and audited.
    key.counter = 0;
    refused(&passwordless(&api, &mut key).await, 401);
    let failures = passkey_failures(&api, &admin).await;
    let regression = failures
        .iter()
        .find(|r| {
            r["details"]["reason"]
                .as_str()
                .unwrap_or("")
                .contains("counter")
        })
        .unwrap_or_else(|| panic!("no counter audit row: {failures:?}"));
    assert_eq!(regression["details"]["receivedCounter"], 1);
    assert!(regression["details"]["storedCounter"].as_i64().unwrap() >= 2);
    let reasons: Vec<String> = failures
        .iter()
        .map(|r| r["details"]["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    for expected in [
        "unknown, used or expired challenge",
        "origin",
        "RP ID",
        "user not verified",
        "bad signature",
        "does not belong",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "{expected} not in {reasons:?}"
        );
    }
    // The right counter works again.
    key.counter = 50;
    signed_in(&passwordless(&api, &mut key).await);
    // Malformed bodies are 400s, not 500s.
    for bad in [
        json!({}),
        json!({"credential": 5}),
        json!({"credential": {"id": "x"}}),
    ] {
        let resp = login_verify(&api, &bad).await;
        assert_eq!(resp.status, 400, "{bad}: {}", resp.text());
    }
    app.shutdown().await;
}

fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).to_vec()
}

#[tokio::test]
async fn passkey_as_second_factor() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    // Without a passkey the flag cannot be turned on.
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/auth/passkeys/two-factor",
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(resp.status, 409, "{}", resp.text());
    let (mut key, _) = register(&api, &admin, Alg::EdDsa, "key").await;
    let overview = api
        .expect(
            &admin,
            "POST",
            "/api/auth/passkeys/two-factor",
            Some(&json!({"enabled": true})),
            200,
        )
        .await;
    assert_eq!(overview["passkeyTwoFactor"], true);

    let password_step = || async {
        let resp = api
            .call(
                &Credential::Anonymous,
                "POST",
                "/api/auth/login",
                Some(&json!({"email": "admin@example.com", "password": TEST_PASSWORD})),
            )
            .await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert!(session_cookie(&resp).is_none());
        let body = resp.json();
        assert_eq!(body["twoFactorRequired"], true);
        assert_eq!(body["methods"], json!(["passkey"]));
        body["challenge"].as_str().unwrap().to_owned()
    };
    let token = password_step().await;
    let challenge = login_challenge(&api, json!({"twoFactorChallenge": token})).await;
    let body = json!({"credential": key.assert(&challenge), "twoFactorChallenge": token});
    let session = signed_in(&login_verify(&api, &body).await);
    api.expect(&session, "GET", "/api/auth/session", None, 200)
        .await;

    // The 2FA challenge must be the real one, and the passkey the user's own.
    let token = password_step().await;
    let challenge = login_challenge(&api, json!({"twoFactorChallenge": token})).await;
    let body = json!({"credential": key.assert(&challenge), "twoFactorChallenge": "x.y.z"});
    refused(&login_verify(&api, &body).await, 401);
    let resp = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/passkeys/login/options",
            Some(&json!({"twoFactorChallenge": "x.y.z"})),
        )
        .await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    // A passwordless challenge does not satisfy a second factor (different ceremony kind).
    let token = password_step().await;
    let challenge = login_challenge(&api, json!({})).await;
    let body = json!({"credential": key.assert(&challenge), "twoFactorChallenge": token});
    refused(&login_verify(&api, &body).await, 401);
    // Another user's passkey does not either.
    let group = api
        .create_group(&admin, "Passkey users", &["profile:manage_passkeys"])
        .await;
    api.create_user(&admin, "Bob", "bob@example.com", group["id"].as_str())
        .await;
    let bob = api.login("bob@example.com", TEST_PASSWORD).await;
    let (mut bobs_key, _) = register(&api, &bob, Alg::Es256, "bob's").await;
    let token = password_step().await;
    let challenge = login_challenge(&api, json!({"twoFactorChallenge": token})).await;
    let body = json!({"credential": bobs_key.assert(&challenge), "twoFactorChallenge": token});
    refused(&login_verify(&api, &body).await, 401);

    // Deleting the last passkey turns the second factor off: the password alone signs in.
    let listed = api
        .expect(&admin, "GET", "/api/auth/passkeys", None, 200)
        .await;
    let id = listed["passkeys"][0]["id"].as_str().unwrap().to_owned();
    api.expect(
        &admin,
        "DELETE",
        &format!("/api/auth/passkeys/{id}"),
        None,
        204,
    )
    .await;
    let listed = api
        .expect(&admin, "GET", "/api/auth/passkeys", None, 200)
        .await;
    assert_eq!(listed["passkeyTwoFactor"], false);
    api.login("admin@example.com", TEST_PASSWORD).await;
    app.shutdown().await;
}
