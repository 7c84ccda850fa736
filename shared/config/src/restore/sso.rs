//! SSO providers, restored through `dbackup_identity::sso` as `POST /api/sso-providers` and
//! `PATCH /api/sso-providers/{id}` check ([`sso::prepare`]) and store ([`sso::save`]) them.
//! The endpoints the backed-up install discovered stand in for a discovery (a restore calls no
//! identity provider); a client secret is sealed again under this install's key.

use dbackup_core::{net, ApiError};
use dbackup_identity::oidc::Discovery;
use dbackup_identity::sso;
use serde_json::{Map, Value};

use super::{about, bad, opt_str, required, ChangeAction, Restorer};
use crate::access;
use crate::sql::{rows, text};

impl Restorer<'_> {
    pub(super) fn sso_providers(&mut self) -> Result<(), ApiError> {
        for (i, p) in self.doc.sso_providers.iter().enumerate() {
            let what = format!("ssoProviders[{i}]");
            let provider_id = required(p, "providerId", &what)?;
            required(p, "name", &what)?;
            required(p, "adapterId", &what)?;
            let (mut prepared, discovery) = checked_provider(&provider_id, p)?;
            let secret = opt_str(p, "clientSecret").filter(|s| !s.trim().is_empty());
            let existing = rows(
                self.db,
                r#"SELECT "id" FROM "SsoProvider" WHERE "providerId" = ?"#,
                &[provider_id.as_str().into()],
            )?;
            if let Some(id) = existing.first().and_then(|r| text(r, "id")) {
                let current = sso::get(self.db, &id)?;
                let stored_secret = sso::client_secret(self.db, self.sealer, &current).ok();
                prepared.client_secret = secret.filter(|s| stored_secret.as_ref() != Some(s));
                let changed =
                    prepared.client_secret.is_some() || differs(&current, &prepared, &discovery);
                if changed {
                    self.may_change_sso(&provider_id)?;
                    sso::save(
                        self.db,
                        self.sealer,
                        Some(&id),
                        &prepared,
                        &discovery,
                        self.now_ts,
                    )
                    .map_err(|e| about("ssoProvider", &provider_id, e))?;
                }
                let action = if changed {
                    ChangeAction::Update
                } else {
                    ChangeAction::Unchanged
                };
                self.change("ssoProvider", action, &provider_id, None);
                continue;
            }
            let mut reason = None;
            if secret.is_none() {
                let r = "client secret not in the backup: enter it again".to_owned();
                self.warnings
                    .push(format!("SSO provider {provider_id:?}: {r}"));
                reason = Some(r);
            }
            prepared.client_secret = secret;
            self.may_change_sso(&provider_id)?;
            sso::save(
                self.db,
                self.sealer,
                None,
                &prepared,
                &discovery,
                self.now_ts,
            )
            .map_err(|e| about("ssoProvider", &provider_id, e))?;
            self.change("ssoProvider", ChangeAction::Create, &provider_id, reason);
        }
        Ok(())
    }

    /// An SSO provider decides who signs in: creating or changing one through a restore needs
    /// what the SSO provider API needs (every permission, `sso::ensure_may_manage`).
    fn may_change_sso(&self, provider_id: &str) -> Result<(), ApiError> {
        access::may_call(self.who, "POST", "/api/sso-providers")
            .and_then(|()| sso::ensure_may_manage(self.who).map_err(ApiError::from))
            .map_err(|e| about("ssoProvider", provider_id, e))
    }
}

/// Whether storing `p` with `d` would change `current` (the client secret aside).
fn differs(current: &sso::SsoProvider, p: &sso::Prepared, d: &Discovery) -> bool {
    let [auth, token, userinfo, jwks] = sso::endpoints(p, d);
    current.name != p.name
        || current.adapter != p.adapter
        || current.adapter_config != p.adapter_config
        || current.issuer.as_deref() != Some(d.issuer.as_str())
        || current.authorization_endpoint != auth
        || current.token_endpoint != token
        || current.user_info_endpoint != userinfo
        || current.jwks_endpoint != jwks
        || current.client_id.as_deref() != Some(p.client_id.as_str())
        || current.domain != p.domain
        || current.enabled != p.enabled
        || current.allow_provisioning != p.allow_provisioning
        || current.trust_email_linking != p.trust_email_linking
}

/// Checks an SSO provider of the document as `POST /api/sso-providers` checks its input
/// ([`sso::prepare`]: name, providerId, adapter and the issuer it implies, clientId, …) and
/// every URL the server would call (issuer and discovered endpoints) with the outbound-address
/// rule (`dbackup_core::net`). A client secret missing from the document is allowed (the
/// provider is restored without it, with a warning): the prepared provider carries none, the
/// caller sets it. The document's endpoints are the discovery to store.
fn checked_provider(
    provider_id: &str,
    p: &Map<String, Value>,
) -> Result<(sso::Prepared, Discovery), ApiError> {
    let config: Map<String, Value> = match p.get("adapterConfig") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let from_config = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_owned);
    let input = sso::ProviderInput {
        name: opt_str(p, "name"),
        provider_id: Some(provider_id.to_owned()),
        adapter: opt_str(p, "adapterId"),
        issuer: from_config("issuer").or_else(|| opt_str(p, "issuer")),
        base_url: from_config("baseUrl"),
        slug: from_config("slug"),
        realm: from_config("realm"),
        authorization_endpoint: from_config("authorizationEndpoint"),
        token_endpoint: from_config("tokenEndpoint"),
        user_info_endpoint: from_config("userInfoEndpoint"),
        jwks_endpoint: from_config("jwksEndpoint"),
        client_id: opt_str(p, "clientId"),
        // Only its presence is checked here; a backup without secrets has none.
        client_secret: Some("-".into()),
        domain: opt_str(p, "domain"),
        enabled: p.get("enabled").and_then(Value::as_bool),
        allow_provisioning: p.get("allowProvisioning").and_then(Value::as_bool),
        trust_email_linking: p.get("trustEmailLinking").and_then(Value::as_bool),
    };
    let mut prepared =
        sso::prepare(&input, None).map_err(|e| about("ssoProvider", provider_id, e))?;
    prepared.client_secret = None;
    for field in [
        "issuer",
        "authorizationEndpoint",
        "tokenEndpoint",
        "userInfoEndpoint",
        "jwksEndpoint",
    ] {
        if let Some(url) = p.get(field).and_then(Value::as_str) {
            net::check_url(url).map_err(|why| bad("ssoProvider", provider_id, field, why))?;
        }
    }
    let column = |c: &str| opt_str(p, c).unwrap_or_default();
    let discovery = Discovery {
        issuer: opt_str(p, "issuer").unwrap_or_else(|| prepared.issuer.clone()),
        authorization_endpoint: column("authorizationEndpoint"),
        token_endpoint: column("tokenEndpoint"),
        userinfo_endpoint: opt_str(p, "userInfoEndpoint"),
        jwks_uri: column("jwksEndpoint"),
        token_endpoint_auth_methods_supported: None,
    };
    Ok((prepared, discovery))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::checks::{object, refused_naming, Edit};

    /// A provider with `field` set to `value` (or left out, for `null`).
    fn provider(field: &'static str, value: serde_json::Value) -> Edit {
        Box::new(move |d| {
            let mut p = object(json!({"providerId": "corp", "name": "Corp",
                "adapterId": "generic", "issuer": "https://idp.example", "clientId": "c"}));
            match &value {
                serde_json::Value::Null => p.remove(field),
                v => p.insert(field.into(), v.clone()),
            };
            d.sso_providers.push(p);
        })
    }

    /// What `POST /api/sso-providers` refuses, a restore refuses: 400 naming the provider and
    /// the field, before anything of the document is written.
    #[test]
    fn a_provider_its_api_would_refuse_is_refused_by_field() {
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                provider("tokenEndpoint", json!("http://169.254.169.254/token")),
                "ssoProvider",
                "tokenEndpoint",
            ),
            (
                provider("providerId", json!("Corp!")),
                "ssoProvider",
                "providerId",
            ),
            (provider("clientId", json!(null)), "ssoProvider", "clientId"),
            (
                provider("adapterId", json!("saml")),
                "ssoProvider",
                "adapter",
            ),
        ];
        refused_naming(cases, 400);
    }
}
