//! Generates the petstore module into `OUT_DIR` from `specs/petstore.yaml` (`example/specs`
//! is a symlink to the repository's `specs/`, so the packaged crate builds too).

fn main() {
    // Writes $OUT_DIR/petstore.rs, only when it changed, and tells cargo to rerun on edits.
    keygate_codegen::Builder::new()
        .spec("specs/petstore.yaml")
        .generate()
        .unwrap_or_else(|error| panic!("{error}"));
}
