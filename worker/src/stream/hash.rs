//! SHA-256 + byte-count tees.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// Writer tee: hashes and counts everything written through it. Remembers the first error of
/// the inner writer so that a stage that swallows errors (brotli's finish) cannot hide it.
pub struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
    error: Option<io::ErrorKind>,
}

impl<W: Write> HashWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
            error: None,
        }
    }

    /// Returns the inner writer, the byte count and the hex SHA-256.
    pub fn finish(self) -> io::Result<(W, u64, String)> {
        if let Some(kind) = self.error {
            return Err(io::Error::new(kind, "an earlier write to storage failed"));
        }
        Ok((self.inner, self.count, hex::encode(self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.inner.write(data) {
            Ok(n) => {
                self.hasher.update(&data[..n]);
                self.count += n as u64;
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.error.get_or_insert(e.kind());
                }
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reader tee: hashes and counts everything read through it.
pub struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Byte count and hex SHA-256 of what was read so far.
    pub fn finish(self) -> (u64, String) {
        (self.count, hex::encode(self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
