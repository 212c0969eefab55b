//! An independent reference for the guard's routing (docs/semantics.md §2), for the
//! differential test (`it/differential.rs`) and the `routing_agreement` fuzz target:
//!
//! - [`spec_from_api`]: the runtime tables of a loaded document, built the way the
//!   emitter writes them, so any document can be served without generating code;
//! - [`reference_router`]: an axum app routed the way the README shows (one route per
//!   matchit key, the text around parameters told apart inside the handler on the
//!   decoded segment), whose handlers answer which operation they ran;
//! - [`ReferenceKeys`]: one valid credential per scheme, and an oracle for whether the
//!   credentials a request carried meet a requirement (docs/semantics.md §1, §4).
//!
//! Nothing here calls the guard's matcher or its template code: a test that compares the
//! two must not share the code it compares.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, on, MethodFilter, MethodRouter};
use axum::Router;
use keygate::spec::{Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse};
use keygate::{Spec, StaticKeys};
use keygate_codegen::ir;

/// The header a reference handler answers with: the index of the operation it ran, or
/// [`UNDOCUMENTED`] when none of its templates takes the request.
pub const X_OPERATION: &str = "x-operation";
/// The header that lists every operation the handler found equally literal (comma
/// separated), when there are several; the first is the one it ran.
pub const X_TIED: &str = "x-tied";
/// [`X_OPERATION`]'s value when the route matched and no documented operation did.
pub const UNDOCUMENTED: &str = "undocumented";

// ---- the runtime tables -------------------------------------------------------------

/// Tests only: the tables live for the rest of the process, as generated ones do.
fn leak_str(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

fn leak_slice<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

/// The runtime tables of a loaded document, as the emitter (`codegen/src/emit/rust.rs`)
/// writes them: the same schemes, operations and effective requirements in document
/// order, the root requirement when the document has one (else public). Leaked.
pub fn spec_from_api(api: &ir::Api) -> &'static Spec {
    let schemes = api
        .schemes
        .iter()
        .map(|scheme| Scheme {
            name: leak_str(&scheme.name),
            kind: scheme_kind(&scheme.kind),
        })
        .collect();
    let operations = api
        .operations
        .iter()
        .map(|op| Operation {
            method: op.method.as_str(),
            path: leak_str(&op.path),
            operation_id: op.operation_id.as_deref().map(leak_str),
            requirement: requirement(&op.requirement),
        })
        .collect();
    Box::leak(Box::new(Spec {
        title: leak_str(&api.title),
        base_path: leak_str(&api.base_path),
        schemes: leak_slice(schemes),
        root: api.root.as_ref().map_or(Requirement::PUBLIC, requirement),
        operations: leak_slice(operations),
    }))
}

fn scheme_kind(kind: &ir::SchemeKind) -> SchemeKind {
    match kind {
        ir::SchemeKind::ApiKey { location, name } => SchemeKind::ApiKey {
            location: match location {
                ir::KeyLocation::Header => Location::Header,
                ir::KeyLocation::Query => Location::Query,
                ir::KeyLocation::Cookie => Location::Cookie,
            },
            name: leak_str(name),
        },
        ir::SchemeKind::HttpBearer => SchemeKind::HttpBearer,
        ir::SchemeKind::HttpBasic => SchemeKind::HttpBasic,
        ir::SchemeKind::Hooked(hooked) => SchemeKind::Hooked {
            kind: match hooked {
                ir::HookedKind::OAuth2 => "oauth2",
                ir::HookedKind::OpenIdConnect => "openIdConnect",
                ir::HookedKind::MutualTls => "mutualTLS",
                ir::HookedKind::Http(scheme) => leak_str(scheme),
            },
        },
    }
}

fn requirement(requirement: &ir::Requirement) -> Requirement {
    let alternatives = requirement
        .alternatives
        .iter()
        .map(|alternative| Alternative {
            schemes: leak_slice(
                alternative
                    .schemes
                    .iter()
                    .map(|used| SchemeUse {
                        scheme: used.scheme,
                        roles: leak_slice(used.roles.iter().map(|r| leak_str(r)).collect()),
                    })
                    .collect(),
            ),
        })
        .collect();
    Requirement {
        alternatives: leak_slice(alternatives),
    }
}

/// The same routes and base path with a requirement of its own for every operation (the
/// query key `op<i>`) and for the root (`root`). Real documents give most operations one
/// requirement, so the guard picking a wrong operation seldom shows; here it always
/// does, as a credential that the operation the handler ran does not accept. Leaked.
pub fn with_distinct_requirements(spec: &Spec) -> &'static Spec {
    let count = spec.operations.len();
    let mut schemes: Vec<Scheme> = (0..count)
        .map(|index| {
            let name = leak_str(&format!("op{index}"));
            Scheme {
                name,
                kind: SchemeKind::ApiKey {
                    location: Location::Query,
                    name,
                },
            }
        })
        .collect();
    schemes.push(Scheme {
        name: "root",
        kind: SchemeKind::ApiKey {
            location: Location::Query,
            name: "root",
        },
    });
    let alone = |scheme: usize| Requirement {
        alternatives: leak_slice(vec![Alternative {
            schemes: leak_slice(vec![SchemeUse { scheme, roles: &[] }]),
        }]),
    };
    let operations = spec
        .operations
        .iter()
        .enumerate()
        .map(|(index, op)| Operation {
            requirement: alone(index),
            ..*op
        })
        .collect();
    Box::leak(Box::new(Spec {
        title: spec.title,
        base_path: spec.base_path,
        schemes: leak_slice(schemes),
        root: alone(count),
        operations: leak_slice(operations),
    }))
}

// ---- templates ------------------------------------------------------------------------

/// One piece of a segment with text around parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Param,
}

/// One `/`-separated segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Plain text: compared with the raw request segment, as axum's router does.
    Literal(String),
    /// `{id}`: any segment (axum's router decides about empty ones).
    Whole,
    /// `{n}.diff`, `{name}:cancel`: compared with the percent-decoded segment, as an app
    /// that routes it as one parameter sees it through axum's `Path`.
    Around(Vec<Piece>),
}

/// A path template, parsed here without the runtime's parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// `None` for what the generator refuses anyway (no leading `/`, unbalanced braces,
    /// an empty name). A request path never holds a fragment: what follows `#` only
    /// names the operation.
    pub fn parse(path: &str) -> Option<Template> {
        let route = path.split('#').next()?;
        let rest = route.strip_prefix('/')?;
        let segments = rest
            .split('/')
            .map(parse_segment)
            .collect::<Option<Vec<_>>>()?;
        Some(Template { segments })
    }

    /// The path axum routes it by: literal segments as they are, every other segment a
    /// whole parameter named by its position, so templates that differ only inside
    /// parameter segments share one route.
    pub fn route_key(&self) -> String {
        let mut key = String::new();
        for (at, segment) in self.segments.iter().enumerate() {
            key.push('/');
            match segment {
                Segment::Literal(text) => key.push_str(text),
                Segment::Whole | Segment::Around(_) => key.push_str(&format!("{{p{at}}}")),
            }
        }
        key
    }

    /// Whether some segment has text around its parameters (`{n}.diff`).
    pub fn has_text_around(&self) -> bool {
        self.segments
            .iter()
            .any(|segment| matches!(segment, Segment::Around(_)))
    }

    /// Whether the last segment is a parameter segment (a catch-all may route it).
    fn ends_in_parameter(&self) -> bool {
        !matches!(self.segments.last(), Some(Segment::Literal(_)))
    }

    /// Literal bytes over the whole template: more is more specific.
    fn literal_len(&self) -> usize {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(text) => text.len(),
                Segment::Whole => 0,
                Segment::Around(pieces) => pieces
                    .iter()
                    .map(|piece| match piece {
                        Piece::Text(text) => text.len(),
                        Piece::Param => 0,
                    })
                    .sum(),
            })
            .sum()
    }

    /// Whether the raw request segments (the path after the route's prefix, split on
    /// `/`) are this template's.
    fn matches(&self, raw: &[String]) -> bool {
        raw.len() == self.segments.len()
            && self
                .segments
                .iter()
                .zip(raw)
                .all(|(segment, text)| match segment {
                    Segment::Literal(literal) => literal == text,
                    Segment::Whole => true,
                    Segment::Around(pieces) => every_split(pieces, &percent_decode(text)),
                })
    }

    /// Request paths for this template (without any prefix): each parameter filled with
    /// `1`, empty, `%2E`, `a.b` and `a%2Fb`; the text around parameters percent-encoded
    /// (upper and lower case) and with its parameters empty; each whole parameter empty
    /// on its own; a doubled slash after the first and before the last segment; a
    /// trailing slash; one segment more.
    pub fn request_paths(&self) -> Vec<String> {
        let whole_count = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Whole))
            .count();
        let mut paths = Vec::new();
        for value in ["1", "", "%2E", "a.b", "a%2Fb"] {
            paths.push(self.fill(|_| value, value, Encoding::None));
        }
        if self.has_text_around() {
            paths.push(self.fill(|_| "1", "1", Encoding::Upper));
            paths.push(self.fill(|_| "1", "x", Encoding::Lower));
            paths.push(self.fill(|_| "1", "", Encoding::None));
            paths.push(self.fill(|_| "1", "", Encoding::Upper));
        }
        for empty in 0..whole_count.min(3) {
            paths.push(self.fill(|at| if at == empty { "" } else { "1" }, "1", Encoding::None));
        }
        let plain = self.fill(|_| "1", "1", Encoding::None);
        paths.push(format!("{plain}/"));
        // One segment more: a catch-all route takes it as part of its last parameter.
        paths.push(format!("{plain}/1"));
        paths.push(format!("/{plain}"));
        for slash in [plain[1..].find('/').map(|at| at + 1), plain.rfind('/')] {
            if let Some(at) = slash.filter(|&at| at > 0) {
                paths.push(format!("{}/{}", &plain[..at], &plain[at..]));
            }
        }
        let mut seen = std::collections::HashSet::new();
        paths.retain(|path| seen.insert(path.clone()));
        paths
    }

    /// The template with whole parameters (counted in order) filled by `whole`, the
    /// parameters of segments with text around them by `around`, that text encoded as
    /// asked.
    fn fill<'v>(
        &self,
        whole: impl Fn(usize) -> &'v str,
        around: &str,
        encoding: Encoding,
    ) -> String {
        let mut path = String::new();
        let mut wholes = 0;
        for segment in &self.segments {
            path.push('/');
            match segment {
                Segment::Literal(text) => path.push_str(text),
                Segment::Whole => {
                    path.push_str(whole(wholes));
                    wholes += 1;
                }
                Segment::Around(pieces) => {
                    for piece in pieces {
                        match piece {
                            Piece::Text(text) => path.push_str(&encoding.apply(text)),
                            Piece::Param => path.push_str(around),
                        }
                    }
                }
            }
        }
        path
    }
}

/// How the text around parameters is written in a request path.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    None,
    /// Every byte that is not a letter or digit as `%XX`.
    Upper,
    /// The same with lower-case hex digits.
    Lower,
}

impl Encoding {
    fn apply(self, text: &str) -> String {
        let mut out = String::new();
        for byte in text.bytes() {
            match self {
                Encoding::None => return text.to_owned(),
                _ if byte.is_ascii_alphanumeric() => out.push(byte as char),
                Encoding::Upper => out.push_str(&format!("%{byte:02X}")),
                Encoding::Lower => out.push_str(&format!("%{byte:02x}")),
            }
        }
        out
    }
}

fn parse_segment(raw: &str) -> Option<Segment> {
    if !raw.contains(['{', '}']) {
        return Some(Segment::Literal(raw.to_owned()));
    }
    let mut pieces = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let close = rest.find('}')?;
                let name = &rest[1..close];
                if name.trim().is_empty() || name.contains('{') {
                    return None;
                }
                pieces.push(Piece::Param);
                rest = &rest[close + 1..];
            }
            Some(open) => {
                let text = &rest[..open];
                if text.contains('}') {
                    return None;
                }
                pieces.push(Piece::Text(text.to_owned()));
                rest = &rest[open..];
            }
            None if rest.contains('}') => return None,
            None => {
                pieces.push(Piece::Text(rest.to_owned()));
                rest = "";
            }
        }
    }
    Some(if pieces == [Piece::Param] {
        Segment::Whole
    } else {
        Segment::Around(pieces)
    })
}

/// Whether `text` is the pieces, trying every split: exponential, and plainly right.
fn every_split(pieces: &[Piece], text: &str) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Piece::Text(literal), rest)) => text
            .strip_prefix(literal.as_str())
            .is_some_and(|tail| every_split(rest, tail)),
        Some((Piece::Param, rest)) => text
            .char_indices()
            .map(|(at, _)| at)
            .chain([text.len()])
            .any(|at| every_split(rest, &text[at..])),
    }
}

/// `%XX` escapes decoded, as axum's `Path` decodes a parameter; bytes that are not UTF-8
/// become U+FFFD.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' && at + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[at + 1]), hex(bytes[at + 2])) {
                out.push((high * 16 + low) as u8);
                at += 3;
                continue;
            }
        }
        out.push(bytes[at]);
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---- the app ----------------------------------------------------------------------------

/// How the reference app routes a document.
#[derive(Debug, Clone, Default)]
pub struct RouteShape {
    /// Put before every route: the base path, or nothing.
    pub prefix: String,
    /// One `any()` route per path instead of the documented methods.
    pub any_method: bool,
    /// A route whose last segment is a parameter routed as `{*rest}`, where axum accepts
    /// it next to the other routes; the handler takes the caught tail as that parameter.
    pub catch_all: bool,
}

/// A documented operation as a reference handler knows it.
#[derive(Debug, Clone)]
struct Documented {
    index: usize,
    method: &'static str,
    template: Template,
}

/// One axum route and the operations that share it.
#[derive(Debug)]
struct Route {
    prefix: String,
    catch_all: bool,
    segments: usize,
    operations: Vec<Documented>,
}

impl Route {
    /// What the handler answers: the operation it runs, found by its own matcher.
    fn answer(&self, method: &str, path: &str) -> Response {
        let chosen = self
            .raw_segments(path)
            .map(|raw| chosen(&self.operations, method, &raw))
            .unwrap_or_default();
        let Some(first) = chosen.first() else {
            return [(X_OPERATION, UNDOCUMENTED)].into_response();
        };
        let tied: Vec<String> = chosen.iter().map(usize::to_string).collect();
        [(X_OPERATION, first.to_string()), (X_TIED, tied.join(","))].into_response()
    }

    /// The request path after the prefix, split on `/`; under a catch-all the caught
    /// tail is the last parameter, `/`s and all.
    fn raw_segments(&self, path: &str) -> Option<Vec<String>> {
        let rest = path.strip_prefix(self.prefix.as_str())?;
        let mut raw: Vec<String> = rest
            .strip_prefix('/')?
            .split('/')
            .map(str::to_owned)
            .collect();
        if self.catch_all && raw.len() > self.segments {
            let tail = raw.split_off(self.segments - 1).join("/");
            raw.push(tail);
        }
        Some(raw)
    }
}

/// The operations a method and raw segments name among templates that share a route:
/// the method's own (HEAD falls back to GET's), the most literal template, and every
/// operation as literal as that one (document order; the first runs).
fn chosen(operations: &[Documented], method: &str, raw: &[String]) -> Vec<usize> {
    let wanted: &[&str] = if method == "HEAD" {
        &["HEAD", "GET"]
    } else {
        std::slice::from_ref(&method)
    };
    for want in wanted {
        let matching: Vec<&Documented> = operations
            .iter()
            .filter(|op| op.method == *want && op.template.matches(raw))
            .collect();
        if let Some(most) = matching.iter().map(|op| op.template.literal_len()).max() {
            return matching
                .iter()
                .filter(|op| op.template.literal_len() == most)
                .map(|op| op.index)
                .collect();
        }
    }
    Vec::new()
}

/// The reference app for a spec's operations: one axum route per route key (the prefix
/// before it), each documented method registered with `on(..)` (or `any()`), handlers
/// that answer `x-operation`. `Err` says why axum would not take the routes (checked
/// with matchit first, so that nothing panics inside a fuzzer).
pub fn reference_router(spec: &Spec, shape: &RouteShape) -> Result<Router, String> {
    let mut routes: Vec<(String, Route)> = Vec::new();
    for (index, op) in spec.operations.iter().enumerate() {
        let template = Template::parse(op.path).ok_or_else(|| format!("template `{}`", op.path))?;
        let key = template.route_key();
        let documented = Documented {
            index,
            method: op.method,
            template,
        };
        match routes.iter_mut().find(|(k, _)| *k == key) {
            Some((_, route)) => route.operations.push(documented),
            None => routes.push((
                key,
                Route {
                    prefix: shape.prefix.clone(),
                    catch_all: false,
                    segments: documented.template.segments.len(),
                    operations: vec![documented],
                },
            )),
        }
    }
    // matchit as axum 0.8.9 uses it: what it refuses, axum panics on. A catch-all
    // replaces a route only where it conflicts with no other route.
    let mut paths: Vec<String> = routes
        .iter()
        .map(|(key, _)| format!("{}{key}", shape.prefix))
        .collect();
    routable(&paths)?;
    if shape.catch_all {
        for (at, (_, route)) in routes.iter_mut().enumerate() {
            if !route.operations[0].template.ends_in_parameter() {
                continue;
            }
            let cut = paths[at].rfind('/').map_or(0, |slash| slash + 1);
            let caught = format!("{}{{*rest}}", &paths[at][..cut]);
            let plain = std::mem::replace(&mut paths[at], caught);
            if routable(&paths).is_ok() {
                route.catch_all = true;
            } else {
                paths[at] = plain;
            }
        }
    }
    let mut methods = Vec::new();
    for (_, route) in &routes {
        let mut filter: Option<MethodFilter> = None;
        for op in &route.operations {
            let method = http::Method::from_bytes(op.method.as_bytes())
                .map_err(|e| format!("method {}: {e}", op.method))?;
            let one =
                MethodFilter::try_from(method).map_err(|e| format!("method {}: {e}", op.method))?;
            filter = Some(filter.map_or(one, |f| f.or(one)));
        }
        methods.push(filter.ok_or("a route without operations")?);
    }
    let any_method = shape.any_method;
    let build = move || {
        // The `:` and `*` checks are axum 0.7 migration aids; documents do have literal
        // segments starting with `:`.
        let mut router = Router::new().without_v07_checks();
        for ((path, (_, route)), filter) in paths.iter().zip(routes).zip(methods) {
            let route = Arc::new(route);
            let handler = move |request: Request| {
                let route = Arc::clone(&route);
                async move { route.answer(request.method().as_str(), request.uri().path()) }
            };
            let method_router: MethodRouter = if any_method {
                any(handler)
            } else {
                on(filter, handler)
            };
            router = router.route(path, method_router);
        }
        router
    };
    catch_unwind(AssertUnwindSafe(build)).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        format!("axum refused the routes: {message}")
    })
}

/// Whether matchit takes every path.
fn routable(paths: &[String]) -> Result<(), String> {
    let mut matcher = matchit::Router::<()>::new();
    for path in paths {
        matcher
            .insert(path.as_str(), ())
            .map_err(|e| format!("route `{path}`: {e}"))?;
    }
    Ok(())
}

/// What a reference handler said, read from a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// It ran this operation.
    Operation {
        /// The operation's index in the document.
        index: usize,
        /// Every operation as literal as it (`tied[0]` is it).
        tied: Vec<usize>,
    },
    /// Its route matched; no documented operation did.
    Undocumented,
}

impl Ran {
    /// From the two headers; `None` when no handler answered (the value is malformed
    /// only if something else wrote it).
    pub fn from_headers(operation: Option<&str>, tied: Option<&str>) -> Option<Ran> {
        let operation = operation?;
        if operation == UNDOCUMENTED {
            return Some(Ran::Undocumented);
        }
        let index = operation.parse().ok()?;
        let tied = tied
            .map(|list| list.split(',').filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_else(|| vec![index]);
        Some(Ran::Operation { index, tied })
    }
}

mod fuzz_case;
mod oracle;

pub use fuzz_case::*;
pub use oracle::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_matching() {
        let segment = |raw: &str| match parse_segment(raw) {
            Some(Segment::Around(pieces)) => pieces,
            other => panic!("{raw}: {other:?}"),
        };
        assert!(every_split(&segment("{n}.diff"), "1.diff"));
        assert!(every_split(&segment("{n}.diff"), ".diff"));
        assert!(!every_split(&segment("{n}.diff"), "diff"));
        assert!(every_split(&segment("{a}...{b}"), "..."));
        assert!(!every_split(&segment("{a}...{b}"), "a..b"));
        assert_eq!(percent_decode("1%2Ediff"), "1.diff");
        assert_eq!(percent_decode("x%3acancel"), "x:cancel");
        assert_eq!(percent_decode("%2"), "%2");
    }

    #[test]
    fn keys_and_request_paths() {
        let template = Template::parse("/repos/{owner}/pulls/{n}.diff").expect("parses");
        assert_eq!(template.route_key(), "/repos/{p1}/pulls/{p3}");
        let paths = template.request_paths();
        for expected in [
            "/repos/1/pulls/1.diff",
            "/repos//pulls/.diff",
            "/repos/1/pulls/1%2Ediff",
            "/repos/1/pulls/x%2ediff",
            "/repos/1/pulls/.diff",
            "/repos/1/pulls/%2Ediff",
            "/repos/1/pulls/1.diff/",
            "/repos/1/pulls//1.diff",
            "/repos//1/pulls/1.diff",
            "//repos/1/pulls/1.diff",
            "/repos/a%2Fb/pulls/a%2Fb.diff",
        ] {
            assert!(
                paths.iter().any(|p| p == expected),
                "{expected} in {paths:?}"
            );
        }
    }
}
