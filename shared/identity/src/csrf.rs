//! Cross-site request forgery guard for cookie-authenticated requests.
//!
//! A state-changing request (POST, PUT, PATCH, DELETE) authenticated by the session cookie is
//! allowed only if its `Origin` is the app's configured public origin ([`public_origin`]: never
//! derived from the request's `Host`), or it carries `X-Requested-With`
//! (a custom header a cross-site page cannot send without a CORS preflight, which the API never
//! grants). Requests authenticated by `Authorization: Bearer` cannot be forged by a browser and
//! are exempt; so are unauthenticated requests (nothing to abuse).

use crate::error::{IdentityError, Result};

/// Whether `method` changes state (everything except GET, HEAD, OPTIONS counts).
pub fn is_state_changing(method: &str) -> bool {
    !["GET", "HEAD", "OPTIONS"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// `scheme://host[:port]` of a URL, lowercased, default port (80/443) dropped. `None` if it is
/// not an absolute http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    // Credentials in the authority never belong to an origin.
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

/// The app's public origin (`scheme://host[:port]`, as [`origin_of`]): the configured
/// `public_url` if set, else `app_url`. Redirect URIs, the CSRF origin and the cookies' `Secure`
/// flag are built from it, never from request headers (a `Host` or `X-Forwarded-*` header is
/// whatever the client or a proxy sent). `None` when neither is an http(s) URL.
pub fn public_origin(public_url: &str, app_url: &str) -> Option<String> {
    let configured = if public_url.trim().is_empty() {
        app_url
    } else {
        public_url
    };
    origin_of(configured.trim())
}

/// The request's facts the check needs.
#[derive(Debug, Clone, Copy)]
pub struct CsrfInput<'a> {
    pub method: &'a str,
    /// The principal was resolved from the session cookie (not from a bearer API key).
    pub cookie_authenticated: bool,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `X-Requested-With` header.
    pub x_requested_with: Option<&'a str>,
    /// The app's public origin ([`public_origin`]); `None`: only `X-Requested-With` passes.
    pub public_origin: Option<&'a str>,
}

/// `Ok` if the request may proceed, else 403.
pub fn check(input: &CsrfInput<'_>) -> Result<()> {
    if !input.cookie_authenticated || !is_state_changing(input.method) {
        return Ok(());
    }
    if input.x_requested_with.is_some_and(|v| !v.trim().is_empty()) {
        return Ok(());
    }
    let own = input.public_origin.and_then(origin_of);
    let sent = input.origin.and_then(origin_of);
    match (own, sent) {
        (Some(own), Some(sent)) if own == sent => Ok(()),
        _ => Err(IdentityError::Forbidden(
            "cross-site request refused: send a same-origin Origin or X-Requested-With header"
                .to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://backup.example.com";

    fn input<'a>(
        method: &'a str,
        cookie: bool,
        origin: Option<&'a str>,
        xrw: Option<&'a str>,
    ) -> CsrfInput<'a> {
        CsrfInput {
            method,
            cookie_authenticated: cookie,
            origin,
            x_requested_with: xrw,
            public_origin: Some(ORIGIN),
        }
    }

    #[test]
    fn cookie_state_changes_need_same_origin_or_xrw() {
        for m in ["POST", "PUT", "PATCH", "DELETE", "post"] {
            assert!(check(&input(m, true, None, None)).is_err(), "{m}");
            assert!(check(&input(m, true, Some("https://evil.example"), None)).is_err());
            assert!(check(&input(m, true, Some("null"), None)).is_err());
            assert!(check(&input(m, true, Some("http://backup.example.com"), None)).is_err());
            assert!(check(&input(m, true, Some("https://backup.example.com"), None)).is_ok());
            assert!(check(&input(
                m,
                true,
                Some("https://BACKUP.example.com:443"),
                None
            ))
            .is_ok());
            assert!(check(&input(m, true, None, Some("XMLHttpRequest"))).is_ok());
            assert!(check(&input(m, true, None, Some(" "))).is_err());
            let e = check(&input(m, true, None, None)).unwrap_err();
            assert_eq!(e.status(), 403);
        }
    }

    #[test]
    fn reads_bearer_and_anonymous_requests_pass() {
        for m in ["GET", "HEAD", "OPTIONS"] {
            assert!(check(&input(m, true, Some("https://evil.example"), None)).is_ok());
        }
        assert!(check(&input("POST", false, Some("https://evil.example"), None)).is_ok());
    }

    #[test]
    fn the_public_origin_is_configured_not_requested() {
        assert_eq!(
            public_origin("https://Backup.example.com/", "http://127.0.0.1:3000").as_deref(),
            Some("https://backup.example.com")
        );
        assert_eq!(
            public_origin(" ", "http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(public_origin("", ""), None);
        assert_eq!(public_origin("backup.example.com", ""), None);
        // Without a configured origin only X-Requested-With passes.
        let mut i = input("POST", true, Some("https://backup.example.com"), None);
        i.public_origin = None;
        assert!(check(&i).is_err());
        i.x_requested_with = Some("fetch");
        assert!(check(&i).is_ok());
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            origin_of("HTTP://Host:80/x?y").as_deref(),
            Some("http://host")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:3000/api").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(
            origin_of("https://[::1]:8443").as_deref(),
            Some("https://[::1]:8443")
        );
        assert_eq!(origin_of("https://user@host/"), None);
        assert_eq!(origin_of("ftp://host"), None);
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("https://"), None);
    }
}
