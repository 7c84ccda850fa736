//! `dbackup rotate-key`: re-wraps every value sealed with `encryption_key` under a new key, in
//! one transaction.
//!
//! What is sealed, where, and under which context is [`dbackup_core::sealed`]'s table; this
//! walks every entry of it ([`sealed::ALL`]). For adapter configs the sealed fields are
//! [`dbackup_adapters_core::secrets::sealed_fields`].
//!
//! Every value is decrypted with the old key first; the first one that does not decrypt ends
//! the run with an error naming its table, row and field, and nothing is written. A dry run
//! checks everything the same way and rolls back.

use std::fmt;

use anyhow::{anyhow, bail, Context, Result};
use dbackup_core::sealed::{self, Place, Sealed};
use dbackup_identity::secretbox::SecretBox;
use libsql::{params::IntoParams, Connection};
use serde_json::Value;

/// Environment variable holding the current key (64 hex characters).
pub const OLD_KEY_ENV: &str = "DBACKUP_OLD_ENCRYPTION_KEY";
/// Environment variable holding the new key (64 hex characters).
pub const NEW_KEY_ENV: &str = "DBACKUP_NEW_ENCRYPTION_KEY";

/// What a rotation re-wrapped (or, in a dry run, would re-wrap): a count per kind of sealed
/// value, in [`sealed::ALL`]'s order. A secret map (webhook headers) counts as one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    counts: Vec<(&'static Sealed, usize)>,
}

impl Default for Rotated {
    fn default() -> Self {
        Rotated {
            counts: sealed::ALL.iter().map(|s| (*s, 0)).collect(),
        }
    }
}

impl Rotated {
    /// How many values of `kind`.
    pub fn of(&self, kind: &Sealed) -> usize {
        self.counts
            .iter()
            .find(|(s, _)| *s == kind)
            .map_or(0, |(_, n)| *n)
    }

    fn add(&mut self, kind: &Sealed) {
        if let Some((_, n)) = self.counts.iter_mut().find(|(s, _)| *s == kind) {
            *n += 1;
        }
    }

    /// Every value counted.
    pub fn total(&self) -> usize {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

impl fmt::Display for Rotated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, n)) in self.counts.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n} {}", kind.label)?;
        }
        Ok(())
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
    for kind in sealed::ALL {
        rewrap_kind(conn, r, kind, &mut n).await?;
    }
    Ok(n)
}

/// Re-wraps every value of one kind, row by row.
async fn rewrap_kind(
    conn: &Connection,
    r: &Rewrap<'_>,
    kind: &Sealed,
    n: &mut Rotated,
) -> Result<()> {
    let (table, key, column) = (kind.table, kind.key, kind.column);
    let mut columns = vec![key, column];
    columns.extend(kind.context_columns());
    if let Place::SecretFields { adapter_type } = kind.place {
        columns.push(adapter_type);
    }
    let select = columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let found = rows(
        conn,
        &format!(
            r#"SELECT {select} FROM "{table}"
                WHERE "{column}" IS NOT NULL AND "{column}" != '' ORDER BY "{key}""#
        ),
        columns.len(),
        (),
    )
    .await?;
    for row in found {
        // A NULL column binds as empty text, as the sealing side formats it.
        let get = |c: &str| {
            Some(
                columns
                    .iter()
                    .position(|x| *x == c)
                    .and_then(|i| row[i].clone())
                    .unwrap_or_default(),
            )
        };
        let id = row[0].clone().unwrap_or_default();
        let stored = row[1].clone().unwrap_or_default();
        let what = format!("{table} {key}={id:?} column {column}");
        let again = match kind.place {
            Place::Column => {
                let context = kind.context_of(get, None).unwrap_or_default();
                n.add(kind);
                r.value(&stored, &context, &what)?
            }
            Place::Json(path) => {
                // Not JSON, or nothing at the path: nothing sealed in this row.
                let Ok(mut doc) = serde_json::from_str::<Value>(&stored) else {
                    continue;
                };
                let Some(slot) = path.iter().try_fold(&mut doc, |v, k| v.get_mut(*k)) else {
                    continue;
                };
                if slot.is_null() {
                    continue;
                }
                let what = format!("{what} at {}", path.join("."));
                let Some(sealed) = slot.as_str() else {
                    bail!("{what} is not a sealed string; nothing was changed");
                };
                let context = kind.context_of(get, None).unwrap_or_default();
                *slot = Value::String(r.value(sealed, &context, &what)?);
                n.add(kind);
                doc.to_string()
            }
            Place::SecretFields { adapter_type } => {
                let adapter_id = get(adapter_type).unwrap_or_default();
                let Ok(Value::Object(mut cfg)) = serde_json::from_str::<Value>(&stored) else {
                    bail!("{table} {id:?}: {column} is not a JSON object; nothing was changed");
                };
                let fields = dbackup_adapters_core::secrets::sealed_fields(&adapter_id, &cfg);
                if fields.is_empty() {
                    continue;
                }
                for field in fields {
                    let what = format!("{table} {id:?} ({adapter_id}) field {field}");
                    let context = kind.context_of(get, Some(&field)).unwrap_or_default();
                    // A secret map (webhook headers) has each value sealed under the field's
                    // context.
                    if let Some(Value::Object(map)) = cfg.get_mut(&field) {
                        for (k, v) in map.iter_mut() {
                            let what = format!("{what}[{k:?}]");
                            let Some(sealed) = v.as_str() else {
                                bail!("{what} is not a sealed string; nothing was changed");
                            };
                            // Plaintext saved before headers were secret: sealed at the next save.
                            if !sealed::is_envelope(sealed) {
                                continue;
                            }
                            *v = Value::String(r.value(sealed, &context, &what)?);
                        }
                        n.add(kind);
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
                    n.add(kind);
                }
                Value::Object(cfg).to_string()
            }
        };
        conn.execute(
            &format!(r#"UPDATE "{table}" SET "{column}" = ?1 WHERE "{key}" = ?2"#),
            libsql::params![again, id.clone()],
        )
        .await
        .with_context(|| format!("updating {what}"))?;
    }
    Ok(())
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
            r#"CREATE TABLE "Execution" ("id" TEXT, "callbackKey" TEXT, "request" TEXT)"#,
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
                .of(&sealed::ADAPTER_SECRET_FIELD),
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
                r#"INSERT INTO "Execution" VALUES ('e1', ?1, NULL)"#,
                old.encrypt(b"cb", "Execution.callbackKey").unwrap(),
            ),
            // A restore queued with a privileged account (its password sealed in the request).
            (
                r#"INSERT INTO "Execution" VALUES ('e3', NULL, ?1)"#,
                serde_json::json!({"path": "j/x.sql", "privileged": true,
                    "privilegedAs": {"user": "admin",
                        "passwordSealed": old.encrypt(b"pw", "Execution.request.privileged").unwrap()}})
                .to_string(),
            ),
        ] {
            conn.execute(sql, [p]).await.expect(sql);
        }
        for sql in [
            r#"INSERT INTO "Execution" VALUES ('e2', NULL, NULL)"#,
            r#"INSERT INTO "Execution" VALUES ('e4', NULL, '{"path": "j/y.sql", "privilegedAs": {"user": "u"}}')"#,
            r#"INSERT INTO "Execution" VALUES ('e5', NULL, 'not json')"#,
        ] {
            conn.execute(sql, ()).await.expect(sql);
        }

        // Dry run: counted, nothing changed.
        let before = one(&conn, r#"SELECT "secretKey" FROM "EncryptionProfile""#).await;
        let counts = rotate(&conn, &old, &new, true).await.unwrap();
        assert_eq!(
            counts.to_string(),
            "2 adapter secret fields, 1 encryption profile keys, 1 2FA secrets, \
             1 SSO client secrets, 1 execution callback keys, 1 restore privileged passwords"
        );
        assert_eq!(
            one(&conn, r#"SELECT "secretKey" FROM "EncryptionProfile""#).await,
            before
        );

        assert_eq!(rotate(&conn, &old, &new, false).await.unwrap().total(), 7);
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
        // The queued restore's password opens with the new key; the rest of the request is kept.
        let request: Value = serde_json::from_str(
            &one(
                &conn,
                r#"SELECT "request" FROM "Execution" WHERE "id" = 'e3'"#,
            )
            .await,
        )
        .unwrap();
        assert_eq!(request["path"], "j/x.sql");
        assert_eq!(request["privilegedAs"]["user"], "admin");
        let password = request["privilegedAs"]["passwordSealed"].as_str().unwrap();
        assert_eq!(
            new.decrypt(password, "Execution.request.privileged")
                .unwrap(),
            b"pw"
        );
        assert!(old
            .decrypt(password, "Execution.request.privileged")
            .is_err());
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
