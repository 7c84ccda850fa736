//! The dbackup encrypted container (`.dbk`), specified in `docs/FORMAT.md`.
//!
//! A 32-byte header followed by AES-256-GCM chunks. Chunk `i` encrypts plaintext bytes
//! `[i*chunk_size, (i+1)*chunk_size)` with nonce `prefix(7) ‖ i (u32 BE) ‖ last(1)` and the
//! whole header as associated data, so a flipped bit, a truncation, a reordering, a swapped
//! header field or a wrong key fails authentication at the chunk it touches, before any of
//! that chunk's plaintext is returned.
//!
//! Version 2 (write-only, "public" profiles) has the same chunks under a per-object content key
//! agreed by X25519 with an ephemeral key pair (its public half follows the 32-byte header) and
//! the recipient's public key, through HKDF-SHA256: whoever holds only the public key can write
//! backups but not read them.

use std::fmt;
use std::io::{self, Read, Write};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce, Tag};
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

/// First eight bytes of every container.
pub const MAGIC: &[u8; 8] = b"DBKENC01";
/// Format version of containers sealed with a symmetric key.
pub const VERSION: u8 = 1;
/// Format version of containers sealed to an X25519 public key (write-only profiles).
pub const VERSION_PUBLIC: u8 = 2;
/// Cipher id for AES-256-GCM (the only one).
pub const CIPHER_AES_256_GCM: u8 = 1;
/// Header length in bytes (version 1; the common part of every version).
pub const HEADER_LEN: usize = 32;
/// Header length of a version 2 container: the common 32 bytes and the ephemeral public key.
pub const PUBLIC_HEADER_LEN: usize = HEADER_LEN + 32;
/// GCM tag length.
pub const TAG_LEN: usize = 16;
/// Nonce prefix length.
pub const NONCE_PREFIX_LEN: usize = 7;
/// Key fingerprint length.
pub const FINGERPRINT_LEN: usize = 8;
/// Default plaintext bytes per chunk (1 MiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 1 << 20;
/// Smallest chunk size a reader accepts (tests use small chunks).
pub const MIN_CHUNK_SIZE: u32 = 16;
/// Largest chunk size a reader accepts (bounds reader memory).
pub const MAX_CHUNK_SIZE: u32 = 16 << 20;
/// Key length (AES-256).
pub const KEY_LEN: usize = 32;
/// Domain separator for the key fingerprint.
const FINGERPRINT_DOMAIN: &[u8] = b"dbackup key fingerprint v1\0";
/// Domain separator for the fingerprint of an X25519 public key.
pub const PUBLIC_FINGERPRINT_DOMAIN: &[u8] = b"dbackup public key fingerprint v1\0";
/// HKDF-SHA256 `info` of a version 2 content key.
pub const HKDF_INFO: &[u8] = b"dbackup x25519 content key v2";

/// What a [`BackupKey`] holds, and so what it can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A 32-byte AES key: seals and opens version 1 containers.
    Symmetric,
    /// An X25519 public key: seals version 2 containers, opens nothing.
    Public,
    /// An X25519 private key: opens version 2 containers sealed to its public key.
    Private,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            KeyKind::Symmetric => "a symmetric key",
            KeyKind::Public => "a public key",
            KeyKind::Private => "a private key",
        }
    }
}

#[derive(Clone)]
enum Material {
    Symmetric([u8; KEY_LEN]),
    Public([u8; 32]),
    Private { secret: [u8; 32], public: [u8; 32] },
}

/// An encryption key: a profile's symmetric key, or one half of an X25519 key pair (a
/// write-only profile's public key, or the private key a restore brings along).
#[derive(Clone)]
pub struct BackupKey(Material);

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackupKey({:?} {})", self.kind(), self.fingerprint_hex())
    }
}

/// The X25519 public key of `secret` (RFC 7748, the scalar clamped).
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    MontgomeryPoint::mul_base_clamped(*secret).to_bytes()
}

/// X25519(`secret`, `public`); `None` for the all-zero result of a low-order public key.
fn x25519(secret: &[u8; 32], public: &[u8; 32]) -> Option<[u8; 32]> {
    let shared = MontgomeryPoint(*public).mul_clamped(*secret).to_bytes();
    (shared != [0u8; 32]).then_some(shared)
}

/// The content key of a version 2 container: `HKDF-SHA256(salt = ephemeral public ‖ recipient
/// public, ikm = X25519 shared secret, info = HKDF_INFO)`, 32 bytes.
fn content_key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32]) -> [u8; KEY_LEN] {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let mut okm = [0u8; KEY_LEN];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(&salt), shared).expand(HKDF_INFO, &mut okm);
    okm
}

fn aes(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

fn parse_32(text: &str) -> Result<[u8; 32], FormatError> {
    let bytes = hex::decode(text.trim()).map_err(|_| FormatError::BadKey)?;
    bytes.try_into().map_err(|_| FormatError::BadKey)
}

impl BackupKey {
    /// Wraps raw symmetric key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        BackupKey(Material::Symmetric(bytes))
    }

    /// Parses a symmetric key: 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, FormatError> {
        Ok(BackupKey(Material::Symmetric(parse_32(text)?)))
    }

    /// An X25519 public key (raw 32 bytes): seals version 2 containers.
    pub fn from_public_bytes(public: [u8; 32]) -> Self {
        BackupKey(Material::Public(public))
    }

    /// An X25519 private key (raw 32 bytes, RFC 7748): opens version 2 containers.
    pub fn from_private_bytes(secret: [u8; 32]) -> Self {
        BackupKey(Material::Private {
            secret,
            public: x25519_public(&secret),
        })
    }

    /// Parses an X25519 public key: 64 hex characters.
    pub fn public_from_hex(text: &str) -> Result<Self, FormatError> {
        Ok(Self::from_public_bytes(parse_32(text)?))
    }

    /// Parses an X25519 private key: 64 hex characters.
    pub fn private_from_hex(text: &str) -> Result<Self, FormatError> {
        Ok(Self::from_private_bytes(parse_32(text)?))
    }

    /// A fresh X25519 key pair from OS randomness: `(public, private)`.
    pub fn generate_pair() -> io::Result<(BackupKey, BackupKey)> {
        let private = Self::from_private_bytes(random_bytes()?);
        Ok((
            private.public_half().unwrap_or_else(|| private.clone()),
            private,
        ))
    }

    /// What this key is.
    pub fn kind(&self) -> KeyKind {
        match self.0 {
            Material::Symmetric(_) => KeyKind::Symmetric,
            Material::Public(_) => KeyKind::Public,
            Material::Private { .. } => KeyKind::Private,
        }
    }

    /// The public key of a key-pair half (`None` for a symmetric key).
    pub fn public_bytes(&self) -> Option<[u8; 32]> {
        match &self.0 {
            Material::Symmetric(_) => None,
            Material::Public(p) | Material::Private { public: p, .. } => Some(*p),
        }
    }

    /// The public half of a key-pair half as a key (`None` for a symmetric key).
    pub fn public_half(&self) -> Option<BackupKey> {
        self.public_bytes().map(Self::from_public_bytes)
    }

    /// The public key as 64 hex characters (`None` for a symmetric key).
    pub fn public_hex(&self) -> Option<String> {
        self.public_bytes().map(hex::encode)
    }

    /// The secret as 64 hex characters: a symmetric key or a private key (`None` for a public
    /// key). For key generation and exports only: never log it.
    pub fn secret_hex(&self) -> Option<String> {
        match &self.0 {
            Material::Symmetric(k) => Some(hex::encode(k)),
            Material::Private { secret, .. } => Some(hex::encode(secret)),
            Material::Public(_) => None,
        }
    }

    /// Identifies the key without revealing it: `SHA-256("dbackup key fingerprint v1\0" ‖
    /// key)[..8]` for a symmetric key, `SHA-256("dbackup public key fingerprint v1\0" ‖
    /// public key)[..8]` for either half of a key pair (both halves share it).
    pub fn fingerprint(&self) -> [u8; FINGERPRINT_LEN] {
        let (domain, bytes) = match &self.0 {
            Material::Symmetric(k) => (FINGERPRINT_DOMAIN, k),
            Material::Public(p) | Material::Private { public: p, .. } => {
                (PUBLIC_FINGERPRINT_DOMAIN, p)
            }
        };
        let digest = Sha256::new()
            .chain_update(domain)
            .chain_update(bytes)
            .finalize();
        let mut out = [0u8; FINGERPRINT_LEN];
        out.copy_from_slice(&digest[..FINGERPRINT_LEN]);
        out
    }

    /// The fingerprint as 16 lowercase hex characters.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint())
    }
}

/// Compression applied to the plaintext inside the container (recorded, not enforced); its
/// header id is [`Compression::id`].
pub use dbackup_protocol::Compression;

/// The parsed container header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Compression of the plaintext.
    pub compression: Compression,
    /// Plaintext bytes per chunk (every chunk but the last is exactly this long).
    pub chunk_size: u32,
    /// Fingerprint of the key that encrypted the chunks (version 2: of the recipient's public
    /// key).
    pub key_fingerprint: [u8; FINGERPRINT_LEN],
    /// Random per-file nonce prefix.
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
    /// Version 2 only: the ephemeral X25519 public key (header bytes 32..64).
    pub ephemeral_public: Option<[u8; 32]>,
}

impl Header {
    /// The container version: 1 (symmetric) or 2 (sealed to a public key).
    pub fn version(&self) -> u8 {
        if self.ephemeral_public.is_some() {
            VERSION_PUBLIC
        } else {
            VERSION
        }
    }

    /// Serializes the header (layout in `docs/FORMAT.md`): 32 bytes, 64 for version 2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; HEADER_LEN];
        out[..8].copy_from_slice(MAGIC);
        out[8] = self.version();
        out[9] = CIPHER_AES_256_GCM;
        out[10] = self.compression.id();
        out[11] = 0;
        out[12..16].copy_from_slice(&self.chunk_size.to_be_bytes());
        out[16..24].copy_from_slice(&self.key_fingerprint);
        out[24..31].copy_from_slice(&self.nonce_prefix);
        out[31] = 0;
        if let Some(e) = &self.ephemeral_public {
            out.extend_from_slice(e);
        }
        out
    }

    /// Parses and validates the common 32 header bytes. For version 2 the ephemeral public key
    /// (the next 32 bytes) is left `None`: [`DecryptReader`] reads it.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Self, FormatError> {
        if &bytes[..8] != MAGIC {
            return Err(FormatError::NotEncrypted);
        }
        if bytes[8] != VERSION && bytes[8] != VERSION_PUBLIC {
            return Err(FormatError::UnsupportedVersion(bytes[8]));
        }
        if bytes[9] != CIPHER_AES_256_GCM {
            return Err(FormatError::UnsupportedCipher(bytes[9]));
        }
        let compression =
            Compression::from_id(bytes[10]).ok_or(FormatError::BadHeader("compression id"))?;
        if bytes[11] != 0 || bytes[31] != 0 {
            return Err(FormatError::BadHeader("reserved byte not zero"));
        }
        let chunk_size = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(FormatError::BadHeader("chunk size out of range"));
        }
        let mut key_fingerprint = [0u8; FINGERPRINT_LEN];
        key_fingerprint.copy_from_slice(&bytes[16..24]);
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        nonce_prefix.copy_from_slice(&bytes[24..31]);
        Ok(Header {
            compression,
            chunk_size,
            key_fingerprint,
            nonce_prefix,
            ephemeral_public: None,
        })
    }

    fn nonce(&self, counter: u32, last: bool) -> [u8; 12] {
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(&self.nonce_prefix);
        nonce[7..11].copy_from_slice(&counter.to_be_bytes());
        nonce[11] = u8::from(last);
        nonce
    }
}

/// Why a container could not be read. Carried inside `io::Error` (kind `InvalidData`,
/// or `UnexpectedEof` for truncation); recover it with [`FormatError::from_io`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// The key is not 64 hex characters.
    BadKey,
    /// The data does not start with the `DBKENC01` magic.
    NotEncrypted,
    /// A newer format version.
    UnsupportedVersion(u8),
    /// An unknown cipher id.
    UnsupportedCipher(u8),
    /// A header field is invalid.
    BadHeader(&'static str),
    /// The header names a different key.
    WrongKey {
        /// Fingerprint in the header.
        expected: String,
        /// Fingerprint of the key supplied.
        actual: String,
    },
    /// Chunk `n` (0-based) failed authentication: corrupted, reordered, or header tampered.
    CorruptChunk(u64),
    /// The data ends before the final chunk (after `n` complete chunks).
    Truncated(u64),
    /// Chunk `n` is where the data ends but it does not authenticate: either the file was
    /// cut inside chunk `n` or that chunk is damaged.
    TruncatedOrCorrupt(u64),
    /// The file holds more than 2^32 chunks.
    TooLarge,
    /// The key is of the wrong kind for this container: `container` is its version, `key` what
    /// was supplied (a symmetric key for a version 2 container, a key-pair half for version 1,
    /// or a public key, which opens nothing).
    WrongKeyKind {
        /// The container's version.
        container: u8,
        /// What was supplied.
        key: KeyKind,
        /// The fingerprint in the header.
        fingerprint: String,
    },
    /// The container's ephemeral public key is of low order (no shared secret): forged.
    BadEphemeralKey,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::BadKey => f.write_str("the key must be 64 hex characters (32 bytes)"),
            FormatError::NotEncrypted => {
                f.write_str("not a dbackup encrypted file (magic DBKENC01 missing)")
            }
            FormatError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "unsupported container version {v} (this build reads 1 and 2)"
                )
            }
            FormatError::UnsupportedCipher(c) => write!(f, "unsupported cipher id {c}"),
            FormatError::BadHeader(what) => write!(f, "invalid container header: {what}"),
            FormatError::WrongKey { expected, actual } => write!(
                f,
                "wrong key: the file was encrypted with key {expected}, this key is {actual}"
            ),
            FormatError::CorruptChunk(n) => write!(
                f,
                "corrupt chunk {n}: authentication failed (modified, reordered or damaged data)"
            ),
            FormatError::Truncated(n) => {
                write!(
                    f,
                    "truncated: the file ends after {n} chunks, before the final chunk"
                )
            }
            FormatError::TruncatedOrCorrupt(n) => write!(
                f,
                "truncated or corrupt: the file ends inside chunk {n}, which does not authenticate"
            ),
            FormatError::TooLarge => f.write_str("too many chunks (more than 2^32)"),
            FormatError::WrongKeyKind {
                container: VERSION_PUBLIC,
                key,
                fingerprint,
            } => write!(
                f,
                "wrong kind of key: the file is encrypted to the public key {fingerprint} \
                 (a write-only profile) and only its private key opens it, not {}",
                key.name()
            ),
            FormatError::WrongKeyKind {
                key, fingerprint, ..
            } => write!(
                f,
                "wrong kind of key: the file is encrypted with the symmetric key {fingerprint}, \
                 not to a key pair; {} does not open it",
                key.name()
            ),
            FormatError::BadEphemeralKey => {
                f.write_str("invalid container header: the ephemeral public key is of low order")
            }
        }
    }
}

impl std::error::Error for FormatError {}

impl FormatError {
    fn into_io(self) -> io::Error {
        let kind = match self {
            FormatError::Truncated(_) | FormatError::TruncatedOrCorrupt(_) => {
                io::ErrorKind::UnexpectedEof
            }
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self)
    }

    /// Finds a `FormatError` inside an `io::Error` (possibly wrapped by a decompressor).
    pub fn from_io(error: &io::Error) -> Option<FormatError> {
        let mut source: Option<&(dyn std::error::Error + 'static)> =
            error.get_ref().map(|e| e as _);
        while let Some(e) = source {
            if let Some(f) = e.downcast_ref::<FormatError>() {
                return Some(f.clone());
            }
            if let Some(io) = e.downcast_ref::<io::Error>() {
                source = io.get_ref().map(|e| e as _);
                continue;
            }
            source = e.source();
        }
        None
    }
}

/// Fills a buffer with OS randomness.
pub fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).map_err(|e| io::Error::other(format!("getrandom: {e}")))?;
    Ok(out)
}

/// Streaming encryptor: buffers at most one chunk. Call [`EncryptWriter::finish`]; dropping
/// it without finishing leaves an unterminated container that readers reject as truncated.
/// A symmetric key writes version 1; a public key (or a private key: its public half) writes
/// version 2.
pub struct EncryptWriter<W: Write> {
    inner: W,
    cipher: Aes256Gcm,
    header: Header,
    aad: Vec<u8>,
    buf: Vec<u8>,
    counter: u64,
    header_written: bool,
}

impl<W: Write> EncryptWriter<W> {
    /// Starts a container with a random nonce prefix (and, for a public key, a fresh
    /// ephemeral key pair).
    pub fn new(
        inner: W,
        key: &BackupKey,
        compression: Compression,
        chunk_size: u32,
    ) -> io::Result<Self> {
        let ephemeral = match key.kind() {
            KeyKind::Symmetric => None,
            _ => Some(random_bytes()?),
        };
        Self::with_parameters(
            inner,
            key,
            compression,
            chunk_size,
            random_bytes()?,
            ephemeral,
        )
    }

    /// Starts a container with a given nonce prefix (test vectors only: never reuse a prefix
    /// with the same key).
    pub fn with_nonce_prefix(
        inner: W,
        key: &BackupKey,
        compression: Compression,
        chunk_size: u32,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> io::Result<Self> {
        let ephemeral = match key.kind() {
            KeyKind::Symmetric => None,
            _ => Some(random_bytes()?),
        };
        Self::with_parameters(inner, key, compression, chunk_size, nonce_prefix, ephemeral)
    }

    /// Starts a container with a given nonce prefix and, for a key-pair key, ephemeral private
    /// key (test vectors only: both must be fresh random values for real objects).
    pub fn with_parameters(
        inner: W,
        key: &BackupKey,
        compression: Compression,
        chunk_size: u32,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
        ephemeral_secret: Option<[u8; 32]>,
    ) -> io::Result<Self> {
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "chunk size out of range",
            ));
        }
        let (cipher, ephemeral_public) = match (&key.0, ephemeral_secret) {
            (Material::Symmetric(k), _) => (aes(k), None),
            (
                Material::Public(recipient)
                | Material::Private {
                    public: recipient, ..
                },
                Some(e),
            ) => {
                let ephemeral = x25519_public(&e);
                let shared = x25519(&e, recipient).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "the public key is of low order (not a usable X25519 key)",
                    )
                })?;
                (
                    aes(&content_key(&shared, &ephemeral, recipient)),
                    Some(ephemeral),
                )
            }
            (_, None) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a public-key container needs an ephemeral key",
                ))
            }
        };
        let header = Header {
            compression,
            chunk_size,
            key_fingerprint: key.fingerprint(),
            nonce_prefix,
            ephemeral_public,
        };
        Ok(EncryptWriter {
            inner,
            cipher,
            aad: header.to_bytes(),
            header,
            buf: Vec::with_capacity(chunk_size as usize + TAG_LEN),
            counter: 0,
            header_written: false,
        })
    }

    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.inner.write_all(&self.aad)?;
            self.header_written = true;
        }
        Ok(())
    }

    fn seal_chunk(&mut self, last: bool) -> io::Result<()> {
        self.write_header()?;
        let counter = u32::try_from(self.counter).map_err(|_| FormatError::TooLarge.into_io())?;
        let nonce = self.header.nonce(counter, last);
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &self.aad, &mut self.buf)
            .map_err(|_| io::Error::other("AES-GCM encryption failed"))?;
        self.inner.write_all(&self.buf)?;
        self.inner.write_all(&tag)?;
        self.buf.clear();
        self.counter += 1;
        Ok(())
    }

    /// Writes the final chunk and returns the inner writer (not flushed).
    pub fn finish(mut self) -> io::Result<W> {
        self.seal_chunk(true)?;
        Ok(self.inner)
    }

    /// Access to the inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let chunk = self.header.chunk_size as usize;
        // A full buffer is sealed only once more data arrives, so the last chunk may be full.
        if self.buf.len() == chunk {
            self.seal_chunk(false)?;
        }
        let take = data.len().min(chunk - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Streaming decryptor: returns a chunk's plaintext only after its tag verified. Holds one
/// chunk (plus one byte of look-ahead) in memory. Opens version 1 with the symmetric key,
/// version 2 with the private key.
pub struct DecryptReader<R: Read> {
    inner: R,
    cipher: Aes256Gcm,
    header: Header,
    aad: Vec<u8>,
    /// Ciphertext of the current chunk; after decryption, its plaintext.
    buf: Vec<u8>,
    pos: usize,
    /// One byte read past the previous chunk (proves it was not the last).
    lookahead: Option<u8>,
    counter: u64,
    done: bool,
    /// The first error; every later read repeats it (never a silent EOF after a failure).
    failed: Option<FormatError>,
}

impl<R: Read> DecryptReader<R> {
    /// Reads and checks the header (including the key's kind and fingerprint): a wrong key
    /// is refused here, before any chunk is read.
    pub fn new(mut inner: R, key: &BackupKey) -> Result<Self, FormatError> {
        let mut raw = [0u8; HEADER_LEN];
        read_full(&mut inner, &mut raw)
            .map_err(|_| FormatError::BadHeader("unreadable"))
            .and_then(|n| {
                if n < 8 || &raw[..8] != MAGIC {
                    Err(FormatError::NotEncrypted)
                } else if n < HEADER_LEN {
                    Err(FormatError::Truncated(0))
                } else {
                    Ok(())
                }
            })?;
        let mut header = Header::parse(&raw)?;
        let mut aad = raw.to_vec();
        let fingerprint = hex::encode(header.key_fingerprint);
        let wrong_kind = |container: u8| FormatError::WrongKeyKind {
            container,
            key: key.kind(),
            fingerprint: fingerprint.clone(),
        };
        let cipher = match (raw[8], &key.0) {
            (VERSION, Material::Symmetric(k)) => {
                check_fingerprint(&header, key)?;
                aes(k)
            }
            (VERSION, _) => return Err(wrong_kind(VERSION)),
            (_, Material::Private { secret, public }) => {
                let mut ephemeral = [0u8; 32];
                let n = read_full(&mut inner, &mut ephemeral)
                    .map_err(|_| FormatError::BadHeader("unreadable"))?;
                if n < ephemeral.len() {
                    return Err(FormatError::Truncated(0));
                }
                header.ephemeral_public = Some(ephemeral);
                aad.extend_from_slice(&ephemeral);
                check_fingerprint(&header, key)?;
                let shared = x25519(secret, &ephemeral).ok_or(FormatError::BadEphemeralKey)?;
                aes(&content_key(&shared, &ephemeral, public))
            }
            (_, _) => return Err(wrong_kind(VERSION_PUBLIC)),
        };
        Ok(DecryptReader {
            inner,
            cipher,
            aad,
            header,
            buf: Vec::with_capacity(header.chunk_size as usize + TAG_LEN),
            pos: 0,
            lookahead: None,
            counter: 0,
            done: false,
            failed: None,
        })
    }

    /// The container header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Reads, authenticates and decrypts the next chunk into `buf`.
    fn next_chunk(&mut self) -> io::Result<()> {
        let sealed = self.header.chunk_size as usize + TAG_LEN;
        self.buf.clear();
        self.buf.resize(sealed, 0);
        let mut filled = 0;
        if let Some(b) = self.lookahead.take() {
            self.buf[0] = b;
            filled = 1;
        }
        filled += read_full(&mut self.inner, &mut self.buf[filled..])?;
        let last = if filled < sealed {
            true
        } else {
            let mut one = [0u8; 1];
            match read_full(&mut self.inner, &mut one)? {
                0 => true,
                _ => {
                    self.lookahead = Some(one[0]);
                    false
                }
            }
        };
        if filled < TAG_LEN {
            self.buf.clear();
            self.pos = 0;
            let error = FormatError::Truncated(self.counter);
            self.failed = Some(error.clone());
            return Err(error.into_io());
        }
        self.buf.truncate(filled);
        let counter = u32::try_from(self.counter).map_err(|_| FormatError::TooLarge.into_io())?;
        let tag_at = filled - TAG_LEN;
        let tag = *Tag::from_slice(&self.buf[tag_at..]);
        self.buf.truncate(tag_at);
        let nonce = self.header.nonce(counter, last);
        if self
            .cipher
            .decrypt_in_place_detached(Nonce::from_slice(&nonce), &self.aad, &mut self.buf, &tag)
            .is_err()
        {
            // The tag is checked before anything is decrypted, so `buf` still holds the
            // ciphertext: if it authenticates as a non-final chunk, the file was cut after it.
            let error = if last
                && self
                    .cipher
                    .decrypt_in_place_detached(
                        Nonce::from_slice(&self.header.nonce(counter, false)),
                        &self.aad,
                        &mut self.buf,
                        &tag,
                    )
                    .is_ok()
            {
                FormatError::Truncated(self.counter + 1)
            } else if last && filled < sealed && self.counter > 0 {
                FormatError::TruncatedOrCorrupt(self.counter)
            } else {
                FormatError::CorruptChunk(self.counter)
            };
            self.buf.clear();
            self.pos = 0;
            self.failed = Some(error.clone());
            return Err(error.into_io());
        }
        self.pos = 0;
        self.counter += 1;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if let Some(error) = &self.failed {
                return Err(error.clone().into_io());
            }
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn check_fingerprint(header: &Header, key: &BackupKey) -> Result<(), FormatError> {
    if header.key_fingerprint != key.fingerprint() {
        return Err(FormatError::WrongKey {
            expected: hex::encode(header.key_fingerprint),
            actual: key.fingerprint_hex(),
        });
    }
    Ok(())
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub mod vectors;

#[cfg(test)]
mod tests;
