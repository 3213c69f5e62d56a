//! Fuzz target: the route matcher (method, path and query to endpoint, access rule and error format).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| omniroute_fuzz::router(data));
