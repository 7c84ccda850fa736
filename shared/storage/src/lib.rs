//! dbackup's storage explorer (served by the `storage` component, `/api/storage`): which objects
//! of a destination are backups, their pages and `.meta.json` sidecars ([`explorer`]).

#![forbid(unsafe_code)]

pub mod explorer;
