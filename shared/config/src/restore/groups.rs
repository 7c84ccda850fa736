//! Groups, restored through `dbackup_identity::groups` as `POST /api/groups` and
//! `PATCH /api/groups/{id}` create and change them.

use dbackup_core::db::Db;
use dbackup_core::ApiError;
use dbackup_identity::groups;
use dbackup_identity::permissions::{self, SUPER_ADMIN_GROUP};

use super::{about, bad, required, strings, ChangeAction, Restorer};
use crate::access;
use crate::sql::{rows, text};

/// The id of the group named `name`, if there is one.
pub(super) fn find(db: &dyn Db, name: &str) -> Result<Option<String>, ApiError> {
    Ok(rows(
        db,
        r#"SELECT "id" FROM "Group" WHERE "name" = ?"#,
        &[name.into()],
    )?
    .first()
    .and_then(|r| text(r, "id")))
}

impl Restorer<'_> {
    /// Known permission names only, nobody grants what they do not hold, SuperAdmin is never
    /// modified (it holds every permission whatever the document lists).
    pub(super) fn groups(&mut self) -> Result<(), ApiError> {
        for (i, g) in self.doc.groups.iter().enumerate() {
            let raw = required(g, "name", &format!("groups[{i}]"))?;
            let list = strings(g, "permissions", "group", &raw)?;
            let wanted =
                groups::validate_permissions(&list).map_err(|e| about("group", &raw, e))?;
            if raw == SUPER_ADMIN_GROUP {
                let id = groups::super_admin_id(self.db)?
                    .ok_or_else(|| bad("group", &raw, "name", "cannot be created by a restore"))?;
                self.change("group", ChangeAction::Unchanged, &raw, None);
                self.groups.insert(raw, id);
                continue;
            }
            let name = groups::validate_name(&raw).map_err(|e| about("group", &raw, e))?;
            let holds = self.who.permissions();
            let id = match find(self.db, &name)? {
                Some(id) => {
                    let current = groups::get(self.db, &id)?;
                    let held = permissions::validate(&current.permissions).unwrap_or_default();
                    if held == wanted {
                        self.change("group", ChangeAction::Unchanged, &name, None);
                    } else {
                        let update = groups::GroupUpdate {
                            name: None,
                            permissions: Some(list),
                        };
                        access::may_call(self.who, "PATCH", &format!("/api/groups/{id}"))
                            .and_then(|()| {
                                groups::update(self.db, &holds, &id, &update, self.now_ts)
                                    .map_err(ApiError::from)
                            })
                            .map_err(|e| about("group", &name, e))?;
                        self.change("group", ChangeAction::Update, &name, None);
                    }
                    id
                }
                None => {
                    let new = groups::NewGroup {
                        name: name.clone(),
                        permissions: list,
                    };
                    let created = access::may_call(self.who, "POST", "/api/groups")
                        .and_then(|()| {
                            groups::create(self.db, &holds, &new, self.now_ts)
                                .map_err(ApiError::from)
                        })
                        .map_err(|e| about("group", &name, e))?;
                    self.change("group", ChangeAction::Create, &name, None);
                    created.id
                }
            };
            self.groups.insert(name, id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::checks::{object, refused_naming, Edit};

    /// What `POST /api/groups` refuses, a restore refuses: 400 naming the group and the field
    /// (a reserved name: the API's 409), before anything of the document is written.
    #[test]
    fn a_group_its_api_would_refuse_is_refused_by_field() {
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                Box::new(|d| d.groups[0]["permissions"] = json!(["jobs:read", "root"])),
                "group",
                "permissions",
            ),
            (
                Box::new(|d| {
                    d.groups
                        .push(object(json!({"name": "x".repeat(65), "permissions": []})))
                }),
                "group",
                "name",
            ),
            (
                Box::new(|d| d.groups[0]["permissions"] = json!("jobs:read")),
                "group",
                "permissions",
            ),
        ];
        refused_naming(cases, 400);
        let reserved: Vec<(Edit, &str, &str)> = vec![(
            Box::new(|d| {
                d.groups
                    .push(object(json!({"name": "superadmin", "permissions": []})))
            }),
            "group",
            "name",
        )];
        refused_naming(reserved, 409);
    }
}
