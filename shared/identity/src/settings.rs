//! DBackup's settings (`SystemSetting` rows): one typed table, [`ALL`], with every key's name,
//! type, range and default, the readers every crate uses (identity, the runner, the jobs and
//! adapters cores), and the validated updating behind `GET/PATCH /api/settings`.
//!
//! Keys not in [`ALL`] are refused by `PATCH`; internal bookkeeping rows (`runner.lastTickAt`,
//! …) share the table but are not settings.

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
/// Executions (backups and restores) running at once. Default 1, 1 to 32.
pub const MAX_CONCURRENT_JOBS: &str = "maxConcurrentJobs";
/// Default of [`MAX_CONCURRENT_JOBS`].
pub const DEFAULT_MAX_CONCURRENT_JOBS: i64 = 1;
/// Minutes without worker progress before a Running execution is failed. Default 10, 1 to 1440.
pub const STALL_TIMEOUT_MINUTES: &str = "stallTimeoutMinutes";
/// Default of [`STALL_TIMEOUT_MINUTES`].
pub const DEFAULT_STALL_TIMEOUT_MINUTES: i64 = 10;
/// Seconds between adapter health-check rounds. Default 60, 1 to 86400.
pub const HEALTH_CHECK_INTERVAL: &str = "healthCheckInterval";
/// Default of [`HEALTH_CHECK_INTERVAL`].
pub const DEFAULT_HEALTH_CHECK_INTERVAL: i64 = 60;
/// Seconds between reminders while an adapter stays OFFLINE. Default 3600, 60 to 7 days.
pub const HEALTH_REMINDER_INTERVAL: &str = "healthReminderInterval";
/// Default of [`HEALTH_REMINDER_INTERVAL`].
pub const DEFAULT_HEALTH_REMINDER_INTERVAL: i64 = 3600;
/// Turns passwordless passkey login off (passkeys stay usable as a second factor).
pub const DISABLE_PASSKEY_LOGIN: &str = "auth.disablePasskeyLogin";
/// IANA timezone of jobs created without one. Default `UTC`.
pub const SCHEDULER_TIMEZONE: &str = "scheduler.timezone";
/// Default of [`SCHEDULER_TIMEZONE`].
pub const DEFAULT_SCHEDULER_TIMEZONE: &str = "UTC";
/// Ids of the notification channels (adapters of type `notification`) that get system events
/// (an adapter going OFFLINE or coming back). Default none.
pub const SYSTEM_NOTIFICATION_CHANNELS: &str = "systemNotificationChannels";

/// The type of a setting, with its range and default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A JSON integer in `min..=max`; stored values outside are clamped when read.
    Integer { min: i64, max: i64, default: i64 },
    /// A JSON boolean.
    Flag { default: bool },
    /// An IANA timezone name (`Europe/Berlin`).
    Timezone { default: &'static str },
    /// A JSON array of ids of existing notification adapters (default `[]`).
    NotificationChannels,
}

/// One setting of `GET/PATCH /api/settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub kind: Kind,
}

const fn int(key: &'static str, min: i64, max: i64, default: i64) -> Setting {
    Setting {
        key,
        kind: Kind::Integer { min, max, default },
    }
}

/// Every setting, in the order `GET /api/settings` lists them.
pub const ALL: &[Setting] = &[
    int(MAX_CONCURRENT_JOBS, 1, 32, DEFAULT_MAX_CONCURRENT_JOBS),
    int(
        HEALTH_CHECK_INTERVAL,
        1,
        86_400,
        DEFAULT_HEALTH_CHECK_INTERVAL,
    ),
    int(
        HEALTH_REMINDER_INTERVAL,
        60,
        7 * 86_400,
        DEFAULT_HEALTH_REMINDER_INTERVAL,
    ),
    int(
        STALL_TIMEOUT_MINUTES,
        1,
        24 * 60,
        DEFAULT_STALL_TIMEOUT_MINUTES,
    ),
    int(
        AUDIT_LOG_RETENTION_DAYS,
        1,
        365,
        DEFAULT_AUDIT_LOG_RETENTION_DAYS,
    ),
    int(
        SESSION_LIFETIME_HOURS,
        1,
        90 * 24,
        DEFAULT_SESSION_LIFETIME_HOURS,
    ),
    Setting {
        key: DISABLE_PASSKEY_LOGIN,
        kind: Kind::Flag { default: false },
    },
    Setting {
        key: SCHEDULER_TIMEZONE,
        kind: Kind::Timezone {
            default: DEFAULT_SCHEDULER_TIMEZONE,
        },
    },
    Setting {
        key: SYSTEM_NOTIFICATION_CHANNELS,
        kind: Kind::NotificationChannels,
    },
];

/// The definition of `key`, if it is a setting.
pub fn find(key: &str) -> Option<&'static Setting> {
    ALL.iter().find(|s| s.key == key)
}

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

/// The effective value of an integer setting of [`ALL`] (its default for a non-integer key).
pub fn integer(db: &dyn Db, key: &str) -> Result<i64> {
    match find(key).map(|s| s.kind) {
        Some(Kind::Integer { min, max, default }) => get_i64(db, key, default, min, max),
        _ => Err(IdentityError::validation(format!(
            "{key} is not an integer setting"
        ))),
    }
}

/// The session lifetime in seconds.
pub fn session_lifetime_secs(db: &dyn Db) -> Result<i64> {
    Ok(integer(db, SESSION_LIFETIME_HOURS)? * 3600)
}

/// Days audit rows are kept.
pub fn audit_retention_days(db: &dyn Db) -> Result<i64> {
    integer(db, AUDIT_LOG_RETENTION_DAYS)
}

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

/// Whether a timezone name is a known IANA zone.
pub fn is_timezone(name: &str) -> bool {
    name.parse::<chrono_tz::Tz>().is_ok()
}

/// The default timezone of jobs ([`SCHEDULER_TIMEZONE`]; `UTC` when unset or unknown).
pub fn scheduler_timezone(db: &dyn Db) -> Result<String> {
    Ok(get(db, SCHEDULER_TIMEZONE)?
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| is_timezone(v))
        .unwrap_or_else(|| DEFAULT_SCHEDULER_TIMEZONE.to_owned()))
}

/// The notification channels for system events ([`SYSTEM_NOTIFICATION_CHANNELS`]; none when
/// unset or malformed).
pub fn system_notification_channels(db: &dyn Db) -> Result<Vec<String>> {
    Ok(get(db, SYSTEM_NOTIFICATION_CHANNELS)?
        .and_then(|v| serde_json::from_str::<Vec<String>>(&v).ok())
        .unwrap_or_default())
}

/// The effective value of one setting as JSON (stored, else the default).
pub fn value(db: &dyn Db, setting: &Setting) -> Result<Value> {
    Ok(match setting.kind {
        Kind::Integer { min, max, default } => json!(get_i64(db, setting.key, default, min, max)?),
        Kind::Flag { default } => json!(get_flag(db, setting.key, default)?),
        Kind::Timezone { .. } => json!(scheduler_timezone(db)?),
        Kind::NotificationChannels => json!(system_notification_channels(db)?),
    })
}

/// Every setting with its effective value, keyed by name: the answer of `GET /api/settings`.
pub fn current(db: &dyn Db) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for s in ALL {
        out.insert(s.key.to_owned(), value(db, s)?);
    }
    Ok(out)
}

/// One applied change, for the audit log (effective values; the default if it was unset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    pub key: &'static str,
    pub old: Value,
    pub new: Value,
}

/// Checks one value against its setting: the text to store, or the 400 naming the field.
pub fn validate(db: &dyn Db, s: &Setting, v: &Value) -> Result<String> {
    let bad = |msg: String| Err(IdentityError::invalid_field(s.key, msg));
    match s.kind {
        Kind::Integer { min, max, .. } => match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(n.to_string()),
            _ => bad(format!("{} must be an integer from {min} to {max}", s.key)),
        },
        Kind::Flag { .. } => match v.as_bool() {
            Some(b) => Ok(b.to_string()),
            None => bad(format!("{} must be true or false", s.key)),
        },
        Kind::Timezone { .. } => match v.as_str() {
            Some(tz) if is_timezone(tz) => Ok(tz.to_owned()),
            _ => bad(format!(
                "{} must be an IANA timezone name such as \"Europe/Berlin\"",
                s.key
            )),
        },
        Kind::NotificationChannels => {
            let Some(ids) = v
                .as_array()
                .and_then(|a| a.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
            else {
                return bad(format!(
                    "{} must be an array of notification adapter ids",
                    s.key
                ));
            };
            let mut unique: Vec<&str> = Vec::new();
            for id in ids {
                let kind = sql::first(
                    db,
                    r#"SELECT "type" FROM "AdapterConfig" WHERE "id" = ?"#,
                    &[id.into()],
                    |r| r.text("type"),
                )?;
                if kind.as_deref() != Some("notification") {
                    return bad(format!("{}: no notification channel {id:?}", s.key));
                }
                if !unique.contains(&id) {
                    unique.push(id);
                }
            }
            Ok(json!(unique).to_string())
        }
    }
}

/// Applies `PATCH /api/settings`: `patch` must be a JSON object of known keys with valid
/// values. Everything is validated before anything is written, and written in one
/// transaction. 400 for a non-object, unknown keys (`details.unknownKeys`, every one named), or a
/// wrong type or range (`details.field`). Returns the changes (unchanged values included), in
/// the order of [`ALL`].
pub fn update(db: &dyn Db, patch: &Value, now: Timestamp) -> Result<Vec<SettingChange>> {
    let Some(fields) = patch.as_object() else {
        return Err(IdentityError::validation(
            "the body must be a JSON object of settings",
        ));
    };
    let unknown: Vec<&str> = fields
        .keys()
        .filter(|k| find(k).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(IdentityError::Validation {
            message: format!("unknown settings: {}", unknown.join(", ")),
            details: Some(json!({ "unknownKeys": unknown })),
        });
    }
    let mut wanted = Vec::new();
    for s in ALL {
        if let Some(v) = fields.get(s.key) {
            wanted.push((s, validate(db, s, v)?));
        }
    }
    sql::transaction(db, || {
        let mut changes = Vec::new();
        for (s, stored) in &wanted {
            let old = value(db, s)?;
            set(db, s.key, stored, now)?;
            changes.push(SettingChange {
                key: s.key,
                old,
                new: value(db, s)?,
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
            json!({"maxConcurrentJobs": 1, "healthCheckInterval": 60,
                   "healthReminderInterval": 3600, "stallTimeoutMinutes": 10,
                   "auditLogRetentionDays": 90, "sessionLifetimeHours": 168,
                   "auth.disablePasskeyLogin": false, "scheduler.timezone": "UTC",
                   "systemNotificationChannels": []})
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
                    key: AUDIT_LOG_RETENTION_DAYS,
                    old: json!(90),
                    new: json!(90)
                },
                SettingChange {
                    key: SESSION_LIFETIME_HOURS,
                    old: json!(168),
                    new: json!(24)
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
            json!({"maxConcurrentJobs": 0}),
            json!({"maxConcurrentJobs": 33}),
            json!({"maxConcurrentJobs": true}),
            json!({"healthCheckInterval": 0}),
            json!({"healthReminderInterval": 59}),
            json!({"stallTimeoutMinutes": 1441}),
            json!({"auth.disablePasskeyLogin": "yes"}),
            json!({"scheduler.timezone": "Mars/Olympus"}),
            json!({"scheduler.timezone": 1}),
            json!({"systemNotificationChannels": "abc"}),
            json!({"systemNotificationChannels": [1]}),
            json!({"systemNotificationChannels": ["no-such-adapter"]}),
            json!([1]),
            json!("x"),
        ] {
            assert_eq!(update(&db, &bad, NOW).unwrap_err().status(), 400, "{bad}");
        }
        // Nothing of the refused patches was written.
        assert_eq!(session_lifetime_secs(&db).unwrap(), 24 * 3600);
        assert!(update(&db, &json!({}), NOW).unwrap().is_empty());
    }

    #[test]
    fn typed_settings_round_trip() {
        let db = TestDb::migrated();
        sql::exec(
            &db,
            r#"INSERT INTO "AdapterConfig" (id, name, type, adapterId, config) VALUES ('n1', 'hook', 'notification', 'webhook', '{}'), ('s1', 'disk', 'storage', 'local', '{}')"#,
            &[],
        )
        .unwrap();
        let changes = update(
            &db,
            &json!({"maxConcurrentJobs": 4, "scheduler.timezone": "Europe/Berlin",
                    "auth.disablePasskeyLogin": true,
                    "systemNotificationChannels": ["n1", "n1"]}),
            NOW,
        )
        .unwrap();
        assert_eq!(
            changes
                .iter()
                .map(|c| (c.key, c.old.clone(), c.new.clone()))
                .collect::<Vec<_>>(),
            vec![
                (MAX_CONCURRENT_JOBS, json!(1), json!(4)),
                (DISABLE_PASSKEY_LOGIN, json!(false), json!(true)),
                (SCHEDULER_TIMEZONE, json!("UTC"), json!("Europe/Berlin")),
                (SYSTEM_NOTIFICATION_CHANNELS, json!([]), json!(["n1"])),
            ]
        );
        assert_eq!(integer(&db, MAX_CONCURRENT_JOBS).unwrap(), 4);
        assert_eq!(scheduler_timezone(&db).unwrap(), "Europe/Berlin");
        assert!(get_flag(&db, DISABLE_PASSKEY_LOGIN, false).unwrap());
        assert_eq!(system_notification_channels(&db).unwrap(), vec!["n1"]);
        // A storage adapter is not a channel.
        let err = update(&db, &json!({"systemNotificationChannels": ["s1"]}), NOW).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(integer(&db, SCHEDULER_TIMEZONE).is_err());
        // Stored junk reads as the default.
        set(&db, SCHEDULER_TIMEZONE, "Nowhere/Land", NOW).unwrap();
        assert_eq!(scheduler_timezone(&db).unwrap(), "UTC");
        set(&db, MAX_CONCURRENT_JOBS, "99", NOW).unwrap();
        assert_eq!(integer(&db, MAX_CONCURRENT_JOBS).unwrap(), 32);
    }
}
