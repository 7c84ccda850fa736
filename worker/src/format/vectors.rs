//! The container's published test vectors (`docs/format-vectors/*.json`, described in
//! docs/FORMAT.md): fixed keys, nonce prefixes and plaintexts, so another implementation can
//! check itself against ours. `cargo xtask format-vectors` writes them (the `format_vectors`
//! example); `format::tests::verify_vectors` checks the committed files still match this build.
//! `01`–`04` are version 1 (symmetric key), `05`–`06` version 2 (sealed to an X25519 public key,
//! RFC 7748 — the ephemeral key is fixed here; real objects draw a fresh one).

use std::io::Write;
use std::path::Path;

use super::{BackupKey, Compression, EncryptWriter, KEY_LEN, NONCE_PREFIX_LEN};

/// One version 2 (public-key) vector file: the recipient's key pair, the ephemeral private key
/// the writer drew, and the object.
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicVector {
    pub description: String,
    pub recipient_private_key_hex: String,
    pub recipient_public_key_hex: String,
    pub key_fingerprint_hex: String,
    pub ephemeral_private_key_hex: String,
    pub ephemeral_public_key_hex: String,
    /// X25519(ephemeral private, recipient public) — what both sides agree on.
    pub shared_secret_hex: String,
    /// HKDF-SHA256(salt = ephemeral public ‖ recipient public, ikm = shared secret,
    /// info = "dbackup x25519 content key v2"), 32 bytes: the AES-256-GCM key of the chunks.
    pub content_key_hex: String,
    pub nonce_prefix_hex: String,
    pub chunk_size: u32,
    pub compression: Compression,
    pub plaintext_hex: String,
    pub ciphertext_hex: String,
}

/// The version 2 vectors with their file stems, computed by this build.
pub fn all_public() -> Vec<(&'static str, PublicVector)> {
    let recipient_secret: [u8; 32] = std::array::from_fn(|i| 0x40 + i as u8);
    let ephemeral_secret: [u8; 32] = std::array::from_fn(|i| 0x80 + i as u8);
    let recipient = BackupKey::from_private_bytes(recipient_secret);
    let recipient_public = super::x25519_public(&recipient_secret);
    let ephemeral_public = super::x25519_public(&ephemeral_secret);
    let shared = super::x25519(&ephemeral_secret, &recipient_public).unwrap_or_default();
    let content = super::content_key(&shared, &ephemeral_public, &recipient_public);
    let public = BackupKey::from_public_bytes(recipient_public);
    let prefix = [0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6];
    let cases: [(&str, &str, Vec<u8>, u32, Compression); 2] = [
        (
            "05-public-empty",
            "version 2 (sealed to an X25519 public key): empty plaintext, one empty final chunk",
            Vec::new(),
            16,
            Compression::None,
        ),
        (
            "06-public-three-chunks",
            "version 2: two full chunks and a short final chunk, header says GZIP",
            b"The quick brown fox jumps over the lazy dog".to_vec(),
            16,
            Compression::Gzip,
        ),
    ];
    cases
        .into_iter()
        .map(|(name, description, plain, chunk, compression)| {
            let sealed = EncryptWriter::with_parameters(
                Vec::new(),
                &public,
                compression,
                chunk,
                prefix,
                Some(ephemeral_secret),
            )
            .and_then(|mut w| {
                w.write_all(&plain)?;
                w.finish()
            })
            // Fixed, valid parameters into memory: nothing here can fail.
            .expect("seal a test vector in memory");
            (
                name,
                PublicVector {
                    description: description.to_owned(),
                    recipient_private_key_hex: hex::encode(recipient_secret),
                    recipient_public_key_hex: hex::encode(recipient_public),
                    key_fingerprint_hex: recipient.fingerprint_hex(),
                    ephemeral_private_key_hex: hex::encode(ephemeral_secret),
                    ephemeral_public_key_hex: hex::encode(ephemeral_public),
                    shared_secret_hex: hex::encode(shared),
                    content_key_hex: hex::encode(content),
                    nonce_prefix_hex: hex::encode(prefix),
                    chunk_size: chunk,
                    compression,
                    plaintext_hex: hex::encode(&plain),
                    ciphertext_hex: hex::encode(sealed),
                },
            )
        })
        .collect()
}

/// One vector file, as stored (camelCase JSON).
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Vector {
    pub description: String,
    pub key_hex: String,
    pub key_fingerprint_hex: String,
    pub nonce_prefix_hex: String,
    pub chunk_size: u32,
    pub compression: Compression,
    pub plaintext_hex: String,
    pub ciphertext_hex: String,
}

/// Every vector with its file stem (`01-empty` → `01-empty.json`), computed by this build.
pub fn all() -> Vec<(&'static str, Vector)> {
    let key_bytes: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8);
    let key = BackupKey::from_bytes(key_bytes);
    let prefix = [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6];
    let patterned: Vec<u8> = (0..1000usize).map(|i| (i * 31 % 251) as u8).collect();
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
            patterned,
            64,
            Compression::Zstd,
        ),
    ];
    cases
        .into_iter()
        .map(|(name, description, plain, chunk, compression)| {
            (
                name,
                Vector {
                    description: description.to_owned(),
                    key_hex: hex::encode(key_bytes),
                    key_fingerprint_hex: key.fingerprint_hex(),
                    nonce_prefix_hex: hex::encode(prefix),
                    chunk_size: chunk,
                    compression,
                    plaintext_hex: hex::encode(&plain),
                    ciphertext_hex: hex::encode(seal(&key, &plain, chunk, compression, prefix)),
                },
            )
        })
        .collect()
}

fn seal(
    key: &BackupKey,
    plain: &[u8],
    chunk: u32,
    compression: Compression,
    prefix: [u8; NONCE_PREFIX_LEN],
) -> Vec<u8> {
    let sealed = EncryptWriter::with_nonce_prefix(Vec::new(), key, compression, chunk, prefix)
        .and_then(|mut w| {
            w.write_all(plain)?;
            w.finish()
        });
    // Fixed, valid parameters into memory: nothing here can fail.
    sealed.expect("seal a test vector in memory")
}

/// Writes every vector to `dir/<name>.json` (pretty JSON and a newline), creating `dir`.
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, vector) in all() {
        let text = serde_json::to_string_pretty(&vector)? + "\n";
        std::fs::write(dir.join(format!("{name}.json")), text)?;
    }
    for (name, vector) in all_public() {
        let text = serde_json::to_string_pretty(&vector)? + "\n";
        std::fs::write(dir.join(format!("{name}.json")), text)?;
    }
    Ok(())
}
