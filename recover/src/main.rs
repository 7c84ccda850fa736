//! `dbackup-recover`: turns a dbackup backup object back into the raw dump with nothing but
//! the key. Streams; memory stays flat whatever the size.
//!
//! ```text
//! dbackup-recover [--key-hex HEX | --key-file PATH | --private-key-hex HEX | --private-key-file PATH]
//!                 [--compression NONE|GZIP|ZSTD|BROTLI] [-o OUTPUT] INPUT
//! dbackup-recover keygen
//! ```
//!
//! Encrypted objects (`DBKENC01` header) need a key and carry their compression in the
//! header; given a key, anything else is refused (it is not the encrypted backup expected).
//! Version 1 objects open with the profile's symmetric key (`--key-*`), version 2 objects
//! (write-only profiles) with the private key of the profile's key pair (`--private-key-*`).
//! `keygen` prints a fresh X25519 key pair as `{"publicKey": "<64 hex>", "privateKey":
//! "<64 hex>"}`: the public key goes into a write-only profile, the private key stays with you.
//! Unencrypted objects take the compression from `--compression` or the file name
//! (`.gz`, `.zst`, `.br`). `INPUT` may be `-` for stdin; output goes to stdout unless `-o`.
//! With `-o`, output is written to `OUTPUT.partial` and renamed only after the whole input
//! authenticated and decompressed, so a failed recovery leaves no output file.
//!
//! Exit status: 0 success, 1 data error (wrong key, corrupt chunk, truncated), 2 usage error.

#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use dbackup_worker::format::{BackupKey, Compression};
use dbackup_worker::stream::{describe_io_error, open_restore_stream};

const USAGE: &str = "usage: dbackup-recover [--key-hex HEX | --key-file PATH | \
--private-key-hex HEX | --private-key-file PATH] [--compression NONE|GZIP|ZSTD|BROTLI] \
[-o OUTPUT] INPUT|-\n       dbackup-recover keygen";

struct Args {
    key: Option<BackupKey>,
    compression: Option<Compression>,
    output: Option<PathBuf>,
    input: String,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut key = None;
    let mut compression = None;
    let mut output = None;
    let mut input = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--key-hex" => {
                key = Some(BackupKey::from_hex(&value("--key-hex")?).map_err(|e| e.to_string())?)
            }
            "--key-file" => {
                let path = value("--key-file")?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read key file {path}: {e}"))?;
                key = Some(BackupKey::from_hex(&text).map_err(|e| format!("{path}: {e}"))?);
            }
            "--private-key-hex" => {
                key = Some(
                    BackupKey::private_from_hex(&value("--private-key-hex")?)
                        .map_err(|e| format!("--private-key-hex: {e}"))?,
                )
            }
            "--private-key-file" => {
                let path = value("--private-key-file")?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read key file {path}: {e}"))?;
                key = Some(
                    BackupKey::private_from_hex(private_key_text(&text))
                        .map_err(|e| format!("{path}: {e}"))?,
                );
            }
            "--compression" => {
                let v = value("--compression")?;
                compression = Some(
                    serde_json::from_value(serde_json::Value::String(v.to_ascii_uppercase()))
                        .map_err(|_| format!("unknown compression {v:?}"))?,
                );
            }
            "-o" | "--output" => output = Some(PathBuf::from(value("-o")?)),
            "-h" | "--help" => return Err(String::new()),
            other if other.starts_with('-') && other != "-" => {
                return Err(format!("unknown option {other}"))
            }
            other => {
                if input.replace(other.to_owned()).is_some() {
                    return Err("only one INPUT".into());
                }
            }
        }
    }
    Ok(Args {
        key,
        compression,
        output,
        input: input.ok_or("missing INPUT")?,
    })
}

/// A private key file holds the 64 hex characters, or the JSON `keygen` printed (its
/// `privateKey` is used).
fn private_key_text(text: &str) -> &str {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        if let Some(start) = trimmed.find("\"privateKey\"") {
            let rest = &trimmed[start + "\"privateKey\"".len()..];
            let rest = rest.trim_start().trim_start_matches(':').trim_start();
            if let Some(rest) = rest.strip_prefix('"') {
                if let Some(end) = rest.find('"') {
                    return &rest[..end];
                }
            }
        }
    }
    trimmed
}

/// `keygen`: a fresh X25519 key pair as one JSON line.
fn keygen() -> Result<(), String> {
    let (public, private) =
        BackupKey::generate_pair().map_err(|e| format!("no randomness: {e}"))?;
    let line = serde_json::json!({
        "publicKey": public.public_hex(),
        "privateKey": private.secret_hex(),
        "fingerprint": public.fingerprint_hex(),
    });
    println!("{line}");
    Ok(())
}

fn run(args: Args) -> Result<(), String> {
    let hint = args
        .compression
        .unwrap_or_else(|| Compression::from_object_name(&args.input));
    let input: Box<dyn Read + Send> = if args.input == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(&args.input).map_err(|e| format!("cannot open {}: {e}", args.input))?)
    };
    // With a key the input must be an encrypted container: plaintext is refused.
    let (_, mut reader) =
        open_restore_stream(input, args.key.as_ref(), hint).map_err(|e| e.to_string())?;
    match &args.output {
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(256 * 1024, stdout.lock());
            io::copy(&mut reader, &mut out).map_err(|e| describe_io_error(&e))?;
            out.flush().map_err(|e| format!("writing stdout: {e}"))
        }
        Some(path) => {
            let mut partial = path.clone().into_os_string();
            partial.push(".partial");
            let partial = PathBuf::from(partial);
            let result = (|| {
                let file = File::create(&partial)
                    .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
                let mut out = BufWriter::with_capacity(256 * 1024, file);
                io::copy(&mut reader, &mut out).map_err(|e| describe_io_error(&e))?;
                let file = out
                    .into_inner()
                    .map_err(|e| format!("writing output: {e}"))?;
                file.sync_all()
                    .map_err(|e| format!("writing output: {e}"))?;
                std::fs::rename(&partial, path).map_err(|e| format!("renaming output: {e}"))
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&partial);
            }
            result
        }
    }
}

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("keygen") {
        argv.remove(0);
        if !argv.is_empty() {
            eprintln!("dbackup-recover: keygen takes no arguments\n{USAGE}");
            return ExitCode::from(2);
        }
        return match keygen() {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("dbackup-recover: {message}");
                ExitCode::from(1)
            }
        };
    }
    let args = match parse_args(argv) {
        Ok(args) => args,
        Err(message) => {
            if message.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("dbackup-recover: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dbackup-recover: {message}");
            ExitCode::from(1)
        }
    }
}
