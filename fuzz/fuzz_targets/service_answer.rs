#![no_main]
//! `cargo fuzz run service_answer`: the body is `dps_fuzz::targets::service_answer` (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| dps_fuzz::targets::service_answer(data));
