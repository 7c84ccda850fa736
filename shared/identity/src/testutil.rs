//! Test support: the identity fixtures over the shared [`TestDb`] (a migrated native SQLite).

use std::sync::OnceLock;

use dbackup_core::db::Db;
pub use dbackup_core::native_sqlite::TestDb;

use crate::permissions::{self, Permission, PermissionSet, SUPER_ADMIN_GROUP};
use crate::time::Timestamp;

pub const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
pub const SECRET: &str = "test-session-secret-0123456789abcdef";
pub const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
pub const PASSWORD: &str = "correct horse battery";

/// The hash of [`PASSWORD`], computed once (argon2 is slow in debug builds).
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| crate::password::hash(PASSWORD).unwrap())
}

/// Inserts a group directly.
pub fn insert_group(db: &TestDb, id: &str, name: &str, perms: &[Permission]) {
    let set: PermissionSet = perms.iter().copied().collect();
    db.execute(
        r#"INSERT INTO "Group" (id, name, permissions, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)"#,
        &[
            id.into(),
            name.into(),
            permissions::to_json(&set).into(),
            NOW.iso().into(),
            NOW.iso().into(),
        ],
    )
    .unwrap();
}

/// Inserts the SuperAdmin group `sa`.
pub fn insert_super_admin_group(db: &TestDb) {
    insert_group(db, "sa", SUPER_ADMIN_GROUP, Permission::ALL);
}

/// Inserts a user with password [`PASSWORD`] (cached hash), `email` = `<id>@example.com`.
pub fn insert_user(db: &TestDb, id: &str, group: Option<&str>) {
    db.execute(
        r#"INSERT INTO "User" (id, name, email, emailVerified, createdAt, updatedAt, groupId)
           VALUES (?, ?, ?, 0, ?, ?, ?)"#,
        &[
            id.into(),
            format!("User {id}").into(),
            format!("{id}@example.com").into(),
            NOW.iso().into(),
            NOW.iso().into(),
            group.into(),
        ],
    )
    .unwrap();
    db.execute(
        r#"INSERT INTO "Account" (id, accountId, providerId, userId, password, createdAt, updatedAt)
           VALUES (?, ?, 'credential', ?, ?, ?, ?)"#,
        &[
            format!("acc-{id}").into(),
            id.into(),
            id.into(),
            password_hash().into(),
            NOW.iso().into(),
            NOW.iso().into(),
        ],
    )
    .unwrap();
}

/// Enrolls and activates TOTP for `user_id` at [`NOW`]; returns the raw secret and the
/// backup codes.
pub fn enable_two_factor(
    db: &TestDb,
    sbox: &crate::secretbox::SecretBox,
    user_id: &str,
) -> (Vec<u8>, Vec<String>) {
    use crate::{totp, two_factor};
    let e = two_factor::enroll(db, sbox, user_id, PASSWORD, NOW).unwrap();
    let secret = totp_rs::Secret::Encoded(e.secret).to_bytes().unwrap();
    let code = totp::code_at_step(&secret, totp::step_at(NOW)).unwrap();
    let codes = two_factor::activate(db, sbox, user_id, &code, NOW).unwrap();
    (secret, codes)
}

/// A unique temporary file path.
pub fn temp_db_path(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "dbackup-identity-{tag}-{}-{}.db",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ))
}
