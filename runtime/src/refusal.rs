//! The refusal (SEMANTICS §5): status, `WWW-Authenticate` challenges and an RFC 9457
//! problem+json body that never echoes a credential.

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
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
    /// The route is not documented and the guard denies such routes (404).
    Undocumented,
    /// The app is wired wrong, e.g. an extractor with no guard (500).
    Misconfigured,
}

/// A refusal, ready to become a response. Extractors and the layer both return it.
#[derive(Clone)]
pub struct Rejection {
    reason: RejectionReason,
    status: StatusCode,
    challenges: Vec<HeaderValue>,
    body: String,
}

impl Rejection {
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
        &self.body
    }

    /// The `WWW-Authenticate` challenges (401 only).
    pub fn challenges(&self) -> &[HeaderValue] {
        &self.challenges
    }

    /// 500 for generated code that finds the app wired wrong; the detail names the fix.
    pub fn misconfigured(detail: &str) -> Rejection {
        plain(
            RejectionReason::Misconfigured,
            StatusCode::INTERNAL_SERVER_ERROR,
            detail,
        )
    }

    /// 500 for an impossible state in generated code (never a pass).
    pub fn internal() -> Rejection {
        Rejection::misconfigured("keygate reached a state its tables rule out")
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
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for challenge in self.challenges {
            headers.append(WWW_AUTHENTICATE, challenge);
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

fn plain(reason: RejectionReason, status: StatusCode, detail: &str) -> Rejection {
    Rejection {
        reason,
        status,
        challenges: Vec::new(),
        body: render(status, detail, None),
    }
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
pub(crate) fn unauthorized(
    spec: &'static Spec,
    requirement: Requirement,
    realm: &str,
    detail: &str,
) -> Rejection {
    let status = StatusCode::UNAUTHORIZED;
    let challenges = requirement
        .scheme_indices()
        .into_iter()
        .filter_map(|index| spec.schemes.get(index))
        .filter_map(|scheme| challenge(&scheme.kind, realm))
        .collect();
    Rejection {
        reason: RejectionReason::Unauthorized,
        status,
        challenges,
        body: render(status, detail, Some(accepted(spec, requirement))),
    }
}

/// 403: a genuine credential without the role or permission this operation needs.
pub(crate) fn forbidden(spec: &'static Spec, requirement: Requirement) -> Rejection {
    let status = StatusCode::FORBIDDEN;
    Rejection {
        reason: RejectionReason::Forbidden,
        status,
        challenges: Vec::new(),
        body: render(
            status,
            "The credential is valid but does not grant this operation.",
            Some(accepted(spec, requirement)),
        ),
    }
}

/// 503: the verifier could not decide.
pub(crate) fn unavailable() -> Rejection {
    plain(
        RejectionReason::Unavailable,
        StatusCode::SERVICE_UNAVAILABLE,
        "The credential could not be checked right now. Try again later.",
    )
}

/// 404: an undocumented route while the guard denies those.
pub(crate) fn undocumented() -> Rejection {
    plain(
        RejectionReason::Undocumented,
        StatusCode::NOT_FOUND,
        "No documented operation matches this method and path.",
    )
}

/// The `detail` for a 401; the same text for unknown, wrong and malformed keys.
pub(crate) const DETAIL_INVALID: &str = "A valid credential is required for this operation.";
/// The `detail` when a key was genuine but expired.
pub(crate) const DETAIL_EXPIRED: &str = "The presented key has expired.";
/// The `detail` when a key was genuine but revoked.
pub(crate) const DETAIL_REVOKED: &str = "The presented key has been revoked.";
/// The `detail` when a credential was sent more than once.
pub(crate) const DETAIL_AMBIGUOUS: &str =
    "A credential was sent more than once; send each credential exactly once.";
