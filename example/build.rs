//! Generates the petstore module into `OUT_DIR` from `specs/petstore.yaml`.

fn main() {
    // Writes $OUT_DIR/petstore.rs, only when it changed, and tells cargo to rerun on edits.
    keygate_codegen::Builder::new()
        .spec("../specs/petstore.yaml")
        .generate()
        .unwrap_or_else(|error| panic!("{error}"));
}
