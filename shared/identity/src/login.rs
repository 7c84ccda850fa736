//! The sign-in flows: first-user sign-up, password login (with lockout, constant-time unknown
//! emails, re-hashing), the second factor, logout. Each writes its audit row.

use dbackup_core::db::Db;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, action, resource, AuditEvent};
use crate::authorize::Principal;
use crate::error::{IdentityError, Result};
use crate::lockout;
use crate::password;
use crate::secretbox::SecretBox;
use crate::sessions::{self, IssuedSession};
use crate::setup::{self, SignupRequest};
use crate::time::Timestamp;
use crate::token;
use crate::two_factor;
use crate::users::{self, User};

/// Body of `POST /api/auth/login`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Body of `POST /api/auth/login/2fa`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SecondFactorRequest {
    pub challenge: String,
    pub code: String,
}

/// The answer of a completed sign-in (`POST /api/auth/login` without 2FA, `…/login/2fa`,
/// `…/passkeys/login/verify`); the session cookie is set with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    /// Always `false` here.
    #[cfg_attr(feature = "schema", schemars(extend("const" = false)))]
    pub two_factor_required: bool,
    pub user: User,
    pub session: crate::authorize::SessionRef,
}

impl SignedIn {
    /// The answer for `l`.
    pub fn of(l: &LoggedIn) -> Self {
        SignedIn {
            two_factor_required: false,
            user: l.user.clone(),
            session: crate::authorize::SessionRef {
                id: l.session.session.id.clone(),
                expires_at: l.session.session.expires_at.clone(),
            },
        }
    }
}

/// The answer of `POST /api/auth/login` when a second factor is needed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecondFactorChallenge {
    /// Always `true` here.
    #[cfg_attr(feature = "schema", schemars(extend("const" = true)))]
    pub two_factor_required: bool,
    /// Send back with the code to `POST /api/auth/login/2fa` (or as `twoFactorChallenge` for a
    /// passkey).
    pub challenge: String,
    /// `totp` and/or `passkey`: what the account accepts.
    #[cfg_attr(
        feature = "schema",
        schemars(extend("items" = {"type": "string", "enum": ["totp", "passkey"]}))
    )]
    pub methods: Vec<&'static str>,
}

/// `POST /api/auth/login`'s answer: signed in, or a second factor is required.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum LoginAnswer {
    SignedIn(Box<SignedIn>),
    SecondFactorRequired(SecondFactorChallenge),
}

/// Where a request came from (`spin-client-addr`, `User-Agent`), for throttling and audit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientInfo<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// A completed login: the user and the session to set as cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    pub user: User,
    pub session: IssuedSession,
}

/// What a correct password leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    LoggedIn(Box<LoggedIn>),
    /// Answer `200 {"twoFactorRequired": true, "challenge": …, "methods": […]}`; no session
    /// yet. `methods` holds `"totp"` and/or `"passkey"` (see `passkeys::login_verify`).
    TwoFactorRequired {
        challenge: String,
        methods: Vec<&'static str>,
    },
}

pub(crate) fn audit_event<'a>(
    client: ClientInfo<'a>,
    user_id: Option<&'a str>,
    act: &'a str,
    res: &'a str,
    details: serde_json::Value,
) -> AuditEvent<'a> {
    AuditEvent {
        user_id,
        action: act,
        resource: res,
        resource_id: user_id,
        details: Some(details),
        ip_address: client.ip,
        user_agent: client.user_agent,
    }
}

pub(crate) fn start_session(
    db: &dyn Db,
    user: User,
    client: ClientInfo<'_>,
    method: &str,
    secret: &str,
    now: Timestamp,
) -> Result<LoggedIn> {
    let session = sessions::create(db, &user.id, client.ip, client.user_agent, secret, now)?;
    audit::write(
        db,
        &audit_event(
            client,
            Some(&user.id),
            action::LOGIN,
            resource::AUTH,
            json!({ "method": method, "sessionId": session.session.id }),
        ),
        now,
    )?;
    Ok(LoggedIn { user, session })
}

/// `POST /api/auth/signup`: creates the first user (SuperAdmin) and signs them in. 403 once
/// set up (see [`setup::create_first_user`]).
pub fn signup(
    db: &dyn Db,
    req: &SignupRequest,
    client: ClientInfo<'_>,
    secret: &str,
    now: Timestamp,
) -> Result<LoggedIn> {
    let user = setup::create_first_user(db, req, now)?;
    audit::write(
        db,
        &audit_event(
            client,
            Some(&user.id),
            action::CREATE,
            resource::USER,
            json!({ "email": user.email, "via": "signup" }),
        ),
        now,
    )?;
    start_session(db, user, client, "signup", secret, now)
}

/// Counts a failed attempt against the lockout keys and audits it (a failure that was not
/// reserved first: a passkey assertion).
pub(crate) fn record_failure(
    db: &dyn Db,
    keys: &[String],
    client: ClientInfo<'_>,
    user_id: Option<&str>,
    details: serde_json::Value,
    now: Timestamp,
) -> Result<()> {
    lockout::record_failure(db, keys, now)?;
    audit_failure(db, client, user_id, details, now)
}

/// Audits a failed sign-in (`LOGIN_FAILED`); its attempt was counted when it was reserved.
fn audit_failure(
    db: &dyn Db,
    client: ClientInfo<'_>,
    user_id: Option<&str>,
    details: serde_json::Value,
    now: Timestamp,
) -> Result<()> {
    audit::write(
        db,
        &audit_event(
            client,
            user_id,
            action::LOGIN_FAILED,
            resource::AUTH,
            details,
        ),
        now,
    )?;
    Ok(())
}

/// `POST /api/auth/login`. 429 while the account or address is locked; otherwise the attempt
/// is reserved (counted) before the password is checked, so parallel guesses get no more
/// verifications than the lockout allows (see [`lockout::reserve`]). 401
/// [`IdentityError::InvalidCredentials`] for an unknown email or a wrong password alike, after
/// the same argon2 work. A correct password re-hashes an outdated hash, then either signs in
/// or, with 2FA on, returns a challenge for [`login_second_factor`].
pub fn login(
    db: &dyn Db,
    req: &LoginRequest,
    client: ClientInfo<'_>,
    secret: &str,
    now: Timestamp,
) -> Result<LoginOutcome> {
    let email = req.email.trim().to_lowercase();
    let keys = lockout::keys(&email, client.ip);
    let attempt = lockout::reserve(db, &keys, now)?;
    let user = users::find_by_email(db, &email)?;
    let hash = match &user {
        Some(u) => users::password_hash(db, &u.id)?,
        None => None,
    };
    let (Some(user), Some(hash)) = (user, hash) else {
        password::dummy_verify(&req.password);
        let details = json!({ "email": email, "reason": "unknown email" });
        audit_failure(db, client, None, details, now)?;
        return Err(IdentityError::InvalidCredentials);
    };
    if !password::verify(&req.password, &hash) {
        let details = json!({ "email": email, "reason": "wrong password" });
        audit_failure(db, client, Some(&user.id), details, now)?;
        return Err(IdentityError::InvalidCredentials);
    }
    if password::needs_rehash(&hash) {
        users::set_password_hash(db, &user.id, &password::hash(&req.password)?, now)?;
    }
    if let Some(methods) = second_factor_methods(db, &user.id)? {
        // The password was right: its attempt is handed back; the second factor reserves its own.
        attempt.give_back(db)?;
        return Ok(LoginOutcome::TwoFactorRequired {
            challenge: token::issue_challenge(secret, &user.id, now)?,
            methods,
        });
    }
    attempt.succeeded(db)?;
    let logged_in = start_session(db, user, client, "password", secret, now)?;
    Ok(LoginOutcome::LoggedIn(Box::new(logged_in)))
}

/// The second factors the user must pass after a first one (password or SSO): `totp` and/or
/// `passkey`; `None` when they have none.
pub fn second_factor_methods(db: &dyn Db, user_id: &str) -> Result<Option<Vec<&'static str>>> {
    let mut methods = Vec::new();
    if two_factor::is_enabled(db, user_id)? {
        methods.push("totp");
    }
    if crate::passkeys::second_factor_enabled(db, user_id)? {
        methods.push("passkey");
    }
    Ok((!methods.is_empty()).then_some(methods))
}

/// `POST /api/auth/login/2fa`: a valid challenge plus a TOTP code (each step once) or an unused
/// backup code. 401 [`IdentityError::InvalidSecondFactor`] otherwise; each code is reserved
/// against the lockout before it is checked, like a password.
pub fn login_second_factor(
    db: &dyn Db,
    sbox: &SecretBox,
    req: &SecondFactorRequest,
    client: ClientInfo<'_>,
    secret: &str,
    now: Timestamp,
) -> Result<LoggedIn> {
    let user_id = token::verify_challenge(secret, &req.challenge, now)?;
    let user = users::find(db, &user_id)?.ok_or(IdentityError::InvalidSecondFactor)?;
    let keys = lockout::keys(&user.email, client.ip);
    let attempt = lockout::reserve(db, &keys, now)?;
    if !two_factor::verify_code(db, sbox, &user.id, &req.code, now)? {
        let details = json!({ "email": user.email, "reason": "wrong second factor" });
        audit_failure(db, client, Some(&user.id), details, now)?;
        return Err(IdentityError::InvalidSecondFactor);
    }
    attempt.succeeded(db)?;
    start_session(db, user, client, "password+2fa", secret, now)
}

/// `POST /api/auth/logout`: ends the caller's session (API keys have none to end).
pub fn logout(
    db: &dyn Db,
    principal: &Principal,
    client: ClientInfo<'_>,
    now: Timestamp,
) -> Result<()> {
    if let Some(session_id) = principal.session_id() {
        sessions::revoke(db, session_id, principal.user_id(), false).or_else(|e| match e {
            IdentityError::NotFound(_) => Ok(()),
            other => Err(other),
        })?;
    }
    audit::write(
        db,
        &audit_event(
            client,
            Some(principal.user_id()),
            action::LOGOUT,
            resource::AUTH,
            json!({ "sessionId": principal.session_id() }),
        ),
        now,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::resolve_principal;
    use crate::testutil::*;
    use crate::totp;

    const CLIENT: ClientInfo<'static> = ClientInfo {
        ip: Some("10.0.0.9"),
        user_agent: Some("test-agent"),
    };

    fn login_req(email: &str, password: &str) -> LoginRequest {
        LoginRequest {
            email: email.into(),
            password: password.into(),
        }
    }

    fn logged_in(outcome: LoginOutcome) -> LoggedIn {
        match outcome {
            LoginOutcome::LoggedIn(l) => *l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn signup_signs_in_and_audits() {
        let db = TestDb::migrated();
        let req = SignupRequest {
            name: "Admin".into(),
            email: "admin@example.com".into(),
            password: PASSWORD.into(),
        };
        let l = signup(&db, &req, CLIENT, SECRET, NOW).unwrap();
        assert!(l.user.is_super_admin());
        let p = resolve_principal(&db, Some(&l.session.jwt), None, SECRET, NOW)
            .unwrap()
            .principal
            .unwrap();
        assert_eq!(p.permissions().len(), 30);
        assert_eq!(
            db.text(r#"SELECT group_concat(action, ',') FROM (SELECT action FROM "AuditLog" ORDER BY action)"#)
                .as_deref(),
            Some("CREATE,LOGIN")
        );
        assert_eq!(
            signup(&db, &req, CLIENT, SECRET, NOW).unwrap_err(),
            IdentityError::SetupClosed
        );
    }

    #[test]
    fn unknown_email_and_wrong_password_look_the_same() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let unknown = login(
            &db,
            &login_req("nobody@example.com", PASSWORD),
            CLIENT,
            SECRET,
            NOW,
        );
        let wrong = login(
            &db,
            &login_req("a@example.com", "wrong password"),
            CLIENT,
            SECRET,
            NOW,
        );
        assert_eq!(unknown, Err(IdentityError::InvalidCredentials));
        assert_eq!(wrong, Err(IdentityError::InvalidCredentials));
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "AuditLog" WHERE action = 'LOGIN_FAILED'"#),
            2
        );
        let details = db
            .text(r#"SELECT group_concat(details) FROM "AuditLog""#)
            .unwrap();
        assert!(!details.contains(PASSWORD));
        let l = logged_in(
            login(
                &db,
                &login_req(" A@Example.com ", PASSWORD),
                CLIENT,
                SECRET,
                NOW,
            )
            .unwrap(),
        );
        assert_eq!(l.user.id, "a");
        assert_eq!(l.session.session.ip_address.as_deref(), Some("10.0.0.9"));
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "AuditLog" WHERE action = 'LOGIN'"#),
            1
        );
    }

    #[test]
    fn lockout_after_five_failures_then_retry_after() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let bad = login_req("a@example.com", "wrong password");
        for _ in 0..5 {
            assert_eq!(
                login(&db, &bad, CLIENT, SECRET, NOW).unwrap_err().status(),
                401
            );
        }
        // Even the right password is refused while locked.
        let good = login_req("a@example.com", PASSWORD);
        let err = login(&db, &good, CLIENT, SECRET, NOW.plus_secs(5)).unwrap_err();
        assert_eq!(
            err,
            IdentityError::Locked {
                retry_after_secs: 25
            }
        );
        let l = logged_in(login(&db, &good, CLIENT, SECRET, NOW.plus_secs(30)).unwrap());
        assert_eq!(l.user.id, "a");
        // Success reset the account counter.
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "LoginThrottle" WHERE key = 'account:a@example.com'"#),
            0
        );
    }

    #[test]
    fn outdated_hashes_are_rehashed_on_login() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let weak = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(
            PASSWORD.as_bytes(),
            &SaltString::encode_b64(b"saltsaltsaltsalt").unwrap(),
        )
        .unwrap()
        .to_string();
        users::set_password_hash(&db, "a", &weak, NOW).unwrap();
        logged_in(
            login(
                &db,
                &login_req("a@example.com", PASSWORD),
                CLIENT,
                SECRET,
                NOW,
            )
            .unwrap(),
        );
        let now_stored = users::password_hash(&db, "a").unwrap().unwrap();
        assert_ne!(now_stored, weak);
        assert!(!password::needs_rehash(&now_stored));
        assert!(password::verify(PASSWORD, &now_stored));
    }

    #[test]
    fn two_factor_login_flow() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let sbox = SecretBox::from_hex_key(KEY).unwrap();
        let (secret, backup) = enable_two_factor(&db, &sbox, "a");

        let t = NOW.plus_secs(60);
        let challenge = match login(
            &db,
            &login_req("a@example.com", PASSWORD),
            CLIENT,
            SECRET,
            t,
        )
        .unwrap()
        {
            LoginOutcome::TwoFactorRequired { challenge, .. } => challenge,
            other => panic!("{other:?}"),
        };
        // The challenge is not a session.
        assert!(resolve_principal(&db, Some(&challenge), None, SECRET, t)
            .unwrap()
            .principal
            .is_none());
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Session""#), 0);
        let code = totp::code_at_step(&secret, totp::step_at(t)).unwrap();
        let req = |code: &str| SecondFactorRequest {
            challenge: challenge.clone(),
            code: code.into(),
        };
        let l = login_second_factor(&db, &sbox, &req(&code), CLIENT, SECRET, t).unwrap();
        assert_eq!(l.user.id, "a");
        // The same code again: refused (each step once).
        assert_eq!(
            login_second_factor(&db, &sbox, &req(&code), CLIENT, SECRET, t).unwrap_err(),
            IdentityError::InvalidSecondFactor
        );
        // A backup code works once.
        assert!(login_second_factor(&db, &sbox, &req(&backup[0]), CLIENT, SECRET, t).is_ok());
        assert!(login_second_factor(&db, &sbox, &req(&backup[0]), CLIENT, SECRET, t).is_err());
        // A forged or expired challenge: refused.
        let forged = SecondFactorRequest {
            challenge: "x.y.z".into(),
            code: backup[1].clone(),
        };
        assert_eq!(
            login_second_factor(&db, &sbox, &forged, CLIENT, SECRET, t).unwrap_err(),
            IdentityError::InvalidSecondFactor
        );
        let late = t.plus_secs(token::CHALLENGE_TTL_SECS + 1);
        assert!(login_second_factor(&db, &sbox, &req(&backup[1]), CLIENT, SECRET, late).is_err());
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "AuditLog" WHERE action = 'LOGIN_FAILED'"#),
            2
        );
    }

    #[test]
    fn second_factor_failures_lock_too() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let sbox = SecretBox::from_hex_key(KEY).unwrap();
        enable_two_factor(&db, &sbox, "a");
        let challenge = token::issue_challenge(SECRET, "a", NOW).unwrap();
        let req = SecondFactorRequest {
            challenge,
            code: "zzzzz-zzzzz".into(),
        };
        for _ in 0..5 {
            assert_eq!(
                login_second_factor(&db, &sbox, &req, CLIENT, SECRET, NOW)
                    .unwrap_err()
                    .status(),
                401
            );
        }
        assert_eq!(
            login_second_factor(&db, &sbox, &req, CLIENT, SECRET, NOW)
                .unwrap_err()
                .status(),
            429
        );
    }

    #[test]
    fn logout_ends_the_session() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let l = logged_in(
            login(
                &db,
                &login_req("a@example.com", PASSWORD),
                CLIENT,
                SECRET,
                NOW,
            )
            .unwrap(),
        );
        let p = resolve_principal(&db, Some(&l.session.jwt), None, SECRET, NOW)
            .unwrap()
            .principal
            .unwrap();
        logout(&db, &p, CLIENT, NOW).unwrap();
        assert!(
            resolve_principal(&db, Some(&l.session.jwt), None, SECRET, NOW)
                .unwrap()
                .principal
                .is_none()
        );
        // Twice is harmless.
        logout(&db, &p, CLIENT, NOW).unwrap();
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "AuditLog" WHERE action = 'LOGOUT'"#),
            2
        );
    }
}
