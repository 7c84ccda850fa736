//! Password hashing: argon2id with OWASP's minimum parameters, PHC strings, re-hash detection.
//!
//! m = 19 MiB, t = 2, p = 1 (OWASP Password Storage Cheat Sheet). Inside wasm the default
//! argon2 parameters took ~160 ms per hash; these are cheaper while still meeting OWASP.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{IdentityError, Result};
use crate::sql::random_bytes;

/// Memory cost in KiB.
pub const MEMORY_KIB: u32 = 19_456;
/// Iterations.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;
/// Shortest accepted password, in characters (not bytes).
pub const MIN_CHARS: usize = 8;
/// Longest accepted password, in characters (not bytes).
pub const MAX_CHARS: usize = 128;

/// The hash of a random password that was thrown away, with the current parameters, so that
/// [`dummy_verify`] costs what a real verification costs and never succeeds.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$K5GtLfVgXvNZeiiO2kzLNA$XaWoCiNhG+bhEjbhkw2fHjEmSZFTActWHacbqLLlxuo";

fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| IdentityError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks the length rule: 8–128 characters.
pub fn validate(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        Err(IdentityError::invalid_field(
            "password",
            format!("password must be at least {MIN_CHARS} characters"),
        ))
    } else if n > MAX_CHARS {
        Err(IdentityError::invalid_field(
            "password",
            format!("password must be at most {MAX_CHARS} characters"),
        ))
    } else {
        Ok(())
    }
}

/// Hashes a password with a fresh random salt; returns the PHC string. Does not check length
/// (call [`validate`] first).
pub fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt)?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| IdentityError::Internal(format!("argon2 salt: {e}")))?;
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| IdentityError::Internal(format!("argon2 hash: {e}")))
}

/// Whether `password` matches the PHC string (with the parameters recorded in it). A malformed
/// hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The verifier uses the algorithm and parameters recorded in `phc`, not the defaults.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Whether a stored hash should be replaced on the next successful login: it is not argon2id
/// v19 with the current parameters (or cannot be read).
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    if parsed.algorithm != Algorithm::Argon2id.ident() || parsed.version != Some(0x13) {
        return true;
    }
    match Params::try_from(&parsed) {
        Ok(p) => p.m_cost() != MEMORY_KIB || p.t_cost() != ITERATIONS || p.p_cost() != PARALLELISM,
        Err(_) => true,
    }
}

/// Spends the time of one verification, for logins with an unknown email, so that response
/// time does not reveal which emails exist.
pub fn dummy_verify(password: &str) {
    let _ = verify(password, DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_use_owasp_parameters() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!needs_rehash(&h));
        // Salted: the same password hashes differently.
        assert_ne!(h, hash("correct horse battery").unwrap());
    }

    #[test]
    fn malformed_hashes_never_match() {
        assert!(!verify("x", ""));
        assert!(!verify("x", "plain"));
        assert!(!verify("x", "$argon2id$v=19$m=19456,t=2,p=1$bad"));
    }

    #[test]
    fn other_parameters_need_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let h = weak.hash_password(b"password1", &salt).unwrap().to_string();
        assert!(verify("password1", &h));
        assert!(needs_rehash(&h));
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap(),
        );
        let h = argon2i
            .hash_password(b"password1", &salt)
            .unwrap()
            .to_string();
        assert!(needs_rehash(&h));
        assert!(needs_rehash("garbage"));
    }

    #[test]
    fn dummy_hash_is_current_and_costs_a_real_verification() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!needs_rehash(DUMMY_HASH));
        let start = std::time::Instant::now();
        dummy_verify("whatever-password");
        let dummy = start.elapsed();
        let h = hash("whatever-password").unwrap();
        let start = std::time::Instant::now();
        assert!(!verify("nope-nope", &h));
        let real = start.elapsed();
        // Same parameters, so the same work: allow generous noise on a busy machine.
        assert!(
            dummy * 4 > real && real * 4 > dummy,
            "dummy {dummy:?} real {real:?}"
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(validate("1234567").is_err());
        assert!(validate("12345678").is_ok());
        // 8 characters, 24 bytes.
        assert!(validate("ééééééé€").is_ok());
        assert!(validate(&"€".repeat(128)).is_ok());
        assert!(validate(&"a".repeat(129)).is_err());
        // 7 characters but 21 bytes: too short.
        assert!(validate("€€€€€€€").is_err());
        let e = validate("short").unwrap_err();
        assert_eq!(e.status(), 400);
    }
}
