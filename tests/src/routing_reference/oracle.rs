//! One valid credential per scheme, what a request sent, and the oracle of whether it
//! meets a requirement (docs/semantics.md §1, §4).

use super::*;

// ---- credentials and the oracle --------------------------------------------------------

/// Where a scheme's credential travels, as the test writes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Place {
    /// A header, by its lower-case name.
    Header(String),
    Query(String),
    Cookie(String),
}

/// What the request carries, exactly as sent: one value per place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// (lower-case name, value).
    pub headers: Vec<(String, String)>,
    /// (name, value), not encoded.
    pub query: Vec<(String, String)>,
    /// (name, value).
    pub cookies: Vec<(String, String)>,
}

impl Sent {
    /// Whether nothing is carried.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.query.is_empty() && self.cookies.is_empty()
    }

    /// `?name=value&..` with every byte but letters and digits percent-encoded, or
    /// nothing.
    pub fn query_string(&self) -> String {
        let encode = |text: &str| Encoding::Upper.apply(text);
        let pairs: Vec<String> = self
            .query
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect();
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }

    /// Header lines (`name: value`), the cookies as one `cookie` line.
    pub fn header_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        if !self.cookies.is_empty() {
            let pairs: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            lines.push(format!("cookie: {}", pairs.join("; ")));
        }
        lines
    }

    fn value(&self, place: &Place) -> Option<&str> {
        let (list, name) = match place {
            Place::Header(name) => (&self.headers, name),
            Place::Query(name) => (&self.query, name),
            Place::Cookie(name) => (&self.cookies, name),
        };
        list.iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }
}

/// How a scheme reads a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Absent,
    Valid,
    /// Presented and refused.
    Invalid,
}

const BEARER_TOKEN: &str = "valid-bearer-token";
const BASIC_ID: &str = "user";
const BASIC_SECRET: &str = "valid-basic-secret";
/// base64 of `user:valid-basic-secret`.
const BASIC_VALID: &str = "dXNlcjp2YWxpZC1iYXNpYy1zZWNyZXQ=";
/// base64 of `user:wrong-secret`.
const BASIC_WRONG: &str = "dXNlcjp3cm9uZy1zZWNyZXQ=";
/// A key no scheme accepts.
const INVALID_KEY: &str = "invalid-key";

/// Headers the raw client writes itself, or that framing depends on: no scheme's key is
/// sent in them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "te",
    "upgrade",
    "keep-alive",
    "expect",
    "cookie",
];

/// One valid credential per scheme of a spec, the `StaticKeys` that accepts exactly
/// those, and the oracle.
///
/// The keys carry no roles, so an alternative that names roles never passes: the
/// oracle counts such alternatives as unmet, and the guard refuses them with 403.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceKeys {
    spec: &'static Spec,
}

impl ReferenceKeys {
    /// The keys of `spec`.
    pub fn new(spec: &'static Spec) -> ReferenceKeys {
        ReferenceKeys { spec }
    }

    /// The verifier: each apiKey scheme accepts the key of its place (schemes that read
    /// the same place share it, so one value is valid for each), bearer one token, basic
    /// one pair. Hooked schemes get no hook, so they never pass (docs/semantics.md
    /// §4.4).
    pub fn verifier(&self) -> StaticKeys {
        let mut keys = StaticKeys::new();
        for scheme in self.spec.schemes {
            keys = match scheme.kind {
                SchemeKind::ApiKey { .. } => match place(&scheme.kind) {
                    Some(place) => keys.key(scheme.name, &key_of(&place)),
                    None => keys,
                },
                SchemeKind::HttpBearer => keys.key(scheme.name, BEARER_TOKEN),
                SchemeKind::HttpBasic => keys.basic(scheme.name, BASIC_ID, BASIC_SECRET),
                SchemeKind::Hooked { .. } => keys,
            };
        }
        keys
    }

    /// Whether a test can send a credential for the scheme (a header name that is not a
    /// field name, or one the client writes itself, cannot be).
    pub fn sendable(&self, scheme: usize) -> bool {
        self.spec
            .schemes
            .get(scheme)
            .is_some_and(|s| place(&s.kind).is_some())
    }

    /// The request carrying, for each `(scheme, valid)`, that scheme's valid credential or
    /// a wrong one. Where two schemes read one place, the first listed writes it.
    pub fn send(&self, credentials: &[(usize, bool)]) -> Sent {
        let mut sent = Sent::default();
        let mut written: Vec<Place> = Vec::new();
        for &(scheme, valid) in credentials {
            let Some(definition) = self.spec.schemes.get(scheme) else {
                continue;
            };
            let Some(place) = place(&definition.kind) else {
                continue;
            };
            if written.contains(&place) {
                continue;
            }
            let value = match (definition.kind, valid) {
                (SchemeKind::ApiKey { .. }, true) => key_of(&place),
                (SchemeKind::ApiKey { .. }, false) => INVALID_KEY.to_owned(),
                (SchemeKind::HttpBearer, true) => format!("Bearer {BEARER_TOKEN}"),
                (SchemeKind::HttpBasic, true) => format!("Basic {BASIC_VALID}"),
                (SchemeKind::HttpBasic, false) => format!("Basic {BASIC_WRONG}"),
                (SchemeKind::HttpBearer | SchemeKind::Hooked { .. }, _) => {
                    format!("Bearer {INVALID_KEY}")
                }
            };
            match &place {
                Place::Header(name) => sent.headers.push((name.clone(), value)),
                Place::Query(name) => sent.query.push((name.clone(), value)),
                Place::Cookie(name) => sent.cookies.push((name.clone(), value)),
            }
            written.push(place);
        }
        sent
    }

    /// Whether what was sent meets the requirement (docs/semantics.md §4): some
    /// non-anonymous alternative whose schemes all verified, with no roles (the keys
    /// hold none); or `{}` when no scheme of the requirement was presented at all; or a
    /// public one.
    pub fn meets(&self, requirement: &Requirement, sent: &Sent) -> bool {
        if requirement.alternatives.is_empty() {
            return true;
        }
        let passes = requirement.alternatives.iter().any(|alternative| {
            !alternative.schemes.is_empty()
                && alternative.schemes.iter().all(|used| {
                    used.roles.is_empty() && self.reading(used.scheme, sent) == Reading::Valid
                })
        });
        if passes {
            return true;
        }
        let anonymous = requirement
            .alternatives
            .iter()
            .any(|a| a.schemes.is_empty());
        anonymous
            && requirement
                .alternatives
                .iter()
                .flat_map(|a| a.schemes)
                .all(|used| self.reading(used.scheme, sent) == Reading::Absent)
    }

    /// [`meets`](ReferenceKeys::meets) for the operation at `index`.
    pub fn meets_operation(&self, index: usize, sent: &Sent) -> bool {
        self.spec
            .operations
            .get(index)
            .is_some_and(|op| self.meets(&op.requirement, sent))
    }

    /// How the scheme reads what was sent. A hooked scheme other than mutualTLS takes its
    /// token from `Authorization`: sent, it is presented, and without a hook it fails.
    fn reading(&self, scheme: usize, sent: &Sent) -> Reading {
        let Some(definition) = self.spec.schemes.get(scheme) else {
            return Reading::Absent;
        };
        let Some(place) = place(&definition.kind) else {
            return Reading::Absent;
        };
        let Some(value) = sent.value(&place) else {
            return Reading::Absent;
        };
        let value = value.trim();
        let authorization = |word: &str, valid: &str| {
            let (first, rest) = value.split_once(' ').unwrap_or((value, ""));
            match (first.eq_ignore_ascii_case(word), rest.trim()) {
                (false, _) | (true, "") => Reading::Absent,
                (true, token) if token == valid => Reading::Valid,
                (true, _) => Reading::Invalid,
            }
        };
        match definition.kind {
            _ if value.is_empty() => Reading::Absent,
            SchemeKind::ApiKey { .. } if value == key_of(&place) => Reading::Valid,
            SchemeKind::ApiKey { .. } => Reading::Invalid,
            SchemeKind::HttpBearer => authorization("bearer", BEARER_TOKEN),
            SchemeKind::HttpBasic => authorization("basic", BASIC_VALID),
            SchemeKind::Hooked { .. } => Reading::Invalid,
        }
    }
}

/// Where the test sends a scheme's credential; `None` when it cannot.
fn place(kind: &SchemeKind) -> Option<Place> {
    let header = |name: &str| {
        let lower = name.to_ascii_lowercase();
        let valid = http::HeaderName::from_bytes(lower.as_bytes()).is_ok();
        (valid && !RESERVED_HEADERS.contains(&lower.as_str())).then_some(Place::Header(lower))
    };
    match *kind {
        SchemeKind::ApiKey {
            location: Location::Header,
            name,
        } => header(name),
        SchemeKind::ApiKey {
            location: Location::Query,
            name,
        } => (!name.is_empty()).then(|| Place::Query(name.to_owned())),
        SchemeKind::ApiKey {
            location: Location::Cookie,
            name,
        } => {
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&b));
            token.then(|| Place::Cookie(name.to_owned()))
        }
        SchemeKind::HttpBearer | SchemeKind::HttpBasic => header("authorization"),
        SchemeKind::Hooked { kind: "mutualTLS" } => None,
        SchemeKind::Hooked { .. } => header("authorization"),
    }
}

/// The valid key of a place: every apiKey scheme reading it accepts it.
fn key_of(place: &Place) -> String {
    // FNV-1a: stable across runs and platforms.
    let text = format!("{place:?}");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("valid-{hash:016x}")
}
