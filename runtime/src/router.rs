//! Finding the documented operation for a method and path (docs/semantics.md §2).
//!
//! `matchit` (axum's own matcher) does the structural match on a key where every
//! non-literal segment is a whole-segment parameter, so the guard and an app that
//! routes the document's templates agree on every path, empty segments included.
//! Templates that share a key (`/pulls/{n}`, `/pulls/{n}.diff`) are then told apart on
//! the percent-decoded segments, most literal text first.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::spec::Operation;
use crate::template::{PathTemplate, Segment};

#[derive(Debug, Clone)]
struct PathEntry {
    /// Segments with text around parameters, by position; matchit's match settles the
    /// others.
    patterned: Vec<(usize, Segment)>,
    /// Literal bytes of the template: more is more specific.
    literal_len: usize,
    /// (method, operation index) pairs for this exact template. A method may appear more
    /// than once: operations told apart only after `#` share the route.
    methods: Vec<(&'static str, usize)>,
}

impl PathEntry {
    fn operations<'a>(&'a self, method: &'a str) -> impl Iterator<Item = usize> + 'a {
        (self.methods.iter())
            .filter(move |(m, _)| *m == method)
            .map(|(_, index)| *index)
    }

    /// Whether each patterned segment matches its decoded request segment.
    fn matches(&self, segments: &[Cow<'_, str>]) -> bool {
        self.patterned
            .iter()
            .all(|(at, segment)| segments.get(*at).is_some_and(|text| segment.matches(text)))
    }
}

/// What the document says about a method and a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// One operation.
    Found(usize),
    /// Matching cannot tell these apart (equally literal templates): the request must
    /// meet the requirement of each.
    Tied(Vec<usize>),
    /// The path is documented, the method is not: every operation on the path.
    OtherMethods(Vec<usize>),
    /// Not a documented path.
    NotFound,
}

impl Lookup {
    /// The operations found, in the order they apply (the first is reported).
    pub(crate) fn found(&self) -> &[usize] {
        match self {
            Lookup::Found(index) => std::slice::from_ref(index),
            Lookup::Tied(indices) => indices,
            Lookup::OtherMethods(_) | Lookup::NotFound => &[],
        }
    }

    /// Two lookups of one request (two views of its path, or its path and its route)
    /// as one: every operation either found applies.
    pub(crate) fn and(self, other: Lookup) -> Lookup {
        fn union(mut all: Vec<usize>, more: &[usize]) -> Vec<usize> {
            for index in more {
                if !all.contains(index) {
                    all.push(*index);
                }
            }
            all
        }
        match (self, other) {
            (Lookup::NotFound, other) | (other, Lookup::NotFound) => other,
            (Lookup::OtherMethods(a), Lookup::OtherMethods(b)) => {
                Lookup::OtherMethods(union(a, &b))
            }
            (found, Lookup::OtherMethods(_)) | (Lookup::OtherMethods(_), found) => found,
            (a, b) => match union(a.found().to_vec(), b.found()).as_slice() {
                [one] => Lookup::Found(*one),
                all => Lookup::Tied(all.to_vec()),
            },
        }
    }
}

/// The routing table of one spec.
#[derive(Debug, Clone)]
pub(crate) struct OperationRouter {
    matcher: matchit::Router<usize>,
    buckets: Vec<Vec<PathEntry>>,
    /// Each bucket by the shape of its key (`/pets/{}`), to find the templates an
    /// app's route (axum's `MatchedPath`) serves.
    by_shape: HashMap<String, usize>,
    /// The same shapes by bucket.
    shapes: Vec<String>,
}

impl OperationRouter {
    /// Builds the table. Errors name the template; the generator rejects the same
    /// templates, so an error here means tables were written by hand.
    pub(crate) fn new(operations: &[Operation]) -> Result<OperationRouter, String> {
        let mut keys: Vec<String> = Vec::new();
        let mut buckets: Vec<Vec<(PathTemplate, PathEntry)>> = Vec::new();
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
            match bucket.iter_mut().find(|(t, _)| *t == template) {
                Some((_, entry)) => entry.methods.push((operation.method, index)),
                None => bucket.push((
                    template.clone(),
                    PathEntry {
                        patterned: template
                            .segments
                            .iter()
                            .enumerate()
                            .filter(|(_, s)| !s.is_literal() && !s.is_whole_param())
                            .map(|(at, s)| (at, s.clone()))
                            .collect(),
                        literal_len: template.literal_len(),
                        methods: vec![(operation.method, index)],
                    },
                )),
            }
        }
        let mut matcher = matchit::Router::new();
        for (index, key) in keys.iter().enumerate() {
            matcher
                .insert(key.as_str(), index)
                .map_err(|e| format!("path `{key}` cannot be routed: {e}"))?;
        }
        let shapes: Vec<String> = keys.iter().map(|key| route_shape(key)).collect();
        let by_shape = shapes
            .iter()
            .enumerate()
            .map(|(index, shape)| (shape.clone(), index))
            .collect();
        let buckets = buckets
            .into_iter()
            .map(|bucket| {
                let mut entries: Vec<PathEntry> =
                    bucket.into_iter().map(|(_, entry)| entry).collect();
                entries.sort_by_key(|entry| std::cmp::Reverse(entry.literal_len));
                entries
            })
            .collect();
        Ok(OperationRouter {
            matcher,
            buckets,
            by_shape,
            shapes,
        })
    }

    /// The operation for a method and a path (base path already removed), and with
    /// `route`, the route axum matched (`/pets/{id}`, cut like `path`), the operations
    /// that route's handler serves as well. `HEAD` without its own operation uses
    /// `GET`'s.
    pub(crate) fn find(&self, method: &str, path: &str, route: Option<&str>) -> Lookup {
        let bucket = self.matcher.at(path).ok().map(|matched| *matched.value);
        let by_path = match bucket {
            Some(bucket) => self.find_in(bucket, method, path, false),
            None => Lookup::NotFound,
        };
        let Some(route) = route else {
            return by_path;
        };
        // The path's own bucket has the route's shape, and one of its templates
        // matched: the route serves what the path names.
        if by_path != Lookup::NotFound
            && bucket.is_some_and(|bucket| same_shape(route, &self.shapes[bucket]))
        {
            return by_path;
        }
        match self.by_shape.get(&route_shape(route)) {
            // The handler runs even when none of the route's templates matches the path.
            Some(&served) => by_path.and(self.find_in(served, method, path, true)),
            None => by_path,
        }
    }

    /// The operation of one bucket for a method and a path that matched its key. With
    /// `served`, a path that none of the bucket's templates matches still gets them all:
    /// the app's route for the bucket runs its handler anyway.
    fn find_in(&self, bucket: usize, method: &str, path: &str, served: bool) -> Lookup {
        let bucket = &self.buckets[bucket];
        let decoded: Vec<Cow<'_, str>> = if bucket.iter().any(|e| !e.patterned.is_empty()) {
            path.split('/').skip(1).map(decode).collect()
        } else {
            Vec::new()
        };
        let any_matches = bucket.iter().any(|entry| entry.matches(&decoded));
        let candidates = || {
            bucket
                .iter()
                .filter(|entry| (served && !any_matches) || entry.matches(&decoded))
        };
        let methods: &[&str] = match method {
            "HEAD" => &["HEAD", "GET"],
            _ => std::slice::from_ref(&method),
        };
        for &wanted in methods {
            // Most literal first (the bucket's order); equally literal ones tie, and so
            // do all of them when the path matches none, and operations on one route.
            let mut having = candidates().flat_map(|e| e.operations(wanted).map(move |i| (i, e)));
            if let Some((best, entry)) = having.next() {
                let tied: Vec<usize> = having
                    .take_while(|(_, e)| !any_matches || e.literal_len == entry.literal_len)
                    .map(|(index, _)| index)
                    .collect();
                if tied.is_empty() {
                    return Lookup::Found(best);
                }
                return Lookup::Tied(std::iter::once(best).chain(tied).collect());
            }
        }
        let on_path: Vec<usize> = candidates()
            .flat_map(|entry| entry.methods.iter().map(|(_, index)| *index))
            .collect();
        if on_path.is_empty() {
            Lookup::NotFound
        } else {
            Lookup::OtherMethods(on_path)
        }
    }
}

/// A route template with every parameter segment written `{}` and a catch-all `{*}`,
/// so a matchit key and an app's route compare by shape. `{{` starts a literal brace.
fn route_shape(route: &str) -> String {
    let segments: Vec<&[u8]> = segments(route).map(segment_shape).collect();
    String::from_utf8_lossy(&segments.join(&b'/')).into_owned()
}

fn segment_shape(segment: &[u8]) -> &[u8] {
    if segment.starts_with(b"{*") {
        b"{*}"
    } else if segment.starts_with(b"{") && !segment.starts_with(b"{{") {
        b"{}"
    } else {
        segment
    }
}

/// Whether `route` has `shape` ([`route_shape`]), without building its shape.
fn same_shape(route: &str, shape: &str) -> bool {
    let mut shape = segments(shape);
    segments(route).all(|segment| shape.next() == Some(segment_shape(segment)))
        && shape.next().is_none()
}

/// The `/`-separated segments of a route, as bytes: a byte loop, where a `str` split
/// searches (this runs on every request inside the router).
fn segments(route: &str) -> impl Iterator<Item = &[u8]> {
    route.as_bytes().split(|&byte| byte == b'/')
}

/// A request path segment with its percent escapes decoded; bytes that are not UTF-8
/// become U+FFFD, which no template literal holds.
fn decode(segment: &str) -> Cow<'_, str> {
    // Most segments have no escape: a byte search, not a decode.
    if !segment.contains('%') {
        return Cow::Borrowed(segment);
    }
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(segment).collect();
    Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
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
            op("GET", "/users/{id}/secrets"),
        ];
        let router = OperationRouter::new(&ops).unwrap();
        let found = |method, path| router.find(method, path, None);
        use Lookup::*;
        assert_eq!(found("GET", "/pets"), Found(0));
        assert_eq!(found("GET", "/pets/7"), Found(1));
        assert_eq!(found("GET", "/pets/mine"), Found(2));
        assert_eq!(found("GET", "/pulls/3"), Found(3));
        assert_eq!(found("GET", "/pulls/3.diff"), Found(4));
        assert_eq!(found("GET", "/pulls/3%2Ediff"), Found(4), "decoded");
        assert_eq!(found("GET", "/pulls/3%2ediff"), Found(4), "decoded");
        assert_eq!(found("GET", "/pulls/.diff"), Found(4), "empty parameter");
        assert_eq!(found("GET", "/pulls/%2Ediff"), Found(4));
        assert_eq!(found("DELETE", "/documents/x"), Found(5));
        assert_eq!(found("GET", "/documents/x"), Found(6));
        assert_eq!(found("HEAD", "/pets"), Found(0));
        assert_eq!(found("HEAD", "/head"), Found(7));
        assert_eq!(found("GET", "/v2/ops:cancel"), Found(9));
        assert_eq!(found("GET", "/v2/ops%3Acancel"), Found(9));
        assert_eq!(found("GET", "/v2/:cancel"), Found(9));
        assert_eq!(found("GET", "/v2/%3Acancel"), Found(9));
        assert_eq!(found("GET", "/v2/ops"), NotFound);
        assert_eq!(found("POST", "/pets"), OtherMethods(vec![0]));
        assert_eq!(found("POST", "/pulls/1.diff"), OtherMethods(vec![4, 3]));
        // As axum's router: a parameter matches an empty segment in the middle of a
        // path, not at its end.
        assert_eq!(found("GET", "/a//b"), Found(10));
        assert_eq!(found("GET", "/users//secrets"), Found(11));
        assert_eq!(found("GET", "/pets/"), NotFound);
        assert_eq!(found("GET", "/pets//"), NotFound);
        assert_eq!(found("DELETE", "/documents/"), NotFound);
        assert_eq!(found("GET", "/pulls/"), NotFound);
        assert_eq!(found("GET", "/a/1/2/b"), NotFound);
        assert_eq!(found("GET", "/nope"), NotFound);
        assert_eq!(found("GET", "//pets"), NotFound);
    }

    #[test]
    fn equally_literal_templates_tie() {
        let ops = [op("GET", "/f/{a}.json"), op("GET", "/f/data.{b}")];
        let router = OperationRouter::new(&ops).unwrap();
        assert_eq!(router.find("GET", "/f/x.json", None), Lookup::Found(0));
        assert_eq!(router.find("GET", "/f/data.xml", None), Lookup::Found(1));
        // `.json` (5 bytes) against `data.` (5 bytes): both match, neither wins.
        assert_eq!(
            router.find("GET", "/f/data.json", None),
            Lookup::Tied(vec![0, 1])
        );
    }

    /// Operations on one method and route (told apart after `#`, or by parameter names
    /// only) tie: no request can say which it is.
    #[test]
    fn operations_sharing_a_route_tie() {
        let ops = [
            op("POST", "/#X-Amz-Target=Service.Get"),
            op("POST", "/#X-Amz-Target=Service.Put"),
            op("GET", "/{Bucket}/{Key}"),
            op("GET", "/{Bucket}/{Key}#uploadId"),
            op("PATCH", "/v1/{name}"),
            op("PATCH", "/v1/{resourceName}"),
            op("GET", "/v1/{name}"),
        ];
        let router = OperationRouter::new(&ops).unwrap();
        let found = |method, path| router.find(method, path, None);
        assert_eq!(found("POST", "/"), Lookup::Tied(vec![0, 1]));
        assert_eq!(found("GET", "/b/k"), Lookup::Tied(vec![2, 3]));
        assert_eq!(found("HEAD", "/b/k"), Lookup::Tied(vec![2, 3]));
        assert_eq!(found("PATCH", "/v1/x"), Lookup::Tied(vec![4, 5]));
        assert_eq!(found("GET", "/v1/x"), Lookup::Found(6));
        assert_eq!(found("GET", "/"), Lookup::OtherMethods(vec![0, 1]));
        let routed = router.find("PATCH", "/v1/x", Some("/v1/{id}"));
        assert_eq!(routed, Lookup::Tied(vec![4, 5]));
    }

    #[test]
    fn lookups_of_one_request_add_up() {
        use Lookup::*;
        assert_eq!(Found(1).and(Found(1)), Found(1));
        assert_eq!(Found(1).and(Found(2)), Tied(vec![1, 2]));
        assert_eq!(Tied(vec![1, 2]).and(Found(2)), Tied(vec![1, 2]));
        assert_eq!(NotFound.and(OtherMethods(vec![3])), OtherMethods(vec![3]));
        assert_eq!(OtherMethods(vec![3]).and(Found(1)), Found(1));
        assert_eq!(
            OtherMethods(vec![3]).and(OtherMethods(vec![3, 4])),
            OtherMethods(vec![3, 4])
        );
    }

    /// The route axum matched names the templates its handler serves: by shape,
    /// parameter names aside; when the path matches none of them, each applies.
    #[test]
    fn routes_serve_the_templates_of_their_shape() {
        let ops = [
            op("GET", "/pets/mine"),
            op("GET", "/pets/{id}"),
            op("GET", "/pulls/{n}.diff"),
            op("GET", "/pulls/{n}.patch"),
        ];
        let router = OperationRouter::new(&ops).unwrap();
        let routed = |path, route| router.find("GET", path, Some(route));
        assert_eq!(routed("/pets/mine", "/pets/mine"), Lookup::Found(0));
        assert_eq!(
            routed("/pets/mine", "/pets/{pet_id}"),
            Lookup::Tied(vec![0, 1])
        );
        assert_eq!(routed("/pets/7", "/pets/{pet_id}"), Lookup::Found(1));
        assert_eq!(routed("/pulls/1.diff", "/pulls/{n}"), Lookup::Found(2));
        assert_eq!(routed("/pulls/1", "/pulls/{n}"), Lookup::Tied(vec![3, 2]));
        assert_eq!(routed("/pets/7", "/animals/{id}"), Lookup::Found(1));
        assert!(same_shape("/a/{x}/{{b}}", "/a/{}/{{b}}"));
        assert!(!same_shape("/a/{x}", "/a/{}/b"));
        assert!(!same_shape("/a/{*rest}", "/a/{}"));
    }
}
