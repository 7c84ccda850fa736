//! Secret fields at rest and in answers.
//!
//! At rest each secret field of `AdapterConfig.config` holds a [`SecretBox`] envelope
//! (`v1:<base64>`, AES-256-GCM under `encryption_key`) bound to the context
//! `AdapterConfig.config.<field>:<adapter id>`, so an envelope copied to another row or field
//! does not decrypt. A secret map (the generic webhook's `headers`: `Authorization`,
//! `X-Api-Key`, …) keeps its keys in clear and seals each value. Answers carry [`MASK`] instead
//! (per value in a map); a PUT that sends [`MASK`] keeps the stored secret (a map's value under
//! the same key) as long as no field binding it to its target changes ([`merge`]). A stored
//! value that does not decrypt is an error, never passed on as plaintext.

use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use serde_json::{Map, Value};

use crate::registry::AdapterType;

/// What answers show in place of a stored secret.
pub const MASK: &str = "••••";

fn context(adapter_row_id: &str, field: &str) -> String {
    dbackup_core::sealed::adapter_secret_field(adapter_row_id, field)
}

/// A secret field's value sealed under `context`: a string as one envelope, a map value by
/// value (keys in clear); anything else (not a valid secret) unchanged.
pub fn seal_value(sealer: &SecretBox, value: &Value, context: &str) -> Result<Value, ApiError> {
    let one = |plain: &str| -> Result<Value, ApiError> {
        Ok(Value::String(
            sealer
                .encrypt(plain.as_bytes(), context)
                .map_err(ApiError::from)?,
        ))
    };
    Ok(match value {
        Value::String(plain) => one(plain)?,
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match v {
                    Value::String(plain) => one(plain).map(|s| (k.clone(), s)),
                    other => Ok((k.clone(), other.clone())),
                })
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// [`seal_value`] undone; `None` when anything does not decrypt (or is not an envelope).
///
/// One exception: a map value that is not an envelope at all is plaintext saved before the
/// map became secret (webhook headers before issue 14) and is passed on as it is, to be sealed
/// at the next save; a value that looks sealed but does not decrypt is still `None`.
pub fn open_value(sealer: &SecretBox, value: &Value, context: &str) -> Option<Value> {
    let one = |sealed: &Value| -> Option<Value> {
        let plain = sealer.decrypt(sealed.as_str()?, context).ok()?;
        String::from_utf8(plain).ok().map(Value::String)
    };
    match value {
        Value::String(_) => one(value),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) if !dbackup_core::sealed::is_envelope(s) => {
                    Some((k.clone(), v.clone()))
                }
                Value::String(_) => one(v).map(|p| (k.clone(), p)),
                // An `ssh` object's port: never sealed.
                other => Some((k.clone(), other.clone())),
            })
            .collect::<Option<Map<String, Value>>>()
            .map(Value::Object),
        _ => None,
    }
}

/// The sealed fields of a stored config of adapter type `adapter_id`: the registry's secret
/// fields present in it; for a type the registry no longer knows, every top-level envelope
/// string (so `rotate-key` and the config export still reach it).
pub fn sealed_fields(adapter_id: &str, config: &Map<String, Value>) -> Vec<String> {
    match crate::registry::find(adapter_id) {
        Some(t) => t
            .secret_fields()
            .filter(|f| config.contains_key(*f))
            .map(str::to_owned)
            .collect(),
        None => config
            .iter()
            .filter(|(_, v)| v.as_str().is_some_and(dbackup_core::sealed::is_envelope))
            .map(|(k, _)| k.clone())
            .collect(),
    }
}

/// Replaces every secret field of a validated config by its envelope ([`seal_value`]).
pub fn seal(
    sealer: &SecretBox,
    adapter: &AdapterType,
    row_id: &str,
    config: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = config.clone();
    for name in adapter.secret_fields() {
        if let Some(plain) = config.get(name) {
            let ctx = context(row_id, name);
            let sealed = match (is_ssh(adapter, name), plain) {
                // An `ssh` object: only its secret keys are sealed (host, user, hostKey stay
                // readable; a key rotation may seal them too, which opens the same way).
                (true, Value::Object(map)) => Value::Object(
                    map.iter()
                        .map(|(k, v)| {
                            if crate::registry::ssh_key_is_secret(k) {
                                seal_value(sealer, v, &ctx).map(|s| (k.clone(), s))
                            } else {
                                Ok((k.clone(), v.clone()))
                            }
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => seal_value(sealer, plain, &ctx)?,
            };
            out.insert(name.into(), sealed);
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
        let plain = open_value(sealer, value, &context(row_id, name)).ok_or_else(failed)?;
        out.insert(name.into(), plain);
    }
    Ok(out)
}

/// The config as answers show it: each present secret field replaced by [`MASK`], each value
/// of a secret map too (its keys stay, so a form can show which headers are set), and the
/// credentials of a URL saved with userinfo before validation refused it
/// (`https://••••@host/…`; sent back like that it is refused, so they get moved).
pub fn mask(adapter: &AdapterType, config: &Map<String, Value>) -> Map<String, Value> {
    let mut out = config.clone();
    for f in adapter
        .fields
        .iter()
        .filter(|f| f.format == crate::registry::Format::HttpUrl && !f.secret)
    {
        let masked = out
            .get(f.name)
            .and_then(Value::as_str)
            .and_then(|url| dbackup_core::net::mask_userinfo(url, MASK));
        if let Some(masked) = masked {
            out.insert(f.name.into(), Value::String(masked));
        }
    }
    for name in adapter.secret_fields() {
        let ssh = is_ssh(adapter, name);
        let masked = match out.get(name) {
            None => continue,
            Some(Value::Object(map)) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        if ssh && !crate::registry::ssh_key_is_secret(k) {
                            (k.clone(), v.clone())
                        } else {
                            (k.clone(), Value::String(MASK.into()))
                        }
                    })
                    .collect(),
            ),
            Some(_) => Value::String(MASK.into()),
        };
        out.insert(name.into(), masked);
    }
    out
}

/// What an export without secrets keeps of the secret field `field` (sealed or plain): an
/// `ssh` object without its password/privateKey/passphrase (so the document still says which
/// host the tools run on); `None` for every other secret field (left out).
pub fn without_secrets(adapter_id: &str, field: &str, value: &Value) -> Option<Value> {
    let t = crate::registry::find(adapter_id)?;
    match value {
        Value::Object(map) if is_ssh(t, field) => Some(Value::Object(
            map.iter()
                .filter(|(k, _)| !crate::registry::ssh_key_is_secret(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )),
        _ => None,
    }
}

/// The secret fields a restored config lacks: an absent secret field, or an `ssh` object
/// without any of its secret keys (an absent `ssh` is no SSH, not a missing secret).
pub fn missing_secrets(adapter: &AdapterType, config: &Map<String, Value>) -> Vec<&'static str> {
    adapter
        .secret_fields()
        .filter(|f| match (is_ssh(adapter, f), config.get(*f)) {
            (true, None) => false,
            (true, Some(Value::Object(m))) => {
                !m.keys().any(|k| crate::registry::ssh_key_is_secret(k))
            }
            (_, v) => v.is_none(),
        })
        .collect()
}

/// For a restore onto a stored adapter: marks the missing secret `field` of `incoming` as kept
/// ([`MASK`]) where `stored` has it — the whole field, or an `ssh` object's secret keys — so
/// [`merge`] puts the stored values back (and refuses if a binding field changed).
pub fn mark_kept(
    adapter: &AdapterType,
    field: &str,
    incoming: &mut Map<String, Value>,
    stored: &Map<String, Value>,
) {
    let Some(kept) = stored.get(field) else {
        return;
    };
    match (is_ssh(adapter, field), incoming.get_mut(field), kept) {
        (true, Some(Value::Object(now)), Value::Object(old)) => {
            for k in old.keys().filter(|k| crate::registry::ssh_key_is_secret(k)) {
                now.insert(k.clone(), Value::String(MASK.into()));
            }
        }
        (true, _, _) => {}
        _ => {
            incoming.insert(field.to_owned(), Value::String(MASK.into()));
        }
    }
}

fn is_ssh(adapter: &AdapterType, name: &str) -> bool {
    adapter
        .field(name)
        .is_some_and(|f| f.ty == crate::registry::FieldType::Ssh)
}

/// A PUT's (or a test-by-id's) config with every [`MASK`] replaced by the stored (decrypted)
/// secret; a marker for a secret that is not stored is dropped (and then fails validation if
/// the field is required).
///
/// A stored secret stays with the target it was entered for: when a secret is kept this way
/// and a field that binds it ([`AdapterType::binds_secrets`]: host, port, user, URL, endpoint,
/// bucket, …) differs from the stored value, the answer is a 400 naming each kept secret
/// ("must be entered again because host changed"), so nobody with write access can send the
/// stored password, token or key to a server of their choosing. Values are compared as
/// validation would store them (defaults filled in, empty optional strings absent).
pub fn merge(
    adapter: &AdapterType,
    incoming: &Value,
    stored_plain: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let Some(obj) = incoming.as_object() else {
        return Ok(incoming.clone());
    };
    let mut out = obj.clone();
    let mut kept = Vec::new();
    for name in adapter.secret_fields() {
        match out.get_mut(name) {
            Some(v) if v.as_str() == Some(MASK) => match stored_plain.get(name) {
                Some(stored) => {
                    *v = stored.clone();
                    kept.push(name);
                }
                None => {
                    out.remove(name);
                }
            },
            // A secret map: each masked value keeps the stored value under the same key, a
            // masked key that is not stored is dropped.
            Some(Value::Object(map)) => {
                let stored = stored_plain.get(name).and_then(Value::as_object);
                let masked: Vec<String> = map
                    .iter()
                    .filter(|(_, v)| v.as_str() == Some(MASK))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in masked {
                    match stored.and_then(|m| m.get(&k)) {
                        Some(v) => {
                            map.insert(k, v.clone());
                            if kept.last() != Some(&name) {
                                kept.push(name);
                            }
                        }
                        None => {
                            map.remove(&k);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if kept.is_empty() {
        return Ok(Value::Object(out));
    }
    let changed: Vec<&str> = adapter
        .binds_secrets
        .iter()
        .copied()
        .filter(|name| effective(adapter, name, &out) != effective(adapter, name, stored_plain))
        .collect();
    if changed.is_empty() {
        return Ok(Value::Object(out));
    }
    let why = format!(
        "must be entered again because {} changed",
        changed.join(", ")
    );
    let fields: Map<String, Value> = kept
        .iter()
        .map(|name| ((*name).to_owned(), Value::String(why.clone())))
        .collect();
    Err(ApiError::bad_request(format!("{} {why}", kept.join(", ")))
        .with_details(serde_json::json!({ "fields": fields })))
}

/// The value field `name` has once validated: absent, `null` and an optional `""` read as
/// the default (or absent).
fn effective(adapter: &AdapterType, name: &str, config: &Map<String, Value>) -> Option<Value> {
    let field = adapter.field(name)?;
    match config.get(name) {
        None | Some(Value::Null) => field.default.map(|d| d.to_json()),
        Some(Value::String(s)) if s.is_empty() && !field.required => {
            field.default.map(|d| d.to_json())
        }
        Some(v) => Some(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{find, Field, FieldType, Format, ADAPTERS};
    use crate::validate::validate;
    use serde_json::json;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// A SQLite file on an SSH host: the key is its only secret, sealed and masked, kept
    /// through a PUT while ssh is unchanged, refused (400 naming ssh) when ssh.host moves.
    #[test]
    fn sqlite_over_ssh_keeps_its_key_only_for_the_same_host() {
        let sealer = SecretBox::from_hex_key(KEY).unwrap();
        let lite = find("sqlite").unwrap();
        let plain = validate(
            lite,
            &json!({"path": "/srv/app.db",
                    "ssh": {"host": "db.example", "user": "backup",
                            "privateKey": "key-canary", "hostKey": "SHA256:abcdef"}}),
        )
        .unwrap();
        let sealed = seal(&sealer, lite, "a1", &plain).unwrap();
        assert!(!serde_json::to_string(&sealed).unwrap().contains("canary"));
        let masked = mask(lite, &plain);
        assert_eq!(masked["ssh"]["privateKey"], MASK);
        assert_eq!(
            merge(lite, &Value::Object(masked.clone()), &plain).unwrap(),
            Value::Object(plain.clone())
        );
        let mut moved_path = masked.clone();
        moved_path["path"] = json!("/srv/other.db");
        assert!(merge(lite, &Value::Object(moved_path), &plain).is_ok());
        let mut moved = masked.clone();
        moved["ssh"]["host"] = json!("elsewhere.example");
        let err = merge(lite, &Value::Object(moved), &plain).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.message.contains("ssh"), "{}", err.message);
    }

    /// An `ssh` object: its password/key sealed and masked, host/port/user/hostKey in clear;
    /// kept through a PUT only while the whole object (and so its host) is unchanged, and the
    /// database password is bound to it too.
    #[test]
    fn ssh_object_secrets() {
        let sealer = SecretBox::from_hex_key(KEY).unwrap();
        let pg = find("postgres").unwrap();
        let plain = validate(
            pg,
            &json!({"host": "127.0.0.1", "user": "postgres", "password": "db-canary",
                    "ssh": {"host": "db.example", "port": 2222, "user": "backup",
                            "privateKey": "key-canary", "hostKey": "SHA256:abcdef"}}),
        )
        .unwrap();
        let sealed = seal(&sealer, pg, "a1", &plain).unwrap();
        let text = serde_json::to_string(&sealed).unwrap();
        assert!(!text.contains("canary"), "{text}");
        assert_eq!(sealed["ssh"]["host"], "db.example");
        assert_eq!(sealed["ssh"]["port"], 2222);
        assert_eq!(open(&sealer, pg, "a1", &sealed).unwrap(), plain);
        let masked = mask(pg, &plain);
        assert_eq!(
            masked["ssh"],
            json!({"host": "db.example", "port": 2222, "user": "backup",
                   "privateKey": MASK, "hostKey": "SHA256:abcdef"})
        );
        assert_eq!(
            merge(pg, &Value::Object(masked.clone()), &plain).unwrap(),
            Value::Object(plain.clone())
        );
        let mut moved = masked.clone();
        moved["ssh"]["host"] = json!("elsewhere.example");
        let err = merge(pg, &Value::Object(moved), &plain).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(
            err.message.contains("password") && err.message.contains("ssh"),
            "{}",
            err.message
        );
        // Bad ssh objects: 400 naming the field and the key.
        for (bad, why) in [
            (
                json!({"host": "h", "user": "u", "password": "p"}),
                "hostKey",
            ),
            (
                json!({"host": "h", "user": "u", "hostKey": "SHA256:x"}),
                "password or privateKey",
            ),
            (
                json!({"host": "a b", "user": "u", "password": "p", "hostKey": "SHA256:x"}),
                "host",
            ),
            (
                json!({"host": "h", "user": "u", "password": "p", "hostKey": "nope"}),
                "hostKey",
            ),
            (
                json!({"host": "h", "user": "u", "password": MASK, "hostKey": "SHA256:x"}),
                "password",
            ),
            (
                json!({"host": "h", "user": "u", "password": "p", "hostKey": "SHA256:x", "cmd": "x"}),
                "unknown key",
            ),
            (
                json!({"host": "h", "port": 0, "user": "u", "password": "p", "hostKey": "SHA256:x"}),
                "port",
            ),
        ] {
            let err = validate(pg, &json!({"host": "h", "user": "u", "ssh": bad})).unwrap_err();
            let field = err.details.as_ref().unwrap()["fields"]["ssh"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(field.contains(why), "{bad}: {field}");
        }
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
            &json!({"host": "h", "password": MASK, "privateKey": "new", "passphrase": MASK}),
            &plain,
        )
        .unwrap();
        assert_eq!(
            merged,
            json!({"host": "h", "password": "canary-pw", "privateKey": "new"})
        );
    }

    /// A valid value of `f` (secrets: a canary naming the field).
    fn sample(f: &Field) -> Value {
        if f.ty == FieldType::Ssh {
            return json!({"host": "db.example", "port": 22, "user": "backup",
                          "password": format!("{}-canary", f.name), "hostKey": "SHA256:abcdef"});
        }
        if f.secret && f.ty == FieldType::StringMap {
            return json!({"Authorization": format!("Bearer {}-canary", f.name), "X-Env": "prod"});
        }
        if f.secret {
            return match f.format {
                Format::HttpUrl => json!(format!("https://home.example/{}-canary", f.name)),
                Format::MongoUri => json!("mongodb://u:canary@home.example:27017/"),
                _ => json!(format!("{}-canary", f.name)),
            };
        }
        match (f.ty, f.format) {
            (FieldType::Integer { min, .. }, _) => json!(min),
            (FieldType::Boolean, _) => json!(false),
            (FieldType::Enum(values), _) => json!(values[values.len() - 1]),
            (FieldType::StringList, Format::AbsolutePath) => json!(["/srv"]),
            (FieldType::StringList, _) => json!(["ops@example.com"]),
            (FieldType::StringMap, _) => json!({"X-Env": "prod"}),
            (FieldType::Ssh, _) => unreachable!("handled above"),
            (FieldType::String, Format::Host) => json!("db.example"),
            (FieldType::String, Format::HttpUrl) => json!("https://home.example"),
            (FieldType::String, Format::AbsolutePath) => json!("/srv"),
            (FieldType::String, Format::Email) => json!("dbackup@example.com"),
            (FieldType::String, Format::DnsLabel) => json!("home"),
            (FieldType::String, Format::MongoUri) => json!("mongodb://home.example/"),
            (FieldType::String, Format::None | Format::Multiline) => json!("value"),
        }
    }

    /// Another valid value of `f` than `current`, pointing elsewhere where it is a target.
    fn elsewhere(f: &Field, current: Option<&Value>) -> Value {
        let v = match (f.ty, f.format) {
            (FieldType::Integer { min, .. }, _) => json!(min + 1),
            (FieldType::Boolean, _) => json!(current != Some(&json!(true))),
            (FieldType::Enum(values), _) => json!(values
                .iter()
                .find(|v| current.and_then(Value::as_str) != Some(**v))
                .unwrap()),
            (FieldType::StringList, Format::AbsolutePath) => json!(["/elsewhere"]),
            (FieldType::StringList, _) => json!(["thief@elsewhere.example"]),
            (FieldType::StringMap, _) => json!({"X-Other": "1"}),
            (FieldType::Ssh, _) => json!({"host": "elsewhere.example", "user": "backup",
                                          "password": "typed-again", "hostKey": "SHA256:abcdef"}),
            (FieldType::String, Format::Host) => json!("elsewhere.example"),
            (FieldType::String, Format::HttpUrl) => json!("https://elsewhere.example"),
            (FieldType::String, Format::AbsolutePath) => json!("/elsewhere"),
            (FieldType::String, Format::Email) => json!("thief@elsewhere.example"),
            (FieldType::String, Format::DnsLabel) => json!("elsewhere"),
            (FieldType::String, Format::MongoUri) => json!("mongodb://u:new@elsewhere.example/"),
            (FieldType::String, Format::None | Format::Multiline) => json!("elsewhere"),
        };
        assert_ne!(Some(&v), current, "{}", f.name);
        v
    }

    /// Every adapter type with secrets: a masked secret survives a change of a free field, and
    /// a change of any field that binds it is a 400 naming each kept secret and the field; the
    /// same change with the secrets entered again is accepted.
    #[test]
    fn a_kept_secret_is_bound_to_its_target() {
        let mut checked = 0;
        for t in ADAPTERS
            .iter()
            .filter(|t| t.secret_fields().next().is_some())
        {
            let full: Map<String, Value> = t
                .fields
                .iter()
                .map(|f| (f.name.into(), sample(f)))
                .collect();
            let stored =
                validate(t, &Value::Object(full)).unwrap_or_else(|e| panic!("{}: {e:?}", t.id));
            let masked = mask(t, &stored);
            assert_eq!(
                merge(t, &Value::Object(masked.clone()), &stored).unwrap(),
                Value::Object(stored.clone()),
                "{}",
                t.id
            );
            // Defaults left out and optional strings sent empty read as unchanged.
            let mut sparse = masked.clone();
            for f in t.fields {
                if f.default.is_some()
                    && sparse.get(f.name) == f.default.map(|d| d.to_json()).as_ref()
                {
                    sparse.remove(f.name);
                }
            }
            assert!(
                merge(t, &Value::Object(sparse), &stored).is_ok(),
                "{}",
                t.id
            );

            for f in t
                .fields
                .iter()
                .filter(|f| !f.secret && !t.binds_secrets(f.name))
            {
                let mut c = masked.clone();
                c.insert(f.name.into(), elsewhere(f, stored.get(f.name)));
                let merged = merge(t, &Value::Object(c), &stored)
                    .unwrap_or_else(|e| panic!("{}.{} is free: {e:?}", t.id, f.name));
                assert!(validate(t, &merged).is_ok(), "{}.{}", t.id, f.name);
            }

            for name in t.binds_secrets {
                let f = t.field(name).unwrap();
                if f.secret && t.secret_fields().all(|s| s == *name) {
                    // An ssh object that is the only secret (SQLite over SSH) binds its own
                    // keys: sqlite_over_ssh_keeps_its_key_only_for_the_same_host.
                    continue;
                }
                let mut c = masked.clone();
                c.insert((*name).into(), elsewhere(f, stored.get(*name)));
                let err = merge(t, &Value::Object(c.clone()), &stored)
                    .expect_err(&format!("{}: {name} changed with the secrets masked", t.id));
                assert_eq!(err.status, 400);
                let fields = &err.details.as_ref().unwrap()["fields"];
                let kept: Vec<&str> = t.secret_fields().filter(|s| s != name).collect();
                assert_eq!(
                    fields.as_object().unwrap().len(),
                    kept.len(),
                    "{}: {fields}",
                    t.id
                );
                for s in &kept {
                    let why = fields[*s]
                        .as_str()
                        .unwrap_or_else(|| panic!("{}.{s}: {fields}", t.id));
                    assert_eq!(why, format!("must be entered again because {name} changed"));
                    assert!(err.message.contains(s), "{}", err.message);
                }
                assert!(!format!("{err:?}").contains("canary"), "{err:?}");
                // Entered again: accepted.
                for s in &kept {
                    c.insert((*s).into(), stored[*s].clone());
                }
                let merged = merge(t, &Value::Object(c), &stored).unwrap();
                assert!(validate(t, &merged).is_ok(), "{}.{name}", t.id);
                checked += 1;
            }
            // An optional binding field dropped counts as a change too.
            for f in t.fields.iter().filter(|f| {
                t.binds_secrets(f.name) && !f.required && f.default.is_none() && !f.secret
            }) {
                let mut c = masked.clone();
                c.remove(f.name);
                assert!(
                    merge(t, &Value::Object(c), &stored).is_err(),
                    "{}.{}",
                    t.id,
                    f.name
                );
            }
        }
        assert!(checked >= 40, "{checked}");
    }

    /// The generic webhook's headers carry credentials: each value is sealed at rest, masked in
    /// answers, and a masked value is kept under its own header only while `url` stays.
    #[test]
    fn webhook_header_values_are_secrets() {
        let sealer = SecretBox::from_hex_key(KEY).unwrap();
        let webhook = find("webhook").unwrap();
        let plain = validate(
            webhook,
            &json!({"url": "https://hooks.example/in", "headers": {
                "Authorization": "Bearer canary-token", "X-Env": "prod"}}),
        )
        .unwrap();
        let sealed = seal(&sealer, webhook, "w1", &plain).unwrap();
        let text = Value::Object(sealed.clone()).to_string();
        assert!(!text.contains("canary") && !text.contains("prod"), "{text}");
        assert!(sealed["headers"]["Authorization"]
            .as_str()
            .unwrap()
            .starts_with("v1:"));
        assert_eq!(open(&sealer, webhook, "w1", &sealed).unwrap(), plain);
        assert!(open(&sealer, webhook, "w2", &sealed).is_err());
        // Headers saved in plaintext before they were secret still load (sealed at the next
        // save); masked like the others.
        assert_eq!(open(&sealer, webhook, "w1", &plain).unwrap(), plain);

        // A URL saved with credentials before they were refused: shown without them.
        let legacy = obj(json!({"url": "https://u:canary-pw@hooks.example/in"}));
        assert_eq!(
            mask(webhook, &legacy)["url"],
            format!("https://{MASK}@hooks.example/in")
        );

        let masked = mask(webhook, &plain);
        assert_eq!(
            masked["headers"],
            json!({"Authorization": MASK, "X-Env": MASK})
        );
        assert!(!Value::Object(masked.clone()).to_string().contains("canary"));

        // Sent back as shown: kept. One header changed, one added, one masked but unknown
        // (dropped), one left out (gone).
        assert_eq!(
            merge(webhook, &Value::Object(masked.clone()), &plain).unwrap(),
            Value::Object(plain.clone())
        );
        let merged = merge(
            webhook,
            &json!({"url": "https://hooks.example/in", "headers": {
                "Authorization": MASK, "X-Env": "staging", "X-New": "1", "X-Unknown": MASK}}),
            &plain,
        )
        .unwrap();
        assert_eq!(
            merged["headers"],
            json!({"Authorization": "Bearer canary-token", "X-Env": "staging", "X-New": "1"})
        );
        // A masked value cannot move to another header name.
        let merged = merge(
            webhook,
            &json!({"url": "https://hooks.example/in", "headers": {"X-Log": MASK}}),
            &plain,
        )
        .unwrap();
        assert_eq!(merged["headers"], json!({}));
        // The whole map sent as the mask (a config restore leaving it out) keeps it all.
        let merged = merge(
            webhook,
            &json!({"url": "https://hooks.example/in", "headers": MASK}),
            &plain,
        )
        .unwrap();
        assert_eq!(merged["headers"], plain["headers"]);

        // A new url with a kept header: 400 naming headers, no value in the error.
        for headers in [json!({"Authorization": MASK}), json!(MASK)] {
            let err = merge(
                webhook,
                &json!({"url": "https://attacker.example/", "headers": headers}),
                &plain,
            )
            .unwrap_err();
            assert_eq!(err.status, 400);
            assert_eq!(
                err.message,
                "headers must be entered again because url changed"
            );
            assert!(!format!("{err:?}").contains("canary"));
        }
        // Entered again: fine.
        assert!(merge(
            webhook,
            &json!({"url": "https://elsewhere.example/", "headers": {"Authorization": "Bearer new"}}),
            &plain,
        )
        .is_ok());
    }

    #[test]
    fn mongodb_uri_binds_the_password() {
        let mongo = find("mongodb").unwrap();
        let stored =
            obj(json!({"uri": "mongodb://u:p@db.example/", "password": "pw", "port": 27017}));
        // A new URI with the password kept: the password would go to the new hosts.
        let err = merge(
            mongo,
            &json!({"uri": "mongodb://u@elsewhere.example/", "password": MASK}),
            &stored,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "password must be entered again because uri changed"
        );
        // The host added while both are kept: both named.
        let err = merge(
            mongo,
            &json!({"uri": MASK, "password": MASK, "host": "elsewhere.example"}),
            &stored,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "uri, password must be entered again because host changed"
        );
        // Nothing kept: nothing to protect.
        assert!(merge(
            mongo,
            &json!({"host": "elsewhere.example", "password": "new"}),
            &stored
        )
        .is_ok());
    }
}
