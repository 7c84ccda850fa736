//! The real components import only what Spin (and this host) provides, export what their
//! trigger calls, and are exactly the components spin.toml names.

use dbackup_host::manifest::Manifest;
use dbackup_tests::{repo, wasm_dir};
use std::collections::BTreeSet;
use std::path::PathBuf;
use wasmtime::component::Component;
use wasmtime::{Cache, CacheConfig, Config, Engine, OptLevel};

/// The WASI packages a component may import (any 0.2.x version).
const WASI_PACKAGES: &[&str] = &["io", "cli", "clocks", "random", "filesystem", "sockets"];

/// The built real components: `dbackup_*.wasm` in DBACKUP_WASM_DIR.
fn real_components() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(wasm_dir())
        .expect("list DBACKUP_WASM_DIR")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_owned();
            stem.starts_with("dbackup_").then_some((stem, p))
        })
        .collect();
    out.sort();
    out
}

/// An engine that keeps compiled components in a cache shared by test runs (compiling every
/// component with a debug build of Cranelift takes a while).
fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Only the types matter here: compile fast.
    config.cranelift_opt_level(OptLevel::None);
    let mut cache = CacheConfig::new();
    cache.with_directory(dbackup_tests::shared_tmp("dbackup-tests-wasmtime-cache"));
    config.cache(Some(Cache::new(cache).expect("cache config")));
    Engine::new(&config).expect("engine")
}

/// `wasi:<pkg>/<iface>@0.2.<n>` for an allowed WASI package.
fn is_wasi_p2(name: &str, packages: &[&str]) -> bool {
    let Some(rest) = name.strip_prefix("wasi:") else {
        return false;
    };
    let Some((path, version)) = rest.split_once('@') else {
        return false;
    };
    let Some((pkg, _iface)) = path.split_once('/') else {
        return false;
    };
    let Some(patch) = version.strip_prefix("0.2.") else {
        return false;
    };
    packages.contains(&pkg) && !patch.is_empty() && patch.chars().all(|c| c.is_ascii_digit())
}

#[test]
fn components_import_only_what_the_host_provides() {
    let components = real_components();
    assert!(
        !components.is_empty(),
        "no dbackup_*.wasm in {}",
        wasm_dir().display()
    );
    let engine = engine();
    let mut wasi_seen = BTreeSet::new();
    for (name, path) in &components {
        let component =
            Component::from_file(&engine, path).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let ty = component.component_type();
        let imports: Vec<String> = ty.imports(&engine).map(|(n, _)| n.to_owned()).collect();
        let exports: Vec<String> = ty.exports(&engine).map(|(n, _)| n.to_owned()).collect();
        let is_runner = name == "dbackup_runner";
        for import in &imports {
            let allowed = is_wasi_p2(import, WASI_PACKAGES)
                || (is_wasi_p2(import, &["http"])
                    && (import.starts_with("wasi:http/types@")
                        || import.starts_with("wasi:http/outgoing-handler@")))
                || import == "spin:sqlite/sqlite@3.0.0"
                || import == "fermyon:spin/variables@2.0.0"
                || (is_runner && import == "fermyon:spin-cron/cron-types@2.0.0");
            assert!(
                allowed,
                "{name} imports {import}, which the host does not provide"
            );
            if import.starts_with("wasi:") {
                if let Some(pkg) = import.split(['/', ':']).nth(1) {
                    wasi_seen.insert(pkg.to_owned());
                }
            }
        }
        if is_runner {
            assert!(
                exports.iter().any(|e| e == "handle-cron-event"),
                "{name} exports {exports:?}"
            );
            assert!(
                !exports
                    .iter()
                    .any(|e| e.starts_with("wasi:http/incoming-handler")),
                "{name} exports {exports:?}"
            );
        } else {
            assert!(
                exports
                    .iter()
                    .any(|e| is_wasi_p2(e, &["http"])
                        && e.starts_with("wasi:http/incoming-handler@")),
                "{name} exports {exports:?}"
            );
        }
        eprintln!("{name}: imports {imports:?}; exports {exports:?}");
    }
    eprintln!("WASI packages imported: {wasi_seen:?}");
    assert!(
        wasi_seen.contains("io") && wasi_seen.contains("http"),
        "{wasi_seen:?}"
    );
}

#[test]
fn the_built_components_are_the_manifest_components() {
    let manifest = Manifest::load(&repo().join("spin.toml")).expect("spin.toml loads");
    let from_manifest: BTreeSet<String> = manifest
        .components
        .values()
        .map(|c| {
            PathBuf::from(&c.source)
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("source file name")
                .to_owned()
        })
        .collect();
    let built: BTreeSet<String> = real_components().into_iter().map(|(n, _)| n).collect();
    assert_eq!(built, from_manifest);
    // Every component is named after its crate: components/<id> builds dbackup_<id>.wasm.
    for (id, c) in &manifest.components {
        assert!(
            c.source.ends_with(&format!("/dbackup_{id}.wasm")),
            "component {id} has source {}",
            c.source
        );
        assert!(
            repo()
                .join("components")
                .join(id)
                .join("Cargo.toml")
                .is_file(),
            "component {id} has no crate under components/"
        );
    }
}
