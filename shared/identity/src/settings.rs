//! The `SystemSetting` values identity logic reads, each with its default and range.

use dbackup_core::db::Db;

use crate::error::Result;
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
}
