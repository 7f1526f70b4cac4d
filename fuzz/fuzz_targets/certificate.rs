#![no_main]
//! `cargo fuzz run certificate`: the body is `dps_fuzz::targets::certificate` (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| dps_fuzz::targets::certificate(data));
