//! Brute-force protection: failure counters per account and per client IP, persisted in
//! `LoginThrottle` (components are stateless), with exponential lockout.
//!
//! Each failed login (wrong password, unknown email, wrong second factor) counts against
//! `account:<email>` and `ip:<address>`. Once a key reaches its free failures it is locked for
//! [`BASE_LOCK_SECS`], doubling with every further failure up to [`MAX_LOCK_SECS`]. While locked,
//! attempts are refused with 429 before any password is checked. A successful login clears the
//! account counter (not the IP's). Counters idle for [`FORGET_AFTER_SECS`] start over.

use dbackup_core::db::Db;

use crate::error::{IdentityError, Result};
use crate::sql;
use crate::time::Timestamp;

/// Failures an account may have before it is locked.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures one client address may have before it is locked (higher: NAT, shared offices).
pub const IP_FREE_FAILURES: i64 = 20;
/// First lock duration.
pub const BASE_LOCK_SECS: i64 = 30;
/// Longest lock duration.
pub const MAX_LOCK_SECS: i64 = 15 * 60;
/// A counter with no failure for this long starts over.
pub const FORGET_AFTER_SECS: i64 = 24 * 3600;

/// The throttle key of an account (email trimmed and lowercased).
pub fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

/// The throttle key of a client address.
pub fn ip_key(addr: &str) -> String {
    format!("ip:{}", addr.trim())
}

/// The client's address without its port, from Spin's `spin-client-addr` (`127.0.0.1:5555`,
/// `[::1]:5555`), so the per-IP counter does not restart with every new connection. `None` for
/// an empty value.
pub fn client_ip(client_addr: &str) -> Option<String> {
    let addr = client_addr.trim();
    if addr.is_empty() {
        return None;
    }
    if let Some(v6) = addr.strip_prefix('[') {
        return v6.split(']').next().map(str::to_owned);
    }
    match addr.rsplit_once(':') {
        // One colon: IPv4 (or a name) with a port. More: a bare IPv6 address.
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(host.to_owned())
        }
        _ => Some(addr.to_owned()),
    }
}

/// The keys for one login attempt: the account, and the client address if known.
pub fn keys(email: &str, ip: Option<&str>) -> Vec<String> {
    let mut keys = vec![account_key(email)];
    if let Some(ip) = ip.filter(|ip| !ip.trim().is_empty()) {
        keys.push(ip_key(ip));
    }
    keys
}

fn free_failures(key: &str) -> i64 {
    if key.starts_with("ip:") {
        IP_FREE_FAILURES
    } else {
        ACCOUNT_FREE_FAILURES
    }
}

/// How long `key` is locked after its `failures`-th failure (`None`: not locked).
pub fn lock_secs(key: &str, failures: i64) -> Option<i64> {
    let over = failures - free_failures(key);
    if over < 0 {
        return None;
    }
    let factor = 1i64
        .checked_shl(u32::try_from(over).unwrap_or(u32::MAX))
        .unwrap_or(i64::MAX);
    Some(BASE_LOCK_SECS.saturating_mul(factor).min(MAX_LOCK_SECS))
}

/// `Ok` unless one of `keys` is locked at `now`; then 429 with the longest remaining wait.
pub fn check(db: &dyn Db, keys: &[String], now: Timestamp) -> Result<()> {
    let mut wait = 0;
    for key in keys {
        let locked_until = sql::first(
            db,
            r#"SELECT lockedUntil FROM "LoginThrottle" WHERE key = ?"#,
            &[key.as_str().into()],
            |r| r.opt_text("lockedUntil"),
        )?
        .flatten()
        .and_then(|t| Timestamp::parse_iso(&t));
        if let Some(until) = locked_until {
            wait = wait.max(now.secs_until(until));
        }
    }
    if wait > 0 {
        Err(IdentityError::Locked {
            retry_after_secs: wait,
        })
    } else {
        Ok(())
    }
}

/// Counts one failure against each key (atomically) and locks keys past their threshold.
pub fn record_failure(db: &dyn Db, keys: &[String], now: Timestamp) -> Result<()> {
    let forget_before = now.plus_secs(-FORGET_AFTER_SECS).iso();
    for key in keys {
        let failures = sql::first(
            db,
            r#"INSERT INTO "LoginThrottle" (key, failures, lockedUntil, updatedAt) VALUES (?, 1, NULL, ?)
               ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN updatedAt < ? THEN 1 ELSE failures + 1 END,
                 updatedAt = excluded.updatedAt
               RETURNING failures"#,
            &[key.as_str().into(), now.iso().into(), forget_before.as_str().into()],
            |r| r.int("failures"),
        )?
        .unwrap_or(1);
        if let Some(secs) = lock_secs(key, failures) {
            // MAX keeps the longer lock when two failures race.
            sql::exec(
                db,
                r#"UPDATE "LoginThrottle" SET lockedUntil = MAX(COALESCE(lockedUntil, ''), ?)
                   WHERE key = ?"#,
                &[now.plus_secs(secs).iso().into(), key.as_str().into()],
            )?;
        }
    }
    Ok(())
}

/// Clears the account's counter after a successful login.
pub fn record_success(db: &dyn Db, email: &str) -> Result<()> {
    sql::exec(
        db,
        r#"DELETE FROM "LoginThrottle" WHERE key = ?"#,
        &[account_key(email).into()],
    )
}

/// The throttle key of a user's password confirmations for sensitive actions (revealing a
/// key, downloading a recovery kit): counted like an account.
pub fn confirm_key(user_id: &str) -> String {
    format!("confirm:{user_id}")
}

/// Clears one counter (a confirmation that succeeded).
pub fn clear(db: &dyn Db, key: &str) -> Result<()> {
    sql::exec(
        db,
        r#"DELETE FROM "LoginThrottle" WHERE key = ?"#,
        &[key.into()],
    )
}

/// Deletes counters idle for [`FORGET_AFTER_SECS`] whose lock has ended (runner cleanup).
pub fn prune(db: &dyn Db, now: Timestamp) -> Result<()> {
    sql::exec(
        db,
        r#"DELETE FROM "LoginThrottle" WHERE updatedAt < ? AND (lockedUntil IS NULL OR lockedUntil < ?)"#,
        &[
            now.plus_secs(-FORGET_AFTER_SECS).iso().into(),
            now.iso().into(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn lock_durations_double_and_cap() {
        let k = account_key("a@x.io");
        assert_eq!(lock_secs(&k, 4), None);
        assert_eq!(lock_secs(&k, 5), Some(30));
        assert_eq!(lock_secs(&k, 6), Some(60));
        assert_eq!(lock_secs(&k, 9), Some(480));
        assert_eq!(lock_secs(&k, 10), Some(900));
        assert_eq!(lock_secs(&k, 1000), Some(900));
        let ip = ip_key("10.0.0.1");
        assert_eq!(lock_secs(&ip, 19), None);
        assert_eq!(lock_secs(&ip, 20), Some(30));
        assert_eq!(
            keys(" A@X.io ", Some("10.0.0.1")),
            vec!["account:a@x.io", "ip:10.0.0.1"]
        );
        assert_eq!(keys("a@x.io", Some("")), vec!["account:a@x.io"]);
    }

    #[test]
    fn five_failures_lock_the_account_with_retry_after() {
        let db = TestDb::migrated();
        let keys = keys("ann@example.com", Some("10.0.0.1"));
        for i in 0..4 {
            record_failure(&db, &keys, NOW.plus_secs(i)).unwrap();
            check(&db, &keys, NOW.plus_secs(i)).unwrap();
        }
        let t = NOW.plus_secs(4);
        record_failure(&db, &keys, t).unwrap();
        assert_eq!(
            check(&db, &keys, t),
            Err(IdentityError::Locked {
                retry_after_secs: 30
            })
        );
        assert_eq!(
            check(&db, &keys, t.plus_secs(10))
                .unwrap_err()
                .retry_after_secs(),
            Some(20)
        );
        // The IP alone is not locked; another account from it is fine.
        check(&db, &[ip_key("10.0.0.1")], t).unwrap();
        check(&db, &[account_key("bob@example.com")], t).unwrap();
        // After the lock, the next failure locks for twice as long.
        let t2 = t.plus_secs(30);
        check(&db, &keys, t2).unwrap();
        record_failure(&db, &keys, t2).unwrap();
        assert_eq!(
            check(&db, &keys, t2).unwrap_err().retry_after_secs(),
            Some(60)
        );
        // Success clears the account (a fresh start), not the IP counter.
        record_success(&db, "ANN@example.com").unwrap();
        check(&db, &keys, t2).unwrap();
        assert_eq!(
            db.count(r#"SELECT failures FROM "LoginThrottle" WHERE key = 'ip:10.0.0.1'"#),
            6
        );
    }

    #[test]
    fn counters_are_forgotten_after_a_day() {
        let db = TestDb::migrated();
        let keys = vec![account_key("a@x.io")];
        for _ in 0..4 {
            record_failure(&db, &keys, NOW).unwrap();
        }
        let later = NOW.plus_secs(FORGET_AFTER_SECS + 1);
        record_failure(&db, &keys, later).unwrap();
        check(&db, &keys, later).unwrap();
        assert_eq!(db.count(r#"SELECT failures FROM "LoginThrottle""#), 1);
        prune(&db, later.plus_secs(FORGET_AFTER_SECS + 1)).unwrap();
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "LoginThrottle""#), 0);
    }

    #[test]
    fn ip_locks_after_twenty_failures_across_accounts() {
        let db = TestDb::migrated();
        for i in 0..20 {
            record_failure(&db, &keys(&format!("u{i}@x.io"), Some("1.2.3.4")), NOW).unwrap();
        }
        let fresh = keys("new@x.io", Some("1.2.3.4"));
        assert_eq!(check(&db, &fresh, NOW).unwrap_err().status(), 429);
        check(&db, &keys("new@x.io", Some("5.6.7.8")), NOW).unwrap();
    }

    #[test]
    fn client_ip_drops_the_port() {
        assert_eq!(client_ip("127.0.0.1:5555").as_deref(), Some("127.0.0.1"));
        assert_eq!(client_ip("[::1]:5555").as_deref(), Some("::1"));
        assert_eq!(client_ip("10.1.2.3").as_deref(), Some("10.1.2.3"));
        assert_eq!(client_ip("fe80::1").as_deref(), Some("fe80::1"));
        assert_eq!(client_ip(" "), None);
    }
}
