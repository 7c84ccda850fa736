//! The export: every configuration table as one versioned JSON document.
//!
//! Rows refer to each other by natural key, never by id: a job names its source and
//! destinations by adapter name, its encryption profile by key fingerprint, its notification
//! channels by name; a user names its group. Secret adapter fields, profile keys, SSO client
//! secrets and 2FA secrets are decrypted with the server key (and only then present) when
//! [`ExportOptions::include_secrets`]; password hashes (and the 2FA secret, with both options)
//! when [`ExportOptions::include_password_hashes`]. Runtime state (health, executions, sessions,
//! API keys, audit rows, passkeys) is not configuration and is not exported.

use dbackup_core::db::Db;
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use dbackup_identity::settings;
use dbackup_vault_core as vault;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::sql::{json_column, rows, text, Row};
use crate::{setting, DOCUMENT_KIND, FORMAT_VERSION};

/// What to put into the document besides plain configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Decrypted adapter secrets, profile keys and SSO client secrets.
    pub include_secrets: bool,
    /// Password hashes (and, with `include_secrets`, 2FA secrets).
    pub include_password_hashes: bool,
}

/// The config backup document (`formatVersion` 1). Entities are JSON objects keyed by the
/// column names of their tables (docs/CONFIG-BACKUP.md lists them), with references by
/// natural key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigDocument {
    /// Always `dbackup-config`.
    pub kind: String,
    pub format_version: u32,
    /// The last migration of the database it was exported from.
    pub schema_version: i64,
    pub created_at: String,
    pub app_version: String,
    pub includes_secrets: bool,
    pub includes_password_hashes: bool,
    /// Every typed setting (`GET /api/settings` keys) plus `configBackup`.
    pub settings: Map<String, Value>,
    pub adapters: Vec<Map<String, Value>>,
    pub encryption_profiles: Vec<Map<String, Value>>,
    pub groups: Vec<Map<String, Value>>,
    pub users: Vec<Map<String, Value>>,
    pub sso_providers: Vec<Map<String, Value>>,
    pub jobs: Vec<Map<String, Value>>,
}

impl ConfigDocument {
    /// Entities per kind, for answers and logs.
    pub fn counts(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("settings".into(), json!(self.settings.len()));
        m.insert("adapters".into(), json!(self.adapters.len()));
        m.insert(
            "encryptionProfiles".into(),
            json!(self.encryption_profiles.len()),
        );
        m.insert("groups".into(), json!(self.groups.len()));
        m.insert("users".into(), json!(self.users.len()));
        m.insert("ssoProviders".into(), json!(self.sso_providers.len()));
        m.insert("jobs".into(), json!(self.jobs.len()));
        m
    }
}

/// Context of an adapter's sealed field (as `dbackup_adapters_core::secrets`).
pub(crate) fn adapter_context(row_id: &str, field: &str) -> String {
    dbackup_core::sealed::adapter_secret_field(row_id, field)
}

/// Context of a sealed 2FA secret.
pub(crate) fn two_factor_context(user_id: &str) -> String {
    dbackup_core::sealed::two_factor_secret(user_id)
}

/// Context of a sealed SSO client secret.
pub(crate) fn sso_context(provider_id: &str) -> String {
    dbackup_core::sealed::sso_client_secret(provider_id)
}

fn unsealed(
    sealer: &SecretBox,
    sealed: &str,
    context: &str,
    what: &str,
) -> Result<String, ApiError> {
    let plain = sealer.decrypt(sealed, context).map_err(|_| {
        ApiError::internal(format!(
            "{what} does not decrypt (encryption_key changed or value tampered with)"
        ))
    })?;
    String::from_utf8(plain).map_err(|_| ApiError::internal(format!("{what} is not UTF-8")))
}

fn need(sealer: Option<&SecretBox>) -> Result<&SecretBox, ApiError> {
    sealer.ok_or_else(|| ApiError::internal("exporting secrets needs the server key"))
}

/// Reads every configuration table into a document stamped `created_at`.
pub fn export(
    db: &dyn Db,
    sealer: Option<&SecretBox>,
    options: ExportOptions,
    created_at: &str,
) -> Result<ConfigDocument, ApiError> {
    let secrets = options.include_secrets;
    let hashes = options.include_password_hashes;

    // Adapters (names are what the other entities refer to).
    let mut adapters = Vec::new();
    let mut adapter_names: Map<String, Value> = Map::new();
    for r in rows(
        db,
        r#"SELECT "id", "name", "type", "adapterId", "config" FROM "AdapterConfig" ORDER BY "type", "name", "id""#,
        &[],
    )? {
        let id = text(&r, "id").unwrap_or_default();
        let adapter_id = text(&r, "adapterId").unwrap_or_default();
        let mut config = match json_column(&r, "config", json!({})) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        for field in dbackup_adapters_core::secrets::sealed_fields(&adapter_id, &config) {
            let Some(value) = config.get(&field).cloned() else {
                continue;
            };
            if secrets {
                let plain = dbackup_adapters_core::secrets::open_value(
                    need(sealer)?,
                    &value,
                    &adapter_context(&id, &field),
                )
                .ok_or_else(|| {
                    ApiError::internal(format!(
                        "adapter {id}: secret field {field} does not decrypt (encryption_key changed or value tampered with)"
                    ))
                })?;
                config.insert(field, plain);
            } else {
                match dbackup_adapters_core::secrets::without_secrets(&adapter_id, &field, &value) {
                    Some(kept) => config.insert(field, kept),
                    None => config.remove(&field),
                };
            }
        }
        adapter_names.insert(id, r.get("name").cloned().unwrap_or(Value::Null));
        adapters.push(object([
            ("name", r.get("name").cloned()),
            ("type", r.get("type").cloned()),
            ("adapterId", Some(json!(adapter_id))),
            ("config", Some(Value::Object(config))),
        ]));
    }
    let adapter_name = |id: Option<String>| -> Value {
        id.and_then(|id| adapter_names.get(&id).cloned())
            .unwrap_or(Value::Null)
    };

    // Encryption profiles, by fingerprint.
    let mut encryption_profiles = Vec::new();
    let mut fingerprints: Map<String, Value> = Map::new();
    for r in rows(
        db,
        r#"SELECT "id", "name", "description", "fingerprint", "kind" FROM "EncryptionProfile" ORDER BY "name", "id""#,
        &[],
    )? {
        let id = text(&r, "id").unwrap_or_default();
        let mut p = object([
            ("name", r.get("name").cloned()),
            ("description", r.get("description").cloned()),
            ("fingerprint", r.get("fingerprint").cloned()),
        ]);
        // Only a profile that is not symmetric names its kind (a write-only profile's `key` is
        // its public key, and a restore must not turn it into a symmetric one).
        if let Some(kind) = text(&r, "kind").filter(|k| k != vault::KIND_SYMMETRIC) {
            p.insert("kind".into(), json!(kind));
        }
        if secrets {
            let (key, fingerprint) = vault::key_hex(db, need(sealer)?, &id)?;
            p.insert("key".into(), json!(key));
            p.insert("fingerprint".into(), json!(fingerprint));
        }
        fingerprints.insert(id, p.get("fingerprint").cloned().unwrap_or(Value::Null));
        encryption_profiles.push(p);
    }

    // Groups.
    let mut groups = Vec::new();
    for r in rows(
        db,
        r#"SELECT "name", "permissions" FROM "Group" ORDER BY "name""#,
        &[],
    )? {
        groups.push(object([
            ("name", r.get("name").cloned()),
            (
                "permissions",
                Some(json_column(&r, "permissions", json!([]))),
            ),
        ]));
    }

    // Users (and, when asked, their credentials).
    let mut users = Vec::new();
    for r in rows(
        db,
        r#"SELECT u."id", u."name", u."email", u."emailVerified", u."image", u."timezone",
                  u."dateFormat", u."timeFormat", u."twoFactorEnabled", g."name" AS "groupName"
           FROM "User" u LEFT JOIN "Group" g ON g."id" = u."groupId" ORDER BY u."email""#,
        &[],
    )? {
        let id = text(&r, "id").unwrap_or_default();
        let mut u = object([
            ("name", r.get("name").cloned()),
            ("email", r.get("email").cloned()),
            ("emailVerified", Some(flag(&r, "emailVerified"))),
            ("image", r.get("image").cloned()),
            ("timezone", r.get("timezone").cloned()),
            ("dateFormat", r.get("dateFormat").cloned()),
            ("timeFormat", r.get("timeFormat").cloned()),
            ("group", r.get("groupName").cloned()),
        ]);
        if hashes {
            let hash = dbackup_identity::users::password_hash(db, &id)?;
            u.insert("passwordHash".into(), json!(hash));
            if secrets {
                let two = rows(
                    db,
                    r#"SELECT "secret", "backupCodes", "verified" FROM "TwoFactor" WHERE "userId" = ?"#,
                    &[id.as_str().into()],
                )?;
                if let (Some(t), true) = (two.first(), flag(&r, "twoFactorEnabled") == json!(true))
                {
                    let secret = unsealed(
                        need(sealer)?,
                        &text(t, "secret").unwrap_or_default(),
                        &two_factor_context(&id),
                        &format!("user {id}: 2FA secret"),
                    )?;
                    u.insert(
                        "twoFactor".into(),
                        json!({
                            "secret": secret,
                            "backupCodes": text(t, "backupCodes"),
                            "verified": flag(t, "verified"),
                        }),
                    );
                }
            }
        }
        users.push(u);
    }

    // SSO providers, by providerId.
    let mut sso_providers = Vec::new();
    for mut r in rows(
        db,
        r#"SELECT * FROM "SsoProvider" ORDER BY "providerId""#,
        &[],
    )? {
        let provider_id = text(&r, "providerId").unwrap_or_default();
        let sealed = text(&r, "clientSecret");
        for column in ["id", "createdAt", "updatedAt", "clientSecret"] {
            r.remove(column);
        }
        for column in [
            "domainVerified",
            "enabled",
            "allowProvisioning",
            "trustEmailLinking",
        ] {
            let v = flag(&r, column);
            r.insert(column.into(), v);
        }
        if let (true, Some(sealed)) = (secrets, sealed) {
            let plain = unsealed(
                need(sealer)?,
                &sealed,
                &sso_context(&provider_id),
                &format!("SSO provider {provider_id}: client secret"),
            )?;
            r.insert("clientSecret".into(), json!(plain));
        }
        sso_providers.push(r);
    }

    // Jobs with their destinations and notification channels.
    let mut jobs = Vec::new();
    for r in rows(db, r#"SELECT * FROM "Job" ORDER BY "name", "id""#, &[])? {
        let id = text(&r, "id").unwrap_or_default();
        let destinations: Vec<Value> = rows(
            db,
            r#"SELECT "destinationId", "retention", "position" FROM "JobDestination"
               WHERE "jobId" = ? ORDER BY "position""#,
            &[id.as_str().into()],
        )?
        .into_iter()
        .map(|d| {
            json!({
                "name": adapter_name(text(&d, "destinationId")),
                "retention": json_column(&d, "retention", json!({"mode": "NONE"})),
            })
        })
        .collect();
        let notifications: Vec<Value> = rows(
            db,
            r#"SELECT "adapterConfigId" FROM "JobNotification" WHERE "jobId" = ?"#,
            &[id.as_str().into()],
        )?
        .into_iter()
        .map(|n| adapter_name(text(&n, "adapterConfigId")))
        .collect();
        let profile = text(&r, "encryptionProfileId")
            .and_then(|p| fingerprints.get(&p).cloned())
            .unwrap_or(Value::Null);
        jobs.push(object([
            ("name", r.get("name").cloned()),
            ("schedule", r.get("schedule").cloned()),
            ("timezone", r.get("timezone").cloned()),
            ("enabled", Some(flag(&r, "enabled"))),
            ("compression", r.get("compression").cloned()),
            ("compressionLevel", r.get("compressionLevel").cloned()),
            ("retention", Some(json_column(&r, "retention", json!({})))),
            ("notificationEvents", r.get("notificationEvents").cloned()),
            ("verifyAfterUpload", Some(flag(&r, "verifyAfterUpload"))),
            ("databases", Some(json_column(&r, "databases", json!([])))),
            ("source", Some(adapter_name(text(&r, "sourceId")))),
            ("encryptionProfile", Some(profile)),
            ("destinations", Some(Value::Array(destinations))),
            ("notifications", Some(Value::Array(notifications))),
        ]));
    }

    // Settings: channels by name; the config backup job by destination name and fingerprint.
    let mut settings_out = Map::new();
    for s in settings::ALL {
        let mut value = settings::value(db, s)?;
        if s.key == settings::SYSTEM_NOTIFICATION_CHANNELS {
            value = Value::Array(
                settings::system_notification_channels(db)?
                    .into_iter()
                    .map(|id| adapter_name(Some(id)))
                    .filter(|v| !v.is_null())
                    .collect(),
            );
        }
        settings_out.insert(s.key.to_owned(), value);
    }
    if let Some(cb) = setting::stored(db)? {
        let mut exported = serde_json::to_value(&cb)
            .map_err(|e| ApiError::internal(format!("configBackup: {e}")))?;
        if let Value::Object(m) = &mut exported {
            m.remove("destinationId");
            m.remove("encryptionProfileId");
            m.insert(
                "destination".into(),
                adapter_name(cb.destination_id.clone()),
            );
            m.insert(
                "encryptionProfile".into(),
                cb.encryption_profile_id
                    .as_ref()
                    .and_then(|p| fingerprints.get(p).cloned())
                    .unwrap_or(Value::Null),
            );
        }
        settings_out.insert(setting::KEY.to_owned(), exported);
    }

    Ok(ConfigDocument {
        kind: DOCUMENT_KIND.to_owned(),
        format_version: FORMAT_VERSION,
        schema_version: dbackup_core::migrations::latest_version(),
        created_at: created_at.to_owned(),
        app_version: dbackup_core::VERSION.to_owned(),
        includes_secrets: secrets,
        includes_password_hashes: hashes,
        settings: settings_out,
        adapters,
        encryption_profiles,
        groups,
        users,
        sso_providers,
        jobs,
    })
}

/// A 0/1 column as a boolean (NULL stays null).
fn flag(r: &Row, column: &str) -> Value {
    match r.get(column).and_then(Value::as_i64) {
        Some(v) => json!(v != 0),
        None => Value::Null,
    }
}

fn object<const N: usize>(fields: [(&str, Option<Value>); N]) -> Map<String, Value> {
    fields
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.unwrap_or(Value::Null)))
        .collect()
}
