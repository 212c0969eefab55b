//! The refusal (docs/semantics.md §5): status, `WWW-Authenticate` challenges and an RFC 9457
//! problem+json body that never echoes a credential.

use std::fmt;
use std::sync::{Arc, LazyLock, OnceLock};

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde::Serialize;

use crate::spec::{Requirement, SchemeKind, Spec};

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionReason {
    /// No alternative verified (401).
    Unauthorized,
    /// A genuine credential lacked a role or permission (403).
    Forbidden,
    /// The verifier could not decide (503).
    Unavailable,
    /// The route is not in the document (404), or its method is not (405 with `Allow`).
    Undocumented,
    /// The app is wired wrong, e.g. an extractor with no guard (500).
    Misconfigured,
}

/// A refusal, ready to become a response. Extractors and the layer both return it.
///
/// Cheap to clone: the challenges and the body are shared, so a guard builds each of
/// its refusals once and a refusal then costs no rendering.
#[derive(Clone)]
pub struct Rejection {
    reason: RejectionReason,
    status: StatusCode,
    challenges: Arc<[HeaderValue]>,
    /// The documented methods, for a 405 (boxed: a rejection travels in `Result`s).
    allow: Option<Box<HeaderValue>>,
    /// Always UTF-8: made only from a `String`.
    body: Bytes,
    /// The body's length, formatted once.
    length: HeaderValue,
}

impl Rejection {
    fn new(
        reason: RejectionReason,
        status: StatusCode,
        challenges: Arc<[HeaderValue]>,
        body: String,
    ) -> Rejection {
        Rejection {
            reason,
            status,
            challenges,
            allow: None,
            length: HeaderValue::from(body.len()),
            body: body.into(),
        }
    }

    /// Why the request was refused.
    pub fn reason(&self) -> RejectionReason {
        self.reason
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem+json body.
    pub fn body(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or_default()
    }

    /// The `WWW-Authenticate` challenges (401 only).
    pub fn challenges(&self) -> &[HeaderValue] {
        &self.challenges
    }

    /// 500 for generated code that finds the app wired wrong. `fix` goes to the log at
    /// error level; the client gets a plain 500.
    pub fn misconfigured(fix: &str) -> Rejection {
        tracing::error!(fix, "keygate: the app is wired wrong");
        server_error()
    }

    /// 500 for an impossible state in generated code (never a pass), logged at error
    /// level.
    pub fn internal() -> Rejection {
        tracing::error!("keygate reached a state its tables rule out");
        server_error()
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("reason", &self.reason)
            .field("status", &self.status.as_u16())
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request refused: {}", self.status)
    }
}

impl std::error::Error for Rejection {}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.reserve(2 + self.challenges.len());
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        // Set here, axum leaves it: no formatting per refusal.
        headers.insert(CONTENT_LENGTH, self.length);
        for challenge in self.challenges.iter() {
            headers.append(WWW_AUTHENTICATE, challenge.clone());
        }
        if let Some(allow) = self.allow {
            headers.insert(ALLOW, *allow);
        }
        response
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<Vec<Vec<Accepted<'a>>>>,
}

#[derive(Serialize)]
struct Accepted<'a> {
    scheme: &'a str,
    #[serde(rename = "in")]
    location: &'a str,
    name: Option<&'a str>,
}

fn render(status: StatusCode, detail: &str, accepted: Option<Vec<Vec<Accepted<'_>>>>) -> String {
    let problem = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        accepted,
    };
    serde_json::to_string(&problem).unwrap_or_default()
}

/// The one 500 body: what went wrong is for the log, not for the client.
fn server_error() -> Rejection {
    static SERVER_ERROR: LazyLock<Rejection> = LazyLock::new(|| {
        plain(
            RejectionReason::Misconfigured,
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server could not decide this request.",
        )
    });
    SERVER_ERROR.clone()
}

fn plain(reason: RejectionReason, status: StatusCode, detail: &str) -> Rejection {
    Rejection::new(reason, status, Arc::new([]), render(status, detail, None))
}

/// Where a scheme's credential goes, for the `accepted` list.
fn placement(kind: &SchemeKind) -> (&'static str, Option<&'static str>) {
    match *kind {
        SchemeKind::ApiKey { location, name } => (location.as_str(), Some(name)),
        SchemeKind::HttpBearer | SchemeKind::HttpBasic => ("header", Some("Authorization")),
        SchemeKind::Hooked { kind: "mutualTLS" } => ("tls", None),
        SchemeKind::Hooked { .. } => ("header", Some("Authorization")),
    }
}

fn accepted(spec: &'static Spec, requirement: Requirement) -> Vec<Vec<Accepted<'static>>> {
    requirement
        .alternatives
        .iter()
        .map(|alternative| {
            alternative
                .schemes
                .iter()
                .filter_map(|used| spec.schemes.get(used.scheme))
                .map(|scheme| {
                    let (location, name) = placement(&scheme.kind);
                    Accepted {
                        scheme: scheme.name,
                        location,
                        name,
                    }
                })
                .collect()
        })
        .collect()
}

fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn challenge(kind: &SchemeKind, realm: &str) -> Option<HeaderValue> {
    let realm = quoted(realm);
    let text = match *kind {
        SchemeKind::ApiKey { location, name } => {
            let full = format!(
                "APIKey realm={realm}, in={}, name={}",
                quoted(location.as_str()),
                quoted(name)
            );
            if HeaderValue::from_str(&full).is_ok() {
                full
            } else {
                // A name no header can carry (non-ASCII): still challenge, without it.
                format!("APIKey realm={realm}, in={}", quoted(location.as_str()))
            }
        }
        SchemeKind::HttpBearer => format!("Bearer realm={realm}"),
        SchemeKind::HttpBasic => format!("Basic realm={realm}"),
        SchemeKind::Hooked { kind: "mutualTLS" } => return None,
        SchemeKind::Hooked {
            kind: "oauth2" | "openIdConnect",
        } => format!("Bearer realm={realm}"),
        SchemeKind::Hooked { kind } => {
            let mut word = kind.to_owned();
            if let Some(first) = word.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            format!("{word} realm={realm}")
        }
    };
    HeaderValue::from_str(&text).ok()
}

/// 401 for a requirement: one challenge per scheme, and the accepted alternatives.
fn unauthorized(
    spec: &'static Spec,
    requirement: Requirement,
    realm: &str,
    detail: Detail,
) -> Rejection {
    let status = StatusCode::UNAUTHORIZED;
    let challenges = requirement
        .scheme_indices()
        .into_iter()
        .filter_map(|index| spec.schemes.get(index))
        .filter_map(|scheme| challenge(&scheme.kind, realm))
        .collect();
    let body = render(status, detail.text(), Some(accepted(spec, requirement)));
    Rejection::new(RejectionReason::Unauthorized, status, challenges, body)
}

/// 403: a genuine credential without the role or permission this operation needs.
fn forbidden(spec: &'static Spec, requirement: Requirement) -> Rejection {
    let status = StatusCode::FORBIDDEN;
    let body = render(
        status,
        "The credential is valid but does not grant this operation.",
        Some(accepted(spec, requirement)),
    );
    Rejection::new(RejectionReason::Forbidden, status, Arc::new([]), body)
}

/// 503: the verifier could not decide.
pub(crate) fn unavailable() -> Rejection {
    static UNAVAILABLE: LazyLock<Rejection> = LazyLock::new(|| {
        plain(
            RejectionReason::Unavailable,
            StatusCode::SERVICE_UNAVAILABLE,
            "The credential could not be checked right now. Try again later.",
        )
    });
    UNAVAILABLE.clone()
}

/// 404: a route the document does not describe.
pub(crate) fn undocumented() -> Rejection {
    static UNDOCUMENTED: LazyLock<Rejection> = LazyLock::new(|| {
        plain(
            RejectionReason::Undocumented,
            StatusCode::NOT_FOUND,
            "This route is not in the API document.",
        )
    });
    UNDOCUMENTED.clone()
}

/// 405: a documented path, a method the document does not describe on it. `allow`
/// lists the documented methods.
pub(crate) fn method_not_documented(allow: &str) -> Rejection {
    let mut rejection = plain(
        RejectionReason::Undocumented,
        StatusCode::METHOD_NOT_ALLOWED,
        "This method is not in the API document for this path.",
    );
    rejection.allow = HeaderValue::from_str(allow).ok().map(Box::new);
    rejection
}

/// What a 401's `detail` says. Unknown, wrong and malformed keys all get `Invalid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    Invalid,
    /// The key was genuine but expired.
    Expired,
    /// The key was genuine but revoked.
    Revoked,
    /// The presented key is genuine but disabled.
    Disabled,
    /// A credential was sent more than once.
    Ambiguous,
}

impl Detail {
    const ALL: [Detail; 5] = [
        Detail::Invalid,
        Detail::Expired,
        Detail::Revoked,
        Detail::Disabled,
        Detail::Ambiguous,
    ];

    fn text(self) -> &'static str {
        match self {
            Detail::Invalid => "A valid credential is required for this operation.",
            Detail::Expired => "The presented key has expired.",
            Detail::Revoked => "The presented key has been revoked.",
            Detail::Disabled => "The presented key is disabled.",
            Detail::Ambiguous => {
                "A credential was sent more than once; send each credential exactly once."
            }
        }
    }
}

/// A guard's 401s and 403s, built the first time each operation refuses and shared
/// after: a refusal then costs two reference counts, not a JSON rendering and a few
/// formatted challenges, so refusing a flood of made-up keys is no dearer than granting.
#[derive(Clone)]
pub(crate) struct Refusals {
    spec: &'static Spec,
    /// One per operation, then one for the root requirement (undocumented routes).
    by_requirement: Arc<[OnceLock<Box<Built>>]>,
    realm: Arc<str>,
}

struct Built {
    /// In the order of `Detail::ALL`.
    unauthorized: [Rejection; Detail::ALL.len()],
    forbidden: Rejection,
}

impl Refusals {
    pub(crate) fn new(spec: &'static Spec, realm: &str) -> Refusals {
        Refusals {
            spec,
            by_requirement: (0..=spec.operations.len())
                .map(|_| OnceLock::new())
                .collect(),
            realm: realm.into(),
        }
    }

    /// The realm named in the challenges.
    pub(crate) fn realm(&self) -> &str {
        &self.realm
    }

    fn built(&self, operation: Option<usize>) -> &Built {
        let spec = self.spec;
        let (slot, requirement) = match operation.and_then(|i| Some((i, spec.operations.get(i)?))) {
            Some((index, op)) => (index, op.requirement),
            None => (spec.operations.len(), spec.root),
        };
        self.by_requirement[slot].get_or_init(|| {
            Box::new(Built {
                unauthorized: Detail::ALL
                    .map(|detail| unauthorized(spec, requirement, &self.realm, detail)),
                forbidden: forbidden(spec, requirement),
            })
        })
    }

    /// The 401 for the operation at `operation` (`None`: the root requirement).
    pub(crate) fn unauthorized(&self, operation: Option<usize>, detail: Detail) -> Rejection {
        self.built(operation).unauthorized[detail as usize].clone()
    }

    /// The 403 for the operation at `operation` (`None`: the root requirement).
    pub(crate) fn forbidden(&self, operation: Option<usize>) -> Rejection {
        self.built(operation).forbidden.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Alternative, Location, Operation, Scheme, SchemeUse};

    const KEY: Requirement = Requirement {
        alternatives: &[Alternative {
            schemes: &[SchemeUse {
                scheme: 0,
                roles: &[],
            }],
        }],
    };

    const BEARER: Requirement = Requirement {
        alternatives: &[Alternative {
            schemes: &[SchemeUse {
                scheme: 1,
                roles: &[],
            }],
        }],
    };

    static SPEC: Spec = Spec {
        title: "refusals",
        base_path: "",
        schemes: &[
            Scheme {
                name: "key",
                kind: SchemeKind::ApiKey {
                    location: Location::Header,
                    name: "X-Key",
                },
            },
            Scheme {
                name: "token",
                kind: SchemeKind::HttpBearer,
            },
        ],
        root: BEARER,
        operations: &[Operation {
            method: "GET",
            path: "/a",
            operation_id: Some("a"),
            requirement: KEY,
        }],
    };

    #[test]
    fn prebuilt_refusals_are_what_a_fresh_rendering_gives_and_are_shared() {
        let refusals = Refusals::new(&SPEC, "zoo");
        for detail in Detail::ALL {
            let fresh = unauthorized(&SPEC, KEY, "zoo", detail);
            let first = refusals.unauthorized(Some(0), detail);
            let again = refusals.unauthorized(Some(0), detail);
            assert_eq!(first.body(), fresh.body());
            assert!(first.body().contains(detail.text()), "{}", first.body());
            assert_eq!(first.challenges(), fresh.challenges());
            // Built once: the second answer shares the first one's bytes.
            assert_eq!(first.body().as_ptr(), again.body().as_ptr());
        }
        assert_eq!(
            refusals.unauthorized(Some(0), Detail::Invalid).challenges(),
            [HeaderValue::from_static(
                r#"APIKey realm="zoo", in="header", name="X-Key""#
            )]
        );
        // The root requirement (undocumented routes) has its own.
        let root = refusals.unauthorized(None, Detail::Invalid);
        assert_eq!(
            root.challenges(),
            [HeaderValue::from_static(r#"Bearer realm="zoo""#)]
        );
        let forbidden = refusals.forbidden(Some(0));
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        assert_eq!(forbidden.body(), super::forbidden(&SPEC, KEY).body());
    }

    #[test]
    fn a_response_carries_the_body_its_length_and_the_challenges() {
        let rejection = Refusals::new(&SPEC, "api").unauthorized(Some(0), Detail::Expired);
        let body = rejection.body().to_owned();
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let headers = response.headers();
        assert_eq!(headers[CONTENT_TYPE], "application/problem+json");
        assert_eq!(headers[CONTENT_LENGTH], body.len().to_string().as_str());
        assert_eq!(headers.get_all(WWW_AUTHENTICATE).iter().count(), 1);
        assert!(body.contains("expired"), "{body}");
    }
}
