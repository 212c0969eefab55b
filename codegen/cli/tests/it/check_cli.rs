//! `keygate check ...`: the real binary on documents written to a temp dir, for what the
//! text output says around the table and what the JSON report carries.

use std::process::Command;

use keygate_tests::TempDir;
use serde_json::Value;

/// The note `check` prints for a secured document without root `security`.
const NOTE: &str = "note: the document has secured operations and no root `security`";

/// One operation secured by `api_key`, and a public one; `head` comes first.
fn doc(head: &str) -> String {
    let schemes = if head.starts_with("swagger") {
        "securityDefinitions:\n  api_key: {type: apiKey, in: header, name: X-API-Key}\n"
    } else {
        "components:\n  securitySchemes:\n    api_key: {type: apiKey, in: header, name: X-API-Key}\n"
    };
    format!(
        "{head}\ninfo: {{title: t, version: '1'}}\n{schemes}paths:\n  /pets:\n    get:\n      \
         operationId: listPets\n      security: [{{api_key: []}}]\n  /health:\n    get:\n      \
         operationId: health\n      security: []\n"
    )
}

/// `keygate check <args> <dir>/<name>` with `text` written there: (exit code, stdout, stderr).
fn check(dir: &TempDir, name: &str, text: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let file = dir.file(name);
    std::fs::write(&file, text).expect("write the document");
    let output = Command::new(env!("CARGO_BIN_EXE_keygate"))
        .arg("check")
        .args(args)
        .arg(&file)
        .output()
        .expect("run keygate");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The text output of an ok `check`.
#[track_caller]
fn text(dir: &TempDir, name: &str, doc: &str) -> String {
    let (code, stdout, stderr) = check(dir, name, doc, &[]);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    stdout
}

/// The `base_path` of the JSON report of an ok `check --json`.
#[track_caller]
fn json_base_path(dir: &TempDir, name: &str, doc: &str) -> Value {
    let (code, stdout, stderr) = check(dir, name, doc, &["--json"]);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    report[0]["base_path"].clone()
}

#[test]
fn base_path_from_the_first_server_is_shown_above_the_table() {
    let dir = TempDir::new("check-servers");
    let doc = doc("openapi: 3.0.3\nservers: [{url: 'https://api.example.com/v1/'}, {url: /v2}]");
    let out = text(&dir, "servers.yaml", &doc);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            "base path: /v1 (from servers[0].url; the layer strips it, override with \
             .base_path(..))"
        ),
        "{out}"
    );
    assert!(
        lines.next().is_some_and(|l| l.starts_with("METHOD")),
        "{out}"
    );
    assert_eq!(json_base_path(&dir, "servers.yaml", &doc), "/v1");
}

#[test]
fn base_path_from_swagger_base_path_is_shown() {
    let dir = TempDir::new("check-basepath");
    let doc = doc("swagger: '2.0'\nbasePath: /api/");
    let out = text(&dir, "swagger.yaml", &doc);
    assert_eq!(
        out.lines().next(),
        Some("base path: /api (from basePath; the layer strips it, override with .base_path(..))"),
        "{out}"
    );
    assert_eq!(json_base_path(&dir, "swagger.yaml", &doc), "/api");
}

#[test]
fn no_base_path_says_none() {
    let dir = TempDir::new("check-nobase");
    for (name, head) in [
        ("bare.yaml", "openapi: 3.1.0"),
        (
            "host.yaml",
            "openapi: 3.1.0\nservers: [{url: 'https://api.example.com'}]",
        ),
        ("swagger.yaml", "swagger: '2.0'"),
    ] {
        let doc = doc(head);
        let out = text(&dir, name, &doc);
        assert_eq!(
            out.lines().next(),
            Some("base path: none (paths are served at the root)"),
            "{name}: {out}"
        );
        assert_eq!(json_base_path(&dir, name, &doc), "", "{name}");
    }
}

#[test]
fn undocumented_routes_note_without_root_security() {
    let dir = TempDir::new("check-note");
    let out = text(&dir, "open.yaml", &doc("openapi: 3.0.3"));
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(NOTE),
        "the note is not after the table:\n{out}"
    );
    for expected in [
        "refuses requests to routes the document does not describe with 404",
        "(the default, `Undocumented::Refuse`)",
        "`.undocumented(keygate::Undocumented::RootRequirement)`",
        "`.undocumented(keygate::Undocumented::Allow)`",
    ] {
        assert!(last.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("deny_undocumented"), "{out}");

    // A note, not a warning: nothing to deny, nothing on stderr but the summary.
    let (code, _, stderr) = check(
        &dir,
        "open.yaml",
        &doc("openapi: 3.0.3"),
        &["--deny-warnings"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("0 warnings"), "{stderr}");
}

#[test]
fn no_undocumented_note_with_root_security_or_nothing_secured() {
    let dir = TempDir::new("check-no-note");
    let root = doc("openapi: 3.0.3\nsecurity: [{api_key: []}]");
    let out = text(&dir, "root.yaml", &root);
    assert!(!out.contains("note:"), "{out}");
    // An empty root `security` is still a root `security`.
    let empty_root = doc("openapi: 3.0.3\nsecurity: []");
    let out = text(&dir, "empty-root.yaml", &empty_root);
    assert!(!out.contains("note:"), "{out}");
    // Only public operations: nothing secured to protect.
    let public = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get: {}\n";
    let out = text(&dir, "public.yaml", public);
    assert!(!out.contains("note:"), "{out}");
}

#[test]
fn several_documents_each_get_their_base_path_and_note() {
    let dir = TempDir::new("check-several");
    let first = dir.file("first.yaml");
    let second = dir.file("second.yaml");
    std::fs::write(&first, doc("openapi: 3.0.3\nservers: [{url: /v1}]")).expect("write");
    std::fs::write(&second, doc("swagger: '2.0'\nsecurity: [{api_key: []}]")).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_keygate"))
        .arg("check")
        .arg(&first)
        .arg(&second)
        .output()
        .expect("run keygate");
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let (one, two) = out
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("no blank line between documents:\n{out}"));
    assert!(
        one.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("base path: /v1 ")),
        "{out}"
    );
    assert!(
        one.lines().last().is_some_and(|l| l.starts_with(NOTE)),
        "{out}"
    );
    assert!(
        two.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("base path: none")),
        "{out}"
    );
    assert!(!two.contains("note:"), "{out}");
}

#[test]
fn document_text_never_reaches_the_terminal_raw() {
    let dir = TempDir::new("check-escape");
    // A scheme name with a line break and a terminal escape, a path with a bidi override.
    let doc = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\ncomponents:\n  securitySchemes:\n    \
               \"evil\\n\\e[2Jname\": {type: apiKey, in: query, name: \"k\\r\\nX: 1\"}\n    \
               \"unused\\nscheme\": {type: http, scheme: bearer}\n\
               security: [{\"evil\\n\\e[2Jname\": []}]\npaths:\n  \"/a\\u202e\":\n    get: {operationId: \"op\\tid\"}\n";
    let (code, stdout, stderr) = check(&dir, "escape.yaml", doc, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    for (name, out) in [("stdout", &stdout), ("stderr", &stderr)] {
        let raw: Vec<char> = out
            .chars()
            .filter(|&c| (c.is_control() && c != '\n') || c == '\u{202e}')
            .collect();
        assert!(raw.is_empty(), "{name} holds {raw:?}:\n{out}");
    }
    assert!(stdout.contains("evil\\n\\u{1b}[2Jname"), "{stdout}");
    assert!(stdout.contains("/a\\u{202e}"), "{stdout}");
    assert!(stderr.contains("scheme `unused\\nscheme`"), "{stderr}");
    assert!(stderr.contains("query parameter `k\\r\\nX: 1`"), "{stderr}");
}

#[test]
fn a_header_name_no_request_can_carry_is_an_error() {
    let dir = TempDir::new("check-header");
    let doc =
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\ncomponents:\n  securitySchemes:\n    \
               k: {type: apiKey, in: header, name: 'X API Key'}\nsecurity: [{k: []}]\npaths: {}\n";
    let (code, _, stderr) = check(&dir, "header.yaml", doc, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("at /components/securitySchemes/k/name: apiKey scheme `k` reads the header `X API Key`, which no request can carry"), "{stderr}");
    assert!(!stderr.contains("warning["), "{stderr}");
}
