//! Fuzz target `routing_agreement`; its body is `keygate_tests::fuzzing::routing_agreement`,
//! which the seed corpus test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_tests::fuzzing::routing_agreement(data));
