//! The host's copies of Spin's WIT are spin-sdk 5.2.0's, byte for byte, and the lock file pins
//! exactly that spin-sdk.

use dbackup_tests::repo;
use std::path::PathBuf;
use std::process::Command;

const SDK_VERSION: &str = "5.2.0";

/// The source folder of the spin-sdk package the workspace builds, from `cargo metadata`.
fn spin_sdk_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // Only this platform's dependencies: their sources are already here (building needed them),
    // while other platforms' crates may never have been downloaded.
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--filter-platform"])
        .arg(host_triple())
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo} metadata: {e}"));
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let sdks: Vec<&serde_json::Value> = packages
        .iter()
        .filter(|p| p["name"] == "spin-sdk")
        .collect();
    let versions: Vec<&str> = sdks.iter().filter_map(|p| p["version"].as_str()).collect();
    assert_eq!(
        versions,
        [SDK_VERSION],
        "spin-sdk versions in the build graph"
    );
    let manifest = sdks[0]["manifest_path"].as_str().expect("manifest_path");
    PathBuf::from(manifest)
        .parent()
        .expect("package folder")
        .to_path_buf()
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = Command::new(&rustc)
        .arg("-vV")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {rustc} -vV: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .expect("a host line in rustc -vV")
}

fn assert_same(sdk_file: PathBuf, host_file: PathBuf) {
    let sdk = std::fs::read(&sdk_file).unwrap_or_else(|e| panic!("{}: {e}", sdk_file.display()));
    let host = std::fs::read(&host_file).unwrap_or_else(|e| panic!("{}: {e}", host_file.display()));
    assert!(
        sdk == host,
        "{} differs from {}: copy it again",
        host_file.display(),
        sdk_file.display()
    );
}

#[test]
fn host_wit_equals_spin_sdk_wit() {
    let sdk = spin_sdk_dir();
    let host = repo().join("host/wit/deps");
    assert_same(
        sdk.join("wit/deps/spin-sqlite@3.0.0/sqlite.wit"),
        host.join("spin-sqlite@3.0.0/sqlite.wit"),
    );
    assert_same(
        sdk.join("wit/deps/spin@2.0.0/variables.wit"),
        host.join("spin-variables@2.0.0/variables.wit"),
    );
}

#[test]
fn lock_file_pins_spin_sdk() {
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).expect("Cargo.lock");
    let mut versions = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"spin-sdk\"" {
            let version = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
                .map(|v| v.trim_matches('"').to_owned())
                .expect("a version line after the name");
            versions.push(version);
        }
    }
    assert_eq!(versions, [SDK_VERSION], "spin-sdk entries in Cargo.lock");
}
