//! SSO (OpenID Connect): the admin API for providers (reading needs settings:write, writing
//! every permission: `sso::ensure_may_manage`), the public provider list, the login (`/start` →
//! provider → `/callback`) and the linking of a signed-in user's account (`POST
//! /api/profile/accounts/link` → provider → `/callback`). Network calls (discovery, token
//! exchange, JWKS) go out through Spin's outbound HTTP; verification is
//! `dbackup_identity::oidc` (jwt-simple, pure Rust), account linking `dbackup_identity::sso`.
//!
//! The redirect URI is built from the configured public origin (`public_url`, else `app_url`),
//! never from the request's `Host`. The `state` is bound to the browser that started the flow
//! by the `dbackup_sso_state` cookie (HttpOnly, SameSite=Lax, callback path only); the callback
//! refuses a state without it. Every login failure redirects to `/login?error=<code>` (a link
//! failure to `/profile?error=<code>`) and is audited; nothing else leaks.

use dbackup_core::ApiError;
use dbackup_identity::audit::action;
use dbackup_identity::cookie;
use dbackup_identity::oidc::{self, Discovery};
use dbackup_identity::sso::{self, ProviderInput, SsoFailure, SsoProvider, SsoSignIn};
use dbackup_web::gate::Ctx;
use serde_json::{json, Value};
use spin_sdk::http::{Method, Request, Response};

type Answer = Result<Response, ApiError>;

/// Where the app starts after a successful SSO login.
const APP_HOME: &str = "/";
/// Where a link started from the profile ends.
const PROFILE: &str = "/profile";

async fn fetch(
    method: Method,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    let mut builder = Request::builder();
    builder.method(method).uri(url);
    builder.header("accept", "application/json");
    // Some WAF-fronted providers refuse clients without a browser-like User-Agent.
    builder.header("user-agent", "Mozilla/5.0 (compatible; DBackup-SSO)");
    for (k, v) in headers {
        builder.header(*k, v.as_str());
    }
    let req = builder.body(body).build();
    let resp: Response = spin_sdk::http::send(req)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    Ok((*resp.status(), resp.into_body()))
}

fn get_json(url: &str) -> Result<Vec<u8>, String> {
    let (status, body) = spin_sdk::http::run(fetch(Method::Get, url, &[], Vec::new()))?;
    if status != 200 {
        return Err(format!("{url} answered {status}"));
    }
    Ok(body)
}

/// Fetches and validates discovery for a prepared provider (400 with the reason otherwise).
fn discover(issuer: &str) -> Result<Discovery, ApiError> {
    let url = oidc::discovery_url(issuer);
    let body = get_json(&url).map_err(|e| {
        ApiError::bad_request(format!("cannot fetch the discovery document: {e}"))
            .with_details(json!({ "field": "issuer" }))
    })?;
    Ok(oidc::validate_discovery(issuer, &body)?)
}

/// `GET /api/sso-providers`.
pub fn list(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&sso::list(&ctx.db)?)
}

/// `GET /api/sso-providers/{id}`.
pub fn get(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&sso::get(&ctx.db, ctx.param("id")?)?)
}

fn audit_change(ctx: &Ctx, act: &str, p: &SsoProvider) -> Result<(), ApiError> {
    ctx.audit(
        act,
        sso::AUDIT_RESOURCE,
        Some(&p.id),
        json!({ "providerId": p.provider_id, "name": p.name, "adapter": p.adapter,
                "enabled": p.enabled, "allowProvisioning": p.allow_provisioning,
                "trustEmailLinking": p.trust_email_linking }),
    )
}

/// `POST /api/sso-providers` → 201: discovery fetched and validated, the secret sealed. 403
/// unless the caller holds every permission.
pub fn create(ctx: &Ctx) -> Answer {
    sso::ensure_may_manage(ctx.principal()?)?;
    let input: ProviderInput = ctx.body()?;
    let prepared = sso::prepare(&input, None)?;
    let discovery = discover(&prepared.issuer)?;
    let p = sso::save(
        &ctx.db,
        &ctx.secret_box()?,
        None,
        &prepared,
        &discovery,
        ctx.now,
    )?;
    audit_change(ctx, action::CREATE, &p)?;
    dbackup_web::created(&p)
}

/// `PATCH /api/sso-providers/{id}`: absent fields stay; discovery is fetched again. 403 unless
/// the caller holds every permission.
pub fn update(ctx: &Ctx) -> Answer {
    sso::ensure_may_manage(ctx.principal()?)?;
    let input: ProviderInput = ctx.body()?;
    let existing = sso::get(&ctx.db, ctx.param("id")?)?;
    let prepared = sso::prepare(&input, Some(&existing))?;
    if sso::rename_needs_secret(&existing, &prepared) {
        return Err(
            ApiError::bad_request("changing providerId needs the clientSecret again")
                .with_details(json!({ "field": "clientSecret" })),
        );
    }
    let discovery = discover(&prepared.issuer)?;
    let p = sso::save(
        &ctx.db,
        &ctx.secret_box()?,
        Some(&existing.id),
        &prepared,
        &discovery,
        ctx.now,
    )?;
    audit_change(ctx, action::UPDATE, &p)?;
    dbackup_web::ok(&p)
}

/// `DELETE /api/sso-providers/{id}` → 204 (its linked accounts go too). 403 unless the caller
/// holds every permission.
pub fn delete(ctx: &Ctx) -> Answer {
    sso::ensure_may_manage(ctx.principal()?)?;
    let p = sso::delete(&ctx.db, ctx.param("id")?)?;
    audit_change(ctx, action::DELETE, &p)?;
    dbackup_web::no_content()
}

/// `GET /api/auth/sso/providers` → `[{id, name, adapter}]` of the enabled providers.
pub fn public_list(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&sso::public_list(&ctx.db)?)
}

fn redirect(location: &str) -> Response {
    Response::builder()
        .status(302)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Vec::new())
        .build()
}

/// The page a failed flow lands on with its error code (audited first): the login page, or the
/// profile for a link. With `spent` (the failure used up the state this browser's cookie
/// carries) the state cookie is deleted; a stray callback leaves a pending flow's cookie alone.
fn fail_at(
    ctx: &Ctx,
    page: &str,
    provider: Option<&str>,
    spent: bool,
    failure: SsoFailure,
) -> Answer {
    sso::audit_failure(&ctx.db, ctx.client(), provider, &failure, ctx.now)?;
    let mut resp = redirect(&format!("{page}?error={}", failure.code));
    if let Some(p) = provider.filter(|_| spent) {
        resp.set_header(
            "set-cookie",
            cookie::clear_sso_state(p, ctx.secure_cookies()),
        );
    }
    Ok(resp)
}

/// The login page with an error code (audited first).
fn fail(ctx: &Ctx, provider: Option<&str>, failure: SsoFailure) -> Answer {
    fail_at(ctx, "/login", provider, false, failure)
}

/// The callback URL registered at the provider: `{public origin}/api/auth/sso/{id}/callback`.
fn redirect_uri(ctx: &Ctx, p: &SsoProvider) -> Result<String, ApiError> {
    let origin = ctx.public_origin.as_deref().ok_or_else(|| {
        ApiError::internal(
            "SSO needs the app's public URL: set the public_url (or app_url) variable",
        )
    })?;
    Ok(format!("{origin}/api/auth/sso/{}/callback", p.provider_id))
}

/// Starts a flow: stores the state and binds it to this browser with the state cookie.
fn started(
    ctx: &Ctx,
    p: &SsoProvider,
    link_user: Option<&str>,
) -> Result<(sso::Started, String), ApiError> {
    let started = sso::start(&ctx.db, p, &redirect_uri(ctx, p)?, link_user, ctx.now)?;
    let cookie = cookie::set_sso_state(
        &started.state,
        &p.provider_id,
        sso::STATE_TTL_SECS,
        ctx.secure_cookies(),
    );
    Ok((started, cookie))
}

fn enabled_provider(ctx: &Ctx) -> Result<Result<SsoProvider, SsoFailure>, ApiError> {
    let slug = ctx.param("id")?;
    Ok(match sso::find(&ctx.db, slug)? {
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

/// `GET /api/auth/sso/{id}/start` → 302 to the provider's authorization endpoint, with the
/// state cookie.
pub fn start(ctx: &Ctx) -> Answer {
    let p = match enabled_provider(ctx)? {
        Ok(p) => p,
        Err(f) => return fail(ctx, Some(ctx.param("id")?), f),
    };
    let (started, state_cookie) = started(ctx, &p, None)?;
    let mut resp = redirect(&started.url);
    resp.set_header("set-cookie", state_cookie);
    Ok(resp)
}

/// `POST /api/profile/accounts/link` `{providerId}` → `{url}` and the state cookie: the signed-in
/// caller links an identity of that provider to their own account by sending the browser to
/// `url`; the callback links it only in a session of the same user. A state-changing request
/// (so the CSRF rule applies): a page cannot start it for a visitor.
pub fn link(ctx: &Ctx) -> Answer {
    let user_id = ctx.principal()?.user_id().to_owned();
    let req: sso::LinkRequest = ctx.body()?;
    let p = match sso::find(&ctx.db, req.provider_id.trim())? {
        Some(p) if p.enabled => p,
        _ => {
            return Err(
                ApiError::bad_request("no enabled SSO provider with this providerId")
                    .with_details(json!({ "field": "providerId" })),
            )
        }
    };
    let (started, state_cookie) = started(ctx, &p, Some(&user_id))?;
    let mut resp = dbackup_web::ok(&sso::LinkStart { url: started.url })?;
    resp.set_header("set-cookie", state_cookie);
    Ok(resp)
}

fn exchange(
    ctx: &Ctx,
    p: &SsoProvider,
    code: &str,
    state: &sso::LoginState,
) -> Result<Result<(String, Option<String>), SsoFailure>, ApiError> {
    let token_url = p.token_endpoint.clone().unwrap_or_default();
    let client_id = p.client_id.clone().unwrap_or_default();
    let secret = sso::client_secret(&ctx.db, &ctx.secret_box()?, p)?;
    // Discovery is fetched again for the auth method only when the provider lacks basic.
    let post = p
        .issuer
        .as_deref()
        .and_then(|i| get_json(&oidc::discovery_url(i)).ok())
        .and_then(|b| serde_json::from_slice::<Discovery>(&b).ok())
        .is_some_and(|d| oidc::wants_post_auth(&d));
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
    let answer = spin_sdk::http::run(fetch(Method::Post, &token_url, &headers, body.into_bytes()));
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

/// `GET /api/auth/sso/{id}/callback?code&state` → session cookie and 302 to the app, or 302 to
/// `/login?error=…`.
pub fn callback(ctx: &Ctx) -> Answer {
    let slug = ctx.param("id")?.to_owned();
    let params = oidc::query_params(&ctx.query);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let p = match enabled_provider(ctx)? {
        Ok(p) => p,
        Err(f) => return fail(ctx, Some(&slug), f),
    };
    // The state is consumed first, whatever else is wrong: it works once. It must come with
    // the cookie of the browser that started the flow (login CSRF otherwise).
    let state_param = param("state");
    let state = match &state_param {
        Some(s) => sso::take_state(&ctx.db, s, ctx.now)?,
        None => None,
    };
    let Some(state) = state.filter(|s| s.provider == p.id) else {
        return fail(
            ctx,
            Some(&slug),
            SsoFailure::new("sso_state", "unknown, used or expired state"),
        );
    };
    let bound = state_param
        .as_deref()
        .is_some_and(|s| sso::state_cookie_matches(s, &ctx.cookie_header));
    let page = if state.link_user.is_some() {
        PROFILE
    } else {
        "/login"
    };
    if !bound {
        let failure = SsoFailure::new(
            "sso_state",
            "the state cookie is missing or does not match: the sign-in was started in another \
             browser",
        );
        return fail_at(ctx, page, Some(&slug), false, failure);
    }
    // From here on a failure spends the state this browser's cookie carries.
    let fail = |failure: SsoFailure| fail_at(ctx, page, Some(&slug), true, failure);
    if let Some(link_user) = &state.link_user {
        let same_user = ctx.principal.as_ref().map(|p| p.user_id()) == Some(link_user.as_str());
        if !same_user {
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
    let (id_token, access_token) = match exchange(ctx, &p, &code, &state)? {
        Ok(t) => t,
        Err(f) => return fail(f),
    };
    let jwks_url = p.jwks_endpoint.clone().unwrap_or_default();
    let jwks = match get_json(&jwks_url) {
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
            let headers = [("authorization", format!("Bearer {token}"))];
            if let Ok((200, body)) =
                spin_sdk::http::run(fetch(Method::Get, url, &headers, Vec::new()))
            {
                if let Err(e) = oidc::merge_userinfo(&mut claims, &body) {
                    return fail(SsoFailure::new("sso_invalid_token", e.to_string()));
                }
            }
        }
    }
    if let Some(user_id) = &state.link_user {
        return match sso::link_to_user(&ctx.db, &p, &claims, user_id, ctx.client(), ctx.now)? {
            Ok(()) => {
                let mut resp = redirect(&format!("{PROFILE}?linked={slug}"));
                resp.set_header(
                    "set-cookie",
                    cookie::clear_sso_state(&slug, ctx.secure_cookies()),
                );
                Ok(resp)
            }
            Err(f) => fail(f),
        };
    }
    match sso::sign_in(
        &ctx.db,
        &p,
        &claims,
        ctx.client(),
        &ctx.session_secret,
        ctx.now,
    )? {
        Ok(SsoSignIn::SignedIn(l)) => {
            // One Set-Cookie per answer: the session's. The state cookie expires on its own;
            // its state is spent.
            let mut resp = redirect(APP_HOME);
            resp.set_header("set-cookie", ctx.session_cookie(&l.session));
            Ok(resp)
        }
        // The login page continues with the second factor; the challenge travels in the
        // fragment, which is neither sent to servers nor in a Referer.
        Ok(SsoSignIn::SecondFactorRequired { challenge, methods }) => {
            let mut resp = redirect(&format!(
                "/login#twoFactorChallenge={challenge}&methods={}",
                methods.join(",")
            ));
            resp.set_header(
                "set-cookie",
                cookie::clear_sso_state(&slug, ctx.secure_cookies()),
            );
            Ok(resp)
        }
        Err(f) => fail(f),
    }
}

/// `GET /api/profile/accounts` → the caller's SSO links and other sign-in methods.
pub fn accounts(ctx: &Ctx) -> Answer {
    let user_id = ctx.principal()?.user_id();
    dbackup_web::ok(&sso::linked_accounts(&ctx.db, user_id)?)
}

/// `DELETE /api/profile/accounts/{id}` → 204; 409 for the last way to sign in.
pub fn unlink(ctx: &Ctx) -> Answer {
    let user_id = ctx.principal()?.user_id();
    let id = ctx.param("id")?;
    let provider = sso::unlink(&ctx.db, user_id, id)?;
    ctx.audit(
        action::DELETE,
        sso::AUDIT_RESOURCE,
        Some(id),
        json!({ "event": "unlinked", "provider": provider }),
    )?;
    dbackup_web::no_content()
}
