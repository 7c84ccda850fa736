//! Read-back verification of a stored object: the object is streamed once, its bytes hashed
//! (SHA-256) and counted, and — when the backup was encrypted with a key the worker holds —
//! every `DBKENC01` chunk authenticated on the way (the plaintext is discarded). Memory: one
//! container chunk plus one [`READ_SIZE`](super::READ_SIZE) buffer, whatever the object's size.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::{copy_large, describe_io_error, CountingReader, HashReader};
use crate::format::{BackupKey, DecryptReader, KeyKind};

/// What the writer computed while writing the object.
#[derive(Debug, Clone, Copy)]
pub struct Written<'a> {
    /// Bytes stored.
    pub size: u64,
    /// Their SHA-256, lowercase hex.
    pub sha256: &'a str,
}

/// Reads `object` to its end and compares it with what was written. `Ok` carries a one-line
/// description of what was checked; `Err` says what differs (the chunk that failed
/// authentication, the size, or the checksum). `cancelled` stops the read at the next block.
pub fn verify_object<R: Read>(
    object: R,
    key: Option<&BackupKey>,
    written: Written<'_>,
    cancelled: &AtomicBool,
) -> Result<String, String> {
    let counter = AtomicU64::new(0);
    let mut hashed = HashReader::new(CountingReader::new(object, &counter, cancelled));
    let stopped = |e: String| {
        if cancelled.load(Ordering::Relaxed) {
            "cancelled".to_owned()
        } else {
            e
        }
    };
    // A write-only profile's public key seals but cannot open: its objects are compared by
    // size and SHA-256 only (which already proves them byte for byte what was written).
    let opener = key.filter(|k| k.kind() != KeyKind::Public);
    let authenticated = match opener {
        Some(key) => {
            let mut plain = DecryptReader::new(&mut hashed, key)
                .map_err(|e| stopped(format!("container header: {e}")))?;
            copy_large(&mut plain, &mut io::sink())
                .map_err(|e| stopped(format!("read back: {}", describe_io_error(&e))))?;
            true
        }
        None => false,
    };
    // Whatever follows the final chunk (or the whole plain object) counts in size and hash.
    copy_large(&mut hashed, &mut io::sink())
        .map_err(|e| stopped(format!("read back: {}", describe_io_error(&e))))?;
    let (size, sha256) = hashed.finish();
    if size != written.size {
        return Err(format!(
            "read back {size} bytes, {} were written",
            written.size
        ));
    }
    if !sha256.eq_ignore_ascii_case(written.sha256) {
        return Err(format!(
            "SHA-256 of the stored object is {sha256}, {} was written",
            written.sha256
        ));
    }
    Ok(if authenticated {
        format!("read back {size} bytes: every container chunk authenticated, SHA-256 equal")
    } else if key.is_some() {
        format!(
            "read back {size} bytes: SHA-256 equal (write-only profile: the worker holds no \
             private key to authenticate the chunks)"
        )
    } else {
        format!("read back {size} bytes: SHA-256 equal")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Compression, EncryptWriter};
    use crate::stream::HashWriter;
    use std::io::Write;

    fn key() -> BackupKey {
        BackupKey::from_bytes([7; 32])
    }

    /// An encrypted object of `len` plaintext bytes in 64-byte chunks, with its size and hash.
    fn container(len: usize) -> (Vec<u8>, u64, String) {
        let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let mut w =
            EncryptWriter::new(HashWriter::new(Vec::new()), &key(), Compression::None, 64).unwrap();
        w.write_all(&plain).unwrap();
        let (bytes, size, sha) = w.finish().unwrap().finish().unwrap();
        (bytes, size, sha)
    }

    fn check(
        object: &[u8],
        key: Option<&BackupKey>,
        size: u64,
        sha: &str,
    ) -> Result<String, String> {
        verify_object(
            object,
            key,
            Written { size, sha256: sha },
            &AtomicBool::new(false),
        )
    }

    #[test]
    fn an_intact_object_verifies() {
        let (bytes, size, sha) = container(1000);
        let ok = check(&bytes, Some(&key()), size, &sha).unwrap();
        assert!(ok.contains("every container chunk authenticated"), "{ok}");
        // Without the key only the hash is compared.
        let ok = check(&bytes, None, size, &sha).unwrap();
        assert_eq!(ok, format!("read back {size} bytes: SHA-256 equal"));
    }

    #[test]
    fn a_flipped_bit_names_its_chunk() {
        let (mut bytes, size, sha) = container(1000);
        bytes[32 + 80 + 3] ^= 1; // inside chunk 1 (64 + 16 bytes per sealed chunk)
        let e = check(&bytes, Some(&key()), size, &sha).unwrap_err();
        assert!(e.contains("chunk 1"), "{e}");
        // Without the key the hash differs.
        let e = check(&bytes, None, size, &sha).unwrap_err();
        assert!(e.contains("SHA-256 of the stored object is"), "{e}");
    }

    #[test]
    fn truncation_and_trailing_bytes_are_caught() {
        let (bytes, size, sha) = container(1000);
        let e = check(&bytes[..bytes.len() - 20], Some(&key()), size, &sha).unwrap_err();
        assert!(e.starts_with("read back:"), "{e}");
        // Bytes appended to the last (short) chunk break its authentication…
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"junk");
        let e = check(&longer, Some(&key()), size, &sha).unwrap_err();
        assert!(e.contains("chunk 15"), "{e}");
        // …and a plain object's size is compared before its hash.
        let e = check(b"dump+junk", None, 4, &sha).unwrap_err();
        assert_eq!(e, "read back 9 bytes, 4 were written");
    }

    #[test]
    fn another_object_or_key_is_refused() {
        let (bytes, size, sha) = container(1000);
        let e = check(b"plain dump", Some(&key()), size, &sha).unwrap_err();
        assert!(e.starts_with("container header:"), "{e}");
        let other = BackupKey::from_bytes([8; 32]);
        let e = check(&bytes, Some(&other), size, &sha).unwrap_err();
        assert!(e.starts_with("container header:"), "{e}");
        // A plain object replaced by another of the same length.
        let e = check(b"abcd", None, 4, &"00".repeat(32)).unwrap_err();
        assert!(e.contains("SHA-256"), "{e}");
    }

    #[test]
    fn a_write_only_backup_is_compared_by_its_hash() {
        let (public, private) = BackupKey::generate_pair().unwrap();
        let mut w = EncryptWriter::new(HashWriter::new(Vec::new()), &public, Compression::None, 64)
            .unwrap();
        w.write_all(&[5u8; 500]).unwrap();
        let (mut bytes, size, sha) = w.finish().unwrap().finish().unwrap();
        let ok = check(&bytes, Some(&public), size, &sha).unwrap();
        assert!(ok.contains("SHA-256 equal (write-only profile"), "{ok}");
        // The private key (never on the worker for a backup) would authenticate the chunks.
        let ok = check(&bytes, Some(&private), size, &sha).unwrap();
        assert!(ok.contains("every container chunk authenticated"), "{ok}");
        bytes[100] ^= 4;
        let e = check(&bytes, Some(&public), size, &sha).unwrap_err();
        assert!(e.contains("SHA-256"), "{e}");
    }

    #[test]
    fn cancel_stops_the_read() {
        let (bytes, size, sha) = container(1000);
        let e = verify_object(
            &bytes[..],
            Some(&key()),
            Written { size, sha256: &sha },
            &AtomicBool::new(true),
        )
        .unwrap_err();
        assert_eq!(e, "cancelled");
    }
}
