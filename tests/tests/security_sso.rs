//! SSO against an identity provider the attacker controls (issue 14, findings 2 and 10), with the
//! real app and node-oidc-provider (tests/oidc/): an IdP that asserts the admin's verified
//! email does not sign in as the admin; only an account's owner links an identity to it, from
//! their session; a trusted provider's email link still needs the account's second factor;
//! writing a provider needs every permission; the state is bound to the browser that started
//! the flow; the redirect URI and the cookies' `Secure` flag come from the configured public
//! URL, whatever `Host` the request names.

mod sso_common;

use std::net::SocketAddr;

use dbackup_tests::{
    free_port, session_cookie, sqlite_json, Api, Credential, RealApp, TEST_PASSWORD,
};
use serde_json::{json, Value};
use sso_common::{blocking, session_user, Browser, Provider, SLUG};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN_EMAIL: &str = "admin@example.com";

/// The app with its admin signed up, and the test provider registered for its callback.
async fn app_with_provider() -> (RealApp, Api, Credential, Provider) {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api.signup("Admin", ADMIN_EMAIL, TEST_PASSWORD).await;
    let callback = format!("{}/api/auth/sso/{SLUG}/callback", api.origin());
    let provider = blocking(move || Provider::start(free_port(), &callback, "key-1")).await;
    (app, api, admin, provider)
}

/// [`app_with_provider`] with the provider registered by the admin (its answer last).
async fn app_with_registered_provider() -> (RealApp, Api, Credential, Provider, Value) {
    let (app, api, admin, provider) = app_with_provider().await;
    let created = api
        .expect(
            &admin,
            "POST",
            "/api/sso-providers",
            Some(&provider.provider_body()),
            201,
        )
        .await;
    (app, api, admin, provider, created)
}

/// In a browser holding `session`: the link request, the provider's forms as `user`, and the
/// callback; where the app sends the browser at the end.
fn link_in_browser(session: &str, origin: &str, user: &str, keep_session: bool) -> String {
    let mut b = Browser::signed_in(session);
    let started = b.post_json(
        &format!("{origin}/api/profile/accounts/link"),
        &json!({"providerId": SLUG}),
    );
    assert_eq!(started.status, 200, "{}", started.body);
    let url: Value = serde_json::from_str(&started.body).expect("json");
    let cb = b.through_provider(url["url"].as_str().expect("url"), origin, user);
    if !keep_session {
        b.jar.remove("dbackup_session");
    }
    b.visit(&cb).0
}

fn count(app: &RealApp, sql: &str) -> i64 {
    sqlite_json(&app.db_path(), sql)[0]["n"]
        .as_i64()
        .expect("a count")
}

#[tokio::test]
async fn an_idp_asserting_the_admins_email_does_not_sign_in_as_the_admin() {
    let (app, api, admin, provider, created) = app_with_registered_provider().await;
    let id = created["id"].as_str().expect("id").to_owned();
    let origin = api.origin();

    // The provider says "imposter" has the admin's verified email: no sign-in, no link.
    let o = origin.clone();
    let (location, jwt) = blocking(move || Browser::new().login(&o, "imposter")).await;
    assert_eq!(location, "/login?error=sso_link_required");
    assert!(
        jwt.is_none(),
        "signed in as the admin through an IdP's email claim"
    );
    assert_eq!(
        count(
            &app,
            r#"SELECT COUNT(*) AS n FROM "Account" WHERE accountId = 'imposter'"#
        ),
        0
    );
    assert_eq!(created["trustEmailLinking"], false, "off by default");

    // Trusted for email linking (a SuperAdmin's choice), the link is made — but an account with
    // 2FA still needs its second factor: SSO replaces the password only.
    let enrollment = api
        .expect(
            &admin,
            "POST",
            "/api/auth/2fa/enroll",
            Some(&json!({"password": TEST_PASSWORD})),
            200,
        )
        .await;
    let totp = totp_rs::TOTP::from_url(enrollment["otpauthUri"].as_str().expect("uri"))
        .expect("otpauth URI");
    let code = totp.generate_current().expect("a code");
    let verified = api
        .expect(
            &admin,
            "POST",
            "/api/auth/2fa/verify",
            Some(&json!({"code": code})),
            200,
        )
        .await;
    let backup = verified["backupCodes"][0]
        .as_str()
        .expect("a backup code")
        .to_owned();
    api.expect(
        &admin,
        "PATCH",
        &format!("/api/sso-providers/{id}"),
        Some(&json!({"trustEmailLinking": true})),
        200,
    )
    .await;
    let o = origin.clone();
    let (location, jwt) = blocking(move || Browser::new().login(&o, "imposter")).await;
    assert!(jwt.is_none(), "2FA skipped: {location}");
    let fragment = location
        .strip_prefix("/login#")
        .unwrap_or_else(|| panic!("not sent to the second factor: {location}"));
    let params: Vec<(&str, &str)> = fragment
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    assert_eq!(get("methods"), Some("totp"));
    let challenge = get("twoFactorChallenge").expect("a challenge");
    let resp = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/login/2fa",
            Some(&json!({"challenge": challenge, "code": backup})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let jwt = session_cookie(&resp).expect("signed in after the second factor");
    assert_eq!(session_user(&api, &jwt).await["email"], ADMIN_EMAIL);
    drop(provider);
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_owner_links_an_identity_from_their_session() {
    let (app, api, admin, provider, _) = app_with_registered_provider().await;
    let origin = api.origin();
    let Credential::Cookie(admin_jwt) = admin.clone() else {
        unreachable!()
    };

    // Linking is a state-changing request: a cross-site page cannot start it.
    let resp = api
        .send(
            "POST",
            "/api/profile/accounts/link",
            &[
                ("cookie", &format!("dbackup_session={admin_jwt}")),
                ("origin", "http://evil.example"),
            ],
            Some(&json!({"providerId": SLUG})),
        )
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/profile/accounts/link",
            Some(&json!({"providerId": "nope"})),
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_eq!(resp.json()["details"]["field"], "providerId");

    // Started from the admin's session, finished without it: refused.
    let (o, jwt) = (origin.clone(), admin_jwt.clone());
    let location = blocking(move || link_in_browser(&jwt, &o, "imposter", false)).await;
    assert_eq!(location, "/profile?error=sso_link_session");

    // Started and finished in the admin's session: linked.
    let (o, jwt) = (origin.clone(), admin_jwt.clone());
    let location = blocking(move || link_in_browser(&jwt, &o, "imposter", true)).await;
    assert_eq!(location, format!("/profile?linked={SLUG}"));
    let mine = api
        .expect(&admin, "GET", "/api/profile/accounts", None, 200)
        .await;
    assert_eq!(mine["accounts"][0]["accountId"], "imposter");

    // The linked identity now signs in to that account (no second factor on it here).
    let o = origin.clone();
    let (location, jwt) = blocking(move || Browser::new().login(&o, "imposter")).await;
    assert_eq!(location, "/");
    assert_eq!(
        session_user(&api, &jwt.expect("signed in")).await["email"],
        ADMIN_EMAIL
    );

    // Another user cannot take the identity over.
    api.create_user(&admin, "Bob", "bob@example.test", None)
        .await;
    let Credential::Cookie(bob_jwt) = api.login("bob@example.test", TEST_PASSWORD).await else {
        unreachable!()
    };
    let o = origin.clone();
    let location = blocking(move || link_in_browser(&bob_jwt, &o, "imposter", true)).await;
    assert_eq!(location, "/profile?error=sso_already_linked");
    let audit = api
        .expect(&admin, "GET", "/api/audit?resource=SSO&limit=50", None, 200)
        .await;
    assert!(audit.to_string().contains("linkedByUser"), "{audit}");
    drop(provider);
    app.shutdown().await;
}

#[tokio::test]
async fn writing_a_provider_needs_every_permission() {
    let (app, api, admin, provider) = app_with_provider().await;
    let group = api
        .create_group(
            &admin,
            "Settings admins",
            &["settings:read", "settings:write"],
        )
        .await;
    api.create_user(
        &admin,
        "Sam",
        "sam@example.test",
        Some(group["id"].as_str().expect("group id")),
    )
    .await;
    let sam = api.login("sam@example.test", TEST_PASSWORD).await;
    let body = provider.provider_body();
    let resp = api
        .call(&sam, "POST", "/api/sso-providers", Some(&body))
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert!(resp.text().contains("every permission"), "{}", resp.text());
    assert_eq!(count(&app, r#"SELECT COUNT(*) AS n FROM "SsoProvider""#), 0);
    let created = api
        .expect(&admin, "POST", "/api/sso-providers", Some(&body), 201)
        .await;
    let path = format!("/api/sso-providers/{}", created["id"].as_str().expect("id"));
    for (method, body) in [
        ("PATCH", Some(json!({"trustEmailLinking": true}))),
        ("PATCH", Some(json!({"issuer": "http://127.0.0.1:1"}))),
        ("DELETE", None),
    ] {
        let resp = api.call(&sam, method, &path, body.as_ref()).await;
        assert_eq!(resp.status, 403, "{method} {body:?}: {}", resp.text());
    }
    // Reading stays with settings:write.
    api.expect(&sam, "GET", "/api/sso-providers", None, 200)
        .await;
    let stored = api.expect(&admin, "GET", &path, None, 200).await;
    assert_eq!(stored["trustEmailLinking"], false);
    // Discovery URLs may not point at link-local or cloud-metadata addresses (refused before
    // any request is made).
    let mut metadata = body.clone();
    metadata["providerId"] = json!("metadata");
    metadata["issuer"] = json!("http://169.254.169.254/latest");
    let resp = api
        .call(&admin, "POST", "/api/sso-providers", Some(&metadata))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_eq!(resp.json()["details"]["field"], "issuer");
    assert!(resp.text().contains("link-local"), "{}", resp.text());
    drop(provider);
    app.shutdown().await;
}

#[tokio::test]
async fn a_callback_without_the_browsers_state_cookie_is_refused() {
    let (app, api, admin, provider, _) = app_with_registered_provider().await;
    let o = api.origin();
    let (victim, starter) = blocking(move || {
        // The attacker signs in at their IdP and hands the callback URL to a victim, whose
        // browser never started that login (login CSRF).
        let mut attacker = Browser::new();
        let cb = attacker.until_callback(&o, "alice");
        let victim = Browser::new().finish(&cb);
        // The state is spent by that attempt: the starting browser cannot use it either.
        let starter = attacker.finish(&cb);
        (victim, starter)
    })
    .await;
    assert_eq!(victim.0, "/login?error=sso_state");
    assert!(victim.1.is_none(), "signed in without the state cookie");
    assert_eq!(starter.0, "/login?error=sso_state");
    assert!(starter.1.is_none());
    // A state cookie for another login does not match either.
    let o = api.origin();
    let mixed = blocking(move || {
        let mut a = Browser::new();
        let first = a.until_callback(&o, "alice");
        let _second = a.until_callback(&o, "alice");
        a.finish(&first)
    })
    .await;
    assert_eq!(mixed.0, "/login?error=sso_state");
    let failures = api
        .expect(
            &admin,
            "GET",
            "/api/audit?action=LOGIN_FAILED&limit=50",
            None,
            200,
        )
        .await;
    assert!(failures.to_string().contains("state cookie"), "{failures}");
    drop(provider);
    app.shutdown().await;
}

/// One HTTP/1.1 request with exactly this `Host` header; the status and headers of the answer.
async fn with_host(
    addr: SocketAddr,
    method: &str,
    target: &str,
    host: &str,
    body: Option<&Value>,
) -> (u16, Vec<(String, String)>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn redirect_uri_and_secure_cookies_follow_the_public_url_not_the_host_header() {
    const PUBLIC: &str = "https://backup.example.test";
    let app = RealApp::without_worker()
        .var("SPIN_VARIABLE_PUBLIC_URL", PUBLIC)
        .start()
        .await;
    let host = &app.host;
    let api = app.api();
    let (_, admin) = api.signup("Admin", ADMIN_EMAIL, TEST_PASSWORD).await;
    let callback = format!("{PUBLIC}/api/auth/sso/{SLUG}/callback");
    let cb = callback.clone();
    let provider = blocking(move || Provider::start(free_port(), &cb, "key-1")).await;
    api.expect(
        &admin,
        "POST",
        "/api/sso-providers",
        Some(&provider.provider_body()),
        201,
    )
    .await;

    // A forged Host changes neither the redirect URI nor the cookie's Secure flag.
    let (status, headers) = with_host(
        host.addr,
        "GET",
        &format!("/api/auth/sso/{SLUG}/start"),
        "evil.example",
        None,
    )
    .await;
    assert_eq!(status, 302, "{headers:?}");
    let location = header(&headers, "location").expect("a location");
    let query = location.split_once('?').expect("a query").1;
    let redirect_uri = url_param(query, "redirect_uri");
    assert_eq!(redirect_uri, callback, "{location}");
    let state_cookie = header(&headers, "set-cookie").expect("the state cookie");
    assert!(
        state_cookie.starts_with("dbackup_sso_state="),
        "{state_cookie}"
    );
    assert!(state_cookie.contains("; Secure"), "{state_cookie}");
    assert!(state_cookie.contains("; HttpOnly"), "{state_cookie}");
    assert!(
        state_cookie.contains(&format!("Path=/api/auth/sso/{SLUG}/callback")),
        "{state_cookie}"
    );

    // The session cookie is Secure for an https public URL even on a loopback Host.
    let login = json!({"email": ADMIN_EMAIL, "password": TEST_PASSWORD});
    let (status, headers) = with_host(
        host.addr,
        "POST",
        "/api/auth/login",
        &host.addr.to_string(),
        Some(&login),
    )
    .await;
    assert_eq!(status, 200, "{headers:?}");
    let session = header(&headers, "set-cookie").expect("the session cookie");
    assert!(session.contains("; Secure"), "{session}");

    // The CSRF origin is the public one, not the Host's.
    let Credential::Cookie(jwt) = &admin else {
        unreachable!()
    };
    let cookie = format!("dbackup_session={jwt}");
    let group = |name: &str| json!({"name": name, "permissions": []});
    let own_host = format!("http://{}", host.addr);
    let resp = api
        .send(
            "POST",
            "/api/groups",
            &[("cookie", &cookie), ("origin", &own_host)],
            Some(&group("Host origin")),
        )
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    let resp = api
        .send(
            "POST",
            "/api/groups",
            &[("cookie", &cookie), ("origin", PUBLIC)],
            Some(&group("Public origin")),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    drop(provider);
    app.shutdown().await;
}

/// The decoded value of `name` in a URL query.
fn url_param(query: &str, name: &str) -> String {
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {query}"));
    let raw = raw.replace('+', " ");
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}
