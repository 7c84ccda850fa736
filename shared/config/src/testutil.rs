//! Test support: the shared [`TestDb`] (a migrated native SQLite) and the config fixtures.

pub use dbackup_core::native_sqlite::TestDb;
use dbackup_identity::groups::GroupGrant;
use dbackup_identity::permissions::{self, Permission, SUPER_ADMIN_GROUP};
use dbackup_identity::Principal;

/// A signed-in user `user_id` (session `session_id`) in group `group` holding `holds`.
pub fn member(user_id: &str, session_id: &str, group: &str, holds: &[Permission]) -> Principal {
    Principal::User {
        user_id: user_id.into(),
        session_id: session_id.into(),
        group: Some(GroupGrant {
            id: group.to_lowercase(),
            name: group.into(),
            permissions: holds.iter().copied().collect(),
        }),
    }
}

/// A SuperAdmin, signed in with session `session_id`.
pub fn super_admin(user_id: &str, session_id: &str) -> Principal {
    let all: Vec<Permission> = permissions::all().into_iter().collect();
    member(user_id, session_id, SUPER_ADMIN_GROUP, &all)
}
