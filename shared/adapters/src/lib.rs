//! dbackup's adapter logic, shared by the `adapters` and `runner` components (and the vault's crate) and tested
//! natively: the registry of sources, destinations and notification channels
//! ([`registry`]), config validation ([`validate`]), secret fields sealed at rest, masked in
//! answers and merged on update ([`secrets`]), `AdapterConfig` rows ([`store`]), what the worker
//! receives ([`worker_source`], [`worker_storage`]), notification payloads
//! ([`render_notification`]), backup-key fingerprints and health transitions.
//!
//! No I/O besides the [`dbackup_core::db::Db`] passed in: components make the HTTP calls.

pub mod api;
pub mod fingerprint;
pub mod health;
pub mod notify;
pub mod registry;
pub mod secrets;
pub mod store;
pub mod validate;
pub mod worker_spec;

pub use dbackup_identity::secretbox::SecretBox;
pub use notify::{render_notification, Notification, NotificationField, OutboundMessage, Status};
pub use registry::{AdapterType, Kind};
pub use store::{load, Adapter};
pub use worker_spec::{worker_source, worker_storage};
