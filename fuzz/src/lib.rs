//! The fuzz targets of dps-rs, as plain functions of the fuzzer's bytes.
//!
//! Each `fuzz_targets/<name>.rs` is a one-line `fuzz_target!` around `targets::<name>`, and
//! `tests/tests/fuzz_replay.rs` (in `cargo test`) includes `src/targets.rs` itself to replay
//! every file of `corpus/<name>/` and `regressions/<name>/` through the same functions, so a
//! target's body and its checks exist once.

pub mod targets;
