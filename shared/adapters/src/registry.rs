//! THE registry of adapters: every database source, storage destination and notification channel
//! with its config fields. `GET /api/adapter-types` serves it (with a JSON Schema per adapter, from
//! which the UI builds its forms), [`crate::validate`] checks configs against it and
//! [`crate::secrets`] seals the fields it marks secret. Config keys follow docs/CONTRACTS.md.

use serde_json::{json, Map, Value};

/// What an adapter is for; the `AdapterConfig.type` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Database,
    Storage,
    Notification,
}

impl Kind {
    /// The column / JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Database => "database",
            Kind::Storage => "storage",
            Kind::Notification => "notification",
        }
    }

    /// Parses the column / JSON value.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "database" => Some(Kind::Database),
            "storage" => Some(Kind::Storage),
            "notification" => Some(Kind::Notification),
            _ => None,
        }
    }

    /// The permission that reads (`write`: creates, changes, deletes) adapters of this kind:
    /// sources:*, destinations:*, notifications:*.
    pub fn permission(self, write: bool) -> dbackup_identity::Permission {
        use dbackup_identity::Permission as P;
        match (self, write) {
            (Kind::Database, false) => P::SourcesRead,
            (Kind::Database, true) => P::SourcesWrite,
            (Kind::Storage, false) => P::DestinationsRead,
            (Kind::Storage, true) => P::DestinationsWrite,
            (Kind::Notification, false) => P::NotificationsRead,
            (Kind::Notification, true) => P::NotificationsWrite,
        }
    }
}

/// The JSON type of a config field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A string (empty allowed only when the field is optional, where it counts as absent).
    String,
    /// An integer in `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    Boolean,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// A non-empty list of strings.
    StringList,
    /// An object whose values are strings (HTTP headers).
    StringMap,
    /// The SSH host a database's dump runs on: `{host, port?, user, password? | privateKey?,
    /// passphrase?, hostKey}` ([`SSH_KEYS`]). A secret field: `password`, `privateKey` and
    /// `passphrase` are sealed and masked, the other keys are shown; any change of the object
    /// binds its secrets and the database password ([`crate::secrets::merge`]).
    Ssh,
}

/// The keys of an [`FieldType::Ssh`] object, and which of them are secret.
pub const SSH_KEYS: &[(&str, bool)] = &[
    ("host", false),
    ("port", false),
    ("user", false),
    ("password", true),
    ("privateKey", true),
    ("passphrase", true),
    ("hostKey", false),
];

/// Whether `key` of an [`FieldType::Ssh`] object is secret.
pub fn ssh_key_is_secret(key: &str) -> bool {
    SSH_KEYS.iter().any(|(k, secret)| *k == key && *secret)
}

/// One config field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub required: bool,
    /// Sealed at rest and masked in every answer.
    pub secret: bool,
    /// Filled in when absent.
    pub default: Option<DefaultValue>,
    /// Extra format rule checked by validation.
    pub format: Format,
    pub description: &'static str,
}

/// A default value (const-friendly).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    Str(&'static str),
    Int(i64),
    Bool(bool),
}

impl DefaultValue {
    /// As JSON.
    pub fn to_json(self) -> Value {
        match self {
            DefaultValue::Str(s) => json!(s),
            DefaultValue::Int(i) => json!(i),
            DefaultValue::Bool(b) => json!(b),
        }
    }
}

/// Format rules beyond the JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    None,
    /// A host name or IP address: no whitespace, no scheme, no `/`.
    Host,
    /// An absolute path (`/…`).
    AbsolutePath,
    /// An `http://` or `https://` URL.
    HttpUrl,
    /// An e-mail address (something@something).
    Email,
    /// One DNS label (letters, digits, inner hyphens): a value the worker spec puts into a
    /// host name (`https://s3.<region>.amazonaws.com`, `https://<accountId>.r2…`).
    DnsLabel,
    /// A `mongodb://` / `mongodb+srv://` connection string; each host is checked like
    /// [`Format::Host`].
    MongoUri,
    /// Pasted text that may span lines (a token or service-account JSON): line breaks and
    /// tabs allowed, other control characters not.
    Multiline,
}

/// One adapter: id (`AdapterConfig.adapterId`), kind, display name and config fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdapterType {
    pub id: &'static str,
    pub kind: Kind,
    pub name: &'static str,
    pub fields: &'static [Field],
    /// At least one of these must be present (e.g. an SFTP password or private key).
    pub one_of: &'static [&'static str],
    /// The fields that bind the secrets to their target: where a secret is sent (host, port,
    /// URL, endpoint, account, region), as whom (user, access key id), what it opens (bucket)
    /// and how it travels (TLS mode, pinned host key). A secret is kept from storage (sent as
    /// [`crate::secrets::MASK`]) only while none of these changes; see [`crate::secrets::merge`].
    /// Every other non-secret field is free (the registry test lists them, so a new field has
    /// to be classified).
    pub binds_secrets: &'static [&'static str],
}

impl AdapterType {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Names of the secret fields.
    pub fn secret_fields(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().filter(|f| f.secret).map(|f| f.name)
    }

    /// Whether a change of field `name` drops the kept secrets ([`AdapterType::binds_secrets`]).
    pub fn binds_secrets(&self, name: &str) -> bool {
        self.binds_secrets.contains(&name)
    }

    /// JSON Schema (draft 2020-12) of the config, with `"x-secret": true` on secret fields and
    /// `"writeOnly": true` (they are never read back).
    pub fn json_schema(&self) -> Value {
        let mut properties = Map::new();
        for f in self.fields {
            let mut p = match f.ty {
                FieldType::String => json!({"type": "string"}),
                FieldType::Integer { min, max } => {
                    json!({"type": "integer", "minimum": min, "maximum": max})
                }
                FieldType::Boolean => json!({"type": "boolean"}),
                FieldType::Enum(values) => json!({"type": "string", "enum": values}),
                FieldType::StringList => {
                    json!({"type": "array", "items": {"type": "string"}, "minItems": 1})
                }
                FieldType::StringMap => {
                    json!({"type": "object", "additionalProperties": {"type": "string"}})
                }
                FieldType::Ssh => json!({
                    "type": "object",
                    "properties": {
                        "host": {"type": "string", "format": "hostname"},
                        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 22},
                        "user": {"type": "string"},
                        "password": {"type": "string", "writeOnly": true, "x-secret": true},
                        "privateKey": {"type": "string", "format": "textarea", "writeOnly": true, "x-secret": true},
                        "passphrase": {"type": "string", "writeOnly": true, "x-secret": true},
                        "hostKey": {"type": "string", "description": "Pinned host key: an OpenSSH public key line or a SHA256: fingerprint"},
                    },
                    "required": ["host", "user", "hostKey"],
                    "anyOf": [{"required": ["password"]}, {"required": ["privateKey"]}],
                    "additionalProperties": false,
                }),
            };
            let obj = p.as_object_mut().expect("schema literal is an object");
            if !f.description.is_empty() {
                obj.insert("description".into(), json!(f.description));
            }
            if let Some(d) = f.default {
                obj.insert("default".into(), d.to_json());
            }
            match f.format {
                Format::None => {}
                Format::Host => {
                    obj.insert("format".into(), json!("hostname"));
                }
                Format::AbsolutePath => {
                    obj.insert("pattern".into(), json!("^/"));
                }
                Format::HttpUrl => {
                    obj.insert("format".into(), json!("uri"));
                }
                Format::Email => {
                    obj.insert("format".into(), json!("email"));
                }
                Format::DnsLabel => {
                    obj.insert(
                        "pattern".into(),
                        json!("^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"),
                    );
                }
                Format::MongoUri => {
                    obj.insert("pattern".into(), json!("^mongodb(\\+srv)?://"));
                }
                Format::Multiline => {
                    // The UI's schema forms render this as a text area.
                    obj.insert("format".into(), json!("textarea"));
                }
            }
            if f.secret && f.ty != FieldType::Ssh {
                obj.insert("writeOnly".into(), json!(true));
                obj.insert("x-secret".into(), json!(true));
            }
            if self.binds_secrets(f.name) {
                // Changing it while sending "••••" for a secret is a 400: enter the secret again.
                obj.insert("x-binds-secrets".into(), json!(true));
            }
            properties.insert(f.name.into(), p);
        }
        let required: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        let mut schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        });
        if !self.one_of.is_empty() {
            schema["anyOf"] = Value::Array(
                self.one_of
                    .iter()
                    .map(|f| json!({"required": [f]}))
                    .collect(),
            );
        }
        schema
    }

    /// The `GET /api/adapter-types` entry.
    pub fn describe(&self) -> crate::api::AdapterTypeInfo {
        crate::api::AdapterTypeInfo {
            id: self.id,
            name: self.name,
            schema: self.json_schema(),
            secret_fields: self.secret_fields().collect(),
            kind: self.kind.as_str(),
        }
    }
}

const fn field(name: &'static str, ty: FieldType, required: bool) -> Field {
    Field {
        name,
        ty,
        required,
        secret: false,
        default: None,
        format: Format::None,
        description: "",
    }
}

const fn req(name: &'static str) -> Field {
    field(name, FieldType::String, true)
}
const fn opt(name: &'static str) -> Field {
    field(name, FieldType::String, false)
}
const fn secret(name: &'static str, required: bool) -> Field {
    Field {
        secret: true,
        ..field(name, FieldType::String, required)
    }
}
const fn host() -> Field {
    Field {
        format: Format::Host,
        description: "Host name or IP address",
        ..req("host")
    }
}
const fn port(default: i64) -> Field {
    Field {
        default: Some(DefaultValue::Int(default)),
        ..field("port", FieldType::Integer { min: 1, max: 65535 }, false)
    }
}
const fn abs_path(name: &'static str, description: &'static str) -> Field {
    Field {
        format: Format::AbsolutePath,
        description,
        ..req(name)
    }
}
const fn url(name: &'static str, required: bool, secret: bool) -> Field {
    Field {
        format: Format::HttpUrl,
        secret,
        ..field(name, FieldType::String, required)
    }
}
/// A required value that the worker spec puts into a host name (one DNS label).
const fn label(name: &'static str, description: &'static str) -> Field {
    Field {
        format: Format::DnsLabel,
        description,
        ..req(name)
    }
}
const fn with_default(f: Field, d: DefaultValue) -> Field {
    Field {
        default: Some(d),
        ..f
    }
}
const fn described(f: Field, description: &'static str) -> Field {
    Field { description, ..f }
}

/// A database source's optional pin to the workers carrying this label (docs/WORKER.md, "A pool
/// of workers"); one DNS label, like the labels workers announce.
const WORKER_LABEL: Field = Field {
    format: Format::DnsLabel,
    description: "Run only on workers with this label (DBACKUP_WORKER_LABELS); empty: any worker",
    ..opt("workerLabel")
};

/// A database source's optional SSH host: the dump (and restore) tool runs there, its output
/// streams back over the SSH channel (docs/ADAPTERS.md, "Dumps over SSH").
const SSH: Field = Field {
    secret: true,
    description: "Run the dump tool on this host over SSH: {host, port, user, password | privateKey, passphrase, hostKey}",
    ..field("ssh", FieldType::Ssh, false)
};

const PRIORITY_1_10: FieldType = FieldType::Integer { min: 1, max: 10 };

const POSTGRES: &[Field] = &[
    host(),
    port(5432),
    req("user"),
    secret("password", false),
    with_default(opt("database"), DefaultValue::Str("postgres")),
    field(
        "sslmode",
        FieldType::Enum(&[
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ]),
        false,
    ),
    WORKER_LABEL,
    SSH,
];
const MYSQL: &[Field] = &[
    host(),
    port(3306),
    req("user"),
    secret("password", false),
    opt("database"),
    WORKER_LABEL,
    SSH,
];
const MONGODB: &[Field] = &[
    described(
        Field {
            format: Format::MongoUri,
            ..secret("uri", false)
        },
        "mongodb:// or mongodb+srv:// connection string (instead of host/port/user/password)",
    ),
    Field {
        format: Format::Host,
        ..opt("host")
    },
    port(27017),
    opt("user"),
    secret("password", false),
    opt("authDatabase"),
    opt("database"),
    WORKER_LABEL,
];
const SQLITE: &[Field] = &[
    abs_path(
        "path",
        "Absolute path of the database file on the worker's machine (on the SSH host when ssh is set)",
    ),
    WORKER_LABEL,
    SSH,
];
const FILES: &[Field] = &[
    Field {
        format: Format::AbsolutePath,
        description: "Absolute paths of the directories (or files) to back up on the worker's machine, inside its allowed roots (DBACKUP_LOCAL_ROOTS) — or on the SSH host when ssh is set (read over SFTP); each is restored as <target>/<its name>",
        ..field("paths", FieldType::StringList, true)
    },
    Field {
        description: "Glob patterns left out: without `/` they match a name anywhere (`*.log`, `node_modules`), with `/` a path relative to each directory (`cache/*`), with a leading `/` an absolute path",
        ..field("excludes", FieldType::StringList, false)
    },
    WORKER_LABEL,
    SSH,
];
const REDIS: &[Field] = &[
    host(),
    port(6379),
    opt("username"),
    secret("password", false),
    field("database", FieldType::Integer { min: 0, max: 15 }, false),
    field("tls", FieldType::Boolean, false),
    WORKER_LABEL,
    SSH,
];
const LOCAL: &[Field] = &[abs_path(
    "path",
    "Absolute base directory on the worker's machine",
)];
const S3: &[Field] = &[
    url("endpoint", true, false),
    req("region"),
    req("bucket"),
    opt("prefix"),
    with_default(
        field("forcePathStyle", FieldType::Boolean, false),
        DefaultValue::Bool(false),
    ),
    req("accessKeyId"),
    secret("secretAccessKey", true),
];
const S3_AWS: &[Field] = &[
    label("region", "eu-central-1, us-east-1, …"),
    req("bucket"),
    opt("prefix"),
    req("accessKeyId"),
    secret("secretAccessKey", true),
];
const S3_R2: &[Field] = &[
    label("accountId", "Cloudflare account id"),
    req("bucket"),
    opt("prefix"),
    req("accessKeyId"),
    secret("secretAccessKey", true),
];
const S3_HETZNER: &[Field] = &[
    label("region", "fsn1, nbg1, hel1, …"),
    req("bucket"),
    opt("prefix"),
    req("accessKeyId"),
    secret("secretAccessKey", true),
];
const MINIO: &[Field] = &[
    url("endpoint", true, false),
    req("bucket"),
    opt("prefix"),
    req("accessKeyId"),
    secret("secretAccessKey", true),
];
const SFTP: &[Field] = &[
    host(),
    port(22),
    req("username"),
    secret("password", false),
    described(
        Field {
            format: Format::Multiline,
            ..secret("privateKey", false)
        },
        "OpenSSH private key (PEM text)",
    ),
    secret("passphrase", false),
    described(
        req("hostKey"),
        "Pinned host key: an OpenSSH public key line or a SHA256: fingerprint",
    ),
    abs_path("path", "Base directory on the server"),
];
/// A pasted secret that may span lines (an OAuth token from `rclone authorize`, a JSON key).
const fn pasted(name: &'static str, description: &'static str) -> Field {
    Field {
        format: Format::Multiline,
        description,
        ..secret(name, true)
    }
}
/// The optional directory under a remote's root where backups go.
const REMOTE_PATH: Field = described(
    opt("path"),
    "Directory under the remote's root (created when needed)",
);
const WEBDAV: &[Field] = &[
    described(
        url("url", true, false),
        "WebDAV URL; Nextcloud/ownCloud: https://host/remote.php/dav/files/USER",
    ),
    with_default(
        field(
            "vendor",
            FieldType::Enum(&["nextcloud", "owncloud", "other"]),
            false,
        ),
        DefaultValue::Str("other"),
    ),
    opt("user"),
    secret("password", false),
    REMOTE_PATH,
];
const FTP: &[Field] = &[
    host(),
    port(21),
    req("user"),
    secret("password", true),
    described(
        with_default(
            field(
                "tls",
                FieldType::Enum(&["none", "explicit", "implicit"]),
                false,
            ),
            DefaultValue::Str("explicit"),
        ),
        "explicit: FTPS with AUTH TLS (port 21); implicit: FTPS from the first byte (port 990); none: the password travels in clear text",
    ),
    described(
        with_default(
            field("noCheckCertificate", FieldType::Boolean, false),
            DefaultValue::Bool(false),
        ),
        "Accept any TLS certificate (self-signed servers)",
    ),
    REMOTE_PATH,
];
const SMB: &[Field] = &[
    host(),
    port(445),
    described(req("share"), "Share name"),
    req("user"),
    secret("password", true),
    described(opt("domain"), "Domain or workgroup (default WORKGROUP)"),
    described(opt("path"), "Directory inside the share"),
];
const TOKEN_HELP: &str = "The token JSON printed by `rclone authorize`";
const GDRIVE: &[Field] = &[
    pasted("token", TOKEN_HELP),
    described(opt("clientId"), "OAuth client id (default: rclone's)"),
    secret("clientSecret", false),
    described(opt("rootFolderId"), "Folder id to use as the root"),
    described(opt("teamDrive"), "Shared drive id"),
    REMOTE_PATH,
];
const DROPBOX: &[Field] = &[
    pasted("token", TOKEN_HELP),
    described(opt("clientId"), "OAuth client id (default: rclone's)"),
    secret("clientSecret", false),
    REMOTE_PATH,
];
const ONEDRIVE: &[Field] = &[
    pasted("token", TOKEN_HELP),
    described(req("driveId"), "Drive id (rclone config shows it)"),
    with_default(
        field(
            "driveType",
            FieldType::Enum(&["personal", "business", "documentLibrary"]),
            false,
        ),
        DefaultValue::Str("personal"),
    ),
    described(opt("clientId"), "OAuth client id (default: rclone's)"),
    secret("clientSecret", false),
    REMOTE_PATH,
];
const B2: &[Field] = &[
    described(req("account"), "Application key id (or account id)"),
    described(secret("key", true), "Application key"),
    req("bucket"),
    REMOTE_PATH,
];
const AZUREBLOB: &[Field] = &[
    described(req("account"), "Storage account name"),
    described(secret("key", true), "Storage account key"),
    req("container"),
    REMOTE_PATH,
];
const GCS: &[Field] = &[
    pasted("serviceAccountJson", "Service account key (JSON)"),
    req("bucket"),
    REMOTE_PATH,
];
const RCLONE: &[Field] = &[
    Field {
        format: Format::DnsLabel,
        description: "rclone backend type (s3, swift, pcloud, mega, …; see rclone.org/overview)",
        ..req("backend")
    },
    described(
        field("options", FieldType::StringMap, false),
        "rclone options of that backend by name (e.g. host, user); at most 32",
    ),
    described(
        Field {
            secret: true,
            ..field("secretOptions", FieldType::StringMap, false)
        },
        "Secret rclone options (pass, key, token, …) in clear text; the worker obscures those rclone wants obscured",
    ),
    REMOTE_PATH,
];
const DISCORD: &[Field] = &[
    url("webhookUrl", true, true),
    with_default(opt("username"), DefaultValue::Str("dbackup")),
    url("avatarUrl", false, false),
];
const SLACK: &[Field] = &[
    url("webhookUrl", true, true),
    opt("channel"),
    opt("username"),
    opt("iconEmoji"),
];
const TEAMS: &[Field] = &[url("webhookUrl", true, true)];
const TELEGRAM: &[Field] = &[
    secret("botToken", true),
    req("chatId"),
    with_default(
        url("apiUrl", false, false),
        DefaultValue::Str("https://api.telegram.org"),
    ),
    field("disableNotification", FieldType::Boolean, false),
];
const GOTIFY: &[Field] = &[
    url("serverUrl", true, false),
    secret("appToken", true),
    with_default(
        field("priority", PRIORITY_1_10, false),
        DefaultValue::Int(5),
    ),
];
const NTFY: &[Field] = &[
    with_default(
        url("serverUrl", false, false),
        DefaultValue::Str("https://ntfy.sh"),
    ),
    req("topic"),
    secret("accessToken", false),
    with_default(
        field("priority", FieldType::Integer { min: 1, max: 5 }, false),
        DefaultValue::Int(3),
    ),
];
const WEBHOOK: &[Field] = &[
    url("url", true, false),
    with_default(
        field("method", FieldType::Enum(&["POST", "PUT", "PATCH"]), false),
        DefaultValue::Str("POST"),
    ),
    // Headers carry credentials (`X-Api-Key`, `Authorization: Bearer …`): each value is a
    // secret (sealed, masked per header, kept per header only while `url` is unchanged).
    described(
        Field {
            secret: true,
            ..field("headers", FieldType::StringMap, false)
        },
        "Extra request headers, one `Name: value` per line; values are kept secret",
    ),
    described(
        secret("authorization", false),
        "Value of the Authorization header",
    ),
    described(
        opt("bodyTemplate"),
        "Request body with {{title}}, {{message}}, {{status}}, {{job}}, {{source}}, {{size}}, \
         {{durationMs}}, {{error}} placeholders; default: the notification as JSON",
    ),
];
const EMAIL: &[Field] = &[
    host(),
    port(587),
    with_default(
        field("tls", FieldType::Enum(&["none", "starttls", "tls"]), false),
        DefaultValue::Str("starttls"),
    ),
    opt("username"),
    secret("password", false),
    Field {
        format: Format::Email,
        ..req("from")
    },
    Field {
        format: Format::Email,
        ..field("to", FieldType::StringList, true)
    },
];

const fn adapter(
    id: &'static str,
    kind: Kind,
    name: &'static str,
    fields: &'static [Field],
    binds_secrets: &'static [&'static str],
) -> AdapterType {
    AdapterType {
        id,
        kind,
        name,
        fields,
        one_of: &[],
        binds_secrets,
    }
}

// What binds the secrets of each adapter type (see `AdapterType::binds_secrets`).
// `workerLabel` decides which worker (which machine) receives the password: it binds too.
/// `ssh`: the database password travels to the SSH host (on the remote tool's stdin).
const POSTGRES_BINDS: &[&str] = &["host", "port", "user", "sslmode", "workerLabel", "ssh"];
const MYSQL_BINDS: &[&str] = &["host", "port", "user", "workerLabel", "ssh"];
/// The URI carries hosts (and maybe a user) of its own: a new URI drops a kept password.
const MONGODB_BINDS: &[&str] = &["uri", "host", "port", "user", "authDatabase", "workerLabel"];
const REDIS_BINDS: &[&str] = &["host", "port", "username", "tls", "workerLabel", "ssh"];
/// SQLite and files: only the SSH login is secret, kept while the ssh object is unchanged;
/// it goes to the worker `workerLabel` picks.
const SQLITE_BINDS: &[&str] = &["workerLabel", "ssh"];
/// The path style decides whether the bucket goes into the host name.
const S3_BINDS: &[&str] = &[
    "endpoint",
    "region",
    "bucket",
    "forcePathStyle",
    "accessKeyId",
];
const S3_AWS_BINDS: &[&str] = &["region", "bucket", "accessKeyId"];
const S3_R2_BINDS: &[&str] = &["accountId", "bucket", "accessKeyId"];
const MINIO_BINDS: &[&str] = &["endpoint", "bucket", "accessKeyId"];
/// A new pinned host key is another server as far as the password is concerned.
const SFTP_BINDS: &[&str] = &["host", "port", "username", "hostKey"];
const WEBDAV_BINDS: &[&str] = &["url", "user"];
/// `tls: none` (or accepting any certificate) would send the password in clear text.
const FTP_BINDS: &[&str] = &["host", "port", "user", "tls", "noCheckCertificate"];
const SMB_BINDS: &[&str] = &["host", "port", "share", "user", "domain"];
/// The token belongs to the OAuth client.
const OAUTH_BINDS: &[&str] = &["clientId"];
const ONEDRIVE_BINDS: &[&str] = &["clientId", "driveId"];
const BUCKET_BINDS: &[&str] = &["account", "bucket"];
const AZURE_BINDS: &[&str] = &["account", "container"];
const GCS_BINDS: &[&str] = &["bucket"];
/// The options name the server (host, url, endpoint …).
const RCLONE_BINDS: &[&str] = &["backend", "options"];
/// The webhook URL is the secret itself: keeping it keeps its target.
const NO_BINDS: &[&str] = &[];
const API_URL_BINDS: &[&str] = &["apiUrl"];
const SERVER_URL_BINDS: &[&str] = &["serverUrl"];
const WEBHOOK_BINDS: &[&str] = &["url"];
/// `tls: none` would send the password in clear text.
const EMAIL_BINDS: &[&str] = &["host", "port", "tls", "username"];

/// Every adapter, in display order.
pub static ADAPTERS: &[AdapterType] = &[
    adapter(
        "postgres",
        Kind::Database,
        "PostgreSQL",
        POSTGRES,
        POSTGRES_BINDS,
    ),
    adapter("mysql", Kind::Database, "MySQL", MYSQL, MYSQL_BINDS),
    adapter("mariadb", Kind::Database, "MariaDB", MYSQL, MYSQL_BINDS),
    AdapterType {
        one_of: &["uri", "host"],
        ..adapter("mongodb", Kind::Database, "MongoDB", MONGODB, MONGODB_BINDS)
    },
    adapter("sqlite", Kind::Database, "SQLite", SQLITE, SQLITE_BINDS),
    adapter("redis", Kind::Database, "Redis", REDIS, REDIS_BINDS),
    adapter("valkey", Kind::Database, "Valkey", REDIS, REDIS_BINDS),
    adapter(
        "files",
        Kind::Database,
        "Files and folders",
        FILES,
        SQLITE_BINDS,
    ),
    adapter("local", Kind::Storage, "Local filesystem", LOCAL, NO_BINDS),
    adapter("s3", Kind::Storage, "S3-compatible", S3, S3_BINDS),
    adapter("s3-aws", Kind::Storage, "Amazon S3", S3_AWS, S3_AWS_BINDS),
    adapter("s3-r2", Kind::Storage, "Cloudflare R2", S3_R2, S3_R2_BINDS),
    adapter(
        "s3-hetzner",
        Kind::Storage,
        "Hetzner Object Storage",
        S3_HETZNER,
        S3_AWS_BINDS,
    ),
    adapter("minio", Kind::Storage, "MinIO", MINIO, MINIO_BINDS),
    AdapterType {
        one_of: &["password", "privateKey"],
        ..adapter("sftp", Kind::Storage, "SFTP", SFTP, SFTP_BINDS)
    },
    adapter("ftp", Kind::Storage, "FTP / FTPS", FTP, FTP_BINDS),
    adapter(
        "webdav",
        Kind::Storage,
        "WebDAV (Nextcloud, ownCloud, …)",
        WEBDAV,
        WEBDAV_BINDS,
    ),
    adapter("smb", Kind::Storage, "SMB / CIFS share", SMB, SMB_BINDS),
    adapter("gdrive", Kind::Storage, "Google Drive", GDRIVE, OAUTH_BINDS),
    adapter("dropbox", Kind::Storage, "Dropbox", DROPBOX, OAUTH_BINDS),
    adapter(
        "onedrive",
        Kind::Storage,
        "Microsoft OneDrive",
        ONEDRIVE,
        ONEDRIVE_BINDS,
    ),
    adapter("b2", Kind::Storage, "Backblaze B2", B2, BUCKET_BINDS),
    adapter(
        "azureblob",
        Kind::Storage,
        "Azure Blob Storage",
        AZUREBLOB,
        AZURE_BINDS,
    ),
    adapter("gcs", Kind::Storage, "Google Cloud Storage", GCS, GCS_BINDS),
    adapter(
        "rclone",
        Kind::Storage,
        "Other rclone remote",
        RCLONE,
        RCLONE_BINDS,
    ),
    adapter("discord", Kind::Notification, "Discord", DISCORD, NO_BINDS),
    adapter("slack", Kind::Notification, "Slack", SLACK, NO_BINDS),
    adapter(
        "teams",
        Kind::Notification,
        "Microsoft Teams",
        TEAMS,
        NO_BINDS,
    ),
    adapter(
        "telegram",
        Kind::Notification,
        "Telegram",
        TELEGRAM,
        API_URL_BINDS,
    ),
    adapter(
        "gotify",
        Kind::Notification,
        "Gotify",
        GOTIFY,
        SERVER_URL_BINDS,
    ),
    adapter("ntfy", Kind::Notification, "ntfy", NTFY, SERVER_URL_BINDS),
    adapter(
        "webhook",
        Kind::Notification,
        "Generic webhook",
        WEBHOOK,
        WEBHOOK_BINDS,
    ),
    adapter(
        "email",
        Kind::Notification,
        "E-mail (SMTP)",
        EMAIL,
        EMAIL_BINDS,
    ),
];

/// The adapter with this id.
pub fn find(id: &str) -> Option<&'static AdapterType> {
    ADAPTERS.iter().find(|a| a.id == id)
}

/// The `GET /api/adapter-types` answer, optionally for one kind.
pub fn describe_all(kind: Option<Kind>) -> Vec<crate::api::AdapterTypeInfo> {
    ADAPTERS
        .iter()
        .filter(|a| kind.is_none_or(|k| a.kind == k))
        .map(AdapterType::describe)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_secrets_are_strings() {
        for (i, a) in ADAPTERS.iter().enumerate() {
            assert!(ADAPTERS[i + 1..].iter().all(|b| b.id != a.id), "{}", a.id);
            for f in a.fields {
                if f.secret {
                    // A secret map (headers) seals and masks each value; an `ssh` object its
                    // secret keys.
                    assert!(
                        matches!(
                            f.ty,
                            FieldType::String | FieldType::StringMap | FieldType::Ssh
                        ),
                        "{}.{}",
                        a.id,
                        f.name
                    );
                }
            }
            for name in a.one_of {
                assert!(a.field(name).is_some(), "{}.{name}", a.id);
            }
        }
        assert_eq!(ADAPTERS.len(), 33);
    }

    #[test]
    fn contract_keys() {
        let keys =
            |id: &str| -> Vec<&str> { find(id).unwrap().fields.iter().map(|f| f.name).collect() };
        assert_eq!(
            keys("postgres"),
            [
                "host",
                "port",
                "user",
                "password",
                "database",
                "sslmode",
                "workerLabel",
                "ssh"
            ]
        );
        for id in ["postgres", "mysql", "mariadb", "redis", "valkey"] {
            assert_eq!(find(id).unwrap().field("ssh").unwrap().ty, FieldType::Ssh);
            assert!(find(id).unwrap().binds_secrets("ssh"), "{id}");
        }
        // SQLite's only secrets are the ssh object's own (kept while ssh is unchanged).
        assert_eq!(
            find("sqlite").unwrap().field("ssh").unwrap().ty,
            FieldType::Ssh
        );
        assert!(find("sqlite").unwrap().binds_secrets("ssh"));
        assert_eq!(keys("local"), ["path"]);
        assert_eq!(keys("files"), ["paths", "excludes", "workerLabel", "ssh"]);
        assert_eq!(find("files").unwrap().kind, Kind::Database);
        assert_eq!(
            find("s3").unwrap().secret_fields().collect::<Vec<_>>(),
            ["secretAccessKey"]
        );
        assert_eq!(
            find("sftp").unwrap().secret_fields().collect::<Vec<_>>(),
            ["password", "privateKey", "passphrase"]
        );
    }

    /// Every non-secret field of a type with secrets is classified: it binds them (declared in
    /// the registry) or it is free (reviewed here: it changes what is done on the same target
    /// with the same identity, never where or how the secret goes). A new field fails this test
    /// until it is put on one side.
    #[test]
    fn every_field_binds_the_secrets_or_is_reviewed_free() {
        const FREE: &[(&str, &[&str])] = &[
            ("postgres", &["database"]),
            ("mysql", &["database"]),
            ("mariadb", &["database"]),
            ("mongodb", &["database"]),
            ("redis", &["database"]),
            ("valkey", &["database"]),
            ("sqlite", &["path"]),
            ("files", &["paths", "excludes"]),
            ("s3", &["prefix"]),
            ("s3-aws", &["prefix"]),
            ("s3-r2", &["prefix"]),
            ("s3-hetzner", &["prefix"]),
            ("minio", &["prefix"]),
            ("sftp", &["path"]),
            ("ftp", &["path"]),
            ("webdav", &["vendor", "path"]),
            ("smb", &["path"]),
            ("gdrive", &["rootFolderId", "teamDrive", "path"]),
            ("dropbox", &["path"]),
            ("onedrive", &["driveType", "path"]),
            ("b2", &["path"]),
            ("azureblob", &["path"]),
            ("gcs", &["path"]),
            ("rclone", &["path"]),
            ("discord", &["username", "avatarUrl"]),
            ("slack", &["channel", "username", "iconEmoji"]),
            ("teams", &[]),
            ("telegram", &["chatId", "disableNotification"]),
            ("gotify", &["priority"]),
            ("ntfy", &["topic", "priority"]),
            ("webhook", &["method", "bodyTemplate"]),
            ("email", &["from", "to"]),
        ];
        for a in ADAPTERS {
            for name in a.binds_secrets {
                assert!(
                    a.field(name).is_some(),
                    "{}.{name} binds but is no field",
                    a.id
                );
            }
            if a.secret_fields().next().is_none() {
                assert!(a.binds_secrets.is_empty(), "{} has no secrets", a.id);
                continue;
            }
            let free = FREE
                .iter()
                .find(|(id, _)| *id == a.id)
                .unwrap_or_else(|| panic!("{} has secrets: classify its fields", a.id))
                .1;
            for f in a.fields {
                let binds = a.binds_secrets(f.name);
                let is_free = free.contains(&f.name);
                if f.secret {
                    assert!(!is_free, "{}.{}", a.id, f.name);
                    continue;
                }
                assert!(
                    binds != is_free,
                    "{}.{}: binds {binds}, reviewed free {is_free}",
                    a.id,
                    f.name
                );
                // A host, an endpoint or a host-name part is always a target.
                if matches!(f.format, Format::Host | Format::DnsLabel)
                    || ["endpoint", "serverUrl", "apiUrl", "url", "port"].contains(&f.name)
                {
                    assert!(binds, "{}.{} must bind the secrets", a.id, f.name);
                }
            }
        }
    }

    #[test]
    fn schema_snapshot() {
        insta::assert_json_snapshot!("postgres_schema", find("postgres").unwrap().describe());
        insta::assert_json_snapshot!("sftp_schema", find("sftp").unwrap().describe());
        insta::assert_json_snapshot!("ftp_schema", find("ftp").unwrap().describe());
        insta::assert_json_snapshot!("webdav_schema", find("webdav").unwrap().describe());
        insta::assert_json_snapshot!("rclone_schema", find("rclone").unwrap().describe());
        insta::assert_json_snapshot!("gdrive_schema", find("gdrive").unwrap().describe());
        let kinds = describe_all(Some(Kind::Notification));
        assert_eq!(kinds.len(), 8);
    }
}
