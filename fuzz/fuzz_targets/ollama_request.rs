//! Fuzz target: the Ollama request decoder (a client's body), then every request encoder.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| omniroute_fuzz::request(omniroute_fuzz::WireFormat::Ollama, data));
