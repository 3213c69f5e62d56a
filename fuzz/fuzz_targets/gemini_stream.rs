//! Fuzz target: the Gemini stream decoder (an upstream's stream) at several chunk sizes, through every client's stream encoder.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| omniroute_fuzz::stream(omniroute_fuzz::WireFormat::Gemini, data));
