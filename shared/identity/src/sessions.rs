//! `Session`: one row per login. The cookie's JWT names the row; the row decides validity
//! (revocation deletes it, `expiresAt` ends it). Expiry slides: a session used more than an hour
//! after its last refresh is extended to now + lifetime (setting `sessionLifetimeHours`,
//! default 7 days) and its cookie re-issued.

use dbackup_core::db::Db;
use serde::Serialize;

use crate::error::{IdentityError, Result};
use crate::settings;
use crate::sql::{self, Row};
use crate::time::Timestamp;
use crate::token;

/// A session used this long after its last refresh gets its expiry extended.
pub const REFRESH_INTERVAL_SECS: i64 = 3600;
/// Longest `User-Agent` kept, in characters.
const MAX_USER_AGENT_CHARS: usize = 512;

/// A session as the API shows it (the row's `token` column is never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: String,
    /// Last refresh of the sliding expiry.
    pub updated_at: String,
    pub expires_at: String,
    /// Whether this is the session making the request (set by [`list_for_user`]).
    pub current: bool,
}

/// A session with its freshly signed cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSession {
    pub session: Session,
    /// The JWT for the cookie.
    pub jwt: String,
    /// Cookie `Max-Age`.
    pub max_age_secs: i64,
}

const SELECT: &str = r#"SELECT id, userId, ipAddress, userAgent, createdAt, updatedAt, expiresAt
    FROM "Session""#;

fn from_row(r: &Row<'_>) -> Result<Session> {
    Ok(Session {
        id: r.text("id")?,
        user_id: r.text("userId")?,
        ip_address: r.opt_text("ipAddress")?,
        user_agent: r.opt_text("userAgent")?,
        created_at: r.text("createdAt")?,
        updated_at: r.text("updatedAt")?,
        expires_at: r.text("expiresAt")?,
        current: false,
    })
}

fn sign(secret: &str, s: &Session, now: Timestamp) -> Result<IssuedSession> {
    let expires = Timestamp::parse_iso(&s.expires_at)
        .ok_or_else(|| IdentityError::Internal(format!("session {} has a bad expiresAt", s.id)))?;
    Ok(IssuedSession {
        jwt: token::issue_session(secret, &s.id, &s.user_id, now, expires)?,
        max_age_secs: i64::try_from(now.secs_until(expires)).unwrap_or(i64::MAX),
        session: s.clone(),
    })
}

/// Starts a session for `user_id` and signs its cookie.
pub fn create(
    db: &dyn Db,
    user_id: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
    secret: &str,
    now: Timestamp,
) -> Result<IssuedSession> {
    let lifetime = settings::session_lifetime_secs(db)?;
    let session = Session {
        id: sql::new_id()?,
        user_id: user_id.to_owned(),
        ip_address: ip.map(str::to_owned),
        user_agent: user_agent.map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
        created_at: now.iso(),
        updated_at: now.iso(),
        expires_at: now.plus_secs(lifetime).iso(),
        current: true,
    };
    // Sign first: a bad secret must not leave a row behind.
    let issued = sign(secret, &session, now)?;
    sql::exec(
        db,
        r#"INSERT INTO "Session" (id, expiresAt, token, createdAt, updatedAt, ipAddress, userAgent,
           userId) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"#,
        &[
            session.id.as_str().into(),
            session.expires_at.as_str().into(),
            // Authentication is by the signed JWT naming the row id; this column (NOT NULL
            // UNIQUE in better-auth's schema) just gets an unused random value.
            sql::random_hex(32)?.into(),
            session.created_at.as_str().into(),
            session.updated_at.as_str().into(),
            session.ip_address.clone().into(),
            session.user_agent.clone().into(),
            session.user_id.as_str().into(),
        ],
    )?;
    Ok(issued)
}

/// A session, if it exists (expired or not).
pub fn get(db: &dyn Db, id: &str) -> Result<Option<Session>> {
    sql::first(
        db,
        &format!("{SELECT} WHERE id = ?"),
        &[id.into()],
        from_row,
    )
}

/// A user's unexpired sessions, newest first; `current` marks the caller's.
pub fn list_for_user(
    db: &dyn Db,
    user_id: &str,
    current: Option<&str>,
    now: Timestamp,
) -> Result<Vec<Session>> {
    let mut list = sql::all(
        db,
        &format!("{SELECT} WHERE userId = ? AND expiresAt > ? ORDER BY createdAt DESC, id DESC"),
        &[user_id.into(), now.iso().into()],
        from_row,
    )?;
    for s in &mut list {
        s.current = Some(s.id.as_str()) == current;
    }
    Ok(list)
}

/// Revokes session `id`: the caller's own, or anyone's when `may_revoke_any` (users:write).
/// 404 if it does not exist or is someone else's (without revealing which).
pub fn revoke(db: &dyn Db, id: &str, actor_user_id: &str, may_revoke_any: bool) -> Result<()> {
    let deleted = sql::returned_any(
        db,
        r#"DELETE FROM "Session" WHERE id = ? AND (userId = ? OR ? = 1) RETURNING id"#,
        &[id.into(), actor_user_id.into(), may_revoke_any.into()],
    )?;
    if deleted {
        Ok(())
    } else {
        Err(IdentityError::NotFound("session"))
    }
}

/// Revokes every session of a user except `keep` (password change; `None` revokes all).
pub fn revoke_all_except(db: &dyn Db, user_id: &str, keep: Option<&str>) -> Result<()> {
    sql::exec(
        db,
        r#"DELETE FROM "Session" WHERE userId = ? AND id IS NOT ?"#,
        &[user_id.into(), keep.into()],
    )
}

/// Deletes expired sessions (for the runner's cleanup).
pub fn delete_expired(db: &dyn Db, now: Timestamp) -> Result<()> {
    sql::exec(
        db,
        r#"DELETE FROM "Session" WHERE expiresAt <= ?"#,
        &[now.iso().into()],
    )
}

/// Extends a live session's expiry if its last refresh is at least
/// [`REFRESH_INTERVAL_SECS`] old; returns the re-signed session then, `None` otherwise.
pub fn refresh_if_due(
    db: &dyn Db,
    session: &Session,
    secret: &str,
    now: Timestamp,
) -> Result<Option<IssuedSession>> {
    let last = Timestamp::parse_iso(&session.updated_at).unwrap_or(Timestamp::from_millis(0));
    if now < last.plus_secs(REFRESH_INTERVAL_SECS) {
        return Ok(None);
    }
    let lifetime = settings::session_lifetime_secs(db)?;
    let mut refreshed = session.clone();
    refreshed.updated_at = now.iso();
    refreshed.expires_at = now.plus_secs(lifetime).iso();
    let issued = sign(secret, &refreshed, now)?;
    // Guarded on the old updatedAt: of two concurrent refreshes one writes, both cookies work.
    sql::exec(
        db,
        r#"UPDATE "Session" SET expiresAt = ?, updatedAt = ? WHERE id = ? AND updatedAt = ?"#,
        &[
            refreshed.expires_at.as_str().into(),
            refreshed.updated_at.as_str().into(),
            session.id.as_str().into(),
            session.updated_at.as_str().into(),
        ],
    )?;
    Ok(Some(issued))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn create_signs_a_jwt_naming_the_row() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let issued = create(&db, "a", Some("10.0.0.1"), Some("curl/8"), SECRET, NOW).unwrap();
        let s = &issued.session;
        assert_eq!(s.expires_at, NOW.plus_secs(7 * 24 * 3600).iso());
        assert_eq!(issued.max_age_secs, 7 * 24 * 3600);
        let t = token::verify_session(SECRET, &issued.jwt, NOW).unwrap();
        assert_eq!(
            (t.session_id.as_str(), t.user_id.as_str()),
            (s.id.as_str(), "a")
        );
        let stored = get(&db, &s.id).unwrap().unwrap();
        assert_eq!(stored.ip_address.as_deref(), Some("10.0.0.1"));
        assert_eq!(stored.user_agent.as_deref(), Some("curl/8"));
        // The row's token column is not the JWT.
        let token_col = db.text(r#"SELECT token FROM "Session""#).unwrap();
        assert_ne!(token_col, issued.jwt);
        // A bad secret leaves no row.
        assert!(create(&db, "a", None, None, "short", NOW).is_err());
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Session""#), 1);
    }

    #[test]
    fn lifetime_comes_from_the_setting() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        settings::set(&db, settings::SESSION_LIFETIME_HOURS, "2", NOW).unwrap();
        let issued = create(&db, "a", None, None, SECRET, NOW).unwrap();
        assert_eq!(issued.session.expires_at, NOW.plus_secs(7200).iso());
    }

    #[test]
    fn list_revoke_and_expire() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        insert_user(&db, "b", None);
        let s1 = create(&db, "a", None, None, SECRET, NOW).unwrap().session;
        let s2 = create(&db, "a", None, None, SECRET, NOW.plus_secs(1))
            .unwrap()
            .session;
        let sb = create(&db, "b", None, None, SECRET, NOW).unwrap().session;
        let list = list_for_user(&db, "a", Some(&s1.id), NOW.plus_secs(2)).unwrap();
        assert_eq!(
            list.iter()
                .map(|s| (s.id.as_str(), s.current))
                .collect::<Vec<_>>(),
            vec![(s2.id.as_str(), false), (s1.id.as_str(), true)]
        );
        // Not someone else's, unless allowed; unknown is 404 either way.
        assert_eq!(revoke(&db, &sb.id, "a", false).unwrap_err().status(), 404);
        revoke(&db, &sb.id, "a", true).unwrap();
        assert_eq!(revoke(&db, "nope", "a", true).unwrap_err().status(), 404);
        revoke(&db, &s2.id, "a", false).unwrap();
        assert_eq!(get(&db, &s2.id).unwrap(), None);
        // Expired sessions are not listed and get cleaned up.
        let after = NOW.plus_secs(8 * 24 * 3600);
        assert!(list_for_user(&db, "a", None, after).unwrap().is_empty());
        delete_expired(&db, after).unwrap();
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Session""#), 0);
    }

    #[test]
    fn revoke_all_except_keeps_one() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let keep = create(&db, "a", None, None, SECRET, NOW).unwrap().session;
        create(&db, "a", None, None, SECRET, NOW).unwrap();
        revoke_all_except(&db, "a", Some(&keep.id)).unwrap();
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Session""#), 1);
        revoke_all_except(&db, "a", None).unwrap();
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Session""#), 0);
    }

    #[test]
    fn refresh_at_most_once_an_hour() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let s = create(&db, "a", None, None, SECRET, NOW).unwrap().session;
        assert_eq!(
            refresh_if_due(&db, &s, SECRET, NOW.plus_secs(3599)).unwrap(),
            None
        );
        let later = NOW.plus_secs(3600);
        let r = refresh_if_due(&db, &s, SECRET, later).unwrap().unwrap();
        assert_eq!(r.session.expires_at, later.plus_secs(7 * 24 * 3600).iso());
        let stored = get(&db, &s.id).unwrap().unwrap();
        assert_eq!(stored.expires_at, r.session.expires_at);
        assert_eq!(stored.updated_at, later.iso());
        let t = token::verify_session(SECRET, &r.jwt, later).unwrap();
        assert_eq!(t.expires_at, later.plus_secs(7 * 24 * 3600));
        assert_eq!(
            refresh_if_due(&db, &stored, SECRET, later.plus_secs(10)).unwrap(),
            None
        );
    }
}
