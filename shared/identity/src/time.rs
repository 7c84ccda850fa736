//! The time type is [`dbackup_core::time::Timestamp`], one for every crate; re-exported here so
//! identity's modules keep their `crate::time::Timestamp` paths.

pub use dbackup_core::time::Timestamp;
