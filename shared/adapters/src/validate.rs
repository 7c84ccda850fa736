//! Config validation against the registry: every bad field is named (400 with
//! `details.fields: {name: why}`), defaults are filled in, empty optional strings are dropped.

use std::collections::BTreeMap;

use dbackup_core::ApiError;
use serde_json::{json, Map, Value};

use crate::registry::{AdapterType, FieldType, Format};
use crate::secrets::MASK;

/// Validates `config` for `adapter`; returns it normalized (defaults filled, empty optional
/// strings removed). The secret marker is refused here: callers replace it first (PUT merge).
pub fn validate(adapter: &AdapterType, config: &Value) -> Result<Map<String, Value>, ApiError> {
    let Some(input) = config.as_object() else {
        return Err(ApiError::bad_request("config must be a JSON object")
            .with_details(json!({"fields": {"config": "must be an object"}})));
    };
    let mut bad: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Map::new();
    for key in input.keys() {
        if adapter.field(key).is_none() {
            bad.insert(key.clone(), format!("unknown field for {}", adapter.id));
        }
    }
    for f in adapter.fields {
        let value = match input.get(f.name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() && !f.required => None,
            Some(v) => Some(v),
        };
        let Some(value) = value else {
            if let Some(d) = f.default {
                out.insert(f.name.into(), d.to_json());
            } else if f.required {
                bad.insert(f.name.into(), "is required".into());
            }
            continue;
        };
        if f.secret && value.as_str() == Some(MASK) {
            bad.insert(
                f.name.into(),
                "send the secret itself (the marker only keeps a stored secret on update)".into(),
            );
            continue;
        }
        match check(f.ty, f.format, value) {
            Ok(()) => {
                out.insert(f.name.into(), value.clone());
            }
            Err(why) => {
                bad.insert(f.name.into(), why);
            }
        }
    }
    if !adapter.one_of.is_empty() && !adapter.one_of.iter().any(|k| out.contains_key(*k)) {
        let names = adapter.one_of.join(" or ");
        for k in adapter.one_of {
            bad.entry((*k).to_owned())
                .or_insert_with(|| format!("{names} is required"));
        }
    }
    if bad.is_empty() {
        return Ok(out);
    }
    let names: Vec<&str> = bad.keys().map(String::as_str).collect();
    Err(ApiError::bad_request(format!(
        "invalid {} config: {}",
        adapter.id,
        names.join(", ")
    ))
    .with_details(json!({ "fields": bad })))
}

fn check(ty: FieldType, format: Format, v: &Value) -> Result<(), String> {
    match ty {
        FieldType::String => {
            let s = v.as_str().ok_or("must be a string")?;
            if s.is_empty() {
                return Err("must not be empty".into());
            }
            if s.len() > 16 * 1024 {
                return Err("is too long".into());
            }
            check_format(format, s)
        }
        FieldType::Integer { min, max } => match v.as_i64() {
            Some(i) if (min..=max).contains(&i) => Ok(()),
            _ => Err(format!("must be an integer between {min} and {max}")),
        },
        FieldType::Boolean => v
            .as_bool()
            .map(|_| ())
            .ok_or_else(|| "must be true or false".into()),
        FieldType::Enum(values) => match v.as_str() {
            Some(s) if values.contains(&s) => Ok(()),
            _ => Err(format!("must be one of {}", values.join(", "))),
        },
        FieldType::StringList => {
            let items = v.as_array().ok_or("must be a list of strings")?;
            if items.is_empty() {
                return Err("must not be empty".into());
            }
            for item in items {
                let s = item.as_str().ok_or("must be a list of strings")?;
                if format == Format::Email {
                    check_format(Format::Email, s)?;
                }
            }
            // Email recipient lists carry the email format on the field itself.
            Ok(())
        }
        FieldType::StringMap => {
            let map = v.as_object().ok_or("must be an object of strings")?;
            for (k, val) in map {
                let ok_name = !k.is_empty()
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
                let ok_value = val.as_str().is_some_and(|s| !s.contains(['\r', '\n']));
                if !ok_name || !ok_value {
                    return Err(format!("header {k:?} is not a valid header"));
                }
            }
            Ok(())
        }
    }
}

fn check_format(format: Format, s: &str) -> Result<(), String> {
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    match format {
        Format::None => Ok(()),
        Format::Host => {
            if s.contains(|c: char| c.is_whitespace() || c == '/' || c == ',') || s.len() > 255 {
                Err("must be a host name or IP address".into())
            } else {
                Ok(())
            }
        }
        Format::AbsolutePath => {
            if s.starts_with('/') && !s.split('/').any(|seg| seg == "..") {
                Ok(())
            } else {
                Err("must be an absolute path without ..".into())
            }
        }
        Format::HttpUrl => {
            let rest = s
                .strip_prefix("https://")
                .or_else(|| s.strip_prefix("http://"));
            match rest {
                Some(r)
                    if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) =>
                {
                    Ok(())
                }
                _ => Err("must be an http:// or https:// URL".into()),
            }
        }
        Format::Email => match s.split_once('@') {
            Some((l, d)) if !l.is_empty() && !d.is_empty() && !s.contains(char::is_whitespace) => {
                Ok(())
            }
            _ => Err("must be an e-mail address".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::find;

    #[test]
    fn names_each_bad_field() {
        let pg = find("postgres").unwrap();
        let err = validate(pg, &json!({"host": "a b", "port": 70000, "extra": 1})).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(
            err.message,
            "invalid postgres config: extra, host, port, user"
        );
        assert_eq!(
            err.details.unwrap()["fields"],
            json!({
                "extra": "unknown field for postgres",
                "host": "must be a host name or IP address",
                "port": "must be an integer between 1 and 65535",
                "user": "is required",
            })
        );
        assert!(validate(pg, &json!([])).is_err());
    }

    #[test]
    fn fills_defaults_and_drops_empty_optionals() {
        let pg = find("postgres").unwrap();
        let ok = validate(pg, &json!({"host": "db", "user": "u", "password": ""})).unwrap();
        assert_eq!(
            Value::Object(ok),
            json!({"host": "db", "port": 5432, "user": "u", "database": "postgres"})
        );
    }

    #[test]
    fn one_of_and_marker() {
        let sftp = find("sftp").unwrap();
        let base = json!({"host": "h", "username": "u", "hostKey": "SHA256:x", "path": "/b"});
        let err = validate(sftp, &base).unwrap_err();
        assert!(
            err.message.contains("password, privateKey"),
            "{}",
            err.message
        );
        let mut with_marker = base.clone();
        with_marker["password"] = json!(MASK);
        assert!(validate(sftp, &with_marker).is_err());
        let mut good = base;
        good["password"] = json!("pw");
        assert!(validate(sftp, &good).is_ok());
        let email = find("email").unwrap();
        let err = validate(email, &json!({"host": "h", "from": "nope", "to": []})).unwrap_err();
        assert_eq!(err.message, "invalid email config: from, to");
    }
}
