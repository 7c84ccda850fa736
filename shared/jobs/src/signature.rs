//! The worker's callback signature (docs/WORKER.md): `X-Dbackup-Signature: v1=<hex
//! HMAC-SHA256(key, timestamp + "." + body)>` with `X-Dbackup-Timestamp: <unix seconds>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a callback's timestamp may be from our clock.
pub const MAX_SKEW_SECS: i64 = 300;

/// The `v1=` signature of `body` at `timestamp`.
pub fn sign(key: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a callback: the timestamp within [`MAX_SKEW_SECS`] of `now_secs` and the signature
/// (constant-time). The error says which check failed (for the log; clients get a plain 401).
pub fn verify(
    key: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), &'static str> {
    let timestamp = timestamp.ok_or("missing X-Dbackup-Timestamp")?;
    let signature = signature.ok_or("missing X-Dbackup-Signature")?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| "X-Dbackup-Timestamp is not a number")?;
    if (now_secs - ts).abs() > MAX_SKEW_SECS {
        return Err("X-Dbackup-Timestamp is too far from now");
    }
    let expected = sign(key, timestamp.trim(), body);
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes())) {
        return Err("signature mismatch");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_and_rejects() {
        let key = [7u8; 32];
        let body = br#"{"seq":1}"#;
        let sig = sign(&key, "1800000000", body);
        assert!(sig.starts_with("v1="));
        assert_eq!(
            verify(&key, Some("1800000000"), Some(&sig), body, 1_800_000_010),
            Ok(())
        );
        assert!(verify(&key, Some("1800000000"), Some(&sig), b"{}", 1_800_000_010).is_err());
        assert!(verify(
            &[8u8; 32],
            Some("1800000000"),
            Some(&sig),
            body,
            1_800_000_010
        )
        .is_err());
        assert_eq!(
            verify(&key, Some("1800000000"), Some(&sig), body, 1_800_001_000),
            Err("X-Dbackup-Timestamp is too far from now")
        );
        assert!(verify(&key, None, Some(&sig), body, 1_800_000_000).is_err());
        assert!(verify(&key, Some("1800000000"), None, body, 1_800_000_000).is_err());
        assert!(verify(&key, Some("x"), Some(&sig), body, 1_800_000_000).is_err());
    }
}
