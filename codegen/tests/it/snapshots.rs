//! Snapshots of the generated code for every document in `specs/`. The snapshots are
//! compiled and exercised by the `keygate-tests` crate. Regenerate them with
//! `UPDATE_EXPECT=1 cargo test -p keygate-codegen --test it snapshots`.

use std::path::Path;

use keygate_codegen::{generate_module, load, Templates};

#[track_caller]
fn verify(spec: &str, snapshot: expect_test::ExpectFile) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(spec)).expect("spec is readable");
    let api = load::load_str(spec, &text).unwrap_or_else(|e| panic!("{e}"));
    let module = generate_module(&api, &Templates::builtin()).unwrap_or_else(|e| panic!("{e}"));
    snapshot.assert_eq(&module);
    // Deterministic: the same document gives the same bytes.
    let again = generate_module(&api, &Templates::builtin()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(module, again);
}

#[test]
fn petstore() {
    verify(
        "specs/petstore.yaml",
        expect_test::expect_file!["../../../tests/snapshots/petstore.rs"],
    );
}

#[test]
fn edge_names() {
    verify(
        "specs/edge-names.yaml",
        expect_test::expect_file!["../../../tests/snapshots/edge_names.rs"],
    );
}

#[test]
fn keys() {
    verify(
        "specs/keys.yaml",
        expect_test::expect_file!["../../../tests/snapshots/keys.rs"],
    );
}
