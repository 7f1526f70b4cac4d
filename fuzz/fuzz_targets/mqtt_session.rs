#![no_main]
//! `cargo fuzz run mqtt_session`: the body is `dps_fuzz::targets::mqtt_session` (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| dps_fuzz::targets::mqtt_session(data));
