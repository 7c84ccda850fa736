//! Ids and random key material, from the operating system's CSPRNG (`wasi:random` inside Spin).

use std::fmt::Write;

use crate::ApiError;

/// Fills `buf` with random bytes; a 500 when the platform has no randomness.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), ApiError> {
    getrandom::fill(buf).map_err(|e| ApiError::internal(format!("randomness unavailable: {e}")))
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, ApiError> {
    let mut buf = vec![0u8; n];
    random_bytes(&mut buf)?;
    Ok(hex(&buf))
}

/// A new random id for any entity: a version-4 UUID in its usual text form.
pub fn new_id() -> Result<String, ApiError> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(uuid_text(&b))
}

/// 16 bytes in a UUID's usual text form (`8-4-4-4-12` lowercase hex), e.g. a passkey's AAGUID.
pub fn uuid_text(b: &[u8; 16]) -> String {
    let h = hex(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_uuids_and_differ() {
        let (a, b) = (new_id().unwrap(), new_id().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert!(a
            .bytes()
            .all(|c| c == b'-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn random_hex_has_two_digits_per_byte() {
        let h = random_hex(32).unwrap();
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(
            uuid_text(&[0xab; 16]),
            "abababab-abab-abab-abab-abababababab"
        );
    }
}
