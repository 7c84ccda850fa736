//! Backup-key fingerprints, derived exactly as the worker's container format does
//! (`worker/src/format`: `BackupKey::fingerprint_hex`), so a profile's fingerprint matches the
//! one written into every backup header. A test in the worker crate checks they agree.

use sha2::{Digest, Sha256};

/// Domain separator of the derivation (the worker's `FINGERPRINT_DOMAIN`).
const DOMAIN: &[u8] = b"dbackup key fingerprint v1\0";

/// `hex(SHA-256("dbackup key fingerprint v1\0" ‖ key)[..8])`: 16 lowercase hex characters.
pub fn fingerprint_hex(key: &[u8; 32]) -> String {
    let digest = Sha256::new()
        .chain_update(DOMAIN)
        .chain_update(key)
        .finalize();
    hex::encode(&digest[..8])
}

/// Domain separator of a write-only profile's fingerprint (the worker's
/// `PUBLIC_FINGERPRINT_DOMAIN`).
const PUBLIC_DOMAIN: &[u8] = b"dbackup public key fingerprint v1\0";

/// `hex(SHA-256("dbackup public key fingerprint v1\0" ‖ public key)[..8])`: the fingerprint of a
/// write-only profile's X25519 public key, as written into its version 2 backup headers.
pub fn public_fingerprint_hex(public: &[u8; 32]) -> String {
    let digest = Sha256::new()
        .chain_update(PUBLIC_DOMAIN)
        .chain_update(public)
        .finalize();
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // Same vector as the worker's format tests use for the all-0x42 key.
        let fp = fingerprint_hex(&[0x42; 32]);
        assert_eq!(fp.len(), 16);
        let digest = Sha256::digest([DOMAIN, &[0x42u8; 32][..]].concat());
        assert_eq!(fp, hex::encode(&digest[..8]));
    }
}
