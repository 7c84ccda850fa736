use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use super::*;

fn key(seed: u8) -> BackupKey {
    let mut bytes = [0u8; KEY_LEN];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8);
    }
    BackupKey::from_bytes(bytes)
}

fn seal(key: &BackupKey, plain: &[u8], chunk: u32) -> Vec<u8> {
    let mut w = EncryptWriter::new(Vec::new(), key, Compression::None, chunk).unwrap();
    // Odd write sizes exercise the buffering.
    for piece in plain.chunks(7) {
        w.write_all(piece).unwrap();
    }
    w.finish().unwrap()
}

fn open(key: &BackupKey, sealed: &[u8]) -> Result<Vec<u8>, FormatError> {
    let mut r = DecryptReader::new(Cursor::new(sealed), key)?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)
        .map_err(|e| FormatError::from_io(&e).expect("format error"))?;
    Ok(out)
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn round_trips_all_boundary_sizes() {
    let k = key(1);
    for len in [0, 1, 15, 16, 17, 31, 32, 33, 160, 1000] {
        let plain = data(len);
        let sealed = seal(&k, &plain, 16);
        let chunks = if len == 0 { 1 } else { len.div_ceil(16) };
        assert_eq!(
            sealed.len(),
            HEADER_LEN + len + chunks * TAG_LEN,
            "len {len}"
        );
        assert_eq!(open(&k, &sealed).unwrap(), plain, "len {len}");
    }
}

#[test]
fn default_chunk_size_round_trip() {
    let k = key(9);
    let plain = data(3 * DEFAULT_CHUNK_SIZE as usize + 5);
    let sealed = seal(&k, &plain, DEFAULT_CHUNK_SIZE);
    assert_eq!(open(&k, &sealed).unwrap(), plain);
}

#[test]
fn wrong_key_is_named() {
    let sealed = seal(&key(1), b"hello", 16);
    match open(&key(2), &sealed) {
        Err(FormatError::WrongKey { expected, actual }) => {
            assert_eq!(expected, key(1).fingerprint_hex());
            assert_eq!(actual, key(2).fingerprint_hex());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_flipped_byte_is_detected_at_its_chunk() {
    let k = key(3);
    let plain = data(50);
    let sealed = seal(&k, &plain, 16);
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        let err = open(&k, &bad).unwrap_err();
        if i >= HEADER_LEN {
            let chunk = ((i - HEADER_LEN) / (16 + TAG_LEN)) as u64;
            if chunk == 3 {
                // The short final chunk: indistinguishable from a cut-off chunk.
                assert_eq!(err, FormatError::TruncatedOrCorrupt(3), "byte {i}");
            } else {
                assert_eq!(err, FormatError::CorruptChunk(chunk), "byte {i}");
            }
        } else {
            // Any header change fails: magic, version, fingerprint, or chunk 0's AAD.
            assert_ne!(err, FormatError::Truncated(0), "byte {i}");
        }
    }
}

#[test]
fn no_plaintext_of_a_bad_chunk_is_released() {
    let k = key(3);
    let plain = data(48);
    let mut sealed = seal(&k, &plain, 16);
    let idx = HEADER_LEN + (16 + TAG_LEN) + 3; // inside chunk 1
    sealed[idx] ^= 0x80;
    let mut r = DecryptReader::new(Cursor::new(&sealed), &k).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 5];
    let err = loop {
        match r.read(&mut buf) {
            Ok(0) => panic!("reached EOF"),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(out, &plain[..16]);
    assert_eq!(
        FormatError::from_io(&err),
        Some(FormatError::CorruptChunk(1))
    );
    // The error sticks.
    assert!(r.read(&mut buf).is_err());
}

#[test]
fn truncation_is_detected() {
    let k = key(4);
    let plain = data(64);
    let sealed = seal(&k, &plain, 16);
    let per = 16 + TAG_LEN;
    // Cut exactly after chunk 1 (a non-final chunk).
    let cut = &sealed[..HEADER_LEN + 2 * per];
    assert_eq!(open(&k, cut).unwrap_err(), FormatError::Truncated(2));
    // Cut after chunk 0.
    assert_eq!(
        open(&k, &sealed[..HEADER_LEN + per]).unwrap_err(),
        FormatError::Truncated(1)
    );
    // Cut inside chunk 2 (before and after a tag's worth of bytes).
    assert_eq!(
        open(&k, &sealed[..HEADER_LEN + 2 * per + 10]).unwrap_err(),
        FormatError::Truncated(2)
    );
    assert_eq!(
        open(&k, &sealed[..HEADER_LEN + 2 * per + 20]).unwrap_err(),
        FormatError::TruncatedOrCorrupt(2)
    );
    // Header only / partial header.
    assert_eq!(
        open(&k, &sealed[..HEADER_LEN]).unwrap_err(),
        FormatError::Truncated(0)
    );
    assert_eq!(
        open(&k, &sealed[..20]).unwrap_err(),
        FormatError::Truncated(0)
    );
    // Extra bytes appended: the real last chunk no longer authenticates as last.
    let mut longer = sealed.clone();
    longer.extend_from_slice(&[0u8; 40]);
    assert!(open(&k, &longer).is_err());
}

#[test]
fn swapped_chunks_are_detected() {
    let k = key(5);
    let plain = data(64);
    let sealed = seal(&k, &plain, 16);
    let per = 16 + TAG_LEN;
    let mut swapped = sealed.clone();
    let (a, b) = (HEADER_LEN, HEADER_LEN + per);
    let chunk0 = sealed[a..a + per].to_vec();
    swapped.copy_within(b..b + per, a);
    swapped[b..b + per].copy_from_slice(&chunk0);
    assert_eq!(
        open(&k, &swapped).unwrap_err(),
        FormatError::CorruptChunk(0)
    );
}

#[test]
fn header_rejections() {
    let k = key(6);
    assert_eq!(
        open(&k, b"PGDMP....").unwrap_err(),
        FormatError::NotEncrypted
    );
    let mut sealed = seal(&k, b"abc", 16);
    sealed[8] = 2;
    assert_eq!(
        open(&k, &sealed).unwrap_err(),
        FormatError::UnsupportedVersion(2)
    );
    assert!(BackupKey::from_hex("abcd").is_err());
    assert!(BackupKey::from_hex(&"zz".repeat(32)).is_err());
    assert_eq!(
        BackupKey::from_hex(&hex::encode([7u8; 32]))
            .unwrap()
            .fingerprint(),
        BackupKey::from_bytes([7u8; 32]).fingerprint()
    );
}

// ---- test vectors (docs/format-vectors/) ----

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Vector {
    description: String,
    key_hex: String,
    key_fingerprint_hex: String,
    nonce_prefix_hex: String,
    chunk_size: u32,
    compression: Compression,
    plaintext_hex: String,
    ciphertext_hex: String,
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/format-vectors")
}

fn make_vectors() -> Vec<(String, Vector)> {
    let k = key(0);
    let prefix = [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6];
    let cases: [(&str, &str, Vec<u8>, u32, Compression); 4] = [
        (
            "01-empty",
            "empty plaintext: a single empty final chunk",
            Vec::new(),
            16,
            Compression::None,
        ),
        (
            "02-one-full-chunk",
            "exactly one chunk: the final chunk is full",
            b"0123456789abcdef".to_vec(),
            16,
            Compression::None,
        ),
        (
            "03-three-chunks",
            "two full chunks and a short final chunk",
            b"The quick brown fox jumps over the lazy dog".to_vec(),
            16,
            Compression::None,
        ),
        (
            "04-zstd-1000",
            "1000 bytes, 64-byte chunks, header says ZSTD (the payload is opaque to the container)",
            data(1000),
            64,
            Compression::Zstd,
        ),
    ];
    cases
        .into_iter()
        .map(|(name, description, plain, chunk, compression)| {
            let mut w =
                EncryptWriter::with_nonce_prefix(Vec::new(), &k, compression, chunk, prefix)
                    .unwrap();
            w.write_all(&plain).unwrap();
            let sealed = w.finish().unwrap();
            (
                name.to_owned(),
                Vector {
                    description: description.to_owned(),
                    key_hex: hex::encode(k.0),
                    key_fingerprint_hex: k.fingerprint_hex(),
                    nonce_prefix_hex: hex::encode(prefix),
                    chunk_size: chunk,
                    compression,
                    plaintext_hex: hex::encode(&plain),
                    ciphertext_hex: hex::encode(&sealed),
                },
            )
        })
        .collect()
}

/// Writes the vectors when `DBACKUP_REGEN_VECTORS=1` (or when they are missing).
#[test]
fn write_vectors() {
    let dir = vectors_dir();
    let regen = std::env::var_os("DBACKUP_REGEN_VECTORS").is_some_and(|v| v == "1");
    if !regen && dir.join("01-empty.json").exists() {
        return;
    }
    std::fs::create_dir_all(&dir).unwrap();
    for (name, vector) in make_vectors() {
        let text = serde_json::to_string_pretty(&vector).unwrap() + "\n";
        std::fs::write(dir.join(format!("{name}.json")), text).unwrap();
    }
}

/// Checks the committed vectors with an independent decryption path (the reader) and
/// that this build still produces them byte for byte.
#[test]
fn verify_vectors() {
    let dir = vectors_dir();
    let expected = make_vectors();
    for (name, fresh) in &expected {
        let path = dir.join(format!("{name}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            // First run in a fresh tree: write_vectors creates them concurrently.
            continue;
        };
        let stored: Vector = serde_json::from_str(&text).unwrap();
        let k = BackupKey::from_hex(&stored.key_hex).unwrap();
        assert_eq!(k.fingerprint_hex(), stored.key_fingerprint_hex, "{name}");
        let sealed = hex::decode(&stored.ciphertext_hex).unwrap();
        let plain = open(&k, &sealed).unwrap();
        assert_eq!(hex::encode(plain), stored.plaintext_hex, "{name}");
        let header = Header::parse(sealed[..HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!(header.chunk_size, stored.chunk_size);
        assert_eq!(header.compression, stored.compression);
        assert_eq!(hex::encode(header.nonce_prefix), stored.nonce_prefix_hex);
        assert_eq!(
            &stored, fresh,
            "{name}: this build no longer produces the vector"
        );
    }
}
