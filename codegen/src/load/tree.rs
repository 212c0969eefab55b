//! Reading the parsed tree: what the loader's other parts ask of a `yaml_serde::Value`.

use yaml_serde::{Mapping, Value};

/// Looks through YAML tags (`!foo value`): keygate reads the value.
pub(super) fn untag(value: &Value) -> &Value {
    let mut value = value;
    while let Value::Tagged(tagged) = value {
        value = &tagged.value;
    }
    value
}

pub(super) fn as_map(value: &Value) -> Option<&Mapping> {
    match untag(value) {
        Value::Mapping(map) => Some(map),
        _ => None,
    }
}

pub(super) fn as_str(value: &Value) -> Option<&str> {
    match untag(value) {
        Value::String(text) => Some(text),
        _ => None,
    }
}

/// Text of a scalar: strings as they are, numbers and booleans as YAML writes them.
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match untag(value) {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A map key as text (YAML reads `200:` or `true:` as non-strings).
pub(super) fn key_text(key: &Value) -> Option<String> {
    match untag(key) {
        Value::Null => Some("null".to_owned()),
        other => scalar_text(other),
    }
}

/// A short name for the kind of a node, for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "map",
        Value::Tagged(tagged) => kind(&tagged.value),
    }
}

/// A scalar shown in a message (`3.2.0`), or its kind.
pub(super) fn shown(value: &Value) -> String {
    scalar_text(value).unwrap_or_else(|| format!("<{}>", kind(value)))
}
