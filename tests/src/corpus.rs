//! Where the shared corpus of real documents is: read from there, never copied into
//! the repository.

use std::path::{Path, PathBuf};

/// The shared corpus: `KEYGATE_CORPUS`, else `../shared/corpus` beside the repository,
/// else this workplace's `/work/shared/corpus`.
///
/// # Panics
/// When none of them holds a `real/` folder: the tests that read it cannot run.
pub fn corpus_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        std::env::var_os("KEYGATE_CORPUS").map(PathBuf::from),
        Some(root.join("../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("real").is_dir())
        .expect("the shared corpus (set KEYGATE_CORPUS to its directory)")
}
