//! The files source: a tree with nested folders, a 1 GiB sparse file, odd names (spaces,
//! UTF-8, a newline), symlinks, a FIFO and excluded entries goes through the worker (backup to
//! local storage, restore into a new directory) and comes back equal by content hash, type,
//! mode and link target; existing files are refused without `overwrite`; a tampered member
//! fails the restore naming it; paths outside the roots or in the data directory are refused;
//! tar-slip members are refused.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{Worker, TOKEN};
use dbackup_worker::engines::files;
use dbackup_worker::LocalRoots;
use http::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const GIB: u64 = 1 << 30;

/// `relative path → (type, mode, sha256 or link target)` of every entry below `dir`.
fn snapshot(dir: &Path) -> BTreeMap<Vec<u8>, (char, u32, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, (char, u32, String)>) {
        for item in fs::read_dir(dir).unwrap() {
            let item = item.unwrap();
            let path = item.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.mode() & 0o7777;
            let ft = meta.file_type();
            if ft.is_symlink() {
                let t = fs::read_link(&path).unwrap();
                out.insert(rel, ('l', 0, t.to_string_lossy().into_owned()));
            } else if ft.is_dir() {
                out.insert(rel, ('d', mode, String::new()));
                walk(base, &path, out);
            } else if ft.is_file() {
                let mut f = fs::File::open(&path).unwrap();
                let mut h = Sha256::new();
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                out.insert(rel, ('f', mode, hex::encode(h.finalize())));
            } else {
                out.insert(rel, ('s', mode, String::new()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn peak_rss_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The source tree: `<root>/src` (nested, odd names, links, a FIFO, excluded entries) and a
/// 1 GiB sparse file with data at its start, middle and end.
fn make_tree(root: &Path, big: bool) -> PathBuf {
    let src = root.join("src");
    fs::create_dir_all(src.join("a/b/c")).unwrap();
    fs::create_dir_all(src.join("with space/ünïcødé 目录")).unwrap();
    fs::create_dir_all(src.join("cache/deep")).unwrap();
    fs::write(src.join("a/top.txt"), "top\n").unwrap();
    fs::write(src.join("a/b/c/deep.bin"), vec![7u8; 300_000]).unwrap();
    fs::write(src.join("a/b/empty"), "").unwrap();
    fs::write(src.join("with space/file name.txt"), "spaces").unwrap();
    fs::write(src.join("with space/ünïcødé 目录/日本語.txt"), "utf-8 ✓").unwrap();
    fs::write(src.join("line\nbreak.txt"), "a newline in the name").unwrap();
    let long = "n".repeat(120);
    fs::write(
        src.join("a").join(&long),
        "a name longer than ustar's 100 bytes",
    )
    .unwrap();
    fs::write(src.join("tamper.txt"), "hello tamper hello tamper").unwrap();
    fs::write(src.join("script.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(src.join("script.sh"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::set_permissions(src.join("a/b"), fs::Permissions::from_mode(0o751)).unwrap();
    // Excluded: by name anywhere (`*.log`), a directory by relative path (`cache`).
    fs::write(src.join("a/debug.log"), "noise").unwrap();
    fs::write(src.join("cache/deep/x"), "cached").unwrap();
    // Symlinks: relative, absolute outside the tree, dangling. Stored as links.
    std::os::unix::fs::symlink("top.txt", src.join("a/link-to-top")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", src.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("../nowhere", src.join("dangling")).unwrap();
    // A FIFO: skipped (reading it would block).
    let fifo = src.join("a/pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    if big {
        let mut f = fs::File::create(src.join("sparse.img")).unwrap();
        f.set_len(GIB).unwrap();
        f.write_all(b"start of the big file").unwrap();
        use std::io::Seek;
        f.seek(std::io::SeekFrom::Start(GIB / 2 + 12345)).unwrap();
        f.write_all(b"middle").unwrap();
        f.seek(std::io::SeekFrom::Start(GIB - 3)).unwrap();
        f.write_all(b"end").unwrap();
    }
    src
}

/// What the restore should hold: the source minus excluded entries and the FIFO.
fn expected(src: &Path) -> BTreeMap<Vec<u8>, (char, u32, String)> {
    let mut snap = snapshot(src);
    snap.retain(|k, v| {
        let name = String::from_utf8_lossy(k);
        !(name.ends_with(".log") || name.starts_with("cache") || v.0 == 's')
    });
    snap
}

async fn post(w: &Worker, path: &str, body: Value) -> common::Reply {
    w.post(path, Some(TOKEN), &body.to_string()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_with_a_1_gib_sparse_file_round_trips_through_the_worker() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let src = make_tree(root.path(), true);
    let w =
        Worker::start_with_roots(vec![root.path().to_owned()], Some(data.path().to_owned())).await;
    let store = root.path().join("store");
    let rss_before = peak_rss_kib();
    let started = Instant::now();
    let task = w
        .run_task(
            "/v1/backups",
            json!({
                "source": {"engine": "files", "paths": [src], "excludes": ["*.log", "cache"]},
                "compression": "ZSTD",
                "destinations": [{"id": "disk", "storage": {"kind": "local", "path": store}}],
                "jobName": "files",
                "timestamp": "2026-12-07T17-00-00Z",
            }),
        )
        .await;
    let backup_time = started.elapsed();
    assert_eq!(task["status"], "succeeded", "{task}");
    let object = task["result"]["objectName"].as_str().unwrap().to_owned();
    assert!(object.ends_with(".tar.zst"), "{object}");
    let size = task["result"]["size"].as_u64().unwrap();
    assert!(size < 16 << 20, "zeros compress: {size}");

    // GNU tar reads the archive (decompressed with zstd): every odd name is there.
    let listing = std::process::Command::new("sh")
        .arg("-c")
        .arg("zstd -dc \"$1\" | tar -tf -")
        .arg("sh")
        .arg(store.join(&object))
        .output()
        .unwrap();
    if listing.status.success() {
        let text = String::from_utf8_lossy(&listing.stdout);
        for name in [
            "dbackup-files.json",
            "files/src/with space/ünïcødé 目录/日本語.txt",
            "files/src/sparse.img",
            "dbackup-files-manifest.json",
        ] {
            assert!(text.contains(name), "{name} not in:\n{text}");
        }
        assert!(
            !text.contains("debug.log") && !text.contains("cache/"),
            "{text}"
        );
    } else {
        eprintln!(
            "zstd/tar listing skipped: {}",
            String::from_utf8_lossy(&listing.stderr)
        );
    }

    let target = root.path().join("restored");
    let started = Instant::now();
    let task = w
        .run_task(
            "/v1/restores",
            json!({
                "source": {"storage": {"kind": "local", "path": store}, "objectName": object},
                "target": {"engine": "files", "path": target},
                "expectedSha256": task["result"]["sha256"],
            }),
        )
        .await;
    let restore_time = started.elapsed();
    assert_eq!(task["status"], "succeeded", "{task}");
    let rss_after = peak_rss_kib();
    eprintln!(
        "files: 1 GiB sparse tree: backup {:.1} s, restore {:.1} s, archive {} KiB, peak RSS of the test process {} MiB (before {} MiB)",
        backup_time.as_secs_f64(),
        restore_time.as_secs_f64(),
        size >> 10,
        rss_after >> 10,
        rss_before >> 10
    );
    assert!(
        rss_after < rss_before + 256 * 1024,
        "streaming: peak RSS grew from {rss_before} to {rss_after} KiB"
    );

    let want = expected(&src);
    let got = snapshot(&target.join("src"));
    let missing: Vec<_> = want
        .keys()
        .filter(|k| !got.contains_key(*k))
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
    assert_eq!(got, want);
    assert_eq!(
        fs::metadata(target.join("src")).unwrap().mode() & 0o7777,
        fs::metadata(&src).unwrap().mode() & 0o7777
    );
    // The big file came back sparse.
    let big = fs::metadata(target.join("src/sparse.img")).unwrap();
    assert_eq!(big.len(), GIB);
    assert!(big.blocks() * 512 < 64 << 20, "{} blocks", big.blocks());
    assert_eq!(
        fs::read_link(target.join("src/abs-link")).unwrap(),
        Path::new("/etc/passwd")
    );

    // Again into the same directory: refused, nothing changed; with overwrite: replaced.
    fs::write(target.join("src/a/top.txt"), "changed locally").unwrap();
    let again = json!({
        "source": {"storage": {"kind": "local", "path": store}, "objectName": object},
        "target": {"engine": "files", "path": target},
    });
    let task = w.run_task("/v1/restores", again.clone()).await;
    assert_eq!(task["status"], "failed", "{task}");
    let error = task["error"].to_string();
    assert!(
        error.contains("exists") && error.contains("overwrite"),
        "{error}"
    );
    assert_eq!(
        fs::read_to_string(target.join("src/a/top.txt")).unwrap(),
        "changed locally"
    );
    let mut with_overwrite = again;
    with_overwrite["target"]["overwrite"] = json!(true);
    let task = w.run_task("/v1/restores", with_overwrite).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(snapshot(&target.join("src")), want);
    let leftovers: Vec<_> = fs::read_dir(target.join("src"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("dbackup-restore"))
        .collect();
    assert!(leftovers.is_empty());
    w.stop().await.unwrap();
}

/// The archive of `src` (no compression), made by the engine directly.
fn dump(src: &Path, roots: &LocalRoots) -> Vec<u8> {
    let source = files::source_from_value(json!({"engine": "files", "paths": [src]})).unwrap();
    let mut out = Vec::new();
    source
        .start_dump(roots)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn target(path: &Path) -> files::FilesTarget {
    files::target_from_value(json!({"engine": "files", "path": path})).unwrap()
}

#[test]
fn a_tampered_member_fails_the_restore_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let src = make_tree(root.path(), false);
    let roots = LocalRoots::new(vec![root.path().to_owned()], None);
    let mut archive = dump(&src, &roots);
    // Untouched, it restores.
    let ok = root.path().join("ok");
    let done = files::extract(&mut archive.as_slice(), &target(&ok), &roots).unwrap();
    assert!(done.files >= 8 && done.symlinks == 3, "{done:?}");
    // One byte of one file's content changed (the tar structure stays valid).
    let at = archive
        .windows(12)
        .position(|w| w == b"hello tamper")
        .unwrap();
    archive[at] = b'j';
    let bad = root.path().join("bad");
    let err = files::extract(&mut archive.as_slice(), &target(&bad), &roots).unwrap_err();
    assert!(
        err.contains("files/src/tamper.txt") && err.contains("SHA-256"),
        "{err}"
    );
    // Nothing placed, no partial files left.
    let mut left = Vec::new();
    for e in walk_files(&bad) {
        left.push(e);
    }
    assert!(left.is_empty(), "{left:?}");
    // A truncated archive fails too.
    let cut = &archive[..archive.len() / 2];
    let err = files::extract(&mut &cut[..], &target(&root.path().join("cut")), &roots).unwrap_err();
    assert!(
        err.contains("ends inside") || err.contains("manifest"),
        "{err}"
    );
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A ustar member, checksum included.
fn member(out: &mut Vec<u8>, name: &str, typeflag: u8, data: &[u8], link: &str) {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

#[test]
fn tar_slip_and_foreign_members_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let roots = LocalRoots::new(vec![root.path().to_owned()], None);
    let header = br#"{"format":"dbackup-files-tar","version":1}"#;
    let escape = format!(
        "files/x/../../../../{}/evil",
        outside.path().strip_prefix("/").unwrap().display()
    );
    for (name, typeflag, link, why) in [
        (escape.as_str(), b'0', "", "unsafe path"),
        ("/etc/evil", b'0', "", "outside files/"),
        ("files/./x", b'0', "", "unsafe path"),
        ("files//x", b'0', "", "unsafe path"),
        ("files/dev", b'3', "", "unsupported type"),
        ("files/hard", b'1', "/etc/passwd", "unsupported type"),
    ] {
        let mut tar = Vec::new();
        member(&mut tar, "dbackup-files.json", b'0', header, "");
        member(&mut tar, name, typeflag, b"pwned", link);
        tar.resize(tar.len() + 1024, 0);
        let dest = root.path().join("t");
        let err = files::extract(&mut tar.as_slice(), &target(&dest), &roots).unwrap_err();
        assert!(err.contains(why), "{name}: {err}");
    }
    assert!(walk_files(outside.path()).is_empty());
    assert!(walk_files(&root.path().join("t")).is_empty());
    // A symlink out followed by a file through it: the link stays a partial name until the
    // end, so the file lands in a real directory, and the manifest check refuses the archive.
    let mut tar = Vec::new();
    member(&mut tar, "dbackup-files.json", b'0', header, "");
    member(
        &mut tar,
        "files/l",
        b'2',
        b"",
        outside.path().to_str().unwrap(),
    );
    member(&mut tar, "files/l/evil", b'0', b"pwned", "");
    let manifest =
        br#"{"format":"dbackup-files-tar","version":1,"files":0,"bytes":0,"entries":[]}"#;
    member(&mut tar, "dbackup-files-manifest.json", b'0', manifest, "");
    tar.resize(tar.len() + 1024, 0);
    let err = files::extract(
        &mut tar.as_slice(),
        &target(&root.path().join("t2")),
        &roots,
    )
    .unwrap_err();
    assert!(err.contains("not in the manifest"), "{err}");
    assert!(walk_files(outside.path()).is_empty());
    // Not a files archive at all.
    let err = files::extract(
        &mut &[0u8; 4096][..],
        &target(&root.path().join("t3")),
        &roots,
    )
    .unwrap_err();
    assert!(err.contains("empty archive"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_outside_the_roots_or_in_the_data_directory_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    fs::create_dir(data.path().join("backups")).unwrap();
    fs::create_dir(root.path().join("ok")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
    let w = Worker::start_with_roots(
        vec![root.path().to_owned(), data.path().join("backups")],
        Some(data.path().to_owned()),
    )
    .await;
    let store = json!({"kind": "local", "path": root.path().join("store")});
    let backup = |paths: Value| {
        json!({"source": {"engine": "files", "paths": paths}, "compression": "NONE",
               "destinations": [{"id": "d", "storage": store}], "jobName": "j"})
    };
    for (what, paths, field) in [
        ("/etc", json!(["/etc"]), "source.paths[0]"),
        (
            "another directory",
            json!([root.path().join("ok"), outside.path()]),
            "source.paths[1]",
        ),
        (
            "a symlink out",
            json!([root.path().join("link")]),
            "source.paths[0]",
        ),
        (
            "the data directory",
            json!([data.path()]),
            "source.paths[0]",
        ),
        (
            "the data directory's backups",
            json!([data.path().join("backups")]),
            "source.paths[0]",
        ),
        ("a relative path", json!(["relative/dir"]), "paths[0]"),
        ("no path", json!([]), "paths"),
        (
            "two paths with one name",
            json!([root.path().join("ok"), root.path().join("link/../ok")]),
            "paths[1]",
        ),
    ] {
        let r = post(&w, "/v1/backups", backup(paths)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
        let details = r.json["details"].as_str().unwrap_or_default().to_owned() + &r.text;
        assert!(details.contains(field), "{what}: {details}");
    }
    let r = post(
        &w,
        "/v1/backups",
        json!({"source": {"engine": "files", "paths": [root.path().join("ok")], "excludes": ["[z-a"]},
               "compression": "NONE", "destinations": [{"id": "d", "storage": store}], "jobName": "j"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("excludes[0]"), "{}", r.text);
    for (what, path) in [
        ("outside", outside.path().join("restore")),
        ("through a symlink", root.path().join("link/restore")),
        ("data dir", data.path().join("restore")),
    ] {
        let r = post(
            &w,
            "/v1/restores",
            json!({"source": {"storage": store, "objectName": "x.tar"},
                   "target": {"engine": "files", "path": path}}),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
        assert!(r.text.contains("target.path"), "{what}: {}", r.text);
    }
    assert!(walk_files(outside.path()).is_empty());
    w.stop().await.unwrap();
}

/// 5,000 small files in 50 folders: archive and restore through the engine (no compression),
/// equal; prints the times (per-file cost: a header, an open, a hash, a rename).
#[test]
fn five_thousand_small_files_round_trip() {
    let root = tempfile::tempdir().unwrap();
    let src = root.path().join("many");
    for d in 0..50 {
        let dir = src.join(format!("d{d:02}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            fs::write(
                dir.join(format!("f{f:03}.txt")),
                format!("{d}/{f}\n").repeat(200),
            )
            .unwrap();
        }
    }
    let roots = LocalRoots::new(vec![root.path().to_owned()], None);
    let started = Instant::now();
    let archive = dump(&src, &roots);
    let dumped = started.elapsed();
    let dest = root.path().join("back");
    let started = Instant::now();
    let done = files::extract(&mut archive.as_slice(), &target(&dest), &roots).unwrap();
    let restored = started.elapsed();
    assert_eq!(done.files, 5000);
    assert_eq!(done.dirs, 51);
    assert_eq!(snapshot(&dest.join("many")), snapshot(&src));
    eprintln!(
        "files: 5,000 small files ({} KiB archive): dump {:.2} s, restore {:.2} s",
        archive.len() >> 10,
        dumped.as_secs_f64(),
        restored.as_secs_f64()
    );
}

/// A files source on an SSH host (`ssh` in the source): the tree (nested, odd names, links, a
/// FIFO, excludes) is walked and read over SFTP as the SSH user, streamed through the same
/// archive, and restored here equal by content hash, type, mode and link target. The remote
/// paths are outside this worker's roots: they are the SSH host's. A wrong host key is
/// refused before any login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_over_ssh_round_trips_through_sftp() {
    use common::sshd::{Sshd, PASSPHRASE, USER};
    let sshd = Sshd::start();
    let remote = sshd.base.join("files");
    fs::create_dir_all(&remote).unwrap();
    let src = make_tree(&remote, false);
    let chown = std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{USER}:{USER}"))
        .arg(&sshd.base)
        .status()
        .unwrap();
    assert!(chown.success());
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let w =
        Worker::start_with_roots(vec![root.path().to_owned()], Some(data.path().to_owned())).await;
    let ssh = json!({"host": "127.0.0.1", "port": sshd.port, "user": USER,
                     "privateKey": sshd.client_key, "passphrase": PASSPHRASE,
                     "hostKey": sshd.host_key});
    let source = json!({"engine": "files", "paths": [src], "excludes": ["*.log", "cache"],
                        "ssh": ssh});
    let probe = w.probe(source.clone()).await;
    assert_eq!(probe.status.as_u16(), 200, "{}", probe.text);
    let store = root.path().join("store");
    let started = Instant::now();
    let task = w
        .run_task(
            "/v1/backups",
            json!({
                "source": source,
                "compression": "ZSTD",
                "destinations": [{"id": "disk", "storage": {"kind": "local", "path": store}}],
                "jobName": "files-ssh",
            }),
        )
        .await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let backup_time = started.elapsed();
    let object = task["result"]["objectName"].as_str().unwrap().to_owned();
    assert!(object.ends_with(".tar.zst"), "{object}");
    let log = fs::read_to_string(sshd.dir.path().join("sshd.log")).unwrap_or_default();
    assert!(
        log.contains(&format!("Accepted publickey for {USER}")),
        "{log}"
    );

    let target = root.path().join("restored");
    let task = w
        .run_task(
            "/v1/restores",
            json!({
                "source": {"storage": {"kind": "local", "path": store}, "objectName": object},
                "target": {"engine": "files", "path": target},
            }),
        )
        .await;
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(snapshot(&target.join("src")), expected(&src));
    assert_eq!(
        fs::metadata(target.join("src")).unwrap().mode() & 0o7777,
        fs::metadata(&src).unwrap().mode() & 0o7777
    );
    eprintln!(
        "files over SSH: backup {:.2} s, {} entries",
        backup_time.as_secs_f64(),
        expected(&src).len()
    );

    // A wrong pinned host key: refused before authentication.
    let mut wrong = source.clone();
    wrong["ssh"]["hostKey"] = json!(sshd.other_key());
    let before = fs::read_to_string(sshd.dir.path().join("sshd.log"))
        .unwrap_or_default()
        .matches("Accepted")
        .count();
    let task = w
        .run_task(
            "/v1/backups",
            json!({
                "source": wrong,
                "compression": "ZSTD",
                "destinations": [{"id": "disk", "storage": {"kind": "local", "path": store}}],
                "jobName": "files-ssh",
            }),
        )
        .await;
    assert_eq!(task["status"], "failed", "{task}");
    assert!(
        task["error"]
            .as_str()
            .unwrap()
            .contains("host key mismatch"),
        "{task}"
    );
    let after = fs::read_to_string(sshd.dir.path().join("sshd.log"))
        .unwrap_or_default()
        .matches("Accepted")
        .count();
    assert_eq!(
        before, after,
        "a login was accepted with the wrong host key"
    );
    w.stop().await.unwrap();
}
