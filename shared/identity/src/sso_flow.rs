//! The SSO flows (OpenID Connect code flow with PKCE) from the first redirect to the landing
//! page: the login (`/start` → provider → `/callback`), the linking of a signed-in user's
//! account (`POST /api/profile/accounts/link` → provider → `/callback`), and the discovery a
//! provider's creation or update fetches. Outbound calls go through [`ProviderHttp`];
//! verification is [`crate::oidc`], the accounts [`crate::sso`].
//!
//! The redirect URI is built from the configured public origin (`public_url`, else `app_url`),
//! never from the request's `Host`. The `state` is bound to the browser that started the flow
//! by the `dbackup_sso_state` cookie (HttpOnly, SameSite=Lax, callback path only); the callback
//! refuses a state without it. Every login failure redirects to `/login?error=<code>` (a link
//! failure to `/profile?error=<code>`) and is audited; nothing else leaks.

use dbackup_core::db::Db;
use dbackup_core::ApiError;
use serde_json::Value;

use crate::cookie;
use crate::login::ClientInfo;
use crate::oidc::{self, Discovery};
use crate::provider_http::{Method, ProviderHttp, ProviderRequest};
use crate::secretbox::SecretBox;
use crate::sso::{self, LinkRequest, LinkStart, LoginState, SsoFailure, SsoProvider, SsoSignIn};
use crate::{IdentityError, Timestamp};

/// Where the app starts after a successful SSO login.
pub const APP_HOME: &str = "/";
/// Where a failed login lands.
pub const LOGIN_PAGE: &str = "/login";
/// Where a link started from the profile ends.
pub const PROFILE_PAGE: &str = "/profile";

/// Some WAF-fronted providers refuse clients without a browser-like User-Agent.
pub const USER_AGENT: &str = "Mozilla/5.0 (compatible; DBackup-SSO)";

/// Where a flow sends the browser: a 302 to `location`, with at most one `Set-Cookie`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub location: String,
    pub set_cookie: Option<String>,
}

/// What every step of a flow knows about its request.
#[derive(Clone, Copy)]
pub struct Visit<'a> {
    pub db: &'a dyn Db,
    pub client: ClientInfo<'a>,
    pub now: Timestamp,
    /// The configured public origin (`public_url`, else `app_url`): the base of the redirect
    /// URI and whether cookies are `Secure`.
    pub public_origin: Option<&'a str>,
}

impl Visit<'_> {
    fn secure_cookies(&self) -> bool {
        cookie::secure_for(self.public_origin.unwrap_or_default())
    }
}

/// What the callback reads from its request besides the [`Visit`].
pub struct Callback<'a> {
    /// The provider's `providerId` from the path.
    pub slug: &'a str,
    /// The raw query string (`code`, `state`, or `error`).
    pub query: &'a str,
    /// The request's `Cookie` header (the state cookie).
    pub cookie_header: &'a str,
    /// The user of the request's session, if signed in (a link ends only in their session).
    pub signed_in_user: Option<&'a str>,
    /// Signs the session or second-factor challenge.
    pub session_secret: &'a str,
}

async fn fetch(
    http: &impl ProviderHttp,
    method: Method,
    url: &str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    let mut all = vec![
        ("accept", "application/json".to_owned()),
        ("user-agent", USER_AGENT.to_owned()),
    ];
    all.extend(headers);
    let answer = http
        .send(ProviderRequest {
            method,
            url: url.to_owned(),
            headers: all,
            body,
        })
        .await?;
    Ok((answer.status, answer.body))
}

async fn get_json(http: &impl ProviderHttp, url: &str) -> Result<Vec<u8>, String> {
    let (status, body) = fetch(http, Method::Get, url, Vec::new(), Vec::new()).await?;
    if status != 200 {
        return Err(format!("{url} answered {status}"));
    }
    Ok(body)
}

/// Fetches and validates the discovery document of `issuer` (400 naming `issuer` otherwise).
pub async fn discover(http: &impl ProviderHttp, issuer: &str) -> Result<Discovery, IdentityError> {
    let body = get_json(http, &oidc::discovery_url(issuer))
        .await
        .map_err(|e| {
            IdentityError::invalid_field(
                "issuer",
                format!("cannot fetch the discovery document: {e}"),
            )
        })?;
    oidc::validate_discovery(issuer, &body)
}

/// `POST /api/sso-providers`: validated, discovery fetched, the secret sealed.
pub async fn create_provider(
    db: &dyn Db,
    http: &impl ProviderHttp,
    secret_box: impl FnOnce() -> Result<SecretBox, ApiError>,
    input: &sso::ProviderInput,
    now: Timestamp,
) -> Result<SsoProvider, ApiError> {
    let prepared = sso::prepare(input, None)?;
    let discovery = discover(http, &prepared.issuer).await?;
    Ok(sso::save(
        db,
        &secret_box()?,
        None,
        &prepared,
        &discovery,
        now,
    )?)
}

/// `PATCH /api/sso-providers/{id}`: absent fields stay; discovery is fetched again; a new
/// `providerId` needs the secret again.
pub async fn update_provider(
    db: &dyn Db,
    http: &impl ProviderHttp,
    secret_box: impl FnOnce() -> Result<SecretBox, ApiError>,
    id: &str,
    input: &sso::ProviderInput,
    now: Timestamp,
) -> Result<SsoProvider, ApiError> {
    let existing = sso::get(db, id)?;
    let prepared = sso::prepare(input, Some(&existing))?;
    if sso::rename_needs_secret(&existing, &prepared) {
        return Err(IdentityError::invalid_field(
            "clientSecret",
            "changing providerId needs the clientSecret again",
        )
        .into());
    }
    let discovery = discover(http, &prepared.issuer).await?;
    Ok(sso::save(
        db,
        &secret_box()?,
        Some(&existing.id),
        &prepared,
        &discovery,
        now,
    )?)
}

/// The page a failed flow lands on with its error code (audited first): the login page, or the
/// profile for a link. With `spent` (the failure used up the state this browser's cookie
/// carries) the state cookie is deleted; a stray callback leaves a pending flow's cookie alone.
fn fail_at(
    visit: &Visit<'_>,
    page: &str,
    provider: Option<&str>,
    spent: bool,
    failure: SsoFailure,
) -> Result<Redirect, ApiError> {
    sso::audit_failure(visit.db, visit.client, provider, &failure, visit.now)?;
    Ok(Redirect {
        location: format!("{page}?error={}", failure.code),
        set_cookie: provider
            .filter(|_| spent)
            .map(|p| cookie::clear_sso_state(p, visit.secure_cookies())),
    })
}

/// The callback URL registered at the provider: `{public origin}/api/auth/sso/{id}/callback`.
fn redirect_uri(visit: &Visit<'_>, p: &SsoProvider) -> Result<String, ApiError> {
    let origin = visit.public_origin.ok_or_else(|| {
        ApiError::internal(
            "SSO needs the app's public URL: set the public_url (or app_url) variable",
        )
    })?;
    Ok(format!("{origin}/api/auth/sso/{}/callback", p.provider_id))
}

/// Starts a flow: stores the state and binds it to this browser with the state cookie.
fn begin(
    visit: &Visit<'_>,
    p: &SsoProvider,
    link_user: Option<&str>,
) -> Result<(sso::Started, String), ApiError> {
    let started = sso::start(visit.db, p, &redirect_uri(visit, p)?, link_user, visit.now)?;
    let cookie = cookie::set_sso_state(
        &started.state,
        &p.provider_id,
        sso::STATE_TTL_SECS,
        visit.secure_cookies(),
    );
    Ok((started, cookie))
}

fn enabled_provider(db: &dyn Db, slug: &str) -> Result<Result<SsoProvider, SsoFailure>, ApiError> {
    Ok(match sso::find(db, slug)? {
        Some(p) if p.enabled => Ok(p),
        Some(_) => Err(SsoFailure::new(
            "sso_disabled",
            format!("{slug} is disabled"),
        )),
        None => Err(SsoFailure::new(
            "sso_unknown_provider",
            format!("no provider {slug}"),
        )),
    })
}

/// `GET /api/auth/sso/{id}/start`: to the provider's authorization endpoint with the state
/// cookie, or to the login page with the error.
pub fn start(visit: &Visit<'_>, slug: &str) -> Result<Redirect, ApiError> {
    let p = match enabled_provider(visit.db, slug)? {
        Ok(p) => p,
        Err(f) => return fail_at(visit, LOGIN_PAGE, Some(slug), false, f),
    };
    let (started, state_cookie) = begin(visit, &p, None)?;
    Ok(Redirect {
        location: started.url,
        set_cookie: Some(state_cookie),
    })
}

/// `POST /api/profile/accounts/link`: the authorization URL for the signed-in `user_id` and
/// the state cookie; 400 unless the provider exists and is enabled.
pub fn start_link(
    visit: &Visit<'_>,
    user_id: &str,
    req: &LinkRequest,
) -> Result<(LinkStart, String), ApiError> {
    let p = match sso::find(visit.db, req.provider_id.trim())? {
        Some(p) if p.enabled => p,
        _ => {
            return Err(IdentityError::invalid_field(
                "providerId",
                "no enabled SSO provider with this providerId",
            )
            .into())
        }
    };
    let (started, state_cookie) = begin(visit, &p, Some(user_id))?;
    Ok((LinkStart { url: started.url }, state_cookie))
}

/// Exchanges the code for the ID token and the access token (if any).
async fn exchange(
    db: &dyn Db,
    http: &impl ProviderHttp,
    secret_box: impl FnOnce() -> Result<SecretBox, ApiError>,
    p: &SsoProvider,
    code: &str,
    state: &LoginState,
) -> Result<Result<(String, Option<String>), SsoFailure>, ApiError> {
    let token_url = p.token_endpoint.clone().unwrap_or_default();
    let client_id = p.client_id.clone().unwrap_or_default();
    let secret = sso::client_secret(db, &secret_box()?, p)?;
    // Discovery is fetched again for the auth method only when the provider lacks basic.
    let post = match p.issuer.as_deref() {
        Some(issuer) => get_json(http, &oidc::discovery_url(issuer))
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<Discovery>(&b).ok())
            .is_some_and(|d| oidc::wants_post_auth(&d)),
        None => false,
    };
    let body = oidc::token_request_body(
        code,
        &state.redirect_uri,
        &state.code_verifier,
        post.then_some((client_id.as_str(), secret.as_str())),
    );
    let mut headers = vec![(
        "content-type",
        "application/x-www-form-urlencoded".to_owned(),
    )];
    if !post {
        headers.push(("authorization", oidc::basic_auth(&client_id, &secret)));
    }
    let answer = fetch(http, Method::Post, &token_url, headers, body.into_bytes()).await;
    let (status, body) = match answer {
        Ok(v) => v,
        Err(e) => return Ok(Err(SsoFailure::new("sso_provider_unreachable", e))),
    };
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status != 200 {
        let err = parsed["error"].as_str().unwrap_or("unknown").to_owned();
        return Ok(Err(SsoFailure::new(
            "sso_exchange_failed",
            format!("token endpoint answered {status}: {err}"),
        )));
    }
    let access = parsed["access_token"].as_str().map(str::to_owned);
    match parsed["id_token"].as_str() {
        Some(t) => Ok(Ok((t.to_owned(), access))),
        None => Ok(Err(SsoFailure::new("sso_exchange_failed", "no id_token"))),
    }
}

/// `GET /api/auth/sso/{id}/callback?code&state`: a session and the app, the second factor, the
/// profile after a link, or the login (profile) page with the error code.
pub async fn callback(
    visit: &Visit<'_>,
    http: &impl ProviderHttp,
    secret_box: impl FnOnce() -> Result<SecretBox, ApiError>,
    cb: &Callback<'_>,
) -> Result<Redirect, ApiError> {
    let slug = cb.slug;
    let params = oidc::query_params(cb.query);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let p = match enabled_provider(visit.db, slug)? {
        Ok(p) => p,
        Err(f) => return fail_at(visit, LOGIN_PAGE, Some(slug), false, f),
    };
    // The state is consumed first, whatever else is wrong: it works once. It must come with
    // the cookie of the browser that started the flow (login CSRF otherwise).
    let state_param = param("state");
    let state = match &state_param {
        Some(s) => sso::take_state(visit.db, s, visit.now)?,
        None => None,
    };
    let Some(state) = state.filter(|s| s.provider == p.id) else {
        return fail_at(
            visit,
            LOGIN_PAGE,
            Some(slug),
            false,
            SsoFailure::new("sso_state", "unknown, used or expired state"),
        );
    };
    let bound = state_param
        .as_deref()
        .is_some_and(|s| sso::state_cookie_matches(s, cb.cookie_header));
    let page = if state.link_user.is_some() {
        PROFILE_PAGE
    } else {
        LOGIN_PAGE
    };
    if !bound {
        let failure = SsoFailure::new(
            "sso_state",
            "the state cookie is missing or does not match: the sign-in was started in another \
             browser",
        );
        return fail_at(visit, page, Some(slug), false, failure);
    }
    // From here on a failure spends the state this browser's cookie carries.
    let fail = |failure: SsoFailure| fail_at(visit, page, Some(slug), true, failure);
    if let Some(link_user) = &state.link_user {
        if cb.signed_in_user != Some(link_user.as_str()) {
            return fail(SsoFailure::new(
                "sso_link_session",
                "the link was started by another account or its session ended",
            ));
        }
    }
    if let Some(err) = param("error") {
        return fail(SsoFailure::new(
            "sso_denied",
            format!("provider error {err}"),
        ));
    }
    let Some(code) = param("code") else {
        return fail(SsoFailure::new("sso_state", "no code"));
    };
    let (id_token, access_token) =
        match exchange(visit.db, http, secret_box, &p, &code, &state).await? {
            Ok(t) => t,
            Err(f) => return fail(f),
        };
    let jwks_url = p.jwks_endpoint.clone().unwrap_or_default();
    let jwks = match get_json(http, &jwks_url).await {
        Ok(j) => j,
        Err(e) => return fail(SsoFailure::new("sso_provider_unreachable", e)),
    };
    let issuer = p.issuer.clone().unwrap_or_default();
    let client_id = p.client_id.clone().unwrap_or_default();
    let mut claims =
        match oidc::verify_id_token(&id_token, &jwks, &issuer, &client_id, &state.nonce) {
            Ok(c) => c,
            Err(e) => return fail(SsoFailure::new("sso_invalid_token", e.to_string())),
        };
    // Providers that keep the ID token minimal (e.g. node-oidc-provider) serve email and name
    // from userinfo; its `sub` must be the ID token's.
    if claims.email.is_none() {
        if let (Some(url), Some(token)) = (&p.user_info_endpoint, &access_token) {
            let headers = vec![("authorization", format!("Bearer {token}"))];
            if let Ok((200, body)) = fetch(http, Method::Get, url, headers, Vec::new()).await {
                if let Err(e) = oidc::merge_userinfo(&mut claims, &body) {
                    return fail(SsoFailure::new("sso_invalid_token", e.to_string()));
                }
            }
        }
    }
    let clear_state = Some(cookie::clear_sso_state(slug, visit.secure_cookies()));
    if let Some(user_id) = &state.link_user {
        return match sso::link_to_user(visit.db, &p, &claims, user_id, visit.client, visit.now)? {
            Ok(()) => Ok(Redirect {
                location: format!("{PROFILE_PAGE}?linked={slug}"),
                set_cookie: clear_state,
            }),
            Err(f) => fail(f),
        };
    }
    match sso::sign_in(
        visit.db,
        &p,
        &claims,
        visit.client,
        cb.session_secret,
        visit.now,
    )? {
        // One Set-Cookie per answer: the session's. The state cookie expires on its own; its
        // state is spent.
        Ok(SsoSignIn::SignedIn(l)) => Ok(Redirect {
            location: APP_HOME.to_owned(),
            set_cookie: Some(cookie::set_session(
                &l.session.jwt,
                l.session.max_age_secs,
                visit.secure_cookies(),
            )),
        }),
        // The login page continues with the second factor; the challenge travels in the
        // fragment, which is neither sent to servers nor in a Referer.
        Ok(SsoSignIn::SecondFactorRequired { challenge, methods }) => Ok(Redirect {
            location: format!(
                "{LOGIN_PAGE}#twoFactorChallenge={challenge}&methods={}",
                methods.join(",")
            ),
            set_cookie: clear_state,
        }),
        Err(f) => fail(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider_http::fake::FakeProvider;
    use crate::testutil::*;
    use dbackup_core::worker::fake::block_on;
    use jwt_simple::prelude::*;
    use serde_json::json;

    const ISSUER: &str = "https://id.example";
    const TOKEN_URL: &str = "https://id.example/token";
    const JWKS_URL: &str = "https://id.example/jwks";
    const ORIGIN: &str = "https://app.example";
    const CLIENT: ClientInfo<'static> = ClientInfo {
        ip: Some("10.0.0.9"),
        user_agent: Some("test-agent"),
    };

    fn visit(db: &TestDb) -> Visit<'_> {
        Visit {
            db,
            client: CLIENT,
            now: NOW,
            public_origin: Some(ORIGIN),
        }
    }

    fn sbox() -> Result<SecretBox, ApiError> {
        Ok(SecretBox::from_hex_key(KEY)?)
    }

    /// A provider `idp` whose discovery the fake serves, created through the flow.
    fn provider(db: &TestDb, http: &FakeProvider) -> SsoProvider {
        let discovery = json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/auth"),
            "token_endpoint": TOKEN_URL,
            "jwks_uri": JWKS_URL,
        });
        http.answer(&oidc::discovery_url(ISSUER), 200, discovery.to_string());
        let input = serde_json::from_value(json!({"name": "IdP", "providerId": "idp",
            "adapter": "generic", "issuer": ISSUER, "clientId": "app", "clientSecret": "s3cret",
            "allowProvisioning": true}))
        .unwrap();
        block_on(create_provider(db, http, sbox, &input, NOW)).unwrap()
    }

    /// An ES256 key and the JWKS that publishes it.
    fn signing_key() -> (ES256KeyPair, String) {
        let key = ES256KeyPair::generate().with_key_id("k1");
        let point = key.public_key().public_key().to_bytes_uncompressed();
        let b64 = crate::webauthn::b64url;
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
            "x": b64(&point[1..33]), "y": b64(&point[33..])}]});
        (key, jwks.to_string())
    }

    #[derive(Serialize, Deserialize)]
    struct Extra {
        email: String,
        email_verified: bool,
    }

    fn id_token(key: &ES256KeyPair, nonce: &str) -> String {
        let extra = Extra {
            email: "new@example.com".into(),
            email_verified: true,
        };
        let claims = Claims::with_custom_claims(extra, Duration::from_hours(1))
            .with_issuer(ISSUER)
            .with_audience("app")
            .with_subject("sub-1")
            .with_nonce(nonce);
        key.sign(claims).unwrap()
    }

    /// Starts a login: the state and nonce from the authorization URL, and the browser's
    /// `Cookie` header carrying the state cookie.
    fn started(db: &TestDb) -> (String, String, String) {
        let to = start(&visit(db), "idp").unwrap();
        let query = to.location.split_once('?').unwrap().1;
        let params = oidc::query_params(query);
        let get = |n: &str| params.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(
            get("redirect_uri"),
            format!("{ORIGIN}/api/auth/sso/idp/callback"),
            "from the public origin, never Host"
        );
        let cookie = to.set_cookie.unwrap();
        assert!(
            cookie.contains("HttpOnly; Secure; SameSite=Lax"),
            "{cookie}"
        );
        let header = cookie.split(';').next().unwrap().to_owned();
        (get("state"), get("nonce"), header)
    }

    fn call(
        db: &TestDb,
        http: &FakeProvider,
        query: &str,
        cookie_header: &str,
        user: Option<&str>,
    ) -> Redirect {
        let cb = Callback {
            slug: "idp",
            query,
            cookie_header,
            signed_in_user: user,
            session_secret: SECRET,
        };
        block_on(callback(&visit(db), http, sbox, &cb)).unwrap()
    }

    /// A database and a fake provider with the provider `idp` created.
    fn setup() -> (TestDb, FakeProvider) {
        let db = TestDb::migrated();
        let http = FakeProvider::default();
        provider(&db, &http);
        (db, http)
    }

    /// The provider answers the token request with `id_token` and the JWKS URL with `jwks`.
    fn serve(http: &FakeProvider, id_token: &str, jwks_status: u16, jwks: &str) {
        let tokens = json!({"id_token": id_token, "access_token": "at"});
        http.answer(TOKEN_URL, 200, tokens.to_string());
        http.answer(JWKS_URL, jwks_status, jwks.to_owned());
    }

    /// The callback of a login with code `c` and `state`.
    fn finish(db: &TestDb, http: &FakeProvider, state: &str, cookie: &str) -> Redirect {
        call(db, http, &format!("code=c&state={state}"), cookie, None)
    }

    /// The details of every audited SSO failure, in order.
    fn failures(db: &TestDb) -> Vec<String> {
        let rows = db
            .execute(
                r#"SELECT details FROM "AuditLog" WHERE action = ? ORDER BY rowid"#,
                &[crate::audit::action::LOGIN_FAILED.into()],
            )
            .unwrap();
        rows.rows
            .iter()
            .map(|r| r[0].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn a_login_lands_signed_in_and_provisioned() {
        let (db, http) = setup();
        let (key, jwks) = signing_key();
        let (state, nonce, cookie) = started(&db);
        serve(&http, &id_token(&key, &nonce), 200, &jwks);
        let to = finish(&db, &http, &state, &cookie);
        assert_eq!(to.location, APP_HOME);
        let session = to.set_cookie.unwrap();
        assert!(session.starts_with("dbackup_session="), "{session}");
        let sent = http.requests_to(TOKEN_URL);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].header("user-agent"), Some(USER_AGENT));
        assert_eq!(
            sent[0].header("authorization"),
            Some(oidc::basic_auth("app", "s3cret").as_str())
        );
        let body = String::from_utf8(sent[0].body.clone()).unwrap();
        assert!(
            body.contains("code=c&") && body.contains("code_verifier="),
            "{body}"
        );
        assert!(failures(&db).is_empty());
        // The state works once.
        let again = finish(&db, &http, &state, &cookie);
        assert_eq!(again.location, "/login?error=sso_state");
    }

    #[test]
    fn a_state_without_its_cookie_is_refused_and_audited() {
        let (db, http) = setup();
        let (state, _, _) = started(&db);
        let other = "dbackup_sso_state=someone-elses";
        let to = finish(&db, &http, &state, other);
        assert_eq!(to.location, "/login?error=sso_state");
        assert_eq!(to.set_cookie, None, "a pending flow's cookie stays");
        assert!(http.requests_to(TOKEN_URL).is_empty());
        let unknown = call(&db, &http, "code=c&state=nope", other, None);
        assert_eq!(unknown.location, "/login?error=sso_state");
        let audited = failures(&db);
        assert_eq!(audited.len(), 2);
        assert!(audited[0].contains("another browser"), "{}", audited[0]);
    }

    #[test]
    fn a_token_endpoint_error_spends_the_state() {
        let (db, http) = setup();
        let (state, _, cookie) = started(&db);
        http.answer(
            TOKEN_URL,
            400,
            json!({"error": "invalid_grant"}).to_string(),
        );
        let to = finish(&db, &http, &state, &cookie);
        assert_eq!(to.location, "/login?error=sso_exchange_failed");
        let cleared = to.set_cookie.unwrap();
        assert!(cleared.starts_with("dbackup_sso_state=;"), "{cleared}");
        assert!(failures(&db)[0].contains("invalid_grant"));
        // A 200 without an ID token.
        http.answer(TOKEN_URL, 200, "{}");
        let (state, _, cookie) = started(&db);
        let to = finish(&db, &http, &state, &cookie);
        assert_eq!(to.location, "/login?error=sso_exchange_failed");
    }

    #[test]
    fn a_bad_id_token_is_refused() {
        let (db, http) = setup();
        let (key, jwks) = signing_key();
        let (state, _, cookie) = started(&db);
        serve(&http, &id_token(&key, "another-nonce"), 200, &jwks);
        let to = finish(&db, &http, &state, &cookie);
        assert_eq!(to.location, "/login?error=sso_invalid_token");
        assert!(failures(&db)[0].contains("nonce"), "{:?}", failures(&db));
        // An unreachable JWKS.
        let (state, nonce, cookie) = started(&db);
        serve(&http, &id_token(&key, &nonce), 500, "");
        let to = finish(&db, &http, &state, &cookie);
        assert_eq!(to.location, "/login?error=sso_provider_unreachable");
    }

    #[test]
    fn a_link_ends_only_in_its_owners_session() {
        let (db, http) = setup();
        insert_user(&db, "a", None);
        let req = LinkRequest {
            provider_id: "idp".into(),
        };
        let (started, cookie) = start_link(&visit(&db), "a", &req).unwrap();
        let params = oidc::query_params(started.url.split_once('?').unwrap().1);
        let state = &params.iter().find(|(k, _)| k == "state").unwrap().1;
        let cookie = cookie.split(';').next().unwrap();
        let to = call(
            &db,
            &http,
            &format!("code=c&state={state}"),
            cookie,
            Some("b"),
        );
        assert_eq!(to.location, "/profile?error=sso_link_session");
        let unknown = LinkRequest {
            provider_id: "nope".into(),
        };
        let err = start_link(&visit(&db), "a", &unknown).unwrap_err();
        assert_eq!(
            (err.status, err.details),
            (400, Some(json!({"field": "providerId"})))
        );
    }

    #[test]
    fn discovery_failures_name_the_issuer_and_unknown_providers_fail_to_the_login_page() {
        let http = FakeProvider::default();
        let err = block_on(discover(&http, ISSUER)).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot fetch the discovery document"),
            "{err}"
        );
        let db = TestDb::migrated();
        let to = start(&visit(&db), "ghost").unwrap();
        assert_eq!(to.location, "/login?error=sso_unknown_provider");
        assert_eq!(failures(&db).len(), 1);
    }
}
