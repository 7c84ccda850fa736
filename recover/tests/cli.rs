//! `dbackup-recover` end to end: decrypts + decompresses with only the key, names failures.

use std::io::Write;
use std::process::Command;

use dbackup_worker::format::BackupKey;
use dbackup_worker::format::Compression;
use dbackup_worker::stream::{run_backup_stream, Progress};

const KEY_HEX: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

fn make(
    dir: &std::path::Path,
    name: &str,
    plain: &[u8],
    c: Compression,
    encrypted: bool,
) -> std::path::PathBuf {
    let key = BackupKey::from_hex(KEY_HEX).unwrap();
    let mut out = Vec::new();
    run_backup_stream(
        plain,
        c,
        None,
        encrypted.then_some(&key),
        &mut out,
        &Progress::default(),
    )
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

fn recover(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbackup-recover"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn plain() -> Vec<u8> {
    (0..2_500_000u32)
        .flat_map(|i| format!("{i},").into_bytes())
        .take(2_500_000)
        .collect()
}

#[test]
fn decrypts_and_decompresses_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let data = plain();
    for (c, name) in [
        (Compression::None, "a.dump.dbk"),
        (Compression::Gzip, "a.dump.gz.dbk"),
        (Compression::Zstd, "a.dump.zst.dbk"),
        (Compression::Brotli, "a.dump.br.dbk"),
    ] {
        let path = make(dir.path(), name, &data, c, true);
        let (code, stdout, stderr) = recover(&["--key-hex", KEY_HEX, path.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout == data, "{c:?}");
    }
    // Unencrypted, compression from the name; output file via -o; key from a file.
    let path = make(dir.path(), "b.sql.zst", &data, Compression::Zstd, false);
    let out = dir.path().join("b.sql");
    let (code, _, stderr) = recover(&["-o", out.to_str().unwrap(), path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::read(&out).unwrap() == data);
    let key_file = dir.path().join("master.key");
    std::fs::File::create(&key_file)
        .unwrap()
        .write_all(format!("{KEY_HEX}\n").as_bytes())
        .unwrap();
    let path = make(dir.path(), "c.dump.zst.dbk", &data, Compression::Zstd, true);
    let (code, stdout, stderr) = recover(&[
        "--key-file",
        key_file.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout == data);
}

#[test]
fn errors_are_named_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = plain();
    let path = make(dir.path(), "x.dump.dbk", &data, Compression::None, true);
    let original = std::fs::read(&path).unwrap();
    let out = dir.path().join("out.dump");
    let out_s = out.to_str().unwrap().to_owned();

    let (code, _, stderr) = recover(&[
        "--key-hex",
        &"11".repeat(32),
        "-o",
        &out_s,
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("wrong key"), "{stderr}");

    let (code, _, stderr) = recover(&[path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("key is required"), "{stderr}");

    let mut bad = original.clone();
    bad[32 + (1 << 20) + 16 + 5] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    let (code, _, stderr) = recover(&["--key-hex", KEY_HEX, "-o", &out_s, path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("corrupt chunk 1"), "{stderr}");

    std::fs::write(&path, &original[..32 + (1 << 20) + 16]).unwrap();
    let (code, _, stderr) = recover(&["--key-hex", KEY_HEX, "-o", &out_s, path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("truncated"), "{stderr}");
    assert!(!out.exists());
    assert!(!dir.path().join("out.dump.partial").exists());

    let (code, _, stderr) = recover(&["--key-hex", "zz"]);
    assert_eq!(code, 2, "{stderr}");
}

/// `keygen` prints a key pair; a backup sealed to its public key (container version 2) opens
/// with `--private-key-hex` or a `--private-key-file` holding keygen's JSON, and with nothing
/// else: the symmetric option, another private key, and no key are refused by name, leaving no
/// output file.
#[test]
fn keygen_and_write_only_backups() {
    let (code, out, err) = recover(&["keygen"]);
    assert_eq!(code, 0, "{err}");
    let pair: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let public_hex = pair["publicKey"].as_str().unwrap();
    let private_hex = pair["privateKey"].as_str().unwrap();
    assert_eq!((public_hex.len(), private_hex.len()), (64, 64));
    let private = BackupKey::private_from_hex(private_hex).unwrap();
    assert_eq!(private.public_hex().unwrap(), public_hex);
    assert_eq!(pair["fingerprint"], private.fingerprint_hex());
    let (code, out, _) = recover(&["keygen"]);
    assert_eq!(code, 0);
    let other: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_ne!(other["privateKey"], pair["privateKey"]);

    let dir = tempfile::tempdir().unwrap();
    let data = plain();
    let public = BackupKey::public_from_hex(public_hex).unwrap();
    let mut sealed = Vec::new();
    run_backup_stream(
        &data[..],
        Compression::Zstd,
        None,
        Some(&public),
        &mut sealed,
        &Progress::default(),
    )
    .unwrap();
    assert_eq!(sealed[8], 2);
    let input = dir.path().join("b.dump.zst.dbk");
    std::fs::write(&input, &sealed).unwrap();
    let input = input.to_str().unwrap();

    let (code, out, err) = recover(&["--private-key-hex", private_hex, input]);
    assert_eq!(code, 0, "{err}");
    assert!(out == data, "decrypted output differs");
    let key_file = dir.path().join("pair.json");
    std::fs::write(&key_file, serde_json::to_vec_pretty(&pair).unwrap()).unwrap();
    let output = dir.path().join("out.dump");
    let (code, _, err) = recover(&[
        "--private-key-file",
        key_file.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        input,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&output).unwrap() == data);

    let refused = dir.path().join("refused.dump");
    let other_private = other["privateKey"].as_str().unwrap();
    for (args, expect) in [
        (
            vec!["--key-hex", KEY_HEX],
            "only its private key opens it, not a symmetric key",
        ),
        (vec!["--private-key-hex", other_private], "wrong key"),
        (vec![], "encrypted"),
    ] {
        let mut all = args.clone();
        all.extend(["-o", refused.to_str().unwrap(), input]);
        let (code, _, err) = recover(&all);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!refused.exists());
    }
    let (code, _, err) = recover(&["--private-key-hex", "abcd", input]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--private-key-hex"), "{err}");
}

/// The recovery kit's Python script (`recover/python/dbackup_decrypt.py`, run with
/// `/usr/bin/python3` and `cryptography`) opens a write-only backup with the private key file
/// (keygen's JSON), byte for byte; another private key is refused with no output left.
#[test]
fn python_script_decrypts_write_only_backups() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/dbackup_decrypt.py");
    let ready = Command::new("/usr/bin/python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ready,
        "/usr/bin/python3 with cryptography is needed (apt-get install python3-cryptography)"
    );
    let (public, private) = BackupKey::generate_pair().unwrap();
    let (_, other) = BackupKey::generate_pair().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = plain();
    let mut sealed = Vec::new();
    run_backup_stream(
        &data[..],
        Compression::Gzip,
        None,
        Some(&public),
        &mut sealed,
        &Progress::default(),
    )
    .unwrap();
    let input = dir.path().join("b.dump.gz.dbk");
    std::fs::write(&input, &sealed).unwrap();
    let run = |key: &BackupKey, output: &std::path::Path| {
        let key_file = dir.path().join("private.json");
        let json =
            serde_json::json!({"publicKey": key.public_hex(), "privateKey": key.secret_hex()});
        std::fs::write(&key_file, json.to_string()).unwrap();
        let out = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg("--private-key-file")
            .arg(&key_file)
            .arg("-o")
            .arg(output)
            .arg(&input)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let output = dir.path().join("out.dump");
    let (code, err) = run(&private, &output);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read(&output).unwrap() == data,
        "python output differs"
    );
    let refused = dir.path().join("refused.dump");
    let (code, err) = run(&other, &refused);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("wrong key"), "{err}");
    assert!(!refused.exists());
}
