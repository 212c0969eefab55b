//! The table of cases: each warning where it must be reported and nowhere else, the
//! messages, and their order.

use super::check;
use crate::ir::{Api, Requirement, SpecVersion};
use crate::load::load_str;

/// A case: name, document, the code looked at, and the pointers where that code must
/// be reported (empty: it must not be).
struct Case {
    name: &'static str,
    text: String,
    code: &'static str,
    expected: &'static [&'static str],
}

const SCHEMES_30: &str = "
components:
  securitySchemes:
    api_key: {type: apiKey, in: header, name: X-API-Key}
    query_key: {type: apiKey, in: query, name: api_key}
    session: {type: apiKey, in: cookie, name: session}
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: 'https://x/t', scopes: {}}}}
    oidc: {type: openIdConnect, openIdConnectUrl: 'https://x/.well-known'}
";

pub(super) fn doc(header: &str, body: &str) -> String {
    format!("{header}\ninfo: {{title: t, version: '1'}}\n{SCHEMES_30}{body}")
}

fn cases() -> Vec<Case> {
    let v30 = "openapi: 3.0.3";
    let v31 = "openapi: 3.1.0";
    let all_used = "
security: [{api_key: [], query_key: [], session: [], oauth: [], oidc: []}]
paths: {}
";
    type Raw = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
    );
    let raw: Vec<Raw> = vec![
        // shared-route
        (
            "operations told apart only after `#`",
            v30,
            "
security: [{api_key: [], query_key: [], session: [], oauth: [], oidc: []}]
paths:
  '/x#a': {post: {}, get: {}}
  '/x#b': {post: {}}
  '/y#c': {post: {}}
",
            "shared-route",
            &["/paths/~1x#b/post"],
        ),
        (
            "templates that differ only in parameter names",
            v30,
            "
security: [{api_key: [], query_key: [], session: [], oauth: [], oidc: []}]
paths:
  /d/{a}: {get: {}}
  /d/{b}: {get: {}, post: {}}
  /d/{b}.json: {get: {}}
",
            "shared-route",
            &["/paths/~1d~1{b}/get"],
        ),
        // (a) query-key
        (
            "query key used by an operation",
            v30,
            "
paths:
  /a:
    get:
      security: [{query_key: []}]
",
            "query-key",
            &["/components/securitySchemes/query_key"],
        ),
        (
            "query key used by the root",
            v30,
            "
security: [{query_key: []}]
paths: {}
",
            "query-key",
            &["/components/securitySchemes/query_key"],
        ),
        (
            "query key defined, unused",
            v30,
            "
security: [{api_key: []}]
paths: {}
",
            "query-key",
            &[],
        ),
        // (b) unused-scheme
        ("every scheme used", v30, all_used, "unused-scheme", &[]),
        (
            "schemes nobody uses",
            v30,
            "
paths:
  /a:
    get:
      security: [{api_key: []}, {session: []}, {oauth: []}]
",
            "unused-scheme",
            &[
                "/components/securitySchemes/query_key",
                "/components/securitySchemes/oidc",
            ],
        ),
        (
            "root overridden everywhere still counts as used",
            v30,
            "
security: [{query_key: [], session: [], oauth: [], oidc: []}]
paths:
  /a:
    get:
      security: [{api_key: []}]
",
            "unused-scheme",
            &[],
        ),
        // (c) roles-must-be-empty
        (
            "roles on apiKey in 3.0",
            v30,
            "
paths:
  /a:
    get:
      security: [{oauth: [read]}, {api_key: [admin], session: []}]
",
            "roles-must-be-empty",
            &["/paths/~1a/get/security/1/api_key"],
        ),
        (
            "roles on apiKey in 3.1 are allowed",
            v31,
            "
paths:
  /a:
    get:
      security: [{api_key: [admin]}]
",
            "roles-must-be-empty",
            &[],
        ),
        (
            "scopes on oauth2 and openIdConnect are fine",
            v30,
            "
security: [{oauth: [read]}, {oidc: [openid]}]
paths: {}
",
            "roles-must-be-empty",
            &[],
        ),
        // (d) duplicate-alternative
        (
            "duplicate in root, reported once",
            v30,
            "
security: [{api_key: [], session: []}, {session: [], api_key: []}]
paths:
  /a: {get: {}}
  /b: {get: {}, post: {}}
",
            "duplicate-alternative",
            &["/security"],
        ),
        (
            "same schemes, different roles",
            v31,
            "
paths:
  /a:
    get:
      security: [{api_key: [a]}, {api_key: [b]}, {api_key: []}]
",
            "duplicate-alternative",
            &[],
        ),
        (
            "roles order-insensitive",
            v31,
            "
paths:
  /a:
    get:
      security: [{api_key: [a, b]}, {api_key: [b, a]}]
",
            "duplicate-alternative",
            &["/paths/~1a/get/security"],
        ),
        (
            "anonymous twice",
            v30,
            "
paths:
  /a:
    get:
      security: [{}, {api_key: []}, {}]
",
            "duplicate-alternative",
            &["/paths/~1a/get/security"],
        ),
        // (e) hook-only
        (
            "hooked scheme in root and in an operation",
            v30,
            "
security: [{api_key: []}, {oauth: []}]
paths:
  /a: {get: {}}
  /b: {get: {}}
  /c:
    get:
      security: [{oidc: [], api_key: []}]
",
            "hook-only",
            &[
                "/components/securitySchemes/oauth",
                "/components/securitySchemes/oidc",
            ],
        ),
        (
            "no hooked scheme",
            v30,
            "
security: [{api_key: []}, {session: []}, {}]
paths:
  /a: {get: {}}
",
            "hook-only",
            &[],
        ),
    ];
    let out: Vec<Case> = raw
        .into_iter()
        .map(|(name, version, body, code, expected)| Case {
            name,
            text: doc(version, body),
            code,
            expected,
        })
        .collect();
    out
}

#[test]
fn each_warning_triggers_exactly_where_expected() {
    let mut failures = Vec::new();
    for case in cases() {
        let api = match load_str("doc.yaml", &case.text) {
            Ok(api) => api,
            Err(e) => {
                failures.push(format!("{}: does not load: {e}", case.name));
                continue;
            }
        };
        let found: Vec<String> = check(&api)
            .into_iter()
            .filter(|d| d.code == case.code)
            .map(|d| d.pointer)
            .collect();
        if found != case.expected {
            failures.push(format!(
                "{}: {} at {found:?}, expected {:?}",
                case.name, case.code, case.expected
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn messages_name_what_to_fix() {
    let text = doc(
        "swagger: '2.0'",
        "
security: [{oauth: []}, {oauth: []}]
paths:
  /a:
    get:
      security: [{query_key: [admin]}]
  /b: {get: {}}
",
    );
    // 2.0 has no components; rebuild with securityDefinitions.
    let text = text.replace("components:\n  securitySchemes:", "securityDefinitions:");
    let text = text.replace(
        "oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: 'https://x/t', scopes: {}}}}",
        "oauth: {type: oauth2, flow: application, tokenUrl: 'https://x/t', scopes: {}}",
    );
    let text = text.replace(
        "    oidc: {type: openIdConnect, openIdConnectUrl: 'https://x/.well-known'}\n",
        "",
    );
    let api = load_str("doc.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<String> = check(&api).iter().map(ToString::to_string).collect();
    let all = lines.join("\n");
    for expected in [
        "warning[query-key]: at /securityDefinitions/query_key: scheme `query_key` takes \
             the key from the query parameter `api_key`",
        "warning[unused-scheme]: at /securityDefinitions/api_key: scheme `api_key` \
             (apiKey (header X-API-Key)) is defined but",
        "warning[roles-must-be-empty]: at /paths/~1a/get/security/0/query_key: scheme \
             `query_key` (apiKey (query api_key)) lists roles [admin], but Swagger 2.0 says",
        "the principal must hold every listed role",
        "warning[duplicate-alternative]: at /security: alternative 1 repeats alternative 0 \
             (`oauth`)",
        "warning[hook-only]: at /securityDefinitions/oauth: scheme `oauth` (oauth2) passes \
             only when the app registers a hook for it on the generated layer or guard \
             (`.hook(\"oauth\", ..)`): keygate cannot verify it itself. 1 operation names it \
             (and the root `security`), GET /b; without the hook it refuses every request.",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    // Deterministic: scheme findings first, in definition order, then requirements.
    let codes: Vec<&str> = check(&api).iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [
            "unused-scheme",
            "query-key",
            "unused-scheme",
            "hook-only",
            "duplicate-alternative",
            "roles-must-be-empty",
        ]
    );
    assert_eq!(check(&api), check(&api));
}

#[test]
fn out_of_range_scheme_index_does_not_panic() {
    use crate::ir::{Alternative, Operation, RequirementSource, SchemeUse};
    let requirement = Requirement {
        alternatives: vec![
            Alternative {
                schemes: vec![SchemeUse {
                    scheme: 7,
                    roles: vec!["r".into()],
                }],
            },
            Alternative {
                schemes: vec![SchemeUse {
                    scheme: 7,
                    roles: vec!["r".into()],
                }],
            },
        ],
        pointer: "/security".into(),
    };
    let api = Api {
        source: "hand".into(),
        version: SpecVersion::Swagger2,
        title: String::new(),
        base_path: String::new(),
        server_url: String::new(),
        schemes: Vec::new(),
        root: Some(requirement.clone()),
        operations: vec![Operation {
            method: crate::ir::Method::Get,
            path: "/".into(),
            operation_id: None,
            tags: Vec::new(),
            summary: None,
            requirement,
            requirement_source: RequirementSource::Root,
            pointer: "/paths/~1/get".into(),
        }],
    };
    let codes: Vec<&str> = check(&api).iter().map(|d| d.code).collect();
    assert_eq!(codes, ["duplicate-alternative"]);
}
