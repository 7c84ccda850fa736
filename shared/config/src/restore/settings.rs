//! Settings, restored as `PATCH /api/settings` checks and stores them
//! (`dbackup_identity::settings`), and the config backup's own job as
//! `PUT /api/system/config-backup` does ([`crate::setting`]). Notification channels, the
//! destination and the encryption profile travel by name and fingerprint.

use dbackup_core::ApiError;
use dbackup_identity::settings;
use serde_json::{json, Value};

use super::{about, invalid, ChangeAction, Restorer};
use crate::access;
use crate::setting::{self, ConfigBackupConfig};

impl Restorer<'_> {
    pub(super) fn settings(&mut self) -> Result<(), ApiError> {
        for (key, value) in &self.doc.settings {
            if key == setting::KEY {
                self.config_backup(value)?;
                continue;
            }
            let Some(s) = settings::find(key) else {
                self.change(
                    "setting",
                    ChangeAction::Skip,
                    key,
                    Some("unknown setting".into()),
                );
                continue;
            };
            let mut wanted = value.clone();
            if key == settings::SYSTEM_NOTIFICATION_CHANNELS {
                let mut ids = Vec::new();
                for n in value.as_array().into_iter().flatten() {
                    let nname = n.as_str().unwrap_or_default();
                    match self.adapter("notification", nname)? {
                        Some(id) => ids.push(Value::String(id)),
                        None => self.warnings.push(format!(
                            "setting {key}: notification channel {nname:?} not found; left out"
                        )),
                    }
                }
                wanted = Value::Array(ids);
            }
            let stored =
                settings::validate(self.db, s, &wanted).map_err(|e| about("setting", key, e))?;
            if settings::value(self.db, s)? == wanted {
                self.change("setting", ChangeAction::Unchanged, key, None);
                continue;
            }
            access::may_call(self.who, "PATCH", "/api/settings")
                .map_err(|e| about("setting", key, e))?;
            settings::set(self.db, s.key, &stored, self.now_ts)?;
            self.change("setting", ChangeAction::Update, key, None);
        }
        Ok(())
    }

    fn config_backup(&mut self, value: &Value) -> Result<(), ApiError> {
        let Some(m) = value.as_object() else {
            return Err(invalid("settings.configBackup must be an object"));
        };
        let mut patch = m.clone();
        let destination = patch.remove("destination");
        let profile = patch.remove("encryptionProfile");
        patch.remove("destinationId");
        patch.remove("encryptionProfileId");
        let mut reason = None;
        let destination_id = match destination.as_ref().and_then(Value::as_str) {
            None => None,
            Some(n) => {
                let id = self.adapter("storage", n)?;
                if id.is_none() {
                    reason = Some(format!("destination {n:?} not found"));
                }
                id
            }
        };
        let profile_id = match profile.as_ref().and_then(Value::as_str) {
            None => None,
            Some(fp) => {
                let id = self.profile(&fp.to_lowercase())?;
                if id.is_none() {
                    reason = Some(format!("encryption profile {fp} is not in the vault"));
                }
                id
            }
        };
        if let Some(r) = reason {
            self.warnings
                .push(format!("configBackup not restored: {r}"));
            self.change("setting", ChangeAction::Skip, setting::KEY, Some(r));
            return Ok(());
        }
        patch.insert("destinationId".into(), json!(destination_id));
        patch.insert("encryptionProfileId".into(), json!(profile_id));
        let tz = settings::scheduler_timezone(self.db)?;
        let wanted = setting::merge(ConfigBackupConfig::defaults(&tz), &patch)
            .map_err(|e| about("setting", setting::KEY, e))?;
        setting::validate(self.db, &wanted).map_err(|e| about("setting", setting::KEY, e))?;
        if setting::stored(self.db)?.as_ref() == Some(&wanted) {
            self.change("setting", ChangeAction::Unchanged, setting::KEY, None);
            return Ok(());
        }
        access::may_call(self.who, "PUT", "/api/system/config-backup")
            .map_err(|e| about("setting", setting::KEY, e))?;
        setting::save(self.db, &wanted, self.now)?;
        if wanted.enabled {
            // The restored schedule starts now.
            setting::restart_schedule(self.db, self.now)?;
        }
        self.change("setting", ChangeAction::Update, setting::KEY, None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::checks::{refused_naming, Edit};

    /// What `PATCH /api/settings` and `PUT /api/system/config-backup` refuse, a restore
    /// refuses: 400 naming the setting, before anything of the document is written.
    #[test]
    fn a_setting_its_api_would_refuse_is_refused_by_field() {
        let setting = |key: &'static str, value: serde_json::Value| -> Edit {
            Box::new(move |d| {
                d.settings.insert(key.into(), value.clone());
            })
        };
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                setting("maxConcurrentJobs", json!(99)),
                "setting",
                "maxConcurrentJobs",
            ),
            (
                setting("scheduler.timezone", json!("Mars/Olympus")),
                "setting",
                "scheduler.timezone",
            ),
            (
                setting("configBackup", json!({"schedule": "61 * * * *"})),
                "setting",
                "schedule",
            ),
        ];
        refused_naming(cases, 400);
    }
}
