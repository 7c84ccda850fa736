//! Who is asking, and may they? [`resolve_principal`] turns the request's credentials (session
//! cookie or bearer API key) into a [`Principal`]; [`decide`] is the one function that decides
//! access for every route, failing closed: no valid credentials → 401, missing permission (or
//! no group) → 403.

use dbackup_core::db::Db;
use serde::Serialize;

use crate::api_keys;
use crate::error::{IdentityError, Result};
use crate::groups::{self, GroupGrant};
use crate::permissions::{self, Permission, PermissionSet};
use crate::sessions::{self, IssuedSession};
use crate::sql;
use crate::time::Timestamp;
use crate::token;
use crate::users::{self, User};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A user with a browser session (cookie).
    User {
        user_id: String,
        session_id: String,
        /// `None`: the user has no group, hence no permissions.
        group: Option<GroupGrant>,
    },
    /// A script with an API key: exactly the key's permissions (those its owner still holds).
    ApiKey {
        key_id: String,
        /// The key's owner, on whose behalf it acts.
        user_id: String,
        permissions: PermissionSet,
    },
}

impl Principal {
    /// The acting user's id.
    pub fn user_id(&self) -> &str {
        match self {
            Principal::User { user_id, .. } | Principal::ApiKey { user_id, .. } => user_id,
        }
    }

    /// The session id, for cookie principals.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Principal::User { session_id, .. } => Some(session_id),
            Principal::ApiKey { .. } => None,
        }
    }

    /// Whether the principal came from the session cookie (CSRF rules apply).
    pub fn is_cookie(&self) -> bool {
        matches!(self, Principal::User { .. })
    }

    /// The effective permissions.
    pub fn permissions(&self) -> PermissionSet {
        match self {
            Principal::User { group: Some(g), .. } => g.permissions.clone(),
            Principal::User { group: None, .. } => PermissionSet::new(),
            Principal::ApiKey { permissions, .. } => permissions.clone(),
        }
    }

    /// Whether the principal holds `p`.
    pub fn has(&self, p: Permission) -> bool {
        match self {
            Principal::User { group: Some(g), .. } => {
                g.is_super_admin() || g.permissions.contains(&p)
            }
            Principal::User { group: None, .. } => false,
            Principal::ApiKey { permissions, .. } => permissions.contains(&p),
        }
    }
}

/// The outcome of an access decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// 401: no valid credentials.
    Unauthenticated,
    /// 403: valid credentials without the permission.
    Forbidden,
}

/// What a route requires of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials.
    Public,
    /// Any valid session or API key, whatever its permissions (own-account routes). Handlers
    /// may check further permissions on fields (see `PATCH /api/profile`).
    Authenticated,
    /// A session or API key holding this permission.
    Permission(Permission),
}

/// Decides whether `principal` may use a route requiring `access`. The only place route access
/// is decided.
pub fn decide(access: Access, principal: Option<&Principal>) -> Decision {
    match (access, principal) {
        (Access::Public, _) => Decision::Allow,
        (_, None) => Decision::Unauthenticated,
        (Access::Authenticated, Some(_)) => Decision::Allow,
        (Access::Permission(p), Some(who)) if who.has(p) => Decision::Allow,
        (Access::Permission(_), Some(_)) => Decision::Forbidden,
    }
}

/// [`decide`] as a `Result`, with an error naming the missing permission.
pub fn authorize(access: Access, principal: Option<&Principal>) -> Result<()> {
    match decide(access, principal) {
        Decision::Allow => Ok(()),
        Decision::Unauthenticated => Err(IdentityError::Unauthenticated),
        Decision::Forbidden => Err(match access {
            Access::Permission(p) => IdentityError::Forbidden(format!("missing permission {p}")),
            _ => IdentityError::Forbidden("forbidden".to_owned()),
        }),
    }
}

/// A further permission check inside a handler (e.g. per field of `PATCH /api/profile`).
pub fn require(principal: &Principal, p: Permission) -> Result<()> {
    if principal.has(p) {
        Ok(())
    } else {
        Err(IdentityError::Forbidden(format!("missing permission {p}")))
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The caller, and a re-signed session when its sliding expiry was extended (set it as the new
/// cookie).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolved {
    pub principal: Option<Principal>,
    pub refreshed: Option<IssuedSession>,
}

/// Resolves the caller from the session cookie's JWT and/or a bearer token.
///
/// A bearer token, when present, is the only credential considered (an invalid one is not
/// rescued by a cookie). A cookie JWT must verify (signature, audience, expiry) and name an
/// existing, unexpired `Session` of an existing user. An API key must match its hash, not be
/// expired, and its owner must exist; its use is recorded. Invalid credentials give no
/// principal; only database or configuration failures are errors.
pub fn resolve_principal(
    db: &dyn Db,
    cookie_jwt: Option<&str>,
    bearer: Option<&str>,
    session_secret: &str,
    now: Timestamp,
) -> Result<Resolved> {
    if let Some(presented) = bearer {
        let principal = api_keys::authenticate(db, presented, now)?.map(|g| Principal::ApiKey {
            key_id: g.key_id,
            user_id: g.user_id,
            permissions: g.permissions,
        });
        return Ok(Resolved {
            principal,
            refreshed: None,
        });
    }
    let Some(jwt) = cookie_jwt else {
        return Ok(Resolved::default());
    };
    let claims = match token::verify_session(session_secret, jwt, now) {
        Ok(c) => c,
        Err(IdentityError::Unauthenticated) => return Ok(Resolved::default()),
        Err(e) => return Err(e),
    };
    let Some(session) = sessions::get(db, &claims.session_id)? else {
        return Ok(Resolved::default());
    };
    let live = Timestamp::parse_iso(&session.expires_at).is_some_and(|exp| exp > now);
    if session.user_id != claims.user_id || !live {
        return Ok(Resolved::default());
    }
    let Some(group_id) = sql::first(
        db,
        r#"SELECT groupId FROM "User" WHERE id = ?"#,
        &[session.user_id.as_str().into()],
        |r| r.opt_text("groupId"),
    )?
    else {
        return Ok(Resolved::default());
    };
    let group = match group_id {
        Some(id) => groups::grant(db, &id)?,
        None => None,
    };
    let refreshed = sessions::refresh_if_due(db, &session, session_secret, now)?;
    Ok(Resolved {
        principal: Some(Principal::User {
            user_id: session.user_id,
            session_id: session.id,
            group,
        }),
        refreshed,
    })
}

/// Answer of `GET /api/auth/session`: who is calling and with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    pub user: User,
    /// Effective permissions, as strings.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Vec<crate::permissions::Permission>")
    )]
    pub permissions: Vec<String>,
    /// `"session"` or `"apiKey"`.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["session", "apiKey"])))]
    pub authenticated_by: &'static str,
    /// The cookie session's id and expiry (null for API keys).
    pub session: Option<SessionRef>,
}

/// The current session, as shown by [`WhoAmI`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionRef {
    pub id: String,
    pub expires_at: String,
}

/// Describes the caller for `GET /api/auth/session`. 401 if the user vanished meanwhile.
pub fn who_am_i(db: &dyn Db, principal: &Principal) -> Result<WhoAmI> {
    let user = users::find(db, principal.user_id())?.ok_or(IdentityError::Unauthenticated)?;
    let session = match principal.session_id() {
        Some(id) => sessions::get(db, id)?.map(|s| SessionRef {
            id: s.id,
            expires_at: s.expires_at,
        }),
        None => None,
    };
    Ok(WhoAmI {
        user,
        permissions: permissions::to_strings(&principal.permissions()),
        authenticated_by: if principal.is_cookie() {
            "session"
        } else {
            "apiKey"
        },
        session,
    })
}

/// Principals for access tests here and in the route table's (feature `test-principals`).
#[cfg(any(test, feature = "test-principals"))]
pub mod test_principals {
    use super::{GroupGrant, Permission, Principal};

    /// A session user `u` in `group` (none: no permissions).
    pub fn user(group: Option<GroupGrant>) -> Principal {
        Principal::User {
            user_id: "u".into(),
            session_id: "s".into(),
            group,
        }
    }

    /// A group `name` holding `perms`.
    pub fn grant(name: &str, perms: &[Permission]) -> GroupGrant {
        GroupGrant {
            id: "g".into(),
            name: name.into(),
            permissions: perms.iter().copied().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_keys::NewApiKeyRequest;
    use crate::testutil::*;
    use test_principals::{grant, user};

    #[test]
    fn authorize_and_require_name_the_permission() {
        let rule = Access::Permission(Permission::UsersRead);
        assert_eq!(authorize(rule, None), Err(IdentityError::Unauthenticated));
        assert_eq!(
            authorize(rule, Some(&user(None))),
            Err(IdentityError::Forbidden(
                "missing permission users:read".into()
            ))
        );
        let p = user(Some(grant("G", &[Permission::UsersRead])));
        assert_eq!(authorize(rule, Some(&p)), Ok(()));
        assert!(require(&p, Permission::UsersRead).is_ok());
        assert_eq!(
            require(&p, Permission::UsersWrite).unwrap_err().status(),
            403
        );
        assert_eq!(p.permissions(), [Permission::UsersRead].into());
        assert!(user(None).permissions().is_empty());
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token("Bearer dbk_x"), Some("dbk_x"));
        assert_eq!(bearer_token("bearer   dbk_x "), Some("dbk_x"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    fn setup() -> TestDb {
        let db = TestDb::migrated();
        insert_group(&db, "ops", "Ops", &[Permission::JobsRead]);
        insert_user(&db, "a", Some("ops"));
        insert_user(&db, "nogroup", None);
        db
    }

    #[test]
    fn cookie_sessions_resolve_until_revoked_or_expired() {
        let db = setup();
        let issued = sessions::create(&db, "a", None, None, SECRET, NOW).unwrap();
        let r = resolve_principal(&db, Some(&issued.jwt), None, SECRET, NOW).unwrap();
        let p = r.principal.unwrap();
        assert_eq!(p.user_id(), "a");
        assert_eq!(p.session_id(), Some(issued.session.id.as_str()));
        assert!(p.is_cookie());
        assert_eq!(p.permissions(), [Permission::JobsRead].into());
        assert_eq!(r.refreshed, None);
        // A bad signature or garbage: nobody.
        let forged = token::issue_session(
            "another-secret-another-secret-0000",
            &issued.session.id,
            "a",
            NOW,
            NOW.plus_secs(60),
        )
        .unwrap();
        assert_eq!(
            resolve_principal(&db, Some(&forged), None, SECRET, NOW).unwrap(),
            Resolved::default()
        );
        assert_eq!(
            resolve_principal(&db, Some("x.y.z"), None, SECRET, NOW).unwrap(),
            Resolved::default()
        );
        // A JWT for another user than the session's: nobody.
        let mismatched = token::issue_session(
            SECRET,
            &issued.session.id,
            "nogroup",
            NOW,
            NOW.plus_secs(60),
        )
        .unwrap();
        assert!(resolve_principal(&db, Some(&mismatched), None, SECRET, NOW)
            .unwrap()
            .principal
            .is_none());
        // Row expiry wins over a longer-lived JWT.
        db.execute(
            r#"UPDATE "Session" SET expiresAt = ?"#,
            &[NOW.plus_secs(10).iso().into()],
        )
        .unwrap();
        assert!(
            resolve_principal(&db, Some(&issued.jwt), None, SECRET, NOW.plus_secs(10))
                .unwrap()
                .principal
                .is_none()
        );
        // Revocation takes effect on the next request.
        sessions::revoke(&db, &issued.session.id, "a", false).unwrap();
        assert!(resolve_principal(&db, Some(&issued.jwt), None, SECRET, NOW)
            .unwrap()
            .principal
            .is_none());
        // A bad secret is a configuration error, not "nobody".
        assert!(matches!(
            resolve_principal(&db, Some(&issued.jwt), None, "short", NOW),
            Err(IdentityError::Config(_))
        ));
    }

    #[test]
    fn expired_jwt_and_deleted_user() {
        let db = setup();
        settings_hours(&db, 1);
        let issued = sessions::create(&db, "a", None, None, SECRET, NOW).unwrap();
        let after = NOW.plus_secs(3601);
        assert!(
            resolve_principal(&db, Some(&issued.jwt), None, SECRET, after)
                .unwrap()
                .principal
                .is_none()
        );
        let issued = sessions::create(&db, "nogroup", None, None, SECRET, NOW).unwrap();
        let p = resolve_principal(&db, Some(&issued.jwt), None, SECRET, NOW)
            .unwrap()
            .principal
            .unwrap();
        assert!(p.permissions().is_empty());
        db.execute("PRAGMA foreign_keys = OFF", &[]).unwrap();
        db.execute(r#"DELETE FROM "User" WHERE id = 'nogroup'"#, &[])
            .unwrap();
        assert!(resolve_principal(&db, Some(&issued.jwt), None, SECRET, NOW)
            .unwrap()
            .principal
            .is_none());
    }

    fn settings_hours(db: &TestDb, hours: i64) {
        crate::settings::set(
            db,
            crate::settings::SESSION_LIFETIME_HOURS,
            &hours.to_string(),
            NOW,
        )
        .unwrap();
    }

    #[test]
    fn sliding_refresh_is_reported_once_an_hour() {
        let db = setup();
        let issued = sessions::create(&db, "a", None, None, SECRET, NOW).unwrap();
        let r =
            resolve_principal(&db, Some(&issued.jwt), None, SECRET, NOW.plus_secs(1800)).unwrap();
        assert_eq!(r.refreshed, None);
        let later = NOW.plus_secs(3600);
        let r = resolve_principal(&db, Some(&issued.jwt), None, SECRET, later).unwrap();
        let refreshed = r.refreshed.unwrap();
        assert_eq!(
            refreshed.session.expires_at,
            later.plus_secs(7 * 24 * 3600).iso()
        );
        // The old cookie keeps working until its own expiry; the new one too.
        for jwt in [&issued.jwt, &refreshed.jwt] {
            let r = resolve_principal(&db, Some(jwt), None, SECRET, later.plus_secs(60)).unwrap();
            assert!(r.principal.is_some());
            assert_eq!(r.refreshed, None);
        }
    }

    #[test]
    fn api_keys_resolve_with_their_permissions_and_bearer_wins() {
        let db = setup();
        let held: PermissionSet = [Permission::JobsRead].into();
        let key = api_keys::create(
            &db,
            "a",
            &held,
            &NewApiKeyRequest {
                name: "ci".into(),
                permissions: vec!["jobs:read".into()],
                expires_at: None,
            },
            NOW,
        )
        .unwrap();
        let r = resolve_principal(&db, None, Some(&key.token), SECRET, NOW).unwrap();
        let p = r.principal.unwrap();
        assert!(!p.is_cookie());
        assert_eq!(p.user_id(), "a");
        assert_eq!(p.session_id(), None);
        assert!(p.has(Permission::JobsRead));
        assert!(!p.has(Permission::JobsWrite));
        // An invalid bearer is not rescued by a valid cookie.
        let issued = sessions::create(&db, "a", None, None, SECRET, NOW).unwrap();
        let r = resolve_principal(&db, Some(&issued.jwt), Some("dbk_bogus"), SECRET, NOW).unwrap();
        assert_eq!(r, Resolved::default());
        assert_eq!(
            resolve_principal(&db, None, None, SECRET, NOW).unwrap(),
            Resolved::default()
        );
    }

    #[test]
    fn who_am_i_describes_sessions_and_keys() {
        let db = setup();
        let issued = sessions::create(&db, "a", None, None, SECRET, NOW).unwrap();
        let p = resolve_principal(&db, Some(&issued.jwt), None, SECRET, NOW)
            .unwrap()
            .principal
            .unwrap();
        let w = who_am_i(&db, &p).unwrap();
        assert_eq!(w.user.id, "a");
        assert_eq!(w.permissions, vec!["jobs:read"]);
        assert_eq!(w.authenticated_by, "session");
        assert_eq!(w.session.unwrap().expires_at, issued.session.expires_at);
        let json = serde_json::to_value(who_am_i(&db, &p).unwrap()).unwrap();
        assert_eq!(json["user"]["group"]["name"], "Ops");
        assert_eq!(json["authenticatedBy"], "session");
        let key = Principal::ApiKey {
            key_id: "k".into(),
            user_id: "a".into(),
            permissions: PermissionSet::new(),
        };
        let w = who_am_i(&db, &key).unwrap();
        assert_eq!(
            (w.authenticated_by, w.session, w.permissions.len()),
            ("apiKey", None, 0)
        );
        let gone = Principal::ApiKey {
            key_id: "k".into(),
            user_id: "zz".into(),
            permissions: PermissionSet::new(),
        };
        assert_eq!(who_am_i(&db, &gone).unwrap_err().status(), 401);
    }
}
