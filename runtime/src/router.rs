//! Finding the documented operation for a method and path (SEMANTICS §2).
//!
//! `matchit` (axum's own matcher) does the structural match on a key where every
//! non-literal segment is a whole-segment parameter; templates that share a key
//! (`/pulls/{n}.diff`, `/pulls/{n}.patch`) are then told apart segment by segment,
//! most literal text first.

use crate::spec::Operation;
use crate::template::PathTemplate;

#[derive(Debug, Clone)]
struct PathEntry {
    template: PathTemplate,
    /// Every segment is literal or one whole parameter: the template is its own route
    /// key, so `matchit`'s match already says it matches (but for empty segments).
    structural: bool,
    /// Every segment is literal: `matchit` matched the path exactly, empty segments and all.
    literal: bool,
    /// (method, operation index) pairs for this exact template.
    methods: Vec<(&'static str, usize)>,
}

/// The routing table of one spec.
#[derive(Debug, Clone)]
pub(crate) struct OperationRouter {
    matcher: matchit::Router<usize>,
    buckets: Vec<Vec<PathEntry>>,
}

impl OperationRouter {
    /// Builds the table. Errors name the template; the generator rejects the same
    /// templates, so an error here means tables were written by hand.
    pub(crate) fn new(operations: &[Operation]) -> Result<OperationRouter, String> {
        let mut keys: Vec<String> = Vec::new();
        let mut buckets: Vec<Vec<PathEntry>> = Vec::new();
        for (index, operation) in operations.iter().enumerate() {
            let template = PathTemplate::parse(operation.path)?;
            let key = template.route_key();
            let bucket_index = match keys.iter().position(|k| *k == key) {
                Some(i) => i,
                None => {
                    keys.push(key);
                    buckets.push(Vec::new());
                    buckets.len() - 1
                }
            };
            let bucket = &mut buckets[bucket_index];
            match bucket.iter_mut().find(|e| e.template == template) {
                Some(entry) => entry.methods.push((operation.method, index)),
                None => bucket.push(PathEntry {
                    structural: template
                        .segments
                        .iter()
                        .all(|s| s.is_literal() || s.is_whole_param()),
                    literal: template.segments.iter().all(|s| s.is_literal()),
                    template,
                    methods: vec![(operation.method, index)],
                }),
            }
        }
        let mut matcher = matchit::Router::new();
        for (index, key) in keys.iter().enumerate() {
            matcher
                .insert(key.as_str(), index)
                .map_err(|e| format!("path `{key}` cannot be routed: {e}"))?;
        }
        for bucket in &mut buckets {
            bucket.sort_by_key(|entry| std::cmp::Reverse(entry.template.literal_len()));
        }
        Ok(OperationRouter { matcher, buckets })
    }

    /// The operation index for a method and a path (base path already removed).
    /// `HEAD` without its own operation uses `GET`'s.
    pub(crate) fn find(&self, method: &str, path: &str) -> Option<usize> {
        let bucket = &self.buckets[*self.matcher.at(path).ok()?.value];
        // matchit lets a parameter match an empty segment; a template never does.
        let no_empty_segment =
            || !path.ends_with('/') && !path.as_bytes().windows(2).any(|pair| pair == b"//");
        let candidates = || {
            bucket.iter().filter(move |entry| {
                entry.literal
                    || (entry.structural && no_empty_segment())
                    || entry.template.matches(path)
            })
        };
        let lookup = |wanted: &str| {
            candidates().find_map(|entry| {
                entry
                    .methods
                    .iter()
                    .find(|(m, _)| *m == wanted)
                    .map(|(_, index)| *index)
            })
        };
        lookup(method).or_else(|| {
            if method == "HEAD" {
                lookup("GET")
            } else {
                None
            }
        })
    }
}

/// Removes the base path; `None` when the path is outside it.
pub(crate) fn strip_base<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    if base.is_empty() {
        return Some(path);
    }
    match path.strip_prefix(base)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Requirement;

    fn op(method: &'static str, path: &'static str) -> Operation {
        Operation {
            method,
            path,
            operation_id: None,
            requirement: Requirement::PUBLIC,
        }
    }

    #[test]
    fn finds_operations() {
        let ops = [
            op("GET", "/pets"),
            op("GET", "/pets/{id}"),
            op("GET", "/pets/mine"),
            op("GET", "/pulls/{n}"),
            op("GET", "/pulls/{n}.diff"),
            op("DELETE", "/documents/{a}"),
            op("GET", "/documents/{b}"),
            op("HEAD", "/head"),
            op("GET", "/head"),
            op("GET", "/v2/{name}:cancel"),
            op("GET", "/a/{x}/b"),
        ];
        let router = OperationRouter::new(&ops).unwrap();
        assert_eq!(router.find("GET", "/pets"), Some(0));
        assert_eq!(router.find("GET", "/pets/7"), Some(1));
        assert_eq!(router.find("GET", "/pets/mine"), Some(2));
        assert_eq!(router.find("GET", "/pulls/3"), Some(3));
        assert_eq!(router.find("GET", "/pulls/3.diff"), Some(4));
        assert_eq!(router.find("DELETE", "/documents/x"), Some(5));
        assert_eq!(router.find("GET", "/documents/x"), Some(6));
        assert_eq!(router.find("HEAD", "/pets"), Some(0));
        assert_eq!(router.find("HEAD", "/head"), Some(7));
        assert_eq!(router.find("GET", "/v2/ops:cancel"), Some(9));
        assert_eq!(router.find("POST", "/pets"), None);
        assert_eq!(router.find("GET", "/pets/"), None);
        assert_eq!(router.find("GET", "/pets//"), None);
        assert_eq!(router.find("DELETE", "/documents/"), None);
        assert_eq!(router.find("GET", "/pulls/"), None);
        assert_eq!(router.find("GET", "/pulls/.diff"), Some(3));
        assert_eq!(router.find("GET", "/a/1/b"), Some(10));
        assert_eq!(router.find("GET", "/a//b"), None);
        assert_eq!(router.find("GET", "/a/1/2/b"), None);
        assert_eq!(router.find("GET", "/nope"), None);
    }

    #[test]
    fn strips_base_paths() {
        assert_eq!(strip_base("", "/a"), Some("/a"));
        assert_eq!(strip_base("/v1", "/v1/a"), Some("/a"));
        assert_eq!(strip_base("/v1", "/v1"), Some("/"));
        assert_eq!(strip_base("/v1", "/v10/a"), None);
        assert_eq!(strip_base("/v1", "/a"), None);
    }
}
