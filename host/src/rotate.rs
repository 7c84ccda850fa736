//! `dbackup rotate-key`: re-wraps every value sealed with `encryption_key` under a new key, in
//! one transaction.
//!
//! Sealed values (all [`SecretBox`] envelopes `v1:<base64>` bound to a context string):
//! - `AdapterConfig.config` secret fields — context `AdapterConfig.config.<field>:<id>`; the
//!   fields come from the adapter registry (for an unknown adapter type: every top-level
//!   string that looks like an envelope);
//! - `EncryptionProfile.secretKey` — `EncryptionProfile.secretKey:<id>`;
//! - `TwoFactor.secret` — `TwoFactor.secret:<userId>` (backup codes are hashes, not sealed);
//! - `SsoProvider.clientSecret` — `SsoProvider.clientSecret:<providerId>`;
//! - `Execution.callbackKey` — `Execution.callbackKey` (in-flight executions keep working).
//!
//! Every value is decrypted with the old key first; the first one that does not decrypt ends
//! the run with an error naming its table, row and field, and nothing is written. A dry run
//! checks everything the same way and rolls back.

use std::fmt;

use anyhow::{anyhow, bail, Context, Result};
use dbackup_identity::secretbox::SecretBox;
use libsql::{params::IntoParams, Connection};
use serde_json::Value;

/// Environment variable holding the current key (64 hex characters).
pub const OLD_KEY_ENV: &str = "DBACKUP_OLD_ENCRYPTION_KEY";
/// Environment variable holding the new key (64 hex characters).
pub const NEW_KEY_ENV: &str = "DBACKUP_NEW_ENCRYPTION_KEY";

/// What a rotation re-wrapped (or, in a dry run, would re-wrap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotated {
    pub adapter_fields: usize,
    pub encryption_profiles: usize,
    pub two_factor_secrets: usize,
    pub sso_client_secrets: usize,
    pub execution_callback_keys: usize,
}

impl Rotated {
    /// Every value counted.
    pub fn total(&self) -> usize {
        self.adapter_fields
            + self.encryption_profiles
            + self.two_factor_secrets
            + self.sso_client_secrets
            + self.execution_callback_keys
    }
}

impl fmt::Display for Rotated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} adapter secret fields, {} encryption profile keys, {} 2FA secrets, {} SSO client secrets, {} execution callback keys",
            self.adapter_fields,
            self.encryption_profiles,
            self.two_factor_secrets,
            self.sso_client_secrets,
            self.execution_callback_keys
        )
    }
}

/// Reads both keys from the environment (never from argv) and checks them.
pub fn keys_from_env() -> Result<(SecretBox, SecretBox)> {
    let read = |name: &str| -> Result<SecretBox> {
        let value = std::env::var(name).map_err(|_| {
            anyhow!(
                "set {name} to the {} encryption_key (64 hex characters)",
                if name == OLD_KEY_ENV {
                    "current"
                } else {
                    "new"
                }
            )
        })?;
        SecretBox::from_hex_key(&value).map_err(|e| anyhow!("{name}: {e}"))
    };
    let old = read(OLD_KEY_ENV)?;
    let new = read(NEW_KEY_ENV)?;
    let same = std::env::var(OLD_KEY_ENV)
        .ok()
        .map(|k| k.trim().to_lowercase())
        == std::env::var(NEW_KEY_ENV)
            .ok()
            .map(|k| k.trim().to_lowercase());
    if same {
        bail!("{OLD_KEY_ENV} and {NEW_KEY_ENV} are the same key");
    }
    Ok((old, new))
}

struct Rewrap<'a> {
    old: &'a SecretBox,
    new: &'a SecretBox,
}

impl Rewrap<'_> {
    /// Decrypts with the old key and seals again with the new one, same context.
    fn value(&self, sealed: &str, context: &str, what: &str) -> Result<String> {
        let plain = self.old.decrypt(sealed, context).map_err(|_| {
            anyhow!("{what} does not decrypt with the old key (wrong {OLD_KEY_ENV}, or the value was tampered with); nothing was changed")
        })?;
        self.new
            .encrypt(&plain, context)
            .map_err(|e| anyhow!("{what}: sealing with the new key: {e}"))
    }
}

async fn rows(
    conn: &Connection,
    sql: &str,
    columns: usize,
    params: impl IntoParams,
) -> Result<Vec<Vec<Option<String>>>> {
    let mut out = Vec::new();
    let mut rows = conn
        .query(sql, params)
        .await
        .with_context(|| sql.to_owned())?;
    while let Some(row) = rows.next().await? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(match row.get_value(i as i32)? {
                libsql::Value::Text(t) => Some(t),
                libsql::Value::Null => None,
                other => Some(format!("{other:?}")),
            });
        }
        out.push(values);
    }
    Ok(out)
}

/// Secret field names of a stored adapter config: from the registry, else every top-level
/// string that is an envelope.
fn secret_fields(adapter_id: &str, config: &serde_json::Map<String, Value>) -> Vec<String> {
    match dbackup_adapters_core::registry::find(adapter_id) {
        Some(t) => t
            .secret_fields()
            .filter(|f| config.contains_key(*f))
            .map(str::to_owned)
            .collect(),
        None => config
            .iter()
            .filter(|(_, v)| v.as_str().is_some_and(|s| s.starts_with("v1:")))
            .map(|(k, _)| k.clone())
            .collect(),
    }
}

/// Rotates on an open connection: `BEGIN IMMEDIATE`, re-wrap everything, `COMMIT` (or
/// `ROLLBACK` for a dry run or on any error).
pub async fn rotate(
    conn: &Connection,
    old: &SecretBox,
    new: &SecretBox,
    dry_run: bool,
) -> Result<Rotated> {
    conn.execute("BEGIN IMMEDIATE", ())
        .await
        .context("cannot lock the database (is another process writing?)")?;
    let result = rewrap_all(conn, &Rewrap { old, new }).await;
    match (result, dry_run) {
        (Ok(counts), false) => {
            conn.execute("COMMIT", ()).await.context("COMMIT")?;
            Ok(counts)
        }
        (Ok(counts), true) => {
            conn.execute("ROLLBACK", ()).await.context("ROLLBACK")?;
            Ok(counts)
        }
        (Err(e), _) => {
            let _ = conn.execute("ROLLBACK", ()).await;
            Err(e)
        }
    }
}

async fn rewrap_all(conn: &Connection, r: &Rewrap<'_>) -> Result<Rotated> {
    let mut n = Rotated::default();

    for row in rows(
        conn,
        r#"SELECT "id", "adapterId", "config" FROM "AdapterConfig" ORDER BY "id""#,
        3,
        (),
    )
    .await?
    {
        let (id, adapter_id, config) = (
            row[0].clone().unwrap_or_default(),
            row[1].clone().unwrap_or_default(),
            row[2].clone().unwrap_or_default(),
        );
        let Ok(Value::Object(mut cfg)) = serde_json::from_str::<Value>(&config) else {
            bail!("AdapterConfig {id:?}: config is not a JSON object; nothing was changed");
        };
        let fields = secret_fields(&adapter_id, &cfg);
        if fields.is_empty() {
            continue;
        }
        for field in fields {
            let what = format!("AdapterConfig {id:?} ({adapter_id}) field {field}");
            let context = format!("AdapterConfig.config.{field}:{id}");
            // A secret map (webhook headers) has each value sealed under the field's context.
            if let Some(Value::Object(map)) = cfg.get_mut(&field) {
                for (key, v) in map.iter_mut() {
                    let what = format!("{what}[{key:?}]");
                    let Some(sealed) = v.as_str() else {
                        bail!("{what} is not a sealed string; nothing was changed");
                    };
                    // Plaintext saved before headers were secret: sealed at the next save.
                    if !sealed.starts_with("v1:") {
                        continue;
                    }
                    *v = Value::String(r.value(sealed, &context, &what)?);
                }
                n.adapter_fields += 1;
                continue;
            }
            let Some(sealed) = cfg.get(&field).and_then(Value::as_str) else {
                if cfg.get(&field).is_some_and(|v| !v.is_null()) {
                    bail!("{what} is not a sealed string; nothing was changed");
                }
                continue;
            };
            let again = r.value(sealed, &context, &what)?;
            cfg.insert(field, Value::String(again));
            n.adapter_fields += 1;
        }
        conn.execute(
            r#"UPDATE "AdapterConfig" SET "config" = ?1 WHERE "id" = ?2"#,
            libsql::params![Value::Object(cfg).to_string(), id.clone()],
        )
        .await
        .with_context(|| format!("updating AdapterConfig {id:?}"))?;
    }

    let simple: [(&str, &str, &str, &str, &str); 4] = [
        // (table, key column, sealed column, context prefix, context column)
        (
            "EncryptionProfile",
            "id",
            "secretKey",
            "EncryptionProfile.secretKey:",
            "id",
        ),
        (
            "TwoFactor",
            "userId",
            "secret",
            "TwoFactor.secret:",
            "userId",
        ),
        (
            "SsoProvider",
            "id",
            "clientSecret",
            "SsoProvider.clientSecret:",
            "providerId",
        ),
        (
            "Execution",
            "id",
            "callbackKey",
            "Execution.callbackKey",
            "",
        ),
    ];
    for (table, key, column, prefix, context_column) in simple {
        let context_expr = if context_column.is_empty() {
            "''".to_owned()
        } else {
            format!("\"{context_column}\"")
        };
        let found = rows(
            conn,
            &format!(
                r#"SELECT "{key}", "{column}", {context_expr} FROM "{table}"
                    WHERE "{column}" IS NOT NULL AND "{column}" != '' ORDER BY "{key}""#
            ),
            3,
            (),
        )
        .await?;
        for row in found {
            let id = row[0].clone().unwrap_or_default();
            let sealed = row[1].clone().unwrap_or_default();
            let context = format!("{prefix}{}", row[2].clone().unwrap_or_default());
            let what = format!("{table} {key}={id:?} column {column}");
            let again = r.value(&sealed, &context, &what)?;
            conn.execute(
                &format!(r#"UPDATE "{table}" SET "{column}" = ?1 WHERE "{key}" = ?2"#),
                libsql::params![again, id.clone()],
            )
            .await
            .with_context(|| format!("updating {what}"))?;
            match table {
                "EncryptionProfile" => n.encryption_profiles += 1,
                "TwoFactor" => n.two_factor_secrets += 1,
                "SsoProvider" => n.sso_client_secrets += 1,
                _ => n.execution_callback_keys += 1,
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "0101010101010101010101010101010101010101010101010101010101010101";
    const NEW: &str = "0202020202020202020202020202020202020202020202020202020202020202";

    async fn db() -> (libsql::Database, Connection) {
        let db = libsql::Builder::new_local(":memory:")
            .build()
            .await
            .expect("db");
        let conn = db.connect().expect("conn");
        for sql in [
            r#"CREATE TABLE "AdapterConfig" ("id" TEXT, "adapterId" TEXT, "config" TEXT)"#,
            r#"CREATE TABLE "EncryptionProfile" ("id" TEXT, "secretKey" TEXT)"#,
            r#"CREATE TABLE "TwoFactor" ("userId" TEXT, "secret" TEXT)"#,
            r#"CREATE TABLE "SsoProvider" ("id" TEXT, "providerId" TEXT, "clientSecret" TEXT)"#,
            r#"CREATE TABLE "Execution" ("id" TEXT, "callbackKey" TEXT)"#,
        ] {
            conn.execute(sql, ()).await.expect(sql);
        }
        (db, conn)
    }

    async fn one(conn: &Connection, sql: &str) -> String {
        rows(conn, sql, 1, ()).await.expect("query")[0][0]
            .clone()
            .expect("value")
    }

    /// The generic webhook's headers are a secret map: each value is re-wrapped, keys kept.
    #[tokio::test]
    async fn rewraps_each_webhook_header() {
        let (_db, conn) = db().await;
        let (old, new) = (
            SecretBox::from_hex_key(OLD).unwrap(),
            SecretBox::from_hex_key(NEW).unwrap(),
        );
        let context = "AdapterConfig.config.headers:w1";
        let cfg = serde_json::json!({"url": "https://hooks.example", "headers": {
            "Authorization": old.encrypt(b"Bearer t", context).unwrap(),
            "X-Api-Key": old.encrypt(b"k", context).unwrap()}});
        conn.execute(
            r#"INSERT INTO "AdapterConfig" VALUES ('w1', 'webhook', ?1)"#,
            [cfg.to_string()],
        )
        .await
        .unwrap();
        assert_eq!(
            rotate(&conn, &old, &new, false)
                .await
                .unwrap()
                .adapter_fields,
            1
        );
        let cfg: Value =
            serde_json::from_str(&one(&conn, r#"SELECT "config" FROM "AdapterConfig""#).await)
                .unwrap();
        let header = |k: &str| cfg["headers"][k].as_str().unwrap().to_owned();
        assert_eq!(
            new.decrypt(&header("Authorization"), context).unwrap(),
            b"Bearer t"
        );
        assert_eq!(new.decrypt(&header("X-Api-Key"), context).unwrap(), b"k");
        assert!(old.decrypt(&header("X-Api-Key"), context).is_err());
    }

    #[tokio::test]
    async fn rewraps_every_kind_and_stops_on_a_bad_value() {
        let (_db, conn) = db().await;
        let (old, new) = (
            SecretBox::from_hex_key(OLD).unwrap(),
            SecretBox::from_hex_key(NEW).unwrap(),
        );
        let s3 = serde_json::json!({"bucket": "b", "accessKeyId": "AK",
            "secretAccessKey": old.encrypt(b"s3-secret", "AdapterConfig.config.secretAccessKey:a1").unwrap()});
        let legacy = serde_json::json!({"token": old.encrypt(b"tok", "AdapterConfig.config.token:a2").unwrap(), "plain": "x"});
        for (sql, p) in [
            (
                r#"INSERT INTO "AdapterConfig" VALUES ('a1', 's3', ?1)"#,
                s3.to_string(),
            ),
            (
                r#"INSERT INTO "AdapterConfig" VALUES ('a2', 'retired-type', ?1)"#,
                legacy.to_string(),
            ),
            (
                r#"INSERT INTO "EncryptionProfile" VALUES ('p1', ?1)"#,
                old.encrypt(&[7; 32], "EncryptionProfile.secretKey:p1")
                    .unwrap(),
            ),
            (
                r#"INSERT INTO "TwoFactor" VALUES ('u1', ?1)"#,
                old.encrypt(b"totp", "TwoFactor.secret:u1").unwrap(),
            ),
            (
                r#"INSERT INTO "SsoProvider" VALUES ('s1', 'okta', ?1)"#,
                old.encrypt(b"cs", "SsoProvider.clientSecret:okta").unwrap(),
            ),
            (
                r#"INSERT INTO "Execution" VALUES ('e1', ?1)"#,
                old.encrypt(b"cb", "Execution.callbackKey").unwrap(),
            ),
        ] {
            conn.execute(sql, [p]).await.expect(sql);
        }
        conn.execute(r#"INSERT INTO "Execution" VALUES ('e2', NULL)"#, ())
            .await
            .unwrap();

        // Dry run: counted, nothing changed.
        let before = one(&conn, r#"SELECT "secretKey" FROM "EncryptionProfile""#).await;
        let counts = rotate(&conn, &old, &new, true).await.unwrap();
        assert_eq!(
            counts,
            Rotated {
                adapter_fields: 2,
                encryption_profiles: 1,
                two_factor_secrets: 1,
                sso_client_secrets: 1,
                execution_callback_keys: 1
            }
        );
        assert_eq!(
            one(&conn, r#"SELECT "secretKey" FROM "EncryptionProfile""#).await,
            before
        );

        assert_eq!(rotate(&conn, &old, &new, false).await.unwrap().total(), 6);
        let key = one(&conn, r#"SELECT "secretKey" FROM "EncryptionProfile""#).await;
        assert_eq!(
            new.decrypt(&key, "EncryptionProfile.secretKey:p1").unwrap(),
            vec![7; 32]
        );
        assert!(old.decrypt(&key, "EncryptionProfile.secretKey:p1").is_err());
        let cfg: Value = serde_json::from_str(
            &one(
                &conn,
                r#"SELECT "config" FROM "AdapterConfig" WHERE "id" = 'a1'"#,
            )
            .await,
        )
        .unwrap();
        assert_eq!(cfg["accessKeyId"], "AK");
        assert_eq!(
            new.decrypt(
                cfg["secretAccessKey"].as_str().unwrap(),
                "AdapterConfig.config.secretAccessKey:a1"
            )
            .unwrap(),
            b"s3-secret"
        );
        let sso = one(&conn, r#"SELECT "clientSecret" FROM "SsoProvider""#).await;
        assert_eq!(
            new.decrypt(&sso, "SsoProvider.clientSecret:okta").unwrap(),
            b"cs"
        );

        // Rotating again with the (now wrong) old key names the first row and changes nothing.
        let err = rotate(&conn, &old, &new, false)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"AdapterConfig "a1" (s3) field secretAccessKey"#),
            "{err}"
        );
        assert_eq!(
            one(&conn, r#"SELECT "secretKey" FROM "EncryptionProfile""#).await,
            key
        );
        assert!(conn.is_autocommit());
    }
}
