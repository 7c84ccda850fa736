//! Several databases in one backup: a streamed POSIX (ustar) TAR of per-database dumps.
//!
//! A tar entry needs its size in its header, and a dump's size is known only at its end. So
//! each dump is cut into **bounded parts**: up to [`PART_SIZE`] bytes are read into one
//! reused buffer and written as the entry `NNNN-<db>/NNNNNN.part`; the database's dump is the
//! concatenation of its parts. Memory stays at one part, nothing touches the disk, and any
//! `tar` can unpack the object (`cat 0001-shop/*.part > shop.dump`). Layout:
//!
//! 1. `dbackup-multi.json`: format, engine, server and tool versions, the database list;
//! 2. the parts of each database in turn (dumped one after another);
//! 3. `manifest.json`: the same plus, per database, its size and SHA-256 and each part's name,
//!    size and SHA-256 (known only at the end, hence last).

use std::collections::BTreeMap;
use std::io::{self, Read};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest part of a database dump held in memory (and the largest tar entry).
pub const PART_SIZE: usize = 4 << 20;
/// First entry: what the archive holds.
pub const HEADER_ENTRY: &str = "dbackup-multi.json";
/// Last entry: sizes and checksums.
pub const MANIFEST_ENTRY: &str = "manifest.json";
/// `format` value of both JSON entries.
pub const FORMAT: &str = "dbackup-multi-tar";

const BLOCK: usize = 512;

/// One part of a database dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// One database in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    pub name: String,
    /// Directory of its parts inside the TAR.
    pub dir: String,
    pub size: u64,
    pub sha256: String,
    pub parts: Vec<PartInfo>,
}

/// `dbackup-multi.json` and (with `entries`) `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub engine: String,
    pub server_version: Option<String>,
    pub tool_version: Option<String>,
    /// Database names, in archive order.
    pub databases: Vec<String>,
    /// Per-database sizes and checksums (manifest only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<DatabaseInfo>,
}

/// A dump of one database as the reader needs it.
pub struct PartSource<'a> {
    /// The dump bytes.
    pub reader: Box<dyn Read + 'a>,
    /// Called at the end of the dump: waits for the tool and reports its failure.
    pub finish: Box<dyn FnOnce() -> Result<(), String> + 'a>,
    /// Server version, if the engine reported it.
    pub server_version: Option<String>,
    /// Tool version line, if the engine reported it.
    pub tool_version: Option<String>,
}

/// Directory of database `index` (0-based) inside the TAR.
fn db_dir(index: usize, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    format!("{:04}-{clean}", index + 1)
}

/// Writes a ustar header for a regular file of `size` bytes into `block`.
fn write_header(block: &mut [u8], name: &str, size: u64) -> io::Result<()> {
    if name.len() > 99 {
        return Err(io::Error::other(format!("tar entry name too long: {name}")));
    }
    block[..BLOCK].fill(0);
    block[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let text = format!("{value:0width$o}", width = field.len() - 1);
        field[..text.len()].copy_from_slice(text.as_bytes());
    };
    octal(&mut block[100..108], 0o644);
    octal(&mut block[108..116], 0);
    octal(&mut block[116..124], 0);
    octal(&mut block[124..136], size);
    octal(&mut block[136..148], 0);
    block[156] = b'0';
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    // Checksum: the header's byte sum with the checksum field as spaces.
    block[148..156].fill(b' ');
    let sum: u32 = block[..BLOCK].iter().map(|b| u32::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(text.as_bytes());
    Ok(())
}

fn padding(size: u64) -> usize {
    let rem = (size % BLOCK as u64) as usize;
    if rem == 0 {
        0
    } else {
        BLOCK - rem
    }
}

/// Reads until `buf` is full or the source ends; returns the bytes read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
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

/// Starts the dump of the named database.
type StartDump<'a> = Box<dyn FnMut(&str) -> Result<PartSource<'a>, String> + 'a>;

/// Produces the TAR of several dumps, started one after another by `start`.
pub struct MultiDumpReader<'a> {
    engine: &'static str,
    databases: Vec<String>,
    start: StartDump<'a>,
    next: usize,
    current: Option<Current<'a>>,
    entries: Vec<DatabaseInfo>,
    server_version: Option<String>,
    tool_version: Option<String>,
    /// Bytes ready to hand out, and the read position in them.
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

struct Current<'a> {
    reader: Box<dyn Read + 'a>,
    finish: Box<dyn FnOnce() -> Result<(), String> + 'a>,
    info: DatabaseInfo,
    hasher: Sha256,
}

impl<'a> MultiDumpReader<'a> {
    /// A reader over the dumps of `databases` (in order).
    pub fn new(
        engine: &'static str,
        databases: Vec<String>,
        start: impl FnMut(&str) -> Result<PartSource<'a>, String> + 'a,
    ) -> Self {
        MultiDumpReader {
            engine,
            databases,
            start: Box::new(start),
            next: 0,
            current: None,
            entries: Vec::new(),
            server_version: None,
            tool_version: None,
            out: Vec::with_capacity(PART_SIZE + 2 * BLOCK),
            pos: 0,
            done: false,
        }
    }

    /// Server version reported by the first dump.
    pub fn server_version(&self) -> Option<&str> {
        self.server_version.as_deref()
    }

    /// Tool version reported by the first dump.
    pub fn tool_version(&self) -> Option<&str> {
        self.tool_version.as_deref()
    }

    fn manifest(&self, entries: Vec<DatabaseInfo>) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            version: 1,
            engine: self.engine.into(),
            server_version: self.server_version.clone(),
            tool_version: self.tool_version.clone(),
            databases: self.databases.clone(),
            entries,
        }
    }

    fn push_json_entry(&mut self, name: &str, value: &Manifest) -> io::Result<()> {
        let body = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        let start = self.out.len();
        self.out.resize(start + BLOCK, 0);
        write_header(&mut self.out[start..], name, body.len() as u64)?;
        self.out.extend_from_slice(&body);
        self.out
            .resize(self.out.len() + padding(body.len() as u64), 0);
        Ok(())
    }

    /// Fills `out` with the next piece of the archive; false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        if self.done {
            return Ok(false);
        }
        loop {
            let Some(current) = self.current.as_mut() else {
                if self.next == self.databases.len() {
                    let entries = std::mem::take(&mut self.entries);
                    let manifest = self.manifest(entries);
                    self.push_json_entry(MANIFEST_ENTRY, &manifest)?;
                    self.out.resize(self.out.len() + 2 * BLOCK, 0);
                    self.done = true;
                    return Ok(true);
                }
                let index = self.next;
                let name = self.databases[index].clone();
                let source = (self.start)(&name).map_err(io::Error::other)?;
                self.next += 1;
                if index == 0 {
                    self.server_version = source.server_version.clone();
                    self.tool_version = source.tool_version.clone();
                    let header = self.manifest(Vec::new());
                    self.push_json_entry(HEADER_ENTRY, &header)?;
                }
                self.current = Some(Current {
                    reader: source.reader,
                    finish: source.finish,
                    info: DatabaseInfo {
                        dir: db_dir(index, &name),
                        name,
                        size: 0,
                        sha256: String::new(),
                        parts: Vec::new(),
                    },
                    hasher: Sha256::new(),
                });
                if !self.out.is_empty() {
                    return Ok(true);
                }
                continue;
            };
            let start = self.out.len();
            self.out.resize(start + BLOCK + PART_SIZE, 0);
            let n = read_full(&mut current.reader, &mut self.out[start + BLOCK..])?;
            self.out.truncate(start + BLOCK + n);
            if n > 0 {
                let data = &self.out[start + BLOCK..];
                let part_name = format!(
                    "{}/{:06}.part",
                    current.info.dir,
                    current.info.parts.len() + 1
                );
                current.hasher.update(data);
                current.info.parts.push(PartInfo {
                    name: part_name.clone(),
                    size: n as u64,
                    sha256: hex::encode(Sha256::digest(data)),
                });
                current.info.size += n as u64;
                write_header(&mut self.out[start..start + BLOCK], &part_name, n as u64)?;
                self.out.resize(self.out.len() + padding(n as u64), 0);
                return Ok(true);
            }
            // This database's dump ended: its tool must have succeeded.
            self.out.truncate(start);
            let Some(current) = self.current.take() else {
                continue;
            };
            drop(current.reader);
            (current.finish)().map_err(io::Error::other)?;
            let mut info = current.info;
            info.sha256 = hex::encode(current.hasher.finalize());
            self.entries.push(info);
        }
    }
}

impl Read for MultiDumpReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Whether a payload's head is one of these archives.
pub fn is_multi(head: &[u8]) -> bool {
    head.len() >= BLOCK
        && &head[257..262] == b"ustar"
        && head.starts_with(HEADER_ENTRY.as_bytes())
        && head[HEADER_ENTRY.len()] == 0
}

/// Sequential reader of the TAR.
pub struct TarReader<R> {
    inner: R,
    /// Bytes of the current entry not yet read, and its padding.
    remaining: u64,
    pad: usize,
}

fn parse_octal(field: &[u8]) -> io::Result<u64> {
    let text: String = field
        .iter()
        .take_while(|b| **b != 0 && **b != b' ')
        .map(|b| char::from(*b))
        .collect();
    u64::from_str_radix(text.trim(), 8)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad tar header"))
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R) -> Self {
        TarReader {
            inner,
            remaining: 0,
            pad: 0,
        }
    }

    /// Skips the rest of the current entry and reads the next header: `(name, size)`, or
    /// `None` at the end-of-archive marker.
    pub fn next_entry(&mut self) -> io::Result<Option<(String, u64)>> {
        io::copy(&mut self.by_ref().take(u64::MAX), &mut io::sink())?;
        let mut skip = vec![0u8; self.pad];
        self.inner.read_exact(&mut skip)?;
        self.pad = 0;
        let mut block = [0u8; BLOCK];
        self.inner.read_exact(&mut block)?;
        if block.iter().all(|b| *b == 0) {
            return Ok(None);
        }
        let stored = parse_octal(&block[148..156])?;
        block[148..156].fill(b' ');
        let sum: u64 = block.iter().map(|b| u64::from(*b)).sum();
        if sum != stored || &block[257..262] != b"ustar" {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad tar header checksum",
            ));
        }
        let name_len = block[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&block[..name_len]).into_owned();
        let size = parse_octal(&block[124..136])?;
        self.remaining = size;
        self.pad = padding(size);
        Ok(Some((name, size)))
    }

    /// Reads a whole small JSON entry (the next one, expected to be `name`).
    pub fn read_json(&mut self, name: &str) -> io::Result<Manifest> {
        match self.next_entry()? {
            Some((found, size)) if found == name && size <= 16 << 20 => {
                let mut body = Vec::new();
                self.by_ref().read_to_end(&mut body)?;
                serde_json::from_slice(&body)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            }
            other => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("expected {name} in the archive, found {other:?}"),
            )),
        }
    }
}

impl<R: Read> Read for TarReader<R> {
    /// Reads the current entry's content (0 at its end).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Reads a whole archive: every part's size and SHA-256 checked against the manifest and
/// each database's first bytes against `magic`. Returns the manifest.
pub fn verify(reader: impl Read, magic: Option<&[u8]>) -> Result<Manifest, String> {
    let bad = |e: io::Error| format!("verification failed: {e}");
    let mut tar = TarReader::new(reader);
    let header = tar.read_json(HEADER_ENTRY).map_err(bad)?;
    let mut seen: Vec<PartInfo> = Vec::new();
    let mut heads: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let manifest = loop {
        let Some((name, _)) = tar.next_entry().map_err(bad)? else {
            return Err("verification failed: the archive has no manifest".into());
        };
        if name == MANIFEST_ENTRY {
            let mut body = Vec::new();
            tar.read_to_end(&mut body).map_err(bad)?;
            break serde_json::from_slice::<Manifest>(&body)
                .map_err(|e| format!("verification failed: manifest: {e}"))?;
        }
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        let dir = name.split('/').next().unwrap_or_default().to_owned();
        loop {
            let n = tar.read(&mut buf).map_err(bad)?;
            if n == 0 {
                break;
            }
            let head = heads.entry(dir.clone()).or_default();
            if head.len() < 16 {
                let take = (16 - head.len()).min(n);
                head.extend_from_slice(&buf[..take]);
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        seen.push(PartInfo {
            name,
            size,
            sha256: hex::encode(hasher.finalize()),
        });
    };
    if manifest.databases != header.databases || manifest.format != FORMAT {
        return Err("verification failed: the manifest does not match the archive header".into());
    }
    let listed: Vec<&PartInfo> = manifest.entries.iter().flat_map(|d| &d.parts).collect();
    if listed.len() != seen.len() || listed.iter().zip(&seen).any(|(a, b)| *a != b) {
        return Err(
            "verification failed: the parts do not match the manifest's sizes and SHA-256".into(),
        );
    }
    if let Some(magic) = magic {
        for db in &manifest.entries {
            if !heads.get(&db.dir).is_some_and(|h| h.starts_with(magic)) {
                return Err(format!(
                    "verification failed: the dump of {} is not a {} dump",
                    db.name,
                    String::from_utf8_lossy(magic)
                ));
            }
        }
    }
    Ok(manifest)
}

/// Streams the archive's databases into `restore_one(name, reader)` in order, skipping
/// databases for which `wanted(name)` is false. The reader yields the database's parts
/// concatenated.
pub fn restore_each(
    reader: impl Read,
    mut wanted: impl FnMut(&str) -> bool,
    mut restore_one: impl FnMut(&str, &mut dyn Read) -> Result<(), String>,
) -> Result<Manifest, String> {
    let bad = |e: io::Error| format!("restore stream: {e}");
    let mut tar = TarReader::new(reader);
    let header = tar.read_json(HEADER_ENTRY).map_err(bad)?;
    let dirs: Vec<String> = header
        .databases
        .iter()
        .enumerate()
        .map(|(i, n)| db_dir(i, n))
        .collect();
    let mut pending = tar.next_entry().map_err(bad)?;
    for (name, dir) in header.databases.iter().zip(&dirs) {
        let prefix = format!("{dir}/");
        let mut parts = PartsReader {
            tar: &mut tar,
            prefix: &prefix,
            pending: &mut pending,
            error: None,
        };
        if wanted(name) {
            restore_one(name, &mut parts)?;
        }
        // Drain what the tool did not read (and skipped databases).
        io::copy(&mut parts, &mut io::sink()).map_err(bad)?;
        if let Some(e) = parts.error.take() {
            return Err(bad(e));
        }
    }
    match pending {
        Some((name, _)) if name == MANIFEST_ENTRY => {
            let mut body = Vec::new();
            tar.read_to_end(&mut body).map_err(bad)?;
            serde_json::from_slice(&body).map_err(|e| format!("manifest: {e}"))
        }
        other => Err(format!(
            "restore stream: expected {MANIFEST_ENTRY}, found {other:?}"
        )),
    }
}

/// The concatenated parts of one database.
struct PartsReader<'t, R> {
    tar: &'t mut TarReader<R>,
    prefix: &'t str,
    pending: &'t mut Option<(String, u64)>,
    error: Option<io::Error>,
}

impl<R: Read> Read for PartsReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.pending.as_ref() {
                Some((name, _)) if name.starts_with(self.prefix) => {}
                _ => return Ok(0),
            }
            let n = self.tar.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            *self.pending = self.tar.next_entry()?;
        }
    }
}

/// Writes `bytes` as a test archive entry (used by tests to build archives by hand).
#[cfg(test)]
fn entry(out: &mut Vec<u8>, name: &str, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + BLOCK, 0);
    write_header(&mut out[start..], name, bytes.len() as u64).unwrap();
    out.extend_from_slice(bytes);
    out.resize(out.len() + padding(bytes.len() as u64), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source<'a>(data: Vec<u8>, ok: bool) -> PartSource<'a> {
        PartSource {
            reader: Box::new(io::Cursor::new(data)),
            finish: Box::new(move || {
                if ok {
                    Ok(())
                } else {
                    Err("tool failed".into())
                }
            }),
            server_version: Some("17.1".into()),
            tool_version: Some("pg_dump 17.1".into()),
        }
    }

    fn archive(dbs: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let map: BTreeMap<String, Vec<u8>> = dbs
            .iter()
            .map(|(n, d)| (n.to_string(), d.clone()))
            .collect();
        let names = dbs.iter().map(|(n, _)| n.to_string()).collect();
        let mut r = MultiDumpReader::new("postgresql", names, move |name| {
            Ok(source(map[name].clone(), true))
        });
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn round_trip_with_parts_and_skips() {
        let big: Vec<u8> = (0..PART_SIZE * 2 + 777).map(|i| (i % 251) as u8).collect();
        let small = b"PGDMP small".to_vec();
        let mut first = b"PGDMP".to_vec();
        first.extend_from_slice(&big);
        let bytes = archive(&[("a b", first.clone()), ("shop", small.clone())]);
        assert!(is_multi(&bytes));
        assert_eq!(bytes.len() % BLOCK, 0);
        let manifest = verify(&bytes[..], Some(b"PGDMP")).unwrap();
        assert_eq!(manifest.databases, ["a b", "shop"]);
        assert_eq!(manifest.entries[0].parts.len(), 3);
        assert_eq!(manifest.entries[0].size, first.len() as u64);
        assert_eq!(manifest.entries[0].dir, "0001-a_b");
        assert_eq!(
            manifest.entries[1].sha256,
            hex::encode(Sha256::digest(&small))
        );
        assert_eq!(manifest.server_version.as_deref(), Some("17.1"));

        let mut got = BTreeMap::new();
        restore_each(
            &bytes[..],
            |_| true,
            |name, r| {
                let mut v = Vec::new();
                r.read_to_end(&mut v).map_err(|e| e.to_string())?;
                got.insert(name.to_owned(), v);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got["a b"], first);
        assert_eq!(got["shop"], small);

        // Only the second, and a restorer that stops reading early.
        let mut only = Vec::new();
        restore_each(
            &bytes[..],
            |n| n == "shop",
            |name, r| {
                let mut v = [0u8; 3];
                r.read_exact(&mut v).map_err(|e| e.to_string())?;
                only.push((name.to_owned(), v));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(only, [("shop".to_owned(), *b"PGD")]);
    }

    #[test]
    fn verify_detects_tampering_and_tool_failures_fail_the_stream() {
        let bytes = archive(&[("x", b"PGDMP 1".to_vec()), ("y", b"PGDMP 2".to_vec())]);
        // Change a byte of the second dump: its part's SHA-256 no longer matches.
        let mut bad = bytes.clone();
        let at = bad.windows(7).position(|w| w == b"PGDMP 2").unwrap();
        bad[at + 6] = b'3';
        let err = verify(&bad[..], None).unwrap_err();
        assert!(err.contains("SHA-256"), "{err}");
        let err = verify(&bytes[..], Some(b"SQLite")).unwrap_err();
        assert!(err.contains("not a SQLite dump"), "{err}");
        let err = verify(&bytes[..bytes.len() - 2048], None).unwrap_err();
        assert!(err.contains("verification failed"), "{err}");

        let mut r = MultiDumpReader::new("postgresql", vec!["x".into()], |_| {
            Ok(source(b"PGDMP".to_vec(), false))
        });
        let err = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("tool failed"), "{err}");
        let mut hand = Vec::new();
        entry(&mut hand, "other.txt", b"x");
        assert!(!is_multi(&hand));
    }
}
