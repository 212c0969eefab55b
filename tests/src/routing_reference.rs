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
    /// an empty name).
    pub fn parse(path: &str) -> Option<Template> {
        let rest = path.strip_prefix('/')?;
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
    /// It ran this operation; every one of `tied` was as literal (`tied[0]` is it).
    Operation { index: usize, tied: Vec<usize> },
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

// ---- credentials and the oracle --------------------------------------------------------

/// Where a scheme's credential travels, as the test writes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Place {
    /// A header, by its lower-case name.
    Header(String),
    Query(String),
    Cookie(String),
}

/// What the request carries, exactly as sent: one value per place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// (lower-case name, value).
    pub headers: Vec<(String, String)>,
    /// (name, value), not encoded.
    pub query: Vec<(String, String)>,
    /// (name, value).
    pub cookies: Vec<(String, String)>,
}

impl Sent {
    /// Whether nothing is carried.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.query.is_empty() && self.cookies.is_empty()
    }

    /// `?name=value&..` with every byte but letters and digits percent-encoded, or
    /// nothing.
    pub fn query_string(&self) -> String {
        let encode = |text: &str| Encoding::Upper.apply(text);
        let pairs: Vec<String> = self
            .query
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect();
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }

    /// Header lines (`name: value`), the cookies as one `cookie` line.
    pub fn header_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        if !self.cookies.is_empty() {
            let pairs: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            lines.push(format!("cookie: {}", pairs.join("; ")));
        }
        lines
    }

    fn value(&self, place: &Place) -> Option<&str> {
        let (list, name) = match place {
            Place::Header(name) => (&self.headers, name),
            Place::Query(name) => (&self.query, name),
            Place::Cookie(name) => (&self.cookies, name),
        };
        list.iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }
}

/// How a scheme reads a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Absent,
    Valid,
    /// Presented and refused.
    Invalid,
}

const BEARER_TOKEN: &str = "valid-bearer-token";
const BASIC_ID: &str = "user";
const BASIC_SECRET: &str = "valid-basic-secret";
/// base64 of `user:valid-basic-secret`.
const BASIC_VALID: &str = "dXNlcjp2YWxpZC1iYXNpYy1zZWNyZXQ=";
/// base64 of `user:wrong-secret`.
const BASIC_WRONG: &str = "dXNlcjp3cm9uZy1zZWNyZXQ=";
/// A key no scheme accepts.
const INVALID_KEY: &str = "invalid-key";

/// Headers the raw client writes itself, or that framing depends on: no scheme's key is
/// sent in them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "te",
    "upgrade",
    "keep-alive",
    "expect",
    "cookie",
];

/// One valid credential per scheme of a spec, the `StaticKeys` that accepts exactly
/// those, and the oracle.
///
/// The keys carry no roles, so an alternative that names roles never passes: the
/// oracle counts such alternatives as unmet, and the guard refuses them with 403.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceKeys {
    spec: &'static Spec,
}

impl ReferenceKeys {
    /// The keys of `spec`.
    pub fn new(spec: &'static Spec) -> ReferenceKeys {
        ReferenceKeys { spec }
    }

    /// The verifier: each apiKey scheme accepts the key of its place (schemes that read
    /// the same place share it, so one value is valid for each), bearer one token, basic
    /// one pair. Hooked schemes get no hook, so they never pass (docs/semantics.md
    /// §4.4).
    pub fn verifier(&self) -> StaticKeys {
        let mut keys = StaticKeys::new();
        for scheme in self.spec.schemes {
            keys = match scheme.kind {
                SchemeKind::ApiKey { .. } => match place(&scheme.kind) {
                    Some(place) => keys.key(scheme.name, &key_of(&place)),
                    None => keys,
                },
                SchemeKind::HttpBearer => keys.key(scheme.name, BEARER_TOKEN),
                SchemeKind::HttpBasic => keys.basic(scheme.name, BASIC_ID, BASIC_SECRET),
                SchemeKind::Hooked { .. } => keys,
            };
        }
        keys
    }

    /// Whether a test can send a credential for the scheme (a header name that is not a
    /// field name, or one the client writes itself, cannot be).
    pub fn sendable(&self, scheme: usize) -> bool {
        self.spec
            .schemes
            .get(scheme)
            .is_some_and(|s| place(&s.kind).is_some())
    }

    /// The request carrying, for each `(scheme, valid)`, that scheme's valid credential or
    /// a wrong one. Where two schemes read one place, the first listed writes it.
    pub fn send(&self, credentials: &[(usize, bool)]) -> Sent {
        let mut sent = Sent::default();
        let mut written: Vec<Place> = Vec::new();
        for &(scheme, valid) in credentials {
            let Some(definition) = self.spec.schemes.get(scheme) else {
                continue;
            };
            let Some(place) = place(&definition.kind) else {
                continue;
            };
            if written.contains(&place) {
                continue;
            }
            let value = match (definition.kind, valid) {
                (SchemeKind::ApiKey { .. }, true) => key_of(&place),
                (SchemeKind::ApiKey { .. }, false) => INVALID_KEY.to_owned(),
                (SchemeKind::HttpBearer, true) => format!("Bearer {BEARER_TOKEN}"),
                (SchemeKind::HttpBasic, true) => format!("Basic {BASIC_VALID}"),
                (SchemeKind::HttpBasic, false) => format!("Basic {BASIC_WRONG}"),
                (SchemeKind::HttpBearer | SchemeKind::Hooked { .. }, _) => {
                    format!("Bearer {INVALID_KEY}")
                }
            };
            match &place {
                Place::Header(name) => sent.headers.push((name.clone(), value)),
                Place::Query(name) => sent.query.push((name.clone(), value)),
                Place::Cookie(name) => sent.cookies.push((name.clone(), value)),
            }
            written.push(place);
        }
        sent
    }

    /// Whether what was sent meets the requirement (docs/semantics.md §4): some
    /// non-anonymous alternative whose schemes all verified, with no roles (the keys
    /// hold none); or `{}` when no scheme of the requirement was presented at all; or a
    /// public one.
    pub fn meets(&self, requirement: &Requirement, sent: &Sent) -> bool {
        if requirement.alternatives.is_empty() {
            return true;
        }
        let passes = requirement.alternatives.iter().any(|alternative| {
            !alternative.schemes.is_empty()
                && alternative.schemes.iter().all(|used| {
                    used.roles.is_empty() && self.reading(used.scheme, sent) == Reading::Valid
                })
        });
        if passes {
            return true;
        }
        let anonymous = requirement
            .alternatives
            .iter()
            .any(|a| a.schemes.is_empty());
        anonymous
            && requirement
                .alternatives
                .iter()
                .flat_map(|a| a.schemes)
                .all(|used| self.reading(used.scheme, sent) == Reading::Absent)
    }

    /// [`meets`](ReferenceKeys::meets) for the operation at `index`.
    pub fn meets_operation(&self, index: usize, sent: &Sent) -> bool {
        self.spec
            .operations
            .get(index)
            .is_some_and(|op| self.meets(&op.requirement, sent))
    }

    /// How the scheme reads what was sent. A hooked scheme other than mutualTLS takes its
    /// token from `Authorization`: sent, it is presented, and without a hook it fails.
    fn reading(&self, scheme: usize, sent: &Sent) -> Reading {
        let Some(definition) = self.spec.schemes.get(scheme) else {
            return Reading::Absent;
        };
        let Some(place) = place(&definition.kind) else {
            return Reading::Absent;
        };
        let Some(value) = sent.value(&place) else {
            return Reading::Absent;
        };
        let value = value.trim();
        let authorization = |word: &str, valid: &str| {
            let (first, rest) = value.split_once(' ').unwrap_or((value, ""));
            match (first.eq_ignore_ascii_case(word), rest.trim()) {
                (false, _) | (true, "") => Reading::Absent,
                (true, token) if token == valid => Reading::Valid,
                (true, _) => Reading::Invalid,
            }
        };
        match definition.kind {
            _ if value.is_empty() => Reading::Absent,
            SchemeKind::ApiKey { .. } if value == key_of(&place) => Reading::Valid,
            SchemeKind::ApiKey { .. } => Reading::Invalid,
            SchemeKind::HttpBearer => authorization("bearer", BEARER_TOKEN),
            SchemeKind::HttpBasic => authorization("basic", BASIC_VALID),
            SchemeKind::Hooked { .. } => Reading::Invalid,
        }
    }
}

/// Where the test sends a scheme's credential; `None` when it cannot.
fn place(kind: &SchemeKind) -> Option<Place> {
    let header = |name: &str| {
        let lower = name.to_ascii_lowercase();
        let valid = http::HeaderName::from_bytes(lower.as_bytes()).is_ok();
        (valid && !RESERVED_HEADERS.contains(&lower.as_str())).then_some(Place::Header(lower))
    };
    match *kind {
        SchemeKind::ApiKey {
            location: Location::Header,
            name,
        } => header(name),
        SchemeKind::ApiKey {
            location: Location::Query,
            name,
        } => (!name.is_empty()).then(|| Place::Query(name.to_owned())),
        SchemeKind::ApiKey {
            location: Location::Cookie,
            name,
        } => {
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&b));
            token.then(|| Place::Cookie(name.to_owned()))
        }
        SchemeKind::HttpBearer | SchemeKind::HttpBasic => header("authorization"),
        SchemeKind::Hooked { kind: "mutualTLS" } => None,
        SchemeKind::Hooked { .. } => header("authorization"),
    }
}

/// The valid key of a place: every apiKey scheme reading it accepts it.
fn key_of(place: &Place) -> String {
    // FNV-1a: stable across runs and platforms.
    let text = format!("{place:?}");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("valid-{hash:016x}")
}

// ---- fuzz cases -------------------------------------------------------------------------

/// What the layer does with undocumented routes in a case (the caller maps it to
/// `keygate::Undocumented`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The default: 404 or 405.
    Refuse,
    /// The root requirement.
    RootRequirement,
    /// Through without credentials.
    Allow,
}

/// Where the layer sits in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `Router::layer`.
    Inside,
    /// `AuthLayer::around` the router.
    Around,
}

/// A routing case decoded from fuzz input: templates with a requirement each, how the
/// app routes them, and one request.
#[derive(Debug, Clone)]
pub struct RoutingCase {
    /// Operation `i` requires the query key `o<i>`, the root the key `r`.
    pub spec: &'static Spec,
    /// How the reference app routes the templates.
    pub shape: RouteShape,
    /// Where the layer sits.
    pub placement: Placement,
    /// What the layer does with undocumented routes.
    pub policy: Policy,
    /// The request's method.
    pub method: &'static str,
    /// The request path, as sent.
    pub path: String,
}

/// Bytes of a template line, after its method byte, map onto these (kept when they are
/// one of them): literals `a`, `b`, `.`, `:`, separators, and parameters `{x}`.
const TEMPLATE_ALPHABET: &[u8] = b"ab.:/{}x";
/// The same for the request line: the literals, `1`, and what `%2E` and `%3A` need.
const REQUEST_ALPHABET: &[u8] = b"ab.:/1%2E3A";
const TEMPLATE_METHODS: [&str; 4] = ["GET", "HEAD", "POST", "DELETE"];
const REQUEST_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The shapes a case can take: (catch-all, `any()`, placement, policy).
const CASE_SHAPES: [(bool, bool, Placement, Policy); 8] = [
    (false, false, Placement::Inside, Policy::Refuse),
    (false, false, Placement::Inside, Policy::Allow),
    (false, false, Placement::Inside, Policy::RootRequirement),
    (false, false, Placement::Around, Policy::Refuse),
    (true, false, Placement::Inside, Policy::Allow),
    (false, true, Placement::Inside, Policy::Allow),
    (true, false, Placement::Inside, Policy::Refuse),
    (false, true, Placement::Inside, Policy::RootRequirement),
];

fn pick<T: Copy>(byte: u8, named: &[(u8, T)], all: &[T]) -> T {
    named
        .iter()
        .find(|(name, _)| *name == byte)
        .map_or(all[usize::from(byte) % all.len()], |(_, value)| *value)
}

fn mapped(bytes: &[u8], alphabet: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if alphabet.contains(&b) {
                b as char
            } else {
                alphabet[usize::from(b) % alphabet.len()] as char
            }
        })
        .collect()
}

impl RoutingCase {
    /// Decodes a case. The input is lines: the first two bytes of the first line pick the
    /// shape (`0`–`7`, see [`CASE_SHAPES`]) and the base path (`0`: none, `1`: `/a`); each
    /// middle line is a template (its first byte the method, `G`, `H`, `P`, `D`, the rest
    /// the path after `/`); the last line is the request the same way (`G`, `H`, `P`,
    /// `U` PUT, `A` PATCH, `D`, `O`). `None` when fewer than two templates are usable or
    /// the request is not a URI path. `accept` is the generator's check on a template.
    pub fn from_bytes(data: &[u8], accept: impl Fn(&str) -> bool) -> Option<RoutingCase> {
        let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        let (options, rest) = lines.split_first()?;
        let (request, templates) = rest.split_last()?;
        let shape_byte = options.first().copied().unwrap_or(b'0');
        let (catch_all, any_method, placement, policy) =
            CASE_SHAPES[usize::from(shape_byte) % CASE_SHAPES.len()];
        let base = if options.get(1).copied().unwrap_or(b'0') % 2 == 1 {
            "/a"
        } else {
            ""
        };
        let template_methods = [
            (b'G', "GET"),
            (b'H', "HEAD"),
            (b'P', "POST"),
            (b'D', "DELETE"),
        ];
        let mut operations: Vec<(&'static str, String)> = Vec::new();
        for line in templates.iter().take(6) {
            let Some((&method, path)) = line.split_first() else {
                continue;
            };
            let method = pick(method, &template_methods, &TEMPLATE_METHODS);
            let path = format!("/{}", mapped(path, TEMPLATE_ALPHABET));
            let Some(template) = Template::parse(&path) else {
                continue;
            };
            // Two templates of one shape documenting one method: the generator refuses it.
            let shape = template.shape();
            let same = operations.iter().any(|(m, p)| {
                *m == method && Template::parse(p).is_some_and(|t| t.shape() == shape)
            });
            if template.segments.len() > 4 || same || !accept(&path) {
                continue;
            }
            operations.push((method, path));
        }
        if operations.len() < 2 {
            return None;
        }
        let request_methods = [
            (b'G', "GET"),
            (b'H', "HEAD"),
            (b'P', "POST"),
            (b'U', "PUT"),
            (b'A', "PATCH"),
            (b'D', "DELETE"),
            (b'O', "OPTIONS"),
        ];
        let (&method, path) = request.split_first()?;
        let method = pick(method, &request_methods, &REQUEST_METHODS);
        let path = format!("/{}", mapped(&path[..path.len().min(40)], REQUEST_ALPHABET));
        http::uri::PathAndQuery::try_from(path.as_str()).ok()?;
        Some(RoutingCase {
            spec: case_spec(base, &operations),
            shape: RouteShape {
                prefix: base.to_owned(),
                any_method,
                catch_all,
            },
            placement,
            policy,
            method,
            path,
        })
    }

    /// The verifier: `k<i>` for `o<i>`, `kr` for `r`.
    pub fn verifier(&self) -> StaticKeys {
        let operations = self.spec.operations.len();
        CASE_SCHEMES[..operations]
            .iter()
            .enumerate()
            .fold(StaticKeys::new().key("r", "kr"), |keys, (index, scheme)| {
                keys.key(scheme.name, &format!("k{index}"))
            })
    }

    /// The request target carrying the key of operation `index` (`None`: the root's).
    pub fn target_with_key(&self, operation: Option<usize>) -> String {
        match operation {
            Some(index) => format!("{}?o{index}=k{index}", self.path),
            None => format!("{}?r=kr", self.path),
        }
    }
}

impl Template {
    /// Parameters erased: templates that only rename parameters share a shape.
    fn shape(&self) -> String {
        let mut shape = String::new();
        for segment in &self.segments {
            shape.push('/');
            match segment {
                Segment::Literal(text) => shape.push_str(text),
                Segment::Whole => shape.push_str("{}"),
                Segment::Around(pieces) => {
                    for piece in pieces {
                        match piece {
                            Piece::Text(text) => shape.push_str(text),
                            Piece::Param => shape.push_str("{}"),
                        }
                    }
                }
            }
        }
        shape
    }
}

static CASE_SCHEMES: [Scheme; 7] = [
    query_scheme("o0"),
    query_scheme("o1"),
    query_scheme("o2"),
    query_scheme("o3"),
    query_scheme("o4"),
    query_scheme("o5"),
    query_scheme("r"),
];

const fn query_scheme(name: &'static str) -> Scheme {
    Scheme {
        name,
        kind: SchemeKind::ApiKey {
            location: Location::Query,
            name,
        },
    }
}

static CASE_USES: [[SchemeUse; 1]; 7] = [
    [SchemeUse {
        scheme: 0,
        roles: &[],
    }],
    [SchemeUse {
        scheme: 1,
        roles: &[],
    }],
    [SchemeUse {
        scheme: 2,
        roles: &[],
    }],
    [SchemeUse {
        scheme: 3,
        roles: &[],
    }],
    [SchemeUse {
        scheme: 4,
        roles: &[],
    }],
    [SchemeUse {
        scheme: 5,
        roles: &[],
    }],
    [SchemeUse {
        scheme: 6,
        roles: &[],
    }],
];

static CASE_ALTERNATIVES: [[Alternative; 1]; 7] = [
    [Alternative {
        schemes: &CASE_USES[0],
    }],
    [Alternative {
        schemes: &CASE_USES[1],
    }],
    [Alternative {
        schemes: &CASE_USES[2],
    }],
    [Alternative {
        schemes: &CASE_USES[3],
    }],
    [Alternative {
        schemes: &CASE_USES[4],
    }],
    [Alternative {
        schemes: &CASE_USES[5],
    }],
    [Alternative {
        schemes: &CASE_USES[6],
    }],
];

/// The spec of a case, leaked once per distinct case: a fuzzer meets the same case many
/// times, and a leak per run would grow without bound.
fn case_spec(base: &'static str, operations: &[(&'static str, String)]) -> &'static Spec {
    static CASES: OnceLock<Mutex<HashMap<String, &'static Spec>>> = OnceLock::new();
    let key = format!("{base} {operations:?}");
    let cases = CASES.get_or_init(Mutex::default);
    let mut cases = match cases.lock() {
        Ok(cases) => cases,
        Err(poisoned) => poisoned.into_inner(),
    };
    cases.entry(key).or_insert_with(|| {
        let operations = operations
            .iter()
            .enumerate()
            .map(|(index, (method, path))| Operation {
                method,
                path: leak_str(path),
                operation_id: None,
                requirement: Requirement {
                    alternatives: &CASE_ALTERNATIVES[index],
                },
            })
            .collect();
        Box::leak(Box::new(Spec {
            title: "routing case",
            base_path: base,
            schemes: &CASE_SCHEMES,
            root: Requirement {
                alternatives: &CASE_ALTERNATIVES[6],
            },
            operations: leak_slice(operations),
        }))
    })
}

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
