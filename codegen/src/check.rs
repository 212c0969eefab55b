//! Diagnostics over a loaded document: things that load and generate fine but are
//! probably not what the author meant, or leak keys. Reads only the IR; the loader
//! reports the errors, so everything here is a warning.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::describe::alternative_text;
use crate::error::{elide, pointer_token};
use crate::ir::{
    Api, HookedKind, KeyLocation, Method, Operation, Requirement, Scheme, SchemeKind, SpecVersion,
};
use crate::template::{route_of, PathTemplate};
use crate::text::printable;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Probably a mistake; the generated code still does what docs/semantics.md says.
    Warning,
    /// The document cannot be enforced as written.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding about a document, anchored at a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// JSON pointer of the node it is about.
    pub pointer: String,
    /// A stable kebab-case code (`query-key`, `unused-scheme`, ...).
    pub code: &'static str,
    /// What is wrong and what to do about it.
    pub message: String,
    /// 1-based line of the node at [`Diagnostic::pointer`], once [`locate`] found it.
    pub line: Option<usize>,
    /// 1-based column of that node, with the line.
    pub column: Option<usize>,
}

impl Diagnostic {
    fn warning(pointer: impl Into<String>, code: &'static str, message: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            pointer: pointer.into(),
            code,
            message,
            line: None,
            column: None,
        }
    }
}

/// Fills in the line and column of each diagnostic from `text`, the document `check`
/// was given. This reads the text again (the IR keeps pointers, not places), so it is
/// for output that shows diagnostics; a document without diagnostics costs nothing.
pub fn locate(diagnostics: &mut [Diagnostic], text: &str) {
    if diagnostics.is_empty() {
        return;
    }
    let pointers: Vec<&str> = diagnostics.iter().map(|d| d.pointer.as_str()).collect();
    let places = crate::locate::locate(text, &pointers);
    for (diagnostic, place) in diagnostics.iter_mut().zip(places) {
        diagnostic.line = place.map(|(line, _)| line);
        diagnostic.column = place.map(|(_, column)| column);
    }
}

impl fmt::Display for Diagnostic {
    /// `warning[code]: at /pointer: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The empty pointer is the whole document; `/` reads better, as in `Error`.
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        // Messages quote document text through `elide`; this catches any that did not.
        write!(
            f,
            "{}[{}]: at {}: {}",
            self.severity.as_str(),
            self.code,
            elide(pointer),
            printable(&self.message)
        )
    }
}

/// Every diagnostic for `api`: first those about scheme definitions (in definition
/// order), then those about requirements (root first, then operations in document
/// order). Each requirement is looked at once, however many operations inherit it.
pub fn check(api: &Api) -> Vec<Diagnostic> {
    let requirements = distinct_requirements(api);
    let mut used = vec![false; api.schemes.len()];
    for requirement in &requirements {
        for alternative in &requirement.alternatives {
            for scheme_use in &alternative.schemes {
                if let Some(flag) = used.get_mut(scheme_use.scheme) {
                    *flag = true;
                }
            }
        }
    }

    let hook_uses = hook_uses(api);
    let mut out = Vec::new();
    for (index, scheme) in api.schemes.iter().enumerate() {
        let is_used = used.get(index).copied().unwrap_or(false);
        if let SchemeKind::ApiKey { location, name } = &scheme.kind {
            if *location == KeyLocation::Query && is_used {
                out.push(Diagnostic::warning(
                    &scheme.pointer,
                    "query-key",
                    format!(
                        "scheme `{}` takes the key from the query parameter `{}`; keys in \
                         URLs leak into server and proxy logs, browser history and Referer \
                         headers. Send it in a header instead (`in: header`), and rotate keys \
                         that were sent this way",
                        elide(&scheme.name),
                        elide(name)
                    ),
                ));
            }
        }
        if !is_used {
            out.push(Diagnostic::warning(
                &scheme.pointer,
                "unused-scheme",
                format!(
                    "scheme `{}` ({}) is defined but no operation and no root `security` \
                     uses it; keygate never reads it. Reference it in a `security` list, or \
                     remove it",
                    elide(&scheme.name),
                    elide(&scheme.kind.label())
                ),
            ));
        }
        if let Some(usage) = hook_uses.get(index) {
            out.extend(hook_only(scheme, usage));
        }
    }

    for requirement in &requirements {
        roles_must_be_empty(api, requirement, &mut out);
        duplicate_alternatives(api, requirement, &mut out);
    }
    shared_routes(api, &mut out);
    out
}

/// Operations that one request cannot tell apart: the same method on templates that
/// differ only after `#` or in parameter names. Each request must meet them all
/// (docs/semantics.md §2.2), which the author should know.
fn shared_routes(api: &Api, out: &mut Vec<Diagnostic>) {
    let mut by_route: HashMap<(Method, String), Vec<&Operation>> = HashMap::new();
    let mut order = Vec::new();
    for op in &api.operations {
        // The loader has parsed every template already.
        let Ok(template) = PathTemplate::parse(&op.path) else {
            continue;
        };
        let key = (op.method, template.shape());
        let sharing = by_route.entry(key.clone()).or_default();
        if sharing.len() == 1 {
            order.push(key);
        }
        sharing.push(op);
    }
    for key in order {
        let sharing = &by_route[&key];
        let [first, second, ..] = sharing.as_slice() else {
            continue;
        };
        const SHOWN: usize = 4;
        let mut names: Vec<String> = (sharing.iter().take(SHOWN))
            .map(|op| format!("`{}`", elide(&op.display_name())))
            .collect();
        if sharing.len() > SHOWN {
            names.push(format!("{} more", sharing.len() - SHOWN));
        }
        let same = sharing
            .iter()
            .all(|op| op.requirement.alternatives == first.requirement.alternatives);
        let effect = if same {
            "they share one requirement, so nothing changes at request time"
        } else {
            "their requirements differ, so each request must meet every one of them"
        };
        out.push(Diagnostic::warning(
            &second.pointer,
            "shared-route",
            format!(
                "{} operations share the route `{} {}` ({}): a request path holds neither \
                 what follows `#` nor parameter names, so keygate cannot tell them apart; \
                 {effect}",
                sharing.len(),
                first.method.as_str(),
                elide(route_of(&first.path)),
                names.join(", "),
            ),
        ));
    }
}

/// The root requirement and every operation's own one, each once (operations that
/// inherit the root, or share a `$ref`'d path item, share its pointer).
fn distinct_requirements(api: &Api) -> Vec<&Requirement> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    let all = api
        .root
        .iter()
        .chain(api.operations.iter().map(|op| &op.requirement));
    for requirement in all {
        // An absent requirement has no pointer and nothing to check.
        if requirement.pointer.is_empty() && requirement.alternatives.is_empty() {
            continue;
        }
        if seen.insert(requirement.pointer.as_str()) {
            out.push(requirement);
        }
    }
    out
}

/// (c) Non-empty role lists where the dialect says they MUST be empty.
fn roles_must_be_empty(api: &Api, requirement: &Requirement, out: &mut Vec<Diagnostic>) {
    if !api.version.requires_empty_roles() {
        return;
    }
    let dialect = match api.version {
        SpecVersion::Swagger2 => "Swagger 2.0",
        _ => "OpenAPI 3.0",
    };
    for (i, alternative) in requirement.alternatives.iter().enumerate() {
        for scheme_use in &alternative.schemes {
            if scheme_use.roles.is_empty() {
                continue;
            }
            let Some(scheme) = api.schemes.get(scheme_use.scheme) else {
                continue;
            };
            if matches!(
                scheme.kind,
                SchemeKind::Hooked(HookedKind::OAuth2 | HookedKind::OpenIdConnect)
            ) {
                continue;
            }
            out.push(Diagnostic::warning(
                format!(
                    "{}/{i}/{}",
                    requirement.pointer,
                    pointer_token(&scheme.name)
                ),
                "roles-must-be-empty",
                format!(
                    "scheme `{}` ({}) lists roles [{}], but {dialect} says the role list of a \
                     scheme other than oauth2/openIdConnect MUST be empty. keygate enforces it \
                     anyway: the principal must hold every listed role. Other tools may ignore \
                     the roles; empty the list, or move the document to OpenAPI 3.1, which \
                     allows them",
                    elide(&scheme.name),
                    elide(&scheme.kind.label()),
                    elide(&scheme_use.roles.join(", "))
                ),
            ));
        }
    }
}

/// (d) The same alternative (scheme set and roles, order-insensitive) listed twice.
fn duplicate_alternatives(api: &Api, requirement: &Requirement, out: &mut Vec<Diagnostic>) {
    // Canonical form of an alternative: sorted (scheme, sorted roles) pairs.
    let mut first_at: HashMap<Vec<(usize, Vec<&str>)>, usize> = HashMap::new();
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    for (i, alternative) in requirement.alternatives.iter().enumerate() {
        let mut key: Vec<(usize, Vec<&str>)> = alternative
            .schemes
            .iter()
            .map(|scheme_use| {
                let mut roles: Vec<&str> = scheme_use.roles.iter().map(String::as_str).collect();
                roles.sort_unstable();
                roles.dedup();
                (scheme_use.scheme, roles)
            })
            .collect();
        key.sort_unstable();
        key.dedup();
        match first_at.get(&key) {
            Some(&first) => repeats.push((first, i)),
            None => {
                first_at.insert(key, i);
            }
        }
    }
    if repeats.is_empty() {
        return;
    }
    let listed: Vec<String> = repeats
        .iter()
        .map(|&(first, again)| {
            let text = requirement
                .alternatives
                .get(again)
                .map(|alternative| alternative_text(api, alternative))
                .unwrap_or_default();
            format!("alternative {again} repeats alternative {first} (`{text}`)")
        })
        .collect();
    out.push(Diagnostic::warning(
        &requirement.pointer,
        "duplicate-alternative",
        format!(
            "{}; a repeated alternative accepts nobody new and is probably a copy-paste slip \
             (a scheme or role meant to differ). Remove it or fix it",
            listed.join("; ")
        ),
    ));
}

/// What the operations naming one hooked scheme do without its hook (for `hook-only`).
#[derive(Debug, Default, Clone)]
struct HookUse {
    /// Whether the root `security` names the scheme.
    root: bool,
    /// The operations that name it, and the first of them (`GET /pets`).
    operations: usize,
    first: Option<String>,
    /// Of those: refused outright, open to anonymous requests only, left with other
    /// alternatives.
    refused: usize,
    anonymous_only: usize,
    others_left: usize,
}

/// What happens to a requirement without the hook of a scheme it names.
#[derive(Debug, Clone, Copy)]
enum WithoutHook {
    Refused,
    AnonymousOnly,
    OthersLeft,
}

/// Per scheme, how the root and the operations use it if it needs a hook. Each distinct
/// requirement is looked at once, however many operations share it.
fn hook_uses(api: &Api) -> Vec<HookUse> {
    let mut uses = vec![HookUse::default(); api.schemes.len()];
    let mut seen: HashMap<&str, Vec<(usize, WithoutHook)>> = HashMap::new();
    if let Some(root) = &api.root {
        for (scheme, _) in without_hooks(api, root) {
            uses[scheme].root = true;
        }
    }
    for op in &api.operations {
        let requirement = &op.requirement;
        if requirement.is_public() {
            continue;
        }
        let found = seen
            .entry(requirement.pointer.as_str())
            .or_insert_with(|| without_hooks(api, requirement));
        for &(scheme, outcome) in found.iter() {
            let usage = &mut uses[scheme];
            usage.operations += 1;
            usage
                .first
                .get_or_insert_with(|| format!("{} {}", op.method.as_str(), elide(&op.path)));
            match outcome {
                WithoutHook::Refused => usage.refused += 1,
                WithoutHook::AnonymousOnly => usage.anonymous_only += 1,
                WithoutHook::OthersLeft => usage.others_left += 1,
            }
        }
    }
    uses
}

/// The hooked schemes `requirement` names, each with what the requirement does when
/// that scheme's hook is missing.
fn without_hooks(api: &Api, requirement: &Requirement) -> Vec<(usize, WithoutHook)> {
    let mut credentialed = 0usize;
    // Per hooked scheme: the alternatives naming it.
    let mut naming: Vec<(usize, usize)> = Vec::new();
    for alternative in &requirement.alternatives {
        if alternative.is_anonymous() {
            continue;
        }
        credentialed += 1;
        let mut named: Vec<usize> = Vec::new();
        for scheme_use in &alternative.schemes {
            let hooked = api
                .schemes
                .get(scheme_use.scheme)
                .is_some_and(|scheme| scheme.kind.needs_hook());
            if hooked && !named.contains(&scheme_use.scheme) {
                named.push(scheme_use.scheme);
            }
        }
        for scheme in named {
            match naming.iter_mut().find(|(s, _)| *s == scheme) {
                Some((_, count)) => *count += 1,
                None => naming.push((scheme, 1)),
            }
        }
    }
    naming
        .into_iter()
        .map(|(scheme, count)| {
            let outcome = if count < credentialed {
                WithoutHook::OthersLeft
            } else if requirement.allows_anonymous() {
                WithoutHook::AnonymousOnly
            } else {
                WithoutHook::Refused
            };
            (scheme, outcome)
        })
        .collect()
}

/// (e) A scheme only an app-registered hook can verify: one warning per scheme, saying
/// what the operations naming it do without the hook.
fn hook_only(scheme: &Scheme, usage: &HookUse) -> Option<Diagnostic> {
    if usage.operations == 0 && !usage.root {
        return None;
    }
    let name = elide(&scheme.name);
    let kind = scheme.kind.label();
    // The label's "(hook)" would repeat what the message says.
    let kind = kind.trim_end_matches(" (hook)");
    // (count, what one operation does, what several do)
    let effects = [
        (
            usage.refused,
            "refuses every request",
            "refuse every request",
        ),
        (
            usage.anonymous_only,
            "lets only anonymous requests through",
            "let only anonymous requests through",
        ),
        (
            usage.others_left,
            "accepts only its other alternatives",
            "accept only their other alternatives",
        ),
    ];
    let effects: Vec<_> = effects.iter().filter(|(n, _, _)| *n > 0).collect();
    let root = if usage.root {
        " (and the root `security`)"
    } else {
        ""
    };
    let first = usage.first.as_deref().unwrap_or_default();
    let who = match (usage.operations, effects.as_slice()) {
        (0, _) => "The root `security` names it (no operation inherits it).".to_owned(),
        (1, [(_, one, _)]) => {
            format!("1 operation names it{root}, {first}; without the hook it {one}.")
        }
        (n, [(_, _, many)]) => format!(
            "{n} operations name it{root}, the first {first}; without the hook all of them \
             {many}."
        ),
        (n, mixed) => {
            let parts: Vec<String> = mixed
                .iter()
                .map(|(count, one, many)| {
                    format!("{count} {}", if *count == 1 { one } else { many })
                })
                .collect();
            format!(
                "{n} operations name it{root}, the first {first}; without the hook {}.",
                parts.join(", ")
            )
        }
    };
    Some(Diagnostic::warning(
        &scheme.pointer,
        "hook-only",
        format!(
            "scheme `{name}` ({kind}) passes only when the app registers a hook for it on the \
             generated layer or guard (`.hook({:?}, ..)`): keygate cannot verify it itself. \
             {who}",
            scheme.name
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn doc(header: &str, body: &str) -> String {
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
    fn a_shared_route_says_whether_the_requirements_differ() {
        let text = doc(
            "openapi: 3.0.3",
            "
paths:
  '/#Target=Read': {post: {security: [{api_key: []}]}}
  '/#Target=Write': {post: {security: [{session: []}]}}
",
        );
        let api = load_str("doc.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
        let shared: Vec<String> = (check(&api).iter())
            .filter(|d| d.code == "shared-route")
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shared,
            [
                "warning[shared-route]: at /paths/~1#Target=Write/post: 2 operations share the \
              route `POST /` (`POST /#Target=Read`, `POST /#Target=Write`): a request path \
              holds neither what follows `#` nor parameter names, so keygate cannot tell them \
              apart; their requirements differ, so each request must meet every one of them"
            ]
        );
    }

    #[test]
    fn hook_only_is_one_warning_per_scheme_with_what_operations_do() {
        // 300 operations name `oauth`: one warning for it, not one per requirement.
        let mut body = String::from("security: [{oauth: []}]\npaths:\n");
        for i in 0..300 {
            let own = match i % 3 {
                0 => "",
                1 => "security: [{oauth: []}, {}]",
                _ => "security: [{oauth: [], api_key: []}, {session: []}]",
            };
            body.push_str(&format!("  /r{i}: {{get: {{{own}}}}}\n"));
        }
        body.push_str("  /s: {get: {security: [{oidc: []}]}}\n");
        let api =
            load_str("doc.yaml", &doc("openapi: 3.0.3", &body)).unwrap_or_else(|e| panic!("{e}"));
        let hooks: Vec<Diagnostic> = check(&api)
            .into_iter()
            .filter(|d| d.code == "hook-only")
            .collect();
        let pointers: Vec<&str> = hooks.iter().map(|d| d.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/components/securitySchemes/oauth",
                "/components/securitySchemes/oidc"
            ]
        );
        let oauth = &hooks[0].message;
        for expected in [
            "scheme `oauth` (oauth2) passes only when the app registers a hook",
            "300 operations name it (and the root `security`), the first GET /r0; without the \
             hook 100 refuse every request, 100 let only anonymous requests through, 100 \
             accept only their other alternatives.",
        ] {
            assert!(oauth.contains(expected), "missing {expected:?} in {oauth}");
        }
        assert!(
            hooks[1].message.contains(
                "1 operation names it, GET /s; without the hook it refuses every request."
            ),
            "{}",
            hooks[1].message
        );
    }

    #[test]
    fn diagnostics_show_document_text_on_one_line() {
        let text = "openapi: 3.0.3
info: {title: t, version: '1'}
components:
  securitySchemes:
    \"k\\n\\u001b[31m\\u202e\": {type: apiKey, in: query, name: \"q\\r\\nX-Injected: 1\"}
    \"unused\\nscheme\": {type: http, scheme: bearer}
security: [{\"k\\n\\u001b[31m\\u202e\": []}]
paths: {}
";
        let api = load_str("doc.yaml", text).unwrap_or_else(|e| panic!("{e}"));
        let shown: Vec<String> = check(&api).iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        for line in &shown {
            assert!(
                !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{line:?}"
            );
        }
        assert!(shown[0].contains("scheme `k\\n\\u{1b}[31m\\u{202e}` takes the key from the query parameter `q\\r\\nX-Injected: 1`"), "{}", shown[0]);
        assert!(
            shown[1].contains(
                "at /components/securitySchemes/unused\\nscheme: scheme `unused\\nscheme`"
            ),
            "{}",
            shown[1]
        );
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
}
