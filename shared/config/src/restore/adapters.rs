//! Adapters, restored through `dbackup_adapters_core` as `POST /api/adapters` and
//! `PUT /api/adapters/{id}` create and change them: the registry's type and validation
//! ([`validate`]), the secrets' merge rule ([`secrets::merge`]), and [`store`]'s write, which
//! seals the secrets under the row's id.

use dbackup_adapters_core::{registry, secrets, store, validate, worker_spec};
use dbackup_core::db::Db;
use dbackup_core::worker::Worker;
use dbackup_core::ApiError;
use serde_json::{Map, Value};

use super::{about, bad, required, ChangeAction, Restorer};
use crate::access;
use crate::sql::{rows, text};
use crate::ConfigDocument;

/// The id of the adapter `(kind, name)` in the database (the oldest, should there be two).
pub(super) fn find(db: &dyn Db, kind: &str, name: &str) -> Result<Option<String>, ApiError> {
    Ok(rows(
        db,
        r#"SELECT "id" FROM "AdapterConfig" WHERE "type" = ? AND "name" = ?
           ORDER BY "createdAt", "id" LIMIT 1"#,
        &[kind.into(), name.into()],
    )?
    .first()
    .and_then(|r| text(r, "id")))
}

/// The files the document's adapters name on the worker's machine — a local destination's
/// directory, a SQLite source's file — checked by the worker (`POST /v1/storage/check`) as
/// `POST /api/adapters` does ([`worker_spec::path_check`]): a path outside the local storage
/// roots or into the worker's data directory is a 400 naming the adapter and `path`, before
/// anything is written (dry runs too).
pub async fn check_worker_paths(
    doc: &ConfigDocument,
    worker: &impl Worker,
) -> Result<(), ApiError> {
    for a in &doc.adapters {
        let (Some(Value::String(adapter_id)), Some(Value::Object(config))) =
            (a.get("adapterId"), a.get("config"))
        else {
            continue; // restore() refuses it, naming the field
        };
        if !config.get("path").is_some_and(Value::is_string) {
            continue;
        }
        let Some(request) = worker_spec::path_check(adapter_id, config) else {
            continue;
        };
        let name = a.get("name").and_then(Value::as_str).unwrap_or_default();
        let (status, body) = worker.post_json("/v1/storage/check", &request).await?;
        worker_spec::path_verdict(adapter_id, status, &body)
            .map_err(|e| about("adapter", name, e))?;
    }
    Ok(())
}

impl Restorer<'_> {
    /// A known adapter of the stated type, the name and config validated by the registry
    /// (outbound-address rules included), the kind's write permission. A secret the document
    /// leaves out keeps the stored one exactly as a PUT sending the mask would, so not when a
    /// field binding it to its target changes ([`secrets::merge`]). A secret neither in the
    /// document nor stored may be missing: the adapter is restored without it, with a warning.
    pub(super) fn adapters(&mut self) -> Result<(), ApiError> {
        for (i, a) in self.doc.adapters.iter().enumerate() {
            let what = format!("adapters[{i}]");
            let raw = required(a, "name", &what)?;
            let name = validate::name(&raw).map_err(|e| about("adapter", &raw, e))?;
            let kind = required(a, "type", &what)?;
            let adapter_id = required(a, "adapterId", &what)?;
            let t = registry::find(&adapter_id).ok_or_else(|| {
                bad(
                    "adapter",
                    &name,
                    "adapterId",
                    format!("{adapter_id:?} is unknown"),
                )
            })?;
            if t.kind.as_str() != kind {
                return Err(bad(
                    "adapter",
                    &name,
                    "type",
                    format!("must be {} for {}", t.kind.as_str(), t.id),
                ));
            }
            let Some(Value::Object(config)) = a.get("config") else {
                return Err(bad("adapter", &name, "config", "must be an object"));
            };
            let missing_secrets: Vec<&str> = secrets::missing_secrets(t, config);
            let may_write = |r: &Self| {
                access::require(r.who, t.kind.permission(true))
                    .map_err(|e| about("adapter", &name, e))
            };
            let id = match find(self.db, &kind, &name)? {
                Some(id) => {
                    let stored = store::load(self.db, self.sealer, &id)?;
                    let mut incoming = config.clone();
                    if stored.adapter_id == adapter_id {
                        for f in &missing_secrets {
                            secrets::mark_kept(t, f, &mut incoming, &stored.config);
                        }
                    }
                    let merged = match secrets::merge(t, &Value::Object(incoming), &stored.config)
                        .map_err(|e| about("adapter", &name, e))?
                    {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    let still_missing: Vec<&str> = missing_secrets
                        .iter()
                        .copied()
                        .filter(|f| secrets::missing_secrets(t, &merged).contains(f))
                        .collect();
                    let checked = checked_config(t, &name, &merged, &still_missing)?;
                    if stored.adapter_id == adapter_id && checked == stored.config {
                        self.change("adapter", ChangeAction::Unchanged, &name, None);
                    } else {
                        may_write(self)?;
                        store::update(self.db, self.sealer, &id, &name, t, &checked)?;
                        self.change("adapter", ChangeAction::Update, &name, None);
                    }
                    id
                }
                None => {
                    let checked = checked_config(t, &name, config, &missing_secrets)?;
                    may_write(self)?;
                    let id = dbackup_core::id::new_id()?;
                    store::insert(self.db, self.sealer, &id, &name, t, &checked)?;
                    let reason = (!missing_secrets.is_empty()).then(|| {
                        format!("secrets not in the backup: {}", missing_secrets.join(", "))
                    });
                    if let Some(r) = &reason {
                        self.warnings.push(format!(
                            "adapter {name:?}: {r}; enter them again before use"
                        ));
                    }
                    self.change("adapter", ChangeAction::Create, &name, reason);
                    id
                }
            };
            self.adapters.insert((kind, name), id);
        }
        Ok(())
    }
}

/// `config` as the registry validates and normalizes it for adapter type `t` (400 naming the
/// adapter and its first bad field). Secrets in `absent` (in neither the document nor the store)
/// may be missing: then the config is kept as given, its other fields having passed.
fn checked_config(
    t: &registry::AdapterType,
    name: &str,
    config: &Map<String, Value>,
    absent: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    match validate::validate(t, &Value::Object(config.clone())) {
        Ok(normalized) => Ok(normalized),
        Err(e) => {
            let only_absent_secrets = e
                .details
                .as_ref()
                .and_then(|d| d.get("fields"))
                .and_then(Value::as_object)
                .is_some_and(|f| !f.is_empty() && f.keys().all(|k| absent.contains(&k.as_str())));
            if only_absent_secrets {
                Ok(config.clone())
            } else {
                Err(about("adapter", name, e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::restore;
    use super::super::tests::{admin, now, sealer, KEY_A, KEY_B};
    use super::*;
    use crate::testutil::TestDb;
    use crate::{export, ExportOptions};
    use serde_json::json;

    /// The webhook's header values are secrets: exported only with secrets, restored sealed
    /// under the target's key (each value), and a document without them keeps the stored ones.
    #[test]
    fn webhook_headers_travel_as_secrets() {
        let source = TestDb::migrated();
        let t = registry::find("webhook").unwrap();
        let config = validate::validate(
            t,
            &json!({"url": "https://hooks.example/in",
                    "headers": {"Authorization": "Bearer hdr-secret"}}),
        )
        .unwrap();
        store::insert(&source, &sealer(KEY_A), "w1", "hook", t, &config).unwrap();
        let bare = export(&source, None, ExportOptions::default(), "t").unwrap();
        assert!(!serde_json::to_string(&bare).unwrap().contains("hdr-secret"));
        assert!(bare.adapters[0]["config"].get("headers").is_none());
        let full = ExportOptions {
            include_secrets: true,
            include_password_hashes: true,
        };
        let doc = export(&source, Some(&sealer(KEY_A)), full, "t").unwrap();
        assert_eq!(
            doc.adapters[0]["config"]["headers"],
            json!({"Authorization": "Bearer hdr-secret"})
        );

        let target = TestDb::migrated();
        restore(&target, &sealer(KEY_B), &doc, &admin(), now(), false).unwrap();
        let stored = target
            .count(r#"SELECT count(*) FROM "AdapterConfig" WHERE "config" LIKE '%hdr-secret%'"#);
        assert_eq!(stored, 0, "sealed at rest");
        let id = find(&target, "notification", "hook").unwrap().unwrap();
        let loaded = store::load(&target, &sealer(KEY_B), &id).unwrap();
        assert_eq!(loaded.config["headers"], config["headers"]);
        // Restored again from the document without secrets: the stored headers stay.
        restore(&target, &sealer(KEY_B), &bare, &admin(), now(), false).unwrap();
        let loaded = store::load(&target, &sealer(KEY_B), &id).unwrap();
        assert_eq!(loaded.config["headers"], config["headers"]);
    }

    /// A source with `ssh` (issue 17): an export without secrets keeps the SSH host, user and
    /// pinned key but not the private key; restored into a new install the adapter says the
    /// ssh secrets must be entered again, restored onto the stored adapter it keeps them. A
    /// source without `ssh` restores without any ssh warning.
    #[test]
    fn ssh_secrets_travel_as_secrets() {
        let source = TestDb::migrated();
        let t = registry::find("postgres").unwrap();
        let ssh = json!({"host": "db.example", "port": 22, "user": "backup",
                         "privateKey": "ssh-key-secret", "hostKey": "SHA256:abcdef"});
        let config = validate::validate(
            t,
            &json!({"host": "127.0.0.1", "user": "postgres", "password": "db-secret", "ssh": ssh}),
        )
        .unwrap();
        store::insert(&source, &sealer(KEY_A), "p1", "remote", t, &config).unwrap();
        let plain =
            validate::validate(t, &json!({"host": "h", "user": "u", "password": "pw"})).unwrap();
        store::insert(&source, &sealer(KEY_A), "p2", "local", t, &plain).unwrap();
        let bare = export(&source, None, ExportOptions::default(), "t").unwrap();
        let text = serde_json::to_string(&bare).unwrap();
        assert!(
            !text.contains("ssh-key-secret") && !text.contains("db-secret"),
            "{text}"
        );
        let remote = bare
            .adapters
            .iter()
            .find(|a| a["name"] == "remote")
            .unwrap();
        assert_eq!(
            remote["config"]["ssh"],
            json!({"host": "db.example", "port": 22, "user": "backup", "hostKey": "SHA256:abcdef"})
        );

        let fresh = TestDb::migrated();
        let report = restore(&fresh, &sealer(KEY_B), &bare, &admin(), now(), false).unwrap();
        let text = serde_json::to_string(&report).unwrap();
        assert!(
            text.contains(r#"adapter \"remote\": secrets not in the backup: password, ssh;"#),
            "{text}"
        );
        assert!(
            text.contains(r#"adapter \"local\": secrets not in the backup: password;"#),
            "{text}"
        );

        // Onto the install that has them: kept.
        restore(&source, &sealer(KEY_A), &bare, &admin(), now(), false).unwrap();
        let id = find(&source, "database", "remote").unwrap().unwrap();
        let loaded = store::load(&source, &sealer(KEY_A), &id).unwrap();
        assert_eq!(loaded.config["ssh"], config["ssh"]);
    }
}

#[cfg(test)]
mod refused {
    use serde_json::json;

    use super::super::checks::{refused_naming, Edit};

    /// What `POST /api/adapters` refuses, a restore refuses: 400 naming the adapter and the
    /// field, before anything of the document is written.
    #[test]
    fn an_adapter_its_api_would_refuse_is_refused_by_field() {
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                Box::new(|d| d.adapters[0]["config"]["port"] = json!("x")),
                "adapter",
                "port",
            ),
            (
                Box::new(|d| d.adapters[0]["config"]["extra"] = json!(1)),
                "adapter",
                "extra",
            ),
            (
                Box::new(|d| d.adapters[0]["config"]["host"] = json!("169.254.169.254")),
                "adapter",
                "host",
            ),
            (
                Box::new(|d| d.adapters[0]["adapterId"] = json!("oracle")),
                "adapter",
                "adapterId",
            ),
            (
                Box::new(|d| d.adapters[0]["type"] = json!("storage")),
                "adapter",
                "type",
            ),
            (
                Box::new(|d| d.adapters[1]["config"]["path"] = json!("relative")),
                "adapter",
                "path",
            ),
            (
                Box::new(|d| d.adapters[1]["name"] = json!("x".repeat(101))),
                "adapter",
                "name",
            ),
        ];
        refused_naming(cases, 400);
    }
}
