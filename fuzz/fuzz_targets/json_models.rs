#![no_main]
//! `cargo fuzz run json_models`: the body is `dps_fuzz::targets::json_models` (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| dps_fuzz::targets::json_models(data));
