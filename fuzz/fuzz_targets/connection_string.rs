#![no_main]
//! `cargo fuzz run connection_string`: the body is `dps_fuzz::targets::connection_string` (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| dps_fuzz::targets::connection_string(data));
