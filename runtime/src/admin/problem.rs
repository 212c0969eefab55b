//! `application/problem+json` answers (RFC 9457) of the admin API: each error about the
//! request names its field with a JSON pointer (or a parameter by its name).

use axum::response::{IntoResponse, Response};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::StatusCode;
use serde::Serialize;

use crate::keys::StoreError;

/// One offending field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FieldError {
    /// `/expires_at`, `/permissions/per_operation/getPet`, or a parameter's name.
    pub(crate) pointer: String,
    pub(crate) detail: String,
}

impl FieldError {
    pub(crate) fn new(pointer: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

/// A refused admin request. Its texts name keys and owners by id, never a secret.
#[derive(Debug, Serialize)]
pub(crate) struct Problem {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    #[serde(serialize_with = "status_code")]
    status: StatusCode,
    detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
}

fn status_code<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

impl Problem {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank",
            title,
            status,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// 400, naming each offending field.
    pub(crate) fn invalid(errors: Vec<FieldError>) -> Problem {
        let detail = match errors.len() {
            1 => "1 field of the request is invalid".to_owned(),
            n => format!("{n} fields of the request are invalid"),
        };
        Problem {
            errors,
            ..Problem::new(StatusCode::BAD_REQUEST, "Bad Request", detail)
        }
    }

    /// 404 for a key or owner that does not exist.
    pub(crate) fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "Not Found", detail)
    }

    /// 403 for what the caller may not do (a self-service owner past its policy).
    pub(crate) fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }

    /// 401 for a console login or session that does not work.
    pub(crate) fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    }

    /// 503 when the answer cannot be known now (the store or randomness failed).
    pub(crate) fn unavailable() -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "the key store cannot answer now",
        )
    }

    /// 412: the key or owner changed since the `ETag` the client sent.
    pub(crate) fn changed(what: &str) -> Problem {
        Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "Precondition Failed",
            format!("{what} changed since the ETag given in If-Match: read it again"),
        )
    }

    /// The answer for a store's error.
    pub(crate) fn from_store(error: &StoreError) -> Problem {
        match error {
            StoreError::NotFound(id) => Problem::not_found(format!("no key with id `{id}`")),
            StoreError::OwnerNotFound(id) => Problem::not_found(format!("no owner with id `{id}`")),
            StoreError::Changed(target) => {
                Problem::changed(&format!("{} `{}`", target.kind(), target.id()))
            }
            StoreError::Revoked(id) => Problem::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!(
                    "key `{id}` is revoked for good: it cannot be disabled, enabled or rotated"
                ),
            ),
            StoreError::Invalid { field, reason } => {
                Problem::invalid(vec![FieldError::new(format!("/{field}"), reason.clone())])
            }
            other => {
                tracing::error!(error = %crate::keys::Chain(other), "admin API: key store failed");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                    "the key store cannot answer now",
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&self).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
