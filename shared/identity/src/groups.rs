//! `Group`: RBAC groups and their permissions. SuperAdmin always holds every permission and can
//! be neither edited nor deleted; a group with members cannot be deleted.

use dbackup_core::db::Db;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{IdentityError, Result};
use crate::input;
use crate::permissions::{self, PermissionSet, SUPER_ADMIN_GROUP};
use crate::sql::{self, Row};
use crate::time::Timestamp;

/// Longest group name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A group as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    pub name: String,
    /// Effective permissions (every permission for SuperAdmin).
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Vec<crate::permissions::Permission>")
    )]
    pub permissions: Vec<String>,
    pub member_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// Body of `POST /api/groups`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewGroup {
    pub name: String,
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Vec<crate::permissions::Permission>")
    )]
    pub permissions: Vec<String>,
}

/// Body of `PATCH /api/groups/{id}`: absent fields stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupUpdate {
    pub name: Option<String>,
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<Vec<crate::permissions::Permission>>")
    )]
    pub permissions: Option<Vec<String>>,
}

/// A group's identity and effective permissions, as authorization needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupGrant {
    pub id: String,
    pub name: String,
    /// Effective permissions: every permission for SuperAdmin, else the stored list.
    pub permissions: PermissionSet,
}

impl GroupGrant {
    /// Whether this is the SuperAdmin group.
    pub fn is_super_admin(&self) -> bool {
        self.name == SUPER_ADMIN_GROUP
    }
}

/// The permissions a group with this name and stored JSON list holds.
pub fn effective_permissions(name: &str, stored_json: &str) -> PermissionSet {
    if name == SUPER_ADMIN_GROUP {
        permissions::all()
    } else {
        permissions::from_json(stored_json)
    }
}

const SELECT: &str = r#"SELECT g.id, g.name, g.permissions, g.createdAt, g.updatedAt,
    (SELECT COUNT(*) FROM "User" u WHERE u.groupId = g.id) AS memberCount
    FROM "Group" g"#;

fn from_row(r: &Row<'_>) -> Result<Group> {
    let name = r.text("name")?;
    let perms = effective_permissions(&name, &r.text("permissions")?);
    Ok(Group {
        id: r.text("id")?,
        permissions: permissions::to_strings(&perms),
        name,
        member_count: r.int("memberCount")?,
        created_at: r.text("createdAt")?,
        updated_at: r.text("updatedAt")?,
    })
}

/// Every group, by name.
pub fn list(db: &dyn Db) -> Result<Vec<Group>> {
    sql::all(db, &format!("{SELECT} ORDER BY g.name"), &[], from_row)
}

/// One group, or 404.
pub fn get(db: &dyn Db, id: &str) -> Result<Group> {
    sql::first(
        db,
        &format!("{SELECT} WHERE g.id = ?"),
        &[id.into()],
        from_row,
    )?
    .ok_or(IdentityError::NotFound("group"))
}

/// The grant of group `id`, if it exists.
pub fn grant(db: &dyn Db, id: &str) -> Result<Option<GroupGrant>> {
    sql::first(
        db,
        r#"SELECT id, name, permissions FROM "Group" WHERE id = ?"#,
        &[id.into()],
        |r| {
            let name = r.text("name")?;
            Ok(GroupGrant {
                id: r.text("id")?,
                permissions: effective_permissions(&name, &r.text("permissions")?),
                name,
            })
        },
    )
}

/// Trims and checks a group name: 400 when empty or too long, 409 for the reserved SuperAdmin
/// (in any case).
pub fn validate_name(name: &str) -> Result<String> {
    let name = input::short_text("name", name, MAX_NAME_CHARS)?;
    if name.eq_ignore_ascii_case(SUPER_ADMIN_GROUP) {
        return Err(IdentityError::Conflict(format!(
            "the name {SUPER_ADMIN_GROUP} is reserved"
        )));
    }
    Ok(name)
}

/// Parses a requested permission list; unknown strings are a 400 naming them
/// (`details.unknownPermissions`).
pub fn validate_permissions(list: &[String]) -> Result<PermissionSet> {
    permissions::validate(list).map_err(|unknown| IdentityError::Validation {
        message: format!("unknown permissions: {}", unknown.join(", ")),
        details: Some(json!({ "field": "permissions", "unknownPermissions": unknown })),
    })
}

fn name_taken(db: &dyn Db, name: &str, except_id: Option<&str>) -> Result<bool> {
    Ok(sql::scalar_i64(
        db,
        r#"SELECT COUNT(*) FROM "Group" WHERE name = ? AND id IS NOT ?"#,
        &[name.into(), except_id.into()],
    )? > 0)
}

fn name_conflict(name: &str) -> IdentityError {
    IdentityError::Conflict(format!("a group named {name} already exists"))
}

/// Creates a group on behalf of an actor holding `actor_holds`. 400 for a bad name or unknown
/// permissions, 403 for permissions the actor lacks, 409 for a taken or reserved name.
pub fn create(
    db: &dyn Db,
    actor_holds: &PermissionSet,
    new: &NewGroup,
    now: Timestamp,
) -> Result<Group> {
    let name = validate_name(&new.name)?;
    let perms = validate_permissions(&new.permissions)?;
    permissions::ensure_held(&perms, actor_holds)?;
    if name_taken(db, &name, None)? {
        return Err(name_conflict(&name));
    }
    let id = sql::new_id()?;
    let inserted = sql::exec(
        db,
        r#"INSERT INTO "Group" (id, name, permissions, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)"#,
        &[
            id.as_str().into(),
            name.as_str().into(),
            permissions::to_json(&perms).into(),
            now.iso().into(),
            now.iso().into(),
        ],
    );
    match inserted {
        Err(e) if sql::is_unique_violation(&e) => return Err(name_conflict(&name)),
        other => other?,
    }
    get(db, &id)
}

/// The permissions a group row (as shown) holds.
fn held_by(group: &Group) -> PermissionSet {
    permissions::validate(&group.permissions).unwrap_or_default()
}

/// Whether an actor holding `actor_holds` may change group `current` (to `new` permissions, if
/// given): 409 for SuperAdmin, which nobody modifies; 403 naming what the actor lacks when the
/// group holds, or would get, permissions the actor does not hold. `PATCH /api/groups/{id}` and
/// the config restore decide with this.
pub fn ensure_may_update(
    actor_holds: &PermissionSet,
    current: &Group,
    new: Option<&PermissionSet>,
) -> Result<()> {
    if current.name == SUPER_ADMIN_GROUP {
        return Err(IdentityError::Conflict(format!(
            "the {SUPER_ADMIN_GROUP} group cannot be modified"
        )));
    }
    permissions::ensure_held(&held_by(current), actor_holds)?;
    match new {
        Some(p) => permissions::ensure_held(p, actor_holds),
        None => Ok(()),
    }
}

/// Updates a group's name and/or permissions on behalf of an actor holding `actor_holds`.
/// 404 unknown, 409 for SuperAdmin or a taken name, 403 if the group holds or would get
/// permissions the actor lacks, 400 for invalid input.
pub fn update(
    db: &dyn Db,
    actor_holds: &PermissionSet,
    id: &str,
    upd: &GroupUpdate,
    now: Timestamp,
) -> Result<Group> {
    let current = get(db, id)?;
    ensure_may_update(actor_holds, &current, None)?;
    let name = upd.name.as_deref().map(validate_name).transpose()?;
    let perms = upd
        .permissions
        .as_deref()
        .map(validate_permissions)
        .transpose()?;
    ensure_may_update(actor_holds, &current, perms.as_ref())?;
    if let Some(name) = &name {
        if name_taken(db, name, Some(id))? {
            return Err(name_conflict(name));
        }
    }
    let updated = sql::exec(
        db,
        r#"UPDATE "Group" SET name = COALESCE(?, name), permissions = COALESCE(?, permissions),
           updatedAt = ? WHERE id = ? AND name <> ?"#,
        &[
            name.clone().into(),
            perms.as_ref().map(permissions::to_json).into(),
            now.iso().into(),
            id.into(),
            SUPER_ADMIN_GROUP.into(),
        ],
    );
    match updated {
        Err(e) if sql::is_unique_violation(&e) => {
            return Err(name_conflict(name.as_deref().unwrap_or_default()))
        }
        other => other?,
    }
    get(db, id)
}

/// Deletes a group on behalf of an actor holding `actor_holds`. 404 unknown; 403 if it holds
/// permissions the actor lacks; 409 for SuperAdmin or a group that still has members (checked
/// in the same statement as the delete, so a member added meanwhile cannot be orphaned).
pub fn delete(db: &dyn Db, actor_holds: &PermissionSet, id: &str) -> Result<()> {
    let group = get(db, id)?;
    if group.name != SUPER_ADMIN_GROUP {
        permissions::ensure_held(&held_by(&group), actor_holds)?;
    }
    let deleted = sql::returned_any(
        db,
        r#"DELETE FROM "Group" WHERE id = ? AND name <> ?
           AND NOT EXISTS (SELECT 1 FROM "User" WHERE groupId = ?) RETURNING id"#,
        &[id.into(), SUPER_ADMIN_GROUP.into(), id.into()],
    )?;
    if deleted {
        return Ok(());
    }
    let group = get(db, id)?;
    if group.name == SUPER_ADMIN_GROUP {
        Err(IdentityError::Conflict(format!(
            "the {SUPER_ADMIN_GROUP} group cannot be deleted"
        )))
    } else {
        Err(IdentityError::Conflict(format!(
            "the group has {} member(s); move them to another group first",
            group.member_count
        )))
    }
}

/// Creates the SuperAdmin group with every permission, or (an imported database) resets the
/// existing one's stored list to every permission. Returns its id. Call inside a transaction.
pub(crate) fn ensure_super_admin(db: &dyn Db, now: Timestamp) -> Result<String> {
    let all = permissions::to_json(&permissions::all());
    let existing = sql::first(
        db,
        r#"SELECT id FROM "Group" WHERE name = ?"#,
        &[SUPER_ADMIN_GROUP.into()],
        |r| r.text("id"),
    )?;
    if let Some(id) = existing {
        sql::exec(
            db,
            r#"UPDATE "Group" SET permissions = ?, updatedAt = ? WHERE id = ?"#,
            &[all.into(), now.iso().into(), id.as_str().into()],
        )?;
        return Ok(id);
    }
    let id = sql::new_id()?;
    sql::exec(
        db,
        r#"INSERT INTO "Group" (id, name, permissions, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)"#,
        &[
            id.as_str().into(),
            SUPER_ADMIN_GROUP.into(),
            all.into(),
            now.iso().into(),
            now.iso().into(),
        ],
    )?;
    Ok(id)
}

/// The SuperAdmin group's id, if it exists.
pub fn super_admin_id(db: &dyn Db) -> Result<Option<String>> {
    sql::first(
        db,
        r#"SELECT id FROM "Group" WHERE name = ?"#,
        &[SUPER_ADMIN_GROUP.into()],
        |r| r.text("id"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Permission;
    use crate::testutil::*;

    static ALL: std::sync::LazyLock<PermissionSet> = std::sync::LazyLock::new(permissions::all);

    fn new(name: &str, perms: &[&str]) -> NewGroup {
        NewGroup {
            name: name.into(),
            permissions: perms.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn create_get_list() {
        let db = TestDb::migrated();
        let g = create(
            &db,
            &ALL,
            &new("  Operators ", &["jobs:execute", "jobs:read"]),
            NOW,
        )
        .unwrap();
        assert_eq!(g.name, "Operators");
        assert_eq!(g.permissions, vec!["jobs:read", "jobs:execute"]);
        assert_eq!(g.member_count, 0);
        assert_eq!(g.created_at, NOW.iso());
        assert_eq!(get(&db, &g.id).unwrap(), g);
        assert_eq!(list(&db).unwrap(), vec![g.clone()]);
        let grant = grant(&db, &g.id).unwrap().unwrap();
        assert!(!grant.is_super_admin());
        assert_eq!(
            grant.permissions,
            [Permission::JobsRead, Permission::JobsExecute].into()
        );
        assert_eq!(get(&db, "nope"), Err(IdentityError::NotFound("group")));
    }

    #[test]
    fn unknown_permissions_are_named() {
        let db = TestDb::migrated();
        let err = create(
            &db,
            &ALL,
            &new("Ops", &["jobs:read", "jobs:fly", "root"]),
            NOW,
        )
        .unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.to_string(), "unknown permissions: jobs:fly, root");
        match err {
            IdentityError::Validation { details, .. } => assert_eq!(
                details.unwrap()["unknownPermissions"],
                json!(["jobs:fly", "root"])
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Group""#), 0);
    }

    #[test]
    fn names_are_validated_unique_and_superadmin_is_reserved() {
        let db = TestDb::migrated();
        create(&db, &ALL, &new("Ops", &[]), NOW).unwrap();
        assert_eq!(
            create(&db, &ALL, &new("Ops", &[]), NOW)
                .unwrap_err()
                .status(),
            409
        );
        assert_eq!(
            create(&db, &ALL, &new("", &[]), NOW).unwrap_err().status(),
            400
        );
        assert_eq!(
            create(&db, &ALL, &new(&"x".repeat(65), &[]), NOW)
                .unwrap_err()
                .status(),
            400
        );
        // Even before setup: a group named SuperAdmin would hold every permission.
        assert_eq!(
            create(&db, &ALL, &new("SuperAdmin", &[]), NOW)
                .unwrap_err()
                .status(),
            409
        );
        assert_eq!(
            create(&db, &ALL, &new("superadmin", &[]), NOW)
                .unwrap_err()
                .status(),
            409
        );
    }

    #[test]
    fn update_changes_given_fields_only() {
        let db = TestDb::migrated();
        let g = create(&db, &ALL, &new("Ops", &["jobs:read"]), NOW).unwrap();
        let other = create(&db, &ALL, &new("Other", &[]), NOW).unwrap();
        let later = NOW.plus_secs(5);
        let u = update(
            &db,
            &ALL,
            &g.id,
            &GroupUpdate {
                name: None,
                permissions: Some(vec!["audit:read".into()]),
            },
            later,
        )
        .unwrap();
        assert_eq!(u.name, "Ops");
        assert_eq!(u.permissions, vec!["audit:read"]);
        assert_eq!(u.updated_at, later.iso());
        let u = update(
            &db,
            &ALL,
            &g.id,
            &GroupUpdate {
                name: Some("Operators".into()),
                permissions: None,
            },
            later,
        )
        .unwrap();
        assert_eq!((u.name.as_str(), u.permissions.len()), ("Operators", 1));
        let rename = |name: &str| GroupUpdate {
            name: Some(name.into()),
            permissions: None,
        };
        assert_eq!(
            update(&db, &ALL, &g.id, &rename("Other"), later)
                .unwrap_err()
                .status(),
            409
        );
        assert_eq!(
            update(&db, &ALL, &g.id, &rename("SuperAdmin"), later)
                .unwrap_err()
                .status(),
            409
        );
        // Renaming to its own name is fine.
        assert!(update(&db, &ALL, &other.id, &rename("Other"), later).is_ok());
        let bad = GroupUpdate {
            name: None,
            permissions: Some(vec!["nope".into()]),
        };
        assert_eq!(
            update(&db, &ALL, &g.id, &bad, later).unwrap_err().status(),
            400
        );
        assert_eq!(
            update(&db, &ALL, "missing", &bad, later)
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn superadmin_is_untouchable_and_holds_everything() {
        let db = TestDb::migrated();
        let id = ensure_super_admin(&db, NOW).unwrap();
        assert_eq!(super_admin_id(&db).unwrap(), Some(id.clone()));
        // Even if its stored list is tampered with, it holds every permission.
        db.execute(r#"UPDATE "Group" SET permissions = '[]'"#, &[])
            .unwrap();
        let g = get(&db, &id).unwrap();
        assert_eq!(g.permissions.len(), 30);
        assert!(grant(&db, &id).unwrap().unwrap().is_super_admin());
        let upd = GroupUpdate {
            name: Some("Admins".into()),
            permissions: None,
        };
        assert_eq!(update(&db, &ALL, &id, &upd, NOW).unwrap_err().status(), 409);
        assert_eq!(delete(&db, &ALL, &id).unwrap_err().status(), 409);
        assert_eq!(get(&db, &id).unwrap().name, SUPER_ADMIN_GROUP);
        // Idempotent, restores the stored list.
        assert_eq!(ensure_super_admin(&db, NOW).unwrap(), id);
        assert_eq!(
            permissions::from_json(&db.text(r#"SELECT permissions FROM "Group""#).unwrap()).len(),
            30
        );
    }

    #[test]
    fn groups_with_members_cannot_be_deleted() {
        let db = TestDb::migrated();
        let g = create(&db, &ALL, &new("Ops", &[]), NOW).unwrap();
        insert_user(&db, "u1", Some(&g.id));
        let err = delete(&db, &ALL, &g.id).unwrap_err();
        assert_eq!(err.status(), 409);
        assert!(err.to_string().contains("1 member"), "{err}");
        assert_eq!(get(&db, &g.id).unwrap().member_count, 1);
        db.execute(r#"UPDATE "User" SET groupId = NULL"#, &[])
            .unwrap();
        delete(&db, &ALL, &g.id).unwrap();
        assert_eq!(delete(&db, &ALL, &g.id).unwrap_err().status(), 404);
    }

    #[test]
    fn nobody_grants_more_than_they_hold() {
        let db = TestDb::migrated();
        let held: PermissionSet = [Permission::GroupsWrite, Permission::JobsRead].into();
        let err = create(&db, &held, &new("Ops", &["jobs:read", "users:write"]), NOW).unwrap_err();
        assert_eq!(
            err,
            IdentityError::Forbidden("you do not hold these permissions: users:write".into())
        );
        let g = create(&db, &held, &new("Ops", &["jobs:read"]), NOW).unwrap();
        let widen = GroupUpdate {
            name: None,
            permissions: Some(vec!["jobs:read".into(), "settings:write".into()]),
        };
        assert_eq!(
            update(&db, &held, &g.id, &widen, NOW).unwrap_err().status(),
            403
        );
        let strong = create(&db, &ALL, &new("Admins", &["users:write"]), NOW).unwrap();
        let rename = GroupUpdate {
            name: Some("Weak".into()),
            permissions: None,
        };
        assert_eq!(
            update(&db, &held, &strong.id, &rename, NOW)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(delete(&db, &held, &strong.id).unwrap_err().status(), 403);
        delete(&db, &held, &g.id).unwrap();
    }
}
