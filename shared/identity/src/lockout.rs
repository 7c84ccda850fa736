//! Brute-force protection: failure counters per account and per client IP, persisted in
//! `LoginThrottle` (components are stateless), with exponential lockout.
//!
//! Every guess of a secret (a password at login, a second factor, a password or code re-entered
//! for a sensitive action) first **reserves** an attempt with [`reserve`]: in one `BEGIN
//! IMMEDIATE` transaction it refuses with 429 if any key is locked, else counts the attempt
//! against every key and locks the keys that reached their free failures. Only then is the
//! secret checked. So N parallel guesses verify at most as many secrets as there are free
//! attempts: the reservation that reaches the threshold sets the lock the next one sees
//! (check-then-count would let every request that checked before the first failure was
//! counted through). A right secret hands its attempt back ([`Attempt::succeeded`],
//! [`Attempt::give_back`]); a wrong one leaves it counted.
//!
//! Keys: `account:<email>` and `ip:<address>` at login, `account:<email>` and
//! `confirm:<user id>` for re-entered passwords ([`confirm`]), so login guesses and re-entry
//! guesses share the account's budget. Once a key reaches its free failures it is locked for
//! [`BASE_LOCK_SECS`], doubling with every further failure up to [`MAX_LOCK_SECS`]. A success
//! clears the account (and confirm) counter, not the IP's. Counters idle for
//! [`FORGET_AFTER_SECS`] start over.

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

/// The longest remaining lock of `keys` at `now` (0: none is locked).
fn locked_wait(db: &dyn Db, keys: &[String], now: Timestamp) -> Result<u64> {
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
    Ok(wait)
}

fn locked(wait: u64) -> Result<()> {
    if wait > 0 {
        Err(IdentityError::Locked {
            retry_after_secs: wait,
        })
    } else {
        Ok(())
    }
}

/// `Ok` unless one of `keys` is locked at `now`; then 429 with the longest remaining wait.
/// Only for checks that cannot be guessed at (a passkey signature); guesses of a secret use
/// [`reserve`].
pub fn check(db: &dyn Db, keys: &[String], now: Timestamp) -> Result<()> {
    locked(locked_wait(db, keys, now)?)
}

/// Counts one failure against `key` and locks it past its threshold; returns the lock it set
/// (`lockedUntil`), if any.
fn count(db: &dyn Db, key: &str, now: Timestamp) -> Result<Option<String>> {
    let forget_before = now.plus_secs(-FORGET_AFTER_SECS).iso();
    let failures = sql::first(
        db,
        r#"INSERT INTO "LoginThrottle" (key, failures, lockedUntil, updatedAt) VALUES (?, 1, NULL, ?)
           ON CONFLICT (key) DO UPDATE SET
             failures = CASE WHEN updatedAt < ? THEN 1 ELSE failures + 1 END,
             updatedAt = excluded.updatedAt
           RETURNING failures"#,
        &[key.into(), now.iso().into(), forget_before.as_str().into()],
        |r| r.int("failures"),
    )?
    .unwrap_or(1);
    let Some(secs) = lock_secs(key, failures) else {
        return Ok(None);
    };
    let until = now.plus_secs(secs).iso();
    // MAX keeps the longer lock when two failures race.
    sql::exec(
        db,
        r#"UPDATE "LoginThrottle" SET lockedUntil = MAX(COALESCE(lockedUntil, ''), ?)
           WHERE key = ?"#,
        &[until.as_str().into(), key.into()],
    )?;
    Ok(Some(until))
}

/// Counts one failure against each key and locks keys past their threshold, after the fact.
/// Only for failures that were not reserved (a passkey assertion with a known credential).
pub fn record_failure(db: &dyn Db, keys: &[String], now: Timestamp) -> Result<()> {
    for key in keys {
        count(db, key, now)?;
    }
    Ok(())
}

/// One attempt at a secret, counted against its keys before the secret is checked (see
/// [`reserve`]). Dropping it leaves the attempt counted: that is what a wrong secret does.
#[derive(Debug)]
#[must_use = "an attempt is settled with succeeded() or give_back(), or dropped on failure"]
pub struct Attempt {
    /// Each key with the lock this reservation set on it, if it set one.
    reserved: Vec<(String, Option<String>)>,
}

/// Reserves one attempt on every key, atomically: 429 (nothing counted) if any key is locked;
/// else each key's counter goes up by one and the keys that reach their free failures are
/// locked, all in one `BEGIN IMMEDIATE` transaction, before the caller checks the secret.
pub fn reserve(db: &dyn Db, keys: &[String], now: Timestamp) -> Result<Attempt> {
    sql::transaction(db, || {
        locked(locked_wait(db, keys, now)?)?;
        let mut reserved = Vec::with_capacity(keys.len());
        for key in keys {
            reserved.push((key.clone(), count(db, key, now)?));
        }
        Ok(Attempt { reserved })
    })
}

/// Whether a success clears the key's counter (an account, a user's confirmations) rather than
/// only handing the attempt back (a client address, shared by everyone behind it).
fn cleared_by_success(key: &str) -> bool {
    !key.starts_with("ip:")
}

impl Attempt {
    /// The secret was right and the sign-in (or confirmation) is complete: account and confirm
    /// counters start over; the IP's gets this attempt back.
    pub fn succeeded(self, db: &dyn Db) -> Result<()> {
        for (key, lock) in &self.reserved {
            if cleared_by_success(key) {
                clear(db, key)?;
            } else {
                give_back_one(db, key, lock.as_deref())?;
            }
        }
        Ok(())
    }

    /// The secret was right but another step follows (the second factor): every key gets this
    /// attempt back, earlier failures stay counted.
    pub fn give_back(self, db: &dyn Db) -> Result<()> {
        for (key, lock) in &self.reserved {
            give_back_one(db, key, lock.as_deref())?;
        }
        Ok(())
    }
}

/// Undoes one reserved attempt on `key`: one failure less, and the lock this reservation set
/// (if it is still the key's lock) lifted.
fn give_back_one(db: &dyn Db, key: &str, lock: Option<&str>) -> Result<()> {
    sql::exec(
        db,
        r#"UPDATE "LoginThrottle" SET failures = MAX(failures - 1, 0),
             lockedUntil = CASE WHEN lockedUntil = ? THEN NULL ELSE lockedUntil END
           WHERE key = ?"#,
        &[lock.into(), key.into()],
    )
}

/// A password (or second-factor code) re-entered for a sensitive action by a signed-in user:
/// changing the password, starting, disabling or re-keying 2FA, revealing a key. Reserves an
/// attempt on `confirm:<user id>` and the account's login key (so re-entry and login guesses
/// share one budget, and a changed email does not start a fresh one) before `check` runs; 429
/// while either is locked. A right answer clears both counters, a wrong one stays counted.
pub fn confirm(
    db: &dyn Db,
    user_id: &str,
    now: Timestamp,
    check: impl FnOnce() -> Result<bool>,
) -> Result<bool> {
    let mut keys = vec![confirm_key(user_id)];
    if let Some(user) = crate::users::find(db, user_id)? {
        keys.push(account_key(&user.email));
    }
    let attempt = reserve(db, &keys, now)?;
    let ok = check()?;
    if ok {
        attempt.succeeded(db)?;
    }
    Ok(ok)
}

/// [`confirm`] for a password: whether `password` is the user's (a missing or empty one is
/// wrong and counted like one).
pub fn confirm_password(
    db: &dyn Db,
    user_id: &str,
    password: Option<&str>,
    now: Timestamp,
) -> Result<bool> {
    confirm(db, user_id, now, || {
        match password.filter(|p| !p.is_empty()) {
            Some(p) => crate::users::check_password(db, user_id, p),
            None => Ok(false),
        }
    })
}

/// Clears the account's counter after a successful login.
pub fn record_success(db: &dyn Db, email: &str) -> Result<()> {
    sql::exec(
        db,
        r#"DELETE FROM "LoginThrottle" WHERE key = ?"#,
        &[account_key(email).into()],
    )
}

/// The throttle key of a user's re-entered passwords and codes for sensitive actions (see
/// [`confirm`]): counted like an account.
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
    fn parallel_reservations_get_at_most_the_free_attempts() {
        // 50 guesses at once, each on its own connection: only the free attempts are reserved
        // (and so verified); every other one is refused before any secret is checked.
        let path = temp_db_path("reserve-race");
        drop(TestDb::file(&path));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(50));
        let workers: Vec<_> = (0..50)
            .map(|_| {
                let (path, barrier) = (path.clone(), std::sync::Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let db = TestDb::file(&path);
                    barrier.wait();
                    // A wrong guess: the attempt is dropped, so it stays counted.
                    reserve(&db, &keys("ann@example.com", Some("10.0.0.1")), NOW)
                        .map(drop)
                        .map_err(|e| e.status())
                })
            })
            .collect();
        let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        let db = TestDb::file(&path);
        let failures = db
            .count(r#"SELECT failures FROM "LoginThrottle" WHERE key = 'account:ann@example.com'"#);
        drop(db);
        let _ = std::fs::remove_file(&path);
        let reserved = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(reserved as i64, ACCOUNT_FREE_FAILURES, "{results:?}");
        assert!(results.iter().all(|r| matches!(r, Ok(()) | Err(429))));
        assert_eq!(failures, ACCOUNT_FREE_FAILURES);
    }

    #[test]
    fn a_refused_reservation_counts_nothing() {
        let db = TestDb::migrated();
        let k = keys("ann@example.com", Some("10.0.0.1"));
        for _ in 0..5 {
            drop(reserve(&db, &k, NOW).unwrap());
        }
        assert_eq!(reserve(&db, &k, NOW).unwrap_err().status(), 429);
        assert_eq!(
            db.count(r#"SELECT failures FROM "LoginThrottle" WHERE key = 'ip:10.0.0.1'"#),
            5
        );
    }

    #[test]
    fn a_right_secret_hands_its_attempt_back() {
        let db = TestDb::migrated();
        let k = keys("ann@example.com", Some("10.0.0.1"));
        for _ in 0..4 {
            drop(reserve(&db, &k, NOW).unwrap());
        }
        // The fifth reservation locks; giving it back (a right password before the second
        // factor) lifts its lock and leaves the four failures.
        reserve(&db, &k, NOW).unwrap().give_back(&db).unwrap();
        check(&db, &k, NOW).unwrap();
        assert_eq!(db.count(r#"SELECT SUM(failures) FROM "LoginThrottle""#), 8);
        // A completed sign-in clears the account, and gives the address its attempt back.
        reserve(&db, &k, NOW).unwrap().succeeded(&db).unwrap();
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "LoginThrottle" WHERE key LIKE 'account:%'"#),
            0
        );
        assert_eq!(
            db.count(r#"SELECT failures FROM "LoginThrottle" WHERE key = 'ip:10.0.0.1'"#),
            4
        );
    }

    #[test]
    fn re_entered_passwords_share_the_account_budget() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        for _ in 0..4 {
            assert!(!confirm_password(&db, "a", Some("wrong password"), NOW).unwrap());
        }
        assert!(!confirm_password(&db, "a", None, NOW).unwrap());
        // Five wrong re-entries lock the re-entry and the account's login alike.
        assert_eq!(
            confirm_password(&db, "a", Some(PASSWORD), NOW)
                .unwrap_err()
                .status(),
            429
        );
        let login = keys("a@example.com", Some("10.0.0.2"));
        assert_eq!(reserve(&db, &login, NOW).unwrap_err().status(), 429);
        // After the lock a right password clears both counters.
        let later = NOW.plus_secs(BASE_LOCK_SECS);
        assert!(confirm_password(&db, "a", Some(PASSWORD), later).unwrap());
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "LoginThrottle""#), 0);
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
