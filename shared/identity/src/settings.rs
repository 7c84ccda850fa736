//! The `SystemSetting` values identity logic reads, each with its default and range, and the
//! reading and validated updating behind `GET/PATCH /api/settings`.
//!
//! [`KNOWN`] holds only the settings identity and the runner read today. DBackup's full settings
//! list (instance name, notification defaults, retention defaults, …) is a later issue; each
//! joins [`KNOWN`] with its type and range then, and `PATCH` keeps rejecting everything else.

use dbackup_core::db::Db;
use serde_json::{json, Map, Value};

use crate::error::{IdentityError, Result};
use crate::sql;
use crate::time::Timestamp;

/// Session lifetime in hours (sliding). Default 7 days, 1 hour to 90 days.
pub const SESSION_LIFETIME_HOURS: &str = "sessionLifetimeHours";
/// Default of [`SESSION_LIFETIME_HOURS`].
pub const DEFAULT_SESSION_LIFETIME_HOURS: i64 = 7 * 24;
/// Days audit rows are kept (applied by the runner). Default 90, 1 to 365.
pub const AUDIT_LOG_RETENTION_DAYS: &str = "auditLogRetentionDays";
/// Default of [`AUDIT_LOG_RETENTION_DAYS`].
pub const DEFAULT_AUDIT_LOG_RETENTION_DAYS: i64 = 90;

/// The raw value of a setting, if set.
pub fn get(db: &dyn Db, key: &str) -> Result<Option<String>> {
    sql::first(
        db,
        r#"SELECT value FROM "SystemSetting" WHERE key = ?"#,
        &[key.into()],
        |r| r.text("value"),
    )
}

/// Sets a setting (insert or replace).
pub fn set(db: &dyn Db, key: &str, value: &str, now: Timestamp) -> Result<()> {
    sql::exec(
        db,
        r#"INSERT INTO "SystemSetting" (key, value, updatedAt) VALUES (?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, updatedAt = excluded.updatedAt"#,
        &[key.into(), value.into(), now.iso().into()],
    )
}

/// An integer setting: `default` when unset or unreadable, clamped to `min..=max`. Accepts the
/// number as plain text or JSON (`168`, `"168"`).
pub fn get_i64(db: &dyn Db, key: &str, default: i64, min: i64, max: i64) -> Result<i64> {
    let value = get(db, key)?
        .and_then(|v| v.trim().trim_matches('"').trim().parse::<i64>().ok())
        .unwrap_or(default);
    Ok(value.clamp(min, max))
}

/// The session lifetime in seconds.
pub fn session_lifetime_secs(db: &dyn Db) -> Result<i64> {
    Ok(get_i64(
        db,
        SESSION_LIFETIME_HOURS,
        DEFAULT_SESSION_LIFETIME_HOURS,
        1,
        90 * 24,
    )? * 3600)
}

/// Days audit rows are kept.
pub fn audit_retention_days(db: &dyn Db) -> Result<i64> {
    get_i64(
        db,
        AUDIT_LOG_RETENTION_DAYS,
        DEFAULT_AUDIT_LOG_RETENTION_DAYS,
        1,
        365,
    )
}

/// An integer setting of the settings API: its key, default and inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntSetting {
    pub key: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
}

/// Every setting `GET/PATCH /api/settings` serves (see the module doc: more come later).
pub const KNOWN: &[IntSetting] = &[
    IntSetting {
        key: SESSION_LIFETIME_HOURS,
        default: DEFAULT_SESSION_LIFETIME_HOURS,
        min: 1,
        max: 90 * 24,
    },
    IntSetting {
        key: AUDIT_LOG_RETENTION_DAYS,
        default: DEFAULT_AUDIT_LOG_RETENTION_DAYS,
        min: 1,
        max: 365,
    },
];

/// On/off settings of the settings API (JSON booleans): key and default. They appear in
/// [`current`] once set, so the answer for an untouched instance lists the integers only.
pub const FLAGS: &[(&str, bool)] = &[("auth.disablePasskeyLogin", false)];

/// A flag setting: `default` when unset or unreadable (`true`/`1` read as on).
pub fn get_flag(db: &dyn Db, key: &str, default: bool) -> Result<bool> {
    Ok(match get(db, key)? {
        Some(v) => match v.trim().trim_matches('"') {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => default,
        },
        None => default,
    })
}

/// The known settings with their effective values (stored, else the default), keyed by name:
/// the answer of `GET /api/settings`.
pub fn current(db: &dyn Db) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for s in KNOWN {
        out.insert(
            s.key.to_owned(),
            json!(get_i64(db, s.key, s.default, s.min, s.max)?),
        );
    }
    for (key, default) in FLAGS {
        if get(db, key)?.is_some() {
            out.insert((*key).to_owned(), json!(get_flag(db, key, *default)?));
        }
    }
    Ok(out)
}

/// One applied change, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    pub key: &'static str,
    /// The effective value before (the default if it was unset).
    pub old: i64,
    pub new: i64,
}

/// Applies `PATCH /api/settings`: `patch` must be a JSON object of known keys with integer
/// values in range. Everything is validated before anything is written, and written in one
/// transaction. 400 for a non-object, unknown keys (`details.unknownKeys`, every one named), or a
/// wrong type or range (`details.field`). Returns the changes (unchanged values included).
pub fn update(db: &dyn Db, patch: &Value, now: Timestamp) -> Result<Vec<SettingChange>> {
    let Some(fields) = patch.as_object() else {
        return Err(IdentityError::validation(
            "the body must be a JSON object of settings",
        ));
    };
    let unknown: Vec<&str> = fields
        .keys()
        .filter(|k| {
            !KNOWN.iter().any(|s| s.key == k.as_str())
                && !FLAGS.iter().any(|(f, _)| *f == k.as_str())
        })
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(IdentityError::Validation {
            message: format!("unknown settings: {}", unknown.join(", ")),
            details: Some(json!({ "unknownKeys": unknown })),
        });
    }
    let mut wanted = Vec::new();
    for s in KNOWN {
        let Some(v) = fields.get(s.key) else { continue };
        match v.as_i64() {
            Some(n) if (s.min..=s.max).contains(&n) => wanted.push((s, n)),
            _ => {
                return Err(IdentityError::invalid_field(
                    s.key,
                    format!("{} must be an integer from {} to {}", s.key, s.min, s.max),
                ))
            }
        }
    }
    let mut flags = Vec::new();
    for (key, default) in FLAGS {
        let Some(v) = fields.get(*key) else { continue };
        match v.as_bool() {
            Some(b) => flags.push((*key, *default, b)),
            None => {
                return Err(IdentityError::invalid_field(
                    key,
                    format!("{key} must be true or false"),
                ))
            }
        }
    }
    sql::transaction(db, || {
        let mut changes = Vec::new();
        for (key, default, new) in &flags {
            let old = get_flag(db, key, *default)?;
            set(db, key, if *new { "true" } else { "false" }, now)?;
            changes.push(SettingChange {
                key,
                old: i64::from(old),
                new: i64::from(*new),
            });
        }
        for (s, new) in &wanted {
            let old = get_i64(db, s.key, s.default, s.min, s.max)?;
            set(db, s.key, &new.to_string(), now)?;
            changes.push(SettingChange {
                key: s.key,
                old,
                new: *new,
            });
        }
        Ok(changes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{TestDb, NOW};

    #[test]
    fn defaults_values_and_clamping() {
        let db = TestDb::migrated();
        assert_eq!(session_lifetime_secs(&db).unwrap(), 7 * 24 * 3600);
        assert_eq!(audit_retention_days(&db).unwrap(), 90);
        set(&db, SESSION_LIFETIME_HOURS, "24", NOW).unwrap();
        assert_eq!(session_lifetime_secs(&db).unwrap(), 24 * 3600);
        set(&db, SESSION_LIFETIME_HOURS, "\"2\"", NOW).unwrap();
        assert_eq!(session_lifetime_secs(&db).unwrap(), 2 * 3600);
        set(&db, SESSION_LIFETIME_HOURS, "0", NOW).unwrap();
        assert_eq!(session_lifetime_secs(&db).unwrap(), 3600);
        set(&db, SESSION_LIFETIME_HOURS, "junk", NOW).unwrap();
        assert_eq!(session_lifetime_secs(&db).unwrap(), 7 * 24 * 3600);
        set(&db, AUDIT_LOG_RETENTION_DAYS, "1000", NOW).unwrap();
        assert_eq!(audit_retention_days(&db).unwrap(), 365);
        assert_eq!(get(&db, "missing").unwrap(), None);
    }

    #[test]
    fn current_lists_known_settings_with_defaults() {
        let db = TestDb::migrated();
        assert_eq!(
            Value::Object(current(&db).unwrap()),
            json!({"sessionLifetimeHours": 168, "auditLogRetentionDays": 90})
        );
        set(&db, AUDIT_LOG_RETENTION_DAYS, "30", NOW).unwrap();
        assert_eq!(current(&db).unwrap()["auditLogRetentionDays"], json!(30));
    }

    #[test]
    fn update_validates_everything_before_writing() {
        let db = TestDb::migrated();
        let changes = update(
            &db,
            &json!({"sessionLifetimeHours": 24, "auditLogRetentionDays": 90}),
            NOW,
        )
        .unwrap();
        assert_eq!(
            changes,
            vec![
                SettingChange {
                    key: SESSION_LIFETIME_HOURS,
                    old: 168,
                    new: 24
                },
                SettingChange {
                    key: AUDIT_LOG_RETENTION_DAYS,
                    old: 90,
                    new: 90
                },
            ]
        );
        assert_eq!(session_lifetime_secs(&db).unwrap(), 24 * 3600);

        let err = update(
            &db,
            &json!({"sessionLifetimeHours": 2, "instanceName": "x", "bogus": 1}),
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            err,
            IdentityError::Validation {
                message: "unknown settings: bogus, instanceName".into(),
                details: Some(json!({"unknownKeys": ["bogus", "instanceName"]})),
            }
        );
        for bad in [
            json!({"sessionLifetimeHours": 0}),
            json!({"sessionLifetimeHours": 2161}),
            json!({"sessionLifetimeHours": "24"}),
            json!({"sessionLifetimeHours": 1.5}),
            json!({"auditLogRetentionDays": null}),
            json!({"auditLogRetentionDays": 366}),
            json!({"sessionLifetimeHours": 2, "auditLogRetentionDays": 0}),
            json!([1]),
            json!("x"),
        ] {
            assert_eq!(update(&db, &bad, NOW).unwrap_err().status(), 400, "{bad}");
        }
        // Nothing of the refused patches was written.
        assert_eq!(session_lifetime_secs(&db).unwrap(), 24 * 3600);
        assert!(update(&db, &json!({}), NOW).unwrap().is_empty());
    }
}
