//! The service API end to end: the SDK and raw HTTPS against the in-process emulator, with
//! real TLS and real SQLite. One emulator per test, on an ephemeral 127.0.0.1 port.

#[path = "service/auth.rs"]
mod auth;
#[path = "service/bulk.rs"]
mod bulk;
#[path = "service/ca.rs"]
mod ca;
#[path = "service/ca_failures.rs"]
mod ca_failures;
#[path = "service/concurrency.rs"]
mod concurrency;
#[path = "service/enrollments.rs"]
mod enrollments;
#[path = "service/error_kinds.rs"]
mod error_kinds;
#[path = "service/faults.rs"]
mod faults;
#[path = "service/forwarded.rs"]
mod forwarded;
#[path = "service/groups.rs"]
mod groups;
#[path = "service/limits.rs"]
mod limits;
#[path = "service/names.rs"]
mod names;
#[path = "service/paging.rs"]
mod paging;
#[path = "service/persistence.rs"]
mod persistence;
#[path = "service/registrations.rs"]
mod registrations;
#[path = "service/validation.rs"]
mod validation;
#[path = "service/wire.rs"]
mod wire;
