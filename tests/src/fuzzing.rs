//! What each fuzz target of `fuzz/` does with its input, here so that the seed corpora
//! (`fuzz/corpus/<target>/`) also run as ordinary tests (`tests/it/fuzz_seeds.rs`),
//! without a fuzzer.
//!
//! Every function panics only when keygate breaks a promise: the fuzzer reports panics.

use keygate::keys::KeyFormat;
use keygate::spec::{Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse};
use keygate::{Guard, Spec, StaticKeys};

use crate::block_on;

/// A fuzz target's body: what it does with one input.
pub type TargetFn = fn(&[u8]);

/// The fuzz targets, by the name of their folder under `fuzz/corpus/`.
pub const TARGETS: [(&str, TargetFn); 4] = [
    ("load_spec", load_spec),
    ("read_credentials", read_credentials),
    ("parse_key", parse_key),
    ("routing_agreement", routing_agreement),
];

/// Any text in: loading gives a document or an error that names the file; a loaded
/// document always generates a module or a located error. Never a panic.
pub fn load_spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match keygate_codegen::load_str("fuzz.yaml", text) {
        Ok(api) => {
            let templates = keygate_codegen::Templates::builtin();
            if let Err(e) = keygate_codegen::generate_module(&api, &templates) {
                assert_eq!(
                    e.file, "fuzz.yaml",
                    "generation error without its file: {e}"
                );
            }
        }
        Err(e) => {
            assert_eq!(e.file, "fuzz.yaml", "load error without its file: {e}");
            assert!(!e.message.is_empty(), "load error without a message");
        }
    }
}

/// The one key [`read_credentials`] accepts, for every scheme.
pub const VALID_KEY: &str = "valid-key-0123456789";

static SCHEMES: [Scheme; 5] = [
    Scheme {
        name: "header",
        kind: SchemeKind::ApiKey {
            location: Location::Header,
            name: "X-API-Key",
        },
    },
    Scheme {
        name: "query",
        kind: SchemeKind::ApiKey {
            location: Location::Query,
            name: "api_key",
        },
    },
    Scheme {
        name: "cookie",
        kind: SchemeKind::ApiKey {
            location: Location::Cookie,
            name: "session",
        },
    },
    Scheme {
        name: "bearer",
        kind: SchemeKind::HttpBearer,
    },
    Scheme {
        name: "basic",
        kind: SchemeKind::HttpBasic,
    },
];

/// Each scheme alone, so any one of them admits a request.
static ALONE: [[SchemeUse; 1]; 5] = crate::each_scheme_alone();

static ANY_SCHEME: [Alternative; 5] = [
    Alternative { schemes: &ALONE[0] },
    Alternative { schemes: &ALONE[1] },
    Alternative { schemes: &ALONE[2] },
    Alternative { schemes: &ALONE[3] },
    Alternative { schemes: &ALONE[4] },
];

static FUZZ_SPEC: Spec = Spec {
    title: "fuzz",
    base_path: "",
    schemes: &SCHEMES,
    root: Requirement {
        alternatives: &ANY_SCHEME,
    },
    operations: &[Operation {
        method: "GET",
        path: "/things/{id}",
        operation_id: Some("getThing"),
        requirement: Requirement {
            alternatives: &ANY_SCHEME,
        },
    }],
};

/// A request built from the input: the first line is the request target, each further
/// line `name:value` a header (lines split on `\n`, the value taken as raw bytes).
/// Reading and deciding never panics, and a request is admitted only if it carries the
/// valid key somewhere.
pub fn read_credentials(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let target = lines.next().unwrap_or_default();
    let mut request = http::Request::builder().method("GET");
    match http::Uri::try_from(target) {
        Ok(uri) => request = request.uri(uri),
        Err(_) => return,
    }
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            request = request.header(name, value);
        }
    }
    let Ok(request) = request.body(()) else {
        return;
    };
    let (parts, ()) = request.into_parts();
    let keys = StaticKeys::new()
        .key("header", VALID_KEY)
        .key("query", VALID_KEY)
        .key("cookie", VALID_KEY)
        .key("bearer", VALID_KEY)
        .basic("basic", "user", VALID_KEY);
    let guard = Guard::new(&FUZZ_SPEC, keys);
    let admitted = block_on(guard.authorize_request(&parts)).is_ok();
    if admitted {
        let carries_key = data.windows(VALID_KEY.len()).any(|w| w == VALID_KEY.as_bytes())
            // Basic carries it base64-encoded; percent-encoding may hide it in a query.
            || parts.headers.contains_key(http::header::AUTHORIZATION)
            || parts.uri.query().is_some_and(|q| q.contains('%'));
        assert!(carries_key, "admitted a request without the key: {data:?}");
    }
}

/// Any text in: parsing never panics, what parses rebuilds to the same key, and a key of
/// the right shape parses exactly when its checksum is the one keys are issued with.
pub fn parse_key(data: &[u8]) {
    use secrecy::ExposeSecret;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let format = KeyFormat::default();
    if let Ok(parsed) = format.parse(text) {
        let rebuilt = format!(
            "{}_{}_{}",
            format.prefix(),
            parsed.key_id,
            parsed.secret.expose_secret()
        );
        assert_eq!(rebuilt, text, "a parsed key does not rebuild to its text");
    }
    // The shape, checked here independently of the parser.
    let base32 = |s: &str| s.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'));
    let base62 = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    let shaped = text
        .strip_prefix("kg_")
        .and_then(|rest| rest.split_once('_'))
        .filter(|(id, rest)| {
            id.len() == keygate::keys::KEY_ID_LEN
                && base32(id)
                && rest.len() == keygate::keys::SECRET_LEN + keygate::keys::CHECKSUM_LEN
                && base62(rest)
        });
    if let Some((id, rest)) = shaped {
        let issued = format.assemble(id, &rest[..keygate::keys::SECRET_LEN]);
        assert_eq!(
            format.parse(text).is_ok(),
            issued.expose_secret() == text,
            "the checksum check disagrees with the issued checksum"
        );
    }
    // The Basic form: `<key id>:<secret><checksum>`.
    if let Some((id, secret)) = text.split_once(':') {
        if let Ok(parsed) = format.parse_pair(id, secret) {
            assert_eq!(parsed.key_id, id);
        }
    }
}

/// Random templates (2 to 6 operations, each with a key of its own) and a request path
/// (`routing_reference::RoutingCase` says how the input reads): whenever the reference
/// app, routed by axum with its own matcher in each handler, runs an operation behind
/// the layer, the request carried that operation's key (docs/semantics.md §2); and the
/// guard's `find_operation` names the operation the app runs without the layer (or one
/// as literal), or none where the app runs none.
pub fn routing_agreement(data: &[u8]) {
    use std::convert::Infallible;

    use axum::body::Body;
    use axum::response::Response;
    use keygate::{AuthLayer, Undocumented};
    use tower::{Service, ServiceExt};

    use crate::routing_reference::{
        reference_router, Placement, Policy, Ran, RouteShape, RoutingCase, X_OPERATION, X_TIED,
    };

    /// The status and what the reference handler said, if one ran.
    fn answer<S>(service: S, method: &str, target: &str) -> (u16, Option<Ran>)
    where
        S: Service<http::Request<Body>, Response = Response, Error = Infallible>,
    {
        let Ok(request) = http::Request::builder()
            .method(method)
            .uri(target)
            .body(Body::empty())
        else {
            return (0, None);
        };
        let Ok(response) = block_on(service.oneshot(request));
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok());
        let ran = Ran::from_headers(header(X_OPERATION), header(X_TIED));
        (response.status().as_u16(), ran)
    }

    let accept = |path: &str| keygate::template::PathTemplate::parse(path).is_ok();
    let Some(case) = RoutingCase::from_bytes(data, accept) else {
        return;
    };
    let Ok(routes) = reference_router(case.spec, &case.shape) else {
        return;
    };
    let undocumented = match case.policy {
        Policy::Refuse => Undocumented::Refuse,
        Policy::RootRequirement => Undocumented::RootRequirement,
        Policy::Allow => Undocumented::Allow,
    };
    let layer = AuthLayer::new(case.spec, case.verifier()).undocumented(undocumented);
    let operations = case.spec.operations.len();
    // No key, the root's, then each operation's.
    let keys = [None, Some(None)]
        .into_iter()
        .chain((0..operations).map(|index| Some(Some(index))));
    for key in keys {
        let target = match key {
            None => case.path.clone(),
            Some(operation) => case.target_with_key(operation),
        };
        let (status, ran) = match case.placement {
            Placement::Inside => answer(routes.clone().layer(layer.clone()), case.method, &target),
            Placement::Around => answer(layer.clone().around(routes.clone()), case.method, &target),
        };
        assert!(
            status != 0 && status < 500,
            "{status} for {target} in {case:?}"
        );
        match ran {
            Some(Ran::Operation { index, .. }) => assert!(
                key == Some(Some(index)),
                "{} {target}: the handler of operation {index} ran without its key; {case:?}",
                case.method
            ),
            // Inside the router, a route that axum matched and none of whose templates
            // match still holds the request to that route's operations
            // (docs/semantics.md §2.4): even under the default, its handler may run.
            Some(Ran::Undocumented) | None => {}
        }
    }
    let plain = RouteShape {
        prefix: case.shape.prefix.clone(),
        ..RouteShape::default()
    };
    let Ok(plain_routes) = reference_router(case.spec, &plain) else {
        return;
    };
    let found =
        keygate::Guard::new(case.spec, StaticKeys::new()).find_operation(case.method, &case.path);
    match answer(plain_routes, case.method, &case.path).1 {
        Some(Ran::Operation { tied, .. }) => assert!(
            found.is_some_and(|index| tied.contains(&index)),
            "{} {}: the app runs one of {tied:?}, the guard finds {found:?}; {case:?}",
            case.method,
            case.path
        ),
        // With a base path the guard also matches a path as it stands, which the app
        // does not route.
        _ if case.shape.prefix.is_empty() => assert!(
            found.is_none(),
            "{} {}: the app runs no operation, the guard finds {found:?}; {case:?}",
            case.method,
            case.path
        ),
        _ => {}
    }
}
