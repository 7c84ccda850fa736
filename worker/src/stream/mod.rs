//! Stream stages (compression, hashing, channel hops) and the two pipelines built from them:
//! backup `source → compress → encrypt → SHA-256 → sink` and its mirror for restore.
//!
//! Everything is `std::io` and blocking; callers run it on `spawn_blocking` threads. Memory is
//! bounded by the stage buffers (one encryption chunk, the compressor's window, and a
//! bounded channel of [`BLOCK_SIZE`] blocks), never by the size of the backup.

mod compress;
mod hash;
mod verify;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

pub use compress::{
    Compressor, Decompressor, DEFAULT_BROTLI_LEVEL, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL,
};
pub use hash::{HashReader, HashWriter};
pub use verify::{verify_object, Written};

use crate::format::{BackupKey, Compression, DecryptReader, EncryptWriter, FormatError, MAGIC};

/// Size of the blocks handed from the CPU stage to the storage stage.
pub const BLOCK_SIZE: usize = 256 * 1024;
/// Blocks in flight between the CPU stage and the storage stage.
pub const CHANNEL_BLOCKS: usize = 8;

/// Live counters shared with the task status.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read from the dump tool (or, for restore, written to the restore tool).
    pub bytes_in: AtomicU64,
    /// Bytes written to storage (or, for restore, read from storage).
    pub bytes_out: AtomicU64,
    /// Set to stop the pipeline at the next block.
    pub cancelled: AtomicBool,
}

/// What a finished backup pipeline produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// Bytes of dump output consumed.
    pub bytes_in: u64,
    /// Bytes stored (after compression and encryption).
    pub bytes_out: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
}

/// Reader that counts bytes into an atomic and stops when cancelled.
pub struct CountingReader<'a, R> {
    inner: R,
    counter: &'a AtomicU64,
    cancelled: &'a AtomicBool,
}

impl<'a, R: Read> CountingReader<'a, R> {
    /// Wraps `inner`.
    pub fn new(inner: R, counter: &'a AtomicU64, cancelled: &'a AtomicBool) -> Self {
        CountingReader {
            inner,
            counter,
            cancelled,
        }
    }
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The error a cancelled pipeline stops with. (Not `Interrupted`: `io::copy` retries those.)
pub fn cancelled() -> io::Error {
    io::Error::other("cancelled")
}

/// `Write` end of a bounded channel: buffers [`BLOCK_SIZE`] bytes, then blocks on send
/// while the consumer is [`CHANNEL_BLOCKS`] blocks behind.
pub struct ChannelWriter {
    tx: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let block = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK_SIZE));
        self.tx
            .send(block)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "storage stage stopped"))
    }

    /// Sends the last partial block and closes the channel.
    pub fn finish(mut self) -> io::Result<()> {
        self.send_buf()
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(BLOCK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() == BLOCK_SIZE {
            self.send_buf()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A bounded block channel between two threads.
pub fn block_channel() -> (ChannelWriter, Receiver<Vec<u8>>) {
    let (tx, rx) = sync_channel(CHANNEL_BLOCKS);
    (
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(BLOCK_SIZE),
        },
        rx,
    )
}

/// Encryption stage: present or not.
enum MaybeEncrypt<W: Write> {
    Plain(W),
    Encrypted(Box<EncryptWriter<W>>),
}

impl<W: Write> MaybeEncrypt<W> {
    fn finish(self) -> io::Result<W> {
        match self {
            MaybeEncrypt::Plain(w) => Ok(w),
            MaybeEncrypt::Encrypted(w) => (*w).finish(),
        }
    }
}

impl<W: Write> Write for MaybeEncrypt<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            MaybeEncrypt::Plain(w) => w.write(data),
            MaybeEncrypt::Encrypted(w) => w.write(data),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeEncrypt::Plain(w) => w.flush(),
            MaybeEncrypt::Encrypted(w) => w.flush(),
        }
    }
}

/// Backup pipeline: reads `source` to EOF and writes `compress → encrypt → hash` into `sink`
/// (which it flushes but does not commit). Two threads: this one does the CPU stages, a
/// scoped second one writes to `sink`, connected by a bounded channel.
pub fn run_backup_stream<R: Read, W: Write + Send>(
    source: R,
    compression: Compression,
    level: Option<i32>,
    key: Option<&BackupKey>,
    sink: &mut W,
    progress: &Progress,
) -> io::Result<StreamSummary> {
    let (summary, mut errors) = run_backup_fanout(
        source,
        compression,
        level,
        key,
        std::slice::from_mut(sink),
        progress,
    )?;
    match errors.pop().flatten() {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

/// Backup pipeline with several sinks: the CPU stages run on this thread and every sink gets
/// its own scoped thread behind a bounded channel of [`CHANNEL_BLOCKS`] shared blocks, so the
/// slowest sink sets the pace (backpressure) and memory stays bounded. A sink that fails is
/// dropped from the fan-out and its error returned in its slot; the others continue. Fails as
/// a whole when the CPU stages fail or every sink failed (with the first sink's error).
pub fn run_backup_fanout<R: Read, W: Write + Send>(
    source: R,
    compression: Compression,
    level: Option<i32>,
    key: Option<&BackupKey>,
    sinks: &mut [W],
    progress: &Progress,
) -> io::Result<(StreamSummary, Vec<Option<io::Error>>)> {
    if sinks.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no destination",
        ));
    }
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(sinks.len());
        let mut threads = Vec::with_capacity(sinks.len());
        for sink in sinks.iter_mut() {
            let (tx, rx) = sync_channel::<std::sync::Arc<Vec<u8>>>(CHANNEL_BLOCKS);
            senders.push(Some(tx));
            threads.push(scope.spawn(move || -> io::Result<()> {
                for block in rx {
                    sink.write_all(&block)?;
                }
                sink.flush()
            }));
        }
        let fanout = FanoutWriter {
            senders,
            buf: Vec::with_capacity(BLOCK_SIZE),
            bytes_out: &progress.bytes_out,
        };
        let cpu = (|| {
            let hashed = HashWriter::new(fanout);
            let encrypt = match key {
                Some(key) => MaybeEncrypt::Encrypted(Box::new(EncryptWriter::new(
                    hashed,
                    key,
                    compression,
                    crate::format::DEFAULT_CHUNK_SIZE,
                )?)),
                None => MaybeEncrypt::Plain(hashed),
            };
            let mut compressor = Compressor::new(compression, level, encrypt)?;
            let mut source = CountingReader::new(source, &progress.bytes_in, &progress.cancelled);
            copy_large(&mut source, &mut compressor)?;
            let (fanout, size, sha256) = compressor.finish()?.finish()?.finish()?;
            fanout.finish()?;
            Ok::<_, io::Error>((size, sha256))
        })();
        // On a CPU-stage error the senders are dropped, so the sink threads end too.
        let errors: Vec<Option<io::Error>> = threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(io::Error::other("storage stage panicked")))
                    .err()
            })
            .collect();
        if errors.iter().all(Option::is_some) {
            // Every sink failed: its error explains the CPU stage's broken pipe.
            let first = errors.into_iter().flatten().next();
            return Err(first.unwrap_or_else(|| io::Error::other("every destination failed")));
        }
        let (bytes_out, sha256) = cpu?;
        Ok((
            StreamSummary {
                bytes_in: progress.bytes_in.load(Ordering::Relaxed),
                bytes_out,
                sha256,
            },
            errors,
        ))
    })
}

/// Size of the buffer the CPU stage reads the dump into (one `read` per pipe-full).
pub const READ_SIZE: usize = 256 * 1024;

/// `io::copy` with a [`READ_SIZE`] heap buffer instead of std's 8 KiB one: fewer `read`
/// calls on the tool's pipe and fewer, larger writes into the compressor.
pub fn copy_large<R: Read + ?Sized, W: Write + ?Sized>(
    reader: &mut R,
    writer: &mut W,
) -> io::Result<u64> {
    let mut buf = vec![0u8; READ_SIZE];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// `Write` end of the fan-out: buffers [`BLOCK_SIZE`] bytes, then hands the block to every
/// live sink channel (blocking while a sink is [`CHANNEL_BLOCKS`] blocks behind).
struct FanoutWriter<'a> {
    senders: Vec<Option<SyncSender<std::sync::Arc<Vec<u8>>>>>,
    buf: Vec<u8>,
    bytes_out: &'a AtomicU64,
}

impl FanoutWriter<'_> {
    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let block = std::sync::Arc::new(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(BLOCK_SIZE),
        ));
        let mut delivered = false;
        for slot in &mut self.senders {
            if let Some(tx) = slot {
                if tx.send(block.clone()).is_ok() {
                    delivered = true;
                } else {
                    *slot = None; // that sink failed; the others go on
                }
            }
        }
        if !delivered {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "every storage destination failed",
            ));
        }
        self.bytes_out
            .fetch_add(block.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.send_buf()
    }
}

impl Write for FanoutWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(BLOCK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() == BLOCK_SIZE {
            self.send_buf()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How a stored object is encoded, determined from its first bytes (and the caller's hint
/// for unencrypted objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// Whether the object is a `DBKENC01` container.
    pub encrypted: bool,
    /// Compression of the (decrypted) payload.
    pub compression: Compression,
}

/// Restore pipeline: `source → [hash] → decrypt (if the object is a container) → decompress`,
/// returned as one reader. Fails early if the object is encrypted and no key is given, or
/// the key is wrong. `compression_hint` is used for unencrypted objects (whose compression
/// is not recorded inside them); encrypted objects use their header.
///
/// A key says an encrypted object is expected: with one, plaintext is refused
/// ([`RestoreStreamError::NotEncrypted`]); [`open_restore_stream_requiring`] adds the other
/// reasons to expect a container (the object's name, its sidecar).
pub fn open_restore_stream<'a, R: Read + Send + 'a>(
    source: R,
    key: Option<&BackupKey>,
    compression_hint: Compression,
) -> Result<(Encoding, Box<dyn Read + Send + 'a>), RestoreStreamError> {
    open_restore_stream_requiring(source, key, compression_hint, false)
}

/// [`open_restore_stream`], refusing anything but a `DBKENC01` container when a key is given
/// or `container_required` (storage is not trusted: where an encrypted object is expected, a
/// plaintext one is someone else's dump). The refusal comes from the object's first bytes,
/// before anything is decoded; the container's chunks are then authenticated as they are
/// read.
pub fn open_restore_stream_requiring<'a, R: Read + Send + 'a>(
    source: R,
    key: Option<&BackupKey>,
    compression_hint: Compression,
    container_required: bool,
) -> Result<(Encoding, Box<dyn Read + Send + 'a>), RestoreStreamError> {
    let mut source = io::BufReader::with_capacity(64 * 1024, source);
    let head = {
        use io::BufRead;
        source.fill_buf().map_err(RestoreStreamError::Io)?.to_vec()
    };
    let encrypted = head.len() >= MAGIC.len() && &head[..MAGIC.len()] == MAGIC;
    if (container_required || key.is_some()) && !encrypted {
        return Err(RestoreStreamError::NotEncrypted);
    }
    if encrypted {
        let key = key.ok_or(RestoreStreamError::KeyRequired)?;
        let reader = DecryptReader::new(source, key).map_err(RestoreStreamError::Format)?;
        let compression = reader.header().compression;
        Ok((
            Encoding {
                encrypted,
                compression,
            },
            Box::new(Decompressor::new(compression, reader).map_err(RestoreStreamError::Io)?),
        ))
    } else {
        Ok((
            Encoding {
                encrypted,
                compression: compression_hint,
            },
            Box::new(Decompressor::new(compression_hint, source).map_err(RestoreStreamError::Io)?),
        ))
    }
}

/// Why an object that must be encrypted is refused.
pub const NOT_ENCRYPTED: &str =
    "refused: the backup must be encrypted (its name ends in .dbk, its \
     sidecar says so, or a key was given) but the object is not an encrypted dbackup container \
     (no DBKENC01 header); it may have been replaced in the storage";

/// Why a restore stream could not be opened.
#[derive(Debug)]
pub enum RestoreStreamError {
    /// The object is encrypted but no key was supplied.
    KeyRequired,
    /// An encrypted object was expected and this one is not a container.
    NotEncrypted,
    /// Container header problem (wrong key, unsupported version, …).
    Format(FormatError),
    /// Reading failed.
    Io(io::Error),
}

impl std::fmt::Display for RestoreStreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreStreamError::KeyRequired => {
                f.write_str("the backup is encrypted: an encryption key is required")
            }
            RestoreStreamError::NotEncrypted => f.write_str(NOT_ENCRYPTED),
            RestoreStreamError::Format(e) => e.fmt(f),
            RestoreStreamError::Io(e) => describe_io_error(e).fmt(f),
        }
    }
}

impl std::error::Error for RestoreStreamError {}

/// A one-line description of a pipeline error, naming container failures precisely and
/// decompression failures as such.
pub fn describe_io_error(error: &io::Error) -> String {
    if let Some(format) = FormatError::from_io(error) {
        return format.to_string();
    }
    error.to_string()
}

#[cfg(test)]
mod tests;
