//! dbackup's job logic, shared by the `jobs`, `executions` and `runner` components and testable
//! natively: retention decisions.

pub mod retention;
