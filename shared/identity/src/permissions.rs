//! The permission strings (DBackup's 28 plus `api-keys:read`/`api-keys:write`) and the sets that
//! groups and API keys hold.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::IdentityError;

/// The group that always holds every permission, whatever its stored list says. It cannot be
/// edited or deleted and must keep at least one member.
pub const SUPER_ADMIN_GROUP: &str = "SuperAdmin";

macro_rules! permissions {
    ($($variant:ident => $s:literal,)*) => {
        /// One permission. Serialized as its string, e.g. `"users:read"`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission {
            $(#[doc = $s] $variant,)*
        }

        impl Permission {
            /// Every permission, in display order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The permission's string, e.g. `"users:read"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $s,)*
                }
            }

            /// The permission named by `s` (exact, case-sensitive), if any.
            pub fn parse(s: &str) -> Option<Permission> {
                match s {
                    $($s => Some(Permission::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

permissions! {
    UsersRead => "users:read",
    UsersWrite => "users:write",
    GroupsRead => "groups:read",
    GroupsWrite => "groups:write",
    SourcesRead => "sources:read",
    SourcesWrite => "sources:write",
    DestinationsRead => "destinations:read",
    DestinationsWrite => "destinations:write",
    JobsRead => "jobs:read",
    JobsWrite => "jobs:write",
    JobsExecute => "jobs:execute",
    StorageRead => "storage:read",
    StorageDownload => "storage:download",
    StorageRestore => "storage:restore",
    StorageDelete => "storage:delete",
    HistoryRead => "history:read",
    AuditRead => "audit:read",
    NotificationsRead => "notifications:read",
    NotificationsWrite => "notifications:write",
    VaultRead => "vault:read",
    VaultWrite => "vault:write",
    ProfileUpdateName => "profile:update_name",
    ProfileUpdateEmail => "profile:update_email",
    ProfileUpdatePassword => "profile:update_password",
    ProfileManage2fa => "profile:manage_2fa",
    ProfileManagePasskeys => "profile:manage_passkeys",
    SettingsRead => "settings:read",
    SettingsWrite => "settings:write",
    ApiKeysRead => "api-keys:read",
    ApiKeysWrite => "api-keys:write",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::parse(s).ok_or_else(|| format!("unknown permission {s:?}"))
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Permission::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown permission {s:?}")))
    }
}

/// A set of permissions, ordered as [`Permission::ALL`].
pub type PermissionSet = BTreeSet<Permission>;

/// A permission string, as a named schema of the OpenAPI document (`Permission`).
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Permission {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Permission".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        schemars::json_schema!({"type": "string", "enum": names})
    }
}

/// Every permission as a set (what SuperAdmin holds).
pub fn all() -> PermissionSet {
    Permission::ALL.iter().copied().collect()
}

/// Parses a list of permission strings. `Err` lists every unknown string once, in input order.
pub fn validate<S: AsRef<str>>(list: &[S]) -> Result<PermissionSet, Vec<String>> {
    let mut set = PermissionSet::new();
    let mut unknown: Vec<String> = Vec::new();
    for s in list {
        let s = s.as_ref();
        match Permission::parse(s) {
            Some(p) => {
                set.insert(p);
            }
            None if !unknown.iter().any(|u| u == s) => unknown.push(s.to_owned()),
            None => {}
        }
    }
    if unknown.is_empty() {
        Ok(set)
    } else {
        Err(unknown)
    }
}

/// Reads a stored JSON array of permission strings. Fails closed: anything unreadable or unknown
/// grants nothing.
pub fn from_json(json: &str) -> PermissionSet {
    serde_json::from_str::<Vec<String>>(json)
        .map(|list| list.iter().filter_map(|s| Permission::parse(s)).collect())
        .unwrap_or_default()
}

/// The set as a JSON array of strings (the stored form).
pub fn to_json(set: &PermissionSet) -> String {
    let list: Vec<&str> = set.iter().map(|p| p.as_str()).collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned())
}

/// 403 naming the permissions of `wanted` that `held` lacks, if any. Nobody grants (through a
/// group, a group membership or an API key) or manages more than they hold.
pub fn ensure_held(wanted: &PermissionSet, held: &PermissionSet) -> Result<(), IdentityError> {
    let missing: Vec<&str> = wanted.difference(held).map(|p| p.as_str()).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(IdentityError::Forbidden(format!(
            "you do not hold these permissions: {}",
            missing.join(", ")
        )))
    }
}

/// The set as a list of strings (for API answers).
pub fn to_strings(set: &PermissionSet) -> Vec<String> {
    set.iter().map(|p| p.as_str().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_distinct_permissions_round_trip() {
        assert_eq!(Permission::ALL.len(), 30);
        assert_eq!(all().len(), 30);
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
            assert_eq!(p.to_string(), p.as_str());
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(serde_json::from_str::<Permission>(&json).unwrap(), *p);
        }
        for s in [
            "api-keys:read",
            "api-keys:write",
            "profile:manage_2fa",
            "jobs:execute",
        ] {
            assert!(Permission::parse(s).is_some(), "{s}");
        }
        assert_eq!(Permission::parse("USERS:READ"), None);
        assert!(serde_json::from_str::<Permission>("\"users:admin\"").is_err());
    }

    #[test]
    fn validate_names_unknown_strings() {
        let set = validate(&["users:read", "jobs:write", "users:read"]).unwrap();
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            vec![Permission::UsersRead, Permission::JobsWrite]
        );
        assert_eq!(
            validate(&["users:read", "x:y", "admin", "x:y"]).unwrap_err(),
            vec!["x:y".to_owned(), "admin".to_owned()]
        );
        assert_eq!(validate::<&str>(&[]).unwrap(), PermissionSet::new());
    }

    #[test]
    fn stored_json_fails_closed() {
        let set: PermissionSet = [Permission::AuditRead, Permission::UsersRead].into();
        let json = to_json(&set);
        assert_eq!(json, r#"["users:read","audit:read"]"#);
        assert_eq!(from_json(&json), set);
        assert_eq!(
            from_json(r#"["audit:read","bogus"]"#),
            [Permission::AuditRead].into()
        );
        assert!(from_json("not json").is_empty());
        assert!(from_json(r#"{"users:read": true}"#).is_empty());
        assert_eq!(to_strings(&set), vec!["users:read", "audit:read"]);
    }

    #[test]
    fn ensure_held_names_what_is_missing() {
        let held: PermissionSet = [Permission::UsersRead, Permission::JobsRead].into();
        assert!(ensure_held(&[Permission::UsersRead].into(), &held).is_ok());
        assert!(ensure_held(&PermissionSet::new(), &PermissionSet::new()).is_ok());
        let err = ensure_held(&all(), &held).unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(err
            .to_string()
            .starts_with("you do not hold these permissions: users:write, groups:read"));
        assert!(ensure_held(&all(), &all()).is_ok());
    }
}
