//! Fuzz target: the SSE framer (upstream streams of every SSE format): same events at any chunk boundary.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| omniroute_fuzz::sse(data));
