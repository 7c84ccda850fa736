//! Reading DBackup's backups (`dbackup_protocol::dbackup`): AES-256-GCM over the whole
//! compressed stream with a raw 32-byte key and a 16-byte IV, the tag in the sidecar.
//!
//! GCM is computed here from its parts (AES-CTR from `inc32(J0)`, GHASH over the ciphertext),
//! streamed: DBackup's IV is 16 bytes, so `J0 = GHASH(IV ‖ 0^64 ‖ [128]_64)` (NIST SP 800-38D
//! §7.1), and the one tag covers the whole object, so nothing is authenticated before the last
//! byte. A restore therefore reads the object twice (docs/STORAGE.md): the verification pass
//! runs [`open`] to the end and drops what it yields; only when the tag matched does the second
//! pass feed a target. The reader reports a tag mismatch as an error at EOF, never as a short
//! stream.

use std::io::{self, Read};

use aes::cipher::{BlockEncrypt, KeyInit, KeyIvInit, StreamCipher};
use aes::Aes256;
use dbackup_protocol::dbackup::{DbackupEncryption, DbackupMeta};
use dbackup_protocol::Compression;
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use subtle::ConstantTimeEq;

type Ctr = ctr::Ctr32BE<Aes256>;

/// The error at EOF of an object whose tag does not match.
pub const AUTH_FAILED: &str =
    "DBackup object not authenticated: wrong key, or the object or its sidecar was altered";

/// Decrypts a DBackup AES-256-GCM stream and checks its tag at the end.
pub struct GcmReader<R: Read> {
    inner: R,
    ctr: Ctr,
    ghash: GHash,
    /// Ciphertext bytes not yet a whole GHASH block.
    pending: [u8; 16],
    pending_len: usize,
    total: u64,
    tag_mask: [u8; 16],
    expected: [u8; 16],
    done: bool,
}

impl<R: Read> GcmReader<R> {
    /// A reader of `inner` (the stored bytes) under `key` with DBackup's `iv` and tag.
    pub fn new(inner: R, key: &[u8; 32], encryption: &DbackupEncryption) -> Self {
        let cipher = Aes256::new(key.into());
        let mut h = aes::Block::default();
        cipher.encrypt_block(&mut h);
        let j0: [u8; 16] = if encryption.iv.len() == 12 {
            let mut j = [0u8; 16];
            j[..12].copy_from_slice(&encryption.iv);
            j[15] = 1;
            j
        } else {
            let mut g = GHash::new(&h);
            g.update_padded(&encryption.iv);
            let mut lengths = [0u8; 16];
            lengths[8..].copy_from_slice(&((encryption.iv.len() as u64) * 8).to_be_bytes());
            g.update(&[lengths.into()]);
            g.finalize().into()
        };
        let mut tag_mask = aes::Block::from(j0);
        cipher.encrypt_block(&mut tag_mask);
        let mut counter = j0;
        let low = u32::from_be_bytes([counter[12], counter[13], counter[14], counter[15]]);
        counter[12..].copy_from_slice(&low.wrapping_add(1).to_be_bytes());
        GcmReader {
            inner,
            ctr: Ctr::new(key.into(), &counter.into()),
            ghash: GHash::new(&h),
            pending: [0; 16],
            pending_len: 0,
            total: 0,
            tag_mask: tag_mask.into(),
            expected: encryption.auth_tag,
            done: false,
        }
    }

    fn absorb(&mut self, mut data: &[u8]) {
        if self.pending_len > 0 {
            let take = (16 - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < 16 {
                return;
            }
            self.ghash.update(&[self.pending.into()]);
            self.pending_len = 0;
        }
        let whole = data.len() / 16 * 16;
        for block in data[..whole].chunks_exact(16) {
            let block: [u8; 16] = block.try_into().unwrap_or([0; 16]);
            self.ghash.update(&[block.into()]);
        }
        let rest = &data[whole..];
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    fn check_tag(&mut self) -> io::Result<()> {
        let mut ghash = self.ghash.clone();
        if self.pending_len > 0 {
            ghash.update_padded(&self.pending[..self.pending_len]);
        }
        let mut lengths = [0u8; 16];
        lengths[8..].copy_from_slice(&(self.total * 8).to_be_bytes());
        ghash.update(&[lengths.into()]);
        let mut tag: [u8; 16] = ghash.finalize().into();
        for (t, m) in tag.iter_mut().zip(self.tag_mask) {
            *t ^= m;
        }
        if bool::from(tag.ct_eq(&self.expected)) {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::InvalidData, AUTH_FAILED))
        }
    }
}

impl<R: Read> Read for GcmReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.check_tag()?;
            self.done = true;
            return Ok(0);
        }
        self.absorb(&buf[..n]);
        self.total += n as u64;
        // GCM limits one message to 2^39 - 256 bits.
        if self.total > (1u64 << 36) - 32 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "DBackup object larger than GCM allows",
            ));
        }
        self.ctr.apply_keystream(&mut buf[..n]);
        Ok(n)
    }
}

/// The payload of a DBackup object: decrypted (when `meta` says encrypted, with `key`) and
/// decompressed. The reader returns EOF only after the whole stored stream was read and, when
/// encrypted, its tag matched: a decompressor that stops at its end marker is followed by a
/// drain of the rest. `Err` before reading anything: encrypted without a key, or unencrypted
/// without `accept_unauthenticated`.
pub fn open<'a, R: Read + Send + 'a>(
    inner: R,
    meta: &DbackupMeta,
    key: Option<&[u8; 32]>,
    accept_unauthenticated: bool,
) -> Result<Box<dyn Read + Send + 'a>, String> {
    let stored: Box<dyn Read + Send + 'a> = match (&meta.encryption, key) {
        (Some(e), Some(k)) => Box::new(GcmReader::new(inner, k, e)),
        (Some(_), None) => {
            return Err(
                "the DBackup object is encrypted: choose the \"DBackup import\" profile holding its key"
                    .into(),
            )
        }
        (None, _) if !accept_unauthenticated => {
            return Err("the DBackup object is not encrypted, so nothing authenticates it: \
                 restore it only with acceptUnauthenticated: true"
                .into())
        }
        (None, _) => Box::new(inner),
    };
    Ok(Box::new(Payload {
        decoder: Decoder::new(meta.compression, stored)?,
        finished: false,
    }))
}

enum Decoder<R: Read> {
    None(R),
    Gzip(Box<flate2::read::MultiGzDecoder<R>>),
    Brotli(Box<brotli::Decompressor<R>>),
}

impl<R: Read> Decoder<R> {
    fn new(compression: Compression, inner: R) -> Result<Self, String> {
        Ok(match compression {
            Compression::None => Decoder::None(inner),
            Compression::Gzip => Decoder::Gzip(Box::new(flate2::read::MultiGzDecoder::new(inner))),
            Compression::Brotli => {
                Decoder::Brotli(Box::new(brotli::Decompressor::new(inner, 64 * 1024)))
            }
            Compression::Zstd => return Err("DBackup never wrote zstd".into()),
        })
    }

    fn stored(&mut self) -> &mut R {
        match self {
            Decoder::None(r) => r,
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::Brotli(d) => d.get_mut(),
        }
    }
}

struct Payload<R: Read> {
    decoder: Decoder<R>,
    finished: bool,
}

impl<R: Read> Read for Payload<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.finished || buf.is_empty() {
            return Ok(0);
        }
        let read = match &mut self.decoder {
            Decoder::None(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Brotli(d) => d.read(buf),
        };
        let n = match read {
            Ok(n) => n,
            // Bytes that do not decompress are most likely bytes that were changed: read to
            // the end so that a tag mismatch is reported as what it is (an error of the
            // stored stream itself, or a dump DBackup wrote corrupt, stays as it is).
            Err(e) => {
                self.finished = true;
                let mut rest = [0u8; 8192];
                loop {
                    match self.decoder.stored().read(&mut rest) {
                        Ok(0) => return Err(e),
                        Ok(_) => {}
                        Err(auth) if auth.to_string() == AUTH_FAILED => return Err(auth),
                        Err(_) => return Err(e),
                    }
                }
            }
        };
        if n == 0 {
            // The decompressor's end is not the object's: read the rest, so that the tag is
            // checked (and trailing bytes are authenticated, then refused).
            let mut rest = [0u8; 8192];
            let mut trailing = 0u64;
            loop {
                let m = self.decoder.stored().read(&mut rest)?;
                if m == 0 {
                    break;
                }
                trailing += m as u64;
            }
            if trailing > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{trailing} bytes after the end of the compressed stream"),
                ));
            }
            self.finished = true;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::consts::U16;
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::AesGcm;
    use std::io::Write;

    type Aes256Gcm16 = AesGcm<Aes256, U16>;

    /// What DBackup writes (Node's `createCipheriv('aes-256-gcm', key, iv16)`), one-shot.
    fn seal(key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> (Vec<u8>, [u8; 16]) {
        let cipher = Aes256Gcm16::new(key.into());
        let mut data = plain.to_vec();
        let tag = cipher
            .encrypt_in_place_detached(iv.into(), b"", &mut data)
            .unwrap();
        (data, tag.into())
    }

    fn meta(compression: Compression, enc: Option<(&[u8; 16], [u8; 16])>) -> DbackupMeta {
        DbackupMeta {
            source_type: "postgres".into(),
            engine: "postgresql".into(),
            job_name: "j".into(),
            timestamp: None,
            engine_version: None,
            databases: vec![],
            compression,
            encryption: enc.map(|(iv, tag)| DbackupEncryption {
                iv: iv.to_vec(),
                auth_tag: tag,
                profile_id: None,
            }),
        }
    }

    /// Reads in odd-sized pieces, so that GHASH blocks straddle reads.
    struct Dribble<R>(R, usize);
    impl<R: Read> Read for Dribble<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 = self.1 % 37 + 1;
            let n = self.1.min(buf.len());
            self.0.read(&mut buf[..n])
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(r: &mut dyn Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out).map(|_| out)
    }

    #[test]
    fn decrypts_what_gcm_with_a_16_byte_iv_sealed_and_refuses_any_change() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        let plain: Vec<u8> = (0..100_003u32).map(|i| (i * 31 % 251) as u8).collect();
        let packed = gzip(&plain);
        let (sealed, tag) = seal(&key, &iv, &packed);
        let m = meta(Compression::Gzip, Some((&iv, tag)));
        let mut r = open(Dribble(&sealed[..], 0), &m, Some(&key), false).unwrap();
        assert_eq!(read_all(&mut r).unwrap(), plain);
        // A flipped byte anywhere, a wrong key, a wrong tag, a truncation: refused at the end.
        let mut tampered = sealed.clone();
        tampered[sealed.len() / 2] ^= 1;
        // Through the decompressor too: the changed byte breaks gzip first, and the error
        // reported is still the tag's.
        let mut r = open(&tampered[..], &m, Some(&key), false).unwrap();
        assert_eq!(read_all(&mut r).unwrap_err().to_string(), AUTH_FAILED);
        for (data, k) in [
            (&tampered[..], key),
            (&sealed[..], [8u8; 32]),
            (&sealed[..sealed.len() - 1], key),
        ] {
            let mut r = GcmReader::new(data, &k, m.encryption.as_ref().unwrap());
            let e = read_all(&mut r).unwrap_err();
            assert_eq!(e.to_string(), AUTH_FAILED);
        }
        let mut wrong = m.clone();
        wrong.encryption.as_mut().unwrap().auth_tag[0] ^= 1;
        let mut r = GcmReader::new(&sealed[..], &key, wrong.encryption.as_ref().unwrap());
        assert!(read_all(&mut r).is_err());
    }

    #[test]
    fn brotli_none_and_the_refusals_before_reading() {
        let key = [1u8; 32];
        let iv = [2u8; 16];
        let plain = b"CREATE TABLE t (id int);\n".repeat(1000);
        let mut packed = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut packed, 4096, 5, 22);
            w.write_all(&plain).unwrap();
        }
        let (sealed, tag) = seal(&key, &iv, &packed);
        let m = meta(Compression::Brotli, Some((&iv, tag)));
        let mut r = open(&sealed[..], &m, Some(&key), false).unwrap();
        assert_eq!(read_all(&mut r).unwrap(), plain);
        // Brotli stops at its end marker: the rest is still read, so the tag is still checked.
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        let mut r = open(&tampered[..], &m, Some(&key), false).unwrap();
        assert!(read_all(&mut r).is_err());
        assert!(open(&sealed[..], &m, None, true).is_err());
        let plain_meta = meta(Compression::None, None);
        assert!(open(&plain[..], &plain_meta, None, false).is_err());
        let mut r = open(&plain[..], &plain_meta, None, true).unwrap();
        assert_eq!(read_all(&mut r).unwrap(), plain);
    }

    #[test]
    fn nist_style_vector_with_a_96_bit_iv_matches_aes_gcm() {
        // The same reader with a 12-byte IV (J0 = IV ‖ 1) agrees with aes-gcm's own.
        let key = [3u8; 32];
        let iv12 = [4u8; 12];
        let cipher = aes_gcm::Aes256Gcm::new((&key).into());
        let mut data = b"hello gcm".to_vec();
        let tag = cipher
            .encrypt_in_place_detached((&iv12).into(), b"", &mut data)
            .unwrap();
        let enc = DbackupEncryption {
            iv: iv12.to_vec(),
            auth_tag: tag.into(),
            profile_id: None,
        };
        let mut r = GcmReader::new(&data[..], &key, &enc);
        assert_eq!(read_all(&mut r).unwrap(), b"hello gcm");
    }
}
