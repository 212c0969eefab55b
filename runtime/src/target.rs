//! Which requirement a request must meet (docs/semantics.md §2): the documented operation its
//! path names, seen the ways the app may route it (with or without the base path,
//! inside a nested router, through a catch-all route), and what happens to requests
//! the document does not describe.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use axum::extract::{MatchedPath, OriginalUri};
use http::request::Parts;

use crate::refusal::{self, Rejection};
use crate::router::{Lookup, OperationRouter};
use crate::spec::{Requirement, Spec};

/// What the guard does with a request that no documented operation matches.
///
/// Under either opt-in, a request on a documented path with a method the document does
/// not describe there (an `any()` route, a method fallback) must also meet the
/// requirement of every operation on that path: keygate cannot tell which handler
/// runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Undocumented {
    /// Refuse it: 404, or 405 with `Allow` on a documented path. The default.
    #[default]
    Refuse,
    /// Apply the document's root requirement.
    RootRequirement,
    /// Let it through without credentials.
    Allow,
}

/// The requirement a decision applies, and the operation it reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applied {
    /// Index into the spec's operations; `None` for an undocumented route.
    pub(crate) operation: Option<usize>,
    pub(crate) requirement: Requirement,
}

/// Everything a request must meet.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Decided last; its grant is what the handler sees.
    pub(crate) applied: Applied,
    /// Operations whose requirements must be met as well (rare: templates matching
    /// cannot tell apart, or a method the path does not document).
    pub(crate) also: Vec<usize>,
}

/// Undocumented routes remembered for the once-per-route log; past this many, new
/// ones are not logged, so hostile paths cannot grow memory.
const LOGGED_ROUTES: usize = 256;

/// The routing half of a guard: the matcher, the base path and the policy.
#[derive(Debug)]
pub(crate) struct Routing {
    spec: &'static Spec,
    router: OperationRouter,
    base_path: String,
    /// Some template could match a path that starts with the base path as it stands,
    /// so such a path is looked up both ways.
    base_may_be_a_template: bool,
    undocumented: Undocumented,
    base_warned: AtomicBool,
    logged: Mutex<HashSet<String>>,
}

impl Clone for Routing {
    fn clone(&self) -> Routing {
        Routing {
            spec: self.spec,
            router: self.router.clone(),
            base_path: self.base_path.clone(),
            base_may_be_a_template: self.base_may_be_a_template,
            undocumented: self.undocumented,
            base_warned: AtomicBool::new(false),
            logged: Mutex::default(),
        }
    }
}

impl Routing {
    pub(crate) fn new(spec: &'static Spec) -> Result<Routing, String> {
        let mut routing = Routing {
            spec,
            router: OperationRouter::new(spec.operations)?,
            base_path: String::new(),
            base_may_be_a_template: false,
            undocumented: Undocumented::default(),
            base_warned: AtomicBool::new(false),
            logged: Mutex::default(),
        };
        routing.set_base_path(spec.base_path);
        Ok(routing)
    }

    /// `v1`, `/v1` and `/v1/` all mean `/v1`; `""` and `/` mean none.
    pub(crate) fn set_base_path(&mut self, base_path: &str) {
        let trimmed = base_path.trim_matches('/');
        self.base_path = if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        };
        let first = self.base_path.split('/').nth(1).unwrap_or("");
        self.base_may_be_a_template = !first.is_empty()
            && self.spec.operations.iter().any(|op| {
                let segment = op.path.split('/').nth(1).unwrap_or("");
                segment == first || segment.contains('{')
            });
    }

    pub(crate) fn base_path(&self) -> &str {
        &self.base_path
    }

    pub(crate) fn set_undocumented(&mut self, undocumented: Undocumented) {
        self.undocumented = undocumented;
    }

    pub(crate) fn undocumented(&self) -> Undocumented {
        self.undocumented
    }

    /// The operation a method and a full request path name, as the layer finds it
    /// around the router (no nesting, no matched route).
    pub(crate) fn find_operation(&self, method: &str, path: &str) -> Option<usize> {
        self.lookup(method, path, path, None)
            .0
            .found()
            .first()
            .copied()
    }

    /// What a request must meet, or its refusal when it is undocumented and refused.
    pub(crate) fn target(&self, parts: &Parts) -> Result<Target, Rejection> {
        let method = parts.method.as_str();
        let local = parts.uri.path();
        let original = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(local, |uri| uri.0.path());
        let matched = parts
            .extensions
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let (mut lookup, as_is) = self.lookup(method, original, local, matched);
        // A catch-all route's handler may serve a template its whole tail matches.
        if let Some(caught) = matched.and_then(|route| caught_tail(route, original, local)) {
            let route = Some(caught.route.as_str());
            let (tail_lookup, _) = self.lookup(method, &caught.original, &caught.local, route);
            lookup = lookup.and(tail_lookup);
        }
        if as_is && !self.base_warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                base_path = %self.base_path,
                "keygate: a request without the base path `{}` matched a documented path as \
                 it stands ({method} {}); if the app serves the document's paths without it, \
                 set `.base_path(\"\")` on the layer",
                self.base_path,
                shown(original),
            );
        }
        let spec = self.spec;
        let operation = |index: usize| Applied {
            operation: Some(index),
            requirement: spec.operations[index].requirement,
        };
        let open = Applied {
            operation: None,
            requirement: match self.undocumented {
                Undocumented::Allow => Requirement::PUBLIC,
                _ => spec.root,
            },
        };
        match lookup {
            Lookup::Found(index) => Ok(Target {
                applied: operation(index),
                also: Vec::new(),
            }),
            Lookup::Tied(mut indices) => {
                let first = indices.remove(0);
                Ok(Target {
                    applied: operation(first),
                    also: indices,
                })
            }
            Lookup::OtherMethods(indices) => {
                self.log_undocumented(parts, method, original);
                if self.undocumented == Undocumented::Refuse {
                    return Err(refusal::method_not_documented(&self.allow(&indices)));
                }
                Ok(Target {
                    applied: open,
                    also: indices,
                })
            }
            Lookup::NotFound => {
                self.log_undocumented(parts, method, original);
                if self.undocumented == Undocumented::Refuse {
                    return Err(refusal::undocumented());
                }
                Ok(Target {
                    applied: open,
                    also: Vec::new(),
                })
            }
        }
    }

    /// Looks the request up as the app may route it: the full path and the path a
    /// nested router sees, each with the base path removed, and as it stands when it
    /// lacks the base path (or could be a template as it is). In each view, the route
    /// axum matched (`matched`, inside the router) names the templates its handler
    /// serves. Where the views or the route name different operations, each applies.
    /// The flag says an operation was found only as it stands.
    fn lookup(
        &self,
        method: &str,
        original: &str,
        local: &str,
        matched: Option<&str>,
    ) -> (Lookup, bool) {
        let views: &[&str] = if original == local {
            &[original]
        } else {
            &[original, local]
        };
        let find = |path: &str| {
            // The route, cut by as many segments as the view cut off the full path.
            let route = matched.and_then(|route| {
                let cut = match original.strip_suffix(path) {
                    Some(removed) => removed.matches('/').count(),
                    None => original.matches('/').count(),
                };
                after_segments(route, cut)
            });
            self.router.find(method, path, route)
        };
        let mut lookup = Lookup::NotFound;
        for &path in views {
            if let Some(stripped) = strip_base(&self.base_path, path) {
                lookup = lookup.and(find(stripped));
            }
        }
        let found_stripped = !lookup.found().is_empty();
        for &path in views {
            if self.base_may_be_a_template || strip_base(&self.base_path, path).is_none() {
                lookup = lookup.and(find(path));
            }
        }
        let only_as_is = !found_stripped && !lookup.found().is_empty();
        (lookup, only_as_is && !self.base_path.is_empty())
    }

    /// The `Allow` value for a documented path: its methods, and `HEAD` with `GET`.
    fn allow(&self, indices: &[usize]) -> String {
        let mut methods: Vec<&str> = indices
            .iter()
            .map(|&index| self.spec.operations[index].method)
            .collect();
        if methods.contains(&"GET") {
            methods.push("HEAD");
        }
        methods.sort_unstable();
        methods.dedup();
        methods.join(", ")
    }

    /// Logs an undocumented route once, at warn level.
    fn log_undocumented(&self, parts: &Parts, method: &str, path: &str) {
        let route = match parts.extensions.get::<MatchedPath>() {
            Some(matched) => format!("{method} {}", shown(matched.as_str())),
            None => format!("{method} {}", shown(path)),
        };
        let Ok(mut logged) = self.logged.lock() else {
            return;
        };
        if logged.len() >= LOGGED_ROUTES || !logged.insert(route.clone()) {
            return;
        }
        let outcome = match self.undocumented {
            Undocumented::Refuse => "refused",
            Undocumented::RootRequirement => "given the root requirement",
            Undocumented::Allow => "let through",
        };
        tracing::warn!(
            route = %route,
            "keygate: a request to a route the API document does not describe was {outcome} \
             (logged once per route)",
        );
        if logged.len() == LOGGED_ROUTES {
            tracing::warn!("keygate: further undocumented routes are not logged");
        }
    }
}

/// A request as a catch-all route saw it.
#[derive(Debug, PartialEq, Eq)]
struct Caught {
    /// The full path and the nested router's, the caught tail one segment.
    original: String,
    local: String,
    /// The route with its catch-all a plain parameter (`/files/{*path}`: `/files/{path}`).
    route: String,
}

/// The same request as a catch-all route (`/files/{*path}`) saw it: the caught tail as
/// one segment, its `/`s escaped, so a `{path}` template serving it is found, by path
/// and by the route's shape. `None` when the route has no catch-all or caught a single
/// segment.
fn caught_tail(matched: &str, original: &str, local: &str) -> Option<Caught> {
    let slash = matched.bytes().rposition(|b| b == b'/')?;
    let last = &matched[slash + 1..];
    if !(last.starts_with("{*") && last.ends_with('}')) {
        return None;
    }
    let before = matched.split('/').count().saturating_sub(2);
    // The tail starts after the segments the route matched before its catch-all.
    let start = original
        .match_indices('/')
        .nth(before)
        .map(|(at, _)| at + 1)?;
    let tail = &original[start..];
    if !tail.contains('/') || !local.ends_with(tail) {
        return None;
    }
    let escaped = tail.replace('/', "%2F");
    let collapse = |path: &str| format!("{}{escaped}", &path[..path.len() - tail.len()]);
    Some(Caught {
        original: collapse(original),
        local: collapse(local),
        route: format!("{}{{{}", &matched[..=slash], &last[2..]),
    })
}

/// `route` without its first `count` segments (`/a/b/{c}`, 1: `/b/{c}`).
fn after_segments(route: &str, count: usize) -> Option<&str> {
    if count == 0 {
        return Some(route);
    }
    let (at, _) = route.match_indices('/').nth(count)?;
    Some(&route[at..])
}

/// Removes the base path; `None` when the path does not start with it.
fn strip_base<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    if base.is_empty() {
        return Some(path);
    }
    match path.strip_prefix(base)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// A request path for a log line: at most 200 bytes.
fn shown(path: &str) -> &str {
    let mut end = path.len().min(200);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_base_paths() {
        assert_eq!(strip_base("", "/a"), Some("/a"));
        assert_eq!(strip_base("/v1", "/v1/a"), Some("/a"));
        assert_eq!(strip_base("/v1", "/v1"), Some("/"));
        assert_eq!(strip_base("/v1", "/v10/a"), None);
        assert_eq!(strip_base("/v1", "/a"), None);
    }

    #[test]
    fn catch_all_tails_become_one_segment() {
        let caught = |o: &str, l: &str, route: &str| {
            Some(Caught {
                original: o.into(),
                local: l.into(),
                route: route.into(),
            })
        };
        assert_eq!(
            caught_tail("/files/{*path}", "/files/a/b", "/files/a/b"),
            caught("/files/a%2Fb", "/files/a%2Fb", "/files/{path}")
        );
        assert_eq!(
            caught_tail("/v1/files/{*path}", "/v1/files/a/b/c", "/files/a/b/c"),
            caught(
                "/v1/files/a%2Fb%2Fc",
                "/files/a%2Fb%2Fc",
                "/v1/files/{path}"
            )
        );
        assert_eq!(
            caught_tail("/{*rest}", "/a//b", "/a//b"),
            caught("/a%2F%2Fb", "/a%2F%2Fb", "/{rest}")
        );
        assert_eq!(caught_tail("/files/{*path}", "/files/a", "/files/a"), None);
        assert_eq!(caught_tail("/files/{id}", "/files/a", "/files/a"), None);
    }
}
