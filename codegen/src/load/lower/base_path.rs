//! The path prefix every operation sits under: `basePath` (Swagger 2.0), or the path of
//! the first server's URL with its variables' defaults (OpenAPI 3.x).

use yaml_serde::{Mapping, Value};

use crate::ir::SpecVersion;
use crate::load::tree::{as_map, as_str, scalar_text, untag};

/// The base path of a document (its root map), normalized: `/v1`, or empty for none.
pub(super) fn base_path(version: SpecVersion, map: &Mapping) -> String {
    if version == SpecVersion::Swagger2 {
        let base = map.get("basePath").and_then(as_str).unwrap_or("");
        return normalize_base(base);
    }
    let first = match map.get("servers").map(untag) {
        Some(Value::Sequence(servers)) => servers.first(),
        _ => None,
    };
    first.map(server_base_path).unwrap_or_default()
}

/// The URL of the first server (3.x, variables substituted), or `scheme://host` followed
/// by `basePath` (2.0); empty when there is none.
pub(super) fn server_url(version: SpecVersion, map: &Mapping) -> String {
    if version == SpecVersion::Swagger2 {
        let Some(host) = map
            .get("host")
            .and_then(as_str)
            .filter(|h| !h.trim().is_empty())
        else {
            return String::new();
        };
        let scheme = match map.get("schemes").map(untag) {
            Some(Value::Sequence(schemes)) => schemes.first().and_then(as_str),
            _ => None,
        };
        let base = normalize_base(map.get("basePath").and_then(as_str).unwrap_or(""));
        return format!("{}://{}{base}", scheme.unwrap_or("https"), host.trim());
    }
    let first = match map.get("servers").map(untag) {
        Some(Value::Sequence(servers)) => servers.first(),
        _ => None,
    };
    let Some(server) = first.and_then(as_map) else {
        return String::new();
    };
    let Some(url) = server.get("url").and_then(as_str) else {
        return String::new();
    };
    substitute_variables(url, server.get("variables").and_then(as_map))
}

/// The path part of a 3.x server object's URL, variables substituted, normalized.
fn server_base_path(server: &Value) -> String {
    let Some(server) = as_map(server) else {
        return String::new();
    };
    let Some(url) = server.get("url").and_then(as_str) else {
        return String::new();
    };
    let variables = server.get("variables").and_then(as_map);
    normalize_base(url_path(&substitute_variables(url, variables)))
}

/// Replaces `{name}` with the variable's `default`; an unknown variable or one without
/// a default becomes empty text, so the rest of the URL still yields a path.
fn substitute_variables(url: &str, variables: Option<&Mapping>) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some((before, after)) = rest.split_once('{') {
        let Some((name, tail)) = after.split_once('}') else {
            break;
        };
        out.push_str(before);
        let default = variables
            .and_then(|vars| vars.get(name))
            .and_then(as_map)
            .and_then(|var| var.get("default"))
            .and_then(scalar_text);
        out.push_str(default.as_deref().unwrap_or(""));
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// The path of a URL: after the host for `scheme://host/...` and `//host/...`, the
/// whole text for a relative URL. Query and fragment are dropped.
fn url_path(url: &str) -> &str {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let authority_and_path = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .or_else(|| url.strip_prefix("//"));
    match authority_and_path {
        Some(rest) => rest
            .find('/')
            .and_then(|slash| rest.get(slash..))
            .unwrap_or(""),
        None => url,
    }
}

/// `/v1/` -> `/v1`, `v1` -> `/v1`, `./v1` -> `/v1`, `/a//b` -> `/a/b`, `/` -> ``.
fn normalize_base(path: &str) -> String {
    let mut path = path.trim();
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    if path == "." {
        path = "";
    }
    // Runs of `/` (left where a variable had no default) mean one separator.
    let mut out = String::with_capacity(path.len() + 1);
    for segment in path.split('/').filter(|segment| !segment.is_empty()) {
        out.push('/');
        out.push_str(segment);
    }
    out
}
