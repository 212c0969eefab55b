//! The loader's cut parse (`load/pieces.rs`) against one parse of the whole text, on
//! every YAML document of the shared corpus, the repository's specs and the
//! `yaml_pieces` fuzz seeds, at three piece sizes: the tree must be the same, entry
//! order and tags included, whenever the document is cut.

use std::path::{Path, PathBuf};

use keygate_tests::fuzzing::WholeYaml;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn cut_documents_parse_to_the_tree_of_one_parse() {
    let corpus = keygate_tests::corpus_dir();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut documents = Vec::new();
    for dir in [
        corpus.join("real"),
        corpus.join("big"),
        repo.join("specs"),
        repo.join("fuzz/corpus/yaml_pieces"),
    ] {
        documents.extend(files(&dir));
    }
    let mut cut = [0usize; 3];
    for path in &documents {
        let text = std::fs::read_to_string(path).expect("read");
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let whole = WholeYaml::new(text);
        for (count, piece_bytes) in cut.iter_mut().zip([1, 4096, 65536]) {
            if whole.check_cut(piece_bytes, 2, path.display()) {
                *count += 1;
            }
        }
    }
    eprintln!(
        "pieces: {} documents; cut at 1 byte: {}, 4 kB: {}, 64 kB: {}",
        documents.len(),
        cut[0],
        cut[1],
        cut[2]
    );
    // Most real documents can be cut; a planner that never cuts would pass the
    // comparison above vacuously.
    assert!(
        cut[0] * 10 >= documents.len() * 7,
        "only {} of {} documents cut",
        cut[0],
        documents.len()
    );
    assert!(cut[2] >= 3, "the big documents were not cut at 64 kB");
}
