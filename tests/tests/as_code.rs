//! Enrollments as code end to end (issue 15): files read and resolved by `dps-as-code`,
//! planned against and applied to the in-process emulator, over real TLS and real SQLite.

#[path = "as_code/changes.rs"]
mod changes;
#[path = "as_code/common.rs"]
mod common;
#[path = "as_code/concurrency.rs"]
mod concurrency;
#[path = "as_code/prune.rs"]
mod prune;
#[path = "as_code/scale.rs"]
mod scale;
