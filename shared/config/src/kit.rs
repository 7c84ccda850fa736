//! The recovery kit of an encryption profile: a ZIP (entries deflated with `miniz_oxide`, pure
//! Rust and so in the wasm too; CRC-32 by `crc32fast`) holding `key.hex`, `README.md` (step by
//! step), `FORMAT.md`, `dbackup_decrypt.py` and `requirements.txt`.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// The script (recover/python/dbackup_decrypt.py).
pub const SCRIPT: &str = include_str!("../../../recover/python/dbackup_decrypt.py");
/// Its requirements.
pub const REQUIREMENTS: &str = include_str!("../../../recover/python/requirements.txt");
/// The README template (`{{name}}`, `{{fingerprint}}`, `{{created}}`).
pub const README_TEMPLATE: &str = include_str!("../../../recover/python/README.kit.md");
/// The backup format.
pub const FORMAT: &str = include_str!("../../../docs/FORMAT.md");

/// One ZIP entry: name, Unix mode, bytes.
struct Entry<'a> {
    name: &'a str,
    mode: u32,
    data: &'a [u8],
}

/// The kit for profile `name` with `key_hex` (64 hex) and its `fingerprint`, stamped `now`.
pub fn build(name: &str, fingerprint: &str, key_hex: &str, now: DateTime<Utc>) -> Vec<u8> {
    let readme = README_TEMPLATE
        .replace("{{name}}", name)
        .replace("{{fingerprint}}", fingerprint)
        .replace("{{created}}", &now.format("%Y-%m-%d %H:%M UTC").to_string());
    let key = format!("{key_hex}\n");
    zip(
        &[
            Entry {
                name: "README.md",
                mode: 0o644,
                data: readme.as_bytes(),
            },
            Entry {
                name: "key.hex",
                mode: 0o600,
                data: key.as_bytes(),
            },
            Entry {
                name: "dbackup_decrypt.py",
                mode: 0o755,
                data: SCRIPT.as_bytes(),
            },
            Entry {
                name: "requirements.txt",
                mode: 0o644,
                data: REQUIREMENTS.as_bytes(),
            },
            Entry {
                name: "FORMAT.md",
                mode: 0o644,
                data: FORMAT.as_bytes(),
            },
        ],
        now,
    )
}

/// The download file name: `dbackup-recovery-kit_<name>.zip`, the name restricted to
/// `[A-Za-z0-9._-]`.
pub fn file_name(profile_name: &str) -> String {
    let safe: String = profile_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("dbackup-recovery-kit_{safe}.zip")
}

/// MS-DOS date and time of `t` (2-second resolution, 1980 or later).
fn dos_time(t: DateTime<Utc>) -> (u16, u16) {
    let year = t.year().clamp(1980, 2107) as u16;
    let date = ((year - 1980) << 9) | ((t.month() as u16) << 5) | t.day() as u16;
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
    (time, date)
}

/// DEFLATE level of the kit's entries (miniz's best; the kit is ~100 KiB of text).
const DEFLATE_LEVEL: u8 = 9;

/// A ZIP archive of deflated entries (method 8; an entry that would not shrink is stored,
/// method 0) with UTF-8 names and Unix modes.
fn zip(entries: &[Entry<'_>], now: DateTime<Utc>) -> Vec<u8> {
    let (time, date) = dos_time(now);
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(e.data);
        let size = e.data.len() as u32;
        let deflated = miniz_oxide::deflate::compress_to_vec(e.data, DEFLATE_LEVEL);
        let (method, version, body): (u16, u16, &[u8]) = if deflated.len() < e.data.len() {
            (8, 20, &deflated) // deflated: version needed 2.0
        } else {
            (0, 10, e.data) // stored: 1.0
        };
        let stored_size = body.len() as u32;
        let name = e.name.as_bytes();
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&time.to_le_bytes());
        out.extend_from_slice(&date.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&stored_size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(body);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by Unix, 2.0
        central.extend_from_slice(&version.to_le_bytes());
        central.extend_from_slice(&0x0800u16.to_le_bytes());
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&time.to_le_bytes());
        central.extend_from_slice(&date.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&stored_size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&((0o100_000 | e.mode) << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn unzip_reads_the_kit() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 21, 30, 10).unwrap();
        let key = "ab".repeat(32);
        let bytes = build("main key", "0123456789abcdef", &key, now);
        assert_eq!(
            file_name("main key/ü"),
            "dbackup-recovery-kit_main_key__.zip"
        );
        let dir = std::env::temp_dir().join(format!("dbackup-kit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let zip = dir.join("kit.zip");
        std::fs::write(&zip, &bytes).unwrap();
        let status = std::process::Command::new("unzip")
            .args(["-q", "-t"])
            .arg(&zip)
            .status();
        let status = status.expect("unzip (Debian package unzip; xtask installs it)");
        assert!(status.success());
        // Python's zipfile reads it too (testzip checks every CRC); the text entries deflated.
        let py = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                "import sys, zipfile\n\
                 z = zipfile.ZipFile(sys.argv[1])\n\
                 assert z.testzip() is None\n\
                 print(' '.join(f'{i.filename}:{i.compress_type}' for i in z.infolist()))\n\
                 print(sum(i.file_size for i in z.infolist()))",
            )
            .arg(&zip)
            .output()
            .expect("python3");
        assert!(
            py.status.success(),
            "{}",
            String::from_utf8_lossy(&py.stderr)
        );
        let printed = String::from_utf8_lossy(&py.stdout).to_string();
        let mut lines = printed.lines();
        assert_eq!(
            lines.next(),
            Some("README.md:8 key.hex:8 dbackup_decrypt.py:8 requirements.txt:8 FORMAT.md:8"),
            "{printed}"
        );
        let unpacked: usize = lines.next().unwrap().parse().unwrap();
        // Stored, the archive was larger than its contents; deflated it is well under half.
        assert!(bytes.len() * 2 < unpacked, "{} of {unpacked}", bytes.len());
        eprintln!("kit: {} bytes, {unpacked} bytes unpacked", bytes.len());
        assert!(std::process::Command::new("unzip")
            .arg("-q")
            .arg(&zip)
            .arg("-d")
            .arg(&dir)
            .status()
            .unwrap()
            .success());
        assert_eq!(
            std::fs::read_to_string(dir.join("key.hex")).unwrap(),
            format!("{key}\n")
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("dbackup_decrypt.py")).unwrap(),
            SCRIPT
        );
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(readme.contains("main key") && readme.contains("0123456789abcdef"));
        assert!(readme.contains("2026-11-27 21:30 UTC") && !readme.contains("{{"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("dbackup_decrypt.py"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
