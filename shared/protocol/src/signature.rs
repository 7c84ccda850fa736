//! The callback signature (docs/WORKER.md, "Callback events"): every event carries
//! `X-Dbackup-Timestamp: <unix seconds>` and `X-Dbackup-Signature: v1=<hex HMAC-SHA256(key,
//! timestamp + "." + body)>` over the raw body bytes. The worker signs, the components verify.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the unix timestamp (seconds) that is part of the signed text.
pub const TIMESTAMP_HEADER: &str = "x-dbackup-timestamp";
/// Header carrying `v1=<hex HMAC-SHA256(key, timestamp "." body)>`.
pub const SIGNATURE_HEADER: &str = "x-dbackup-signature";
/// How far a callback's timestamp may be from the receiver's clock (seconds).
pub const MAX_SKEW_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `v1=` signature of `body` sent at `timestamp`.
pub fn sign(key: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(mac(key, timestamp, body).finalize().into_bytes())
    )
}

/// Checks a callback: both headers present, the timestamp within [`MAX_SKEW_SECS`] of
/// `now_secs`, and the signature (lowercase hex, compared in constant time). The error says
/// which check failed, for the receiver's log; clients get a plain 401.
pub fn verify(
    key: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), &'static str> {
    let timestamp = timestamp.ok_or("missing X-Dbackup-Timestamp")?.trim();
    let signature = signature.ok_or("missing X-Dbackup-Signature")?.trim();
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| "X-Dbackup-Timestamp is not a number")?;
    if now_secs.abs_diff(ts) > MAX_SKEW_SECS.unsigned_abs() {
        return Err("X-Dbackup-Timestamp is too far from now");
    }
    let tag = signature
        .strip_prefix("v1=")
        .filter(|h| !h.bytes().any(|b| b.is_ascii_uppercase()))
        .and_then(|h| hex::decode(h).ok())
        .ok_or("signature mismatch")?;
    mac(key, timestamp, body)
        .verify_slice(&tag) // constant-time comparison
        .map_err(|_| "signature mismatch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_documented_formula() {
        // HMAC-SHA256(key = 32 × 0x07, `1800000000.{"seq":1}`), computed independently.
        let sig = sign(&[7u8; 32], "1800000000", br#"{"seq":1}"#);
        assert_eq!(
            sig,
            "v1=4313703ab833c23fdc0da95d758d6d27c7537a473dbd0263e9ef2304503ca252"
        );
        assert_ne!(sig, sign(&[7u8; 32], "1800000001", br#"{"seq":1}"#));
    }

    #[test]
    fn verifies_and_rejects() {
        let key = [7u8; 32];
        let body = br#"{"seq":1}"#;
        let sig = sign(&key, "1800000000", body);
        let ok = |ts: Option<&str>, s: Option<&str>, b: &[u8], k: &[u8], now: i64| {
            verify(k, ts, s, b, now)
        };
        assert_eq!(
            ok(Some("1800000000"), Some(&sig), body, &key, 1_800_000_010),
            Ok(())
        );
        assert_eq!(
            ok(
                Some(" 1800000000 "),
                Some(&format!(" {sig} ")),
                body,
                &key,
                1_800_000_000
            ),
            Ok(())
        );
        assert_eq!(
            ok(Some("1800000000"), Some(&sig), b"{}", &key, 1_800_000_010),
            Err("signature mismatch")
        );
        assert!(ok(
            Some("1800000000"),
            Some(&sig),
            body,
            &[8u8; 32],
            1_800_000_010
        )
        .is_err());
        assert!(ok(Some("1800000001"), Some(&sig), body, &key, 1_800_000_010).is_err());
        assert_eq!(
            ok(Some("1800000000"), Some(&sig), body, &key, 1_800_001_000),
            Err("X-Dbackup-Timestamp is too far from now")
        );
        assert_eq!(
            ok(Some("1800000000"), Some(&sig), body, &key, 1_799_999_000),
            Err("X-Dbackup-Timestamp is too far from now")
        );
        assert!(ok(None, Some(&sig), body, &key, 1_800_000_000).is_err());
        assert!(ok(Some("1800000000"), None, body, &key, 1_800_000_000).is_err());
        assert!(ok(Some("x"), Some(&sig), body, &key, 1_800_000_000).is_err());
        assert!(ok(Some("1800000000"), Some("v1=zz"), body, &key, 1_800_000_000).is_err());
        let upper = format!("v1={}", sig[3..].to_ascii_uppercase());
        assert!(ok(Some("1800000000"), Some(&upper), body, &key, 1_800_000_000).is_err());
    }
}
