//! Reading the fields of a JSON request body one by one, so that every offending field is
//! named by its JSON pointer and all of them are reported at once: the readers the admin
//! API's and the self-service routes' bodies share.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value};

use super::problem::FieldError;
use super::time::parse_duration;

/// The errors found so far.
#[derive(Default)]
pub(crate) struct Errors(pub(crate) Vec<FieldError>);

impl Errors {
    pub(crate) fn add(&mut self, pointer: &str, detail: impl Into<String>) {
        self.0.push(FieldError::new(pointer, detail));
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// `pointer` followed by `name`, escaped as RFC 6901 says.
pub(crate) fn child(pointer: &str, name: &str) -> String {
    format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"))
}

/// The JSON type of a value, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn expected(what: &str, value: &Value) -> String {
    format!("expected {what}, got {}", kind(value))
}

/// The body as a JSON object, or why not (pointer `""`: the whole body).
pub(crate) fn object(body: &[u8]) -> Result<Map<String, Value>, Vec<FieldError>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(vec![FieldError::new("", expected("an object", &other))]),
        Err(e) => Err(vec![FieldError::new("", format!("not JSON: {e}"))]),
    }
}

/// Names each field of `map` that is not in `known`.
pub(crate) fn unknown_fields(map: &Map<String, Value>, known: &[&str], errors: &mut Errors) {
    for name in map.keys().filter(|name| !known.contains(&name.as_str())) {
        let shown: String = name.chars().take(100).collect();
        errors.add(
            &child("", name),
            format!("unknown field `{}`", shown.escape_debug()),
        );
    }
}

/// A string of `min..=max` characters.
pub(crate) fn string(
    value: &Value,
    pointer: &str,
    min: usize,
    max: usize,
    errors: &mut Errors,
) -> Option<String> {
    let Value::String(text) = value else {
        errors.add(pointer, expected("a string", value));
        return None;
    };
    let length = text.chars().count();
    if length < min || length > max {
        errors.add(
            pointer,
            format!("must have {min} to {max} characters, not {length}"),
        );
        return None;
    }
    Some(text.clone())
}

/// An array of non-empty strings, as a set.
pub(crate) fn strings(
    value: &Value,
    pointer: &str,
    errors: &mut Errors,
) -> Option<BTreeSet<String>> {
    let Value::Array(items) = value else {
        errors.add(pointer, expected("an array of strings", value));
        return None;
    };
    let mut out = BTreeSet::new();
    let before = errors.0.len();
    for (index, item) in items.iter().enumerate() {
        if let Some(text) = string(item, &child(pointer, &index.to_string()), 1, 200, errors) {
            out.insert(text);
        }
    }
    (errors.0.len() == before).then_some(out)
}

/// HTTP methods in upper case or `*`, each once.
pub(crate) fn methods(
    value: &Value,
    pointer: &str,
    errors: &mut Errors,
) -> Option<BTreeSet<String>> {
    let Value::Array(items) = value else {
        errors.add(pointer, expected("an array of methods", value));
        return None;
    };
    let mut out = BTreeSet::new();
    let before = errors.0.len();
    for (index, item) in items.iter().enumerate() {
        let at = child(pointer, &index.to_string());
        let Value::String(method) = item else {
            errors.add(&at, expected("a method", item));
            continue;
        };
        let shaped = method == "*"
            || (!method.is_empty()
                && method.len() <= 20
                && method.bytes().all(|b| b.is_ascii_uppercase()));
        if !shaped {
            errors.add(&at, "expected an HTTP method in upper case (`GET`) or `*`");
        } else if !out.insert(method.clone()) {
            errors.add(&at, format!("`{method}` is listed twice"));
        }
    }
    (errors.0.len() == before).then_some(out)
}

pub(crate) fn duration(value: &Value, pointer: &str, errors: &mut Errors) -> Option<Duration> {
    let Value::String(text) = value else {
        errors.add(pointer, expected("a duration (`30d`)", value));
        return None;
    };
    parse_duration(text)
        .map_err(|e| errors.add(pointer, e))
        .ok()
}
