//! TOTP (RFC 6238 through the `totp-rs` crate) and one-time backup codes.
//!
//! Codes are 6 digits, SHA-1, 30-second steps, accepted one step either side of now. A code is
//! accepted only for a step later than the last accepted one, so each code works once; the
//! caller persists the returned step (`TwoFactor.lastUsedStep`).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::{IdentityError, Result};
use crate::sql::random_bytes;
use crate::time::Timestamp;

/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "dbackup";
/// Digits per code.
pub const DIGITS: usize = 6;
/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Steps accepted either side of the current one (clock drift).
pub const SKEW_STEPS: i64 = 1;
/// Secret length in bytes (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// Backup codes issued at a time.
pub const BACKUP_CODE_COUNT: usize = 10;

/// Unambiguous lowercase alphabet for backup codes (no 0/o, 1/l/i): 32 symbols, 5 bits each.
const BACKUP_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";
/// Symbols per backup-code half; a code is `xxxxx-xxxxx` (50 bits).
const BACKUP_HALF: usize = 5;

fn totp(secret: &[u8], account: &str) -> Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        u64::try_from(STEP_SECS).unwrap_or(30),
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .map_err(|e| IdentityError::Internal(format!("totp: {e}")))
}

/// A new random TOTP secret.
pub fn generate_secret() -> Result<Vec<u8>> {
    let mut secret = vec![0u8; SECRET_BYTES];
    random_bytes(&mut secret)?;
    Ok(secret)
}

/// The secret in base32 (RFC 4648, no padding), as typed into an authenticator app.
pub fn secret_base32(secret: &[u8]) -> String {
    match Secret::Raw(secret.to_vec()).to_encoded() {
        Secret::Encoded(s) => s.trim_end_matches('=').to_owned(),
        Secret::Raw(_) => String::new(),
    }
}

/// The `otpauth://totp/dbackup:<email>?secret=…&issuer=dbackup` URI for QR codes.
pub fn otpauth_uri(secret: &[u8], email: &str) -> Result<String> {
    Ok(totp(secret, email)?.get_url())
}

/// The 30-second step `now` falls in.
pub fn step_at(now: Timestamp) -> i64 {
    now.secs().div_euclid(STEP_SECS)
}

/// The code for `step` (tests and tools; login uses [`verify`]).
pub fn code_at_step(secret: &[u8], step: i64) -> Result<String> {
    let t = u64::try_from(step.saturating_mul(STEP_SECS)).unwrap_or(0);
    Ok(totp(secret, "")?.generate(t))
}

/// Checks a code at `now`: accepted for the current step ± [`SKEW_STEPS`], but only for steps
/// after `last_used_step`. Returns the accepted step, which the caller must persist. Spaces in
/// the code are ignored.
pub fn verify(
    secret: &[u8],
    code: &str,
    now: Timestamp,
    last_used_step: Option<i64>,
) -> Result<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret, "")?;
    let current = step_at(now);
    let mut accepted = None;
    // Every candidate is computed and compared, in constant time, whatever matches.
    for step in current - SKEW_STEPS..=current + SKEW_STEPS {
        let Ok(t) = u64::try_from(step.saturating_mul(STEP_SECS)) else {
            continue;
        };
        let fresh = last_used_step.is_none_or(|last| step > last);
        let matches = bool::from(totp.generate(t).as_bytes().ct_eq(code.as_bytes()));
        if matches && fresh && accepted.is_none() {
            accepted = Some(step);
        }
    }
    Ok(accepted)
}

/// [`BACKUP_CODE_COUNT`] new backup codes, `xxxxx-xxxxx`. Shown once; store
/// [`hash_backup_code`] of each.
pub fn generate_backup_codes() -> Result<Vec<String>> {
    let mut codes = Vec::with_capacity(BACKUP_CODE_COUNT);
    while codes.len() < BACKUP_CODE_COUNT {
        let mut raw = [0u8; 2 * BACKUP_HALF];
        random_bytes(&mut raw)?;
        // 31 usable symbols: take 5 bits and retry the rare 31 (the '-' slot) to stay uniform.
        let symbols: Vec<u8> = raw
            .iter()
            .map(|b| BACKUP_ALPHABET[usize::from(b & 31)])
            .collect();
        if symbols.contains(&b'-') {
            continue;
        }
        let (a, b) = symbols.split_at(BACKUP_HALF);
        let code = format!(
            "{}-{}",
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b)
        );
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// A backup code as typed, normalised: lowercase, without spaces or dashes.
pub fn normalize_backup_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The stored form of a backup code: SHA-256 over the user id and the normalised code, hex.
/// Salting with the user id keeps equal codes of different users apart.
pub fn hash_backup_code(user_id: &str, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"dbackup-backup-code\0");
    h.update(user_id.as_bytes());
    h.update(b"\0");
    h.update(normalize_backup_code(code).as_bytes());
    hex::encode(h.finalize())
}

/// The index of the stored hash `code` matches, comparing every entry in constant time.
pub fn find_backup_code(user_id: &str, code: &str, stored: &[String]) -> Option<usize> {
    let wanted = hash_backup_code(user_id, code);
    let mut found = None;
    for (i, h) in stored.iter().enumerate() {
        let eq = h.len() == wanted.len() && bool::from(h.as_bytes().ct_eq(wanted.as_bytes()));
        if eq && found.is_none() {
            found = Some(i);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B's SHA-1 secret.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn matches_rfc6238_vectors() {
        // T = 59 s → 94287082 (8 digits); the 6-digit code is its last six digits.
        assert_eq!(code_at_step(RFC_SECRET, 59 / 30).unwrap(), "287082");
        assert_eq!(
            code_at_step(RFC_SECRET, 1_111_111_109 / 30).unwrap(),
            "081804"
        );
        assert_eq!(
            code_at_step(RFC_SECRET, 1_234_567_890 / 30).unwrap(),
            "005924"
        );
    }

    #[test]
    fn accepts_one_step_either_side_and_each_step_once() {
        let secret = generate_secret().unwrap();
        let now = Timestamp::from_secs(1_800_000_015);
        let step = step_at(now);
        for s in [step - 1, step, step + 1] {
            let code = code_at_step(&secret, s).unwrap();
            assert_eq!(verify(&secret, &code, now, None).unwrap(), Some(s));
        }
        for s in [step - 2, step + 2] {
            let code = code_at_step(&secret, s).unwrap();
            assert_eq!(verify(&secret, &code, now, None).unwrap(), None);
        }
        let code = code_at_step(&secret, step).unwrap();
        assert_eq!(verify(&secret, &code, now, Some(step)).unwrap(), None);
        // An older step is refused once a newer one was used.
        let older = code_at_step(&secret, step - 1).unwrap();
        assert_eq!(verify(&secret, &older, now, Some(step)).unwrap(), None);
        let newer = code_at_step(&secret, step + 1).unwrap();
        assert_eq!(
            verify(&secret, &newer, now, Some(step)).unwrap(),
            Some(step + 1)
        );
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(verify(&secret, &spaced, now, None).unwrap(), Some(step));
        for bad in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(verify(&secret, bad, now, None).unwrap(), None);
        }
    }

    #[test]
    fn otpauth_uri_names_issuer_and_account() {
        let secret = b"12345678901234567890";
        let uri = otpauth_uri(secret, "ann+2fa@example.com").unwrap();
        assert_eq!(
            uri,
            "otpauth://totp/dbackup:ann%2B2fa%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=dbackup"
        );
        assert_eq!(secret_base32(secret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(generate_secret().unwrap().len(), 20);
    }

    #[test]
    fn backup_codes_are_distinct_and_match_once_hashed() {
        let codes = generate_backup_codes().unwrap();
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 11, "{c}");
            assert_eq!(&c[5..6], "-");
            assert!(c
                .bytes()
                .all(|b| b == b'-' || BACKUP_ALPHABET[..31].contains(&b)));
        }
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);

        let stored: Vec<String> = codes.iter().map(|c| hash_backup_code("u1", c)).collect();
        assert_eq!(find_backup_code("u1", &codes[3], &stored), Some(3));
        let typed = format!(" {} ", codes[7].to_uppercase().replace('-', " "));
        assert_eq!(find_backup_code("u1", &typed, &stored), Some(7));
        assert_eq!(find_backup_code("u2", &codes[3], &stored), None);
        assert_eq!(find_backup_code("u1", "aaaaa-aaaaa", &stored), None);
        assert_eq!(find_backup_code("u1", "", &stored), None);
    }
}
