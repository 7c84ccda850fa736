//! Secret fields at rest and in answers.
//!
//! At rest each secret field of `AdapterConfig.config` holds a [`SecretBox`] envelope
//! (`v1:<base64>`, AES-256-GCM under `encryption_key`) bound to the context
//! `AdapterConfig.config.<field>:<adapter id>`, so an envelope copied to another row or field
//! does not decrypt. Answers carry [`MASK`] instead; a PUT that sends [`MASK`] keeps the stored
//! secret. A stored value that does not decrypt is an error, never passed on as plaintext.

use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use serde_json::{Map, Value};

use crate::registry::AdapterType;

/// What answers show in place of a stored secret.
pub const MASK: &str = "••••";

fn context(adapter_row_id: &str, field: &str) -> String {
    format!("AdapterConfig.config.{field}:{adapter_row_id}")
}

/// Replaces every secret field of a validated config by its envelope.
pub fn seal(
    sealer: &SecretBox,
    adapter: &AdapterType,
    row_id: &str,
    config: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = config.clone();
    for name in adapter.secret_fields() {
        if let Some(Value::String(plain)) = config.get(name) {
            let sealed = sealer
                .encrypt(plain.as_bytes(), &context(row_id, name))
                .map_err(ApiError::from)?;
            out.insert(name.into(), Value::String(sealed));
        }
    }
    Ok(out)
}

/// Decrypts every secret field of a stored config. Any failure (wrong `encryption_key`, a
/// tampered or plaintext value) is a 500 naming the field, never the value.
pub fn open(
    sealer: &SecretBox,
    adapter: &AdapterType,
    row_id: &str,
    stored: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = stored.clone();
    for name in adapter.secret_fields() {
        let Some(value) = stored.get(name) else {
            continue;
        };
        let failed = || {
            ApiError::internal(format!(
                "adapter {row_id}: secret field {name} does not decrypt (encryption_key changed or value tampered with)"
            ))
        };
        let sealed = value.as_str().ok_or_else(failed)?;
        let plain = sealer
            .decrypt(sealed, &context(row_id, name))
            .map_err(|_| failed())?;
        let plain = String::from_utf8(plain).map_err(|_| failed())?;
        out.insert(name.into(), Value::String(plain));
    }
    Ok(out)
}

/// The config as answers show it: each present secret field replaced by [`MASK`].
pub fn mask(adapter: &AdapterType, config: &Map<String, Value>) -> Map<String, Value> {
    let mut out = config.clone();
    for name in adapter.secret_fields() {
        if out.contains_key(name) {
            out.insert(name.into(), Value::String(MASK.into()));
        }
    }
    out
}

/// A PUT's config with every [`MASK`] replaced by the stored (decrypted) secret; a marker for a
/// secret that is not stored is dropped (and then fails validation if the field is required).
pub fn merge(adapter: &AdapterType, incoming: &Value, stored_plain: &Map<String, Value>) -> Value {
    let Some(obj) = incoming.as_object() else {
        return incoming.clone();
    };
    let mut out = obj.clone();
    for name in adapter.secret_fields() {
        if out.get(name).and_then(Value::as_str) == Some(MASK) {
            match stored_plain.get(name) {
                Some(v) => out.insert(name.into(), v.clone()),
                None => out.remove(name),
            };
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::find;
    use serde_json::json;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn seal_open_mask_merge() {
        let sealer = SecretBox::from_hex_key(KEY).unwrap();
        let sftp = find("sftp").unwrap();
        let plain = obj(json!({"host": "h", "password": "canary-pw", "privateKey": "canary-key"}));
        let sealed = seal(&sealer, sftp, "a1", &plain).unwrap();
        let text = Value::Object(sealed.clone()).to_string();
        assert!(!text.contains("canary"), "{text}");
        assert_eq!(sealed["host"], "h");
        assert_eq!(open(&sealer, sftp, "a1", &sealed).unwrap(), plain);
        // Bound to the row and field.
        assert!(open(&sealer, sftp, "a2", &sealed).is_err());
        let mut swapped = sealed.clone();
        swapped.insert("password".into(), sealed["privateKey"].clone());
        assert!(open(&sealer, sftp, "a1", &swapped).is_err());
        // Plaintext at rest is an error, not passed through.
        let err = open(&sealer, sftp, "a1", &obj(json!({"password": "plain"}))).unwrap_err();
        assert_eq!(err.status, 500);
        assert!(!err.to_string().contains("plain\""));

        let masked = mask(sftp, &plain);
        assert_eq!(
            Value::Object(masked),
            json!({"host": "h", "password": MASK, "privateKey": MASK})
        );
        let merged = merge(
            sftp,
            &json!({"host": "h2", "password": MASK, "privateKey": "new", "passphrase": MASK}),
            &plain,
        );
        assert_eq!(
            merged,
            json!({"host": "h2", "password": "canary-pw", "privateKey": "new"})
        );
    }
}
