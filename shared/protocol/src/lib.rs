//! The worker contract (docs/CONTRACTS.md, docs/WORKER.md) as Rust types, shared by the worker
//! (which parses requests and writes answers and events) and the components (which write
//! requests and read answers and events). Compiles for the native target and wasm32-wasip2.
//!
//! Wire rules kept by every type here:
//! - keys are camelCase; request types keep `deny_unknown_fields` where the worker had it, so a
//!   misspelt field is a 400 naming it;
//! - the worker writes its answers through [`serde_json::Value`] (keys sorted), so the bytes it
//!   sends do not depend on field order here; optional answer fields are written as `null`,
//!   optional request fields are left out when absent;
//! - secrets never appear in `Debug` output.

#![forbid(unsafe_code)]

pub mod compression;
pub mod dbackup;
pub mod error;
pub mod events;
pub mod notify;
pub mod probe;
pub mod registration;
pub mod seal;
pub mod sidecar;
pub mod signature;
pub mod storage;
pub mod tasks;
pub mod version;

pub use compression::Compression;
pub use error::ErrorBody;
pub use sidecar::{Sidecar, ENCRYPTED_SUFFIX, META_SUFFIX, PARTIAL_SUFFIX};
pub use version::PgMajor;

/// The replacement text for a masked secret (in `Debug` output, logs and events).
pub const MASK: &str = "********";
