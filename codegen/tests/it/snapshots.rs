//! Snapshots of the generated code for every document in `specs/`. The snapshots are
//! compiled and exercised by the `keygate-tests` crate. Regenerate them with
//! `UPDATE_EXPECT=1 cargo test -p keygate-codegen --test it snapshots`.

use std::path::Path;

use keygate_codegen::{generate_module, load_str, Templates};

#[track_caller]
fn verify(spec: &str, snapshot: expect_test::ExpectFile) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(spec)).expect("spec is readable");
    let api = load_str(spec, &text).unwrap_or_else(|e| panic!("{e}"));
    let module = generate_module(&api, &Templates::builtin()).unwrap_or_else(|e| panic!("{e}"));
    snapshot.assert_eq(&module);
    assert_parses(spec, &module);
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

/// keygate's admin API is guarded by the module generated from `specs/admin.yaml`,
/// committed in the runtime (which must not build-depend on the generator): it must be
/// what generation gives now.
#[test]
fn the_committed_admin_module_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let spec = "specs/admin.yaml";
    let text = std::fs::read_to_string(root.join(spec)).expect("spec is readable");
    let api = load_str(spec, &text).unwrap_or_else(|e| panic!("{e}"));
    let module = generate_module(&api, &Templates::builtin()).unwrap_or_else(|e| panic!("{e}"));
    let committed_path = "runtime/src/admin/generated.rs";
    let committed = std::fs::read_to_string(root.join(committed_path)).expect("committed module");
    assert!(
        committed == module,
        "{committed_path} differs from what {spec} generates now; regenerate it with\n  \
         cargo run -p keygate-cli -- generate {spec} -o {committed_path}"
    );
}

/// The module parses (the emitter checks each item, the template wrapper too).
#[track_caller]
pub(crate) fn assert_parses(name: &str, module: &str) {
    if let Err(e) = syn::parse_file(module) {
        panic!("{name}: the generated module does not parse: {e}");
    }
}

/// Names and texts that are hard to write as Rust: quotes, backslashes, wide and
/// combining characters, control and bidirectional characters, keywords, names that
/// differ only in case, long roles, a lone `{}`, `security: []`, many schemes.
#[test]
fn hard_texts_give_valid_rust() {
    let spec = r#"openapi: 3.1.0
info: {title: "Hard \"quoted\" \\ 漢字 e\u0301 \u202e bidi \u2028 sep \u0000 nul `tick` [link]", version: "1"}
components:
  securitySchemes:
    a: {type: apiKey, in: query, name: "X-\"A\""}
    b_scheme_with_a_rather_long_name: {type: apiKey, in: query, name: b}
    "c\nnewline": {type: apiKey, in: cookie, name: c}
    d: {type: http, scheme: bearer}
    e: {type: http, scheme: basic}
    f: {type: oauth2, flows: {}}
    g: {type: openIdConnect, openIdConnectUrl: "https://example.com"}
    h: {type: http, scheme: digest}
    j: {type: mutualTLS}
    self: {type: http, scheme: bearer}
paths:
  /a:
    get:
      operationId: "漢字 `tick` */ \n"
      security: [{f: ["read\"", "write\\", "\u202e", "https://www.googleapis.com/auth/cloud-platform"]}]
    put:
      operationId: Result
      security: [{f: [read, write]}, {}, {}]
    delete:
      operationId: KeygateState
      security: [{a: [], d: [], e: []}, {self: []}]
    patch:
      security: [{}]
  /b/{id}:
    get:
      security: []
    put:
      operationId: many
      security:
        - {a: [], b_scheme_with_a_rather_long_name: [], "c\nnewline": []}
        - {g: [], h: [], j: []}
"#;
    let api = load_str("hard.yaml", spec).unwrap_or_else(|e| panic!("{e}"));
    let module = generate_module(&api, &Templates::builtin()).unwrap_or_else(|e| panic!("{e}"));
    assert_parses("hard.yaml", &module);
    for expected in [
        r#"title: "Hard \"quoted\" \\ 漢字 e\u{301} \u{202e} bidi \u{2028} sep \0 nul `tick` [link]","#,
        "kg::hooked(\"h\", \"digest\")",
        "pub type Result = FOrAnonymous<1>;",
        "pub type KeygateState2 = ",
        "SelfOp {",
        "self_: kg::Principal,",
        "None => Anonymous",
        "None => Public",
    ] {
        assert!(
            module.contains(expected),
            "missing {expected:?} in\n{module}"
        );
    }
}
