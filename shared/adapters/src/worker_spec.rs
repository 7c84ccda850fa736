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
        "files" => {
            out.insert("engine".into(), json!("files"));
            out.insert("paths".into(), required(a, "paths")?.clone());
            copy(&mut out, c, &[("excludes", "excludes")]);
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
    // Dumps over SSH: the worker runs the tool on that host (validated by the registry).
    if matches!(
        a.adapter_id.as_str(),
        "postgres" | "mysql" | "mariadb" | "redis" | "valkey" | "sqlite" | "files"
    ) {
        copy(&mut out, c, &[("ssh", "ssh")]);
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
        // Files on an SSH host are that host's: the probe opens them there.
        "sqlite" | "files" if config.get("ssh").is_some_and(|s| !s.is_null()) => None,
        "sqlite" => Some(json!({"source": {"engine": "sqlite", "path": path}})),
        "files" => Some(
            json!({"source": {"engine": "files", "paths": config.get("paths"),
                                          "excludes": config.get("excludes")}}),
        ),
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
            if adapter_id == "files" {
                // `source.paths[1]: /etc is outside …`: the index names the path.
                let why = why.strip_prefix("source.").unwrap_or(why);
                return Err(
                    ApiError::bad_request(format!("invalid files config: {why}"))
                        .with_details(json!({"field": "paths", "fields": {"paths": why}})),
                );
            }
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
        "ftp" | "webdav" | "smb" | "gdrive" | "dropbox" | "onedrive" | "b2" | "azureblob"
        | "gcs" | "rclone" => rclone_spec(a),
        other => Err(ApiError::internal(format!(
            "no storage kind for adapter {other}"
        ))),
    }
}

/// A config value as the string rclone reads from its environment.
fn option_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `dir` under `root` (`share/dir`, `bucket/dir`), without doubled or trailing slashes.
fn under(root: &str, dir: Option<&str>) -> String {
    let dir = dir.unwrap_or("").trim_matches('/');
    let root = root.trim_matches('/');
    match (root.is_empty(), dir.is_empty()) {
        (_, true) => root.to_owned(),
        (true, false) => dir.to_owned(),
        (false, false) => format!("{root}/{dir}"),
    }
}

/// The `{"kind":"rclone", backend, options, secretOptions, path}` StorageSpec of the adapter
/// types stored through rclone (docs/STORAGE.md): our field names mapped to rclone's option
/// names; secrets go to `secretOptions` in clear text (the worker obscures what rclone wants
/// obscured).
fn rclone_spec(a: &Adapter) -> Result<Value, ApiError> {
    let c = &a.config;
    let mut options = Map::new();
    let mut secrets = Map::new();
    let put = |out: &mut Map<String, Value>, from: &str, to: &str| {
        if let Some(v) = get(c, from).and_then(option_text) {
            out.insert(to.into(), json!(v));
        }
    };
    let path = |k: &str| get(c, k).and_then(Value::as_str);
    let (backend, base) = match a.adapter_id.as_str() {
        "webdav" => {
            required(a, "url")?;
            put(&mut options, "url", "url");
            put(&mut options, "vendor", "vendor");
            put(&mut options, "user", "user");
            put(&mut secrets, "password", "pass");
            ("webdav".to_owned(), under("", path("path")))
        }
        "ftp" => {
            required(a, "host")?;
            put(&mut options, "host", "host");
            put(&mut options, "port", "port");
            put(&mut options, "user", "user");
            put(&mut secrets, "password", "pass");
            match get(c, "tls").and_then(Value::as_str).unwrap_or("explicit") {
                "none" => {}
                "implicit" => {
                    options.insert("tls".into(), json!("true"));
                }
                _ => {
                    options.insert("explicit_tls".into(), json!("true"));
                }
            }
            if get(c, "noCheckCertificate").and_then(Value::as_bool) == Some(true) {
                options.insert("no_check_certificate".into(), json!("true"));
            }
            // LIST instead of MLSD: servers answer MLSD of a missing directory with 501
            // (RFC 3659) or 550, and rclone only takes 550 for "not found".
            options.insert("disable_mlsd".into(), json!("true"));
            ("ftp".to_owned(), under("", path("path")))
        }
        "smb" => {
            required(a, "host")?;
            put(&mut options, "host", "host");
            put(&mut options, "port", "port");
            put(&mut options, "user", "user");
            put(&mut options, "domain", "domain");
            put(&mut secrets, "password", "pass");
            ("smb".to_owned(), under(str_of(a, "share")?, path("path")))
        }
        "gdrive" | "dropbox" | "onedrive" => {
            required(a, "token")?;
            put(&mut secrets, "token", "token");
            put(&mut options, "clientId", "client_id");
            put(&mut secrets, "clientSecret", "client_secret");
            let backend = match a.adapter_id.as_str() {
                "gdrive" => {
                    put(&mut options, "rootFolderId", "root_folder_id");
                    put(&mut options, "teamDrive", "team_drive");
                    options.insert("scope".into(), json!("drive"));
                    "drive"
                }
                "onedrive" => {
                    put(&mut options, "driveId", "drive_id");
                    put(&mut options, "driveType", "drive_type");
                    "onedrive"
                }
                _ => "dropbox",
            };
            (backend.to_owned(), under("", path("path")))
        }
        "b2" => {
            put(&mut options, "account", "account");
            put(&mut secrets, "key", "key");
            ("b2".to_owned(), under(str_of(a, "bucket")?, path("path")))
        }
        "azureblob" => {
            put(&mut options, "account", "account");
            put(&mut secrets, "key", "key");
            (
                "azureblob".to_owned(),
                under(str_of(a, "container")?, path("path")),
            )
        }
        "gcs" => {
            put(
                &mut secrets,
                "serviceAccountJson",
                "service_account_credentials",
            );
            // Uniform bucket-level access is the default for new buckets: no object ACLs.
            options.insert("bucket_policy_only".into(), json!("true"));
            ("gcs".to_owned(), under(str_of(a, "bucket")?, path("path")))
        }
        "rclone" => {
            for (field, out) in [("options", &mut options), ("secretOptions", &mut secrets)] {
                if let Some(map) = get(c, field).and_then(Value::as_object) {
                    for (k, v) in map {
                        if let Some(v) = option_text(v) {
                            out.insert(k.clone(), json!(v));
                        }
                    }
                }
            }
            (str_of(a, "backend")?.to_owned(), under("", path("path")))
        }
        other => {
            return Err(ApiError::internal(format!(
                "no rclone backend for adapter {other}"
            )))
        }
    };
    let mut out = Map::new();
    out.insert("kind".into(), json!("rclone"));
    out.insert("backend".into(), json!(backend));
    if !options.is_empty() {
        out.insert("options".into(), Value::Object(options));
    }
    if !secrets.is_empty() {
        out.insert("secretOptions".into(), Value::Object(secrets));
    }
    out.insert("path".into(), json!(base));
    Ok(Value::Object(out))
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
        // Dumps over SSH: the ssh object goes to the worker as it is.
        let ssh = json!({"host": "db.example", "port": 22, "user": "backup", "password": "s",
                         "hostKey": "SHA256:abc"});
        let pg = adapter(
            "postgres",
            json!({"host": "127.0.0.1", "user": "postgres", "ssh": ssh}),
        );
        assert_eq!(worker_source(&pg).unwrap()["ssh"], ssh);
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
        // Over SSH: the ssh object travels, and the path is not the worker's to check.
        let ssh =
            json!({"host": "db.example", "user": "b", "password": "s", "hostKey": "SHA256:x"});
        let lite = adapter("sqlite", json!({"path": "/data/app.db", "ssh": ssh}));
        assert_eq!(worker_source(&lite).unwrap()["ssh"], ssh);
        assert_eq!(path_check("sqlite", &lite.config), None);
        let tree = adapter("files", json!({"paths": ["/srv/www"], "ssh": ssh}));
        assert_eq!(worker_source(&tree).unwrap()["ssh"], ssh);
        assert_eq!(path_check("files", &tree.config), None);
        let files = adapter(
            "files",
            json!({"paths": ["/srv/www"], "excludes": ["*.log"]}),
        );
        assert_eq!(
            worker_source(&files).unwrap(),
            json!({"engine": "files", "paths": ["/srv/www"], "excludes": ["*.log"]})
        );
        let files = adapter("files", json!({"paths": ["/srv/www", "/etc/app"]}));
        assert_eq!(
            worker_source(&files).unwrap(),
            json!({"engine": "files", "paths": ["/srv/www", "/etc/app"]})
        );
        assert_eq!(
            path_check("files", &files.config),
            Some(
                json!({"source": {"engine": "files", "paths": ["/srv/www", "/etc/app"], "excludes": null}})
            )
        );
        let e = path_verdict(
            "files",
            400,
            &json!({"details": "source.paths[1]: /etc/app is outside the directories allowed"}),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "invalid files config: paths[1]: /etc/app is outside the directories allowed"
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

    /// Every type stored through rclone, mapped to rclone's backend and option names (the
    /// cloud drives cannot be reached from the test machine: this mapping is what is tested).
    #[test]
    fn rclone_specs() {
        let spec = |id: &str, config: Value| worker_storage(&adapter(id, config)).unwrap();
        insta::assert_json_snapshot!(
            "rclone_specs",
            json!({
                "webdav": spec("webdav", json!({"url": "https://cloud.example/remote.php/dav/files/ann", "vendor": "nextcloud", "user": "ann", "password": "pw", "path": "/backups/"})),
                "ftp-explicit": spec("ftp", json!({"host": "ftp.example", "user": "u", "password": "pw", "path": "backups"})),
                "ftp-implicit": spec("ftp", json!({"host": "ftp.example", "port": 990, "user": "u", "password": "pw", "tls": "implicit", "noCheckCertificate": true})),
                "ftp-none": spec("ftp", json!({"host": "ftp.example", "user": "u", "password": "pw", "tls": "none"})),
                "smb": spec("smb", json!({"host": "nas.lan", "share": "backups", "user": "u", "password": "pw", "domain": "WORKGROUP", "path": "db/"})),
                "gdrive": spec("gdrive", json!({"token": "{\"access_token\":\"at\"}", "clientId": "cid", "clientSecret": "cs", "rootFolderId": "root1", "path": "dbackup"})),
                "dropbox": spec("dropbox", json!({"token": "{\"access_token\":\"at\"}"})),
                "onedrive": spec("onedrive", json!({"token": "{\"access_token\":\"at\"}", "driveId": "b!abc", "driveType": "business", "path": "Backups"})),
                "b2": spec("b2", json!({"account": "kid", "key": "K001", "bucket": "bk", "path": "db"})),
                "azureblob": spec("azureblob", json!({"account": "acct", "key": "a2V5", "container": "backups"})),
                "gcs": spec("gcs", json!({"serviceAccountJson": "{\n  \"type\": \"service_account\"\n}", "bucket": "bk", "path": "x"})),
                "rclone": spec("rclone", json!({"backend": "pcloud", "options": {"hostname": "eapi.pcloud.com"}, "secretOptions": {"token": "{}"}, "path": "dbackup"})),
            })
        );
        // A pasted token may span lines; other control characters are refused.
        let t = crate::registry::find("dropbox").unwrap();
        assert!(crate::validate::validate(t, &json!({"token": "{\n\"a\": 1\n}"})).is_ok());
        let e = crate::validate::validate(t, &json!({"token": "a\u{7}b"})).unwrap_err();
        assert!(e.details.unwrap()["fields"]["token"].is_string());
        // The generic type bounds its option map.
        let r = crate::registry::find("rclone").unwrap();
        let many: Map<String, Value> = (0..65).map(|i| (format!("o{i}"), json!("v"))).collect();
        let e = crate::validate::validate(r, &json!({"backend": "pcloud", "options": many}))
            .unwrap_err();
        assert_eq!(
            e.details.unwrap()["fields"]["options"],
            "must have at most 64 entries"
        );
    }
}
