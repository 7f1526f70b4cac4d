#![no_main]
//! `cargo fuzz run registration_id`: the body is `dps_fuzz::targets::registration_id` (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| dps_fuzz::targets::registration_id(data));
