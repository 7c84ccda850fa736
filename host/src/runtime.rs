//! The wasmtime side of the host: one engine with the pooling allocator, every component compiled
//! once (and cached on disk), an `InstancePre` per component, and a fresh store per request or
//! cron tick carrying WASI, WASI-HTTP, the Spin interfaces and the component's limits.

use crate::database::Database;
use crate::manifest::{FileMount, Manifest};
use crate::outbound::OutboundPolicy;
use crate::variables::Variables;
use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::component::{Component, InstancePre, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Bindings for the Spin interfaces the components import.
pub mod spin {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "spin-host",
        imports: { default: async | trappable },
        with: { "spin:sqlite/sqlite.connection": crate::sqlite_host::Connection },
    });
}

/// Bindings for the cron trigger's world (`fermyon:spin-cron@2.0.0`).
pub mod cron {
    wasmtime::component::bindgen!({
        path: "../wit/spin-cron",
        world: "spin-cron",
        exports: { default: async },
    });
}

/// What a component may use, resolved from the manifest once at start.
pub struct ComponentInfo {
    pub id: String,
    pub sqlite_databases: Vec<String>,
    /// Component variable name → resolved value.
    pub variables: BTreeMap<String, String>,
    pub outbound: OutboundPolicy,
    /// (host directory, guest path) pairs mounted read-only.
    pub files: Vec<(PathBuf, String)>,
    pub environment: Vec<(String, String)>,
}

/// State shared by every store: the databases behind `spin:sqlite` labels.
pub struct Shared {
    pub databases: HashMap<String, Database>,
}

/// The data of one store (one request or one cron tick).
pub struct StoreData {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: crate::outbound_hooks::OutboundHooks,
    pub component: Arc<ComponentInfo>,
    pub shared: Arc<Shared>,
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreData {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl StoreData {
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

/// A compiled, pre-linked component.
pub struct LoadedComponent {
    pub info: Arc<ComponentInfo>,
    pub pre: InstancePre<StoreData>,
}

/// The engine and every component of an application.
pub struct Runtime {
    pub engine: Engine,
    pub components: HashMap<String, LoadedComponent>,
    pub shared: Arc<Shared>,
}

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(512);
    pool.total_memories(512);
    pool.total_tables(512);
    pool.total_core_instances(2048);
    pool.max_memory_size(256 << 20);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(anyhow::Error::from)
}

impl Runtime {
    /// Compiles (or loads from `cache_dir`) and links every component the manifest's triggers use.
    pub fn new(
        manifest: &Manifest,
        variables: &Variables,
        shared: Arc<Shared>,
        cache_dir: &Path,
    ) -> Result<Self> {
        let engine = engine()?;
        let mut linker: Linker<StoreData> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)?;
        spin::SpinHost::add_to_linker::<_, wasmtime::component::HasSelf<StoreData>>(
            &mut linker,
            |s| s,
        )
        .map_err(anyhow::Error::from)?;
        // Cron components import the types-only cron-types interface: an empty instance.
        linker
            .instance("fermyon:spin-cron/cron-types@2.0.0")
            .map_err(anyhow::Error::from)?;

        let mut used: Vec<&str> = manifest
            .http_triggers
            .iter()
            .map(|t| t.component.as_str())
            .chain(manifest.cron_triggers.iter().map(|t| t.component.as_str()))
            .collect();
        used.sort_unstable();
        used.dedup();

        let mut components = HashMap::new();
        for id in used {
            let decl = &manifest.components[id];
            let info = Arc::new(component_info(manifest, id, variables)?);
            let path = manifest
                .component_source(id)
                .ok_or_else(|| anyhow!("unknown component {id}"))?;
            let component = load_component(&engine, &path, cache_dir)
                .with_context(|| format!("component {id} ({})", decl.source))?;
            let pre = linker.instantiate_pre(&component).map_err(|e| {
                anyhow!(
                    "component {id} imports something this host does not provide: {}",
                    anyhow::Error::from(e)
                )
            })?;
            components.insert(id.to_owned(), LoadedComponent { info, pre });
        }
        Ok(Runtime {
            engine,
            components,
            shared,
        })
    }

    /// A fresh store for one request or tick of `component`.
    pub fn store(&self, component: &LoadedComponent) -> Result<Store<StoreData>> {
        let info = &component.info;
        let mut builder = WasiCtxBuilder::new();
        builder.inherit_stdout().inherit_stderr();
        for (k, v) in &info.environment {
            builder.env(k, v);
        }
        for (host, guest) in &info.files {
            builder
                .preopened_dir(host, guest, FsPerms::ReadOnly)
                .map_err(|e| {
                    anyhow!(
                        "component {}: cannot mount {}: {}",
                        info.id,
                        host.display(),
                        anyhow::Error::from(e)
                    )
                })?;
        }
        let data = StoreData {
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: crate::outbound_hooks::OutboundHooks::new(info.clone()),
            component: info.clone(),
            shared: self.shared.clone(),
        };
        Ok(Store::new(&self.engine, data))
    }
}

fn component_info(manifest: &Manifest, id: &str, variables: &Variables) -> Result<ComponentInfo> {
    let decl = &manifest.components[id];
    let mut resolved = BTreeMap::new();
    for (name, template) in &decl.variables {
        resolved.insert(name.clone(), variables.expand(template)?);
    }
    let hosts = decl
        .allowed_outbound_hosts
        .iter()
        .map(|h| variables.expand(h))
        .collect::<Result<Vec<_>>>()?;
    let outbound = OutboundPolicy::new(&hosts).with_context(|| format!("component {id}"))?;
    let mut files = Vec::new();
    for mount in &decl.files {
        let (source, dest) = match mount {
            FileMount::Path(p) => (p.clone(), format!("/{}", p.trim_start_matches('/'))),
            FileMount::Mapping {
                source,
                destination,
            } => (source.clone(), destination.clone()),
        };
        if source.contains('*') {
            bail!(
                "component {id}: glob file patterns are not supported by this host; mount a folder"
            );
        }
        let host = manifest.dir.join(&source);
        if !host.is_dir() {
            bail!(
                "component {id}: files source {} is not a folder (build the frontend first)",
                host.display()
            );
        }
        files.push((host, dest));
    }
    for label in &decl.sqlite_databases {
        if label.is_empty() {
            bail!("component {id}: empty sqlite_databases label");
        }
    }
    Ok(ComponentInfo {
        id: id.to_owned(),
        sqlite_databases: decl.sqlite_databases.clone(),
        variables: resolved,
        outbound,
        files,
        environment: decl
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// Loads a component, compiling it once per (wasm bytes, engine settings) and caching the result.
fn load_component(engine: &Engine, path: &Path, cache_dir: &Path) -> Result<Component> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read {} (build the components first: cargo xtask build)",
            path.display()
        )
    })?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let engine_hash = hasher.finish();
    let digest = hex::encode(Sha256::digest(&bytes));
    let cached = cache_dir.join(format!("{}-{engine_hash:016x}.cwasm", &digest[..32]));
    if cached.is_file() {
        // SAFETY: the file was written by `Component::serialize` of an engine with the same
        // compatibility hash, into the host's private data folder.
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(c) => return Ok(c),
            Err(e) => eprintln!(
                "dbackup: ignoring unusable compiled cache {}: {}",
                cached.display(),
                anyhow::Error::from(e)
            ),
        }
    }
    let component = Component::new(engine, &bytes).map_err(anyhow::Error::from)?;
    if std::fs::create_dir_all(cache_dir).is_ok() {
        if let Ok(serialized) = component.serialize() {
            // A name of our own: several processes (or threads) may compile the same component
            // into one cache at once, and must not write into each other's half-written file.
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = cached.with_extension(format!("{}-{n}.tmp", std::process::id()));
            if std::fs::write(&tmp, serialized).is_ok() {
                let _ = std::fs::rename(&tmp, &cached);
            }
        }
    }
    Ok(component)
}

impl cron::fermyon::spin_cron::cron_types::Metadata {
    /// The metadata of a tick at `timestamp` (Unix seconds).
    pub fn at(timestamp: u64) -> Self {
        Self { timestamp }
    }
}

/// The metadata passed to `handle-cron-event`.
pub fn cron_metadata(timestamp: u64) -> cron::fermyon::spin_cron::cron_types::Metadata {
    cron::fermyon::spin_cron::cron_types::Metadata::at(timestamp)
}
