//! The request gate of every HTTP component (all but `static`, and the worker's signed event
//! callback in `executions`). Every API request passes it before its handler, in this order:
//!
//! 1. the route table (`dbackup_routes`): an unknown path is a JSON 404, a known path
//!    with another method a 405 with `Allow`; rules of other components count as unknown;
//! 2. the database, migrated (503 until then);
//! 3. the caller, from `Authorization: Bearer` or the session cookie (`resolve_principal`);
//! 4. the one access decision (`authorize::authorize`): 401 without valid credentials, 403
//!    without the route's permission, before anything reads the body;
//! 5. the CSRF rule for cookie-authenticated state-changing requests (403).
//!
//! Handlers get a [`Ctx`]. When the session's sliding expiry was extended, every answer of the
//! request — refusals included — carries the re-signed cookie, unless the handler set a cookie
//! of its own (login, logout).

use std::time::SystemTime;

use dbackup_core::ApiError;
use dbackup_identity::audit::{self, AuditEvent};
use dbackup_identity::authorize::{self, Principal};
use dbackup_identity::cookie;
use dbackup_identity::csrf::{self, CsrfInput};
use dbackup_identity::lockout;
use dbackup_identity::login::ClientInfo;
use dbackup_identity::secretbox::SecretBox;
use dbackup_identity::sessions::IssuedSession;
use dbackup_identity::Timestamp;
use dbackup_routes::{self as routes, RouteRule};
use serde::de::DeserializeOwned;
use serde_json::Value;
use spin_sdk::http::{Request, Response};
use spin_sdk::variables;

use crate::SpinDb;

/// What a handler knows about an admitted request.
pub struct Ctx {
    pub db: SpinDb,
    /// `None` only on public routes.
    pub principal: Option<Principal>,
    /// The matched rule; handlers dispatch on its `(method, pattern)`.
    pub rule: &'static RouteRule,
    /// Path parameters (`{id}`), in pattern order.
    pub params: Vec<(&'static str, String)>,
    /// The request's time, read once.
    pub now: Timestamp,
    /// The client's address without port (`spin-client-addr`).
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The app's public origin (variable `public_url`, else `app_url`; never the `Host`
    /// header): decides the cookies' `Secure` flag, the CSRF origin and SSO redirect URIs.
    /// `None` when neither is configured as an http(s) URL.
    pub public_origin: Option<String>,
    /// The raw `Cookie` header (the SSO state cookie is read from it).
    pub cookie_header: String,
    /// The raw query string (without `?`).
    pub query: String,
    /// The `session_secret` variable (signs session cookies and 2FA challenges).
    pub session_secret: String,
    /// `Set-Cookie` for a session whose expiry the gate extended.
    pub refreshed_cookie: Option<String>,
    body: Vec<u8>,
}

impl Ctx {
    /// Path parameter `name` (a 500 if the pattern has none: a dispatch bug).
    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::internal(format!("{} has no {{{name}}}", self.rule.pattern)))
    }

    /// The authenticated caller; 401 if there is none (the gate already refused anonymous
    /// callers on every non-public route, so this is a second lock, not the decision).
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal
            .as_ref()
            .ok_or_else(|| ApiError::from(dbackup_identity::IdentityError::Unauthenticated))
    }

    /// The body as JSON (an empty body reads as `{}`); 400 if it is not valid JSON.
    pub fn body_value(&self) -> Result<Value, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }

    /// The raw request body (uploads).
    pub fn raw_body(&self) -> &[u8] {
        &self.body
    }

    /// The body as `T`; 400 naming what is wrong (missing field, wrong type).
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        Self::parse(self.body_value()?)
    }

    /// A JSON value (from [`Ctx::body_value`]) as `T`; 400 naming what is wrong.
    pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
        serde_json::from_value(value)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
    }

    /// Where the request came from, for lockout counters and audit rows.
    pub fn client(&self) -> ClientInfo<'_> {
        ClientInfo {
            ip: self.client_ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }

    /// Records an audit row for the caller (details pass through `audit::redact`).
    pub fn audit(
        &self,
        action: &str,
        resource: &str,
        resource_id: Option<&str>,
        details: Value,
    ) -> Result<(), ApiError> {
        let event = AuditEvent {
            user_id: self.principal.as_ref().map(Principal::user_id),
            action,
            resource,
            resource_id,
            details: Some(details),
            ip_address: self.client_ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
        };
        audit::write(&self.db, &event, self.now)?;
        Ok(())
    }

    /// The box that encrypts TOTP secrets, from the `encryption_key` variable.
    pub fn secret_box(&self) -> Result<SecretBox, ApiError> {
        crate::secret_box()
    }

    /// Whether cookies set by this app are `Secure` (see [`cookie::secure_for`]).
    pub fn secure_cookies(&self) -> bool {
        cookie::secure_for(self.public_origin.as_deref().unwrap_or_default())
    }

    /// `Set-Cookie` carrying a new session.
    pub fn session_cookie(&self, issued: &IssuedSession) -> String {
        cookie::set_session(&issued.jwt, issued.max_age_secs, self.secure_cookies())
    }

    /// `Set-Cookie` deleting the session cookie.
    pub fn clear_cookie(&self) -> String {
        cookie::clear_session(self.secure_cookies())
    }

    /// The error for a rule this component lists but does not dispatch (a 500: the route table
    /// and the component disagree).
    pub fn unhandled(&self) -> ApiError {
        ApiError::internal(format!(
            "{} {} is in the route table but has no handler",
            self.rule.method, self.rule.pattern
        ))
    }

    /// Renders the handler's outcome, with the refreshed cookie if any.
    pub fn finish(&self, result: Result<Response, ApiError>) -> Response {
        with_cookie(crate::respond(result), self.refreshed_cookie.as_deref())
    }
}

/// Adds `Set-Cookie: cookie` unless the response sets a cookie already.
fn with_cookie(mut resp: Response, cookie: Option<&str>) -> Response {
    if let Some(c) = cookie {
        if resp.header("set-cookie").is_none() {
            resp.set_header("set-cookie", c);
        }
    }
    resp
}

fn variable(name: &str) -> Result<String, ApiError> {
    variables::get(name).map_err(|e| ApiError::internal(format!("variable {name}: {e:?}")))
}

/// The app's public origin from the `public_url` and `app_url` variables (unset or undeclared
/// read as empty).
fn public_origin() -> Option<String> {
    let get = |name: &str| variables::get(name).unwrap_or_default();
    csrf::public_origin(&get("public_url"), &get("app_url"))
}

/// 404 for an unknown path; 405 with `Allow` when `component` serves the path with other methods.
fn unknown_route(component: &str, path: &str) -> Response {
    let allowed: Vec<&str> = routes::allowed_methods(path)
        .into_iter()
        .filter(|m| routes::find(m, path).is_some_and(|r| r.rule.component == component))
        .collect();
    if allowed.is_empty() {
        return crate::error(&ApiError::not_found());
    }
    let mut resp = crate::error(&ApiError::method_not_allowed());
    resp.set_header("allow", allowed.join(", "));
    resp
}

/// Runs the gate for `component`; the refusal is the finished response.
pub fn gate(req: Request, component: &str) -> Result<Ctx, Response> {
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let Some(route) = routes::find(&method, &path).filter(|m| m.rule.component == component) else {
        return Err(unknown_route(component, &path));
    };
    let header = |name: &str| {
        req.header(name)
            .and_then(|h| h.as_str())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let cookie_header = header("cookie").unwrap_or_default();
    let cookie_jwt = cookie::read_session(&cookie_header).map(str::to_owned);
    let bearer =
        header("authorization").and_then(|a| authorize::bearer_token(&a).map(str::to_owned));
    let (origin, x_requested_with) = (header("origin"), header("x-requested-with"));
    let client_ip = header("spin-client-addr").and_then(|a| lockout::client_ip(&a));
    let user_agent = header("user-agent");
    let query = req.query().to_owned();
    let body = req.into_body();

    let now = Timestamp::from_system_time(SystemTime::now());
    let refuse = |e: ApiError| crate::error(&e);
    let db = SpinDb::open_migrated().map_err(refuse)?;
    let session_secret = variable("session_secret").map_err(refuse)?;
    let resolved = authorize::resolve_principal(
        &db,
        cookie_jwt.as_deref(),
        bearer.as_deref(),
        &session_secret,
        now,
    )
    .map_err(|e| refuse(e.into()))?;
    let public_origin = public_origin();
    let secure = cookie::secure_for(public_origin.as_deref().unwrap_or_default());
    let refreshed_cookie = resolved
        .refreshed
        .as_ref()
        .map(|s| cookie::set_session(&s.jwt, s.max_age_secs, secure));
    let principal = resolved.principal;

    if let Err(e) = authorize::authorize(route.rule.access, principal.as_ref()) {
        // A cookie that no longer names a live session is deleted along with the 401.
        let stale = (principal.is_none() && bearer.is_none() && cookie_jwt.is_some())
            .then(|| cookie::clear_session(secure));
        let cookie = refreshed_cookie.or(stale);
        return Err(with_cookie(refuse(e.into()), cookie.as_deref()));
    }
    if let Some(p) = &principal {
        let input = CsrfInput {
            method: &method,
            cookie_authenticated: p.is_cookie(),
            origin: origin.as_deref(),
            x_requested_with: x_requested_with.as_deref(),
            public_origin: public_origin.as_deref(),
        };
        if let Err(e) = csrf::check(&input) {
            return Err(with_cookie(refuse(e.into()), refreshed_cookie.as_deref()));
        }
    }
    Ok(Ctx {
        db,
        principal,
        rule: route.rule,
        params: route.params,
        now,
        client_ip,
        user_agent,
        public_origin,
        cookie_header,
        query,
        session_secret,
        refreshed_cookie,
        body,
    })
}

/// Gate, handler, rendering: what a component's `handle` does with every request.
pub fn serve(
    req: Request,
    component: &str,
    handler: impl FnOnce(&Ctx) -> Result<Response, ApiError>,
) -> Response {
    match gate(req, component) {
        Ok(ctx) => {
            let result = handler(&ctx);
            ctx.finish(result)
        }
        Err(refusal) => refusal,
    }
}
