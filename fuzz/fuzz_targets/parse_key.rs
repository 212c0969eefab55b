//! Fuzz target `parse_key`; its body is `keygate_tests::fuzzing::parse_key`, which the seed
//! corpus test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_tests::fuzzing::parse_key(data));
