//! First-user sign-up. Open only while there are no users, enforced by the server: the check
//! and the insert happen under SQLite's write lock (`BEGIN IMMEDIATE`), so of two concurrent
//! sign-ups exactly one wins and the other gets [`IdentityError::SetupClosed`] (403). The first
//! user joins the SuperAdmin group, created then with every permission.

use dbackup_core::db::Db;
use serde::Deserialize;

use crate::error::{IdentityError, Result};
use crate::groups;
use crate::sql;
use crate::time::Timestamp;
use crate::users::{self, NewUser, User};

/// Body of `POST /api/auth/signup`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SignupRequest {
    pub name: String,
    pub email: String,
    pub password: String,
}

/// `GET /api/auth/setup-status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SetupStatus {
    /// No user exists yet: the UI shows the first-run sign-up.
    pub needs_setup: bool,
    /// Passwordless passkey sign-in is allowed (`auth.disablePasskeyLogin` off).
    pub passkey_login: bool,
}

/// Whether the instance still needs its first user (`GET /api/auth/setup-status`).
pub fn needs_setup(db: &dyn Db) -> Result<bool> {
    Ok(users::count(db)? == 0)
}

/// Creates the first user as a SuperAdmin. 403 [`IdentityError::SetupClosed`] once any user
/// exists (checked before the body is validated, and again under the write lock); 400 for
/// invalid input.
pub fn create_first_user(db: &dyn Db, req: &SignupRequest, now: Timestamp) -> Result<User> {
    if !needs_setup(db)? {
        return Err(IdentityError::SetupClosed);
    }
    // Validation and the slow password hash happen before taking the lock.
    let prepared = users::prepare(&NewUser {
        name: req.name.clone(),
        email: req.email.clone(),
        password: req.password.clone(),
        group_id: None,
    })?;
    let id = sql::transaction(db, || {
        if !needs_setup(db)? {
            return Err(IdentityError::SetupClosed);
        }
        let group_id = groups::ensure_super_admin(db, now)?;
        users::insert(db, &prepared, Some(&group_id), now)
    })?;
    users::get(db, &id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::SUPER_ADMIN_GROUP;
    use crate::testutil::*;
    use std::sync::{Arc, Barrier};

    fn req(email: &str) -> SignupRequest {
        SignupRequest {
            name: "Admin".into(),
            email: email.into(),
            password: PASSWORD.into(),
        }
    }

    #[test]
    fn first_user_becomes_superadmin_then_setup_closes() {
        let db = TestDb::migrated();
        assert!(needs_setup(&db).unwrap());
        let u = create_first_user(&db, &req("Admin@Example.com"), NOW).unwrap();
        assert!(u.is_super_admin());
        assert_eq!(u.email, "admin@example.com");
        assert_eq!(u.group.as_ref().unwrap().name, SUPER_ADMIN_GROUP);
        let g = groups::get(&db, u.group_id.as_deref().unwrap()).unwrap();
        assert_eq!((g.permissions.len(), g.member_count), (30, 1));
        assert!(!needs_setup(&db).unwrap());
        assert_eq!(
            create_first_user(&db, &req("second@example.com"), NOW),
            Err(IdentityError::SetupClosed)
        );
        // Closed even for an invalid body: authorization before validation.
        let invalid = SignupRequest::default();
        assert_eq!(
            create_first_user(&db, &invalid, NOW),
            Err(IdentityError::SetupClosed)
        );
    }

    #[test]
    fn invalid_input_is_400_while_open() {
        let db = TestDb::migrated();
        let mut r = req("admin@example.com");
        r.password = "short".into();
        assert_eq!(create_first_user(&db, &r, NOW).unwrap_err().status(), 400);
        assert_eq!(
            create_first_user(&db, &req("nope"), NOW)
                .unwrap_err()
                .status(),
            400
        );
        assert!(needs_setup(&db).unwrap());
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Group""#), 0);
    }

    #[test]
    fn concurrent_signups_exactly_one_wins() {
        let path = temp_db_path("signup-race");
        drop(TestDb::file(&path));
        let barrier = Arc::new(Barrier::new(2));
        let workers: Vec<_> = ["one@example.com", "two@example.com"]
            .into_iter()
            .map(|email| {
                let path = path.clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let db = TestDb::file(&path);
                    barrier.wait();
                    create_first_user(&db, &req(email), NOW)
                })
            })
            .collect();
        let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        let db = TestDb::file(&path);
        let users = db.count(r#"SELECT COUNT(*) FROM "User""#);
        let groups = db.count(r#"SELECT COUNT(*) FROM "Group""#);
        drop(db);
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert_eq!(
            results
                .iter()
                .filter(|r| **r == Err(IdentityError::SetupClosed))
                .count(),
            1,
            "{results:?}"
        );
        assert_eq!((users, groups), (1, 1));
    }
}
