use std::io::{Cursor, Read};

use super::*;

const ALL: [Compression; 4] = [
    Compression::None,
    Compression::Gzip,
    Compression::Zstd,
    Compression::Brotli,
];

fn sample(len: usize) -> Vec<u8> {
    // Compressible but not trivial: text-like rows.
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(format!("{i}\trow {}\t{}\n", i * 7919 % 1013, i % 17).as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

fn backup(plain: &[u8], c: Compression, key: Option<&BackupKey>) -> (Vec<u8>, StreamSummary) {
    let mut sink = Vec::new();
    let progress = Progress::default();
    let summary =
        run_backup_stream(Cursor::new(plain), c, None, key, &mut sink, &progress).unwrap();
    (sink, summary)
}

fn restore(stored: &[u8], c: Compression, key: Option<&BackupKey>) -> io::Result<Vec<u8>> {
    let (_, mut reader) = open_restore_stream(Cursor::new(stored), key, c)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let mut out = Vec::new();
    reader.read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn round_trip_every_compression_plain_and_encrypted() {
    let plain = sample(3 << 20);
    let key = BackupKey::from_bytes([42; 32]);
    for c in ALL {
        for key in [None, Some(&key)] {
            let (stored, summary) = backup(&plain, c, key);
            assert_eq!(summary.bytes_in, plain.len() as u64);
            assert_eq!(summary.bytes_out, stored.len() as u64);
            assert_eq!(summary.sha256, hex::encode(sha2::Sha256::digest(&stored)));
            if c != Compression::None {
                assert!(stored.len() < plain.len() / 2, "{c:?} did not compress");
            }
            assert_eq!(&stored[..8] == MAGIC, key.is_some());
            // The hint is ignored for encrypted objects (the header wins).
            let hint = if key.is_some() { Compression::None } else { c };
            assert!(
                restore(&stored, hint, key).unwrap() == plain,
                "{c:?} {}",
                key.is_some()
            );
        }
    }
}

#[test]
fn empty_input_round_trips() {
    for c in ALL {
        let (stored, _) = backup(b"", c, None);
        assert_eq!(restore(&stored, c, None).unwrap(), b"");
    }
}

#[test]
fn corrupt_compressed_payload_is_an_error() {
    let plain = sample(200_000);
    for c in [Compression::Gzip, Compression::Zstd] {
        let (mut stored, _) = backup(&plain, c, None);
        let mid = stored.len() / 2;
        stored[mid] ^= 0x10;
        assert!(restore(&stored, c, None).is_err(), "{c:?}");
        let (stored, _) = backup(&plain, c, None);
        assert!(
            restore(&stored[..stored.len() - 5], c, None).is_err(),
            "{c:?} truncated"
        );
    }
}

#[test]
fn encrypted_object_needs_the_right_key() {
    let key = BackupKey::from_bytes([1; 32]);
    let (stored, _) = backup(b"secret rows", Compression::Zstd, Some(&key));
    let err = open_restore_stream(Cursor::new(&stored), None, Compression::None)
        .err()
        .unwrap();
    assert!(matches!(err, RestoreStreamError::KeyRequired));
    let other = BackupKey::from_bytes([2; 32]);
    let err = open_restore_stream(Cursor::new(&stored), Some(&other), Compression::None)
        .err()
        .unwrap();
    assert!(err.to_string().starts_with("wrong key"), "{err}");
}

#[test]
fn plaintext_is_refused_where_a_container_is_required() {
    let key = BackupKey::from_bytes([1; 32]);
    let (plain, _) = backup(b"PGDMP someone else's dump", Compression::None, None);
    for key in [Some(&key), None] {
        let err = open_restore_stream_requiring(Cursor::new(&plain), key, Compression::None, true)
            .err()
            .unwrap();
        assert!(matches!(err, RestoreStreamError::NotEncrypted), "{err}");
    }
    // A key alone requires the container too; without a key and without a reason to expect
    // one, plaintext is read as it is (an unencrypted backup).
    let err = open_restore_stream(Cursor::new(&plain), Some(&key), Compression::None)
        .err()
        .unwrap();
    assert!(matches!(err, RestoreStreamError::NotEncrypted), "{err}");
    assert!(open_restore_stream(Cursor::new(&plain), None, Compression::None).is_ok());
    // A container passes, and still needs its key.
    let (sealed, _) = backup(b"rows", Compression::Gzip, Some(&key));
    let (_, mut r) =
        open_restore_stream_requiring(Cursor::new(&sealed), Some(&key), Compression::None, true)
            .unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"rows");
    let err = open_restore_stream_requiring(Cursor::new(&sealed), None, Compression::None, true)
        .err()
        .unwrap();
    assert!(matches!(err, RestoreStreamError::KeyRequired));
}

#[test]
fn cancellation_stops_the_pipeline() {
    let plain = sample(1 << 20);
    let progress = Progress::default();
    progress.cancelled.store(true, Ordering::Relaxed);
    let mut sink = Vec::new();
    let err = run_backup_stream(
        Cursor::new(&plain),
        Compression::Gzip,
        None,
        None,
        &mut sink,
        &progress,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "cancelled");
}

#[test]
fn levels_are_checked() {
    assert!(compress::resolve_level(Compression::Zstd, Some(0)).is_err());
    assert!(compress::resolve_level(Compression::Gzip, Some(10)).is_err());
    assert_eq!(
        compress::resolve_level(Compression::Brotli, None),
        Ok(DEFAULT_BROTLI_LEVEL)
    );
}

use sha2::Digest;

/// A sink that fails after accepting `limit` bytes, or sleeps per write to be slow.
struct TestSink {
    data: Vec<u8>,
    limit: Option<usize>,
    delay: Option<std::time::Duration>,
}

impl Write for TestSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(d) = self.delay {
            std::thread::sleep(d);
        }
        if self.limit.is_some_and(|l| self.data.len() + buf.len() > l) {
            return Err(io::Error::other("disk full (test)"));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn fanout_isolates_a_failing_sink() {
    let key = BackupKey::from_bytes([7u8; 32]);
    let plain = sample(6 * 1024 * 1024);
    let sink = |limit, delay| TestSink {
        data: Vec::new(),
        limit,
        delay,
    };
    let mut sinks = vec![
        sink(None, None),
        sink(Some(300 * 1024), None),
        sink(None, Some(std::time::Duration::from_millis(2))),
    ];
    let progress = Progress::default();
    let (summary, errors) = run_backup_fanout(
        Cursor::new(&plain),
        Compression::None,
        None,
        Some(&key),
        &mut sinks,
        &progress,
    )
    .unwrap();
    assert!(errors[0].is_none() && errors[2].is_none());
    assert!(errors[1]
        .as_ref()
        .is_some_and(|e| e.to_string().contains("disk full")));
    assert_eq!(
        sinks[0].data, sinks[2].data,
        "the slow sink got the same bytes"
    );
    assert_eq!(sinks[0].data.len() as u64, summary.bytes_out);
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&sinks[0].data)),
        summary.sha256
    );
    assert_eq!(
        restore(&sinks[0].data, Compression::None, Some(&key)).unwrap(),
        plain
    );

    // Every sink failing fails the pipeline with the sink's error.
    let mut sinks = vec![sink(Some(1024), None), sink(Some(2048), None)];
    let err = run_backup_fanout(
        Cursor::new(&plain),
        Compression::None,
        None,
        None,
        &mut sinks,
        &Progress::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
}
