//! The `routing_agreement` fuzz target's cases: templates, routes and a request, all
//! drawn from the input's bytes.

use super::*;

// ---- fuzz cases -------------------------------------------------------------------------

/// What the layer does with undocumented routes in a case (the caller maps it to
/// `keygate::Undocumented`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The default: 404 or 405.
    Refuse,
    /// The root requirement.
    RootRequirement,
    /// Through without credentials.
    Allow,
}

/// Where the layer sits in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `Router::layer`.
    Inside,
    /// `AuthLayer::around` the router.
    Around,
}

/// A routing case decoded from fuzz input: templates with a requirement each, how the
/// app routes them, and one request.
#[derive(Debug, Clone)]
pub struct RoutingCase {
    /// Operation `i` requires the query key `o<i>`, the root the key `r`.
    pub spec: &'static Spec,
    /// How the reference app routes the templates.
    pub shape: RouteShape,
    /// Where the layer sits.
    pub placement: Placement,
    /// What the layer does with undocumented routes.
    pub policy: Policy,
    /// The request's method.
    pub method: &'static str,
    /// The request path, as sent.
    pub path: String,
}

/// Bytes of a template line, after its method byte, map onto these (kept when they are
/// one of them): literals `a`, `b`, `.`, `:`, separators, and parameters `{x}`.
const TEMPLATE_ALPHABET: &[u8] = b"ab.:/{}x";
/// The same for the request line: the literals, `1`, and what `%2E` and `%3A` need.
const REQUEST_ALPHABET: &[u8] = b"ab.:/1%2E3A";
const TEMPLATE_METHODS: [&str; 4] = ["GET", "HEAD", "POST", "DELETE"];
const REQUEST_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The shapes a case can take: (catch-all, `any()`, placement, policy).
const CASE_SHAPES: [(bool, bool, Placement, Policy); 8] = [
    (false, false, Placement::Inside, Policy::Refuse),
    (false, false, Placement::Inside, Policy::Allow),
    (false, false, Placement::Inside, Policy::RootRequirement),
    (false, false, Placement::Around, Policy::Refuse),
    (true, false, Placement::Inside, Policy::Allow),
    (false, true, Placement::Inside, Policy::Allow),
    (true, false, Placement::Inside, Policy::Refuse),
    (false, true, Placement::Inside, Policy::RootRequirement),
];

fn pick<T: Copy>(byte: u8, named: &[(u8, T)], all: &[T]) -> T {
    named
        .iter()
        .find(|(name, _)| *name == byte)
        .map_or(all[usize::from(byte) % all.len()], |(_, value)| *value)
}

fn mapped(bytes: &[u8], alphabet: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if alphabet.contains(&b) {
                b as char
            } else {
                alphabet[usize::from(b) % alphabet.len()] as char
            }
        })
        .collect()
}

impl RoutingCase {
    /// Decodes a case. The input is lines: the first two bytes of the first line pick the
    /// shape (`0`–`7`, see `CASE_SHAPES`) and the base path (`0`: none, `1`: `/a`); each
    /// middle line is a template (its first byte the method, `G`, `H`, `P`, `D`, the rest
    /// the path after `/`); the last line is the request the same way (`G`, `H`, `P`,
    /// `U` PUT, `A` PATCH, `D`, `O`). `None` when fewer than two templates are usable or
    /// the request is not a URI path. `accept` is the generator's check on a template.
    pub fn from_bytes(data: &[u8], accept: impl Fn(&str) -> bool) -> Option<RoutingCase> {
        let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        let (options, rest) = lines.split_first()?;
        let (request, templates) = rest.split_last()?;
        let shape_byte = options.first().copied().unwrap_or(b'0');
        let (catch_all, any_method, placement, policy) =
            CASE_SHAPES[usize::from(shape_byte) % CASE_SHAPES.len()];
        let base = if options.get(1).copied().unwrap_or(b'0') % 2 == 1 {
            "/a"
        } else {
            ""
        };
        let template_methods = [
            (b'G', "GET"),
            (b'H', "HEAD"),
            (b'P', "POST"),
            (b'D', "DELETE"),
        ];
        let mut operations: Vec<(&'static str, String)> = Vec::new();
        for line in templates.iter().take(6) {
            let Some((&method, path)) = line.split_first() else {
                continue;
            };
            let method = pick(method, &template_methods, &TEMPLATE_METHODS);
            let path = format!("/{}", mapped(path, TEMPLATE_ALPHABET));
            let Some(template) = Template::parse(&path) else {
                continue;
            };
            // With one parameter name, one shape is one template: a document's path keys
            // are distinct (shared routes are tested on the corpus quirks).
            let shape = template.shape();
            let same = operations.iter().any(|(m, p)| {
                *m == method && Template::parse(p).is_some_and(|t| t.shape() == shape)
            });
            if template.segments.len() > 4 || same || !accept(&path) {
                continue;
            }
            operations.push((method, path));
        }
        if operations.len() < 2 {
            return None;
        }
        let request_methods = [
            (b'G', "GET"),
            (b'H', "HEAD"),
            (b'P', "POST"),
            (b'U', "PUT"),
            (b'A', "PATCH"),
            (b'D', "DELETE"),
            (b'O', "OPTIONS"),
        ];
        let (&method, path) = request.split_first()?;
        let method = pick(method, &request_methods, &REQUEST_METHODS);
        let path = format!("/{}", mapped(&path[..path.len().min(40)], REQUEST_ALPHABET));
        http::uri::PathAndQuery::try_from(path.as_str()).ok()?;
        Some(RoutingCase {
            spec: case_spec(base, &operations),
            shape: RouteShape {
                prefix: base.to_owned(),
                any_method,
                catch_all,
            },
            placement,
            policy,
            method,
            path,
        })
    }

    /// The verifier: `k<i>` for `o<i>`, `kr` for `r`.
    pub fn verifier(&self) -> StaticKeys {
        let operations = self.spec.operations.len();
        CASE_SCHEMES[..operations]
            .iter()
            .enumerate()
            .fold(StaticKeys::new().key("r", "kr"), |keys, (index, scheme)| {
                keys.key(scheme.name, &format!("k{index}"))
            })
    }

    /// The request target carrying the key of operation `index` (`None`: the root's).
    pub fn target_with_key(&self, operation: Option<usize>) -> String {
        match operation {
            Some(index) => format!("{}?o{index}=k{index}", self.path),
            None => format!("{}?r=kr", self.path),
        }
    }
}

impl Template {
    /// Parameters erased: templates that only rename parameters share a shape.
    fn shape(&self) -> String {
        let mut shape = String::new();
        for segment in &self.segments {
            shape.push('/');
            match segment {
                Segment::Literal(text) => shape.push_str(text),
                Segment::Whole => shape.push_str("{}"),
                Segment::Around(pieces) => {
                    for piece in pieces {
                        match piece {
                            Piece::Text(text) => shape.push_str(text),
                            Piece::Param => shape.push_str("{}"),
                        }
                    }
                }
            }
        }
        shape
    }
}

static CASE_SCHEMES: [Scheme; 7] = [
    query_scheme("o0"),
    query_scheme("o1"),
    query_scheme("o2"),
    query_scheme("o3"),
    query_scheme("o4"),
    query_scheme("o5"),
    query_scheme("r"),
];

const fn query_scheme(name: &'static str) -> Scheme {
    Scheme {
        name,
        kind: SchemeKind::ApiKey {
            location: Location::Query,
            name,
        },
    }
}

static CASE_USES: [[SchemeUse; 1]; 7] = crate::each_scheme_alone();

static CASE_ALTERNATIVES: [[Alternative; 1]; 7] = [
    [Alternative {
        schemes: &CASE_USES[0],
    }],
    [Alternative {
        schemes: &CASE_USES[1],
    }],
    [Alternative {
        schemes: &CASE_USES[2],
    }],
    [Alternative {
        schemes: &CASE_USES[3],
    }],
    [Alternative {
        schemes: &CASE_USES[4],
    }],
    [Alternative {
        schemes: &CASE_USES[5],
    }],
    [Alternative {
        schemes: &CASE_USES[6],
    }],
];

/// The spec of a case, leaked once per distinct case: a fuzzer meets the same case many
/// times, and a leak per run would grow without bound.
fn case_spec(base: &'static str, operations: &[(&'static str, String)]) -> &'static Spec {
    static CASES: OnceLock<Mutex<HashMap<String, &'static Spec>>> = OnceLock::new();
    let key = format!("{base} {operations:?}");
    let cases = CASES.get_or_init(Mutex::default);
    let mut cases = match cases.lock() {
        Ok(cases) => cases,
        Err(poisoned) => poisoned.into_inner(),
    };
    cases.entry(key).or_insert_with(|| {
        let operations = operations
            .iter()
            .enumerate()
            .map(|(index, (method, path))| Operation {
                method,
                path: leak_str(path),
                operation_id: None,
                requirement: Requirement {
                    alternatives: &CASE_ALTERNATIVES[index],
                },
            })
            .collect();
        Box::leak(Box::new(Spec {
            title: "routing case",
            base_path: base,
            schemes: &CASE_SCHEMES,
            root: Requirement {
                alternatives: &CASE_ALTERNATIVES[6],
            },
            operations: leak_slice(operations),
        }))
    })
}
