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
        lines.next().is_some_and(|l| l.starts_with("SCHEME")),
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
    // Each document opens with its file name, after a blank line.
    let (one, two) = out
        .split_once(&format!("\n\n{}:\n", second.display()))
        .unwrap_or_else(|| panic!("no blank line between documents:\n{out}"));
    let two = format!("{}:\n{two}", second.display());
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
fn the_table_shows_where_each_scheme_reads_and_generated_names() {
    let dir = TempDir::new("check-schemes");
    let doc = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\ncomponents:\n  securitySchemes:\n    \
               api_key: {type: apiKey, in: header, name: X-Api-Key}\n    \
               session: {type: apiKey, in: cookie, name: sid}\n    \
               bearer: {type: http, scheme: bearer}\n    \
               oauth: {type: oauth2, flows: {}}\nsecurity: [{api_key: []}]\npaths:\n  \
               /spotsets/{id}:\n    get: {}\n    put: {operationId: putSpotset, security: [{session: []}, {bearer: []}, {oauth: []}]}\n";
    let out = text(&dir, "schemes.yaml", doc);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[1..6],
        [
            "SCHEME   TYPE         READS",
            "api_key  apiKey       header X-Api-Key",
            "session  apiKey       cookie sid",
            "bearer   http bearer  header Authorization",
            "oauth    oauth2       header Authorization (through the app's hook)",
        ],
        "{out}"
    );
    assert_eq!(lines[6], "", "{out}");
    assert!(lines[7].starts_with("METHOD"), "{out}");
    // No operationId: the name of the generated extractor, marked as such.
    assert!(
        lines[8].starts_with("GET     /spotsets/{id}  GetSpotsetsId (generated)  api_key"),
        "{out}"
    );
    assert!(lines[9].contains("putSpotset"), "{out}");
}

#[test]
fn warnings_give_file_line_and_column_and_the_summary_counts_in_words() {
    let dir = TempDir::new("check-lines");
    let doc =
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\ncomponents:\n  securitySchemes:\n    \
               api_key: {type: apiKey, in: header, name: X-Api-Key}\n    \
               q: {type: apiKey, in: query, name: key}\nsecurity: [{q: []}]\npaths: {}\n";
    let (code, _, stderr) = check(&dir, "lines.yaml", doc, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let file = dir.file("lines.yaml");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("warning[unused-scheme]: at /components/securitySchemes/api_key:"),
        "{stderr}"
    );
    assert_eq!(
        lines[1],
        format!("  --> {}:5:5", file.display()),
        "{stderr}"
    );
    assert!(lines[2].starts_with("warning[query-key]"), "{stderr}");
    assert_eq!(
        lines[3],
        format!("  --> {}:6:5", file.display()),
        "{stderr}"
    );
    assert_eq!(
        lines[4], "checked 1 document: 1 ok, 0 failed, 2 warnings",
        "{stderr}"
    );

    let (_, _, stderr) = check(
        &dir,
        "one.yaml",
        &doc.replace("security: [{q: []}]", "security: [{q: []}, {api_key: []}]"),
        &[],
    );
    assert_eq!(
        stderr.lines().last(),
        Some("checked 1 document: 1 ok, 0 failed, 1 warning"),
        "{stderr}"
    );

    // The JSON report carries the same places.
    let (_, stdout, _) = check(&dir, "lines.yaml", doc, &["--json"]);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report[0]["diagnostics"][1]["line"], 6, "{stdout}");
    assert_eq!(report[0]["diagnostics"][1]["column"], 5, "{stdout}");
}

#[test]
fn a_hooked_scheme_is_one_warning_however_many_operations_name_it() {
    let dir = TempDir::new("check-hooks");
    let mut doc = String::from(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\ncomponents:\n  securitySchemes:\n    \
         oauth: {type: oauth2, flows: {}}\n    key: {type: apiKey, in: header, name: K}\npaths:\n",
    );
    // Each operation its own requirement: today's check warned once per requirement.
    for i in 0..50 {
        doc.push_str(&format!(
            "  /r{i}:\n    get: {{security: [{{oauth: [s{i}]}}]}}\n"
        ));
    }
    doc.push_str("  /k:\n    get: {security: [{key: []}]}\n");
    let (code, _, stderr) = check(&dir, "hooks.yaml", &doc, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let hook_lines: Vec<&str> = stderr.lines().filter(|l| l.contains("hook-only")).collect();
    assert_eq!(hook_lines.len(), 1, "{stderr}");
    assert!(
        hook_lines[0].contains("50 operations name it, the first GET /r0; without the hook all of them refuse every request."),
        "{stderr}"
    );
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
fn an_undefined_scheme_says_what_was_meant() {
    let dir = TempDir::new("check-meant");
    let doc =
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\ncomponents:\n  securitySchemes:\n    \
               api_key: {type: apiKey, in: header, name: X-API-Key}\n\
               security: [{apiKey: []}]\npaths: {}\n";
    let (code, _, stderr) = check(&dir, "meant.yaml", doc, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("at /security/0/apiKey: security requirement names scheme `apiKey`, which the document does not define; did you mean `api_key`?"), "{stderr}");
    assert!(
        stderr.ends_with("checked 1 document: 0 ok, 1 failed, 0 warnings\n"),
        "{stderr}"
    );
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

#[test]
fn the_markdown_report_is_for_consumers() {
    let dir = TempDir::new("check-markdown");
    let doc = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: 'https://api.example.com/v1'}]\n\
               components:\n  securitySchemes:\n    \
               q: {type: apiKey, in: query, name: key, description: 'From the | dashboard'}\n\
               security: [{q: []}]\npaths:\n  /pets/{id}:\n    get: {}\n";
    let (code, stdout, stderr) = check(&dir, "md.yaml", doc, &["--format", "markdown"]);
    assert_eq!(code, Some(0), "{stderr}");
    for expected in [
        "Server: `https://api.example.com/v1`.",
        "| `q` | query parameter `key` | From the \\| dashboard |",
        "| GET | `/v1/pets/{id}` | `GetPetsId` (generated) | `q` |",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    // The author's warning goes to stderr, not into the consumers' report.
    assert!(!stdout.contains("query-key"), "{stdout}");
    assert!(stderr.contains("warning[query-key]"), "{stderr}");
}
