//! Sealing small documents (config backups) with the backup pipeline's own stages, and the
//! reverse (docs/CONTRACTS.md, "v3 additions"):
//!
//! - [`seal_to_storage`]: `POST /v1/storage/put` with `compression`/`encryption` — the content
//!   goes through [`crate::stream::run_backup_stream`] (compress → encrypt → SHA-256) into the
//!   storage's atomic writer, exactly like a backup of those bytes;
//! - `POST /v1/unseal` `{contentBase64, keyHex?, compression?, name?}` → the plaintext:
//!   decrypts a `DBKENC01` container (tags verified before anything is returned), then
//!   decompresses per the header, the request, or the gzip/zstd magic. With a key, or a `name`
//!   ending in `.dbk`, the content must be a container: storage is not trusted, and plaintext
//!   where an encrypted document is expected is someone else's document.
//!
//! Inputs are bounded ([`MAX_SEALED_BYTES`]) and so is the decompressed output
//! ([`MAX_UNSEALED_BYTES`]): the answer is built in memory so that a wrong key or a corrupt
//! chunk is a clean 422, never a truncated 200.

use std::io::{self, Read};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use dbackup_protocol::seal::UnsealRequest;
use dbackup_protocol::ENCRYPTED_SUFFIX;
use http::{header, HeaderValue, Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::error::Error;
use crate::format::{BackupKey, Compression, DecryptReader, FormatError, MAGIC};
use crate::http::{authorize, boxed, parse, ResponseBody, State};
use crate::storage::{self, LocalRoots, StorageSpec};
use crate::stream::{describe_io_error, run_backup_stream, Decompressor, Progress};

/// Largest plaintext a sealed put accepts, and largest decoded input of unseal (32 MiB).
pub const MAX_SEALED_BYTES: usize = 32 * 1024 * 1024;
/// Largest request body of a sealed put or an unseal: base64 of [`MAX_SEALED_BYTES`] plus
/// JSON escaping headroom.
pub const MAX_SEALED_BODY_BYTES: usize = MAX_SEALED_BYTES / 3 * 4 + 4 * 1024 * 1024;
/// Largest plaintext unseal returns (a decompression bomb stops here with a 422).
pub const MAX_UNSEALED_BYTES: usize = 256 * 1024 * 1024;
/// How long a client may take to send a (large) body.
const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// What a sealed put stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sealed {
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

/// Writes `content` compressed and/or encrypted as `name` (replacing an existing object when
/// `overwrite`), through the backup pipeline, committed atomically.
pub(crate) fn seal_to_storage(
    spec: &StorageSpec,
    roots: &LocalRoots,
    name: &str,
    content: &[u8],
    compression: Compression,
    key: Option<&BackupKey>,
    overwrite: bool,
) -> io::Result<Sealed> {
    let s = storage::open(spec, roots)?;
    storage::validate_name(name)?;
    if overwrite {
        s.delete(name)?;
    }
    let mut writer = s.put(name)?;
    let progress = Progress::default();
    let summary = run_backup_stream(content, compression, None, key, &mut writer, &progress)?;
    writer.commit()?;
    Ok(Sealed {
        size: summary.bytes_out,
        sha256: summary.sha256,
    })
}

/// Why unsealing failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UnsealError {
    /// The input is a container and no key was given (400).
    KeyRequired,
    /// The key is not 64 hex characters (400).
    BadKey,
    /// Wrong key, corrupt or truncated container, or undecodable compression (422).
    Unreadable(String),
    /// The plaintext is larger than [`MAX_UNSEALED_BYTES`] (422).
    TooLarge,
    /// A container was required (a key was given, or the name says encrypted) and the content
    /// is not one (422).
    NotEncrypted,
}

/// Decrypts (when `data` is a container) and decompresses (per the header, else `hint`, else
/// the gzip/zstd magic) into memory. With a key, or when `container_required`, `data` must be
/// a container.
pub(crate) fn unseal(
    data: &[u8],
    key_hex: Option<&str>,
    hint: Option<Compression>,
    container_required: bool,
) -> Result<Vec<u8>, UnsealError> {
    let encrypted = data.starts_with(MAGIC);
    if !encrypted && (container_required || key_hex.is_some()) {
        return Err(UnsealError::NotEncrypted);
    }
    let plain_compressed: Vec<u8>;
    let (payload, compression): (&[u8], Compression) = if encrypted {
        let key_hex = key_hex.ok_or(UnsealError::KeyRequired)?;
        let key = BackupKey::from_hex(key_hex).map_err(|_| UnsealError::BadKey)?;
        let mut reader =
            DecryptReader::new(data, &key).map_err(|e| UnsealError::Unreadable(e.to_string()))?;
        let compression = reader.header().compression;
        let mut out = Vec::with_capacity(data.len());
        reader
            .read_to_end(&mut out)
            .map_err(|e| UnsealError::Unreadable(describe_io_error(&e)))?;
        plain_compressed = out;
        (&plain_compressed, compression)
    } else {
        let sniffed = if data.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        };
        (data, hint.unwrap_or(sniffed))
    };
    let decoder = Decompressor::new(compression, payload)
        .map_err(|e| UnsealError::Unreadable(describe_io_error(&e)))?;
    let mut out = Vec::new();
    let read = decoder
        .take(MAX_UNSEALED_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            UnsealError::Unreadable(format!(
                "cannot decompress ({compression:?}): {}",
                describe_io_error(&e)
            ))
        })?;
    if read > MAX_UNSEALED_BYTES {
        return Err(UnsealError::TooLarge);
    }
    Ok(out)
}

/// `POST /v1/unseal`.
pub(crate) async fn route(
    state: &State,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Error> {
    authorize(&req, state.config.token.as_bytes())?;
    if req.method() != Method::POST {
        return Err(Error::MethodNotAllowed("POST"));
    }
    let r: UnsealRequest = parse(read_json_up_to(req, MAX_SEALED_BODY_BYTES).await?)?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(r.content_base64.trim())
        .map_err(|e| Error::InvalidBody(format!("contentBase64: {e}")))?;
    if data.len() > MAX_SEALED_BYTES {
        return Err(Error::ContentTooLarge {
            what: "contentBase64 (decoded)",
            limit: MAX_SEALED_BYTES,
        });
    }
    let container_required = r
        .name
        .as_deref()
        .is_some_and(|n| n.ends_with(ENCRYPTED_SUFFIX));
    let outcome = tokio::task::spawn_blocking(move || {
        unseal(
            &data,
            r.key_hex.as_deref(),
            r.compression,
            container_required,
        )
    })
    .await
    .map_err(|e| Error::Internal(format!("unseal failed: {e}")))?;
    match outcome {
        Ok(plain) => {
            let mut response = Response::new(Full::new(Bytes::from(plain)));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            Ok(boxed(response))
        }
        Err(UnsealError::KeyRequired) => Err(Error::KeyRequired),
        Err(UnsealError::BadKey) => Err(Error::InvalidBody(format!(
            "keyHex: {}",
            FormatError::BadKey
        ))),
        Err(UnsealError::Unreadable(details)) => Err(cannot_unseal(details)),
        Err(UnsealError::NotEncrypted) => {
            Err(cannot_unseal(crate::stream::NOT_ENCRYPTED.to_owned()))
        }
        Err(UnsealError::TooLarge) => Err(cannot_unseal(format!(
            "the decompressed content exceeds {MAX_UNSEALED_BYTES} bytes"
        ))),
    }
}

fn cannot_unseal(details: String) -> Error {
    Error::Unreadable {
        error: "cannot unseal",
        details,
    }
}

/// Reads a JSON body of at most `limit` bytes (413 beyond), allowing sealed payloads more time.
pub(crate) async fn read_json_up_to(
    req: Request<Incoming>,
    limit: usize,
) -> Result<serde_json::Value, Error> {
    crate::http::read_json_within(req, limit, BODY_TIMEOUT).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::EncryptWriter;
    use crate::stream::Compressor;
    use std::io::Write;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn sealed(plain: &[u8], compression: Compression, key: Option<&BackupKey>) -> Vec<u8> {
        let mut out = Vec::new();
        let progress = Progress::default();
        run_backup_stream(plain, compression, None, key, &mut out, &progress).unwrap();
        out
    }

    #[test]
    fn round_trips_every_compression() {
        let key = BackupKey::from_hex(KEY).unwrap();
        let plain = b"{\"kind\":\"dbackup-config\"}".repeat(1000);
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Zstd,
            Compression::Brotli,
        ] {
            let enc = sealed(&plain, c, Some(&key));
            assert!(enc.starts_with(MAGIC));
            assert_eq!(
                unseal(&enc, Some(KEY), None, false).unwrap(),
                plain,
                "{c:?}"
            );
            let bare = sealed(&plain, c, None);
            assert_eq!(unseal(&bare, None, Some(c), false).unwrap(), plain, "{c:?}");
        }
        // gzip and zstd are recognised without a hint
        let gz = sealed(&plain, Compression::Gzip, None);
        assert_eq!(unseal(&gz, None, None, false).unwrap(), plain);
        let zst = sealed(&plain, Compression::Zstd, None);
        assert_eq!(unseal(&zst, None, None, false).unwrap(), plain);
    }

    #[test]
    fn refuses_wrong_key_corruption_and_missing_key() {
        let key = BackupKey::from_hex(KEY).unwrap();
        let enc = sealed(b"secret document", Compression::Gzip, Some(&key));
        assert_eq!(
            unseal(&enc, None, None, false),
            Err(UnsealError::KeyRequired)
        );
        assert_eq!(
            unseal(&enc, Some("zz"), None, false),
            Err(UnsealError::BadKey)
        );
        let other = "ff".repeat(32);
        match unseal(&enc, Some(&other), None, false) {
            Err(UnsealError::Unreadable(m)) => assert!(m.starts_with("wrong key"), "{m}"),
            e => panic!("{e:?}"),
        }
        let mut bad = enc.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        match unseal(&bad, Some(KEY), None, false) {
            Err(UnsealError::Unreadable(m)) => assert!(m.contains("chunk 0"), "{m}"),
            e => panic!("{e:?}"),
        }
        match unseal(b"not gzip at all", None, Some(Compression::Gzip), false) {
            Err(UnsealError::Unreadable(m)) => assert!(m.contains("decompress"), "{m}"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn plaintext_is_refused_where_a_container_is_expected() {
        let plain = sealed(b"{\"kind\":\"dbackup-config\"}", Compression::Gzip, None);
        assert_eq!(
            unseal(&plain, Some(KEY), None, false),
            Err(UnsealError::NotEncrypted),
            "a key was given"
        );
        assert_eq!(
            unseal(&plain, None, None, true),
            Err(UnsealError::NotEncrypted),
            "the name says encrypted"
        );
        assert!(unseal(&plain, None, None, false).is_ok());
        let key = BackupKey::from_hex(KEY).unwrap();
        let enc = sealed(b"doc", Compression::Gzip, Some(&key));
        assert_eq!(unseal(&enc, Some(KEY), None, true).unwrap(), b"doc");
    }

    #[test]
    fn header_compression_wins_over_the_hint() {
        let key = BackupKey::from_hex(KEY).unwrap();
        let mut out = Vec::new();
        let enc = EncryptWriter::new(&mut out, &key, Compression::Zstd, 64).unwrap();
        let mut c = Compressor::new(Compression::Zstd, None, enc).unwrap();
        c.write_all(b"hello").unwrap();
        c.finish().unwrap().finish().unwrap();
        assert_eq!(
            unseal(&out, Some(KEY), Some(Compression::Gzip), false).unwrap(),
            b"hello"
        );
    }
}
