//! `dps-as-code` end to end against the in-process emulator (issue 15): files read and
//! resolved, planned against and applied to the emulator over TLS, exported and read back.

#[path = "end_to_end/certificates.rs"]
mod certificates;
#[path = "end_to_end/changes.rs"]
mod changes;
#[path = "end_to_end/common.rs"]
mod common;
#[path = "end_to_end/concurrency.rs"]
mod concurrency;
#[path = "end_to_end/files.rs"]
mod files;
#[path = "end_to_end/prune.rs"]
mod prune;
#[path = "end_to_end/round_trip.rs"]
mod round_trip;
#[path = "end_to_end/scale.rs"]
mod scale;
#[path = "end_to_end/scenario.rs"]
mod scenario;
#[path = "end_to_end/secrets.rs"]
mod secrets;
