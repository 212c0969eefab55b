//! The JSON of the self-service routes: request bodies read field by field (so each error
//! names its field by JSON pointer), the owner's view of a key, and problem+json answers.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::keys::{KeyRecord, StoreError, UnixSeconds};

/// One offending field: its JSON pointer in the body (or the query parameter's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FieldError {
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

/// A create request from an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnerKeyRequest {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    /// Upper-cased, in the request's order (pointers index it).
    pub(crate) methods: Option<Vec<String>>,
    pub(crate) roles: Vec<String>,
    pub(crate) expires_in: Option<Duration>,
}

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2000;

/// Reads a create request: every field checked, unknown ones refused.
pub(crate) fn owner_key_request(body: &[u8]) -> Result<OwnerKeyRequest, Vec<FieldError>> {
    let object = json_object(body)?;
    let mut errors = Vec::new();
    refuse_unknown(
        &object,
        &["name", "description", "methods", "roles", "expires_in"],
        &mut errors,
    );
    let name = match object.get("name") {
        None => {
            errors.push(FieldError::new("/name", "required"));
            String::new()
        }
        Some(value) => text(value, "/name", MAX_NAME, &mut errors).unwrap_or_default(),
    };
    let description = object
        .get("description")
        .and_then(|v| text(v, "/description", MAX_DESCRIPTION, &mut errors));
    let methods = object.get("methods").map(|v| {
        texts(v, "/methods", &mut errors)
            .into_iter()
            .map(|m| m.to_ascii_uppercase())
            .collect()
    });
    let roles = object
        .get("roles")
        .map(|v| texts(v, "/roles", &mut errors))
        .unwrap_or_default();
    let expires_in = object
        .get("expires_in")
        .and_then(|v| duration(v, "/expires_in", &mut errors));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(OwnerKeyRequest {
        name,
        description,
        methods,
        roles,
        expires_in,
    })
}

/// Reads a rotation request: an optional `grace` (`0s` when absent, as is an empty body).
pub(crate) fn rotation_request(body: &[u8]) -> Result<Duration, Vec<FieldError>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Duration::ZERO);
    }
    let object = json_object(body)?;
    let mut errors = Vec::new();
    refuse_unknown(&object, &["grace"], &mut errors);
    let grace = object
        .get("grace")
        .and_then(|v| duration(v, "/grace", &mut errors));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(grace.unwrap_or(Duration::ZERO))
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, Vec<FieldError>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(vec![FieldError::new("", "expected a JSON object")]),
        Err(e) => Err(vec![FieldError::new(
            "",
            format!("not JSON: line {}, column {}", e.line(), e.column()),
        )]),
    }
}

fn refuse_unknown(object: &Map<String, Value>, known: &[&str], errors: &mut Vec<FieldError>) {
    for name in object.keys().filter(|k| !known.contains(&k.as_str())) {
        errors.push(FieldError::new(pointer_to(name), "unknown field"));
    }
}

/// The pointer of a top-level member, escaped as RFC 6901 says.
fn pointer_to(name: &str) -> String {
    format!("/{}", name.replace('~', "~0").replace('/', "~1"))
}

fn text(value: &Value, at: &str, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() && s.len() <= max => Some(s.clone()),
        Value::String(_) => {
            errors.push(FieldError::new(at, format!("must have 1 to {max} bytes")));
            None
        }
        _ => {
            errors.push(FieldError::new(at, "expected a string"));
            None
        }
    }
}

fn texts(value: &Value, at: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    let Value::Array(items) = value else {
        errors.push(FieldError::new(at, "expected an array of strings"));
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| text(item, &format!("{at}/{i}"), MAX_NAME, errors))
        .collect()
}

fn duration(value: &Value, at: &str, errors: &mut Vec<FieldError>) -> Option<Duration> {
    let parsed = value.as_str().and_then(parse_duration);
    if parsed.is_none() {
        errors.push(FieldError::new(
            at,
            "expected a duration: a number and a unit, s, m, h or d (`30d`)",
        ));
    }
    parsed
}

/// `<n><unit>` with unit `s`, `m`, `h` or `d`, up to a hundred years.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let unit = match text.as_bytes().last()? {
        b's' => 1,
        b'm' => 60,
        b'h' => 3_600,
        b'd' => 86_400,
        _ => return None,
    };
    let digits = &text[..text.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = digits.parse::<u64>().ok()?.checked_mul(unit)?;
    (seconds <= 100 * 365 * 86_400).then(|| Duration::from_secs(seconds))
}

/// A key as its owner sees it: no owner epoch, metadata or per-operation entries, and
/// never a secret or a hash.
#[derive(Debug, Serialize)]
pub(crate) struct OwnerKeyView<'a> {
    id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    status: &'static str,
    roles: Vec<&'a str>,
    methods: Vec<&'a str>,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

impl<'a> OwnerKeyView<'a> {
    pub(crate) fn of(record: &'a KeyRecord, now: UnixSeconds) -> OwnerKeyView<'a> {
        OwnerKeyView {
            id: &record.id,
            name: &record.name,
            description: record.description.as_deref(),
            status: state_name(record, now),
            roles: record.roles.iter().map(String::as_str).collect(),
            methods: record
                .permissions
                .default_methods
                .iter()
                .map(String::as_str)
                .collect(),
            created_at: rfc3339(record.created_at),
            expires_at: record.expires_at.map(rfc3339),
            last_used_at: record.last_used_at.map(rfc3339),
        }
    }
}

fn state_name(record: &KeyRecord, now: UnixSeconds) -> &'static str {
    use crate::keys::KeyState;
    match record.state(now) {
        KeyState::Active => "active",
        KeyState::Disabled => "disabled",
        KeyState::Revoked => "revoked",
        KeyState::Expired => "expired",
    }
}

/// Unix seconds as an RFC 3339 UTC time (`2026-12-06T10:17:15Z`).
pub(crate) fn rfc3339(at: UnixSeconds) -> String {
    let days = at.div_euclid(86_400);
    let second_of_day = at.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm), proleptic Gregorian.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3_600,
        second_of_day % 3_600 / 60,
        second_of_day % 60
    )
}

/// A refusal as `application/problem+json`.
#[derive(Debug)]
pub(crate) struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: Option<String>,
    errors: Vec<FieldError>,
}

impl Problem {
    pub(crate) fn invalid(errors: Vec<FieldError>) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            title: "The request is not valid.",
            detail: None,
            errors,
        }
    }

    pub(crate) fn not_found() -> Problem {
        Problem {
            status: StatusCode::NOT_FOUND,
            title: "No such key.",
            detail: None,
            errors: Vec::new(),
        }
    }

    pub(crate) fn forbidden(detail: impl Into<String>) -> Problem {
        Problem {
            status: StatusCode::FORBIDDEN,
            title: "Not allowed.",
            detail: Some(detail.into()),
            errors: Vec::new(),
        }
    }

    /// A store failure: ids and reasons only (a `StoreError` never holds a secret); the
    /// database's own error goes to the log, not the client.
    pub(crate) fn store(error: StoreError) -> Problem {
        match error {
            StoreError::NotFound(_) | StoreError::OwnerNotFound(_) => Problem::not_found(),
            StoreError::Revoked(_) => Problem {
                status: StatusCode::CONFLICT,
                title: "The key is revoked.",
                detail: None,
                errors: Vec::new(),
            },
            StoreError::Invalid { field, reason } => {
                Problem::invalid(vec![FieldError::new(pointer_to(field), reason)])
            }
            other => {
                tracing::error!(error = %other, "keygate self-service: the key store failed");
                Problem {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    title: "The key store is unavailable.",
                    detail: None,
                    errors: Vec::new(),
                }
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
        });
        if let Some(detail) = self.detail {
            body["detail"] = Value::String(detail);
        }
        if !self.errors.is_empty() {
            body["errors"] = serde_json::to_value(&self.errors).unwrap_or_default();
        }
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(
            parse_duration("30d"),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        for bad in [
            "",
            "d",
            "30",
            "1.5h",
            "-1d",
            "30 d",
            "99999999999999999999d",
            "36501d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = owner_key_request(
            br#"{"name": 3, "methods": ["GET", 4], "expires_in": "soon", "a/b": 1}"#,
        )
        .unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/a~1b", "/name", "/methods/1", "/expires_in"]);
        assert_eq!(owner_key_request(b"[]").unwrap_err()[0].pointer, "");
        assert_eq!(owner_key_request(b"{").unwrap_err()[0].pointer, "");
        assert_eq!(owner_key_request(b"{}").unwrap_err()[0].pointer, "/name");
    }

    #[test]
    fn a_rotation_body_may_be_empty() {
        assert_eq!(rotation_request(b""), Ok(Duration::ZERO));
        assert_eq!(
            rotation_request(br#"{"grace": "1h"}"#),
            Ok(Duration::from_secs(3_600))
        );
        assert_eq!(
            rotation_request(br#"{"grace": 1}"#).unwrap_err()[0].pointer,
            "/grace"
        );
    }
}
