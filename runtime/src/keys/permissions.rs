//! What a key may call: [`Permissions`], its presets, and how operations are named.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The methods that [`Permissions::read_only`] allows.
pub const SAFE_METHODS: [&str; 3] = ["GET", "HEAD", "OPTIONS"];

/// In a method set, stands for every method.
pub const ANY_METHOD: &str = "*";

/// Whether `set` holds `method` (in any case) or `*`.
fn method_allowed(set: &BTreeSet<String>, method: &str) -> bool {
    set.contains(ANY_METHOD) || set.iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// Which preset a permission set matches, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Safe methods only, no overrides.
    ReadOnly,
    /// Every method, no overrides.
    Full,
    /// Anything else.
    Custom,
}

/// What a key may call: a default set of HTTP methods, and per-operation overrides that
/// replace the default for one operation, named by its [`operation_key`]: the
/// `operationId`, or `METHOD /path` for an operation without one. Methods are upper
/// case; `*` is any.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Permissions {
    /// Methods allowed on operations without an override.
    pub default_methods: BTreeSet<String>,
    /// Operation key ([`operation_key`]) → the methods allowed on it, replacing the
    /// default.
    pub per_operation: BTreeMap<String, BTreeSet<String>>,
}

/// The name per-operation permissions give an operation: its `operationId`, or, when it
/// has none, `METHOD /path`: the method in upper case, one space, and the path template
/// as documented, without the base path (`GET /spotsets/{id}`), as the generated
/// `Spec` table holds it.
pub fn operation_key<'a>(method: &str, path: &str, operation_id: Option<&'a str>) -> Cow<'a, str> {
    match operation_id {
        Some(id) => Cow::Borrowed(id),
        None => {
            let mut key = String::with_capacity(method.len() + 1 + path.len());
            key.push_str(method);
            key.make_ascii_uppercase();
            key.push(' ');
            key.push_str(path);
            Cow::Owned(key)
        }
    }
}

pub(crate) fn method_set<I, M>(methods: I) -> BTreeSet<String>
where
    I: IntoIterator<Item = M>,
    M: AsRef<str>,
{
    methods
        .into_iter()
        .map(|m| m.as_ref().to_ascii_uppercase())
        .collect()
}

impl Permissions {
    /// GET, HEAD and OPTIONS everywhere.
    pub fn read_only() -> Permissions {
        Permissions::custom(SAFE_METHODS)
    }

    /// Every method everywhere.
    pub fn full() -> Permissions {
        Permissions::custom([ANY_METHOD])
    }

    /// These methods everywhere (add overrides with [`Permissions::with_operation`]).
    pub fn custom<I, M>(methods: I) -> Permissions
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        Permissions {
            default_methods: method_set(methods),
            per_operation: BTreeMap::new(),
        }
    }

    /// Allows exactly these methods on one operation, replacing the default there. An
    /// empty set denies the operation. `operation` is its [`operation_key`]: the
    /// `operationId`, or `METHOD /path` for an operation without one.
    pub fn with_operation<I, M>(mut self, operation: &str, methods: I) -> Permissions
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        self.per_operation
            .insert(operation.to_owned(), method_set(methods));
        self
    }

    /// Whether `method` may be used on the operation at `path` (its documented template,
    /// or the request's path on an undocumented route) with this `operationId`: the
    /// operation's entry in `per_operation` under its [`operation_key`] if there is one,
    /// else the default methods.
    pub fn allows(&self, method: &str, path: &str, operation_id: Option<&str>) -> bool {
        let set = self
            .entry_for(method, path, operation_id)
            .unwrap_or(&self.default_methods);
        method_allowed(set, method)
    }

    /// The per-operation entry that applies, if any. The `METHOD /path` key is built only
    /// when there are entries to look it up in.
    fn entry_for(
        &self,
        method: &str,
        path: &str,
        operation_id: Option<&str>,
    ) -> Option<&BTreeSet<String>> {
        if self.per_operation.is_empty() {
            return None;
        }
        let key = operation_key(method, path, operation_id);
        self.per_operation.get(key.as_ref())
    }

    /// Which preset this matches.
    pub fn preset(&self) -> Preset {
        if !self.per_operation.is_empty() {
            Preset::Custom
        } else if *self == Permissions::read_only() {
            Preset::ReadOnly
        } else if *self == Permissions::full() {
            Preset::Full
        } else {
            Preset::Custom
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_without_an_id_is_looked_up_by_method_and_path() {
        let p = Permissions::read_only()
            .with_operation("DELETE /spotsets/{id}", ["DELETE"])
            .with_operation("GET /spots", [] as [&str; 0]);
        assert!(p.allows("DELETE", "/spotsets/{id}", None));
        assert!(!p.allows("DELETE", "/spotsets/{other}", None));
        assert!(p.allows("GET", "/spotsets/{id}", None));
        // An operation with an id goes by its id, whatever its method and path.
        assert!(p.allows("GET", "/spots", Some("listSpots")));
        assert!(!p.allows("GET", "/spots", None));
        assert_eq!(operation_key("get", "/a/{b}", None), "GET /a/{b}");
        assert_eq!(operation_key("GET", "/a", Some("listA")), "listA");
    }
}
