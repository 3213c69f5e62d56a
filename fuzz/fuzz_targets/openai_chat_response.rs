//! Fuzz target: the OpenAI chat response decoder and upstream error reader (an upstream's body), then every response encoder.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| omniroute_fuzz::response(omniroute_fuzz::WireFormat::OpenaiChat, data));
