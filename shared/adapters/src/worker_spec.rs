//! What the worker receives for an adapter (docs/CONTRACTS.md): the engine connection of a
//! database source and the StorageSpec of a destination, presets resolved.

use dbackup_core::ApiError;
use serde_json::{json, Map, Value};

use crate::registry::Kind;
use crate::store::Adapter;

fn get<'a>(c: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    c.get(k).filter(|v| !v.is_null())
}

fn required<'a>(a: &'a Adapter, k: &str) -> Result<&'a Value, ApiError> {
    get(&a.config, k).ok_or_else(|| {
        ApiError::bad_request(format!("adapter {} has no {k} in its config", a.name))
            .with_details(json!({"fields": {k: "is required"}}))
    })
}

fn str_of<'a>(a: &'a Adapter, k: &str) -> Result<&'a str, ApiError> {
    required(a, k)?
        .as_str()
        .ok_or_else(|| ApiError::bad_request(format!("adapter {}: {k} must be a string", a.name)))
}

/// Copies the keys present in the config (`from` → `to`).
fn copy(out: &mut Map<String, Value>, c: &Map<String, Value>, keys: &[(&str, &str)]) {
    for (from, to) in keys {
        if let Some(v) = get(c, from) {
            out.insert((*to).into(), v.clone());
        }
    }
}

/// The worker's engine connection for a database adapter, e.g. postgres →
/// `{"engine":"postgresql","host","port","user","password","database"}`.
pub fn worker_source(a: &Adapter) -> Result<Value, ApiError> {
    if a.kind != Kind::Database {
        return Err(ApiError::bad_request(format!(
            "adapter {} is not a database source",
            a.name
        )));
    }
    let c = &a.config;
    let mut out = Map::new();
    match a.adapter_id.as_str() {
        "postgres" => {
            out.insert("engine".into(), json!("postgresql"));
            required(a, "host")?;
            copy(
                &mut out,
                c,
                &[
                    ("host", "host"),
                    ("port", "port"),
                    ("user", "user"),
                    ("password", "password"),
                    ("database", "database"),
                    ("sslmode", "sslmode"),
                ],
            );
            out.entry("port").or_insert(json!(5432));
        }
        "mysql" | "mariadb" => {
            out.insert("engine".into(), json!(a.adapter_id));
            required(a, "host")?;
            copy(
                &mut out,
                c,
                &[
                    ("host", "host"),
                    ("port", "port"),
                    ("user", "user"),
                    ("password", "password"),
                    ("database", "database"),
                ],
            );
            out.entry("port").or_insert(json!(3306));
        }
        "mongodb" => {
            out.insert("engine".into(), json!("mongodb"));
            copy(
                &mut out,
                c,
                &[
                    ("uri", "uri"),
                    ("host", "host"),
                    ("port", "port"),
                    ("user", "user"),
                    ("password", "password"),
                    ("authDatabase", "authDatabase"),
                    ("database", "database"),
                ],
            );
        }
        "sqlite" => {
            out.insert("engine".into(), json!("sqlite"));
            out.insert("path".into(), json!(str_of(a, "path")?));
        }
        "redis" | "valkey" => {
            out.insert("engine".into(), json!(a.adapter_id));
            required(a, "host")?;
            // The worker's field is `user`; `tls` becomes `redis-cli --tls`, `database` its
            // `-n` (an RDB snapshot still covers every logical database).
            copy(
                &mut out,
                c,
                &[
                    ("host", "host"),
                    ("port", "port"),
                    ("username", "user"),
                    ("password", "password"),
                    ("tls", "tls"),
                    ("database", "database"),
                ],
            );
            out.entry("port").or_insert(json!(6379));
        }
        other => {
            return Err(ApiError::internal(format!(
                "no worker engine for database adapter {other}"
            )))
        }
    }
    Ok(Value::Object(out))
}

/// The worker request (`POST /v1/storage/check`) that checks an adapter's `path` before it is
/// saved; `None` for adapters without one. The worker is the authority on which of its files
/// may be used: a local destination must lie inside its local storage roots
/// (`DBACKUP_LOCAL_ROOTS`), a SQLite source outside its data directory; it refuses such paths
/// again on every operation.
pub fn path_check(adapter_id: &str, config: &Map<String, Value>) -> Option<Value> {
    let path = config.get("path");
    match adapter_id {
        "local" => Some(json!({"storage": {"kind": "local", "path": path}})),
        "sqlite" => Some(json!({"source": {"engine": "sqlite", "path": path}})),
        _ => None,
    }
}

/// The worker's answer to [`path_check`]: 200 passes, its 400 is ours naming `path`; anything
/// else is the worker's failure (nothing is saved unchecked).
pub fn path_verdict(adapter_id: &str, status: u16, body: &Value) -> Result<(), ApiError> {
    match status {
        200 => Ok(()),
        400 => {
            let why = body["details"].as_str().unwrap_or("is not allowed");
            let why = ["storage.path: ", "source.path: "]
                .iter()
                .find_map(|field| why.strip_prefix(field))
                .unwrap_or(why);
            Err(
                ApiError::bad_request(format!("invalid {adapter_id} config: path {why}"))
                    .with_details(json!({"field": "path", "fields": {"path": why}})),
            )
        }
        s => Err(ApiError::new(502, "the worker could not check the path")
            .with_cause(format!("POST /v1/storage/check answered HTTP {s}: {body}"))),
    }
}

/// Storage destination `id` as the worker's StorageSpec; 404 "destination not found" when
/// there is no such destination.
pub fn destination_spec(
    db: &dyn dbackup_core::db::Db,
    sealer: &crate::SecretBox,
    id: &str,
) -> Result<Value, ApiError> {
    let adapter = crate::store::load(db, sealer, id)?;
    if adapter.kind != Kind::Storage {
        return Err(ApiError::new(404, "destination not found"));
    }
    worker_storage(&adapter)
}

/// The StorageSpec for a storage adapter, presets (`s3-aws`, `s3-r2`, `s3-hetzner`, `minio`)
/// resolved to `{"kind":"s3",…}`.
pub fn worker_storage(a: &Adapter) -> Result<Value, ApiError> {
    if a.kind != Kind::Storage {
        return Err(ApiError::bad_request(format!(
            "adapter {} is not a storage destination",
            a.name
        )));
    }
    let c = &a.config;
    let s3 = |endpoint: String, region: String, path_style: bool| -> Result<Value, ApiError> {
        let mut out = Map::new();
        out.insert("kind".into(), json!("s3"));
        out.insert("endpoint".into(), json!(endpoint));
        out.insert("region".into(), json!(region));
        out.insert("bucket".into(), json!(str_of(a, "bucket")?));
        if let Some(p) = get(c, "prefix") {
            out.insert("prefix".into(), p.clone());
        }
        out.insert("pathStyle".into(), json!(path_style));
        out.insert("accessKeyId".into(), json!(str_of(a, "accessKeyId")?));
        out.insert(
            "secretAccessKey".into(),
            json!(str_of(a, "secretAccessKey")?),
        );
        Ok(Value::Object(out))
    };
    match a.adapter_id.as_str() {
        "local" => Ok(json!({"kind": "local", "path": str_of(a, "path")?})),
        "s3" => s3(
            str_of(a, "endpoint")?.trim_end_matches('/').to_owned(),
            str_of(a, "region")?.to_owned(),
            get(c, "forcePathStyle")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        "s3-aws" => {
            let region = str_of(a, "region")?;
            s3(
                format!("https://s3.{region}.amazonaws.com"),
                region.to_owned(),
                false,
            )
        }
        "s3-r2" => s3(
            format!(
                "https://{}.r2.cloudflarestorage.com",
                str_of(a, "accountId")?
            ),
            "auto".to_owned(),
            true,
        ),
        "s3-hetzner" => {
            let region = str_of(a, "region")?;
            s3(
                format!("https://{region}.your-objectstorage.com"),
                region.to_owned(),
                false,
            )
        }
        "minio" => s3(
            str_of(a, "endpoint")?.trim_end_matches('/').to_owned(),
            "us-east-1".to_owned(),
            true,
        ),
        "sftp" => {
            let mut out = Map::new();
            out.insert("kind".into(), json!("sftp"));
            required(a, "host")?;
            copy(
                &mut out,
                c,
                &[
                    ("host", "host"),
                    ("port", "port"),
                    ("username", "username"),
                    ("password", "password"),
                    ("privateKey", "privateKey"),
                    ("passphrase", "passphrase"),
                    ("hostKey", "hostKey"),
                    ("path", "path"),
                ],
            );
            out.entry("port").or_insert(json!(22));
            Ok(Value::Object(out))
        }
        other => Err(ApiError::internal(format!(
            "no storage kind for adapter {other}"
        ))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn local_paths_are_checked_by_the_worker() {
        let config = json!({"path": "/etc"});
        let config = config.as_object().unwrap();
        assert_eq!(
            path_check("local", config),
            Some(json!({"storage": {"kind": "local", "path": "/etc"}}))
        );
        assert_eq!(
            path_check("sqlite", config),
            Some(json!({"source": {"engine": "sqlite", "path": "/etc"}}))
        );
        assert_eq!(path_check("s3", config), None);
        assert!(path_verdict("local", 200, &json!({"ok": true})).is_ok());
        let e = path_verdict(
            "sqlite",
            400,
            &json!({"error": "invalid request body",
                    "details": "source.path: /d/dbackup.db is inside the worker's data directory"}),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "invalid sqlite config: path /d/dbackup.db is inside the worker's data directory"
        );
        let e = path_verdict(
            "local",
            400,
            &json!({"error": "invalid request body",
                    "details": "storage.path: /etc is outside the directories allowed for local storage (/srv/b; DBACKUP_LOCAL_ROOTS)"}),
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(
            e.message,
            "invalid local config: path /etc is outside the directories allowed for local storage (/srv/b; DBACKUP_LOCAL_ROOTS)"
        );
        assert_eq!(e.details.unwrap()["field"], "path");
        assert_eq!(
            path_verdict("local", 500, &Value::Null).unwrap_err().status,
            502
        );
    }

    pub(crate) fn adapter(adapter_id: &str, config: Value) -> Adapter {
        let t = crate::registry::find(adapter_id).unwrap();
        let config = crate::validate::validate(t, &config).unwrap();
        Adapter {
            id: "a1".into(),
            name: format!("my {adapter_id}"),
            kind: t.kind,
            adapter_id: adapter_id.into(),
            config,
            metadata: Map::new(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            last_health_check: None,
            last_status: "ONLINE".into(),
            consecutive_failures: 0,
        }
    }

    #[test]
    fn sources() {
        let pg = adapter(
            "postgres",
            json!({"host": "127.0.0.1", "user": "postgres", "password": "pw"}),
        );
        assert_eq!(
            worker_source(&pg).unwrap(),
            json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres",
                   "password": "pw", "database": "postgres"})
        );
        let redis = adapter(
            "valkey",
            json!({"host": "h", "username": "u", "password": "p", "database": 2, "tls": false}),
        );
        assert_eq!(
            worker_source(&redis).unwrap(),
            json!({"engine": "valkey", "host": "h", "port": 6379, "user": "u", "password": "p",
                   "database": 2, "tls": false})
        );
        let redis = adapter("redis", json!({"host": "h", "port": 6380, "tls": true}));
        assert_eq!(
            worker_source(&redis).unwrap(),
            json!({"engine": "redis", "host": "h", "port": 6380, "tls": true})
        );
        let lite = adapter("sqlite", json!({"path": "/data/app.db"}));
        assert_eq!(
            worker_source(&lite).unwrap(),
            json!({"engine": "sqlite", "path": "/data/app.db"})
        );
        let maria = adapter("mariadb", json!({"host": "h", "user": "root"}));
        assert_eq!(
            worker_source(&maria).unwrap(),
            json!({"engine": "mariadb", "host": "h", "port": 3306, "user": "root"})
        );
        let local = adapter("local", json!({"path": "/b"}));
        assert_eq!(worker_source(&local).unwrap_err().status, 400);
    }

    #[test]
    fn storage_presets() {
        let cred =
            json!({"bucket": "b", "prefix": "p", "accessKeyId": "AK", "secretAccessKey": "SK"});
        let with = |extra: Value| {
            let mut c = cred.clone();
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        insta::assert_json_snapshot!(
            "storage_specs",
            json!({
                "local": worker_storage(&adapter("local", json!({"path": "/backups"}))).unwrap(),
                "s3": worker_storage(&adapter("s3", with(json!({"endpoint": "http://127.0.0.1:19200/", "region": "us-east-1", "forcePathStyle": true})))).unwrap(),
                "s3-aws": worker_storage(&adapter("s3-aws", with(json!({"region": "eu-central-1"})))).unwrap(),
                "s3-r2": worker_storage(&adapter("s3-r2", with(json!({"accountId": "acc"})))).unwrap(),
                "s3-hetzner": worker_storage(&adapter("s3-hetzner", with(json!({"region": "fsn1"})))).unwrap(),
                "minio": worker_storage(&adapter("minio", with(json!({"endpoint": "http://minio:9000"})))).unwrap(),
                "sftp": worker_storage(&adapter("sftp", json!({"host": "h", "username": "u", "privateKey": "KEY", "hostKey": "SHA256:abc", "path": "/base"}))).unwrap(),
            })
        );
    }
}
