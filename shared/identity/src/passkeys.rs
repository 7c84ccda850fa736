//! Passkeys: registration, listing/renaming/deleting, passwordless login with discoverable
//! credentials, and a passkey as the second factor after a password (`User.passkeyTwoFactor`).
//!
//! Every ceremony starts with a random challenge stored in `AuthChallenge` (kind, user, expiry
//! [`CHALLENGE_TTL_SECS`]); the verify step finds the record by the challenge inside
//! `clientDataJSON` and deletes it in the same statement, so each challenge works once.
//! Verification itself is [`crate::webauthn`]. Outcomes are audited; a sign counter that goes
//! backwards is refused and audited with both counters.

use dbackup_core::db::{Db, Value};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::audit::{self, action, resource};
use crate::error::{IdentityError, Result};
use crate::lockout;
use crate::login::{self, ClientInfo, LoggedIn};
use crate::settings;
use crate::sql::{self, Row};
use crate::time::Timestamp;
use crate::token;
use crate::users;
use crate::webauthn::{self, b64url, from_b64url, RelyingParty, WebauthnError};

/// How long a ceremony's challenge stays valid.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// The `SystemSetting` that turns passwordless passkey login off (`true`/`1`).
pub const DISABLE_PASSKEY_LOGIN: &str = settings::DISABLE_PASSKEY_LOGIN;
/// The audit resource of passkey management.
pub const AUDIT_RESOURCE: &str = "PASSKEY";
/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

const KIND_REGISTER: &str = "passkey-register";
const KIND_LOGIN: &str = "passkey-login";
const KIND_2FA: &str = "passkey-2fa";

/// A passkey as the API shows it (never the public key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Passkey {
    pub id: String,
    pub name: Option<String>,
    /// base64url.
    pub credential_id: String,
    pub device_type: String,
    pub backed_up: bool,
    pub transports: Vec<String>,
    pub aaguid: Option<String>,
    /// COSE algorithm id (-7 ES256, -8 EdDSA, -257 RS256).
    pub alg: Option<i64>,
    pub created_at: Option<String>,
    pub last_used_at: Option<String>,
}

const COLUMNS: &str = r#"id, name, credentialID, deviceType, backedUp, transports, aaguid, alg,
    createdAt, lastUsedAt"#;

fn from_row(r: &Row<'_>) -> Result<Passkey> {
    let transports = r
        .opt_text("transports")?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    Ok(Passkey {
        id: r.text("id")?,
        name: r.opt_text("name")?,
        credential_id: r.text("credentialID")?,
        device_type: r.text("deviceType")?,
        backed_up: r.flag("backedUp")?,
        transports,
        aaguid: r.opt_text("aaguid")?,
        alg: r.opt_int("alg")?,
        created_at: r.opt_text("createdAt")?,
        last_used_at: r.opt_text("lastUsedAt")?,
    })
}

// ---------------------------------------------------------------------------------------------
// Challenges
// ---------------------------------------------------------------------------------------------

/// A consumed challenge record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub user_id: Option<String>,
    pub data: Option<String>,
}

/// Stores a new random challenge (32 bytes, base64url) of `kind`, valid for `ttl_secs`;
/// removes expired records on the way. Returns the challenge.
pub fn store_challenge(
    db: &dyn Db,
    kind: &str,
    user_id: Option<&str>,
    data: Option<&str>,
    ttl_secs: i64,
    now: Timestamp,
) -> Result<String> {
    let mut raw = [0u8; 32];
    sql::random_bytes(&mut raw)?;
    let challenge = b64url(&raw);
    sql::exec(
        db,
        r#"DELETE FROM "AuthChallenge" WHERE expiresAt < ?"#,
        &[now.iso().into()],
    )?;
    sql::exec(
        db,
        r#"INSERT INTO "AuthChallenge" (challenge, kind, userId, data, expiresAt, createdAt)
           VALUES (?, ?, ?, ?, ?, ?)"#,
        &[
            challenge.clone().into(),
            kind.into(),
            user_id.into(),
            data.into(),
            now.plus_secs(ttl_secs).iso().into(),
            now.iso().into(),
        ],
    )?;
    Ok(challenge)
}

/// Consumes the record of `challenge` if it exists with `kind`: deleted whether or not it has
/// expired, returned only if it has not.
pub fn take_challenge(
    db: &dyn Db,
    challenge: &str,
    kind: &str,
    now: Timestamp,
) -> Result<Option<ChallengeRecord>> {
    let found = sql::first(
        db,
        r#"DELETE FROM "AuthChallenge" WHERE challenge = ? AND kind = ?
           RETURNING userId, data, expiresAt"#,
        &[challenge.into(), kind.into()],
        |r| {
            Ok((
                ChallengeRecord {
                    user_id: r.opt_text("userId")?,
                    data: r.opt_text("data")?,
                },
                r.text("expiresAt")?,
            ))
        },
    )?;
    Ok(found.and_then(|(rec, expires)| {
        Timestamp::parse_iso(&expires)
            .filter(|e| *e > now)
            .map(|_| rec)
    }))
}

// ---------------------------------------------------------------------------------------------
// Settings and per-user state
// ---------------------------------------------------------------------------------------------

/// Whether `auth.disablePasskeyLogin` is on.
pub fn passkey_login_disabled(db: &dyn Db) -> Result<bool> {
    settings::get_flag(db, DISABLE_PASSKEY_LOGIN, false)
}

/// Whether a password login of `user_id` needs a passkey (flag on and a passkey to use).
pub fn second_factor_enabled(db: &dyn Db, user_id: &str) -> Result<bool> {
    Ok(sql::scalar_i64(
        db,
        r#"SELECT COUNT(*) FROM "User" u WHERE u.id = ? AND u.passkeyTwoFactor = 1
           AND EXISTS (SELECT 1 FROM "Passkey" p WHERE p.userId = u.id)"#,
        &[user_id.into()],
    )? > 0)
}

/// The user's passkeys, oldest first.
pub fn list(db: &dyn Db, user_id: &str) -> Result<Vec<Passkey>> {
    sql::all(
        db,
        &format!(r#"SELECT {COLUMNS} FROM "Passkey" WHERE userId = ? ORDER BY createdAt, id"#),
        &[user_id.into()],
        from_row,
    )
}

/// `GET /api/auth/passkeys`: the caller's passkeys and whether they are the second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasskeyOverview {
    pub passkeys: Vec<Passkey>,
    pub passkey_two_factor: bool,
}

/// `GET /api/auth/passkeys`: `{"passkeys": […], "passkeyTwoFactor": bool}`.
pub fn overview(db: &dyn Db, user_id: &str) -> Result<PasskeyOverview> {
    let flag = sql::scalar_i64(
        db,
        r#"SELECT COALESCE(passkeyTwoFactor, 0) FROM "User" WHERE id = ?"#,
        &[user_id.into()],
    )? != 0;
    Ok(PasskeyOverview {
        passkeys: list(db, user_id)?,
        passkey_two_factor: flag,
    })
}

fn clean_name(name: Option<&str>) -> Result<Option<String>> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(IdentityError::invalid_field(
            "name",
            format!("name must be at most {MAX_NAME_CHARS} printable characters"),
        ));
    }
    Ok(Some(name.to_owned()))
}

/// Body of `PATCH /api/auth/passkeys/{id}`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Rename {
    pub name: String,
}

/// Renames one of the user's passkeys (404 for anyone else's).
pub fn rename(db: &dyn Db, user_id: &str, id: &str, req: &Rename) -> Result<Passkey> {
    let name = clean_name(Some(&req.name))?
        .ok_or_else(|| IdentityError::invalid_field("name", "name must not be empty"))?;
    sql::first(
        db,
        &format!(
            r#"UPDATE "Passkey" SET name = ? WHERE id = ? AND userId = ? RETURNING {COLUMNS}"#
        ),
        &[name.into(), id.into(), user_id.into()],
        from_row,
    )?
    .ok_or(IdentityError::NotFound("passkey"))
}

/// Deletes one of the user's passkeys (404 for anyone else's). Deleting the last one turns
/// `passkeyTwoFactor` off.
pub fn delete(db: &dyn Db, user_id: &str, id: &str) -> Result<()> {
    sql::transaction(db, || {
        if !sql::returned_any(
            db,
            r#"DELETE FROM "Passkey" WHERE id = ? AND userId = ? RETURNING id"#,
            &[id.into(), user_id.into()],
        )? {
            return Err(IdentityError::NotFound("passkey"));
        }
        sql::exec(
            db,
            r#"UPDATE "User" SET passkeyTwoFactor = 0 WHERE id = ?
               AND NOT EXISTS (SELECT 1 FROM "Passkey" WHERE userId = ?)"#,
            &[user_id.into(), user_id.into()],
        )
    })
}

/// Body of `POST /api/auth/passkeys/two-factor`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TwoFactorToggle {
    pub enabled: bool,
}

/// Turns `passkeyTwoFactor` on (409 without a passkey) or off.
pub fn set_second_factor(db: &dyn Db, user_id: &str, enabled: bool, now: Timestamp) -> Result<()> {
    if enabled && list(db, user_id)?.is_empty() {
        return Err(IdentityError::Conflict(
            "register a passkey before using it as a second factor".into(),
        ));
    }
    sql::exec(
        db,
        r#"UPDATE "User" SET passkeyTwoFactor = ?, updatedAt = ? WHERE id = ?"#,
        &[i64::from(enabled).into(), now.iso().into(), user_id.into()],
    )
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

/// A credential (`PublicKeyCredentialDescriptor`, JSON form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialDescriptor {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// base64url.
    pub id: String,
    pub transports: Vec<String>,
}

/// An accepted algorithm (`PublicKeyCredentialParameters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialParameter {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// COSE algorithm id.
    pub alg: i64,
}

/// The relying party (`PublicKeyCredentialRpEntity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RpEntity {
    pub id: String,
    pub name: String,
}

/// The user (`PublicKeyCredentialUserEntity`, id base64url).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserEntity {
    pub id: String,
    pub name: String,
    pub display_name: String,
}

/// `AuthenticatorSelectionCriteria`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    pub resident_key: &'static str,
    pub require_resident_key: bool,
    pub user_verification: &'static str,
}

/// `PublicKeyCredentialCreationOptions` in JSON form (`navigator.credentials.create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// base64url.
    pub challenge: String,
    pub rp: RpEntity,
    pub user: UserEntity,
    pub pub_key_cred_params: Vec<CredentialParameter>,
    /// Milliseconds.
    pub timeout: i64,
    pub attestation: &'static str,
    pub authenticator_selection: AuthenticatorSelection,
    pub exclude_credentials: Vec<CredentialDescriptor>,
}

/// `PublicKeyCredentialRequestOptions` in JSON form (`navigator.credentials.get`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    /// base64url.
    pub challenge: String,
    pub rp_id: String,
    /// Milliseconds.
    pub timeout: i64,
    pub user_verification: &'static str,
    /// Empty for passwordless login (discoverable credentials).
    pub allow_credentials: Vec<CredentialDescriptor>,
}

fn cred_params() -> Vec<CredentialParameter> {
    webauthn::SUPPORTED_ALGS
        .iter()
        .map(|alg| CredentialParameter {
            kind: "public-key",
            alg: *alg,
        })
        .collect()
}

fn descriptors(passkeys: &[Passkey]) -> Vec<CredentialDescriptor> {
    passkeys
        .iter()
        .map(|p| CredentialDescriptor {
            kind: "public-key",
            id: p.credential_id.clone(),
            transports: p.transports.clone(),
        })
        .collect()
}

/// `POST /api/auth/passkeys/register/options`: `PublicKeyCredentialCreationOptions` (JSON
/// form) for the user: resident key and user verification required, attestation `none`, the
/// user's existing credentials excluded.
pub fn register_options(
    db: &dyn Db,
    rp: &RelyingParty,
    user_id: &str,
    now: Timestamp,
) -> Result<CreationOptions> {
    let user = users::get(db, user_id)?;
    let challenge = store_challenge(
        db,
        KIND_REGISTER,
        Some(user_id),
        None,
        CHALLENGE_TTL_SECS,
        now,
    )?;
    Ok(CreationOptions {
        challenge,
        rp: RpEntity {
            id: rp.id.clone(),
            name: rp.name.clone(),
        },
        user: UserEntity {
            id: b64url(user.id.as_bytes()),
            name: user.email,
            display_name: user.name,
        },
        pub_key_cred_params: cred_params(),
        timeout: CHALLENGE_TTL_SECS * 1000,
        attestation: "none",
        authenticator_selection: AuthenticatorSelection {
            resident_key: "required",
            require_resident_key: true,
            user_verification: "required",
        },
        exclude_credentials: descriptors(&list(db, user_id)?),
    })
}

/// A `PublicKeyCredential` as JSON (`toJSON()` form, binary fields base64url).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub id: String,
    #[serde(default)]
    pub raw_id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub response: CredentialResponse,
}

/// The `response` of a [`Credential`]: attestation fields for registration, assertion fields
/// for login.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialResponse {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    #[serde(default)]
    pub attestation_object: Option<String>,
    #[serde(default)]
    pub transports: Option<Vec<String>>,
    #[serde(default)]
    pub authenticator_data: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub user_handle: Option<String>,
}

/// Body of `POST /api/auth/passkeys/register/verify`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RegisterRequest {
    #[serde(default)]
    pub name: Option<String>,
    pub credential: Credential,
}

fn refused(e: WebauthnError) -> IdentityError {
    IdentityError::Validation {
        message: format!("passkey verification failed: {e}"),
        details: Some(json!({ "reason": e.to_string() })),
    }
}

/// `POST /api/auth/passkeys/register/verify`: verifies the attestation against the user's
/// pending challenge and stores the passkey. 400 naming the failed check; 409 for a
/// credential already registered.
pub fn register_verify(
    db: &dyn Db,
    rp: &RelyingParty,
    user_id: &str,
    req: &RegisterRequest,
    client: ClientInfo<'_>,
    now: Timestamp,
) -> Result<Passkey> {
    let name = clean_name(req.name.as_deref())?;
    let r = &req.credential.response;
    let client_data = from_b64url(&r.client_data_json, "clientDataJSON").map_err(refused)?;
    let attestation = r
        .attestation_object
        .as_deref()
        .ok_or(WebauthnError::Malformed("attestationObject"))
        .and_then(|a| from_b64url(a, "attestationObject"))
        .map_err(refused)?;
    let challenge = webauthn::client_data_challenge(&client_data).map_err(refused)?;
    let record = take_challenge(db, &challenge, KIND_REGISTER, now)?
        .filter(|rec| rec.user_id.as_deref() == Some(user_id))
        .ok_or_else(|| refused(WebauthnError::WrongChallenge))?;
    drop(record);
    let cred = webauthn::verify_registration(rp, &challenge, &client_data, &attestation)
        .map_err(refused)?;
    let id = sql::new_id()?;
    let transports = serde_json::to_string(&r.transports.clone().unwrap_or_default())
        .map_err(|e| IdentityError::Internal(e.to_string()))?;
    let inserted = sql::exec(
        db,
        r#"INSERT INTO "Passkey" (id, name, publicKey, credentialID, counter, deviceType,
               backedUp, transports, createdAt, aaguid, userId, alg)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
        &[
            id.clone().into(),
            name.into(),
            b64url(&cred.public_key).into(),
            b64url(&cred.credential_id).into(),
            i64::from(cred.sign_count).into(),
            cred.device_type.into(),
            i64::from(cred.backed_up).into(),
            transports.into(),
            now.iso().into(),
            dbackup_core::id::uuid_text(&cred.aaguid).into(),
            user_id.into(),
            cred.alg.into(),
        ],
    );
    match inserted {
        Err(e) if sql::is_unique_violation(&e) => {
            return Err(IdentityError::Conflict(
                "this passkey is already registered".into(),
            ))
        }
        other => other?,
    }
    audit::write(
        db,
        &login::audit_event(
            client,
            Some(user_id),
            action::CREATE,
            AUDIT_RESOURCE,
            json!({ "passkeyId": id, "alg": cred.alg, "deviceType": cred.device_type }),
        ),
        now,
    )?;
    sql::first(
        db,
        &format!(r#"SELECT {COLUMNS} FROM "Passkey" WHERE id = ?"#),
        &[id.into()],
        from_row,
    )?
    .ok_or(IdentityError::NotFound("passkey"))
}

// ---------------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------------

/// Body of `POST /api/auth/passkeys/login/options`: empty for passwordless login, or the
/// challenge a password login answered with, to use a passkey as the second factor.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginOptionsRequest {
    #[serde(default)]
    pub two_factor_challenge: Option<String>,
}

/// `POST /api/auth/passkeys/login/options`: `PublicKeyCredentialRequestOptions` (JSON form).
/// Passwordless: no `allowCredentials` (discoverable credentials), 403 while
/// `auth.disablePasskeyLogin` is on. Second factor: the user's credentials, 401 for a bad
/// challenge.
pub fn login_options(
    db: &dyn Db,
    rp: &RelyingParty,
    req: &LoginOptionsRequest,
    secret: &str,
    now: Timestamp,
) -> Result<RequestOptions> {
    let (challenge, allow) = match &req.two_factor_challenge {
        None => {
            if passkey_login_disabled(db)? {
                return Err(IdentityError::Forbidden("passkey login is disabled".into()));
            }
            let c = store_challenge(db, KIND_LOGIN, None, None, CHALLENGE_TTL_SECS, now)?;
            (c, Vec::new())
        }
        Some(token_2fa) => {
            let user_id = token::verify_challenge(secret, token_2fa, now)?;
            if !second_factor_enabled(db, &user_id)? {
                return Err(IdentityError::InvalidSecondFactor);
            }
            let c = store_challenge(db, KIND_2FA, Some(&user_id), None, CHALLENGE_TTL_SECS, now)?;
            (c, descriptors(&list(db, &user_id)?))
        }
    };
    Ok(RequestOptions {
        challenge,
        rp_id: rp.id.clone(),
        timeout: CHALLENGE_TTL_SECS * 1000,
        user_verification: "required",
        allow_credentials: allow,
    })
}

/// Body of `POST /api/auth/passkeys/login/verify`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", schemars(rename = "PasskeyLoginRequest"))]
pub struct LoginRequest {
    pub credential: Credential,
    #[serde(default)]
    pub two_factor_challenge: Option<String>,
}

struct StoredKey {
    id: String,
    user_id: String,
    public_key: String,
    counter: i64,
}

/// `POST /api/auth/passkeys/login/verify`: verifies the assertion and starts a session. Any
/// failure is 401 ([`IdentityError::InvalidCredentials`] passwordless,
/// [`IdentityError::InvalidSecondFactor`] as second factor), audited as `LOGIN_FAILED` with the
/// reason, and counted towards the lockout once the user is known.
pub fn login_verify(
    db: &dyn Db,
    rp: &RelyingParty,
    req: &LoginRequest,
    client: ClientInfo<'_>,
    secret: &str,
    now: Timestamp,
) -> Result<LoggedIn> {
    let second_factor = req.two_factor_challenge.is_some();
    let denied = || {
        if second_factor {
            IdentityError::InvalidSecondFactor
        } else {
            IdentityError::InvalidCredentials
        }
    };
    // Failures before the credential is known name no user and lock nothing.
    let anonymous_failure = |reason: String| -> Result<IdentityError> {
        audit::write(
            db,
            &login::audit_event(
                client,
                None,
                action::LOGIN_FAILED,
                resource::AUTH,
                json!({ "method": "passkey", "reason": reason }),
            ),
            now,
        )?;
        Ok(denied())
    };
    // The 2FA token is checked first: without a valid one nothing else is looked at.
    let token_user = match &req.two_factor_challenge {
        Some(t) => Some(token::verify_challenge(secret, t, now)?),
        None => {
            if passkey_login_disabled(db)? {
                return Err(IdentityError::Forbidden("passkey login is disabled".into()));
            }
            None
        }
    };
    let r = &req.credential.response;
    let decoded = (|| {
        let cd = from_b64url(&r.client_data_json, "clientDataJSON")?;
        let ad = from_b64url(
            r.authenticator_data
                .as_deref()
                .ok_or(WebauthnError::Malformed("authenticatorData"))?,
            "authenticatorData",
        )?;
        let sig = from_b64url(
            r.signature
                .as_deref()
                .ok_or(WebauthnError::Malformed("signature"))?,
            "signature",
        )?;
        let challenge = webauthn::client_data_challenge(&cd)?;
        Ok::<_, WebauthnError>((cd, ad, sig, challenge))
    })();
    let (client_data, auth_data, signature, challenge) = match decoded {
        Ok(v) => v,
        Err(e) => return Err(anonymous_failure(e.to_string())?),
    };
    let kind = if second_factor { KIND_2FA } else { KIND_LOGIN };
    let Some(record) = take_challenge(db, &challenge, kind, now)? else {
        return Err(anonymous_failure(
            "unknown, used or expired challenge".into(),
        )?);
    };
    let credential_id = req
        .credential
        .raw_id
        .as_deref()
        .unwrap_or(&req.credential.id);
    let stored = sql::first(
        db,
        r#"SELECT id, userId, publicKey, counter FROM "Passkey" WHERE credentialID = ?"#,
        &[credential_id.trim_end_matches('=').into()],
        |row| {
            Ok(StoredKey {
                id: row.text("id")?,
                user_id: row.text("userId")?,
                public_key: row.text("publicKey")?,
                counter: row.int("counter")?,
            })
        },
    )?;
    let Some(stored) = stored else {
        return Err(anonymous_failure("unknown credential".into())?);
    };
    let user = users::get(db, &stored.user_id)?;
    let keys = lockout::keys(&user.email, client.ip);
    lockout::check(db, &keys, now)?;
    let fail = |reason: Json| -> Result<IdentityError> {
        let mut details =
            json!({ "method": "passkey", "passkeyId": stored.id, "email": user.email });
        if let (Some(d), Some(extra)) = (details.as_object_mut(), reason.as_object()) {
            d.extend(extra.clone());
        }
        login::record_failure(db, &keys, client, Some(&user.id), details, now)?;
        Ok(denied())
    };
    // Discoverable login: the authenticator names the user, and it must be the key's owner.
    // Second factor: the key must belong to the user who passed the password.
    let user_matches = match (&token_user, &r.user_handle) {
        (Some(t), _) => *t == user.id && record.user_id.as_deref() == Some(&user.id),
        (None, Some(h)) => from_b64url(h, "userHandle").ok().as_deref() == Some(user.id.as_bytes()),
        (None, None) => false,
    };
    if !user_matches {
        return Err(fail(
            json!({ "reason": "credential does not belong to this user" }),
        )?);
    }
    let public_key = from_b64url(&stored.public_key, "publicKey")
        .map_err(|e| IdentityError::Internal(format!("stored passkey: {e}")))?;
    let stored_count = u32::try_from(stored.counter).unwrap_or(u32::MAX);
    let verified = match webauthn::verify_assertion(
        rp,
        &challenge,
        &client_data,
        &auth_data,
        &signature,
        &public_key,
        stored_count,
    ) {
        Ok(v) => v,
        Err(WebauthnError::CounterRegression { stored, received }) => {
            return Err(fail(json!({
                "reason": "sign counter regression (possible cloned authenticator)",
                "storedCounter": stored, "receivedCounter": received,
            }))?)
        }
        Err(e) => return Err(fail(json!({ "reason": e.to_string() }))?),
    };
    sql::exec(
        db,
        r#"UPDATE "Passkey" SET counter = ?, backedUp = ?, lastUsedAt = ? WHERE id = ?"#,
        &[
            i64::from(verified.sign_count).into(),
            i64::from(verified.backed_up).into(),
            now.iso().into(),
            Value::from(stored.id.clone()),
        ],
    )?;
    lockout::record_success(db, &user.email)?;
    let method = if second_factor {
        "password+passkey"
    } else {
        "passkey"
    };
    login::start_session(db, user, client, method, secret, now)
}

/// Audits a passkey management action of the user.
pub fn audit_change(
    db: &dyn Db,
    client: ClientInfo<'_>,
    user_id: &str,
    act: &str,
    details: Json,
    now: Timestamp,
) -> Result<()> {
    audit::write(
        db,
        &login::audit_event(client, Some(user_id), act, AUDIT_RESOURCE, details),
        now,
    )?;
    Ok(())
}
