//! Fuzz target `yaml_pieces`; its body is `keygate_tests::fuzzing::yaml_pieces`, which the
//! seed corpus test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_tests::fuzzing::yaml_pieces(data));
