//! `TwoFactor`: TOTP enrollment, activation, disabling, backup codes, and checking a code at
//! login. The TOTP secret is stored encrypted ([`SecretBox`], bound to the user id); backup
//! codes are stored hashed and each works once. A row with `verified = 0` is a pending
//! enrollment: 2FA is on only once a first code was verified.

use dbackup_core::db::Db;
use serde::{Deserialize, Serialize};

use crate::error::{IdentityError, Result};
use crate::lockout;
use crate::secretbox::SecretBox;
use crate::sql;
use crate::time::Timestamp;
use crate::totp;
use crate::users;

/// Answer of `POST /api/auth/2fa/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    /// Base32 secret for manual entry.
    pub secret: String,
    /// `otpauth://` URI for a QR code.
    pub otpauth_uri: String,
}

/// Answer of `POST /api/auth/2fa/verify` and `POST /api/auth/2fa/backup-codes`: the backup
/// codes, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BackupCodes {
    pub backup_codes: Vec<String>,
}

/// Body of `POST /api/auth/2fa/enroll`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EnrollRequest {
    pub password: String,
}

/// Body of `POST /api/auth/2fa/verify`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VerifyRequest {
    pub code: String,
}

/// Proof of presence for disabling 2FA or regenerating backup codes: the password or a current
/// code (TOTP or backup).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reauth {
    pub password: Option<String>,
    pub code: Option<String>,
}

struct State {
    secret: String,
    backup_codes: String,
    verified: bool,
    last_used_step: Option<i64>,
}

fn context(user_id: &str) -> String {
    dbackup_core::sealed::two_factor_secret(user_id)
}

fn load(db: &dyn Db, user_id: &str) -> Result<Option<State>> {
    sql::first(
        db,
        r#"SELECT secret, backupCodes, verified, lastUsedStep FROM "TwoFactor" WHERE userId = ?"#,
        &[user_id.into()],
        |r| {
            Ok(State {
                secret: r.text("secret")?,
                backup_codes: r.text("backupCodes")?,
                verified: r.flag("verified")?,
                last_used_step: r.opt_int("lastUsedStep")?,
            })
        },
    )
}

fn not_enabled() -> IdentityError {
    IdentityError::Conflict("two-factor authentication is not enabled".to_owned())
}

fn already_enabled() -> IdentityError {
    IdentityError::Conflict("two-factor authentication is already enabled".to_owned())
}

/// Whether the user has active (verified) 2FA.
pub fn is_enabled(db: &dyn Db, user_id: &str) -> Result<bool> {
    Ok(load(db, user_id)?.is_some_and(|s| s.verified))
}

/// Starts (or restarts) enrollment: needs the password (400 if wrong); 409 if 2FA is already on.
/// Returns the secret and otpauth URI; the secret is stored encrypted, pending verification.
pub fn enroll(
    db: &dyn Db,
    sbox: &SecretBox,
    user_id: &str,
    password: &str,
    now: Timestamp,
) -> Result<Enrollment> {
    let user = users::get(db, user_id)?;
    if !lockout::confirm_password(db, user_id, Some(password), now)? {
        return Err(IdentityError::ReauthFailed("password is incorrect"));
    }
    if is_enabled(db, user_id)? {
        return Err(already_enabled());
    }
    let secret = totp::generate_secret()?;
    let sealed = sbox.encrypt(&secret, &context(user_id))?;
    // The WHERE keeps an enrollment that was verified meanwhile.
    let stored = sql::returned_any(
        db,
        r#"INSERT INTO "TwoFactor" (id, secret, backupCodes, userId, verified, lastUsedStep,
           createdAt, updatedAt) VALUES (?, ?, '[]', ?, 0, NULL, ?, ?)
           ON CONFLICT (userId) DO UPDATE SET secret = excluded.secret, backupCodes = '[]',
             lastUsedStep = NULL, updatedAt = excluded.updatedAt
           WHERE "TwoFactor".verified = 0
           RETURNING id"#,
        &[
            sql::new_id()?.into(),
            sealed.into(),
            user_id.into(),
            now.iso().into(),
            now.iso().into(),
        ],
    )?;
    if !stored {
        return Err(already_enabled());
    }
    Ok(Enrollment {
        secret: totp::secret_base32(&secret),
        otpauth_uri: totp::otpauth_uri(&secret, &user.email)?,
    })
}

/// Stores the second factor a config restore carries over for a user it just created: the
/// TOTP `secret` sealed under this install's key, the backup codes as stored there (hashed),
/// and 2FA marked on. No transaction of its own.
pub fn restore(
    db: &dyn Db,
    sbox: &SecretBox,
    user_id: &str,
    secret: &[u8],
    backup_codes: &str,
    verified: bool,
    now: Timestamp,
) -> Result<()> {
    sql::exec(
        db,
        r#"INSERT INTO "TwoFactor" (id, secret, backupCodes, userId, verified, createdAt, updatedAt)
           VALUES (?, ?, ?, ?, ?, ?, ?)"#,
        &[
            sql::new_id()?.into(),
            sbox.encrypt(secret, &context(user_id))?.into(),
            backup_codes.into(),
            user_id.into(),
            i64::from(verified).into(),
            now.iso().into(),
            now.iso().into(),
        ],
    )?;
    sql::exec(
        db,
        r#"UPDATE "User" SET twoFactorEnabled = 1, updatedAt = ? WHERE id = ?"#,
        &[now.iso().into(), user_id.into()],
    )
}

fn new_backup_codes(user_id: &str) -> Result<(Vec<String>, String)> {
    let codes = totp::generate_backup_codes()?;
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| totp::hash_backup_code(user_id, c))
        .collect();
    let json = serde_json::to_string(&hashes)
        .map_err(|e| IdentityError::Internal(format!("backup codes: {e}")))?;
    Ok((codes, json))
}

/// Activates a pending enrollment with a first TOTP code (400 if wrong; 409 if nothing is
/// pending or 2FA is already on). Returns the 10 backup codes, shown once.
pub fn activate(
    db: &dyn Db,
    sbox: &SecretBox,
    user_id: &str,
    code: &str,
    now: Timestamp,
) -> Result<Vec<String>> {
    let state = match load(db, user_id)? {
        None => {
            return Err(IdentityError::Conflict(
                "no pending two-factor enrollment; enroll first".to_owned(),
            ))
        }
        Some(s) if s.verified => return Err(already_enabled()),
        Some(s) => s,
    };
    let secret = sbox.decrypt(&state.secret, &context(user_id))?;
    let Some(step) = totp::verify(&secret, code, now, state.last_used_step)? else {
        return Err(IdentityError::ReauthFailed("invalid code"));
    };
    let (codes, hashes) = new_backup_codes(user_id)?;
    sql::transaction(db, || {
        let activated = sql::returned_any(
            db,
            r#"UPDATE "TwoFactor" SET verified = 1, lastUsedStep = ?, backupCodes = ?, updatedAt = ?
               WHERE userId = ? AND verified = 0 AND secret = ? RETURNING id"#,
            &[
                step.into(),
                hashes.as_str().into(),
                now.iso().into(),
                user_id.into(),
                state.secret.as_str().into(),
            ],
        )?;
        if !activated {
            return Err(IdentityError::Conflict(
                "the enrollment changed meanwhile; enroll again".to_owned(),
            ));
        }
        sql::exec(
            db,
            r#"UPDATE "User" SET twoFactorEnabled = 1, updatedAt = ? WHERE id = ?"#,
            &[now.iso().into(), user_id.into()],
        )
    })?;
    Ok(codes)
}

/// Checks a second-factor code for a user with active 2FA: a TOTP code (each 30-second step
/// once) or an unused backup code (consumed). `false` if wrong, reused, or 2FA is off.
pub fn verify_code(
    db: &dyn Db,
    sbox: &SecretBox,
    user_id: &str,
    code: &str,
    now: Timestamp,
) -> Result<bool> {
    let Some(state) = load(db, user_id)?.filter(|s| s.verified) else {
        return Ok(false);
    };
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == totp::DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
        let secret = sbox.decrypt(&state.secret, &context(user_id))?;
        let Some(step) = totp::verify(&secret, &digits, now, state.last_used_step)? else {
            return Ok(false);
        };
        // Atomic: of two requests with the same code, only one moves lastUsedStep forward.
        return sql::returned_any(
            db,
            r#"UPDATE "TwoFactor" SET lastUsedStep = ?, updatedAt = ?
               WHERE userId = ? AND verified = 1 AND (lastUsedStep IS NULL OR lastUsedStep < ?)
               RETURNING id"#,
            &[step.into(), now.iso().into(), user_id.into(), step.into()],
        );
    }
    consume_backup_code(db, user_id, code, state.backup_codes, now)
}

fn consume_backup_code(
    db: &dyn Db,
    user_id: &str,
    code: &str,
    mut stored_json: String,
    now: Timestamp,
) -> Result<bool> {
    // Compare-and-swap on the whole list, so a code cannot be spent twice concurrently.
    for _ in 0..3 {
        let mut hashes: Vec<String> = serde_json::from_str(&stored_json).unwrap_or_default();
        let Some(i) = totp::find_backup_code(user_id, code, &hashes) else {
            return Ok(false);
        };
        hashes.remove(i);
        let remaining = serde_json::to_string(&hashes)
            .map_err(|e| IdentityError::Internal(format!("backup codes: {e}")))?;
        if sql::returned_any(
            db,
            r#"UPDATE "TwoFactor" SET backupCodes = ?, updatedAt = ?
               WHERE userId = ? AND verified = 1 AND backupCodes = ? RETURNING id"#,
            &[
                remaining.into(),
                now.iso().into(),
                user_id.into(),
                stored_json.as_str().into(),
            ],
        )? {
            return Ok(true);
        }
        match load(db, user_id)?.filter(|s| s.verified) {
            Some(s) => stored_json = s.backup_codes,
            None => return Ok(false),
        }
    }
    Ok(false)
}

/// Number of unused backup codes.
pub fn remaining_backup_codes(db: &dyn Db, user_id: &str) -> Result<usize> {
    Ok(load(db, user_id)?
        .map(|s| {
            serde_json::from_str::<Vec<String>>(&s.backup_codes)
                .map(|v| v.len())
                .unwrap_or(0)
        })
        .unwrap_or(0))
}

/// 409 unless 2FA is on, then 400 unless the proof (password or code) is right; the proof is
/// a re-entry under the lockout ([`lockout::confirm`]: 429 while locked).
fn require_enabled_and_proof(
    db: &dyn Db,
    sbox: &SecretBox,
    user_id: &str,
    proof: &Reauth,
    now: Timestamp,
) -> Result<()> {
    if !is_enabled(db, user_id)? {
        return Err(not_enabled());
    }
    let ok = lockout::confirm(db, user_id, now, || {
        if let Some(p) = proof.password.as_deref().filter(|p| !p.is_empty()) {
            users::check_password(db, user_id, p)
        } else if let Some(c) = proof.code.as_deref().filter(|c| !c.trim().is_empty()) {
            verify_code(db, sbox, user_id, c, now)
        } else {
            Ok(false)
        }
    })?;
    if ok {
        Ok(())
    } else {
        Err(IdentityError::ReauthFailed("password or code is incorrect"))
    }
}

/// Turns 2FA off after proof (password or code; 400 if wrong); 409 if it is not on.
pub fn disable(
    db: &dyn Db,
    sbox: &SecretBox,
    user_id: &str,
    proof: &Reauth,
    now: Timestamp,
) -> Result<()> {
    require_enabled_and_proof(db, sbox, user_id, proof, now)?;
    sql::transaction(db, || {
        sql::exec(
            db,
            r#"DELETE FROM "TwoFactor" WHERE userId = ?"#,
            &[user_id.into()],
        )?;
        sql::exec(
            db,
            r#"UPDATE "User" SET twoFactorEnabled = 0, updatedAt = ? WHERE id = ?"#,
            &[now.iso().into(), user_id.into()],
        )
    })
}

/// Replaces the backup codes after proof (password or code); 409 if 2FA is not on. Returns the
/// new codes, shown once.
pub fn regenerate_backup_codes(
    db: &dyn Db,
    sbox: &SecretBox,
    user_id: &str,
    proof: &Reauth,
    now: Timestamp,
) -> Result<Vec<String>> {
    require_enabled_and_proof(db, sbox, user_id, proof, now)?;
    let (codes, hashes) = new_backup_codes(user_id)?;
    sql::exec(
        db,
        r#"UPDATE "TwoFactor" SET backupCodes = ?, updatedAt = ? WHERE userId = ? AND verified = 1"#,
        &[hashes.into(), now.iso().into(), user_id.into()],
    )?;
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    fn setup() -> (TestDb, SecretBox) {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        (db, SecretBox::from_hex_key(KEY).unwrap())
    }

    fn secret_of(e: &Enrollment) -> Vec<u8> {
        totp_rs::Secret::Encoded(e.secret.clone())
            .to_bytes()
            .unwrap()
    }

    fn enable(db: &TestDb, sbox: &SecretBox) -> (Vec<u8>, Vec<String>) {
        enable_two_factor(db, sbox, "a")
    }

    #[test]
    fn enroll_needs_the_password_and_stores_the_secret_encrypted() {
        let (db, sbox) = setup();
        assert_eq!(
            enroll(&db, &sbox, "a", "wrong password", NOW).unwrap_err(),
            IdentityError::ReauthFailed("password is incorrect")
        );
        let e = enroll(&db, &sbox, "a", PASSWORD, NOW).unwrap();
        assert!(e
            .otpauth_uri
            .starts_with("otpauth://totp/dbackup:a%40example.com?secret="));
        assert!(e.otpauth_uri.contains(&e.secret));
        let stored = db.text(r#"SELECT secret FROM "TwoFactor""#).unwrap();
        assert!(stored.starts_with("v1:") && !stored.contains(&e.secret));
        assert_eq!(
            sbox.decrypt(&stored, "TwoFactor.secret:a").unwrap(),
            secret_of(&e)
        );
        // Pending: not enabled yet, and enrolling again replaces the secret.
        assert!(!is_enabled(&db, "a").unwrap());
        let again = enroll(&db, &sbox, "a", PASSWORD, NOW).unwrap();
        assert_ne!(again.secret, e.secret);
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "TwoFactor""#), 1);
        assert_eq!(
            enroll(&db, &sbox, "zz", PASSWORD, NOW)
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn activate_with_a_code_returns_ten_backup_codes() {
        let (db, sbox) = setup();
        assert_eq!(
            activate(&db, &sbox, "a", "123456", NOW)
                .unwrap_err()
                .status(),
            409
        );
        let e = enroll(&db, &sbox, "a", PASSWORD, NOW).unwrap();
        let secret = secret_of(&e);
        let wrong = totp::code_at_step(&secret, totp::step_at(NOW) + 5).unwrap();
        assert_eq!(
            activate(&db, &sbox, "a", &wrong, NOW).unwrap_err(),
            IdentityError::ReauthFailed("invalid code")
        );
        let code = totp::code_at_step(&secret, totp::step_at(NOW)).unwrap();
        let codes = activate(&db, &sbox, "a", &code, NOW).unwrap();
        assert_eq!(codes.len(), 10);
        assert!(is_enabled(&db, "a").unwrap());
        assert_eq!(db.count(r#"SELECT twoFactorEnabled FROM "User""#), 1);
        assert_eq!(remaining_backup_codes(&db, "a").unwrap(), 10);
        let stored = db.text(r#"SELECT backupCodes FROM "TwoFactor""#).unwrap();
        assert!(codes.iter().all(|c| !stored.contains(c.as_str())));
        assert_eq!(
            enroll(&db, &sbox, "a", PASSWORD, NOW).unwrap_err().status(),
            409
        );
        assert_eq!(
            activate(&db, &sbox, "a", &code, NOW).unwrap_err().status(),
            409
        );
    }

    #[test]
    fn totp_codes_work_once_per_step() {
        let (db, sbox) = setup();
        let (secret, _) = enable(&db, &sbox);
        // The activation code's step is spent.
        let used = totp::code_at_step(&secret, totp::step_at(NOW)).unwrap();
        assert!(!verify_code(&db, &sbox, "a", &used, NOW).unwrap());
        let later = NOW.plus_secs(30);
        let next = totp::code_at_step(&secret, totp::step_at(later)).unwrap();
        assert!(verify_code(&db, &sbox, "a", &next, later).unwrap());
        assert!(!verify_code(&db, &sbox, "a", &next, later).unwrap());
        assert!(!verify_code(&db, &sbox, "a", "000000", later.plus_secs(300)).unwrap());
    }

    #[test]
    fn backup_codes_work_once() {
        let (db, sbox) = setup();
        let (_, codes) = enable(&db, &sbox);
        assert!(verify_code(&db, &sbox, "a", &codes[0], NOW).unwrap());
        assert!(!verify_code(&db, &sbox, "a", &codes[0], NOW).unwrap());
        assert!(verify_code(&db, &sbox, "a", &codes[1].to_uppercase(), NOW).unwrap());
        assert_eq!(remaining_backup_codes(&db, "a").unwrap(), 8);
        assert!(!verify_code(&db, &sbox, "a", "aaaaa-aaaaa", NOW).unwrap());
        assert!(!verify_code(&db, &sbox, "b", &codes[2], NOW).unwrap());
    }

    #[test]
    fn regenerate_and_disable_need_proof() {
        let (db, sbox) = setup();
        assert_eq!(
            disable(&db, &sbox, "a", &Reauth::default(), NOW)
                .unwrap_err()
                .status(),
            409
        );
        let (_, codes) = enable(&db, &sbox);
        let nothing = Reauth::default();
        assert_eq!(
            regenerate_backup_codes(&db, &sbox, "a", &nothing, NOW)
                .unwrap_err()
                .status(),
            400
        );
        let by_code = Reauth {
            password: None,
            code: Some(codes[0].clone()),
        };
        let fresh = regenerate_backup_codes(&db, &sbox, "a", &by_code, NOW).unwrap();
        assert_eq!(fresh.len(), 10);
        // The old codes are gone.
        assert!(!verify_code(&db, &sbox, "a", &codes[1], NOW).unwrap());
        let wrong = Reauth {
            password: Some("wrong password".into()),
            code: None,
        };
        assert_eq!(
            disable(&db, &sbox, "a", &wrong, NOW).unwrap_err().status(),
            400
        );
        let by_password = Reauth {
            password: Some(PASSWORD.into()),
            code: None,
        };
        disable(&db, &sbox, "a", &by_password, NOW).unwrap();
        assert!(!is_enabled(&db, "a").unwrap());
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "TwoFactor""#), 0);
        assert_eq!(db.count(r#"SELECT twoFactorEnabled FROM "User""#), 0);
    }

    #[test]
    fn a_different_key_cannot_read_the_secret() {
        let (db, sbox) = setup();
        let (secret, _) = enable(&db, &sbox);
        let other = SecretBox::from_hex_key(&"ab".repeat(32)).unwrap();
        let later = NOW.plus_secs(60);
        let code = totp::code_at_step(&secret, totp::step_at(later)).unwrap();
        assert!(verify_code(&db, &other, "a", &code, later).is_err());
    }
}
