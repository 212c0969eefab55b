//! Fuzz target `read_credentials`; its body is `keygate_tests::fuzzing::read_credentials`, which the seed
//! corpus test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_tests::fuzzing::read_credentials(data));
