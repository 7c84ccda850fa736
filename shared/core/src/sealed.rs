//! Every value sealed with the deployment's `encryption_key`: where it is stored and the
//! context string bound to it as associated data.
//!
//! A sealed value is a `SecretBox` envelope (`v1:<base64>`, `dbackup_identity::secretbox`);
//! its context (e.g. `TwoFactor.secret:<userId>`) makes a copy in another row or purpose fail
//! to open. Sealing, opening and `dbackup rotate-key` take their contexts from here, so a value
//! this table does not list is one rotate-key would leave under the old key.
//! `tests/tests/rotate_key.rs` scans a populated database for envelopes and fails on any that
//! no entry here describes ([`locate`]).

use std::fmt;

/// What every envelope starts with.
pub const ENVELOPE_PREFIX: &str = "v1:";

/// Whether a stored string looks like an envelope.
pub fn is_envelope(value: &str) -> bool {
    value.starts_with(ENVELOPE_PREFIX)
}

/// One piece of a context string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(&'static str),
    /// The value of this column of the same row.
    Column(&'static str),
    /// The name of the JSON field holding the value ([`Place::SecretFields`]).
    Field,
}

/// Where in its row a sealed value sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The column is one envelope.
    Column,
    /// The column is a JSON object with one envelope at this path of keys (absent: none).
    Json(&'static [&'static str]),
    /// The column is a JSON object whose secret fields (the adapter registry's, for the adapter
    /// type named in column `adapter_type`) each hold an envelope, or, for a secret map (webhook
    /// `headers`), an object of envelopes sealed under the field's context, keys in clear.
    SecretFields { adapter_type: &'static str },
}

/// One kind of sealed value.
#[derive(Debug, PartialEq, Eq)]
pub struct Sealed {
    /// What `rotate-key` counts, plural (`2FA secrets`).
    pub label: &'static str,
    pub table: &'static str,
    /// The column that identifies a row (for updates and error messages).
    pub key: &'static str,
    /// The column holding the value.
    pub column: &'static str,
    pub place: Place,
    /// The context, piece by piece.
    pub context: &'static [Part],
}

impl Sealed {
    /// The context for one value: `column` gives the row's other columns, `field` the JSON
    /// field holding it ([`Place::SecretFields`]). `None` when a piece is missing.
    pub fn context_of(
        &self,
        column: impl Fn(&str) -> Option<String>,
        field: Option<&str>,
    ) -> Option<String> {
        let mut out = String::new();
        for part in self.context {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Column(c) => out.push_str(&column(c)?),
                Part::Field => out.push_str(field?),
            }
        }
        Some(out)
    }

    /// The columns [`Self::context_of`] reads.
    pub fn context_columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.context.iter().filter_map(|p| match p {
            Part::Column(c) => Some(*c),
            _ => None,
        })
    }

    /// The context with its pieces filled in order (columns and field alike).
    fn render(&self, values: &[&str]) -> String {
        let mut values = values.iter();
        self.context
            .iter()
            .map(|part| match part {
                Part::Text(t) => t,
                Part::Column(_) | Part::Field => values.next().copied().unwrap_or_default(),
            })
            .collect()
    }

    /// Whether a sealed-looking value at `table`.`column`, JSON `path` (empty: the column
    /// itself) is one of these.
    pub fn holds(&self, table: &str, column: &str, path: &[&str]) -> bool {
        if self.table != table || self.column != column {
            return false;
        }
        match self.place {
            Place::Column => path.is_empty(),
            Place::Json(p) => p == path,
            Place::SecretFields { .. } => matches!(path.len(), 1 | 2),
        }
    }
}

/// The pattern, e.g. `TwoFactor.secret:{userId}` (`{field}` for the JSON field's name).
impl fmt::Display for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in self.context {
            match part {
                Part::Text(t) => f.write_str(t)?,
                Part::Column(c) => write!(f, "{{{c}}}")?,
                Part::Field => f.write_str("{field}")?,
            }
        }
        Ok(())
    }
}

/// `AdapterConfig.config.<field>` of each secret field (passwords, keys, tokens, webhook
/// headers).
pub const ADAPTER_SECRET_FIELD: Sealed = Sealed {
    label: "adapter secret fields",
    table: "AdapterConfig",
    key: "id",
    column: "config",
    place: Place::SecretFields {
        adapter_type: "adapterId",
    },
    context: &[
        Part::Text("AdapterConfig.config."),
        Part::Field,
        Part::Text(":"),
        Part::Column("id"),
    ],
};

/// `EncryptionProfile.secretKey`: the backup encryption key (32 bytes).
pub const ENCRYPTION_PROFILE_KEY: Sealed = Sealed {
    label: "encryption profile keys",
    table: "EncryptionProfile",
    key: "id",
    column: "secretKey",
    place: Place::Column,
    context: &[
        Part::Text("EncryptionProfile.secretKey:"),
        Part::Column("id"),
    ],
};

/// `TwoFactor.secret`: the TOTP secret (backup codes are hashes, not sealed).
pub const TWO_FACTOR_SECRET: Sealed = Sealed {
    label: "2FA secrets",
    table: "TwoFactor",
    key: "userId",
    column: "secret",
    place: Place::Column,
    context: &[Part::Text("TwoFactor.secret:"), Part::Column("userId")],
};

/// `SsoProvider.clientSecret`, bound to the provider's `providerId` (not its row id).
pub const SSO_CLIENT_SECRET: Sealed = Sealed {
    label: "SSO client secrets",
    table: "SsoProvider",
    key: "id",
    column: "clientSecret",
    place: Place::Column,
    context: &[
        Part::Text("SsoProvider.clientSecret:"),
        Part::Column("providerId"),
    ],
};

/// `Execution.callbackKey`: the per-execution key the worker signs its events with (sealed by
/// the runner at dispatch, opened by the events endpoint). One context for every execution.
pub const EXECUTION_CALLBACK_KEY: Sealed = Sealed {
    label: "execution callback keys",
    table: "Execution",
    key: "id",
    column: "callbackKey",
    place: Place::Column,
    context: &[Part::Text("Execution.callbackKey")],
};

/// `Execution.request` `privilegedAs.passwordSealed`: a queued restore's privileged account
/// password (sealed by `POST /api/restores`, opened by the runner at dispatch). One context for
/// every execution.
pub const RESTORE_PRIVILEGED_PASSWORD: Sealed = Sealed {
    label: "restore privileged passwords",
    table: "Execution",
    key: "id",
    column: "request",
    place: Place::Json(&["privilegedAs", "passwordSealed"]),
    context: &[Part::Text("Execution.request.privileged")],
};

/// Every kind, in the order `rotate-key` re-wraps and reports them.
pub const ALL: [&Sealed; 6] = [
    &ADAPTER_SECRET_FIELD,
    &ENCRYPTION_PROFILE_KEY,
    &TWO_FACTOR_SECRET,
    &SSO_CLIENT_SECRET,
    &EXECUTION_CALLBACK_KEY,
    &RESTORE_PRIVILEGED_PASSWORD,
];

/// The entry describing a sealed-looking value found at `table`.`column`, JSON `path`.
pub fn locate(table: &str, column: &str, path: &[&str]) -> Option<&'static Sealed> {
    ALL.into_iter().find(|s| s.holds(table, column, path))
}

/// Context of secret field `field` of adapter `adapter_id`.
pub fn adapter_secret_field(adapter_id: &str, field: &str) -> String {
    ADAPTER_SECRET_FIELD.render(&[field, adapter_id])
}

/// Context of encryption profile `profile_id`'s key.
pub fn encryption_profile_key(profile_id: &str) -> String {
    ENCRYPTION_PROFILE_KEY.render(&[profile_id])
}

/// Context of user `user_id`'s TOTP secret.
pub fn two_factor_secret(user_id: &str) -> String {
    TWO_FACTOR_SECRET.render(&[user_id])
}

/// Context of the client secret of the SSO provider called `provider_id`.
pub fn sso_client_secret(provider_id: &str) -> String {
    SSO_CLIENT_SECRET.render(&[provider_id])
}

/// Context of an execution's callback key.
pub fn execution_callback_key() -> String {
    EXECUTION_CALLBACK_KEY.render(&[])
}

/// Context of a restore's privileged account password.
pub fn restore_privileged_password() -> String {
    RESTORE_PRIVILEGED_PASSWORD.render(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contexts are stored bound to existing values: changing one locks those values out.
    #[test]
    fn contexts_are_the_stored_ones() {
        assert_eq!(
            adapter_secret_field("a1", "password"),
            "AdapterConfig.config.password:a1"
        );
        assert_eq!(
            encryption_profile_key("p1"),
            "EncryptionProfile.secretKey:p1"
        );
        assert_eq!(two_factor_secret("u1"), "TwoFactor.secret:u1");
        assert_eq!(sso_client_secret("corp"), "SsoProvider.clientSecret:corp");
        assert_eq!(execution_callback_key(), "Execution.callbackKey");
        assert_eq!(
            restore_privileged_password(),
            "Execution.request.privileged"
        );
        let patterns: Vec<String> = ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            patterns,
            [
                "AdapterConfig.config.{field}:{id}",
                "EncryptionProfile.secretKey:{id}",
                "TwoFactor.secret:{userId}",
                "SsoProvider.clientSecret:{providerId}",
                "Execution.callbackKey",
                "Execution.request.privileged",
            ]
        );
    }

    #[test]
    fn context_of_reads_the_row() {
        let row = |c: &str| (c == "providerId").then(|| "okta".to_owned());
        assert_eq!(
            SSO_CLIENT_SECRET.context_of(row, None).as_deref(),
            Some("SsoProvider.clientSecret:okta")
        );
        let id = |c: &str| (c == "id").then(|| "a9".to_owned());
        assert_eq!(
            ADAPTER_SECRET_FIELD
                .context_of(id, Some("headers"))
                .as_deref(),
            Some("AdapterConfig.config.headers:a9")
        );
        assert_eq!(ADAPTER_SECRET_FIELD.context_of(id, None), None);
        assert_eq!(TWO_FACTOR_SECRET.context_of(|_| None, None), None);
        assert_eq!(
            SSO_CLIENT_SECRET.context_columns().collect::<Vec<_>>(),
            ["providerId"]
        );
    }

    #[test]
    fn locate_finds_each_place_and_nothing_else() {
        assert_eq!(
            locate("Execution", "request", &["privilegedAs", "passwordSealed"]),
            Some(&RESTORE_PRIVILEGED_PASSWORD)
        );
        assert_eq!(
            locate("Execution", "callbackKey", &[]),
            Some(&EXECUTION_CALLBACK_KEY)
        );
        assert_eq!(
            locate("AdapterConfig", "config", &["headers", "Authorization"]),
            Some(&ADAPTER_SECRET_FIELD)
        );
        assert_eq!(
            locate("AdapterConfig", "config", &["password"]),
            Some(&ADAPTER_SECRET_FIELD)
        );
        assert_eq!(locate("AdapterConfig", "config", &[]), None);
        assert_eq!(locate("Execution", "request", &["password"]), None);
        assert_eq!(locate("Execution", "callbackKey", &["x"]), None);
        assert_eq!(locate("User", "password", &[]), None);
        assert!(is_envelope("v1:AAAA") && !is_envelope("plain"));
    }
}
