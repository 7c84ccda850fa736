//! Signed tokens: the session JWT (cookie), the short-lived login challenge for the second
//! factor, and API keys.
//!
//! JWTs are HS256 (jwt-simple) keyed by the deployment's `session_secret`. A session JWT only
//! names a `Session` row (`sid`) and its user (`sub`); the row is what makes it valid
//! (revocation, expiry), see `authorize::resolve_principal`. The two JWT kinds carry different
//! audiences, so one can never stand in for the other.

use std::collections::HashSet;

use jwt_simple::prelude::{
    Audiences, Duration, HS256Key, JWTClaims, MACLike, UnixTimeStamp, VerificationOptions,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{IdentityError, Result};
use crate::sql::random_hex;
use crate::time::Timestamp;

/// Shortest accepted `session_secret`, in bytes (HS256 wants a key of at least 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;
/// Audience of session JWTs.
pub const SESSION_AUDIENCE: &str = "dbackup-session";
/// Audience of login challenges.
pub const CHALLENGE_AUDIENCE: &str = "dbackup-2fa";
/// How long a login challenge (password accepted, second factor pending) stays valid.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// Longest token accepted for verification (a session JWT is ~300 bytes).
const MAX_TOKEN_LEN: usize = 4096;

fn key(secret: &str) -> Result<HS256Key> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(IdentityError::Config(format!(
            "session_secret must be at least {MIN_SECRET_BYTES} bytes"
        )));
    }
    Ok(HS256Key::from_bytes(secret.as_bytes()))
}

fn unix(t: Timestamp) -> UnixTimeStamp {
    Duration::from_secs(u64::try_from(t.secs()).unwrap_or(0))
}

fn claims<C: Serialize>(
    custom: C,
    subject: &str,
    audience: &str,
    now: Timestamp,
    exp: Timestamp,
) -> JWTClaims<C> {
    // Built field by field: jwt-simple's constructors read their own clock, and `now` must win
    // (inside wasm that clock would also be one more import).
    JWTClaims {
        issued_at: Some(unix(now)),
        expires_at: Some(unix(exp)),
        invalid_before: Some(unix(now)),
        issuer: None,
        subject: Some(subject.to_owned()),
        audiences: Some(Audiences::AsString(audience.to_owned())),
        jwt_id: None,
        nonce: None,
        custom,
    }
}

fn options(audience: &str, now: Timestamp) -> VerificationOptions {
    VerificationOptions {
        allowed_audiences: Some(HashSet::from([audience.to_owned()])),
        // Exact expiry: the default tolerance would accept tokens up to 15 minutes late.
        time_tolerance: Some(Duration::from_secs(0)),
        artificial_time: Some(unix(now)),
        max_token_length: Some(MAX_TOKEN_LEN),
        ..VerificationOptions::default()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct SessionClaims {
    sid: String,
}

/// What a valid session JWT says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionToken {
    /// `Session.id`.
    pub session_id: String,
    /// `User.id`.
    pub user_id: String,
    /// The token's own expiry (the `Session` row's may be earlier after a revocation).
    pub expires_at: Timestamp,
}

/// Signs a session JWT for `Session` row `session_id` of `user_id`, valid until `expires_at`.
pub fn issue_session(
    secret: &str,
    session_id: &str,
    user_id: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<String> {
    let custom = SessionClaims {
        sid: session_id.to_owned(),
    };
    key(secret)?
        .authenticate(claims(custom, user_id, SESSION_AUDIENCE, now, expires_at))
        .map_err(|e| IdentityError::Internal(format!("signing session token: {e}")))
}

/// Verifies a session JWT's signature, audience and expiry at `now`. Any failure is
/// [`IdentityError::Unauthenticated`]; only a bad `session_secret` is a [`IdentityError::Config`].
pub fn verify_session(secret: &str, token: &str, now: Timestamp) -> Result<SessionToken> {
    let claims = key(secret)?
        .verify_token::<SessionClaims>(token, Some(options(SESSION_AUDIENCE, now)))
        .map_err(|_| IdentityError::Unauthenticated)?;
    match (claims.subject, claims.expires_at) {
        (Some(user_id), Some(exp)) if !claims.custom.sid.is_empty() && !user_id.is_empty() => {
            Ok(SessionToken {
                session_id: claims.custom.sid,
                user_id,
                expires_at: Timestamp::from_secs(i64::try_from(exp.as_secs()).unwrap_or(0)),
            })
        }
        _ => Err(IdentityError::Unauthenticated),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ChallengeClaims {
    /// Always `"2fa"` (the audience already separates it from sessions).
    purpose: String,
}

/// Signs a login challenge for `user_id`: proof that the password was right, valid
/// [`CHALLENGE_TTL_SECS`] for the second factor.
pub fn issue_challenge(secret: &str, user_id: &str, now: Timestamp) -> Result<String> {
    let custom = ChallengeClaims {
        purpose: "2fa".to_owned(),
    };
    let exp = now.plus_secs(CHALLENGE_TTL_SECS);
    // A random `jti`, so two challenges for the same user differ.
    let claims = claims(custom, user_id, CHALLENGE_AUDIENCE, now, exp).with_jwt_id(random_hex(12)?);
    key(secret)?
        .authenticate(claims)
        .map_err(|e| IdentityError::Internal(format!("signing challenge: {e}")))
}

/// Verifies a login challenge and returns its user id; any failure is
/// [`IdentityError::InvalidSecondFactor`].
pub fn verify_challenge(secret: &str, token: &str, now: Timestamp) -> Result<String> {
    let claims = key(secret)?
        .verify_token::<ChallengeClaims>(token, Some(options(CHALLENGE_AUDIENCE, now)))
        .map_err(|_| IdentityError::InvalidSecondFactor)?;
    if claims.custom.purpose != "2fa" {
        return Err(IdentityError::InvalidSecondFactor);
    }
    claims
        .subject
        .filter(|s| !s.is_empty())
        .ok_or(IdentityError::InvalidSecondFactor)
}

// ---------------------------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------------------------

/// Every API key starts with this.
pub const API_KEY_PREFIX: &str = "dbk_";
/// Hex characters of the lookup prefix.
const PREFIX_HEX: usize = 8;
/// Hex characters of the secret part (256 bits).
const SECRET_HEX: usize = 64;

/// A freshly generated API key. `token` is shown to its creator once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// `dbk_<prefix>_<secret>`.
    pub token: String,
    /// The 8-hex-character lookup prefix (`ApiKey.prefix`).
    pub prefix: String,
    /// SHA-256 of `token`, hex (`ApiKey.keyHash`).
    pub hash: String,
}

/// Generates a key `dbk_<8 hex>_<64 hex>` from the CSPRNG.
pub fn generate_api_key() -> Result<NewApiKey> {
    let prefix = random_hex(PREFIX_HEX / 2)?;
    let secret = random_hex(SECRET_HEX / 2)?;
    let token = format!("{API_KEY_PREFIX}{prefix}_{secret}");
    let hash = hash_api_key(&token);
    Ok(NewApiKey {
        token,
        prefix,
        hash,
    })
}

/// The lookup prefix of a well-formed API key, or `None` if `token` is not one.
pub fn api_key_prefix(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(API_KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    let is_hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (prefix.len() == PREFIX_HEX && secret.len() == SECRET_HEX && is_hex(prefix) && is_hex(secret))
        .then_some(prefix)
}

/// SHA-256 of the whole key, hex. Keys carry 256 random bits, so a fast hash is enough.
pub fn hash_api_key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` hashes to `stored_hash`, compared in constant time.
pub fn verify_api_key(token: &str, stored_hash: &str) -> bool {
    let Ok(stored) = hex::decode(stored_hash) else {
        return false;
    };
    let actual = Sha256::digest(token.as_bytes());
    stored.len() == actual.len() && bool::from(actual.as_slice().ct_eq(&stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-test";
    const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

    #[test]
    fn session_tokens_round_trip_until_expiry() {
        let exp = NOW.plus_secs(3600);
        let jwt = issue_session(SECRET, "s1", "u1", NOW, exp).unwrap();
        let t = verify_session(SECRET, &jwt, NOW).unwrap();
        assert_eq!(
            t,
            SessionToken {
                session_id: "s1".into(),
                user_id: "u1".into(),
                expires_at: exp
            }
        );
        assert!(verify_session(SECRET, &jwt, exp).is_ok());
        assert_eq!(
            verify_session(SECRET, &jwt, exp.plus_secs(1)),
            Err(IdentityError::Unauthenticated)
        );
        // Not yet valid before it was issued.
        assert!(verify_session(SECRET, &jwt, NOW.plus_secs(-60)).is_err());
    }

    #[test]
    fn bad_signatures_and_garbage_are_rejected() {
        let jwt = issue_session(SECRET, "s1", "u1", NOW, NOW.plus_secs(60)).unwrap();
        let other = "another-secret-that-is-long-enough-32";
        assert_eq!(
            verify_session(other, &jwt, NOW),
            Err(IdentityError::Unauthenticated)
        );
        // Flip one character of the signature.
        let mut tampered = jwt.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(verify_session(SECRET, &tampered, NOW).is_err());
        // Swap the payload for one naming another session.
        let forged = issue_session(other, "s2", "u2", NOW, NOW.plus_secs(60)).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        let forged_parts: Vec<&str> = forged.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], forged_parts[1], parts[2]);
        assert!(verify_session(SECRET, &spliced, NOW).is_err());
        for garbage in ["", "abc", "a.b.c", &"x".repeat(5000)] {
            assert!(verify_session(SECRET, garbage, NOW).is_err());
        }
        // alg=none is not accepted.
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
        assert!(verify_session(SECRET, &none, NOW).is_err());
    }

    #[test]
    fn short_secrets_are_a_configuration_error() {
        assert!(matches!(
            issue_session("short", "s", "u", NOW, NOW.plus_secs(1)),
            Err(IdentityError::Config(_))
        ));
        assert!(matches!(
            verify_session("", "x", NOW),
            Err(IdentityError::Config(_))
        ));
    }

    #[test]
    fn challenges_and_sessions_are_not_interchangeable() {
        let challenge = issue_challenge(SECRET, "u1", NOW).unwrap();
        assert_eq!(verify_challenge(SECRET, &challenge, NOW).unwrap(), "u1");
        assert_eq!(
            verify_session(SECRET, &challenge, NOW),
            Err(IdentityError::Unauthenticated)
        );
        let session = issue_session(SECRET, "s1", "u1", NOW, NOW.plus_secs(60)).unwrap();
        assert_eq!(
            verify_challenge(SECRET, &session, NOW),
            Err(IdentityError::InvalidSecondFactor)
        );
        assert!(verify_challenge(SECRET, &challenge, NOW.plus_secs(CHALLENGE_TTL_SECS)).is_ok());
        assert_eq!(
            verify_challenge(SECRET, &challenge, NOW.plus_secs(CHALLENGE_TTL_SECS + 1)),
            Err(IdentityError::InvalidSecondFactor)
        );
        assert_ne!(challenge, issue_challenge(SECRET, "u1", NOW).unwrap());
    }

    #[test]
    fn api_keys_have_the_documented_shape_and_verify() {
        let k = generate_api_key().unwrap();
        assert!(k.token.starts_with("dbk_"));
        assert_eq!(k.token.len(), 4 + 8 + 1 + 64);
        assert_eq!(api_key_prefix(&k.token), Some(k.prefix.as_str()));
        assert_eq!(k.hash, hash_api_key(&k.token));
        assert_eq!(k.hash.len(), 64);
        assert!(verify_api_key(&k.token, &k.hash));
        assert!(!verify_api_key(&k.token, &hash_api_key("dbk_other")));
        assert!(!verify_api_key(&k.token, "not hex"));
        assert!(!verify_api_key(&k.token, "abcd"));
        let other = generate_api_key().unwrap();
        assert_ne!(k.prefix, other.prefix);
        assert_ne!(k.token, other.token);
    }

    #[test]
    fn malformed_api_keys_have_no_prefix() {
        let good = format!("dbk_0123abcd_{}", "f".repeat(64));
        assert_eq!(api_key_prefix(&good), Some("0123abcd"));
        for bad in [
            String::new(),
            "dbk_".into(),
            format!("dbk_0123abc_{}", "f".repeat(64)),
            format!("dbk_0123ABCD_{}", "f".repeat(64)),
            format!("dbk_0123abcd_{}", "f".repeat(63)),
            format!("dbk_0123abcd-{}", "f".repeat(64)),
            format!("xyz_0123abcd_{}", "f".repeat(64)),
            format!("dbk_0123abcd_{}g", "f".repeat(63)),
        ] {
            assert_eq!(api_key_prefix(&bad), None, "{bad}");
        }
    }
}
