//! Snapshots of the generated code for every document in `specs/`. The snapshots are
//! compiled and exercised by the `keygate-tests` crate. Regenerate them with
//! `UPDATE_EXPECT=1 cargo test -p keygate-codegen --test it snapshots`.
//!
//! The emitter writes formatted text itself, so every module here must also parse and
//! be left unchanged by rustfmt (checked when rustfmt is installed).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use keygate_codegen::{generate_module, load_str, Templates};

#[track_caller]
fn verify(spec: &str, snapshot: expect_test::ExpectFile) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(spec)).expect("spec is readable");
    let api = load_str(spec, &text).unwrap_or_else(|e| panic!("{e}"));
    let module = generate_module(&api, &Templates::builtin()).unwrap_or_else(|e| panic!("{e}"));
    snapshot.assert_eq(&module);
    assert_formatted(spec, &module);
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

/// The module parses, and rustfmt (when installed) leaves it as it is.
#[track_caller]
pub(crate) fn assert_formatted(name: &str, module: &str) {
    if let Err(e) = syn::parse_file(module) {
        panic!("{name}: the generated module does not parse: {e}");
    }
    let child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        // No rustfmt.toml from the repository or above it: the defaults are the target.
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("{name}: rustfmt is not installed; layout not checked");
        return;
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = module.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("rustfmt runs");
    writer
        .join()
        .expect("writer")
        .expect("rustfmt reads its input");
    assert!(
        output.status.success(),
        "{name}: rustfmt failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let formatted = String::from_utf8(output.stdout).expect("rustfmt writes UTF-8");
    if formatted != module {
        let (line, (ours, theirs)) = module
            .lines()
            .zip(formatted.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((0, ("(length)", "(length)")));
        panic!(
            "{name}: rustfmt lays out line {} differently:\n  ours:    {ours}\n  rustfmt: {theirs}",
            line + 1
        );
    }
}

/// Every layout decision the emitter makes, on both sides of rustfmt's width limits:
/// long and wide operation ids, short roles packed several to a line, long roles one
/// per line, many principals, a lone `{}` alternative, `security: []`, a long hooked
/// scheme name, long constant values and type names.
#[test]
fn layouts_match_rustfmt() {
    let long = "x".repeat(70);
    // Too long for `roles: &["..."],` on one line, short enough for a line of its own.
    let role = "r".repeat(46);
    let spec = format!(
        r#"openapi: 3.1.0
info: {{title: "Layouts \"quoted\" \\ 漢字", version: "1"}}
components:
  securitySchemes:
    a: {{type: apiKey, in: header, name: X-A}}
    b_scheme_with_a_rather_long_name: {{type: apiKey, in: query, name: b}}
    c_scheme_with_an_even_longer_name_than_b: {{type: apiKey, in: cookie, name: c}}
    d: {{type: http, scheme: bearer}}
    e: {{type: http, scheme: basic}}
    f: {{type: oauth2, flows: {{}}}}
    g: {{type: openIdConnect, openIdConnectUrl: "https://example.com"}}
    h: {{type: http, scheme: abcdefghij}}
    i: {{type: http, scheme: abcdefghijk}}
    j: {{type: mutualTLS}}
    the_name_of_this_scheme_is_long_enough_to_push_its_constant_past_the_width: {{type: http, scheme: bearer}}
paths:
  /a:
    get:
      operationId: anIdOfFortyOneCharactersIsStillOnOneLine1
      security: [{{f: [rrrrrrr1, rrrrrrr2, rrrrrrr3, rrrrrrr4, rrrrrrr5, aaaa, bbbb, ccccc, read, write, admin, a, b, dddd, eeee, ffffff, gggggg, hhhhhhhh, ii]}}]
    put:
      operationId: anIdOfFortyTwoCharactersBreaksItsCallLine2
      security: [{{f: [read, write]}}, {{}}]
    post:
      operationId: 漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字
      security: [{{f: ["https://www.googleapis.com/auth/{role}"]}}]
    delete:
      operationId: {long}
      security: [{{f: [readreadreadread, write]}}, {{a: [], d: [], e: []}}]
    patch:
      security: [{{}}]
  /b:
    get:
      security: []
    put:
      operationId: many
      security:
        - {{a: [], b_scheme_with_a_rather_long_name: [], c_scheme_with_an_even_longer_name_than_b: []}}
        - {{a: [], d: []}}
        - {{a: [], e: []}}
        - {{g: [], h: [], i: [], j: []}}
        - {{the_name_of_this_scheme_is_long_enough_to_push_its_constant_past_the_width: []}}
"#
    );
    let api = load_str("layouts.yaml", &spec).unwrap_or_else(|e| panic!("{e}"));
    let module = generate_module(&api, &Templates::builtin()).unwrap_or_else(|e| panic!("{e}"));
    assert_formatted("layouts.yaml", &module);
    // The layouts above are all there (a layout nobody reaches checks nothing).
    for expected in [
        "Some(\"anIdOfFortyOneCharactersIsStillOnOneLine1\"),",
        "Some(\n                \"anIdOfFortyTwoCharactersBreaksItsCallLine2\",",
        "\"read\", \"write\", \"admin\",",
        "roles: &[\"read\", \"write\"],",
        // 83 columns after the indentation is the most a packed line holds.
        "roles: &[\n                \"rrrrrrr1\", \"rrrrrrr2\", \"rrrrrrr3\", \"rrrrrrr4\", \"rrrrrrr5\", \"aaaa\", \"bbbb\",\n",
        "kind: ::keygate::spec::SchemeKind::Hooked { kind: \"abcdefghij\" },",
        "kind: ::keygate::spec::SchemeKind::Hooked {\n                kind: \"abcdefghijk\",",
        "alternatives: &[::keygate::spec::Alternative { schemes: &[] }],",
        "::keygate::spec::Requirement { alternatives: &[] };",
        "] =\n                    ::keygate::principals(principals)?;",
        "Self::AAndD { a, d }",
        "Self::AAndBSchemeWithARatherLongNameAndCSchemeWithAnEvenLongerNameThanB {\n",
        "_WIDTH: &str =\n        \"the_name",
        "::core::option::Option::None => Self::Anonymous,",
        "::core::option::Option::None => Self::Public,",
        "Some(\n                \"漢字漢字",
        "roles: &[\n                \"https://www.googleapis.com/auth/rrrr",
        "FromRequestParts<KeygateState>\n    for Xxxx",
    ] {
        assert!(module.contains(expected), "missing {expected:?} in\n{module}");
    }
}

/// A type name too long for `pub enum Name {` on one line puts the brace on the next.
#[test]
fn long_type_names_match_rustfmt() {
    let spec = format!(
        "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /a:\n    get:\n      operationId: {}\n",
        "y".repeat(95)
    );
    let api = load_str("long.yaml", &spec).unwrap_or_else(|e| panic!("{e}"));
    let module = generate_module(&api, &Templates::builtin()).unwrap_or_else(|e| panic!("{e}"));
    assert_formatted("long.yaml", &module);
    assert!(
        module.contains(&format!("pub enum Y{}\n{{\n", "y".repeat(94))),
        "{module}"
    );
}
