//! AES-256-GCM for small secrets at rest (the TOTP secret), keyed by the deployment's
//! `encryption_key` (64 hex characters).
//!
//! Format: `v1:` + base64 (standard, padded) of `nonce (12 bytes) || ciphertext || tag`. Each
//! encryption draws a random 96-bit nonce. A `context` string (e.g. `TwoFactor.secret:<userId>`)
//! is bound as associated data, so a ciphertext copied to another row or purpose fails to
//! decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::{IdentityError, Result};
use crate::sql::random_bytes;

const VERSION_PREFIX: &str = dbackup_core::sealed::ENVELOPE_PREFIX;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// An AES-256-GCM key for secrets at rest.
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// The key from `encryption_key`: exactly 64 hex characters (32 bytes), else a
    /// [`IdentityError::Config`] that says so (without echoing the value).
    pub fn from_hex_key(hex_key: &str) -> Result<Self> {
        let hex_key = hex_key.trim();
        if hex_key.len() != 64 {
            return Err(IdentityError::Config(format!(
                "encryption_key must be 64 hex characters (32 bytes), got {} characters",
                hex_key.len()
            )));
        }
        let bytes = hex::decode(hex_key).map_err(|_| {
            IdentityError::Config("encryption_key must contain only hex characters".to_owned())
        })?;
        Ok(SecretBox {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
        })
    }

    /// Encrypts `plaintext` bound to `context`; returns `v1:<base64>`.
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_BYTES];
        random_bytes(&mut nonce)?;
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| IdentityError::Internal("encryption failed".to_owned()))?;
        let mut blob = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        Ok(format!("{VERSION_PREFIX}{}", STANDARD.encode(blob)))
    }

    /// Decrypts a value made by [`SecretBox::encrypt`] with the same key and `context`. A wrong
    /// key, context, format or any tampering is an error, never a panic.
    pub fn decrypt(&self, sealed: &str, context: &str) -> Result<Vec<u8>> {
        let bad = |why: &str| IdentityError::Internal(format!("cannot decrypt secret: {why}"));
        let b64 = sealed
            .strip_prefix(VERSION_PREFIX)
            .ok_or_else(|| bad("unknown format"))?;
        let blob = STANDARD.decode(b64).map_err(|_| bad("not base64"))?;
        if blob.len() < NONCE_BYTES + TAG_BYTES {
            return Err(bad("too short"));
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| bad("wrong key or corrupted data"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn round_trips_with_fresh_nonces() {
        let b = SecretBox::from_hex_key(KEY).unwrap();
        let a1 = b.encrypt(b"totp secret", "ctx").unwrap();
        let a2 = b.encrypt(b"totp secret", "ctx").unwrap();
        assert!(a1.starts_with("v1:"));
        assert_ne!(a1, a2);
        assert_eq!(b.decrypt(&a1, "ctx").unwrap(), b"totp secret");
        assert_eq!(b.decrypt(&a2, "ctx").unwrap(), b"totp secret");
        assert!(!a1.contains("totp"));
        let empty = b.encrypt(b"", "ctx").unwrap();
        assert_eq!(b.decrypt(&empty, "ctx").unwrap(), b"");
    }

    #[test]
    fn wrong_key_context_or_tampering_is_an_error() {
        let b = SecretBox::from_hex_key(KEY).unwrap();
        let other = SecretBox::from_hex_key(&KEY.replace("00", "ff")).unwrap();
        let sealed = b.encrypt(b"secret", "TwoFactor.secret:u1").unwrap();
        assert!(other.decrypt(&sealed, "TwoFactor.secret:u1").is_err());
        assert!(b.decrypt(&sealed, "TwoFactor.secret:u2").is_err());
        let mut raw = STANDARD.decode(&sealed[3..]).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = format!("v1:{}", STANDARD.encode(&raw));
        assert!(b.decrypt(&tampered, "TwoFactor.secret:u1").is_err());
        for garbage in ["", "v1:", "v1:!!!", "v2:AAAA", "v1:AAAA", "plain"] {
            assert!(
                b.decrypt(garbage, "TwoFactor.secret:u1").is_err(),
                "{garbage}"
            );
        }
    }

    #[test]
    fn key_must_be_64_hex_characters() {
        for bad in [
            "",
            "abcd",
            &KEY[..63],
            &format!("{KEY}00"),
            &KEY.replace('a', "g"),
        ] {
            let err = SecretBox::from_hex_key(bad).unwrap_err();
            assert!(matches!(err, IdentityError::Config(_)), "{bad}: {err:?}");
            assert!(err.to_string().contains("encryption_key"));
        }
        assert!(SecretBox::from_hex_key(&KEY.to_uppercase()).is_ok());
        assert!(format!("{:?}", SecretBox::from_hex_key(KEY).unwrap()).contains(".."));
    }
}
