#![no_main]
//! `cargo fuzz run sas_device`: the body is `dps_fuzz::targets::sas_device` (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| dps_fuzz::targets::sas_device(data));
