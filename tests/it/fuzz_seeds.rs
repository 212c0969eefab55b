//! The seed corpora of the fuzz targets (`fuzz/corpus/<target>/`), run as ordinary
//! tests: every input must pass its target's checks without a fuzzer.

use std::path::PathBuf;

use keygate_tests::fuzzing::TARGETS;

#[test]
fn every_seed_of_every_fuzz_target_passes() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (target, run) in TARGETS {
        let dir = corpus.join(target);
        let mut seeds: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("corpus entry").path())
            .collect();
        seeds.sort();
        assert!(seeds.len() >= 5, "{target}: only {} seeds", seeds.len());
        for seed in &seeds {
            let data = std::fs::read(seed).expect("read seed");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(
                outcome.is_ok(),
                "{target}: seed {} panicked",
                seed.display()
            );
        }
        eprintln!("fuzz seeds: {target}: {} inputs passed", seeds.len());
    }
}
