//! Request bodies of the admin API, read by hand from JSON so that every offending field
//! is named by its JSON pointer, all at once: unknown fields, wrong types, lengths, dates,
//! durations, and operation and scheme names the documents do not define.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use super::fields::{
    child, duration, expected, methods, object, string, strings, unknown_fields, Errors,
};
use super::problem::FieldError;
use super::time::parse_time;
use crate::keys::{
    operation_problem, scheme_problem, Expiry, KeyUpdate, Metadata, NewKey, Permissions,
    UnixSeconds, METADATA_MAX_BYTES,
};
use crate::spec::Spec;

/// What request bodies are checked against: the documents whose operation and scheme
/// names keys may use (the app's first), and the time now, for expiries.
pub(crate) struct Rules<'a> {
    pub(crate) specs: &'a [&'a Spec],
    pub(crate) now: UnixSeconds,
}

/// Scheme names, each one a document defines.
fn schemes(
    value: &Value,
    pointer: &str,
    rules: &Rules<'_>,
    errors: &mut Errors,
) -> Option<BTreeSet<String>> {
    let names = strings(value, pointer, errors)?;
    let before = errors.0.len();
    if let Value::Array(items) = value {
        for (index, item) in items.iter().enumerate() {
            let Some(name) = item.as_str() else { continue };
            if let Some(problem) = scheme_problem(rules.specs, name) {
                errors.add(&child(pointer, &index.to_string()), problem);
            }
        }
    }
    (errors.0.len() == before).then_some(names)
}
/// `{default_methods, per_operation}`, each operation one a document defines.
fn permissions(
    value: &Value,
    pointer: &str,
    rules: &Rules<'_>,
    errors: &mut Errors,
) -> Option<Permissions> {
    let Value::Object(map) = value else {
        errors.add(pointer, expected("an object", value));
        return None;
    };
    let before = errors.0.len();
    for name in map
        .keys()
        .filter(|n| !["default_methods", "per_operation"].contains(&n.as_str()))
    {
        errors.add(&child(pointer, name), "unknown field");
    }
    let default_methods = match map.get("default_methods") {
        Some(v) => methods(v, &child(pointer, "default_methods"), errors),
        None => {
            errors.add(&child(pointer, "default_methods"), "required");
            None
        }
    };
    let mut per_operation = BTreeMap::new();
    match map.get("per_operation") {
        None => {}
        Some(Value::Object(ops)) => {
            let at = child(pointer, "per_operation");
            for (name, methods_value) in ops {
                let op_at = child(&at, name);
                if let Some(problem) = operation_problem(rules.specs, name) {
                    errors.add(&op_at, problem);
                } else if let Some(set) = methods(methods_value, &op_at, errors) {
                    per_operation.insert(name.clone(), set);
                }
            }
        }
        Some(other) => errors.add(
            &child(pointer, "per_operation"),
            expected("an object", other),
        ),
    }
    let default_methods = default_methods?;
    (errors.0.len() == before).then_some(Permissions {
        default_methods,
        per_operation,
    })
}

/// A JSON object of at most [`METADATA_MAX_BYTES`] as compact JSON.
fn metadata(value: &Value, pointer: &str, errors: &mut Errors) -> Option<Metadata> {
    let Value::Object(map) = value else {
        errors.add(pointer, expected("an object", value));
        return None;
    };
    let size = serde_json::to_string(map).map_or(usize::MAX, |t| t.len());
    if size > METADATA_MAX_BYTES {
        errors.add(
            pointer,
            format!("{size} bytes as JSON, more than the {METADATA_MAX_BYTES} allowed"),
        );
        return None;
    }
    Some(map.clone())
}

/// A time in the future.
fn future_time(
    value: &Value,
    pointer: &str,
    rules: &Rules<'_>,
    errors: &mut Errors,
) -> Option<UnixSeconds> {
    let Value::String(text) = value else {
        errors.add(pointer, expected("an RFC 3339 date-time", value));
        return None;
    };
    match parse_time(text) {
        Ok(at) if at <= rules.now => {
            errors.add(pointer, "is not in the future");
            None
        }
        Ok(at) => Some(at),
        Err(e) => {
            errors.add(pointer, e);
            None
        }
    }
}

const NEW_KEY_FIELDS: [&str; 9] = [
    "name",
    "description",
    "owner",
    "roles",
    "schemes",
    "permissions",
    "metadata",
    "expires_at",
    "expires_in",
];

/// The body of `createKey` (schema `NewKey`).
pub(crate) fn new_key(body: &[u8], rules: &Rules<'_>) -> Result<NewKey, Vec<FieldError>> {
    let map = object(body)?;
    let mut errors = Errors::default();
    unknown_fields(&map, &NEW_KEY_FIELDS, &mut errors);
    let field = |name: &str| map.get(name);
    let name = match field("name") {
        Some(v) => string(v, "/name", 1, 200, &mut errors),
        None => {
            errors.add("/name", "required");
            None
        }
    };
    let mut spec = NewKey::new(name.unwrap_or_default());
    if let Some(v) = field("description") {
        spec.description = string(v, "/description", 0, 2000, &mut errors);
    }
    if let Some(v) = field("owner") {
        spec.owner = string(v, "/owner", 1, 200, &mut errors);
    }
    if let Some(v) = field("roles") {
        spec.roles = strings(v, "/roles", &mut errors).unwrap_or_default();
    }
    if let Some(v) = field("schemes") {
        spec.schemes = schemes(v, "/schemes", rules, &mut errors);
    }
    if let Some(v) = field("permissions") {
        if let Some(p) = permissions(v, "/permissions", rules, &mut errors) {
            spec.permissions = p;
        }
    }
    if let Some(v) = field("metadata") {
        spec.metadata = metadata(v, "/metadata", &mut errors).unwrap_or_default();
    }
    match (field("expires_at"), field("expires_in")) {
        (Some(_), Some(_)) => {
            errors.add("/expires_in", "give `expires_at` or `expires_in`, not both")
        }
        (Some(v), None) => {
            if let Some(at) = future_time(v, "/expires_at", rules, &mut errors) {
                spec.expiry = Expiry::At(at);
            }
        }
        (None, Some(v)) => match duration(v, "/expires_in", &mut errors) {
            Some(d) if d.is_zero() => errors.add("/expires_in", "must be longer than 0s"),
            Some(d) => spec.expiry = Expiry::In(d),
            None => {}
        },
        (None, None) => {}
    }
    errors.finish(spec)
}

const UPDATE_FIELDS: [&str; 7] = [
    "name",
    "description",
    "roles",
    "schemes",
    "permissions",
    "metadata",
    "expires_at",
];

/// The body of `updateKey` (schema `KeyUpdate`): `null` clears a field that may be
/// cleared.
pub(crate) fn key_update(body: &[u8], rules: &Rules<'_>) -> Result<KeyUpdate, Vec<FieldError>> {
    let map = object(body)?;
    let mut errors = Errors::default();
    if map.is_empty() {
        errors.add("", "nothing to change: give at least one field");
    }
    unknown_fields(&map, &UPDATE_FIELDS, &mut errors);
    let mut update = KeyUpdate::new();
    for (name, v) in &map {
        let at = child("", name);
        match (name.as_str(), v) {
            ("description" | "schemes" | "expires_at", Value::Null) => match name.as_str() {
                "description" => update.description = Some(None),
                "schemes" => update.schemes = Some(None),
                _ => update.expires_at = Some(None),
            },
            ("name", v) => update.name = string(v, &at, 1, 200, &mut errors),
            ("description", v) => {
                update.description = string(v, &at, 0, 2000, &mut errors).map(Some);
            }
            ("roles", v) => update.roles = strings(v, &at, &mut errors),
            ("schemes", v) => update.schemes = schemes(v, &at, rules, &mut errors).map(Some),
            ("permissions", v) => update.permissions = permissions(v, &at, rules, &mut errors),
            ("metadata", v) => update.metadata = metadata(v, &at, &mut errors),
            ("expires_at", v) => {
                update.expires_at = future_time(v, &at, rules, &mut errors).map(Some);
            }
            _ => {}
        }
    }
    errors.finish(update)
}

/// The body of `rotateKey` (schema `Rotation`, optional): the grace period.
pub(crate) fn rotation(body: &[u8]) -> Result<Duration, Vec<FieldError>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Duration::ZERO);
    }
    let map = object(body)?;
    let mut errors = Errors::default();
    unknown_fields(&map, &["grace"], &mut errors);
    let grace = match map.get("grace") {
        Some(v) => duration(v, "/grace", &mut errors),
        None => Some(Duration::ZERO),
    };
    errors.finish(grace.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Operation, Requirement, Scheme, SchemeKind};

    static APP: Spec = Spec {
        title: "pets",
        base_path: "",
        schemes: &[Scheme {
            name: "api_key",
            kind: SchemeKind::HttpBearer,
        }],
        root: Requirement::PUBLIC,
        operations: &[Operation {
            method: "GET",
            path: "/pets/{id}",
            operation_id: Some("getPet"),
            requirement: Requirement::PUBLIC,
        }],
    };

    static SPECS: [&Spec; 1] = [&APP];

    fn rules() -> Rules<'static> {
        Rules {
            specs: &SPECS,
            now: 1_700_000_000,
        }
    }

    fn pointers(result: Result<impl std::fmt::Debug, Vec<FieldError>>) -> Vec<String> {
        result
            .expect_err("refused")
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    #[test]
    fn every_bad_field_is_named() {
        let body = br#"{"name": 3, "colour": "red", "expires_at": "2001-01-01T00:00:00Z",
            "permissions": {"default_methods": ["get"], "per_operation": {"getPets": ["GET"], "a/b": []}},
            "schemes": ["apikey"], "metadata": []}"#;
        assert_eq!(
            pointers(new_key(body, &rules())),
            [
                "/colour",
                "/name",
                "/schemes/0",
                "/permissions/default_methods/0",
                "/permissions/per_operation/a~1b",
                "/permissions/per_operation/getPets",
                "/metadata",
                "/expires_at"
            ]
        );
        let ok = new_key(br#"{"name": "ci", "expires_in": "30d", "permissions": {"default_methods": ["*"], "per_operation": {"getPet": []}}}"#, &rules())
            .expect("valid");
        assert_eq!(ok.expiry, Expiry::In(Duration::from_secs(30 * 86_400)));
        assert_eq!(pointers(new_key(b"[]", &rules())), [""]);
        assert_eq!(pointers(new_key(b"{", &rules())), [""]);
    }

    #[test]
    fn an_update_clears_with_null() {
        let update = key_update(
            br#"{"description": null, "expires_at": null, "schemes": null}"#,
            &rules(),
        )
        .expect("valid");
        assert_eq!(update.description, Some(None));
        assert_eq!(update.expires_at, Some(None));
        assert_eq!(update.schemes, Some(None));
        assert_eq!(pointers(key_update(b"{}", &rules())), [""]);
        assert_eq!(
            pointers(key_update(br#"{"name": null, "roles": [""]}"#, &rules())),
            ["/name", "/roles/0"]
        );
        assert_eq!(rotation(b""), Ok(Duration::ZERO));
        assert_eq!(pointers(rotation(br#"{"grace": "soon"}"#)), ["/grace"]);
    }
}
