//! dbackup's adapter logic, shared by the `adapters` and `runner` components (and the vault's
//! crate) and tested natively: the registry of sources, destinations and notification channels
//! ([`registry`]), config validation ([`validate`]), secret fields sealed at rest, masked in
//! answers and merged on update ([`secrets`]), `AdapterConfig` rows ([`store`]), the adapter
//! API's create/change/delete rules ([`manage`]), what the worker receives ([`worker_source`],
//! [`worker_storage`]), notification payloads ([`render_notification`]), the adapter test
//! ([`probe`]) and health checks ([`health`]), backup-key fingerprints.
//!
//! I/O only through what callers pass in: a [`dbackup_core::db::Db`], a
//! [`dbackup_core::worker::Worker`] and a [`notify::Deliver`].

#![forbid(unsafe_code)]

pub mod api;
pub mod fingerprint;
pub mod health;
pub mod manage;
pub mod notify;
pub mod probe;
pub mod registry;
pub mod secrets;
pub mod store;
pub mod validate;
pub mod worker_spec;

pub use dbackup_identity::secretbox::SecretBox;
pub use notify::{render_notification, Notification, NotificationField, OutboundMessage, Status};
pub use registry::{AdapterType, Kind};
pub use store::{load, Adapter};
pub use worker_spec::{destination_spec, worker_source, worker_storage};
