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
    sealed[8] = 3;
    assert_eq!(
        open(&k, &sealed).unwrap_err(),
        FormatError::UnsupportedVersion(3)
    );
    // A version 1 object relabelled 2 asks for a private key (and would fail chunk 0 anyway).
    sealed[8] = 2;
    assert!(matches!(
        open(&k, &sealed).unwrap_err(),
        FormatError::WrongKeyKind { container: 2, .. }
    ));
    assert!(BackupKey::from_hex("abcd").is_err());
    assert!(BackupKey::from_hex(&"zz".repeat(32)).is_err());
    assert_eq!(
        BackupKey::from_hex(&hex::encode([7u8; 32]))
            .unwrap()
            .fingerprint(),
        BackupKey::from_bytes([7u8; 32]).fingerprint()
    );
}

// ---- test vectors (docs/format-vectors/, regenerated by `cargo xtask format-vectors`) ----

/// Checks the committed vectors with an independent decryption path (the reader) and
/// that this build still produces them byte for byte.
#[test]
fn verify_vectors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/format-vectors");
    for (name, fresh) in vectors::all() {
        let path = dir.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (write it with `cargo xtask format-vectors`)",
                path.display()
            )
        });
        let stored: vectors::Vector = serde_json::from_str(&text).unwrap();
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
            stored, fresh,
            "{name}: this build no longer produces the vector"
        );
    }
}

#[test]
fn verify_public_vectors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/format-vectors");
    for (name, fresh) in vectors::all_public() {
        let path = dir.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (write it with `cargo xtask format-vectors`)",
                path.display()
            )
        });
        let stored: vectors::PublicVector = serde_json::from_str(&text).unwrap();
        let private = BackupKey::private_from_hex(&stored.recipient_private_key_hex).unwrap();
        assert_eq!(
            private.public_hex().unwrap(),
            stored.recipient_public_key_hex
        );
        assert_eq!(
            private.fingerprint_hex(),
            stored.key_fingerprint_hex,
            "{name}"
        );
        let sealed = hex::decode(&stored.ciphertext_hex).unwrap();
        assert_eq!(sealed[8], VERSION_PUBLIC);
        assert_eq!(
            hex::encode(&sealed[32..64]),
            stored.ephemeral_public_key_hex
        );
        let plain = open(&private, &sealed).unwrap();
        assert_eq!(hex::encode(plain), stored.plaintext_hex, "{name}");
        assert_eq!(
            stored, fresh,
            "{name}: this build no longer produces the vector"
        );
    }
}

/// RFC 7748 section 6.1: this X25519 is the standard one (so the browser's WebCrypto and
/// Python's `cryptography` agree with it).
#[test]
fn x25519_matches_rfc_7748() {
    let alice: [u8; 32] =
        hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
            .unwrap()
            .try_into()
            .unwrap();
    let bob_public: [u8; 32] =
        hex::decode("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
            .unwrap()
            .try_into()
            .unwrap();
    assert_eq!(
        hex::encode(x25519_public(&alice)),
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    );
    assert_eq!(
        hex::encode(x25519(&alice, &bob_public).unwrap()),
        "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    );
}

fn seal_to(public: &BackupKey, plain: &[u8], chunk: u32) -> Vec<u8> {
    let mut w = EncryptWriter::new(Vec::new(), public, Compression::None, chunk).unwrap();
    for piece in plain.chunks(7) {
        w.write_all(piece).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn public_key_round_trip_and_fresh_ephemeral_keys() {
    let (public, private) = BackupKey::generate_pair().unwrap();
    assert_eq!(public.kind(), KeyKind::Public);
    assert_eq!(private.kind(), KeyKind::Private);
    assert_eq!(public.fingerprint(), private.fingerprint());
    assert_eq!(public.secret_hex(), None);
    for len in [0, 1, 16, 17, 1000] {
        let plain = data(len);
        let sealed = seal_to(&public, &plain, 16);
        let chunks = if len == 0 { 1 } else { len.div_ceil(16) };
        assert_eq!(sealed.len(), PUBLIC_HEADER_LEN + len + chunks * TAG_LEN);
        assert_eq!(open(&private, &sealed).unwrap(), plain, "len {len}");
    }
    // Two objects sealed to the same key share no ephemeral key.
    let (a, b) = (seal_to(&public, b"x", 16), seal_to(&public, b"x", 16));
    assert_ne!(a[32..64], b[32..64]);
}

#[test]
fn public_key_containers_refuse_wrong_keys_before_any_chunk() {
    let (public, private) = BackupKey::generate_pair().unwrap();
    let (_, other_private) = BackupKey::generate_pair().unwrap();
    let sealed = seal_to(&public, &data(100), 16);
    // Header only: every refusal below happens before a chunk is read.
    let header = &sealed[..PUBLIC_HEADER_LEN];
    match DecryptReader::new(Cursor::new(header), &other_private).err() {
        Some(FormatError::WrongKey { expected, actual }) => {
            assert_eq!(expected, private.fingerprint_hex());
            assert_eq!(actual, other_private.fingerprint_hex());
        }
        other => panic!("{other:?}"),
    }
    for wrong in [public.clone(), key(1)] {
        let e = DecryptReader::new(Cursor::new(header), &wrong)
            .err()
            .unwrap();
        assert!(
            matches!(e, FormatError::WrongKeyKind { container: 2, .. }),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("only its private key opens it"),
            "{e}"
        );
    }
    // A version 1 container refuses a key-pair half.
    let v1 = seal(&key(1), b"hello", 16);
    let e = DecryptReader::new(Cursor::new(&v1), &private)
        .err()
        .unwrap();
    assert!(
        matches!(e, FormatError::WrongKeyKind { container: 1, .. }),
        "{e:?}"
    );
    // A header cut inside the ephemeral key.
    assert_eq!(
        DecryptReader::new(Cursor::new(&sealed[..40]), &private).err(),
        Some(FormatError::Truncated(0))
    );
}

#[test]
fn public_key_containers_detect_tampering() {
    let (public, private) = BackupKey::generate_pair().unwrap();
    let plain = data(50);
    let sealed = seal_to(&public, &plain, 16);
    for i in 0..sealed.len() {
        let mut t = sealed.clone();
        t[i] ^= 0x01;
        let result = open(&private, &t);
        assert!(result.is_err(), "flipped byte {i} went unnoticed");
    }
    // Swapping the ephemeral key for another (valid) one: chunk 0 fails.
    let mut t = sealed.clone();
    t[32..64].copy_from_slice(&x25519_public(&[9u8; 32]));
    assert_eq!(open(&private, &t), Err(FormatError::CorruptChunk(0)));
    // A low-order ephemeral key (all zero) is refused by name.
    let mut t = sealed.clone();
    t[32..64].fill(0);
    assert_eq!(open(&private, &t).err(), Some(FormatError::BadEphemeralKey));
    // A public key of low order cannot be written to.
    let zero = BackupKey::from_public_bytes([0u8; 32]);
    assert!(EncryptWriter::new(Vec::new(), &zero, Compression::None, 16).is_err());
    // Truncation at a chunk boundary is still named.
    let per = 16 + TAG_LEN;
    assert_eq!(
        open(&private, &sealed[..PUBLIC_HEADER_LEN + 2 * per]),
        Err(FormatError::Truncated(2))
    );
}

// ---- property tests: tampering never releases plaintext of the tampered chunk ----
//
// Storage is not trusted (docs/FORMAT.md): whoever can write to a bucket may flip bits, cut an
// object short, reorder its chunks or splice two objects sealed with the same key. For every such
// change the streaming reader must fail, and every byte it released before failing must be
// plaintext of a chunk that precedes the first changed one — nothing of the changed chunk
// reaches the restore target. The restore path (`open_restore_stream`, read to the end as the
// verification pass does) must reject the object too. Case counts keep this at a few seconds in
// a debug build.

mod properties {
    use std::io::{Cursor, Read, Write};

    use proptest::prelude::*;

    use super::super::*;
    use crate::stream::{open_restore_stream, Compressor};

    /// Small chunks, so that a few hundred bytes make many chunks.
    const CHUNKS: std::ops::RangeInclusive<u32> = MIN_CHUNK_SIZE..=48;

    fn sealed_len(chunk: u32) -> usize {
        chunk as usize + TAG_LEN
    }

    /// An object: the container of `payload` (the compressed plaintext) under `key`.
    #[derive(Debug, Clone)]
    struct Object {
        key: BackupKey,
        chunk: u32,
        compression: Compression,
        payload: Vec<u8>,
        bytes: Vec<u8>,
    }

    impl Object {
        fn chunks(&self) -> usize {
            (self.bytes.len() - HEADER_LEN).div_ceil(sealed_len(self.chunk))
        }

        /// The byte offset where chunk `i` starts.
        fn chunk_at(&self, i: usize) -> usize {
            (HEADER_LEN + i * sealed_len(self.chunk)).min(self.bytes.len())
        }
    }

    fn seal_object(
        key: BackupKey,
        chunk: u32,
        compression: Compression,
        plain: &[u8],
        prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Object {
        let mut c = Compressor::new(compression, None, Vec::new()).unwrap();
        c.write_all(plain).unwrap();
        let payload = c.finish().unwrap();
        let mut w =
            EncryptWriter::with_nonce_prefix(Vec::new(), &key, compression, chunk, prefix).unwrap();
        // Uneven writes exercise the writer's buffering.
        for piece in payload.chunks(13) {
            w.write_all(piece).unwrap();
        }
        let bytes = w.finish().unwrap();
        Object {
            key,
            chunk,
            compression,
            payload,
            bytes,
        }
    }

    fn compression() -> impl Strategy<Value = Compression> {
        prop_oneof![
            Just(Compression::None),
            Just(Compression::Gzip),
            Just(Compression::Zstd),
            Just(Compression::Brotli),
        ]
    }

    fn object() -> impl Strategy<Value = Object> {
        (
            any::<[u8; KEY_LEN]>(),
            CHUNKS,
            compression(),
            proptest::collection::vec(any::<u8>(), 0..400),
            any::<[u8; NONCE_PREFIX_LEN]>(),
        )
            .prop_map(|(key, chunk, compression, plain, prefix)| {
                seal_object(
                    BackupKey::from_bytes(key),
                    chunk,
                    compression,
                    &plain,
                    prefix,
                )
            })
    }

    /// Two objects sealed with the same key and chunk size (each with its own random nonce
    /// prefix, as the writer makes them).
    fn two_objects() -> impl Strategy<Value = (Object, Object)> {
        (
            any::<[u8; KEY_LEN]>(),
            CHUNKS,
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<[u8; NONCE_PREFIX_LEN]>(),
            any::<[u8; NONCE_PREFIX_LEN]>(),
        )
            .prop_filter("distinct nonce prefixes", |t| t.4 != t.5)
            .prop_map(|(key, chunk, a, b, pa, pb)| {
                let key = BackupKey::from_bytes(key);
                (
                    seal_object(key.clone(), chunk, Compression::None, &a, pa),
                    seal_object(key, chunk, Compression::None, &b, pb),
                )
            })
    }

    /// Reads `bytes` with the streaming reader in small reads, as a restore does: the bytes it
    /// released and whether it failed (header refusals release nothing).
    fn stream(key: &BackupKey, bytes: &[u8]) -> (Vec<u8>, bool) {
        let Ok(mut reader) = DecryptReader::new(Cursor::new(bytes), key) else {
            return (Vec::new(), true);
        };
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return (out, false),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => {
                    // The failure sticks: no later read turns it into a clean end.
                    assert!(reader.read(&mut buf).is_err(), "a failed reader recovered");
                    return (out, true);
                }
            }
        }
    }

    /// The restore path with the key supplied, read to the end (the verification pass):
    /// whether it accepted the object whole.
    fn restore_accepts(object: &Object, bytes: &[u8]) -> bool {
        match open_restore_stream(Cursor::new(bytes), Some(&object.key), Compression::None) {
            Err(_) => false,
            Ok((_, mut decoded)) => decoded.read_to_end(&mut Vec::new()).is_ok(),
        }
    }

    /// The chunk a byte offset of the container belongs to (the header counts as chunk 0: it
    /// is every chunk's associated data).
    fn chunk_of(object: &Object, offset: usize) -> usize {
        offset.saturating_sub(HEADER_LEN) / sealed_len(object.chunk)
    }

    /// The first chunk of `object` that `tampered` changes: where the first differing byte
    /// lies; for a cut-short object the chunk the cut falls into (on a boundary, the chunk
    /// before it, which now ends the object without being final); for bytes appended, the
    /// final chunk (which no longer ends the object).
    fn first_changed(object: &Object, tampered: &[u8]) -> usize {
        let original = &object.bytes;
        let common = original
            .iter()
            .zip(tampered)
            .take_while(|(x, y)| x == y)
            .count();
        if common == tampered.len() {
            chunk_of(object, tampered.len().max(HEADER_LEN + 1) - 1)
        } else if common == original.len() {
            object.chunks() - 1
        } else {
            chunk_of(object, common)
        }
    }

    /// The shared assertion: `tampered` (≠ the object) fails, releases only a prefix of the
    /// payload that ends before its first changed chunk, and the restore path refuses it.
    fn assert_refused(object: &Object, tampered: &[u8]) -> Result<(), TestCaseError> {
        prop_assert_ne!(tampered, &object.bytes[..]);
        let (released, failed) = stream(&object.key, tampered);
        prop_assert!(failed, "the tampered object read to a clean end");
        prop_assert!(
            object.payload.starts_with(&released),
            "released bytes that are not the object's payload"
        );
        let first = first_changed(object, tampered);
        let limit = first * object.chunk as usize;
        prop_assert!(
            released.len() <= limit,
            "released {} bytes; the first changed chunk {first} starts at payload byte {limit}",
            released.len()
        );
        prop_assert!(
            !restore_accepts(object, tampered),
            "the restore path accepted the tampered object"
        );
        Ok(())
    }

    proptest! {
        // A failure prints its minimal input; no regression files in the source tree.
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn an_untouched_object_round_trips(object in object()) {
            let (released, failed) = stream(&object.key, &object.bytes);
            prop_assert!(!failed);
            prop_assert_eq!(&released, &object.payload);
            prop_assert!(restore_accepts(&object, &object.bytes));
            let header: &[u8; HEADER_LEN] = object.bytes[..HEADER_LEN].try_into().unwrap();
            prop_assert_eq!(Header::parse(header).unwrap().compression, object.compression);
        }

        #[test]
        fn any_flipped_bit_is_refused(
            object in object(),
            at in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let offset = at.index(object.bytes.len());
            let mut tampered = object.bytes.clone();
            tampered[offset] ^= 1 << bit;
            assert_refused(&object, &tampered)?;
        }

        #[test]
        fn any_truncation_is_refused(object in object(), at in any::<prop::sample::Index>()) {
            let cut = at.index(object.bytes.len());
            assert_refused(&object, &object.bytes[..cut])?;
        }

        #[test]
        fn appended_bytes_are_refused(
            object in object(),
            extra in proptest::collection::vec(any::<u8>(), 1..80),
        ) {
            let mut tampered = object.bytes.clone();
            tampered.extend_from_slice(&extra);
            assert_refused(&object, &tampered)?;
        }

        #[test]
        fn any_reordering_of_chunks_is_refused(
            object in object(),
            a in any::<prop::sample::Index>(),
            b in any::<prop::sample::Index>(),
        ) {
            let n = object.chunks();
            prop_assume!(n >= 2);
            let (i, j) = (a.index(n), b.index(n));
            prop_assume!(i != j);
            // Move chunk i to position j (a rotation of the chunks in between).
            let mut chunks: Vec<&[u8]> = (0..n)
                .map(|c| &object.bytes[object.chunk_at(c)..object.chunk_at(c + 1)])
                .collect();
            let moved = chunks.remove(i);
            chunks.insert(j, moved);
            let mut tampered = object.bytes[..HEADER_LEN].to_vec();
            for c in &chunks {
                tampered.extend_from_slice(c);
            }
            assert_refused(&object, &tampered)?;
        }

        #[test]
        fn a_splice_of_two_objects_with_the_same_key_is_refused(
            (a, b) in two_objects(),
            cut_a in any::<prop::sample::Index>(),
            cut_b in any::<prop::sample::Index>(),
            on_boundaries in any::<bool>(),
        ) {
            // A's head up to one point, then B's tail from another: on chunk boundaries (whole
            // chunks of B after whole chunks of A) or at any byte.
            let (from_a, from_b) = if on_boundaries {
                (
                    a.chunk_at(cut_a.index(a.chunks() + 1)),
                    b.chunk_at(cut_b.index(b.chunks() + 1)),
                )
            } else {
                (cut_a.index(a.bytes.len() + 1), cut_b.index(b.bytes.len() + 1))
            };
            let mut spliced = a.bytes[..from_a].to_vec();
            spliced.extend_from_slice(&b.bytes[from_b..]);
            prop_assume!(spliced != a.bytes && spliced != b.bytes);
            // Read as A: nothing from where B's bytes begin (or A's end) on.
            assert_refused(&a, &spliced)?;
        }
    }
}
