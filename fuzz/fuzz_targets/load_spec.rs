//! Fuzz target `load_spec`; its body is `keygate_tests::fuzzing::load_spec`, which the seed
//! corpus test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_tests::fuzzing::load_spec(data));
