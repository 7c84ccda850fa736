//! `User` and its password (`Account` row with providerId `credential`): create, read, update,
//! delete, profile, password change. Emails are stored lowercased. The SuperAdmin group keeps
//! at least one member, and nobody deletes their own account.

use dbackup_core::db::Db;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{IdentityError, Result};
use crate::groups;
use crate::input;
use crate::password;
use crate::permissions::{self, Permission, PermissionSet, SUPER_ADMIN_GROUP};
use crate::sessions;
use crate::sql::{self, Row};
use crate::time::Timestamp;

/// The `Account.providerId` of password logins.
pub const CREDENTIAL_PROVIDER: &str = "credential";
/// Longest user name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest email address, in bytes (RFC 5321).
pub const MAX_EMAIL_LEN: usize = 254;

/// The group a user belongs to, as shown with the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupRef {
    pub id: String,
    pub name: String,
}

/// A user as the API shows it (never any secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub timezone: String,
    pub date_format: String,
    pub time_format: String,
    pub two_factor_enabled: bool,
    pub group_id: Option<String>,
    pub group: Option<GroupRef>,
    pub created_at: String,
    pub updated_at: String,
}

impl User {
    /// Whether the user is a member of SuperAdmin.
    pub fn is_super_admin(&self) -> bool {
        self.group
            .as_ref()
            .is_some_and(|g| g.name == SUPER_ADMIN_GROUP)
    }
}

/// Body of `POST /api/users` (and, without `groupId`, of sign-up).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub group_id: Option<String>,
}

/// Body of `PATCH /api/users/{id}`: absent fields stay; `"groupId": null` removes the group.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserUpdate {
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub group_id: Option<Option<String>>,
    pub timezone: Option<String>,
    pub date_format: Option<String>,
    pub time_format: Option<String>,
}

/// Body of `PATCH /api/profile`: a user's own name, email and display preferences.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
    pub date_format: Option<String>,
    pub time_format: Option<String>,
}

/// Body of `POST /api/profile/password`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Distinguishes an explicit `null` (Some(None)) from an absent field (None).
fn present<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Trims and lowercases an email and checks its shape (`local@domain.tld`, no spaces, quotes,
/// angle brackets or colons).
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let invalid = || IdentityError::invalid_field("email", "invalid email address");
    if email.len() > MAX_EMAIL_LEN {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "\"<>()[],;:\\@".contains(c);
    if local.is_empty() || local.len() > 64 || local.chars().any(bad_char) {
        return Err(invalid());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
    {
        return Err(invalid());
    }
    Ok(email)
}

fn validate_name(name: &str) -> Result<String> {
    input::short_text("name", name, MAX_NAME_CHARS)
}

/// A display preference: 1–64 printable characters.
fn validate_pref(field: &str, value: &str) -> Result<String> {
    input::short_text(field, value, 64)
}

fn validate_timezone(value: &str) -> Result<String> {
    let v = validate_pref("timezone", value)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
    {
        return Err(IdentityError::invalid_field(
            "timezone",
            "timezone must be an IANA name such as Europe/Berlin",
        ));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

const SELECT: &str = r#"SELECT u.id, u.name, u.email, u.emailVerified, u.image, u.timezone,
    u.dateFormat, u.timeFormat, u.twoFactorEnabled, u.groupId, g.name AS groupName,
    u.createdAt, u.updatedAt
    FROM "User" u LEFT JOIN "Group" g ON g.id = u.groupId"#;

fn from_row(r: &Row<'_>) -> Result<User> {
    let group_id = r.opt_text("groupId")?;
    let group = match (&group_id, r.opt_text("groupName")?) {
        (Some(id), Some(name)) => Some(GroupRef {
            id: id.clone(),
            name,
        }),
        _ => None,
    };
    Ok(User {
        id: r.text("id")?,
        name: r.text("name")?,
        email: r.text("email")?,
        email_verified: r.flag("emailVerified")?,
        image: r.opt_text("image")?,
        timezone: r.text("timezone")?,
        date_format: r.text("dateFormat")?,
        time_format: r.text("timeFormat")?,
        two_factor_enabled: r.flag("twoFactorEnabled")?,
        group_id,
        group,
        created_at: r.text("createdAt")?,
        updated_at: r.text("updatedAt")?,
    })
}

/// Every user, by name then email.
pub fn list(db: &dyn Db) -> Result<Vec<User>> {
    sql::all(
        db,
        &format!("{SELECT} ORDER BY u.name, u.email"),
        &[],
        from_row,
    )
}

/// One user, or 404.
pub fn get(db: &dyn Db, id: &str) -> Result<User> {
    find(db, id)?.ok_or(IdentityError::NotFound("user"))
}

/// One user, if it exists.
pub fn find(db: &dyn Db, id: &str) -> Result<Option<User>> {
    sql::first(
        db,
        &format!("{SELECT} WHERE u.id = ?"),
        &[id.into()],
        from_row,
    )
}

/// The user with this email (matched lowercased), if any.
pub fn find_by_email(db: &dyn Db, email: &str) -> Result<Option<User>> {
    sql::first(
        db,
        &format!("{SELECT} WHERE u.email = ?"),
        &[email.trim().to_lowercase().into()],
        from_row,
    )
}

/// Number of users.
pub fn count(db: &dyn Db) -> Result<i64> {
    sql::scalar_i64(db, r#"SELECT COUNT(*) FROM "User""#, &[])
}

fn email_taken(db: &dyn Db, email: &str, except_id: Option<&str>) -> Result<bool> {
    Ok(sql::scalar_i64(
        db,
        r#"SELECT COUNT(*) FROM "User" WHERE email = ? AND id IS NOT ?"#,
        &[email.into(), except_id.into()],
    )? > 0)
}

fn email_conflict() -> IdentityError {
    IdentityError::Conflict("email address already in use".to_owned())
}

// ---------------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------------

/// A validated new user with its password already hashed (hashing happens outside any
/// transaction: it takes a while). A config restore brings the hash from its backup, or none
/// (the user then resets it or signs in with SSO).
pub struct PreparedUser {
    pub name: String,
    pub email: String,
    pub password_hash: Option<String>,
}

/// Validates name, email and password and hashes the password.
pub(crate) fn prepare(new: &NewUser) -> Result<PreparedUser> {
    let name = validate_name(&new.name)?;
    let email = normalize_email(&new.email)?;
    password::validate(&new.password)?;
    Ok(PreparedUser {
        name,
        email,
        password_hash: Some(password::hash(&new.password)?),
    })
}

/// Inserts the `User` and its credential `Account`; returns the new id. 409 for a taken email.
/// No transaction of its own: call inside one (`POST /api/users`, setup, the config restore).
pub fn insert(
    db: &dyn Db,
    user: &PreparedUser,
    group_id: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    if email_taken(db, &user.email, None)? {
        return Err(email_conflict());
    }
    let id = sql::new_id()?;
    let inserted = sql::exec(
        db,
        r#"INSERT INTO "User" (id, name, email, emailVerified, twoFactorEnabled, createdAt,
           updatedAt, groupId) VALUES (?, ?, ?, 0, 0, ?, ?, ?)"#,
        &[
            id.as_str().into(),
            user.name.as_str().into(),
            user.email.as_str().into(),
            now.iso().into(),
            now.iso().into(),
            group_id.into(),
        ],
    );
    match inserted {
        Err(e) if sql::is_unique_violation(&e) => return Err(email_conflict()),
        other => other?,
    }
    if let Some(hash) = &user.password_hash {
        set_password_hash(db, &id, hash, now)?;
    }
    Ok(id)
}

/// Sets what a config restore carries over that no API sets: whether the email was verified
/// and the avatar URL, as the backed-up install had them. No transaction of its own.
pub fn set_restored_details(
    db: &dyn Db,
    id: &str,
    email_verified: bool,
    image: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    sql::exec(
        db,
        r#"UPDATE "User" SET emailVerified = ?, image = ?, updatedAt = ? WHERE id = ?"#,
        &[
            i64::from(email_verified).into(),
            image.into(),
            now.iso().into(),
            id.into(),
        ],
    )
}

/// The permissions group `group_id` grants (none for no group); 400 for an unknown group.
fn group_permissions(db: &dyn Db, group_id: Option<&str>) -> Result<PermissionSet> {
    match group_id {
        None => Ok(PermissionSet::new()),
        Some(g) => groups::grant(db, g)?
            .map(|grant| grant.permissions)
            .ok_or_else(|| IdentityError::invalid_field("groupId", "unknown group")),
    }
}

/// 403 unless the actor holds every permission `user` holds: nobody manages (edits, deletes,
/// resets) a more powerful user, so only SuperAdmins manage SuperAdmins.
pub fn ensure_manageable(db: &dyn Db, actor_holds: &PermissionSet, user: &User) -> Result<()> {
    let target = match user.group_id.as_deref() {
        Some(g) => groups::grant(db, g)?
            .map(|g| g.permissions)
            .unwrap_or_default(),
        None => PermissionSet::new(),
    };
    permissions::ensure_held(&target, actor_holds)
}

/// 403 unless the actor holds every permission group `group_id` grants (400 for an unknown
/// group): nobody puts a user into a group stronger than themselves.
pub fn ensure_may_assign(
    db: &dyn Db,
    actor_holds: &PermissionSet,
    group_id: Option<&str>,
) -> Result<()> {
    permissions::ensure_held(&group_permissions(db, group_id)?, actor_holds)
}

/// Whether an actor holding `actor_holds` may move `current` into `new_group` (`None`: no
/// group): [`ensure_may_assign`], and 409 when the last SuperAdmin would leave the group.
/// `PATCH /api/users/{id}` and the config restore decide with this.
pub fn ensure_group_change(
    db: &dyn Db,
    actor_holds: &PermissionSet,
    current: &User,
    new_group: Option<&str>,
) -> Result<()> {
    ensure_may_assign(db, actor_holds, new_group)?;
    let leaves = current.group_id.as_deref() != new_group;
    if leaves && current.is_super_admin() && super_admin_members(db)? <= 1 {
        return Err(last_super_admin_conflict());
    }
    Ok(())
}

/// Creates a user (admin action) on behalf of an actor holding `actor_holds`. 400 invalid input
/// or unknown group, 403 for a group granting permissions the actor lacks, 409 email taken.
pub fn create(
    db: &dyn Db,
    actor_holds: &PermissionSet,
    new: &NewUser,
    now: Timestamp,
) -> Result<User> {
    let group_id = new.group_id.as_deref().filter(|g| !g.is_empty());
    ensure_may_assign(db, actor_holds, group_id)?;
    let prepared = prepare(new)?;
    let id = sql::transaction(db, || {
        // Re-checked under the lock: the group may have gone meanwhile.
        group_permissions(db, group_id)?;
        insert(db, &prepared, group_id, now)
    })?;
    get(db, &id)
}

// ---------------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------------

struct Changes {
    name: Option<String>,
    email: Option<String>,
    group_id: Option<Option<String>>,
    timezone: Option<String>,
    date_format: Option<String>,
    time_format: Option<String>,
}

fn validate_update(upd: &UserUpdate) -> Result<Changes> {
    Ok(Changes {
        name: upd.name.as_deref().map(validate_name).transpose()?,
        email: upd.email.as_deref().map(normalize_email).transpose()?,
        group_id: upd.group_id.clone().map(|g| g.filter(|g| !g.is_empty())),
        timezone: upd.timezone.as_deref().map(validate_timezone).transpose()?,
        date_format: upd
            .date_format
            .as_deref()
            .map(|v| validate_pref("dateFormat", v))
            .transpose()?,
        time_format: upd
            .time_format
            .as_deref()
            .map(|v| validate_pref("timeFormat", v))
            .transpose()?,
    })
}

/// `upd` with every given field checked and normalized as `PATCH /api/users/{id}` does
/// (trimmed, email lowercased); 400 naming the bad field. The config restore checks imported
/// users with it.
pub fn validated(upd: &UserUpdate) -> Result<UserUpdate> {
    let c = validate_update(upd)?;
    Ok(UserUpdate {
        name: c.name,
        email: c.email,
        group_id: c.group_id,
        timezone: c.timezone,
        date_format: c.date_format,
        time_format: c.time_format,
    })
}

fn last_super_admin_conflict() -> IdentityError {
    IdentityError::Conflict(format!(
        "the {SUPER_ADMIN_GROUP} group must keep at least one member"
    ))
}

fn super_admin_members(db: &dyn Db) -> Result<i64> {
    sql::scalar_i64(
        db,
        r#"SELECT COUNT(*) FROM "User" u JOIN "Group" g ON g.id = u.groupId WHERE g.name = ?"#,
        &[SUPER_ADMIN_GROUP.into()],
    )
}

/// Applies validated changes; `actor_holds` is `None` for one's own profile (no group change).
fn apply(
    db: &dyn Db,
    actor_holds: Option<&PermissionSet>,
    id: &str,
    c: &Changes,
    now: Timestamp,
) -> Result<User> {
    sql::transaction(db, || write_changes(db, actor_holds, id, c, now))?;
    get(db, id)
}

/// [`update`] inside the caller's transaction (the config restore's): the same checks and write.
pub fn update_in_transaction(
    db: &dyn Db,
    actor_holds: &PermissionSet,
    id: &str,
    upd: &UserUpdate,
    now: Timestamp,
) -> Result<()> {
    write_changes(db, Some(actor_holds), id, &validate_update(upd)?, now)
}

/// The checks and the write of [`apply`], without a transaction of its own.
fn write_changes(
    db: &dyn Db,
    actor_holds: Option<&PermissionSet>,
    id: &str,
    c: &Changes,
    now: Timestamp,
) -> Result<()> {
    let current = get(db, id)?;
    if let Some(actor) = actor_holds {
        ensure_manageable(db, actor, &current)?;
    }
    if let Some(new_group) = &c.group_id {
        match actor_holds {
            Some(actor) => ensure_group_change(db, actor, &current, new_group.as_deref())?,
            None => return Err(IdentityError::Forbidden("cannot change own group".into())),
        }
    }
    if let Some(email) = &c.email {
        if email_taken(db, email, Some(id))? {
            return Err(email_conflict());
        }
    }
    let (set_group, group) = match &c.group_id {
        Some(g) => (1, g.clone()),
        None => (0, None),
    };
    let updated = sql::exec(
        db,
        r#"UPDATE "User" SET name = COALESCE(?, name), email = COALESCE(?, email),
               groupId = CASE WHEN ? = 1 THEN ? ELSE groupId END,
               timezone = COALESCE(?, timezone), dateFormat = COALESCE(?, dateFormat),
               timeFormat = COALESCE(?, timeFormat), updatedAt = ? WHERE id = ?"#,
        &[
            c.name.clone().into(),
            c.email.clone().into(),
            (set_group as i64).into(),
            group.into(),
            c.timezone.clone().into(),
            c.date_format.clone().into(),
            c.time_format.clone().into(),
            now.iso().into(),
            id.into(),
        ],
    );
    match updated {
        Err(e) if sql::is_unique_violation(&e) => Err(email_conflict()),
        other => other,
    }
}

/// Updates a user (admin action) on behalf of an actor holding `actor_holds`. 404 unknown,
/// 400 invalid input or unknown group, 403 if the user or the new group holds permissions the
/// actor lacks, 409 email taken or the last SuperAdmin leaving the group.
pub fn update(
    db: &dyn Db,
    actor_holds: &PermissionSet,
    id: &str,
    upd: &UserUpdate,
    now: Timestamp,
) -> Result<User> {
    let changes = validate_update(upd)?;
    apply(db, Some(actor_holds), id, &changes, now)
}

/// Updates the caller's own profile. Changing `name` needs profile:update_name and `email`
/// profile:update_email (403 otherwise, checked before the values are validated); display
/// preferences need no permission.
pub fn update_profile(
    db: &dyn Db,
    user_id: &str,
    held: &PermissionSet,
    upd: &ProfileUpdate,
    now: Timestamp,
) -> Result<User> {
    for (present, needed) in [
        (upd.name.is_some(), Permission::ProfileUpdateName),
        (upd.email.is_some(), Permission::ProfileUpdateEmail),
    ] {
        if present && !held.contains(&needed) {
            return Err(IdentityError::Forbidden(format!(
                "missing permission {needed}"
            )));
        }
    }
    let changes = validate_update(&UserUpdate {
        name: upd.name.clone(),
        email: upd.email.clone(),
        group_id: None,
        timezone: upd.timezone.clone(),
        date_format: upd.date_format.clone(),
        time_format: upd.time_format.clone(),
    })?;
    apply(db, None, user_id, &changes, now)
}

// ---------------------------------------------------------------------------------------------
// Delete, 2FA reset
// ---------------------------------------------------------------------------------------------

/// Deletes user `id` on behalf of `actor_id`, who holds `actor_holds`. 409 for oneself or the
/// last SuperAdmin member, 403 for a user holding permissions the actor lacks, 404 unknown.
/// Everything that logs in as the user goes too (also when foreign keys are off).
pub fn delete(db: &dyn Db, actor_id: &str, actor_holds: &PermissionSet, id: &str) -> Result<()> {
    if actor_id == id {
        return Err(IdentityError::Conflict(
            "you cannot delete your own account".to_owned(),
        ));
    }
    sql::transaction(db, || {
        let user = get(db, id)?;
        ensure_manageable(db, actor_holds, &user)?;
        if user.is_super_admin() && super_admin_members(db)? <= 1 {
            return Err(last_super_admin_conflict());
        }
        for table in ["Session", "Account", "ApiKey", "TwoFactor", "Passkey"] {
            sql::exec(
                db,
                &format!(r#"DELETE FROM "{table}" WHERE userId = ?"#),
                &[id.into()],
            )?;
        }
        sql::exec(
            db,
            r#"UPDATE "AuditLog" SET userId = NULL WHERE userId = ?"#,
            &[id.into()],
        )?;
        sql::exec(db, r#"DELETE FROM "User" WHERE id = ?"#, &[id.into()])
    })
}

/// Removes a user's 2FA (admin reset, users:write) on behalf of an actor holding
/// `actor_holds`. 404 unknown user, 403 for a user holding permissions the actor lacks.
pub fn reset_two_factor(
    db: &dyn Db,
    actor_holds: &PermissionSet,
    id: &str,
    now: Timestamp,
) -> Result<User> {
    sql::transaction(db, || {
        let user = get(db, id)?;
        ensure_manageable(db, actor_holds, &user)?;
        sql::exec(
            db,
            r#"DELETE FROM "TwoFactor" WHERE userId = ?"#,
            &[id.into()],
        )?;
        sql::exec(
            db,
            r#"UPDATE "User" SET twoFactorEnabled = 0, updatedAt = ? WHERE id = ?"#,
            &[now.iso().into(), id.into()],
        )
    })?;
    get(db, id)
}

// ---------------------------------------------------------------------------------------------
// Passwords
// ---------------------------------------------------------------------------------------------

/// The stored password hash of a user, if they have a credential account.
pub fn password_hash(db: &dyn Db, user_id: &str) -> Result<Option<String>> {
    Ok(sql::first(
        db,
        r#"SELECT password FROM "Account" WHERE userId = ? AND providerId = ?"#,
        &[user_id.into(), CREDENTIAL_PROVIDER.into()],
        |r| r.opt_text("password"),
    )?
    .flatten())
}

/// Stores a password hash in the user's credential account (creating it if missing). No
/// transaction of its own; the caller revokes sessions where that is due.
pub fn set_password_hash(db: &dyn Db, user_id: &str, hash: &str, now: Timestamp) -> Result<()> {
    let updated = sql::returned_any(
        db,
        r#"UPDATE "Account" SET password = ?, updatedAt = ? WHERE userId = ? AND providerId = ?
           RETURNING id"#,
        &[
            hash.into(),
            now.iso().into(),
            user_id.into(),
            CREDENTIAL_PROVIDER.into(),
        ],
    )?;
    if updated {
        return Ok(());
    }
    sql::exec(
        db,
        r#"INSERT INTO "Account" (id, accountId, providerId, userId, password, createdAt, updatedAt)
           VALUES (?, ?, ?, ?, ?, ?, ?)"#,
        &[
            sql::new_id()?.into(),
            user_id.into(),
            CREDENTIAL_PROVIDER.into(),
            user_id.into(),
            hash.into(),
            now.iso().into(),
            now.iso().into(),
        ],
    )
}

/// Whether `password` is the user's password. A user without one spends the same time and
/// gets `false`.
pub fn check_password(db: &dyn Db, user_id: &str, password: &str) -> Result<bool> {
    Ok(match password_hash(db, user_id)? {
        Some(hash) => password::verify(password, &hash),
        None => {
            password::dummy_verify(password);
            false
        }
    })
}

/// Changes the caller's password: the current one must match (400 otherwise; a re-entry under
/// the lockout, 429 while locked), the new one obeys the length rule; every other session of
/// the user is revoked (`keep_session` stays).
pub fn change_password(
    db: &dyn Db,
    user_id: &str,
    change: &PasswordChange,
    keep_session: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    let current = Some(change.current_password.as_str());
    if !crate::lockout::confirm_password(db, user_id, current, now)? {
        return Err(IdentityError::ReauthFailed("current password is incorrect"));
    }
    password::validate(&change.new_password)?;
    let hash = password::hash(&change.new_password)?;
    sql::transaction(db, || {
        set_password_hash(db, user_id, &hash, now)?;
        sessions::revoke_all_except(db, user_id, keep_session)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions;
    use crate::testutil::{
        insert_group, insert_super_admin_group, insert_user, TestDb, NOW, PASSWORD,
    };

    static ALL: std::sync::LazyLock<PermissionSet> = std::sync::LazyLock::new(permissions::all);

    fn new_user(email: &str, group: Option<&str>) -> NewUser {
        NewUser {
            name: "Ann".into(),
            email: email.into(),
            password: PASSWORD.into(),
            group_id: group.map(Into::into),
        }
    }

    #[test]
    fn emails_are_lowercased_and_validated() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        assert_eq!(
            normalize_email("a.b+c@sub.example.io").unwrap(),
            "a.b+c@sub.example.io"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "ann@@example.com",
            "an n@example.com",
            "ann@exa mple.com",
            "ann@example..com",
            "ann@.example.com",
            "ann@-example.com",
            "a:b@example.com",
            "<ann@example.com>",
            &format!("{}@example.com", "a".repeat(65)),
            &format!("a@{}.com", "b".repeat(250)),
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn create_stores_an_argon2id_credential() {
        let db = TestDb::migrated();
        insert_group(&db, "g1", "Ops", &[]);
        let u = create(&db, &ALL, &new_user("Ann@Example.com", Some("g1")), NOW).unwrap();
        assert_eq!(u.email, "ann@example.com");
        assert_eq!(u.name, "Ann");
        assert_eq!(
            u.group,
            Some(GroupRef {
                id: "g1".into(),
                name: "Ops".into()
            })
        );
        assert!(!u.two_factor_enabled);
        assert_eq!((u.timezone.as_str(), u.date_format.as_str()), ("UTC", "P"));
        let hash = password_hash(&db, &u.id).unwrap().unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(check_password(&db, &u.id, PASSWORD).unwrap());
        assert!(!check_password(&db, &u.id, "wrong password").unwrap());
        assert_eq!(
            db.text(r#"SELECT providerId FROM "Account""#).as_deref(),
            Some("credential")
        );
        // The JSON never carries a hash.
        let json = serde_json::to_string(&u).unwrap();
        assert!(!json.contains("argon2"), "{json}");
        assert_eq!(
            find_by_email(&db, " ANN@example.com").unwrap(),
            Some(u.clone())
        );
        assert_eq!(list(&db).unwrap(), vec![u]);
    }

    #[test]
    fn create_rejects_bad_input_and_duplicates() {
        let db = TestDb::migrated();
        create(&db, &ALL, &new_user("ann@example.com", None), NOW).unwrap();
        let err = create(&db, &ALL, &new_user("ANN@example.com", None), NOW).unwrap_err();
        assert_eq!(err.status(), 409);
        let mut short = new_user("bob@example.com", None);
        short.password = "short".into();
        assert_eq!(create(&db, &ALL, &short, NOW).unwrap_err().status(), 400);
        let mut nameless = new_user("bob@example.com", None);
        nameless.name = "  ".into();
        assert_eq!(create(&db, &ALL, &nameless, NOW).unwrap_err().status(), 400);
        let err = create(&db, &ALL, &new_user("bob@example.com", Some("nope")), NOW).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(count(&db).unwrap(), 1);
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Account""#), 1);
    }

    #[test]
    fn update_fields_group_and_last_superadmin() {
        let db = TestDb::migrated();
        insert_super_admin_group(&db);
        insert_group(&db, "g1", "Ops", &[]);
        insert_user(&db, "a", Some("sa"));
        insert_user(&db, "b", Some("g1"));
        let later = NOW.plus_secs(1);
        let u = update(
            &db,
            &ALL,
            "b",
            &UserUpdate {
                name: Some("Bob".into()),
                timezone: Some("Europe/Berlin".into()),
                ..Default::default()
            },
            later,
        )
        .unwrap();
        assert_eq!(
            (u.name.as_str(), u.timezone.as_str()),
            ("Bob", "Europe/Berlin")
        );
        assert_eq!(u.group_id.as_deref(), Some("g1"));
        assert_eq!(u.updated_at, later.iso());

        let to = |g: Option<&str>| UserUpdate {
            group_id: Some(g.map(Into::into)),
            ..Default::default()
        };
        // The only SuperAdmin cannot leave the group.
        assert_eq!(
            update(&db, &ALL, "a", &to(Some("g1")), later)
                .unwrap_err()
                .status(),
            409
        );
        assert_eq!(
            update(&db, &ALL, "a", &to(None), later)
                .unwrap_err()
                .status(),
            409
        );
        // Re-assigning the same group is not leaving it.
        assert!(update(&db, &ALL, "a", &to(Some("sa")), later).is_ok());
        // With a second SuperAdmin, the first may leave.
        update(&db, &ALL, "b", &to(Some("sa")), later).unwrap();
        assert_eq!(
            update(&db, &ALL, "a", &to(None), later).unwrap().group,
            None
        );
        assert_eq!(
            update(&db, &ALL, "b", &to(Some("zz")), later)
                .unwrap_err()
                .status(),
            400
        );

        let email = |e: &str| UserUpdate {
            email: Some(e.into()),
            ..Default::default()
        };
        assert_eq!(
            update(&db, &ALL, "b", &email("A@example.com"), later)
                .unwrap_err()
                .status(),
            409
        );
        assert_eq!(
            update(&db, &ALL, "b", &email("B2@Example.com"), later)
                .unwrap()
                .email,
            "b2@example.com"
        );
        assert_eq!(
            update(&db, &ALL, "b", &email("nope"), later)
                .unwrap_err()
                .status(),
            400
        );
        let tz = UserUpdate {
            timezone: Some("Europe/Berlin; DROP".into()),
            ..Default::default()
        };
        assert_eq!(
            update(&db, &ALL, "b", &tz, later).unwrap_err().status(),
            400
        );
        assert_eq!(
            update(&db, &ALL, "zz", &UserUpdate::default(), later)
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn group_id_null_and_absent_differ_in_json() {
        let absent: UserUpdate = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(absent.group_id, None);
        let null: UserUpdate = serde_json::from_str(r#"{"groupId":null}"#).unwrap();
        assert_eq!(null.group_id, Some(None));
        let set: UserUpdate = serde_json::from_str(r#"{"groupId":"g1"}"#).unwrap();
        assert_eq!(set.group_id, Some(Some("g1".into())));
    }

    #[test]
    fn profile_fields_need_their_permissions() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let none = PermissionSet::new();
        let upd = ProfileUpdate {
            name: Some("New".into()),
            ..Default::default()
        };
        let err = update_profile(&db, "a", &none, &upd, NOW).unwrap_err();
        assert_eq!(
            err,
            IdentityError::Forbidden("missing permission profile:update_name".into())
        );
        // Permission is checked before the value is validated.
        let invalid = ProfileUpdate {
            email: Some("not an email".into()),
            ..Default::default()
        };
        assert_eq!(
            update_profile(&db, "a", &none, &invalid, NOW)
                .unwrap_err()
                .status(),
            403
        );
        let held: PermissionSet = [Permission::ProfileUpdateName].into();
        assert_eq!(
            update_profile(&db, "a", &held, &upd, NOW).unwrap().name,
            "New"
        );
        assert_eq!(
            update_profile(&db, "a", &held, &invalid, NOW)
                .unwrap_err()
                .status(),
            403
        );
        let prefs = ProfileUpdate {
            date_format: Some("dd.MM.yyyy".into()),
            time_format: Some("HH:mm".into()),
            ..Default::default()
        };
        let u = update_profile(&db, "a", &none, &prefs, NOW).unwrap();
        assert_eq!(
            (u.date_format.as_str(), u.time_format.as_str()),
            ("dd.MM.yyyy", "HH:mm")
        );
        let all = permissions::all();
        let email = ProfileUpdate {
            email: Some("Me@Example.com".into()),
            ..Default::default()
        };
        assert_eq!(
            update_profile(&db, "a", &all, &email, NOW).unwrap().email,
            "me@example.com"
        );
    }

    #[test]
    fn delete_rules() {
        let db = TestDb::migrated();
        insert_super_admin_group(&db);
        insert_user(&db, "a", Some("sa"));
        insert_user(&db, "b", None);
        insert_user(&db, "c", Some("sa"));
        assert_eq!(delete(&db, "a", &ALL, "a").unwrap_err().status(), 409);
        assert_eq!(delete(&db, "a", &ALL, "zz").unwrap_err().status(), 404);
        db.execute(
            r#"INSERT INTO "Session" (id, expiresAt, token, createdAt, updatedAt, userId)
               VALUES ('s1', 'x', 't1', 'x', 'x', 'c')"#,
            &[],
        )
        .unwrap();
        db.execute(
            r#"INSERT INTO "AuditLog" (id, userId, action, resource) VALUES ('l1', 'c', 'LOGIN', 'USER')"#,
            &[],
        )
        .unwrap();
        delete(&db, "a", &ALL, "c").unwrap();
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Session""#), 0);
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "Account" WHERE userId = 'c'"#),
            0
        );
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "AuditLog" WHERE userId IS NULL"#),
            1
        );
        // a is now the last SuperAdmin: b (with users:write) cannot delete them.
        assert_eq!(delete(&db, "b", &ALL, "a").unwrap_err().status(), 409);
        delete(&db, "a", &ALL, "b").unwrap();
        assert_eq!(count(&db).unwrap(), 1);
    }

    #[test]
    fn change_password_revokes_other_sessions() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        for (id, token) in [("s1", "t1"), ("s2", "t2"), ("s3", "t3")] {
            db.execute(
                r#"INSERT INTO "Session" (id, expiresAt, token, createdAt, updatedAt, userId)
                   VALUES (?, 'x', ?, 'x', 'x', 'a')"#,
                &[id.into(), token.into()],
            )
            .unwrap();
        }
        let wrong = PasswordChange {
            current_password: "not it at all".into(),
            new_password: "a brand new password".into(),
        };
        assert_eq!(
            change_password(&db, "a", &wrong, Some("s1"), NOW).unwrap_err(),
            IdentityError::ReauthFailed("current password is incorrect")
        );
        let short = PasswordChange {
            current_password: PASSWORD.into(),
            new_password: "short".into(),
        };
        assert_eq!(
            change_password(&db, "a", &short, Some("s1"), NOW)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Session""#), 3);
        let ok = PasswordChange {
            current_password: PASSWORD.into(),
            new_password: "a brand new password".into(),
        };
        change_password(&db, "a", &ok, Some("s1"), NOW).unwrap();
        assert_eq!(
            db.text(r#"SELECT group_concat(id) FROM "Session""#)
                .as_deref(),
            Some("s1")
        );
        assert!(check_password(&db, "a", "a brand new password").unwrap());
        assert!(!check_password(&db, "a", PASSWORD).unwrap());
    }

    #[test]
    fn reset_two_factor_clears_it() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        db.execute(
            r#"INSERT INTO "TwoFactor" (id, secret, backupCodes, userId, verified) VALUES ('t', 's', '[]', 'a', 1)"#,
            &[],
        )
        .unwrap();
        db.execute(r#"UPDATE "User" SET twoFactorEnabled = 1"#, &[])
            .unwrap();
        let u = reset_two_factor(&db, &ALL, "a", NOW).unwrap();
        assert!(!u.two_factor_enabled);
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "TwoFactor""#), 0);
        assert_eq!(
            reset_two_factor(&db, &ALL, "zz", NOW).unwrap_err().status(),
            404
        );
    }

    #[test]
    fn nobody_grants_or_manages_more_than_they_hold() {
        let db = TestDb::migrated();
        insert_super_admin_group(&db);
        insert_group(
            &db,
            "hr",
            "HR",
            &[Permission::UsersRead, Permission::UsersWrite],
        );
        insert_group(&db, "ops", "Ops", &[Permission::JobsRead]);
        insert_user(&db, "root", Some("sa"));
        insert_user(&db, "hr1", Some("hr"));
        insert_user(&db, "op", Some("ops"));
        let hr: PermissionSet = [Permission::UsersRead, Permission::UsersWrite].into();
        let later = NOW.plus_secs(1);
        let to = |g: &str| UserUpdate {
            group_id: Some(Some(g.into())),
            ..Default::default()
        };
        // An HR user cannot promote anyone (or themselves) into a group holding more.
        for (who, group) in [("hr1", "sa"), ("hr1", "ops"), ("op", "sa")] {
            let err = update(&db, &hr, who, &to(group), later).unwrap_err();
            assert_eq!(err.status(), 403, "{who} -> {group}");
        }
        let err = create(&db, &hr, &new_user("x@example.com", Some("sa")), NOW).unwrap_err();
        assert_eq!(err.status(), 403);
        // Nor manage a user who holds more.
        let rename = UserUpdate {
            name: Some("Pwned".into()),
            ..Default::default()
        };
        assert_eq!(
            update(&db, &hr, "root", &rename, later)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(delete(&db, "hr1", &hr, "root").unwrap_err().status(), 403);
        assert_eq!(
            reset_two_factor(&db, &hr, "root", later)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            update(&db, &hr, "op", &rename, later).unwrap_err().status(),
            403
        );
        // Within their own powers, they can.
        assert_eq!(
            update(&db, &hr, "hr1", &to("hr"), later).unwrap().name,
            "User hr1"
        );
        let created = create(&db, &hr, &new_user("y@example.com", Some("hr")), NOW).unwrap();
        delete(&db, "hr1", &hr, &created.id).unwrap();
        // A SuperAdmin can do all of it.
        update(&db, &ALL, "op", &to("sa"), later).unwrap();
        assert_eq!(get(&db, "root").unwrap().name, "User root");
    }
}
