//! OpenID Connect relying-party pieces that need no network: issuer derivation per adapter,
//! discovery validation, PKCE, the authorization URL, and ID-token verification against a
//! JWKS (signature via `jwt-simple`'s pure-Rust RS256/ES256, then `iss`, `aud`, `exp`,
//! `nonce`). The fetching of discovery, the token and the JWKS is
//! [`crate::sso_flow`].

use std::collections::HashSet;

use jwt_simple::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{IdentityError, Result};
use crate::webauthn::b64url;

/// The adapters an SSO provider is configured through.
pub const ADAPTERS: &[&str] = &["generic", "authentik", "keycloak", "pocket-id", "authelia"];

/// The scopes requested.
pub const SCOPES: &str = "openid profile email";

fn trim_base(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

/// The issuer an adapter's settings name: authentik `{baseUrl}/application/o/{slug}/`,
/// keycloak `{baseUrl}/realms/{realm}`, pocket-id and authelia `{baseUrl}`, generic `issuer`.
pub fn adapter_issuer(
    adapter: &str,
    issuer: Option<&str>,
    base_url: Option<&str>,
    slug: Option<&str>,
    realm: Option<&str>,
) -> Result<String> {
    let need = |v: Option<&str>, field: &str| -> Result<String> {
        v.map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| IdentityError::invalid_field(field, format!("{adapter} needs {field}")))
    };
    let issuer = match adapter {
        "generic" => need(issuer, "issuer")?,
        "authentik" => format!(
            "{}/application/o/{}/",
            trim_base(&need(base_url, "baseUrl")?),
            need(slug, "slug")?
        ),
        "keycloak" => format!(
            "{}/realms/{}",
            trim_base(&need(base_url, "baseUrl")?),
            need(realm, "realm")?
        ),
        "pocket-id" | "authelia" => trim_base(&need(base_url, "baseUrl")?),
        other => {
            return Err(IdentityError::invalid_field(
                "adapter",
                format!("unknown adapter {other:?} (one of {})", ADAPTERS.join(", ")),
            ))
        }
    };
    check_url(&issuer, "issuer")?;
    Ok(issuer)
}

/// 400 naming `field` unless `url` is an http(s) URL with a host that may be reached
/// (`dbackup_core::net::check_url`: no link-local or cloud-metadata address). Every URL of a
/// provider passes it: the issuer, explicit endpoints, and the endpoints discovery lists.
pub(crate) fn check_url(url: &str, field: &str) -> Result<()> {
    let parsed = url::Url::parse(url)
        .map_err(|_| IdentityError::invalid_field(field, format!("{field} is not a URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(IdentityError::invalid_field(
            field,
            format!("{field} must be an http(s) URL"),
        ));
    }
    dbackup_core::net::check_url(url)
        .map_err(|why| IdentityError::invalid_field(field, format!("{field} {why}")))
}

/// The discovery document URL of `issuer`.
pub fn discovery_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", trim_base(issuer))
}

/// The endpoints an SSO provider uses, from discovery (explicit generic endpoints win).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: String,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// Parses and validates a discovery document for `expected_issuer`: the issuer must match
/// (trailing slash aside), every endpoint must be an http(s) URL, and an https issuer must not
/// list http endpoints (a reverse proxy that forgot `X-Forwarded-Proto`).
pub fn validate_discovery(expected_issuer: &str, body: &[u8]) -> Result<Discovery> {
    let d: Discovery = serde_json::from_slice(body).map_err(|e| {
        IdentityError::invalid_field("issuer", format!("invalid discovery document: {e}"))
    })?;
    if trim_base(&d.issuer) != trim_base(expected_issuer) {
        return Err(IdentityError::invalid_field(
            "issuer",
            format!(
                "discovery names issuer {:?}, expected {:?}",
                d.issuer, expected_issuer
            ),
        ));
    }
    let https = expected_issuer.trim().starts_with("https://");
    let mut endpoints = vec![
        ("authorization_endpoint", d.authorization_endpoint.as_str()),
        ("token_endpoint", d.token_endpoint.as_str()),
        ("jwks_uri", d.jwks_uri.as_str()),
    ];
    if let Some(u) = &d.userinfo_endpoint {
        endpoints.push(("userinfo_endpoint", u));
    }
    for (name, url) in endpoints {
        check_url(url, name)?;
        if https && !url.starts_with("https://") {
            return Err(IdentityError::invalid_field(
                "issuer",
                format!("the https issuer lists an http {name} ({url}): check the proxy's X-Forwarded-Proto"),
            ));
        }
    }
    Ok(d)
}

/// A PKCE pair: the verifier (kept server-side) and its S256 challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The authorization request URL (code flow, PKCE S256, `state`, `nonce`).
pub fn authorization_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    code_verifier: &str,
) -> String {
    let challenge = pkce_challenge(code_verifier);
    let query = form_encode(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", SCOPES),
        ("state", state),
        ("nonce", nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{sep}{query}")
}

/// The token request body (authorization code with the PKCE verifier); `client_secret_post`
/// adds the credentials to the body instead of a Basic header.
pub fn token_request_body(
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
    post_credentials: Option<(&str, &str)>,
) -> String {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", code_verifier),
    ];
    if let Some((id, secret)) = post_credentials {
        pairs.push(("client_id", id));
        pairs.push(("client_secret", secret));
    }
    form_encode(&pairs)
}

/// `Authorization: Basic …` for `client_secret_basic` (RFC 6749 §2.3.1: form-encoded parts).
pub fn basic_auth(client_id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| form_encode(&[("", s)]).trim_start_matches('=').to_owned();
    let raw = format!("{}:{}", enc(client_id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Whether the provider wants `client_secret_post` (it does not offer `client_secret_basic`).
pub fn wants_post_auth(d: &Discovery) -> bool {
    d.token_endpoint_auth_methods_supported
        .as_ref()
        .is_some_and(|m| {
            !m.iter().any(|x| x == "client_secret_basic")
                && m.iter().any(|x| x == "client_secret_post")
        })
}

/// The query parameters of a URL's query string, decoded.
pub fn query_params(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The claims this app uses from a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ExtraClaims {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(rename = "use", default)]
    use_: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

/// Why an ID token was refused (short, for the audit log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed ID token")]
    Malformed,
    #[error("no JWKS key {0:?}")]
    UnknownKey(Option<String>),
    #[error("unsupported algorithm {0}")]
    Algorithm(String),
    #[error("ID token rejected: {0}")]
    Invalid(String),
    #[error("nonce mismatch")]
    Nonce,
}

/// The `kid` an ID token names, to know whether a JWKS holds its key.
pub fn token_key_id(token: &str) -> Option<String> {
    Token::decode_metadata(token)
        .ok()
        .and_then(|m| m.key_id().map(str::to_owned))
}

/// Whether `jwks` (JSON) holds a key with id `kid` (any key when the token names none).
pub fn jwks_has_key(jwks: &[u8], kid: Option<&str>) -> bool {
    serde_json::from_slice::<Jwks>(jwks).is_ok_and(|set| {
        set.keys
            .iter()
            .any(|k| kid.is_none() || k.kid.as_deref() == kid)
    })
}

/// Verifies an ID token: signature by the JWKS key its header names (RS256 or ES256), issuer,
/// audience (`client_id`), expiry (60 s leeway) and nonce.
pub fn verify_id_token(
    token: &str,
    jwks: &[u8],
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> std::result::Result<IdClaims, TokenError> {
    let meta = Token::decode_metadata(token).map_err(|_| TokenError::Malformed)?;
    let alg = meta.algorithm().to_owned();
    let kid = meta.key_id().map(str::to_owned);
    let set: Jwks =
        serde_json::from_slice(jwks).map_err(|_| TokenError::UnknownKey(kid.clone()))?;
    let key = set
        .keys
        .iter()
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg))
        .find(|k| kid.is_none() || k.kid == kid)
        .ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
    let mut issuers = HashSet::new();
    issuers.insert(issuer.to_owned());
    // Some providers write the issuer with a trailing slash, some without.
    issuers.insert(format!("{}/", trim_base(issuer)));
    issuers.insert(trim_base(issuer));
    let options = VerificationOptions {
        allowed_issuers: Some(issuers),
        allowed_audiences: Some(HashSet::from([client_id.to_owned()])),
        time_tolerance: Some(Duration::from_secs(60)),
        required_nonce: Some(nonce.to_owned()),
        ..Default::default()
    };
    let b64 = |s: &Option<String>| {
        s.as_deref()
            .and_then(|v| crate::webauthn::from_b64url(v, "jwk").ok())
            .ok_or(TokenError::UnknownKey(kid.clone()))
    };
    let invalid = |e: jwt_simple::Error| {
        let text = e.to_string();
        if text.to_lowercase().contains("nonce") {
            TokenError::Nonce
        } else {
            TokenError::Invalid(text)
        }
    };
    let claims = match (alg.as_str(), key.kty.as_str()) {
        ("RS256", "RSA") => RS256PublicKey::from_components(&b64(&key.n)?, &b64(&key.e)?)
            .map_err(|_| TokenError::UnknownKey(kid.clone()))?
            .verify_token::<ExtraClaims>(token, Some(options))
            .map_err(invalid)?,
        ("ES256", "EC") if key.crv.as_deref() == Some("P-256") => {
            let mut sec1 = vec![0x04];
            sec1.extend(b64(&key.x)?);
            sec1.extend(b64(&key.y)?);
            ES256PublicKey::from_bytes(&sec1)
                .map_err(|_| TokenError::UnknownKey(kid.clone()))?
                .verify_token::<ExtraClaims>(token, Some(options))
                .map_err(invalid)?
        }
        (other, _) => return Err(TokenError::Algorithm(other.to_owned())),
    };
    if claims.expires_at.is_none() {
        return Err(TokenError::Invalid("no exp".into()));
    }
    let sub = claims
        .subject
        .filter(|s| !s.is_empty())
        .ok_or(TokenError::Invalid("no sub".into()))?;
    let extra = claims.custom;
    let email_verified = email_verified(&extra.email_verified);
    Ok(IdClaims {
        sub,
        email: extra.email.map(|e| e.trim().to_lowercase()),
        email_verified,
        name: extra.name.or(extra.preferred_username),
    })
}

/// Fills the email and name of `claims` from a userinfo answer; refuses one for another `sub`.
pub fn merge_userinfo(claims: &mut IdClaims, body: &[u8]) -> std::result::Result<(), TokenError> {
    #[derive(Deserialize)]
    struct UserInfo {
        sub: String,
        #[serde(flatten)]
        extra: ExtraClaims,
    }
    let info: UserInfo = serde_json::from_slice(body)
        .map_err(|_| TokenError::Invalid("malformed userinfo".into()))?;
    if info.sub != claims.sub {
        return Err(TokenError::Invalid(
            "userinfo is for another subject".into(),
        ));
    }
    if claims.email.is_none() {
        claims.email = info.extra.email.map(|e| e.trim().to_lowercase());
        claims.email_verified = email_verified(&info.extra.email_verified);
    }
    if claims.name.is_none() {
        claims.name = info.extra.name.or(info.extra.preferred_username);
    }
    Ok(())
}

fn email_verified(v: &Option<serde_json::Value>) -> bool {
    match v {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s == "true",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapters_derive_issuers() {
        let issuer = |a, i, b, s, r| adapter_issuer(a, i, b, s, r).unwrap();
        assert_eq!(
            issuer(
                "authentik",
                None,
                Some("https://auth.example/"),
                Some("dbackup"),
                None
            ),
            "https://auth.example/application/o/dbackup/"
        );
        assert_eq!(
            issuer(
                "keycloak",
                None,
                Some("https://kc.example"),
                None,
                Some("main")
            ),
            "https://kc.example/realms/main"
        );
        assert_eq!(
            issuer("pocket-id", None, Some("https://id.example/"), None, None),
            "https://id.example"
        );
        assert_eq!(
            issuer(
                "authelia",
                None,
                Some("https://authelia.example"),
                None,
                None
            ),
            "https://authelia.example"
        );
        assert_eq!(
            issuer("generic", Some("http://127.0.0.1:9"), None, None, None),
            "http://127.0.0.1:9"
        );
        assert!(adapter_issuer("keycloak", None, Some("https://kc"), None, None).is_err());
        assert!(adapter_issuer("okta", Some("https://x"), None, None, None).is_err());
        assert!(adapter_issuer("generic", Some("ftp://x"), None, None, None).is_err());
    }

    #[test]
    fn metadata_and_link_local_urls_are_refused() {
        for issuer in [
            "http://169.254.169.254/latest",
            "http://[fe80::1]:8080",
            "http://metadata.google.internal",
            "http://100.100.100.200",
            "http://2852039166",
        ] {
            let err = adapter_issuer("generic", Some(issuer), None, None, None).unwrap_err();
            assert_eq!(err.status(), 400, "{issuer}");
            assert!(err.to_string().contains("link-local"), "{issuer}: {err}");
        }
        let err = adapter_issuer(
            "keycloak",
            None,
            Some("http://169.254.1.1"),
            None,
            Some("r"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("issuer"), "{err}");
        // Loopback and private addresses stay allowed (self-hosted providers live there).
        assert!(adapter_issuer("generic", Some("http://10.0.0.5:8080"), None, None, None).is_ok());
        // An endpoint discovery lists is checked too.
        let body = serde_json::json!({
            "issuer": "https://id.example",
            "authorization_endpoint": "https://id.example/auth",
            "token_endpoint": "https://169.254.169.254/token",
            "jwks_uri": "https://id.example/jwks",
        })
        .to_string();
        let err = validate_discovery("https://id.example", body.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("token_endpoint"), "{err}");
    }

    fn doc(issuer: &str, scheme: &str) -> Vec<u8> {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{scheme}://id.example/auth"),
            "token_endpoint": format!("{scheme}://id.example/token"),
            "jwks_uri": format!("{scheme}://id.example/jwks"),
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn discovery_is_validated() {
        let d =
            validate_discovery("https://id.example/", &doc("https://id.example", "https")).unwrap();
        assert_eq!(d.token_endpoint, "https://id.example/token");
        // An https issuer listing http endpoints: a proxy misconfiguration.
        let err = validate_discovery("https://id.example", &doc("https://id.example", "http"))
            .unwrap_err();
        assert!(err.to_string().contains("X-Forwarded-Proto"), "{err}");
        assert!(validate_discovery("http://id.example", &doc("http://id.example", "http")).is_ok());
        assert!(validate_discovery("https://id.example", &doc("https://other", "https")).is_err());
        assert!(validate_discovery("https://id.example", b"<html>").is_err());
    }

    #[test]
    fn pkce_and_urls() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let url = authorization_url("http://i/auth", "app", "http://a/cb?x=1", "st", "no", "v");
        let params = query_params(url.split_once('?').unwrap().1);
        assert!(params.contains(&("redirect_uri".into(), "http://a/cb?x=1".into())));
        assert!(params.contains(&("code_challenge_method".into(), "S256".into())));
        assert_eq!(
            basic_auth("a b", "s:c"),
            format!("Basic {}", {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode("a+b:s%3Ac")
            })
        );
    }

    #[test]
    fn garbage_tokens_are_refused() {
        let jwks = br#"{"keys":[]}"#;
        assert_eq!(
            verify_id_token("x.y", jwks, "i", "c", "n"),
            Err(TokenError::Malformed)
        );
        assert!(!jwks_has_key(b"nope", None));
    }
}
