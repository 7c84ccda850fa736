//! dbackup's storage explorer (served by the `storage` component, `/api/storage`): which objects
//! of a destination are backups, their pages and `.meta.json` sidecars ([`explorer`]), and the
//! operations on them through the worker ([`backups`]).

#![forbid(unsafe_code)]

pub mod backups;
pub mod explorer;
