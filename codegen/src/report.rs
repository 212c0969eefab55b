//! Views of the IR for people and machines: the `keygate check` table, a JSON report,
//! and the markdown report rendered from `report.md.j2`.
//!
//! The JSON report (also the markdown template's context) is [`Report`] serialized:
//! its fields, and those of the types it holds, are the keys.

use serde::Serialize;
use serde_json::Value;

use crate::check::Diagnostic;
pub use crate::describe::requirement_text;
use crate::describe::scheme_name;
use crate::emit::operation_type_names;
use crate::error::Error;
use crate::ir::{Api, HookedKind, Operation, RequirementSource, Scheme, SchemeKind, SpecVersion};
use crate::templates::Templates;
use crate::text::printable;

/// One document's report.
#[derive(Debug, Serialize)]
struct Report<'a> {
    source: &'a str,
    /// `Swagger 2.0`, `OpenAPI 3.0` or `OpenAPI 3.1`.
    version: &'static str,
    title: &'a str,
    base_path: &'a str,
    /// The first server's URL (3.x) or `scheme://host` + `basePath` (2.0); may be empty.
    server_url: &'a str,
    schemes: Vec<SchemeEntry<'a>>,
    operations: Vec<OperationEntry<'a>>,
    diagnostics: Vec<DiagnosticEntry<'a>>,
}

#[derive(Debug, Serialize)]
struct SchemeEntry<'a> {
    name: &'a str,
    /// apiKey, http, oauth2, openIdConnect or mutualTLS.
    #[serde(rename = "type")]
    type_name: &'static str,
    /// bearer, basic, digest, ... for http schemes.
    http_scheme: Option<&'a str>,
    label: String,
    /// The scheme's `description`, as written.
    description: Option<&'a str>,
    /// header, query, cookie or tls.
    #[serde(rename = "in")]
    location: &'static str,
    /// The header, query or cookie name.
    parameter: Option<&'a str>,
    /// Whether the app must supply a hook for it.
    hook: bool,
    /// Whether any requirement names it.
    used: bool,
    pointer: &'a str,
}

#[derive(Debug, Serialize)]
struct OperationEntry<'a> {
    method: &'static str,
    path: &'a str,
    operation_id: Option<&'a str>,
    /// The name keygate generates for the operation: its extractor type (`GetPetsId`),
    /// from the `operationId`, or from method and path when there is none.
    type_name: String,
    summary: Option<&'a str>,
    tags: &'a [String],
    pointer: &'a str,
    /// operation, root or absent: where the requirement comes from.
    source: &'static str,
    requirement_pointer: Option<&'a str>,
    public: bool,
    anonymous_allowed: bool,
    /// The table's text of the requirement.
    requirement: String,
    /// Every alternative in document order; `{}` is an empty list.
    alternatives: Vec<Vec<SchemeUseEntry<'a>>>,
}

/// One scheme of an alternative, and where its credential travels, as in the runtime's
/// problem+json `accepted` list.
#[derive(Debug, Serialize)]
struct SchemeUseEntry<'a> {
    scheme: String,
    #[serde(rename = "in")]
    location: &'static str,
    name: Option<&'a str>,
    roles: &'a [String],
}

#[derive(Debug, Serialize)]
struct DiagnosticEntry<'a> {
    severity: &'static str,
    code: &'a str,
    pointer: &'a str,
    /// 1-based, when `keygate_codegen::locate` found the pointer in the text.
    line: Option<usize>,
    column: Option<usize>,
    message: &'a str,
}

/// The report of `api` with its `diagnostics`, as JSON (see the module docs).
pub fn report_json(api: &Api, diagnostics: &[Diagnostic]) -> Value {
    let mut used = vec![false; api.schemes.len()];
    for requirement in api
        .root
        .iter()
        .chain(api.operations.iter().map(|op| &op.requirement))
    {
        for scheme_use in requirement.alternatives.iter().flat_map(|a| &a.schemes) {
            if let Some(flag) = used.get_mut(scheme_use.scheme) {
                *flag = true;
            }
        }
    }
    let report = Report {
        source: &api.source,
        version: version_label(api.version),
        title: &api.title,
        base_path: &api.base_path,
        server_url: &api.server_url,
        schemes: api
            .schemes
            .iter()
            .zip(used)
            .map(|(scheme, used)| scheme_entry(scheme, used))
            .collect(),
        operations: api
            .operations
            .iter()
            .zip(operation_type_names(api))
            .map(|(op, type_name)| operation_entry(api, op, type_name))
            .collect(),
        diagnostics: diagnostics
            .iter()
            .map(|d| DiagnosticEntry {
                severity: d.severity.as_str(),
                code: d.code,
                pointer: &d.pointer,
                line: d.line,
                column: d.column,
                message: &d.message,
            })
            .collect(),
    };
    serde_json::to_value(report).expect("the report holds only strings, numbers and lists")
}

fn scheme_entry(scheme: &Scheme, used: bool) -> SchemeEntry<'_> {
    let (location, parameter) = placement(&scheme.kind);
    SchemeEntry {
        name: &scheme.name,
        type_name: type_name(&scheme.kind),
        http_scheme: http_scheme(&scheme.kind),
        label: scheme.kind.label(),
        description: scheme.description.as_deref(),
        location,
        parameter,
        hook: scheme.kind.needs_hook(),
        used,
        pointer: &scheme.pointer,
    }
}

fn operation_entry<'a>(api: &'a Api, op: &'a Operation, type_name: String) -> OperationEntry<'a> {
    let requirement = &op.requirement;
    let alternatives = requirement
        .alternatives
        .iter()
        .map(|alternative| {
            alternative
                .schemes
                .iter()
                .map(|scheme_use| {
                    let (location, name) = api
                        .schemes
                        .get(scheme_use.scheme)
                        .map_or(("header", None), |scheme| placement(&scheme.kind));
                    SchemeUseEntry {
                        scheme: scheme_name(api, scheme_use.scheme),
                        location,
                        name,
                        roles: &scheme_use.roles,
                    }
                })
                .collect()
        })
        .collect();
    OperationEntry {
        method: op.method.as_str(),
        path: &op.path,
        operation_id: op.operation_id.as_deref(),
        type_name,
        summary: op.summary.as_deref(),
        tags: &op.tags,
        pointer: &op.pointer,
        source: match op.requirement_source {
            RequirementSource::Operation => "operation",
            RequirementSource::Root => "root",
            RequirementSource::Absent => "absent",
        },
        requirement_pointer: Some(requirement.pointer.as_str()).filter(|p| !p.is_empty()),
        public: requirement.is_public(),
        anonymous_allowed: requirement.allows_anonymous(),
        requirement: requirement_text(api, requirement),
        alternatives,
    }
}

/// Renders the markdown security report (`report.md.j2`) with [`report_json`] as the
/// context.
///
/// # Errors
///
/// When the template fails to render; the error names the template file.
pub fn render_markdown(
    api: &Api,
    diagnostics: &[Diagnostic],
    templates: &Templates,
) -> Result<String, Error> {
    templates.render("report.md.j2", report_json(api, diagnostics))
}

/// The `keygate check` text for one document: the [`base_path_line`], the
/// [`render_schemes`] table, a blank line, the [`render_table`], then the
/// [`undocumented_note`] when there is one.
pub fn render_text(api: &Api) -> String {
    let mut out = base_path_line(api);
    out.push('\n');
    out.push_str(&render_schemes(api));
    out.push('\n');
    out.push_str(&render_table(api));
    if let Some(note) = undocumented_note(api) {
        out.push_str(&note);
        out.push('\n');
    }
    out
}

/// Where the document's operations are served: `base path: /v1 (from servers[0].url; ...)`,
/// or `base path: none (...)`.
pub fn base_path_line(api: &Api) -> String {
    if api.base_path.is_empty() {
        return "base path: none (paths are served at the root)".to_owned();
    }
    // The loader reads `basePath` for 2.0 and only the first server for 3.x.
    let from = match api.version {
        SpecVersion::Swagger2 => "basePath",
        SpecVersion::OpenApi30 | SpecVersion::OpenApi31 => "servers[0].url",
    };
    format!(
        "base path: {} (from {from}; the layer strips it, override with .base_path(..))",
        printable(&api.base_path)
    )
}

/// For a document with a secured operation and no root `security`: the generated
/// layer refuses routes the document does not describe, and the explicit opt-ins.
/// `None` otherwise.
pub fn undocumented_note(api: &Api) -> Option<String> {
    let secured = api.operations.iter().any(|op| !op.requirement.is_public());
    if !secured || api.root.is_some() {
        return None;
    }
    Some(
        "note: the document has secured operations and no root `security`: the generated \
         layer refuses requests to routes the document does not describe with 404 (the \
         default, `Undocumented::Refuse`). To serve them, opt in on the layer with \
         `.undocumented(keygate::Undocumented::RootRequirement)` or \
         `.undocumented(keygate::Undocumented::Allow)`; without a root `security` both let \
         them through unauthenticated"
            .to_owned(),
    )
}

/// The schemes of the `keygate check` text: one row per scheme with columns SCHEME, TYPE
/// and READS (where the guard reads its credential: `header X-API-Key`, `query key`,
/// `cookie session`, `header Authorization`), aligned; `schemes: none` without any.
pub fn render_schemes(api: &Api) -> String {
    if api.schemes.is_empty() {
        return "schemes: none\n".to_owned();
    }
    let rows = api.schemes.iter().map(|scheme| {
        let kind = match &scheme.kind {
            SchemeKind::ApiKey { .. } => "apiKey".to_owned(),
            SchemeKind::HttpBearer => "http bearer".to_owned(),
            SchemeKind::HttpBasic => "http basic".to_owned(),
            SchemeKind::Hooked(HookedKind::Http(word)) => format!("http {word}"),
            SchemeKind::Hooked(_) => type_name(&scheme.kind).to_owned(),
        };
        let reads = match placement(&scheme.kind) {
            ("tls", _) => "the client's TLS certificate".to_owned(),
            (location, Some(name)) => format!("{location} {name}"),
            (location, None) => location.to_owned(),
        };
        let reads = if scheme.kind.needs_hook() {
            format!("{reads} (through the app's hook)")
        } else {
            reads
        };
        [
            printable(&scheme.name).into_owned(),
            kind,
            printable(&reads).into_owned(),
        ]
    });
    aligned(["SCHEME", "TYPE", "READS"], rows)
}

/// The operations of the `keygate check` text: one row per operation with columns
/// METHOD, PATH, OPERATION and REQUIREMENT (see [`requirement_text`]), aligned. An
/// operation without an `operationId` shows the name keygate generates for it
/// (`GetPetsId (generated)`), the name of its extractor type.
pub fn render_table(api: &Api) -> String {
    let generated = operation_type_names(api);
    let rows = api.operations.iter().enumerate().map(|(i, op)| {
        let name = match (&op.operation_id, generated.get(i)) {
            (Some(id), _) => printable(id).into_owned(),
            (None, Some(name)) => format!("{name} (generated)"),
            (None, None) => "-".to_owned(),
        };
        [
            op.method.as_str().to_owned(),
            printable(&op.path).into_owned(),
            name,
            requirement_text(api, &op.requirement),
        ]
    });
    aligned(["METHOD", "PATH", "OPERATION", "REQUIREMENT"], rows)
}

/// `header` and `rows` as columns two spaces apart, one line each, no trailing spaces.
fn aligned<const N: usize>(header: [&str; N], rows: impl Iterator<Item = [String; N]>) -> String {
    let rows: Vec<[String; N]> = rows.collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

/// Where a credential for `kind` travels: (`in`, name), as the runtime's refusals say.
fn placement(kind: &SchemeKind) -> (&'static str, Option<&str>) {
    match kind {
        SchemeKind::ApiKey { location, name } => (location.as_str(), Some(name.as_str())),
        SchemeKind::HttpBearer | SchemeKind::HttpBasic => ("header", Some("Authorization")),
        SchemeKind::Hooked(HookedKind::MutualTls) => ("tls", None),
        SchemeKind::Hooked(_) => ("header", Some("Authorization")),
    }
}

/// The OpenAPI `type` of a scheme.
fn type_name(kind: &SchemeKind) -> &'static str {
    match kind {
        SchemeKind::ApiKey { .. } => "apiKey",
        SchemeKind::HttpBearer
        | SchemeKind::HttpBasic
        | SchemeKind::Hooked(HookedKind::Http(_)) => "http",
        SchemeKind::Hooked(HookedKind::OAuth2) => "oauth2",
        SchemeKind::Hooked(HookedKind::OpenIdConnect) => "openIdConnect",
        SchemeKind::Hooked(HookedKind::MutualTls) => "mutualTLS",
    }
}

/// The http auth scheme (`bearer`, `basic`, ...) of an http scheme.
fn http_scheme(kind: &SchemeKind) -> Option<&str> {
    match kind {
        SchemeKind::HttpBearer => Some("bearer"),
        SchemeKind::HttpBasic => Some("basic"),
        SchemeKind::Hooked(HookedKind::Http(scheme)) => Some(scheme.as_str()),
        _ => None,
    }
}

fn version_label(version: SpecVersion) -> &'static str {
    match version {
        SpecVersion::Swagger2 => "Swagger 2.0",
        SpecVersion::OpenApi30 => "OpenAPI 3.0",
        SpecVersion::OpenApi31 => "OpenAPI 3.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::load::load_str;
    use serde_json::json;

    const DOC: &str = r#"
openapi: 3.1.0
info: {title: "Pets | Co", version: "1"}
servers: [{url: "https://api.example.com/v1"}]
security: [{api_key: []}]
components:
  securitySchemes:
    api_key: {type: apiKey, in: header, name: X-API-Key}
    app_id: {type: apiKey, in: header, name: X-App-Id}
    session: {type: apiKey, in: cookie, name: session}
    csrf: {type: apiKey, in: header, name: X-CSRF}
    q: {type: apiKey, in: query, name: key}
    bearer: {type: http, scheme: bearer}
    basic: {type: http, scheme: basic}
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: "https://x/t", scopes: {}}}}
    tls: {type: mutualTLS}
paths:
  /inherit:
    get: {operationId: inherit}
  /public:
    get: {operationId: public, security: []}
  /optional:
    get:
      operationId: optional
      security: [{api_key: []}, {}]
  /anon:
    get:
      security: [{}]
  /and:
    post:
      operationId: both
      security: [{api_key: [], app_id: []}]
  /or:
    put:
      operationId: either
      security: [{api_key: []}, {session: [], csrf: [admin]}]
  /roles:
    delete:
      operationId: roles
      security: [{api_key: [read, write]}]
  /others:
    patch:
      operationId: others
      security: [{bearer: []}, {basic: []}, {oauth: [pets:export]}, {tls: []}, {q: []}]
"#;

    fn api() -> Api {
        load_str("pets.yaml", DOC).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn table_prints_every_requirement_shape() {
        let table = render_table(&api());
        expect_test::expect![[r#"
            METHOD  PATH       OPERATION            REQUIREMENT
            GET     /inherit   inherit              api_key
            GET     /public    public               public
            GET     /optional  optional             optional: api_key
            GET     /anon      GetAnon (generated)  anonymous
            POST    /and       both                 api_key AND app_id
            PUT     /or        either               api_key OR (session AND csrf[admin])
            DELETE  /roles     roles                api_key[read, write]
            PATCH   /others    others               bearer OR basic OR oauth[pets:export] OR tls OR q
        "#]]
        .assert_eq(&table);
        assert!(table.lines().all(|line| !line.ends_with(' ')));
    }

    #[test]
    fn text_shows_the_base_path_above_the_table() {
        let text = render_text(&api());
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "base path: /v1 (from servers[0].url; the layer strips it, override with \
                 .base_path(..))"
            )
        );
        // Then the schemes, where each reads its credential, a blank line, the operations.
        let schemes = render_schemes(&api());
        expect_test::expect![[r#"
            SCHEME   TYPE         READS
            api_key  apiKey       header X-API-Key
            app_id   apiKey       header X-App-Id
            session  apiKey       cookie session
            csrf     apiKey       header X-CSRF
            q        apiKey       query key
            bearer   http bearer  header Authorization
            basic    http basic   header Authorization
            oauth    oauth2       header Authorization (through the app's hook)
            tls      mutualTLS    the client's TLS certificate (through the app's hook)
        "#]]
        .assert_eq(&schemes);
        assert!(
            text.contains(&format!("{schemes}\n{}", render_table(&api()))),
            "{text}"
        );
        // Root `security` is there: no note about undocumented routes.
        assert!(text.ends_with(&render_table(&api())), "{text}");
    }

    #[test]
    fn undocumented_note_needs_a_secured_operation_and_no_root() {
        let load = |text: &str| load_str("n.yaml", text).unwrap_or_else(|e| panic!("{e}"));
        let head = "openapi: 3.0.0\ninfo: {title: n, version: '1'}\n\
                    components: {securitySchemes: {k: {type: apiKey, in: header, name: K}}}\n";
        let secured = "paths: {/a: {get: {security: [{k: []}]}}}\n";
        let public = "paths: {/a: {get: {}}}\n";
        let note = undocumented_note(&load(&format!("{head}{secured}")));
        let note = note.unwrap_or_else(|| panic!("no note"));
        assert!(note.contains("`Undocumented::Refuse`"), "{note}");
        assert!(note.contains("`.undocumented(keygate::Undocumented::Allow)`"));
        let text = render_text(&load(&format!("{head}{secured}")));
        assert!(text.ends_with(&format!("{note}\n")), "{text}");
        for body in [
            format!("security: [{{k: []}}]\n{secured}"),
            format!("security: []\n{secured}"),
            public.to_owned(),
        ] {
            let api = load(&format!("{head}{body}"));
            assert_eq!(undocumented_note(&api), None, "{body}");
        }
        let swagger = load("swagger: '2.0'\nbasePath: /api/\npaths: {}\n");
        assert_eq!(
            base_path_line(&swagger),
            "base path: /api (from basePath; the layer strips it, override with .base_path(..))"
        );
        assert_eq!(
            base_path_line(&load(&format!("{head}{public}"))),
            "base path: none (paths are served at the root)"
        );
    }

    #[test]
    fn table_of_an_empty_document_is_the_header() {
        let api = load_str(
            "e.yaml",
            "openapi: 3.0.0\ninfo: {title: e, version: '1'}\npaths: {}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(render_table(&api), "METHOD  PATH  OPERATION  REQUIREMENT\n");
    }

    #[test]
    fn table_of_a_large_document_is_fast() {
        use std::fmt::Write as _;
        let mut text = String::from(
            "openapi: 3.0.0\ninfo: {title: big, version: '1'}\n\
             components: {securitySchemes: {k: {type: apiKey, in: header, name: K}}}\n\
             security: [{k: []}]\npaths:\n",
        );
        for i in 0..800 {
            let _ = writeln!(text, "  /r{i}:\n    get: {{operationId: op{i}}}");
        }
        let api = load_str("big.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
        let started = std::time::Instant::now();
        let table = render_table(&api);
        let diagnostics = check(&api);
        let report = report_json(&api, &diagnostics);
        assert_eq!(table.lines().count(), 801);
        assert_eq!(report["operations"].as_array().map(Vec::len), Some(800));
        // Generous: linear work on 800 rows takes well under a millisecond.
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn json_has_a_stable_shape() {
        let api = api();
        let report = report_json(&api, &check(&api));
        assert_eq!(report["source"], "pets.yaml");
        assert_eq!(report["version"], "OpenAPI 3.1");
        assert_eq!(report["base_path"], "/v1");
        assert_eq!(report["server_url"], "https://api.example.com/v1");
        assert_eq!(report["operations"][3]["type_name"], "GetAnon");
        assert_eq!(report["operations"][0]["type_name"], "Inherit");
        assert_eq!(
            report["schemes"][0],
            json!({
                "name": "api_key", "type": "apiKey", "http_scheme": null, "description": null,
                "label": "apiKey (header X-API-Key)", "in": "header", "parameter": "X-API-Key",
                "hook": false, "used": true, "pointer": "/components/securitySchemes/api_key",
            })
        );
        assert_eq!(report["schemes"][5]["parameter"], "Authorization");
        assert_eq!(report["schemes"][7]["hook"], true);
        assert_eq!(report["schemes"][8]["in"], "tls");
        let ops = &report["operations"];
        assert_eq!(ops[0]["source"], "root");
        assert_eq!(ops[0]["requirement_pointer"], "/security");
        assert_eq!(ops[1]["public"], true);
        assert_eq!(ops[2]["anonymous_allowed"], true);
        assert_eq!(
            ops[2]["alternatives"],
            json!([[{"scheme": "api_key", "in": "header", "name": "X-API-Key", "roles": []}], []])
        );
        assert_eq!(ops[3]["operation_id"], Value::Null);
        assert_eq!(
            ops[5]["alternatives"][1],
            json!([
                {"scheme": "session", "in": "cookie", "name": "session", "roles": []},
                {"scheme": "csrf", "in": "header", "name": "X-CSRF", "roles": ["admin"]},
            ])
        );
        let codes: Vec<&str> = report["diagnostics"]
            .as_array()
            .map(|all| all.iter().filter_map(|d| d["code"].as_str()).collect())
            .unwrap_or_default();
        // One hook-only warning per hooked scheme: `oauth`, `tls`.
        assert_eq!(codes, ["query-key", "hook-only", "hook-only"]);
        assert_eq!(report["diagnostics"][0]["severity"], "warning");
    }

    #[test]
    fn markdown_lists_schemes_operations_and_warnings() {
        let api = api();
        let markdown = render_markdown(&api, &check(&api), &Templates::builtin())
            .unwrap_or_else(|e| panic!("{e}"));
        for expected in [
            "# Pets \\| Co: API keys",
            "Base path: `/v1`",
            "| `api_key` | header `X-API-Key` |",
            "| `q` | query parameter `key` |",
            "| `session` | cookie `session` |",
            "| `bearer` | header `Authorization: Bearer <token>` |",
            "| `basic` | header `Authorization: Basic <base64(id:secret)>` |",
            "| `oauth` | header `Authorization` (oauth2, verified by the app's hook) |",
            "| `tls` | client TLS certificate (mutualTLS, verified by the app's hook) |",
            "| GET | `/v1/inherit` | `inherit` | `api_key` |",
            "| GET | `/v1/public` | `public` | none (public) |",
            "| GET | `/v1/optional` | `optional` | optional: `api_key` |",
            "| GET | `/v1/anon` | `GetAnon` (generated) | none (anonymous) |",
            "| POST | `/v1/and` | `both` | `api_key` and `app_id` |",
            "| PUT | `/v1/or` | `either` | `api_key` or (`session` and `csrf` with role admin) |",
            "| DELETE | `/v1/roles` | `roles` | `api_key` with roles read, write |",
            "Server: `https://api.example.com/v1`.",
        ] {
            assert!(
                markdown.contains(expected),
                "missing {expected:?} in:\n{markdown}"
            );
        }
        // Warnings are for the author, on stderr; the report is for API consumers.
        assert!(!markdown.contains("query-key"), "{markdown}");
        assert!(!markdown.contains("Warnings"), "{markdown}");
    }

    #[test]
    fn markdown_of_a_bare_document() {
        let api = load_str(
            "a.yaml",
            "swagger: '2.0'\ninfo: {title: '', version: '1'}\npaths: {/x: {get: {}}}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let markdown = render_markdown(&api, &check(&api), &Templates::builtin())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(markdown.starts_with("# a.yaml: API keys\n"), "{markdown}");
        assert!(!markdown.contains("Server:"), "{markdown}");
        assert!(
            markdown.contains("| GET | `/x` | `GetX` (generated) | none (public) |"),
            "{markdown}"
        );
        let swagger = load_str(
            "s.yaml",
            "swagger: '2.0'\nhost: api.example.com\nbasePath: /v2/\nschemes: [http]\npaths: {}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let markdown =
            render_markdown(&swagger, &[], &Templates::builtin()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            markdown.contains("Server: `http://api.example.com/v2`."),
            "{markdown}"
        );
    }

    #[test]
    fn markdown_keeps_its_structure_whatever_the_document_says() {
        let text = r#"
openapi: 3.0.3
info: {title: "Evil | API\n# Owned <script>", version: "1"}
servers: [{url: "https://{region}.example.com/v1", variables: {region: {default: eu}}}]
components:
  securitySchemes:
    "a`b|c":
      type: apiKey
      in: header
      name: "X-``Key"
      description: |
        Send the key from your dashboard.

        | col | col |
        ## Heading
        - [click](javascript:alert(1)) <img src=x>
    plain: {type: http, scheme: bearer, description: "Tokens *from* the `login` call"}
security: [{"a`b|c": []}]
paths:
  "/a|b":
    get:
      operationId: "get\nItem|x"
  /c:
    get: {}
"#;
        let api = load_str("evil.yaml", text).unwrap_or_else(|e| panic!("{e}"));
        let markdown = render_markdown(&api, &check(&api), &Templates::builtin())
            .unwrap_or_else(|e| panic!("{e}"));
        // Headings: only the report's own.
        let headings: Vec<&str> = markdown.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(
            headings,
            [
                "# Evil \\| API \\# Owned \\<script\\>: API keys",
                "## How to send a key",
                "## Operations"
            ],
            "{markdown}"
        );
        // Every table row has exactly its columns: count the pipes nothing escapes.
        for line in markdown.lines().filter(|l| l.starts_with('|')) {
            let cells = line.replace("\\|", "").matches('|').count() - 1;
            let expected = if line.contains("Keys accepted")
                || line.starts_with("|---|---|---|---|")
                || line.starts_with("| GET")
            {
                4
            } else {
                3
            };
            assert_eq!(cells, expected, "{line}\n{markdown}");
        }
        for expected in [
            "Server: `https://eu.example.com/v1`.",
            "| ``a`b\\|c`` | header ```X-``Key``` | Send the key from your dashboard. \\| col \\| col \\| \\#\\# Heading - \\[click\\](javascript:alert(1)) \\<img src=x\\> |",
            "| `plain` | header `Authorization: Bearer <token>` | Tokens \\*from\\* the \\`login\\` call |",
            "| GET | `/v1/a\\|b` | `get Item\\|x` |",
            "| GET | `/v1/c` | `GetC` (generated) |",
        ] {
            assert!(markdown.contains(expected), "missing {expected:?} in:\n{markdown}");
        }
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("keygate-report-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn override_directory_replaces_the_report() {
        let dir = TempDir::new("override");
        std::fs::write(
            dir.0.join("report.md.j2"),
            "{{ title }}: {% for op in operations %}{{ op.requirement }};{% endfor %}",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let templates = Templates::from_dir(&dir.0).unwrap_or_else(|e| panic!("{e}"));
        let api = api();
        let out = render_markdown(&api, &[], &templates).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.starts_with("Pets | Co: api_key;public;optional: api_key;"),
            "{out}"
        );
    }

    #[test]
    fn broken_override_names_the_file() {
        // A syntax error is found when the directory is read.
        let dir = TempDir::new("syntax");
        let file = dir.0.join("report.md.j2");
        std::fs::write(&file, "# {{ title }\n").unwrap_or_else(|e| panic!("{e}"));
        let error = Templates::from_dir(&dir.0).err().map(|e| e.to_string());
        let error = error.unwrap_or_else(|| panic!("a broken template must not load"));
        assert!(error.contains(&file.display().to_string()), "{error}");
        assert!(error.contains("template error"), "{error}");

        // An error only rendering can find is reported when rendering, also by file.
        let dir = TempDir::new("render");
        let file = dir.0.join("report.md.j2");
        std::fs::write(
            &file,
            "line one\n{% for x in title.nope.deeper %}{% endfor %}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let templates = Templates::from_dir(&dir.0).unwrap_or_else(|e| panic!("{e}"));
        let error = render_markdown(&api(), &[], &templates)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("rendering must fail"));
        assert!(
            error.starts_with(&format!("{}:2", file.display())),
            "{error}"
        );
    }
}
