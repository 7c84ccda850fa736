//! The runner's hourly identity housekeeping: expired sessions, idle login throttles, and audit
//! retention (`auditLogRetentionDays`).
//!
//! The runner ticks every few seconds, so the work is rate-limited through the `SystemSetting`
//! row [`LAST_RUN_KEY`]: a tick claims the run by moving that timestamp forward in one guarded
//! statement, so of several runners (several machines under `spin up`) only one does the work
//! per hour.

use dbackup_core::db::Db;

use crate::audit;
use crate::error::Result;
use crate::lockout;
use crate::sessions;
use crate::sql;
use crate::time::Timestamp;

/// The `SystemSetting` key holding when maintenance last ran (ISO-8601 UTC).
pub const LAST_RUN_KEY: &str = "runner.lastMaintenanceAt";
/// Maintenance runs at most this often.
pub const INTERVAL_SECS: i64 = 3600;

/// Claims this hour's run: `true` if maintenance never ran, last ran [`INTERVAL_SECS`] or more
/// before `now`, or the stored value is unreadable or in the future (a clock that jumped back);
/// the stored time is then `now`.
fn claim(db: &dyn Db, now: Timestamp) -> Result<bool> {
    sql::returned_any(
        db,
        r#"INSERT INTO "SystemSetting" (key, value, description, updatedAt)
           VALUES (?, ?, 'When the runner last ran its hourly maintenance', ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, updatedAt = excluded.updatedAt
           WHERE "SystemSetting".value <= ? OR "SystemSetting".value > ?
              OR "SystemSetting".value NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z'
           RETURNING key"#,
        &[
            LAST_RUN_KEY.into(),
            now.iso().into(),
            now.iso().into(),
            now.plus_secs(-INTERVAL_SECS).iso().into(),
            now.iso().into(),
        ],
    )
}

/// Runs the housekeeping if it is due (see [`claim`]); returns whether it ran. A failure after
/// the claim leaves the rest for the next hour.
pub fn run_if_due(db: &dyn Db, now: Timestamp) -> Result<bool> {
    if !claim(db, now)? {
        return Ok(false);
    }
    sessions::delete_expired(db, now)?;
    lockout::prune(db, now)?;
    audit::apply_retention(db, now)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings;
    use crate::testutil::*;

    fn seed(db: &TestDb) {
        insert_user(db, "a", None);
        for (id, expires) in [("old", NOW.plus_secs(-1)), ("live", NOW.plus_secs(7200))] {
            db.execute(
                r#"INSERT INTO "Session" (id, expiresAt, token, createdAt, updatedAt, userId)
                   VALUES (?, ?, ?, 'x', 'x', 'a')"#,
                &[id.into(), expires.iso().into(), id.into()],
            )
            .unwrap();
        }
        for (id, at) in [
            ("ancient", NOW.plus_secs(-91 * 86_400)),
            ("recent", NOW.plus_secs(-89 * 86_400)),
        ] {
            db.execute(
                r#"INSERT INTO "AuditLog" (id, action, resource, createdAt) VALUES (?, 'LOGIN', 'AUTH', ?)"#,
                &[id.into(), at.iso().into()],
            )
            .unwrap();
        }
        for (key, at) in [("ip:idle", NOW.plus_secs(-2 * 86_400)), ("ip:busy", NOW)] {
            db.execute(
                r#"INSERT INTO "LoginThrottle" (key, failures, updatedAt) VALUES (?, 3, ?)"#,
                &[key.into(), at.iso().into()],
            )
            .unwrap();
        }
    }

    fn ids(db: &TestDb, table: &str, column: &str) -> String {
        db.text(&format!(
            r#"SELECT group_concat({column}, ',') FROM (SELECT {column} FROM "{table}" ORDER BY {column})"#
        ))
        .unwrap_or_default()
    }

    #[test]
    fn cleans_up_once_an_hour() {
        let db = TestDb::migrated();
        seed(&db);
        assert!(run_if_due(&db, NOW).unwrap());
        assert_eq!(ids(&db, "Session", "id"), "live");
        assert_eq!(ids(&db, "AuditLog", "id"), "recent");
        assert_eq!(ids(&db, "LoginThrottle", "key"), "ip:busy");
        assert_eq!(settings::get(&db, LAST_RUN_KEY).unwrap(), Some(NOW.iso()));

        // Within the hour: nothing runs, even with work waiting.
        seed_again(&db);
        assert!(!run_if_due(&db, NOW.plus_secs(INTERVAL_SECS - 1)).unwrap());
        assert_eq!(ids(&db, "Session", "id"), "live,old2");
        let later = NOW.plus_secs(INTERVAL_SECS);
        assert!(run_if_due(&db, later).unwrap());
        assert_eq!(ids(&db, "Session", "id"), "live");
        assert_eq!(settings::get(&db, LAST_RUN_KEY).unwrap(), Some(later.iso()));
    }

    fn seed_again(db: &TestDb) {
        db.execute(
            r#"INSERT INTO "Session" (id, expiresAt, token, createdAt, updatedAt, userId)
               VALUES ('old2', ?, 'old2', 'x', 'x', 'a')"#,
            &[NOW.iso().into()],
        )
        .unwrap();
    }

    #[test]
    fn retention_follows_the_setting() {
        let db = TestDb::migrated();
        seed(&db);
        settings::set(&db, settings::AUDIT_LOG_RETENTION_DAYS, "30", NOW).unwrap();
        assert!(run_if_due(&db, NOW).unwrap());
        assert_eq!(ids(&db, "AuditLog", "id"), "");
    }

    #[test]
    fn unreadable_or_future_marks_do_not_block_it() {
        let db = TestDb::migrated();
        for stored in ["garbage", &NOW.plus_secs(86_400).iso()] {
            settings::set(&db, LAST_RUN_KEY, stored, NOW).unwrap();
            assert!(run_if_due(&db, NOW).unwrap(), "{stored}");
            assert!(!run_if_due(&db, NOW.plus_secs(1)).unwrap(), "{stored}");
        }
    }
}
