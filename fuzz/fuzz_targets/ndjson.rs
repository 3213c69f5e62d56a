//! Fuzz target: the NDJSON framer (Ollama streams): same lines at any chunk boundary.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| omniroute_fuzz::ndjson(data));
