//! `ApiKey`: bearer credentials for scripts. A key holds a subset of its creator's permissions,
//! may expire, is shown once (`dbk_<prefix>_<secret>`) and stored as a SHA-256 hash.

use dbackup_core::db::Db;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{IdentityError, Result};
use crate::groups;
use crate::input;
use crate::permissions::{self, PermissionSet};
use crate::sql::{self, Row};
use crate::time::Timestamp;
use crate::token;

/// Longest key name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// An API key as the API lists it (never the secret or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// The lookup prefix, to recognise a key (`dbk_<prefix>_…`).
    pub prefix: String,
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Vec<crate::permissions::Permission>")
    )]
    pub permissions: Vec<String>,
    pub user_id: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub created_at: String,
}

/// A key just created: the only time its full `token` is available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// `dbk_<prefix>_<secret>`: show once, never log. Serialized as `key`, the only time an
    /// answer carries it.
    #[serde(rename = "key")]
    pub token: String,
}

/// Body of `POST /api/api-keys`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewApiKeyRequest {
    pub name: String,
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Vec<crate::permissions::Permission>")
    )]
    pub permissions: Vec<String>,
    /// ISO-8601 UTC (`2025-01-01T00:00:00Z`); absent or null: never expires.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// What a valid presented key grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyGrant {
    pub key_id: String,
    pub user_id: String,
    /// The key's permissions that its owner still holds.
    pub permissions: PermissionSet,
}

const SELECT: &str = r#"SELECT id, name, prefix, permissions, userId, expiresAt, lastUsedAt,
    createdAt FROM "ApiKey""#;

fn from_row(r: &Row<'_>) -> Result<ApiKey> {
    Ok(ApiKey {
        id: r.text("id")?,
        name: r.text("name")?,
        prefix: r.text("prefix")?,
        permissions: permissions::to_strings(&permissions::from_json(&r.text("permissions")?)),
        user_id: r.text("userId")?,
        expires_at: r.opt_text("expiresAt")?,
        last_used_at: r.opt_text("lastUsedAt")?,
        created_at: r.text("createdAt")?,
    })
}

/// Creates a key for `owner_id`, who holds `held` (their effective permissions right now).
/// 400 bad name, unknown permission or expiry not in the future; 403 naming permissions the
/// owner does not hold.
pub fn create(
    db: &dyn Db,
    owner_id: &str,
    held: &PermissionSet,
    req: &NewApiKeyRequest,
    now: Timestamp,
) -> Result<CreatedApiKey> {
    let name = input::short_text("name", &req.name, MAX_NAME_CHARS)?;
    let wanted = groups::validate_permissions(&req.permissions)?;
    permissions::ensure_held(&wanted, held)?;
    let expires_at = match req.expires_at.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(s) => {
            let t = Timestamp::parse_iso(s.trim()).ok_or_else(|| IdentityError::Validation {
                message: "expiresAt must be an ISO-8601 UTC timestamp".to_owned(),
                details: Some(json!({ "field": "expiresAt" })),
            })?;
            if t <= now {
                return Err(IdentityError::invalid_field(
                    "expiresAt",
                    "expiresAt must be in the future",
                ));
            }
            Some(t.iso())
        }
    };
    // A prefix collision (2^-32 per pair) is retried with a fresh key.
    for _ in 0..3 {
        let generated = token::generate_api_key()?;
        let key = ApiKey {
            id: sql::new_id()?,
            name: name.clone(),
            prefix: generated.prefix.clone(),
            permissions: permissions::to_strings(&wanted),
            user_id: owner_id.to_owned(),
            expires_at: expires_at.clone(),
            last_used_at: None,
            created_at: now.iso(),
        };
        let inserted = sql::exec(
            db,
            r#"INSERT INTO "ApiKey" (id, name, prefix, keyHash, permissions, userId, expiresAt,
               lastUsedAt, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)"#,
            &[
                key.id.as_str().into(),
                key.name.as_str().into(),
                key.prefix.as_str().into(),
                generated.hash.as_str().into(),
                permissions::to_json(&wanted).into(),
                key.user_id.as_str().into(),
                key.expires_at.clone().into(),
                key.created_at.as_str().into(),
            ],
        );
        match inserted {
            Ok(()) => {
                return Ok(CreatedApiKey {
                    key,
                    token: generated.token,
                })
            }
            Err(e) if sql::is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(IdentityError::Internal(
        "could not generate a unique API key prefix".to_owned(),
    ))
}

/// A user's keys, newest first.
pub fn list_for_user(db: &dyn Db, user_id: &str) -> Result<Vec<ApiKey>> {
    sql::all(
        db,
        &format!("{SELECT} WHERE userId = ? ORDER BY createdAt DESC, id DESC"),
        &[user_id.into()],
        from_row,
    )
}

/// Deletes one of the owner's keys; 404 if it is not theirs.
pub fn delete(db: &dyn Db, id: &str, owner_id: &str) -> Result<()> {
    if sql::returned_any(
        db,
        r#"DELETE FROM "ApiKey" WHERE id = ? AND userId = ? RETURNING id"#,
        &[id.into(), owner_id.into()],
    )? {
        Ok(())
    } else {
        Err(IdentityError::NotFound("API key"))
    }
}

/// Checks a presented key: well-formed, known, hash matching (constant time), not expired, owner
/// existing. Records `lastUsedAt`. The grant is the key's permissions intersected with what the
/// owner holds now, so demoting a user also shrinks their keys. `None` for any failure.
pub fn authenticate(db: &dyn Db, presented: &str, now: Timestamp) -> Result<Option<ApiKeyGrant>> {
    let Some(prefix) = token::api_key_prefix(presented) else {
        return Ok(None);
    };
    let row = sql::first(
        db,
        r#"SELECT k.id, k.keyHash, k.permissions, k.userId, k.expiresAt, g.name AS groupName,
           g.permissions AS groupPermissions
           FROM "ApiKey" k JOIN "User" u ON u.id = k.userId
           LEFT JOIN "Group" g ON g.id = u.groupId WHERE k.prefix = ?"#,
        &[prefix.into()],
        |r| {
            let owner_holds = match r.opt_text("groupName")? {
                Some(name) => groups::effective_permissions(
                    &name,
                    &r.opt_text("groupPermissions")?.unwrap_or_default(),
                ),
                None => PermissionSet::new(),
            };
            Ok((
                r.text("id")?,
                r.text("keyHash")?,
                permissions::from_json(&r.text("permissions")?),
                r.text("userId")?,
                r.opt_text("expiresAt")?,
                owner_holds,
            ))
        },
    )?;
    let Some((key_id, hash, perms, user_id, expires_at, owner_holds)) = row else {
        return Ok(None);
    };
    if !token::verify_api_key(presented, &hash) {
        return Ok(None);
    }
    if let Some(exp) = expires_at {
        // An unreadable expiry counts as expired (fail closed).
        if Timestamp::parse_iso(&exp).is_none_or(|t| t <= now) {
            return Ok(None);
        }
    }
    sql::exec(
        db,
        r#"UPDATE "ApiKey" SET lastUsedAt = ? WHERE id = ?"#,
        &[now.iso().into(), key_id.as_str().into()],
    )?;
    Ok(Some(ApiKeyGrant {
        key_id,
        user_id,
        permissions: perms.intersection(&owner_holds).copied().collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Permission;
    use crate::testutil::*;

    fn req(perms: &[&str], expires: Option<&str>) -> NewApiKeyRequest {
        NewApiKeyRequest {
            name: "backup script".into(),
            permissions: perms.iter().map(|s| s.to_string()).collect(),
            expires_at: expires.map(Into::into),
        }
    }

    fn setup() -> TestDb {
        let db = TestDb::migrated();
        insert_group(
            &db,
            "ops",
            "Ops",
            &[
                Permission::JobsRead,
                Permission::JobsExecute,
                Permission::ApiKeysWrite,
            ],
        );
        insert_user(&db, "a", Some("ops"));
        db
    }

    fn ops() -> PermissionSet {
        [
            Permission::JobsRead,
            Permission::JobsExecute,
            Permission::ApiKeysWrite,
        ]
        .into()
    }

    #[test]
    fn create_shows_the_token_once_and_stores_a_hash() {
        let db = setup();
        let created = create(&db, "a", &ops(), &req(&["jobs:read"], None), NOW).unwrap();
        assert!(created
            .token
            .starts_with(&format!("dbk_{}_", created.key.prefix)));
        assert_eq!(created.key.permissions, vec!["jobs:read"]);
        let stored = db.text(r#"SELECT keyHash FROM "ApiKey""#).unwrap();
        assert_eq!(stored, token::hash_api_key(&created.token));
        assert!(!db
            .text(r#"SELECT group_concat(id || name || prefix || keyHash) FROM "ApiKey""#)
            .unwrap()
            .contains(&created.token));
        let listed = list_for_user(&db, "a").unwrap();
        assert_eq!(listed, vec![created.key.clone()]);
        let json = serde_json::to_value(&listed).unwrap().to_string();
        assert!(
            !json.contains(&created.token) && !json.contains(&stored),
            "{json}"
        );
        let json = serde_json::to_value(&created).unwrap();
        assert_eq!(json["key"], created.token);
        assert!(json.get("token").is_none(), "{json}");
        assert_eq!(json["name"], "backup script");
    }

    #[test]
    fn permissions_must_be_known_and_held() {
        let db = setup();
        let err = create(
            &db,
            "a",
            &ops(),
            &req(&["jobs:read", "users:write", "settings:write"], None),
            NOW,
        )
        .unwrap_err();
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.to_string(),
            "you do not hold these permissions: users:write, settings:write"
        );
        let err = create(&db, "a", &ops(), &req(&["jobs:nope"], None), NOW).unwrap_err();
        assert_eq!(err.status(), 400);
        let mut nameless = req(&[], None);
        nameless.name = " ".into();
        assert_eq!(
            create(&db, "a", &ops(), &nameless, NOW)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "ApiKey""#), 0);
    }

    #[test]
    fn authenticate_grants_exactly_the_key_permissions_and_records_use() {
        let db = setup();
        let created = create(&db, "a", &ops(), &req(&["jobs:read"], None), NOW).unwrap();
        let later = NOW.plus_secs(60);
        let grant = authenticate(&db, &created.token, later).unwrap().unwrap();
        assert_eq!(grant.user_id, "a");
        assert_eq!(grant.key_id, created.key.id);
        assert_eq!(grant.permissions, [Permission::JobsRead].into());
        assert_eq!(
            list_for_user(&db, "a").unwrap()[0].last_used_at,
            Some(later.iso())
        );
        // A wrong secret with the right prefix, a malformed or unknown key: nothing.
        let wrong = format!("dbk_{}_{}", created.key.prefix, "0".repeat(64));
        assert_eq!(authenticate(&db, &wrong, later).unwrap(), None);
        assert_eq!(authenticate(&db, "dbk_x", later).unwrap(), None);
        let unknown = token::generate_api_key().unwrap();
        assert_eq!(authenticate(&db, &unknown.token, later).unwrap(), None);
    }

    #[test]
    fn owner_demotion_shrinks_the_key() {
        let db = setup();
        let created = create(
            &db,
            "a",
            &ops(),
            &req(&["jobs:read", "jobs:execute"], None),
            NOW,
        )
        .unwrap();
        db.execute(
            r#"UPDATE "Group" SET permissions = '["jobs:read"]' WHERE id = 'ops'"#,
            &[],
        )
        .unwrap();
        let grant = authenticate(&db, &created.token, NOW).unwrap().unwrap();
        assert_eq!(grant.permissions, [Permission::JobsRead].into());
        db.execute(r#"UPDATE "User" SET groupId = NULL"#, &[])
            .unwrap();
        let grant = authenticate(&db, &created.token, NOW).unwrap().unwrap();
        assert!(grant.permissions.is_empty());
    }

    #[test]
    fn expiry() {
        let db = setup();
        assert_eq!(
            create(&db, "a", &ops(), &req(&[], Some(&NOW.iso())), NOW)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            create(&db, "a", &ops(), &req(&[], Some("tomorrow")), NOW)
                .unwrap_err()
                .status(),
            400
        );
        let exp = NOW.plus_secs(3600);
        let created = create(
            &db,
            "a",
            &ops(),
            &req(&[], Some("2030-01-01T00:00:00Z")),
            NOW,
        )
        .unwrap();
        assert_eq!(
            created.key.expires_at.as_deref(),
            Some("2030-01-01T00:00:00.000Z")
        );
        let short = create(&db, "a", &ops(), &req(&[], Some(&exp.iso())), NOW).unwrap();
        assert!(authenticate(&db, &short.token, exp.plus_secs(-1))
            .unwrap()
            .is_some());
        assert!(authenticate(&db, &short.token, exp).unwrap().is_none());
    }

    #[test]
    fn delete_own_keys_only() {
        let db = setup();
        insert_user(&db, "b", Some("ops"));
        let created = create(&db, "a", &ops(), &req(&[], None), NOW).unwrap();
        assert_eq!(delete(&db, &created.key.id, "b").unwrap_err().status(), 404);
        delete(&db, &created.key.id, "a").unwrap();
        assert_eq!(delete(&db, &created.key.id, "a").unwrap_err().status(), 404);
        assert!(authenticate(&db, &created.token, NOW).unwrap().is_none());
    }
}
