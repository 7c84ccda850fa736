//! Streaming compression and decompression for NONE, GZIP, ZSTD and BROTLI.

use std::io::{self, BufReader, Read, Write};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::format::Compression;

/// gzip level used when none is given.
pub const DEFAULT_GZIP_LEVEL: i32 = 6;
/// zstd level used when none is given.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;
/// Brotli quality used when none is given (11 is far too slow for dumps).
pub const DEFAULT_BROTLI_LEVEL: i32 = 5;
/// Brotli window (log2 bytes): 4 MiB.
const BROTLI_LGWIN: u32 = 22;
/// Input bytes per zstd worker job (multi-threaded mode); zstd's minimum is 512 KiB.
const ZSTD_JOB_SIZE: u32 = 1024 * 1024;
/// Largest zstd worker count (memory grows with each worker's job buffers).
const MAX_ZSTD_WORKERS: u32 = 4;

/// Checks a level against the algorithm's range; `None` picks the default.
pub fn resolve_level(compression: Compression, level: Option<i32>) -> Result<i32, String> {
    let (default, range) = match compression {
        Compression::None => return Ok(0),
        Compression::Gzip => (DEFAULT_GZIP_LEVEL, 1..=9),
        Compression::Zstd => (DEFAULT_ZSTD_LEVEL, 1..=19),
        Compression::Brotli => (DEFAULT_BROTLI_LEVEL, 0..=11),
    };
    let level = level.unwrap_or(default);
    if range.contains(&level) {
        Ok(level)
    } else {
        Err(format!(
            "level {level} is out of range {}..={} for {compression:?}",
            range.start(),
            range.end()
        ))
    }
}

/// A streaming compressor; [`Compressor::finish`] writes the trailer and returns the inner writer.
pub enum Compressor<W: Write> {
    /// Pass-through.
    None(W),
    /// gzip via flate2 (zlib-rs backend).
    Gzip(GzEncoder<W>),
    /// zstd, multi-threaded when more than one CPU is available, with a content checksum.
    Zstd(zstd::stream::write::Encoder<'static, W>),
    /// Brotli.
    Brotli(Box<brotli::CompressorWriter<W>>),
}

impl<W: Write> Compressor<W> {
    /// Creates the compressor for `compression` at `level` (default if `None`).
    pub fn new(compression: Compression, level: Option<i32>, inner: W) -> io::Result<Self> {
        let level = resolve_level(compression, level)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(match compression {
            Compression::None => Compressor::None(inner),
            Compression::Gzip => Compressor::Gzip(GzEncoder::new(
                inner,
                flate2::Compression::new(level.unsigned_abs()),
            )),
            Compression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(inner, level)?;
                encoder.include_checksum(true)?;
                let workers = std::thread::available_parallelism()
                    .map(|n| n.get() as u32)
                    .unwrap_or(1)
                    .min(MAX_ZSTD_WORKERS);
                if workers > 1 {
                    encoder.multithread(workers)?;
                    // zstd's default job is 4 × the window (8 MiB at level 3), and each worker
                    // holds an input and an output job buffer: ~50 MiB at 2 workers. 1 MiB
                    // jobs (with zstd's overlap) keep it under 20 MiB at the same ratio.
                    encoder.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB_SIZE))?;
                }
                Compressor::Zstd(encoder)
            }
            Compression::Brotli => Compressor::Brotli(Box::new(brotli::CompressorWriter::new(
                inner,
                64 * 1024,
                level.unsigned_abs(),
                BROTLI_LGWIN,
            ))),
        })
    }

    /// Finishes the stream (trailer, checksum) and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Compressor::None(w) => Ok(w),
            Compressor::Gzip(w) => w.finish(),
            Compressor::Zstd(w) => w.finish(),
            // into_inner finishes the stream; write errors are caught by the HashWriter below.
            Compressor::Brotli(w) => Ok(w.into_inner()),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::None(w) => w.write(data),
            Compressor::Gzip(w) => w.write(data),
            Compressor::Zstd(w) => w.write(data),
            Compressor::Brotli(w) => w.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::None(w) => w.flush(),
            Compressor::Gzip(w) => w.flush(),
            Compressor::Zstd(w) => w.flush(),
            Compressor::Brotli(w) => w.flush(),
        }
    }
}

/// A streaming decompressor.
pub enum Decompressor<R: Read> {
    /// Pass-through.
    None(R),
    /// gzip (all members; trailing garbage is an error).
    Gzip(Box<MultiGzDecoder<R>>),
    /// zstd (checksum verified when present).
    Zstd(zstd::stream::read::Decoder<'static, BufReader<R>>),
    /// Brotli.
    Brotli(Box<brotli::Decompressor<R>>),
}

impl<R: Read> Decompressor<R> {
    /// Creates the decompressor for `compression`.
    pub fn new(compression: Compression, inner: R) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Decompressor::None(inner),
            Compression::Gzip => Decompressor::Gzip(Box::new(MultiGzDecoder::new(inner))),
            Compression::Zstd => Decompressor::Zstd(zstd::stream::read::Decoder::new(inner)?),
            Compression::Brotli => {
                Decompressor::Brotli(Box::new(brotli::Decompressor::new(inner, 64 * 1024)))
            }
        })
    }
}

impl<R: Read> Read for Decompressor<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decompressor::None(r) => r.read(buf),
            Decompressor::Gzip(r) => r.read(buf),
            Decompressor::Zstd(r) => r.read(buf),
            Decompressor::Brotli(r) => r.read(buf),
        }
    }
}
