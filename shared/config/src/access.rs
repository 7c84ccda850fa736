//! What the caller of a restore may change.
//!
//! A restore is a batch of API writes on the caller's behalf, so it may create or change an
//! entity only where the caller could do the same through that entity's API: the route's
//! permission (`POST /api/groups` → groups:write, an adapter's kind → sources/destinations/
//! notifications:write, …, looked up in the one route table), then the API's own checks on the
//! values (`dbackup_identity::groups` / `users`: nobody grants, assigns or manages more than they
//! hold, the last SuperAdmin stays; `sso::ensure_may_manage`: an SSO provider decides who signs
//! in, so writing one needs every permission). Entities the restore leaves unchanged need
//! nothing, so a settings admin can restore a full backup of an install whose users and groups
//! they could not edit, as long as the document does not change them. A SuperAdmin holds
//! everything and keeps the full restore.

use dbackup_core::ApiError;
use dbackup_identity::authorize::Principal;
use dbackup_identity::permissions::{self, Permission, PermissionSet};
use dbackup_routes::{self as routes, Access};

/// 403 naming what is missing unless `who` holds all of `wanted`.
pub(crate) fn ensure_held(who: &Principal, wanted: &PermissionSet) -> Result<(), ApiError> {
    permissions::ensure_held(wanted, &who.permissions()).map_err(ApiError::from)
}

/// 403 unless `who` holds `p`.
pub(crate) fn require(who: &Principal, p: Permission) -> Result<(), ApiError> {
    ensure_held(who, &[p].into())
}

/// 403 unless `who` may use route `method path`: its permission from the route table; a route
/// that is not in the table needs every permission.
pub(crate) fn may_call(who: &Principal, method: &str, path: &str) -> Result<(), ApiError> {
    let needed: PermissionSet = match routes::find(method, path).map(|m| m.rule.access) {
        Some(Access::Permission(p)) => [p].into(),
        Some(Access::Public | Access::Authenticated) => PermissionSet::new(),
        None => permissions::all(),
    };
    ensure_held(who, &needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(holds: &[Permission]) -> Principal {
        Principal::ApiKey {
            key_id: "k".into(),
            user_id: "u".into(),
            permissions: holds.iter().copied().collect(),
        }
    }

    #[test]
    fn route_permissions_come_from_the_route_table() {
        let settings = key(&[Permission::SettingsWrite, Permission::GroupsWrite]);
        assert!(may_call(&settings, "POST", "/api/groups").is_ok());
        assert!(may_call(&settings, "PATCH", "/api/groups/g1").is_ok());
        let e = may_call(&settings, "POST", "/api/users").unwrap_err();
        assert_eq!(e.status, 403);
        assert!(e.message.contains("users:write"), "{}", e.message);
        assert_eq!(
            may_call(&settings, "POST", "/api/nowhere")
                .unwrap_err()
                .status,
            403
        );
        assert!(may_call(&key(Permission::ALL), "POST", "/api/nowhere").is_ok());
    }
}
