#![no_main]
//! `cargo fuzz run http_routing`: the body is `dps_fuzz::targets::http_routing` (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| dps_fuzz::targets::http_routing(data));
