//! The worker's callback signature lives in the protocol crate (one sign/verify for the worker
//! and the components); re-exported here for the components that verify events.

pub use dbackup_protocol::signature::{sign, verify, MAX_SKEW_SECS};
