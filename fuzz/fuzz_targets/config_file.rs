//! Fuzz target: the config file parser (FileConfig::parse) and the declaration every runtime makes of it.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| omniroute_fuzz::config_file(data));
