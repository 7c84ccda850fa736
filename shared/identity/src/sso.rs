//! SSO (OpenID Connect): the `SsoProvider` rows behind the admin API, the login start record,
//! and what a verified ID token leads to — the linked `Account` (provider, sub), else, only for a
//! provider a SuperAdmin marked `trustEmailLinking`, a user with the same verified email (linked
//! now), else a new user when the provider allows provisioning (no group until an admin assigns
//! one). Otherwise an identity reaches an existing account only through a link its owner made
//! while signed in ([`start`] with `link_user`, then [`link_to_user`]). An account with a second
//! factor still needs it after SSO: SSO stands in for the password, never for the second factor.
//!
//! A provider decides who signs in, so writing one needs every permission
//! ([`ensure_may_manage`]). The client secret is sealed with the `encryption_key` box and never
//! leaves this module in an answer.
//!
//! The flows that call the provider (discovery, token exchange, JWKS) are
//! [`crate::sso_flow`]; the pure pieces are in [`crate::oidc`].

use dbackup_core::db::Db;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::audit;
use crate::authorize::Principal;
use crate::error::{IdentityError, Result};
use crate::login::{self, ClientInfo, LoggedIn};
use crate::oidc::{self, Discovery, IdClaims};
use crate::passkeys;
use crate::secretbox::SecretBox;
use crate::sql::{self, Row};
use crate::time::Timestamp;
use crate::users::{self, User};

/// How long a started SSO login may take.
pub const STATE_TTL_SECS: i64 = 600;
/// The audit resource of SSO providers and SSO logins.
pub const AUDIT_RESOURCE: &str = "SSO";

/// An SSO provider as the admin API shows it (`hasClientSecret` instead of the secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SsoProvider {
    pub id: String,
    pub provider_id: String,
    pub name: String,
    pub adapter: String,
    pub adapter_config: Json,
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub user_info_endpoint: Option<String>,
    pub jwks_endpoint: Option<String>,
    pub client_id: Option<String>,
    pub has_client_secret: bool,
    pub domain: Option<String>,
    pub enabled: bool,
    pub allow_provisioning: bool,
    /// Whether a verified email links a sign-in to the existing account (off: owners link).
    pub trust_email_linking: bool,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = r#"id, providerId, name, adapterId, adapterConfig, issuer,
    authorizationEndpoint, tokenEndpoint, userInfoEndpoint, jwksEndpoint, clientId,
    clientSecret, domain, enabled, allowProvisioning, trustEmailLinking, createdAt, updatedAt"#;

fn from_row(r: &Row<'_>) -> Result<SsoProvider> {
    Ok(SsoProvider {
        id: r.text("id")?,
        provider_id: r.text("providerId")?,
        name: r.text("name")?,
        adapter: r.text("adapterId")?,
        adapter_config: r
            .opt_text("adapterConfig")?
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or(Json::Null),
        issuer: r.opt_text("issuer")?,
        authorization_endpoint: r.opt_text("authorizationEndpoint")?,
        token_endpoint: r.opt_text("tokenEndpoint")?,
        user_info_endpoint: r.opt_text("userInfoEndpoint")?,
        jwks_endpoint: r.opt_text("jwksEndpoint")?,
        client_id: r.opt_text("clientId")?,
        has_client_secret: r.opt_text("clientSecret")?.is_some(),
        domain: r.opt_text("domain")?,
        enabled: r.flag("enabled")?,
        allow_provisioning: r.flag("allowProvisioning")?,
        trust_email_linking: r.flag("trustEmailLinking")?,
        created_at: r.text("createdAt")?,
        updated_at: r.text("updatedAt")?,
    })
}

/// All providers, by name.
pub fn list(db: &dyn Db) -> Result<Vec<SsoProvider>> {
    sql::all(
        db,
        &format!(r#"SELECT {COLUMNS} FROM "SsoProvider" ORDER BY name, id"#),
        &[],
        from_row,
    )
}

/// One provider by its id, or by its `providerId` slug.
pub fn find(db: &dyn Db, id_or_slug: &str) -> Result<Option<SsoProvider>> {
    sql::first(
        db,
        &format!(r#"SELECT {COLUMNS} FROM "SsoProvider" WHERE id = ? OR providerId = ? LIMIT 1"#),
        &[id_or_slug.into(), id_or_slug.into()],
        from_row,
    )
}

/// One provider; 404 if missing.
pub fn get(db: &dyn Db, id: &str) -> Result<SsoProvider> {
    find(db, id)?.ok_or(IdentityError::NotFound("SSO provider"))
}

/// An enabled provider as the login page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginProvider {
    /// The `providerId` (used in `/api/auth/sso/{id}/start`).
    pub id: String,
    pub name: String,
    /// `generic`, `keycloak`, `authentik`, …
    pub adapter: String,
}

/// `GET /api/auth/sso/providers`: the enabled providers (id, name, adapter) for the login page.
pub fn public_list(db: &dyn Db) -> Result<Vec<LoginProvider>> {
    Ok(list(db)?
        .into_iter()
        .filter(|p| p.enabled)
        .map(|p| LoginProvider {
            id: p.provider_id,
            name: p.name,
            adapter: p.adapter,
        })
        .collect())
}

/// Body of `POST /api/sso-providers` and `PATCH /api/sso-providers/{id}` (absent fields stay).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderInput {
    pub name: Option<String>,
    pub provider_id: Option<String>,
    pub adapter: Option<String>,
    pub issuer: Option<String>,
    pub base_url: Option<String>,
    pub slug: Option<String>,
    pub realm: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub user_info_endpoint: Option<String>,
    pub jwks_endpoint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub domain: Option<String>,
    pub enabled: Option<bool>,
    pub allow_provisioning: Option<bool>,
    /// Link a sign-in to the existing account with the same verified email (default false).
    pub trust_email_linking: Option<bool>,
}

/// 403 unless `who` holds every permission. An SSO provider signs people in, and whoever points
/// it at an identity provider they control decides which identities it asserts: creating,
/// changing or deleting one needs the permissions of the strongest account it could sign in as,
/// which is all of them (a SuperAdmin, or an API key with every permission).
pub fn ensure_may_manage(who: &Principal) -> Result<()> {
    if crate::permissions::all().iter().all(|p| who.has(*p)) {
        Ok(())
    } else {
        Err(IdentityError::Forbidden(
            "SSO providers decide who signs in: creating, changing or deleting one needs every \
             permission (SuperAdmin)"
                .to_owned(),
        ))
    }
}

/// A provider input merged with the stored row and checked, before discovery.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub name: String,
    pub provider_id: String,
    pub adapter: String,
    pub adapter_config: Json,
    pub issuer: String,
    pub client_id: String,
    /// A new secret to seal; `None` keeps the stored one.
    pub client_secret: Option<String>,
    pub domain: Option<String>,
    pub enabled: bool,
    pub allow_provisioning: bool,
    pub trust_email_linking: bool,
    /// Explicit endpoints (generic adapter) that override discovery.
    pub overrides: [Option<String>; 4],
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn cfg(existing: Option<&SsoProvider>, key: &str) -> Option<String> {
    existing
        .and_then(|p| p.adapter_config.get(key))
        .and_then(Json::as_str)
        .map(str::to_owned)
}

/// Merges `input` over `existing` (for PATCH) and validates everything but the network part.
pub fn prepare(input: &ProviderInput, existing: Option<&SsoProvider>) -> Result<Prepared> {
    let pick = |new: &Option<String>, old: Option<String>| text(new).or(old);
    let name = pick(&input.name, existing.map(|p| p.name.clone()))
        .ok_or_else(|| IdentityError::invalid_field("name", "name is required"))?;
    if name.chars().count() > 100 {
        return Err(IdentityError::invalid_field("name", "name is too long"));
    }
    let provider_id = pick(&input.provider_id, existing.map(|p| p.provider_id.clone()))
        .ok_or_else(|| IdentityError::invalid_field("providerId", "providerId is required"))?;
    if provider_id.len() > 64
        || !provider_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(IdentityError::invalid_field(
            "providerId",
            "providerId must be 1-64 of [a-z0-9-_]",
        ));
    }
    let adapter = pick(&input.adapter, existing.map(|p| p.adapter.clone()))
        .ok_or_else(|| IdentityError::invalid_field("adapter", "adapter is required"))?;
    let (issuer_in, base_url, slug, realm) = (
        pick(&input.issuer, cfg(existing, "issuer")),
        pick(&input.base_url, cfg(existing, "baseUrl")),
        pick(&input.slug, cfg(existing, "slug")),
        pick(&input.realm, cfg(existing, "realm")),
    );
    let issuer = oidc::adapter_issuer(
        &adapter,
        issuer_in.as_deref(),
        base_url.as_deref(),
        slug.as_deref(),
        realm.as_deref(),
    )?;
    let overrides = if adapter == "generic" {
        [
            pick(
                &input.authorization_endpoint,
                cfg(existing, "authorizationEndpoint"),
            ),
            pick(&input.token_endpoint, cfg(existing, "tokenEndpoint")),
            pick(&input.user_info_endpoint, cfg(existing, "userInfoEndpoint")),
            pick(&input.jwks_endpoint, cfg(existing, "jwksEndpoint")),
        ]
    } else {
        [None, None, None, None]
    };
    for (field, url) in [
        "authorizationEndpoint",
        "tokenEndpoint",
        "userInfoEndpoint",
        "jwksEndpoint",
    ]
    .into_iter()
    .zip(&overrides)
    {
        if let Some(url) = url {
            oidc::check_url(url, field)?;
        }
    }
    let mut adapter_config = serde_json::Map::new();
    for (k, v) in [
        ("issuer", &issuer_in),
        ("baseUrl", &base_url),
        ("slug", &slug),
        ("realm", &realm),
        ("authorizationEndpoint", &overrides[0]),
        ("tokenEndpoint", &overrides[1]),
        ("userInfoEndpoint", &overrides[2]),
        ("jwksEndpoint", &overrides[3]),
    ] {
        if let Some(v) = v {
            adapter_config.insert(k.to_owned(), json!(v));
        }
    }
    let client_id = pick(&input.client_id, existing.and_then(|p| p.client_id.clone()))
        .ok_or_else(|| IdentityError::invalid_field("clientId", "clientId is required"))?;
    let client_secret = text(&input.client_secret);
    if existing.is_none_or(|p| !p.has_client_secret) && client_secret.is_none() {
        return Err(IdentityError::invalid_field(
            "clientSecret",
            "clientSecret is required",
        ));
    }
    let domain = match &input.domain {
        Some(d) => text(&Some(d.trim().trim_start_matches('@').to_lowercase())),
        None => existing.and_then(|p| p.domain.clone()),
    };
    Ok(Prepared {
        name,
        provider_id,
        adapter,
        adapter_config: Json::Object(adapter_config),
        issuer,
        client_id,
        client_secret,
        domain,
        enabled: input
            .enabled
            .or(existing.map(|p| p.enabled))
            .unwrap_or(true),
        allow_provisioning: input
            .allow_provisioning
            .or(existing.map(|p| p.allow_provisioning))
            .unwrap_or(true),
        trust_email_linking: input
            .trust_email_linking
            .or(existing.map(|p| p.trust_email_linking))
            .unwrap_or(false),
        overrides,
    })
}

fn seal(sbox: &SecretBox, provider_id: &str, secret: &str) -> Result<String> {
    sbox.encrypt(
        secret.as_bytes(),
        &dbackup_core::sealed::sso_client_secret(provider_id),
    )
}

/// The provider's client secret, unsealed (for the token request only).
pub fn client_secret(db: &dyn Db, sbox: &SecretBox, p: &SsoProvider) -> Result<String> {
    let sealed = sql::first(
        db,
        r#"SELECT clientSecret FROM "SsoProvider" WHERE id = ?"#,
        &[p.id.clone().into()],
        |r| r.opt_text("clientSecret"),
    )?
    .flatten()
    .ok_or_else(|| IdentityError::Config("the SSO provider has no client secret".into()))?;
    let bytes = sbox.decrypt(
        &sealed,
        &dbackup_core::sealed::sso_client_secret(&p.provider_id),
    )?;
    String::from_utf8(bytes).map_err(|_| IdentityError::Internal("client secret".into()))
}

/// The authorization, token, userinfo and JWKS endpoints [`save`] stores: an explicit one
/// (generic adapter) over the discovered one; one that discovery left empty (a config restore's
/// provider without it) is none.
pub fn endpoints(p: &Prepared, d: &Discovery) -> [Option<String>; 4] {
    let discovered = [
        Some(&d.authorization_endpoint),
        Some(&d.token_endpoint),
        d.userinfo_endpoint.as_ref(),
        Some(&d.jwks_uri),
    ];
    std::array::from_fn(|i| {
        p.overrides[i]
            .clone()
            .or_else(|| discovered[i].filter(|s| !s.is_empty()).cloned())
    })
}

/// Stores a prepared provider with its validated discovery: inserts (`id` `None`) or updates.
/// 409 for a `providerId` in use.
pub fn save(
    db: &dyn Db,
    sbox: &SecretBox,
    id: Option<&str>,
    p: &Prepared,
    d: &Discovery,
    now: Timestamp,
) -> Result<SsoProvider> {
    let [auth, token, userinfo, jwks] = endpoints(p, d);
    let sealed = p
        .client_secret
        .as_deref()
        .map(|s| seal(sbox, &p.provider_id, s))
        .transpose()?;
    let config = p.adapter_config.to_string();
    let result = match id {
        None => {
            let new_id = sql::new_id()?;
            sql::exec(
                db,
                r#"INSERT INTO "SsoProvider" (id, providerId, type, domain, issuer,
                       authorizationEndpoint, tokenEndpoint, userInfoEndpoint, jwksEndpoint,
                       clientId, clientSecret, adapterId, adapterConfig, name, enabled,
                       allowProvisioning, trustEmailLinking, createdAt, updatedAt)
                   VALUES (?, ?, 'oidc', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
                &[
                    new_id.clone().into(),
                    p.provider_id.clone().into(),
                    p.domain.clone().into(),
                    d.issuer.clone().into(),
                    auth.into(),
                    token.into(),
                    userinfo.into(),
                    jwks.into(),
                    p.client_id.clone().into(),
                    sealed.into(),
                    p.adapter.clone().into(),
                    config.into(),
                    p.name.clone().into(),
                    i64::from(p.enabled).into(),
                    i64::from(p.allow_provisioning).into(),
                    i64::from(p.trust_email_linking).into(),
                    now.iso().into(),
                    now.iso().into(),
                ],
            )
            .map(|_| new_id)
        }
        Some(id) => {
            // A renamed providerId re-seals the secret under its new context.
            let secret_sql = match &sealed {
                Some(_) => "clientSecret = ?,",
                None => "",
            };
            let mut params: Vec<dbackup_core::db::Value> = vec![
                p.provider_id.clone().into(),
                p.domain.clone().into(),
                d.issuer.clone().into(),
                auth.into(),
                token.into(),
                userinfo.into(),
                jwks.into(),
                p.client_id.clone().into(),
            ];
            if let Some(s) = sealed {
                params.push(s.into());
            }
            params.extend([
                p.adapter.clone().into(),
                config.into(),
                p.name.clone().into(),
                i64::from(p.enabled).into(),
                i64::from(p.allow_provisioning).into(),
                i64::from(p.trust_email_linking).into(),
                now.iso().into(),
                id.into(),
            ]);
            sql::exec(
                db,
                &format!(
                    r#"UPDATE "SsoProvider" SET providerId = ?, domain = ?, issuer = ?,
                       authorizationEndpoint = ?, tokenEndpoint = ?, userInfoEndpoint = ?,
                       jwksEndpoint = ?, clientId = ?, {secret_sql} adapterId = ?,
                       adapterConfig = ?, name = ?, enabled = ?, allowProvisioning = ?,
                       trustEmailLinking = ?, updatedAt = ? WHERE id = ?"#
                ),
                &params,
            )
            .map(|_| id.to_owned())
        }
    };
    let id = match result {
        Err(e) if sql::is_unique_violation(&e) => {
            return Err(IdentityError::Conflict(format!(
                "providerId {:?} is in use",
                p.provider_id
            )))
        }
        other => other?,
    };
    get(db, &id)
}

/// Whether a PATCH renames the provider while keeping its sealed secret (then the secret must
/// be re-sealed under the new name: the caller passes it again, or this refuses).
pub fn rename_needs_secret(existing: &SsoProvider, p: &Prepared) -> bool {
    existing.provider_id != p.provider_id && p.client_secret.is_none()
}

/// Deletes a provider and the accounts linked through it.
pub fn delete(db: &dyn Db, id: &str) -> Result<SsoProvider> {
    let p = get(db, id)?;
    sql::transaction(db, || {
        sql::exec(
            db,
            r#"DELETE FROM "Account" WHERE providerId = ?"#,
            &[p.provider_id.clone().into()],
        )?;
        sql::exec(
            db,
            r#"DELETE FROM "SsoProvider" WHERE id = ?"#,
            &[p.id.clone().into()],
        )
    })?;
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------------

/// What the start of an SSO login stores (bound to `state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginState {
    pub provider: String,
    pub nonce: String,
    pub code_verifier: String,
    pub redirect_uri: String,
    /// Set when a signed-in user started linking this provider to their account: the callback
    /// links the identity to this user (and only in a session of this user) instead of signing in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_user: Option<String>,
}

/// A started login: where to send the browser, and the `state` to bind to it (the state cookie,
/// see [`crate::cookie::set_sso_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub url: String,
    pub state: String,
}

/// Starts a login with `provider` (or, with `link_user`, the linking of that signed-in user's
/// account): stores state, nonce and PKCE verifier; returns the authorization URL to redirect
/// to and the state.
pub fn start(
    db: &dyn Db,
    provider: &SsoProvider,
    redirect_uri: &str,
    link_user: Option<&str>,
    now: Timestamp,
) -> Result<Started> {
    let endpoint = provider
        .authorization_endpoint
        .as_deref()
        .ok_or_else(|| IdentityError::Config("the SSO provider has no endpoints".into()))?;
    let client_id = provider.client_id.as_deref().unwrap_or_default();
    let state = LoginState {
        provider: provider.id.clone(),
        nonce: sql::random_hex(16)?,
        code_verifier: crate::webauthn::b64url(
            &hex::decode(sql::random_hex(32)?).unwrap_or_default(),
        ),
        redirect_uri: redirect_uri.to_owned(),
        link_user: link_user.map(str::to_owned),
    };
    let data = serde_json::to_string(&state).map_err(|e| IdentityError::Internal(e.to_string()))?;
    let key = passkeys::store_challenge(db, "sso", link_user, Some(&data), STATE_TTL_SECS, now)?;
    let url = oidc::authorization_url(
        endpoint,
        client_id,
        redirect_uri,
        &key,
        &state.nonce,
        &state.code_verifier,
    );
    Ok(Started { url, state: key })
}

/// Whether the callback's `state` is the one this browser's state cookie carries (compared in
/// constant time). A state without its cookie was started elsewhere: a link that would sign
/// this browser in to someone else's account (login CSRF).
pub fn state_cookie_matches(state: &str, cookie_header: &str) -> bool {
    use subtle::ConstantTimeEq;
    crate::cookie::read(cookie_header, crate::cookie::SSO_STATE_COOKIE)
        .is_some_and(|c| c.len() == state.len() && bool::from(c.as_bytes().ct_eq(state.as_bytes())))
}

/// Consumes the state of a login (single use); `None` if unknown, used or expired.
pub fn take_state(db: &dyn Db, state: &str, now: Timestamp) -> Result<Option<LoginState>> {
    Ok(passkeys::take_challenge(db, state, "sso", now)?
        .and_then(|r| r.data)
        .and_then(|d| serde_json::from_str(&d).ok()))
}

/// Why an SSO login failed: the short code the login page shows (`/login?error=<code>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoFailure {
    pub code: &'static str,
    pub reason: String,
}

impl SsoFailure {
    /// A failure with its code and an explanation for the audit log.
    pub fn new(code: &'static str, reason: impl Into<String>) -> SsoFailure {
        SsoFailure {
            code,
            reason: reason.into(),
        }
    }
}

fn account_user(db: &dyn Db, provider_slug: &str, sub: &str) -> Result<Option<String>> {
    sql::first(
        db,
        r#"SELECT userId FROM "Account" WHERE providerId = ? AND accountId = ?"#,
        &[provider_slug.into(), sub.into()],
        |r| r.text("userId"),
    )
}

fn link(db: &dyn Db, provider_slug: &str, sub: &str, user_id: &str, now: Timestamp) -> Result<()> {
    sql::exec(
        db,
        r#"INSERT INTO "Account" (id, accountId, providerId, userId, createdAt, updatedAt)
           VALUES (?, ?, ?, ?, ?, ?)"#,
        &[
            sql::new_id()?.into(),
            sub.into(),
            provider_slug.into(),
            user_id.into(),
            now.iso().into(),
            now.iso().into(),
        ],
    )
}

fn provision(db: &dyn Db, email: &str, name: &str, now: Timestamp) -> Result<String> {
    let id = sql::new_id()?;
    sql::exec(
        db,
        r#"INSERT INTO "User" (id, name, email, emailVerified, createdAt, updatedAt, groupId)
           VALUES (?, ?, ?, 1, ?, ?, NULL)"#,
        &[
            id.clone().into(),
            name.into(),
            email.into(),
            now.iso().into(),
            now.iso().into(),
        ],
    )?;
    Ok(id)
}

/// How the user of a verified ID token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Linked,
    LinkedByEmail,
    Provisioned,
}

impl Resolution {
    fn as_str(self) -> &'static str {
        match self {
            Resolution::Linked => "linked",
            Resolution::LinkedByEmail => "linkedByEmail",
            Resolution::Provisioned => "provisioned",
        }
    }
}

/// The email of a verified ID token, if the provider may use it: present, verified by the
/// provider, and within the provider's `domain` when one is set.
fn usable_email(
    provider: &SsoProvider,
    claims: &IdClaims,
) -> std::result::Result<String, SsoFailure> {
    let Some(email) = claims.email.clone().filter(|e| !e.is_empty()) else {
        return Err(SsoFailure::new("sso_no_email", "the ID token has no email"));
    };
    if !claims.email_verified {
        return Err(SsoFailure::new(
            "sso_email_unverified",
            format!("{email} is not verified by the provider"),
        ));
    }
    if let Some(domain) = &provider.domain {
        if !email.ends_with(&format!("@{domain}")) {
            return Err(SsoFailure::new(
                "sso_domain",
                format!("{email} is not in {domain}"),
            ));
        }
    }
    Ok(email)
}

/// The user a verified ID token signs in: by (provider, sub), else — only if the provider is
/// trusted for email linking — by verified email (then linked), else provisioned if allowed.
/// An existing account is never reached through an untrusted provider's email claim (its
/// owner links it while signed in). `Err(Ok(failure))` is a refusal to show the user.
pub fn resolve_user(
    db: &dyn Db,
    provider: &SsoProvider,
    claims: &IdClaims,
    now: Timestamp,
) -> Result<std::result::Result<(User, Resolution), SsoFailure>> {
    sql::transaction(db, || {
        if let Some(user_id) = account_user(db, &provider.provider_id, &claims.sub)? {
            return Ok(Ok((users::get(db, &user_id)?, Resolution::Linked)));
        }
        let email = match usable_email(provider, claims) {
            Ok(email) => email,
            Err(failure) => return Ok(Err(failure)),
        };
        if let Some(user) = users::find_by_email(db, &email)? {
            if !provider.trust_email_linking {
                return Ok(Err(SsoFailure::new(
                    "sso_link_required",
                    format!(
                        "an account with {email} exists and {} is not trusted to link by email: \
                         its owner links it under Profile → Linked accounts",
                        provider.provider_id
                    ),
                )));
            }
            link(db, &provider.provider_id, &claims.sub, &user.id, now)?;
            return Ok(Ok((user, Resolution::LinkedByEmail)));
        }
        if !provider.allow_provisioning {
            return Ok(Err(SsoFailure::new(
                "sso_no_account",
                format!("no account for {email} and provisioning is off"),
            )));
        }
        let name = claims
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| email.clone());
        let name: String = name.chars().take(users::MAX_NAME_CHARS).collect();
        let id = provision(db, &email, &name, now)?;
        link(db, &provider.provider_id, &claims.sub, &id, now)?;
        Ok(Ok((users::get(db, &id)?, Resolution::Provisioned)))
    })
}

/// What a verified ID token leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoSignIn {
    /// Signed in: set the session cookie.
    SignedIn(Box<LoggedIn>),
    /// The account has a second factor: SSO took the place of the password only. The client
    /// continues like after a right password (`POST /api/auth/login/2fa` with the challenge, or
    /// a passkey with it as `twoFactorChallenge`).
    SecondFactorRequired {
        challenge: String,
        methods: Vec<&'static str>,
    },
}

/// Signs in the user of a verified ID token (audited with how they were found); an account with
/// 2FA gets a second-factor challenge instead of a session.
pub fn sign_in(
    db: &dyn Db,
    provider: &SsoProvider,
    claims: &IdClaims,
    client: ClientInfo<'_>,
    secret: &str,
    now: Timestamp,
) -> Result<std::result::Result<SsoSignIn, SsoFailure>> {
    let (user, how) = match resolve_user(db, provider, claims, now)? {
        Ok(found) => found,
        Err(failure) => return Ok(Err(failure)),
    };
    if how == Resolution::Provisioned {
        audit::write(
            db,
            &login::audit_event(
                client,
                Some(&user.id),
                audit::action::CREATE,
                audit::resource::USER,
                json!({ "email": user.email, "via": "sso", "provider": provider.provider_id }),
            ),
            now,
        )?;
    }
    audit::write(
        db,
        &login::audit_event(
            client,
            Some(&user.id),
            audit::action::UPDATE,
            AUDIT_RESOURCE,
            json!({ "event": how.as_str(), "provider": provider.provider_id, "sub": claims.sub }),
        ),
        now,
    )?;
    if let Some(methods) = login::second_factor_methods(db, &user.id)? {
        return Ok(Ok(SsoSignIn::SecondFactorRequired {
            challenge: crate::token::issue_challenge(secret, &user.id, now)?,
            methods,
        }));
    }
    Ok(Ok(SsoSignIn::SignedIn(Box::new(login::start_session(
        db,
        user,
        client,
        &format!("sso:{}", provider.provider_id),
        secret,
        now,
    )?))))
}

/// Body of `POST /api/profile/accounts/link`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkRequest {
    /// The provider to link (its `providerId`).
    pub provider_id: String,
}

/// Answer of `POST /api/profile/accounts/link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LinkStart {
    /// The provider's authorization URL: send the browser there (the state cookie is set).
    pub url: String,
}

/// Links the identity of a verified ID token to `user_id`, at the end of a link its owner
/// started while signed in (the callback checked that the session is still theirs). Refused
/// when the identity is linked to another account, or (with a `domain`) its email is not a
/// verified one of that domain. Audited as `linkedByUser`.
pub fn link_to_user(
    db: &dyn Db,
    provider: &SsoProvider,
    claims: &IdClaims,
    user_id: &str,
    client: ClientInfo<'_>,
    now: Timestamp,
) -> Result<std::result::Result<(), SsoFailure>> {
    if provider.domain.is_some() {
        if let Err(failure) = usable_email(provider, claims) {
            return Ok(Err(failure));
        }
    }
    let linked = sql::transaction(db, || {
        match account_user(db, &provider.provider_id, &claims.sub)? {
            Some(owner) if owner == user_id => Ok(Ok(false)),
            Some(_) => Ok(Err(SsoFailure::new(
                "sso_already_linked",
                format!(
                    "{} identity {} is linked to another account",
                    provider.provider_id, claims.sub
                ),
            ))),
            None => link(db, &provider.provider_id, &claims.sub, user_id, now).map(|()| Ok(true)),
        }
    })?;
    match linked {
        Ok(true) => {
            audit::write(
                db,
                &login::audit_event(
                    client,
                    Some(user_id),
                    audit::action::UPDATE,
                    AUDIT_RESOURCE,
                    json!({ "event": "linkedByUser", "provider": provider.provider_id,
                            "sub": claims.sub }),
                ),
                now,
            )?;
            Ok(Ok(()))
        }
        Ok(false) => Ok(Ok(())),
        Err(failure) => Ok(Err(failure)),
    }
}

/// Audits a failed SSO login.
pub fn audit_failure(
    db: &dyn Db,
    client: ClientInfo<'_>,
    provider: Option<&str>,
    failure: &SsoFailure,
    now: Timestamp,
) -> Result<()> {
    audit::write(
        db,
        &login::audit_event(
            client,
            None,
            audit::action::LOGIN_FAILED,
            audit::resource::AUTH,
            json!({ "method": "sso", "provider": provider, "error": failure.code,
                    "reason": failure.reason }),
        ),
        now,
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The caller's linked accounts
// ---------------------------------------------------------------------------------------------

/// One SSO account linked to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LinkedAccount {
    pub id: String,
    pub provider_id: String,
    /// Null when the provider was deleted.
    pub provider_name: Option<String>,
    /// The subject at the identity provider.
    pub account_id: String,
    pub created_at: String,
}

/// `GET /api/profile/accounts`: the linked accounts and the other ways to sign in (unlinking
/// the last way is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LinkedAccounts {
    pub accounts: Vec<LinkedAccount>,
    pub has_password: bool,
    /// How many passkeys the user has.
    pub passkeys: usize,
}

/// `GET /api/profile/accounts`: the user's SSO links and the other ways they can sign in.
pub fn linked_accounts(db: &dyn Db, user_id: &str) -> Result<LinkedAccounts> {
    let accounts = sql::all(
        db,
        r#"SELECT a.id, a.providerId, a.accountId, a.createdAt, p.name AS providerName
           FROM "Account" a LEFT JOIN "SsoProvider" p ON p.providerId = a.providerId
           WHERE a.userId = ? AND a.providerId != ? ORDER BY a.createdAt, a.id"#,
        &[user_id.into(), users::CREDENTIAL_PROVIDER.into()],
        |r| {
            Ok(LinkedAccount {
                id: r.text("id")?,
                provider_id: r.text("providerId")?,
                provider_name: r.opt_text("providerName")?,
                account_id: r.text("accountId")?,
                created_at: r.text("createdAt")?,
            })
        },
    )?;
    Ok(LinkedAccounts {
        accounts,
        has_password: users::password_hash(db, user_id)?.is_some(),
        passkeys: passkeys::list(db, user_id)?.len(),
    })
}

/// `DELETE /api/profile/accounts/{id}`: unlinks one of the user's SSO accounts. 404 for anyone
/// else's; 409 when it is the last way to sign in (no password, no other link, and no passkey
/// usable for login).
pub fn unlink(db: &dyn Db, user_id: &str, account_id: &str) -> Result<String> {
    sql::transaction(db, || {
        let provider = sql::first(
            db,
            r#"SELECT providerId FROM "Account" WHERE id = ? AND userId = ? AND providerId != ?"#,
            &[
                account_id.into(),
                user_id.into(),
                users::CREDENTIAL_PROVIDER.into(),
            ],
            |r| r.text("providerId"),
        )?
        .ok_or(IdentityError::NotFound("linked account"))?;
        let other_links = sql::scalar_i64(
            db,
            r#"SELECT COUNT(*) FROM "Account" WHERE userId = ? AND id != ? AND providerId != ?"#,
            &[
                user_id.into(),
                account_id.into(),
                users::CREDENTIAL_PROVIDER.into(),
            ],
        )?;
        let password = users::password_hash(db, user_id)?.is_some();
        let passkey_login =
            !passkeys::passkey_login_disabled(db)? && !passkeys::list(db, user_id)?.is_empty();
        if other_links == 0 && !password && !passkey_login {
            return Err(IdentityError::Conflict(
                "this is your last way to sign in: set a password or add a passkey first".into(),
            ));
        }
        sql::exec(
            db,
            r#"DELETE FROM "Account" WHERE id = ?"#,
            &[account_id.into()],
        )?;
        Ok(provider)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    const CLIENT: ClientInfo<'static> = ClientInfo {
        ip: Some("10.0.0.9"),
        user_agent: Some("test-agent"),
    };

    fn discovery(issuer: &str) -> Discovery {
        Discovery {
            issuer: issuer.into(),
            authorization_endpoint: format!("{issuer}/auth"),
            token_endpoint: format!("{issuer}/token"),
            userinfo_endpoint: None,
            jwks_uri: format!("{issuer}/jwks"),
            token_endpoint_auth_methods_supported: None,
        }
    }

    fn input(v: Json) -> ProviderInput {
        serde_json::from_value(v).unwrap()
    }

    fn provider(db: &TestDb, domain: Option<&str>, provisioning: bool) -> SsoProvider {
        let sbox = SecretBox::from_hex_key(KEY).unwrap();
        let p = prepare(
            &input(
                json!({"name": "IdP", "providerId": "idp", "adapter": "keycloak",
                "baseUrl": "https://kc.example/", "realm": "main", "clientId": "app",
                "clientSecret": "s3cret", "domain": domain, "allowProvisioning": provisioning}),
            ),
            None,
        )
        .unwrap();
        assert_eq!(p.issuer, "https://kc.example/realms/main");
        assert!(!p.trust_email_linking, "off by default");
        save(db, &sbox, None, &p, &discovery(&p.issuer), NOW).unwrap()
    }

    /// `p` with `trustEmailLinking` turned on (PATCH semantics: the rest stays).
    fn trusted(db: &TestDb, p: &SsoProvider) -> SsoProvider {
        let sbox = SecretBox::from_hex_key(KEY).unwrap();
        let prepared = prepare(&input(json!({"trustEmailLinking": true})), Some(p)).unwrap();
        save(
            db,
            &sbox,
            Some(&p.id),
            &prepared,
            &discovery(&prepared.issuer),
            NOW,
        )
        .unwrap()
    }

    fn claims(sub: &str, email: &str, verified: bool) -> IdClaims {
        IdClaims {
            sub: sub.into(),
            email: Some(email.into()),
            email_verified: verified,
            name: Some("Someone".into()),
        }
    }

    #[test]
    fn secret_is_sealed_and_never_shown() {
        let db = TestDb::migrated();
        let p = provider(&db, None, true);
        assert!(p.has_client_secret);
        assert!(!serde_json::to_string(&p).unwrap().contains("s3cret"));
        let stored = db
            .text(r#"SELECT clientSecret FROM "SsoProvider""#)
            .unwrap();
        assert!(stored.starts_with("v1:") && !stored.contains("s3cret"));
        let sbox = SecretBox::from_hex_key(KEY).unwrap();
        assert_eq!(client_secret(&db, &sbox, &p).unwrap(), "s3cret");
        // PATCH without a secret keeps it; renaming needs it again.
        let patch = input(json!({"name": "Renamed"}));
        let prepared = prepare(&patch, Some(&p)).unwrap();
        assert_eq!(prepared.client_secret, None);
        assert!(!rename_needs_secret(&p, &prepared));
        let renamed = prepare(&input(json!({"providerId": "other"})), Some(&p)).unwrap();
        assert!(rename_needs_secret(&p, &renamed));
    }

    #[test]
    fn inputs_are_validated() {
        for (body, field) in [
            (
                json!({"providerId": "x", "adapter": "generic", "issuer": "https://i",
                    "clientId": "c", "clientSecret": "s"}),
                "name",
            ),
            (
                json!({"name": "n", "providerId": "UPPER", "adapter": "generic",
                    "issuer": "https://i", "clientId": "c", "clientSecret": "s"}),
                "providerId",
            ),
            (
                json!({"name": "n", "providerId": "x", "adapter": "authentik",
                    "baseUrl": "https://a", "clientId": "c", "clientSecret": "s"}),
                "slug",
            ),
            (
                json!({"name": "n", "providerId": "x", "adapter": "generic",
                    "issuer": "https://i", "clientId": "c"}),
                "clientSecret",
            ),
        ] {
            let err = prepare(&input(body), None).unwrap_err();
            assert_eq!(
                err,
                IdentityError::Validation {
                    message: err.to_string(),
                    details: Some(json!({ "field": field })),
                },
                "{field}"
            );
        }
        assert!(serde_json::from_value::<ProviderInput>(json!({"bogus": 1})).is_err());
    }

    #[test]
    fn users_are_found_linked_or_provisioned() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let p = trusted(&db, &provider(&db, None, true));
        assert!(p.trust_email_linking);
        // A trusted provider: a verified email links the existing user, then the link is used.
        let (u, how) = resolve_user(&db, &p, &claims("s1", "a@example.com", true), NOW)
            .unwrap()
            .unwrap();
        assert_eq!((u.id.as_str(), how), ("a", Resolution::LinkedByEmail));
        let (u, how) = resolve_user(&db, &p, &claims("s1", "changed@x", false), NOW)
            .unwrap()
            .unwrap();
        assert_eq!((u.id.as_str(), how), ("a", Resolution::Linked));
        // An unverified email never links.
        let f = resolve_user(&db, &p, &claims("s2", "a@example.com", false), NOW)
            .unwrap()
            .unwrap_err();
        assert_eq!(f.code, "sso_email_unverified");
        // Provisioning: a user without a group and without a password.
        let (u, how) = resolve_user(&db, &p, &claims("s3", "new@example.org", true), NOW)
            .unwrap()
            .unwrap();
        assert_eq!(how, Resolution::Provisioned);
        assert_eq!(u.group_id, None);
        assert_eq!(users::password_hash(&db, &u.id).unwrap(), None);
        // The last way to sign in cannot be unlinked; with a password it can.
        let link = db
            .text(&format!(
                r#"SELECT id FROM "Account" WHERE userId = '{}'"#,
                u.id
            ))
            .unwrap();
        assert!(matches!(
            unlink(&db, &u.id, &link),
            Err(IdentityError::Conflict(_))
        ));
        assert_eq!(
            unlink(&db, "a", &link),
            Err(IdentityError::NotFound("linked account"))
        );
        let a_link = db
            .text(r#"SELECT id FROM "Account" WHERE userId = 'a' AND providerId = 'idp'"#)
            .unwrap();
        assert_eq!(unlink(&db, "a", &a_link).unwrap(), "idp");
    }

    #[test]
    fn an_untrusted_provider_never_reaches_an_existing_account_by_email() {
        let db = TestDb::migrated();
        insert_super_admin_group(&db);
        insert_user(&db, "admin", Some("sa"));
        let p = provider(&db, None, true);
        // The IdP asserts the SuperAdmin's verified email: refused, nothing linked or created.
        let f = resolve_user(&db, &p, &claims("evil", "admin@example.com", true), NOW)
            .unwrap()
            .unwrap_err();
        assert_eq!(f.code, "sso_link_required");
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "Account" WHERE providerId = 'idp'"#),
            0
        );
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "User""#), 1);
        // The owner links it while signed in; then the identity signs in to that account.
        link_to_user(
            &db,
            &p,
            &claims("mine", "x@y.z", false),
            "admin",
            CLIENT,
            NOW,
        )
        .unwrap()
        .unwrap();
        let (u, how) = resolve_user(&db, &p, &claims("mine", "x@y.z", false), NOW)
            .unwrap()
            .unwrap();
        assert_eq!((u.id.as_str(), how), ("admin", Resolution::Linked));
        // Linking again is a no-op; an identity linked to someone else is refused.
        link_to_user(
            &db,
            &p,
            &claims("mine", "x@y.z", false),
            "admin",
            CLIENT,
            NOW,
        )
        .unwrap()
        .unwrap();
        insert_user(&db, "b", None);
        let f = link_to_user(&db, &p, &claims("mine", "x@y.z", false), "b", CLIENT, NOW)
            .unwrap()
            .unwrap_err();
        assert_eq!(f.code, "sso_already_linked");
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "AuditLog" WHERE details LIKE '%"linkedByUser"%'"#),
            1
        );
    }

    #[test]
    fn sso_never_skips_the_second_factor() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let sbox = SecretBox::from_hex_key(KEY).unwrap();
        enable_two_factor(&db, &sbox, "a");
        let p = trusted(&db, &provider(&db, None, true));
        let sign_in_as = |sub: &str, email: &str| {
            sign_in(&db, &p, &claims(sub, email, true), CLIENT, SECRET, NOW)
                .unwrap()
                .unwrap()
        };
        let outcome = sign_in_as("s1", "a@example.com");
        let SsoSignIn::SecondFactorRequired { challenge, methods } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(methods, vec!["totp"]);
        assert_eq!(
            crate::token::verify_challenge(SECRET, &challenge, NOW).unwrap(),
            "a"
        );
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Session""#), 0);
        // Without 2FA: a session at once.
        insert_user(&db, "b", None);
        let outcome = sign_in_as("s2", "b@example.com");
        assert!(matches!(outcome, SsoSignIn::SignedIn(_)), "{outcome:?}");
    }

    #[test]
    fn writing_providers_needs_every_permission() {
        use crate::authorize::Principal;
        use crate::groups::GroupGrant;
        use crate::permissions::{Permission, SUPER_ADMIN_GROUP};
        let user = |name: &str, perms: crate::permissions::PermissionSet| Principal::User {
            user_id: "u".into(),
            session_id: "s".into(),
            group: Some(GroupGrant {
                id: "g".into(),
                name: name.into(),
                permissions: perms,
            }),
        };
        let settings: crate::permissions::PermissionSet =
            [Permission::SettingsWrite, Permission::SettingsRead].into();
        let err = ensure_may_manage(&user("Admins", settings)).unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(ensure_may_manage(&user(SUPER_ADMIN_GROUP, Default::default())).is_ok());
        assert!(ensure_may_manage(&user("All", crate::permissions::all())).is_ok());
        let key = |perms| Principal::ApiKey {
            key_id: "k".into(),
            user_id: "u".into(),
            permissions: perms,
        };
        assert!(ensure_may_manage(&key(crate::permissions::all())).is_ok());
        let mut almost = crate::permissions::all();
        almost.remove(&Permission::UsersWrite);
        assert!(ensure_may_manage(&key(almost)).is_err());
    }

    #[test]
    fn provider_urls_are_checked_for_metadata_addresses() {
        let body = json!({"name": "n", "providerId": "x", "adapter": "generic",
            "issuer": "https://id.example", "jwksEndpoint": "http://169.254.169.254/keys",
            "clientId": "c", "clientSecret": "s"});
        let err = prepare(&input(body), None).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("jwksEndpoint"), "{err}");
    }

    #[test]
    fn provisioning_off_and_domain() {
        let db = TestDb::migrated();
        insert_user(&db, "b", None);
        let p = provider(&db, Some("@Example.com"), false);
        assert_eq!(p.domain.as_deref(), Some("example.com"));
        let f = resolve_user(&db, &p, &claims("s1", "x@other.org", true), NOW)
            .unwrap()
            .unwrap_err();
        assert_eq!(f.code, "sso_domain");
        let f = resolve_user(&db, &p, &claims("s1", "new@example.com", true), NOW)
            .unwrap()
            .unwrap_err();
        assert_eq!(f.code, "sso_no_account");
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "User""#), 1);
        let mut no_email = claims("s1", "", true);
        no_email.email = None;
        let f = resolve_user(&db, &p, &no_email, NOW).unwrap().unwrap_err();
        assert_eq!(f.code, "sso_no_email");
        // A trusted provider links existing users by email with provisioning off.
        let p = trusted(&db, &p);
        assert!(
            resolve_user(&db, &p, &claims("s1", "b@example.com", true), NOW)
                .unwrap()
                .is_ok()
        );
        // Explicit links honour the domain too.
        let f = link_to_user(
            &db,
            &p,
            &claims("s9", "b@other.org", true),
            "b",
            CLIENT,
            NOW,
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(f.code, "sso_domain");
    }

    #[test]
    fn start_stores_a_single_use_state() {
        let db = TestDb::migrated();
        let p = provider(&db, None, true);
        let started = start(&db, &p, "https://app/cb", None, NOW).unwrap();
        let params = oidc::query_params(started.url.split_once('?').unwrap().1);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("code_challenge_method"), "S256");
        assert_eq!(get("state"), started.state);
        let state = take_state(&db, &get("state"), NOW).unwrap().unwrap();
        assert_eq!(state.nonce, get("nonce"));
        assert_eq!(state.link_user, None);
        assert_eq!(
            oidc::pkce_challenge(&state.code_verifier),
            get("code_challenge")
        );
        assert_eq!(take_state(&db, &get("state"), NOW).unwrap(), None);
        // Expired states are refused.
        let st = start(&db, &p, "https://app/cb", None, NOW).unwrap().state;
        assert_eq!(
            take_state(&db, &st, NOW.plus_secs(STATE_TTL_SECS + 1)).unwrap(),
            None
        );
        // A link records its user.
        insert_user(&db, "a", None);
        let st = start(&db, &p, "https://app/cb", Some("a"), NOW)
            .unwrap()
            .state;
        let state = take_state(&db, &st, NOW).unwrap().unwrap();
        assert_eq!(state.link_user.as_deref(), Some("a"));
    }

    #[test]
    fn the_state_must_come_with_its_cookie() {
        let cookie =
            |v: &str| format!("dbackup_session=x; {}={v}", crate::cookie::SSO_STATE_COOKIE);
        assert!(state_cookie_matches("abc", &cookie("abc")));
        assert!(!state_cookie_matches("abc", &cookie("abd")));
        assert!(!state_cookie_matches("abc", &cookie("abcd")));
        assert!(!state_cookie_matches("abc", "dbackup_session=x"));
        assert!(!state_cookie_matches("", ""));
    }
}
