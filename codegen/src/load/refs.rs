//! `$ref` following: references are JSON pointers into the one document (`#/...`).
//! External references, loops, chains past [`MAX_REF_HOPS`] and references to a node
//! that holds them are errors at the `$ref`.

use yaml_serde::Value;

use super::tree::{as_map, as_str, key_text, kind, untag};
use crate::error::{elide, pointer_token, Error};

/// Longest `$ref` chain followed before giving up (also stops cycles the trail misses).
const MAX_REF_HOPS: usize = 32;

/// The references of one parsed document, named `source` in messages.
#[derive(Clone, Copy)]
pub(super) struct Refs<'a> {
    source: &'a str,
    root: &'a Value,
}

impl<'a> Refs<'a> {
    pub(super) fn new(source: &'a str, root: &'a Value) -> Refs<'a> {
        Refs { source, root }
    }

    fn error(&self, pointer: impl Into<String>, message: impl Into<String>) -> Error {
        Error::at(self.source, pointer, message)
    }

    /// Follows `$ref` chains from `node` (found at `pointer`) to a node without one.
    /// Returns the node and its own pointer.
    pub(super) fn follow(
        &self,
        node: &'a Value,
        pointer: String,
    ) -> Result<(&'a Value, String), Error> {
        let mut node = node;
        let mut pointer = pointer;
        let mut trail: Vec<String> = Vec::new();
        while let Some(reference) = ref_of(node) {
            self.enter(&mut trail, &pointer)?;
            (node, pointer) = self.resolve(reference, &pointer)?;
        }
        Ok((node, pointer))
    }

    /// Adds `at`, a node holding a `$ref` about to be followed, to `trail`, the nodes
    /// the chain went through; refuses a chain that comes back to a node it passed or
    /// runs too long.
    pub(super) fn enter(&self, trail: &mut Vec<String>, at: &str) -> Result<(), Error> {
        let refused = trail.iter().any(|seen| seen == at) || trail.len() >= MAX_REF_HOPS;
        trail.push(at.to_owned());
        if refused {
            return Err(self.chain_error(trail));
        }
        Ok(())
    }

    /// A `$ref` chain that comes back to a node it passed, or runs too long; `trail`
    /// holds the pointers it went through, the first being where it started.
    fn chain_error(&self, trail: &[String]) -> Error {
        let first = trail.first().map(String::as_str).unwrap_or_default();
        let last = trail.last().map(String::as_str).unwrap_or_default();
        let problem = if trail.iter().filter(|seen| seen.as_str() == last).count() > 1 {
            "loops".to_owned()
        } else {
            format!("runs past {MAX_REF_HOPS} hops")
        };
        self.error(
            format!("{first}/$ref"),
            format!(
                "`$ref` chain {problem}: {}",
                trail
                    .iter()
                    .map(|at| elide(at))
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ),
        )
    }

    /// Resolves one `$ref` value found in the map at `owner`: the node it points at, and
    /// that node's pointer.
    pub(super) fn resolve(
        &self,
        reference: &Value,
        owner: &str,
    ) -> Result<(&'a Value, String), Error> {
        let at = format!("{owner}/$ref");
        let Some(reference) = as_str(reference) else {
            return Err(self.error(
                at,
                format!("`$ref` must be a string, found a {}", kind(reference)),
            ));
        };
        let shown = elide(reference);
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(self.error(
                at,
                format!(
                    "`$ref` `{shown}` points outside this document; external references \
                     are not supported (bundle the document into one file first)"
                ),
            ));
        };
        let tokens = fragment_tokens(fragment).ok_or_else(|| {
            self.error(
                &at,
                format!(
                    "`$ref` `{shown}` is not a JSON pointer; only `#/...` references \
                     into this document are supported"
                ),
            )
        })?;
        let target = lookup(self.root, &tokens).ok_or_else(|| {
            self.error(
                &at,
                format!("`$ref` `{shown}` points at nothing in this document"),
            )
        })?;
        let pointer: String = tokens
            .iter()
            .map(|token| format!("/{}", pointer_token(token)))
            .collect();
        // A reference to a node that holds it would contain itself.
        if owner.starts_with(&format!("{pointer}/")) {
            let shown_at = if pointer.is_empty() { "/" } else { &pointer };
            return Err(self.error(
                at,
                format!(
                    "`$ref` `{shown}` points at {shown_at}, which contains this `$ref`, so the \
                     reference loops"
                ),
            ));
        }
        Ok((target, pointer))
    }
}

/// The value of `$ref` when `node` is a map holding one.
fn ref_of(node: &Value) -> Option<&Value> {
    as_map(node).and_then(|map| map.get("$ref"))
}

/// Splits a URI fragment holding a JSON pointer (`/components/x~1y`) into unescaped
/// tokens (RFC 6901 §6: percent-decode, then `~1` -> `/`, `~0` -> `~`). `None` when the
/// fragment is not a pointer.
fn fragment_tokens(fragment: &str) -> Option<Vec<String>> {
    let decoded = percent_decode(fragment)?;
    if decoded.is_empty() {
        return Some(Vec::new());
    }
    let rest = decoded.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|token| token.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Percent-decodes; a `%` not followed by two hex digits stays as written. `None` when
/// the bytes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// Walks unescaped pointer tokens from `root`.
fn lookup<'v>(root: &'v Value, tokens: &[String]) -> Option<&'v Value> {
    let mut node = root;
    for token in tokens {
        node = match untag(node) {
            Value::Mapping(map) => map.get(token.as_str()).or_else(|| {
                // Keys YAML read as numbers or booleans (`200:`) still match their text.
                map.iter()
                    .find(|(key, _)| key_text(key).as_deref() == Some(token.as_str()))
                    .map(|(_, value)| value)
            })?,
            Value::Sequence(list) => list.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_decode_to_pointer_tokens() {
        assert_eq!(
            fragment_tokens("/a~1b/c~0d/%7E01"),
            Some(vec!["a/b".into(), "c~d".into(), "~1".into()])
        );
        assert_eq!(fragment_tokens(""), Some(vec![]));
        assert_eq!(fragment_tokens("x"), None);
        assert_eq!(percent_decode("%zz%4"), Some("%zz%4".to_owned()));
        assert_eq!(percent_decode("%+1"), Some("%+1".to_owned()));
        assert_eq!(percent_decode("%ff"), None);
    }
}
