//! Fuzz target: the management API's query-string parser and its typed readers.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| omniroute_fuzz::admin_query(data));
