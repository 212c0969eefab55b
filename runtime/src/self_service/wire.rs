//! The JSON of the self-service routes: the create request, read with the admin API's
//! field readers (so each error names its field by JSON pointer), and the owner's view of
//! a key.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use crate::admin::fields::{duration, methods, object, string, strings, unknown_fields, Errors};
use crate::admin::problem::FieldError;
use crate::admin::time::rfc3339;
use crate::keys::{KeyRecord, UnixSeconds};

/// A create request from an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnerKeyRequest {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    /// Upper case, or `*`.
    pub(crate) methods: Option<BTreeSet<String>>,
    pub(crate) roles: BTreeSet<String>,
    pub(crate) expires_in: Option<Duration>,
}

const FIELDS: [&str; 5] = ["name", "description", "methods", "roles", "expires_in"];

/// Reads a create request: every field checked, unknown ones refused.
pub(crate) fn owner_key_request(body: &[u8]) -> Result<OwnerKeyRequest, Vec<FieldError>> {
    let map = object(body)?;
    let mut errors = Errors::default();
    unknown_fields(&map, &FIELDS, &mut errors);
    let name = match map.get("name") {
        Some(v) => string(v, "/name", 1, 200, &mut errors),
        None => {
            errors.add("/name", "required");
            None
        }
    };
    let description = map
        .get("description")
        .and_then(|v| string(v, "/description", 0, 2000, &mut errors));
    let methods = map
        .get("methods")
        .and_then(|v| methods(v, "/methods", &mut errors));
    let roles = map
        .get("roles")
        .and_then(|v| strings(v, "/roles", &mut errors))
        .unwrap_or_default();
    let expires_in = match map.get("expires_in") {
        Some(v) => match duration(v, "/expires_in", &mut errors) {
            Some(d) if d.is_zero() => {
                errors.add("/expires_in", "must be longer than 0s");
                None
            }
            d => d,
        },
        None => None,
    };
    errors.finish(OwnerKeyRequest {
        name: name.unwrap_or_default(),
        description,
        methods,
        roles,
        expires_in,
    })
}

/// A key as its owner sees it: no owner epoch, metadata or per-operation entries, no
/// creator (it may be an admin key, whose id is not the owner's to know), and never a
/// secret or a hash.
#[derive(Debug, Serialize)]
pub(crate) struct OwnerKeyView<'a> {
    id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    status: &'static str,
    roles: &'a BTreeSet<String>,
    methods: &'a BTreeSet<String>,
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
            status: record.state(now).as_str(),
            roles: &record.roles,
            methods: &record.permissions.default_methods,
            created_at: rfc3339(record.created_at),
            expires_at: record.expires_at.map(rfc3339),
            last_used_at: record.last_used_at.map(rfc3339),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let zero = owner_key_request(br#"{"name": "ci", "expires_in": "0s"}"#).unwrap_err();
        assert_eq!(zero[0].pointer, "/expires_in");
    }
}
