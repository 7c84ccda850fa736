//! Config validation against the registry: every bad field is named (400 with
//! `details.fields: {name: why}`), defaults are filled in, empty optional strings are dropped.

use std::collections::BTreeMap;

use dbackup_core::{net, ApiError};
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
            Some(Value::Array(a)) if a.is_empty() && !f.required => None,
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

/// Checks the name of an adapter or encryption profile: trimmed, 1 to 100 characters, no
/// control characters (400 naming `name` otherwise).
pub fn name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "name must be 1 to 100 characters without control characters",
        )
        .with_details(json!({"field": "name"})));
    }
    Ok(name.to_owned())
}

/// An [`FieldType::Ssh`] object; the message names the key (`host: …`).
fn check_ssh(v: &Value) -> Result<(), String> {
    let map = v
        .as_object()
        .ok_or("must be an object {host, port, user, password | privateKey, hostKey}")?;
    for (k, value) in map {
        if !crate::registry::SSH_KEYS.iter().any(|(name, _)| name == k) {
            let k: String = k.chars().take(64).collect();
            return Err(format!("unknown key {k}"));
        }
        if value.as_str() == Some(MASK) {
            return Err(format!(
                "{k}: send the secret itself (the marker only keeps a stored secret on update)"
            ));
        }
    }
    let text = |k: &str, required: bool, max: usize| -> Result<Option<&str>, String> {
        match map.get(k) {
            None | Some(Value::Null) if required => Err(format!("{k}: is required")),
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() && required => {
                Err(format!("{k}: must not be empty"))
            }
            Some(Value::String(s)) if s.len() > max => Err(format!("{k}: is too long")),
            Some(Value::String(s)) => Ok(Some(s.as_str()).filter(|s| !s.is_empty())),
            Some(_) => Err(format!("{k}: must be a string")),
        }
    };
    let host = text("host", true, 253)?.unwrap_or_default();
    check_host(host).map_err(|e| format!("host: {e}"))?;
    let user = text("user", true, 255)?.unwrap_or_default();
    if user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("user: must not contain whitespace or control characters".into());
    }
    let password = text("password", false, 1024)?;
    let key = text("privateKey", false, 16 * 1024)?;
    text("passphrase", false, 1024)?;
    if password.is_none() && key.is_none() {
        return Err("password or privateKey is required".into());
    }
    let host_key = text("hostKey", true, 16 * 1024)?.unwrap_or_default();
    let host_key = host_key.trim();
    let pinned = host_key.starts_with("SHA256:")
        || (host_key.starts_with("ssh-") || host_key.starts_with("ecdsa-"))
            && host_key.split_whitespace().count() >= 2;
    if !pinned || host_key.chars().any(|c| c.is_control()) {
        return Err(
            "hostKey: an OpenSSH public key line (\"ssh-ed25519 AAAA…\") or a \"SHA256:…\" fingerprint"
                .into(),
        );
    }
    match map.get("port") {
        None | Some(Value::Null) => Ok(()),
        Some(p) => match p.as_i64() {
            Some(p) if (1..=65535).contains(&p) => Ok(()),
            _ => Err("port: must be an integer between 1 and 65535".into()),
        },
    }
}

fn check(ty: FieldType, format: Format, v: &Value) -> Result<(), String> {
    match ty {
        FieldType::Ssh => check_ssh(v),
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
            if items.len() > 256 {
                return Err("must have at most 256 items".into());
            }
            for item in items {
                let s = item.as_str().ok_or("must be a list of strings")?;
                if s.is_empty() || s.len() > 4096 || s.chars().any(char::is_control) {
                    return Err("items must be 1 to 4096 bytes without control characters".into());
                }
                if matches!(format, Format::Email | Format::AbsolutePath) {
                    check_format(format, s)?;
                }
            }
            // Email recipient lists carry the email format on the field itself.
            Ok(())
        }
        FieldType::StringMap => {
            let map = v.as_object().ok_or("must be an object of strings")?;
            if map.len() > 64 {
                return Err("must have at most 64 entries".into());
            }
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
    let allowed = |c: char| format == Format::Multiline && matches!(c, '\n' | '\r' | '\t');
    if s.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err("must not contain control characters".into());
    }
    match format {
        Format::None | Format::Multiline => Ok(()),
        Format::Host => check_host(s),
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
                    net::check_url(s).map_err(str::to_owned)
                }
                _ => Err("must be an http:// or https:// URL".into()),
            }
        }
        Format::DnsLabel => {
            let ok = !s.is_empty()
                && s.len() <= 63
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !s.starts_with('-')
                && !s.ends_with('-');
            if ok {
                Ok(())
            } else {
                Err(
                    "must be letters, digits and inner hyphens (it becomes part of a host name)"
                        .into(),
                )
            }
        }
        Format::MongoUri => check_mongo_uri(s),
        Format::Email => match s.split_once('@') {
            Some((l, d)) if !l.is_empty() && !d.is_empty() && !s.contains(char::is_whitespace) => {
                Ok(())
            }
            _ => Err("must be an e-mail address".into()),
        },
    }
}

/// A host as typed: a name or an IP literal (IPv6 in brackets or bare), nothing a tool could
/// read as more (no `user@`, `:port`-less junk, `/`, `,`, `%zone`, leading `-`), and not a
/// link-local or cloud metadata address ([`net::check_host`]).
fn check_host(s: &str) -> Result<(), String> {
    let shape_ok = !s.is_empty()
        && s.len() <= 255
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b));
    if !shape_ok {
        // Non-ASCII gets the xn-- hint rather than the generic text.
        if !s.is_ascii() {
            return Err(net::NON_ASCII.into());
        }
        return Err("must be a host name or IP address".into());
    }
    net::check_host(s).map_err(str::to_owned)
}

/// A `mongodb://` or `mongodb+srv://` connection string whose hosts (the seed list between the
/// userinfo and the path) each pass [`check_host`]. The URI is a secret: errors never quote it.
fn check_mongo_uri(s: &str) -> Result<(), String> {
    let Some(rest) = s
        .strip_prefix("mongodb://")
        .or_else(|| s.strip_prefix("mongodb+srv://"))
    else {
        return Err("must be a mongodb:// or mongodb+srv:// connection string".into());
    };
    if s.contains(|c: char| c.is_whitespace() || c == '\\') {
        return Err("must be a connection string without whitespace or backslashes".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hosts.is_empty() {
        return Err("must name at least one host".into());
    }
    for hostport in hosts.split(',') {
        let host = if let Some(v6) = hostport.strip_prefix('[') {
            v6.split_once(']').map(|(h, _)| h).unwrap_or(v6)
        } else {
            hostport.split(':').next().unwrap_or(hostport)
        };
        check_host(host).map_err(|why| format!("has a host that {why}"))?;
    }
    Ok(())
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
    fn an_sftp_private_key_keeps_its_line_breaks() {
        let sftp = find("sftp").unwrap();
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        let config = json!({"host": "h", "username": "u", "hostKey": "SHA256:x", "path": "/b", "privateKey": key});
        let ok = validate(sftp, &config).unwrap();
        assert_eq!(ok["privateKey"], json!(key));
        // Line breaks only: other control characters stay refused.
        let mut bad = config;
        bad["privateKey"] = json!("key\u{7}");
        assert!(validate(sftp, &bad).is_err());
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

    /// Every URL or host a user types: link-local and cloud-metadata addresses are refused in
    /// any literal form, named by field; loopback and private ranges stay allowed.
    /// A URL is shown back in answers: credentials in its userinfo would be too. Every URL
    /// field refuses them, naming the field and where credentials go instead.
    #[test]
    fn credentials_in_url_fields_are_refused_by_field() {
        let mut checked = 0;
        for t in crate::registry::ADAPTERS {
            for f in t.fields.iter().filter(|f| f.format == Format::HttpUrl) {
                for url in [
                    "https://user:pass@hooks.example/x",
                    "https://token@hooks.example",
                ] {
                    let mut config: serde_json::Map<String, Value> = t
                        .fields
                        .iter()
                        .filter(|g| g.required && g.name != f.name)
                        .map(|g| {
                            (
                                g.name.into(),
                                json!(if g.format == Format::Host {
                                    "h.example"
                                } else {
                                    "x"
                                }),
                            )
                        })
                        .collect();
                    config.insert(f.name.into(), json!(url));
                    let err = validate(t, &Value::Object(config)).unwrap_err();
                    assert_eq!(err.status, 400);
                    let fields = &err.details.as_ref().unwrap()["fields"];
                    assert_eq!(
                        fields[f.name],
                        net::CREDENTIALS_IN_URL,
                        "{}.{}: {fields}",
                        t.id,
                        f.name
                    );
                    assert!(!format!("{err:?}").contains("pass@"), "{err:?}");
                }
                checked += 1;
            }
        }
        // webhook url, discord/slack/teams webhookUrl + avatarUrl, telegram apiUrl, gotify and
        // ntfy serverUrl, s3 and minio endpoint.
        assert!(checked >= 10, "{checked}");
    }

    #[test]
    fn metadata_targets_are_refused_by_field() {
        let refused = |id: &str, config: Value, field: &str| {
            let err = validate(find(id).unwrap(), &config).unwrap_err();
            let fields = &err.details.as_ref().unwrap()["fields"];
            assert!(fields[field].is_string(), "{id} {config}: {fields}");
            assert!(err.message.contains(field), "{}", err.message);
            fields[field].as_str().unwrap().to_owned()
        };
        let s3 = |endpoint: &str| {
            json!({"endpoint": endpoint, "region": "r", "bucket": "b", "accessKeyId": "a",
                   "secretAccessKey": "s"})
        };
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://2852039166",
            "http://0xa9fea9fe:80/",
            "http://169.254.43518/",
            "http://[fe80::1]:9000",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:169.254.169.254]/",
            "http://100.100.100.200/",
            "http://metadata.google.internal/",
            "http://u:p@169.254.169.254/",
            "http://169.254.169.254\\@example.com/",
            "http://１６９.２５４.１６９.２５４/",
        ] {
            let why = refused("s3", s3(url), "endpoint");
            assert!(why.starts_with("must"), "{url}: {why}");
        }
        assert_eq!(
            refused("s3", s3("http://169.254.169.254/"), "endpoint"),
            net::REFUSED
        );
        for (id, field, config) in [
            ("webhook", "url", json!({"url": "http://169.254.169.254/"})),
            (
                "discord",
                "webhookUrl",
                json!({"webhookUrl": "https://[fe80::a]/x"}),
            ),
            (
                "slack",
                "webhookUrl",
                json!({"webhookUrl": "http://100.100.100.200/"}),
            ),
            (
                "teams",
                "webhookUrl",
                json!({"webhookUrl": "http://169.254.1.1/"}),
            ),
            (
                "telegram",
                "apiUrl",
                json!({"botToken": "t", "chatId": "1", "apiUrl": "http://169.254.169.254"}),
            ),
            (
                "gotify",
                "serverUrl",
                json!({"serverUrl": "http://169.254.169.254", "appToken": "t"}),
            ),
            (
                "ntfy",
                "serverUrl",
                json!({"serverUrl": "http://169.254.169.254", "topic": "t"}),
            ),
            (
                "minio",
                "endpoint",
                json!({"endpoint": "http://169.254.169.254", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            ),
            (
                "postgres",
                "host",
                json!({"host": "169.254.169.254", "user": "u"}),
            ),
            (
                "mysql",
                "host",
                json!({"host": "0251.0376.0251.0376", "user": "u"}),
            ),
            ("mariadb", "host", json!({"host": "[fe80::1]", "user": "u"})),
            ("redis", "host", json!({"host": "fe80::1%eth0"})),
            ("valkey", "host", json!({"host": "metadata"})),
            ("mongodb", "host", json!({"host": "100.100.100.200"})),
            (
                "mongodb",
                "uri",
                json!({"uri": "mongodb://u:p@db:27017,169.254.169.254:27017/x"}),
            ),
            (
                "mongodb",
                "uri",
                json!({"uri": "mongodb+srv://[fd00:ec2::254]/"}),
            ),
            ("mongodb", "uri", json!({"uri": "http://db/"})),
            (
                "sftp",
                "host",
                json!({"host": "169.254.169.254", "username": "u", "password": "p", "hostKey": "k", "path": "/b"}),
            ),
            (
                "sftp",
                "host",
                json!({"host": "u@169.254.169.254", "username": "u", "password": "p", "hostKey": "k", "path": "/b"}),
            ),
            (
                "email",
                "host",
                json!({"host": "169.254.169.254", "from": "a@b", "to": ["c@d"]}),
            ),
            (
                "email",
                "host",
                json!({"host": "-oProxyCommand=x", "from": "a@b", "to": ["c@d"]}),
            ),
            // Values the worker spec puts into a host name.
            (
                "s3-aws",
                "region",
                json!({"region": "x@169.254.169.254/", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            ),
            (
                "s3-hetzner",
                "region",
                json!({"region": "169.254.169.254#", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            ),
            (
                "s3-r2",
                "accountId",
                json!({"accountId": "a.b", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            ),
        ] {
            refused(id, config, field);
        }
        // The secret URI is never quoted back.
        let err = validate(
            find("mongodb").unwrap(),
            &json!({"uri": "mongodb://u:hunter2@169.254.169.254/"}),
        )
        .unwrap_err();
        assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");

        // Loopback, private ranges and names stay allowed.
        for url in [
            "http://127.0.0.1:9000",
            "http://10.0.0.5:9000/",
            "http://192.168.1.2",
            "http://[::1]:9000",
            "https://s3.eu-central-1.amazonaws.com",
            "http://minio:9000",
        ] {
            assert!(validate(find("s3").unwrap(), &s3(url)).is_ok(), "{url}");
        }
        for (id, config) in [
            ("postgres", json!({"host": "127.0.0.1", "user": "u"})),
            ("postgres", json!({"host": "db-1.internal", "user": "u"})),
            ("postgres", json!({"host": "::1", "user": "u"})),
            ("redis", json!({"host": "[fd00::5]"})),
            (
                "mongodb",
                json!({"uri": "mongodb://u:p@10.0.0.1:27017,[::1]:27018/db?replicaSet=rs"}),
            ),
            (
                "mongodb",
                json!({"uri": "mongodb+srv://cluster0.example.net/"}),
            ),
            (
                "s3-aws",
                json!({"region": "eu-central-1", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            ),
            (
                "s3-r2",
                json!({"accountId": "0123456789abcdef0123456789abcdef", "bucket": "b", "accessKeyId": "a", "secretAccessKey": "s"}),
            ),
        ] {
            assert!(
                validate(find(id).unwrap(), &config).is_ok(),
                "{id} {config}"
            );
        }
    }
}
