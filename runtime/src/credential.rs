//! Credentials: what a request carries for a scheme, and reading it from the request,
//! per docs/semantics.md §3.

use std::borrow::Cow;

use base64::Engine as _;
use http::header::{AUTHORIZATION, COOKIE};
use http::request::Parts;
use http::{HeaderName, HeaderValue};
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::spec::{Location, SchemeKind};

/// What a request carries for one scheme.
#[derive(Debug, Clone)]
pub(crate) enum Presented<'p> {
    /// Nothing, or only an empty value.
    Absent,
    /// Exactly one credential.
    One(Held<'p>),
    /// Two or more values: the scheme fails (never pick one silently).
    Ambiguous,
    /// Present but unreadable (bad Basic base64, non-ASCII header): the scheme fails.
    Malformed,
}

impl Presented<'_> {
    pub(crate) fn is_presented(&self) -> bool {
        !matches!(self, Presented::Absent)
    }
}

/// One credential: borrowed from the request where its text is there as is (headers,
/// bearer tokens, queries without escapes), else decoded into a copy that is wiped on
/// drop.
#[derive(Debug, Clone)]
pub(crate) enum Held<'p> {
    Lent(CredentialRef<'p>),
    Owned(Credential),
}

impl Held<'_> {
    pub(crate) fn lend(&self) -> CredentialRef<'_> {
        match self {
            Held::Lent(credential) => *credential,
            Held::Owned(credential) => credential.lend(),
        }
    }

    pub(crate) fn into_credential(self) -> Credential {
        match self {
            Held::Lent(credential) => credential.to_credential(),
            Held::Owned(credential) => credential,
        }
    }
}

/// A scheme's credential location, resolved once when the guard is built.
#[derive(Debug, Clone)]
pub(crate) enum Reader {
    Header(HeaderName),
    Query(&'static str),
    Cookie(&'static str),
    Bearer,
    Basic,
    /// A header name that is not a valid HTTP field name: never present.
    Unreadable,
    /// Read by a hook, not here.
    Hooked,
}

impl Reader {
    pub(crate) fn for_scheme(kind: &SchemeKind) -> Reader {
        match *kind {
            SchemeKind::ApiKey {
                location: Location::Header,
                name,
            } => match HeaderName::from_bytes(name.as_bytes()) {
                Ok(header) => Reader::Header(header),
                Err(_) => Reader::Unreadable,
            },
            SchemeKind::ApiKey {
                location: Location::Query,
                name,
            } => Reader::Query(name),
            SchemeKind::ApiKey {
                location: Location::Cookie,
                name,
            } => Reader::Cookie(name),
            SchemeKind::HttpBearer => Reader::Bearer,
            SchemeKind::HttpBasic => Reader::Basic,
            SchemeKind::Hooked { .. } => Reader::Hooked,
        }
    }

    pub(crate) fn read<'p>(&self, parts: &'p Parts) -> Presented<'p> {
        match self {
            Reader::Header(name) => read_header(parts, name),
            Reader::Query(name) => read_query(parts, name),
            Reader::Cookie(name) => read_cookie(parts, name),
            Reader::Bearer => read_authorization(parts, "bearer", |token| {
                Presented::One(Held::Lent(CredentialRef::bearer(token)))
            }),
            Reader::Basic => read_authorization(parts, "basic", decode_basic),
            Reader::Unreadable | Reader::Hooked => Presented::Absent,
        }
    }
}

/// One value, or none, or too many: the counting rule shared by every location. A
/// value is `None` when it cannot be read; a borrowed one is the request's own text.
fn single<'p, I: Iterator<Item = Option<Cow<'p, str>>>>(mut values: I) -> Presented<'p> {
    let Some(first) = values.next() else {
        return Presented::Absent;
    };
    if values.next().is_some() {
        return Presented::Ambiguous;
    }
    match first {
        None => Presented::Malformed,
        Some(value) if value.is_empty() => Presented::Absent,
        Some(Cow::Borrowed(text)) => Presented::One(Held::Lent(CredentialRef::key(text))),
        Some(Cow::Owned(text)) => {
            Presented::One(Held::Owned(Credential::Key(SecretString::from(text))))
        }
    }
}

/// A field value's text, whitespace around it trimmed. `to_str` admits only visible
/// ASCII, spaces and tabs, so the ASCII trim is the whole trim.
fn header_text(value: &HeaderValue) -> Option<Cow<'_, str>> {
    value
        .to_str()
        .ok()
        .map(|text| Cow::Borrowed(text.trim_ascii()))
}

fn read_header<'p>(parts: &'p Parts, name: &HeaderName) -> Presented<'p> {
    single(parts.headers.get_all(name).iter().map(header_text))
}

fn read_query<'p>(parts: &'p Parts, name: &str) -> Presented<'p> {
    let query = parts.uri.query().unwrap_or("");
    single(
        form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| Some(value)),
    )
}

fn read_cookie(parts: &Parts, name: &str) -> Presented<'static> {
    let mut values = Vec::new();
    for line in parts.headers.get_all(COOKIE) {
        // Browsers send raw UTF-8 in cookie values; one such cookie must not hide the
        // others on its line. Bytes that are not UTF-8 become U+FFFD and match no key.
        let line = String::from_utf8_lossy(line.as_bytes());
        for cookie in cookie::Cookie::split_parse(line).flatten() {
            if cookie.name() == name {
                // RFC 6265 allows the value in double quotes; they are not part of it.
                values.push(Some(Cow::Owned(cookie.value_trimmed().to_owned())));
            }
        }
    }
    single(values.into_iter())
}

/// Reads `Authorization: <scheme> <token>`; another scheme word means absent for this one.
fn read_authorization<'p>(
    parts: &'p Parts,
    scheme: &str,
    credential: fn(&'p str) -> Presented<'p>,
) -> Presented<'p> {
    let mut lines = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(line) = lines.next() else {
        return Presented::Absent;
    };
    if lines.next().is_some() {
        return Presented::Ambiguous;
    }
    let Ok(text) = line.to_str() else {
        return Presented::Malformed;
    };
    let text = text.trim_ascii();
    let (word, rest) = text.split_once([' ', '\t']).unwrap_or((text, ""));
    if !word.eq_ignore_ascii_case(scheme) {
        return Presented::Absent;
    }
    let token = rest.trim_ascii();
    if token.is_empty() {
        return Presented::Absent;
    }
    credential(token)
}

fn decode_basic(token: &str) -> Presented<'static> {
    let engine = base64::engine::general_purpose::STANDARD;
    let Ok(bytes) = engine.decode(token.as_bytes()) else {
        return Presented::Malformed;
    };
    let Ok(pair) = String::from_utf8(bytes) else {
        return Presented::Malformed;
    };
    let Some((id, secret)) = pair.split_once(':') else {
        return Presented::Malformed;
    };
    if id.is_empty() && secret.is_empty() {
        return Presented::Absent;
    }
    Presented::One(Held::Owned(Credential::Basic {
        id: id.to_owned(),
        secret: SecretString::from(secret.to_owned()),
    }))
}

/// A credential as read from the request. `Debug` never shows secret material.
#[derive(Clone)]
pub enum Credential {
    /// An apiKey value (header, query or cookie).
    Key(SecretString),
    /// The token of `Authorization: Bearer <token>`.
    Bearer(SecretString),
    /// The pair of `Authorization: Basic base64(id:secret)`.
    Basic {
        /// The id part (a user or key id; public).
        id: String,
        /// The secret part.
        secret: SecretString,
    },
}

impl Credential {
    /// The secret text: the key, the token, or the Basic secret.
    pub fn secret(&self) -> &str {
        match self {
            Credential::Key(secret) | Credential::Bearer(secret) => secret.expose_secret(),
            Credential::Basic { secret, .. } => secret.expose_secret(),
        }
    }

    /// The Basic id, when this is a Basic pair.
    pub fn basic_id(&self) -> Option<&str> {
        match self {
            Credential::Basic { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The credential as verifiers are handed it.
    pub fn lend(&self) -> CredentialRef<'_> {
        match self {
            Credential::Key(secret) => CredentialRef::key(secret.expose_secret()),
            Credential::Bearer(secret) => CredentialRef::bearer(secret.expose_secret()),
            Credential::Basic { id, secret } => CredentialRef::basic(id, secret.expose_secret()),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.lend().fmt(f)
    }
}

impl<'a> From<&'a Credential> for CredentialRef<'a> {
    fn from(credential: &'a Credential) -> CredentialRef<'a> {
        credential.lend()
    }
}

/// Where a credential came from: which of [`Credential`]'s kinds it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An apiKey value (header, query or cookie).
    Key,
    /// The token of `Authorization: Bearer <token>`.
    Bearer,
    /// The pair of `Authorization: Basic base64(id:secret)`.
    Basic,
}

/// A credential as a verifier is handed it: borrowed, most often straight from the
/// request's header, so reading a key costs no copy of the secret (a copy would be one
/// more place that holds it, and an allocation a request). `Debug` never shows secret
/// material.
#[derive(Clone, Copy)]
pub struct CredentialRef<'a> {
    kind: CredentialKind,
    secret: &'a str,
    /// The Basic id; empty for the other kinds.
    id: &'a str,
}

impl<'a> CredentialRef<'a> {
    /// An apiKey value.
    pub fn key(secret: &'a str) -> CredentialRef<'a> {
        CredentialRef {
            kind: CredentialKind::Key,
            secret,
            id: "",
        }
    }

    /// A bearer token.
    pub fn bearer(token: &'a str) -> CredentialRef<'a> {
        CredentialRef {
            kind: CredentialKind::Bearer,
            secret: token,
            id: "",
        }
    }

    /// A Basic pair.
    pub fn basic(id: &'a str, secret: &'a str) -> CredentialRef<'a> {
        CredentialRef {
            kind: CredentialKind::Basic,
            secret,
            id,
        }
    }

    /// Which kind of credential this is.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// The secret text: the key, the token, or the Basic secret.
    pub fn secret(&self) -> &'a str {
        self.secret
    }

    /// The Basic id, when this is a Basic pair.
    pub fn basic_id(&self) -> Option<&'a str> {
        (self.kind == CredentialKind::Basic).then_some(self.id)
    }

    /// An owned copy, whose secret is wiped when it is dropped.
    pub fn to_credential(&self) -> Credential {
        let secret = SecretString::from(self.secret);
        match self.kind {
            CredentialKind::Key => Credential::Key(secret),
            CredentialKind::Bearer => Credential::Bearer(secret),
            CredentialKind::Basic => Credential::Basic {
                id: self.id.to_owned(),
                secret,
            },
        }
    }
}

impl fmt::Debug for CredentialRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            CredentialKind::Key => f.write_str("Key([REDACTED])"),
            CredentialKind::Bearer => f.write_str("Bearer([REDACTED])"),
            CredentialKind::Basic => f
                .debug_struct("Basic")
                .field("id", &self.id)
                .field("secret", &"[REDACTED]")
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::CredentialKind;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn key(presented: Presented) -> String {
        match presented {
            Presented::One(held) if held.lend().kind() == CredentialKind::Key => {
                held.lend().secret().to_owned()
            }
            other => format!("{other:?}"),
        }
    }

    fn header(name: &str) -> Reader {
        Reader::Header(HeaderName::from_bytes(name.as_bytes()).unwrap())
    }

    #[test]
    fn headers_match_case_insensitively_and_trim() {
        let p = parts("/", &[("x-api-key", "  abc \t")]);
        assert_eq!(key(header("X-API-Key").read(&p)), "abc");
    }

    #[test]
    fn empty_values_are_absent_and_repeats_ambiguous() {
        let p = parts("/", &[("x-api-key", "  ")]);
        assert!(matches!(header("X-API-Key").read(&p), Presented::Absent));
        let p = parts("/", &[("x-api-key", "a"), ("x-api-key", "a")]);
        assert!(matches!(header("X-API-Key").read(&p), Presented::Ambiguous));
        let p = parts("/?k=a&k=b", &[]);
        assert!(matches!(Reader::Query("k").read(&p), Presented::Ambiguous));
        let p = parts("/?k=", &[]);
        assert!(matches!(Reader::Query("k").read(&p), Presented::Absent));
    }

    #[test]
    fn query_is_percent_decoded_and_exact() {
        let p = parts("/?api_key=a%2Bb+c&API_KEY=x", &[]);
        assert_eq!(key(Reader::Query("api_key").read(&p)), "a+b c");
    }

    /// Text the request holds as is is lent, not copied; decoded text is a copy.
    #[test]
    fn credentials_are_borrowed_unless_decoded() {
        let lent = |presented: Presented<'_>| matches!(presented, Presented::One(Held::Lent(_)));
        let p = parts("/?k=plain&e=a%2Bb", &[("x-api-key", " abc ")]);
        assert!(lent(header("X-API-Key").read(&p)));
        assert!(lent(Reader::Query("k").read(&p)));
        assert!(!lent(Reader::Query("e").read(&p)));
        let p = parts("/", &[("authorization", "Bearer tok")]);
        assert!(lent(Reader::Bearer.read(&p)));
    }

    #[test]
    fn cookies_are_read_from_every_line() {
        let p = parts("/", &[("cookie", "a=1; sid=xyz"), ("cookie", "b=2")]);
        assert_eq!(key(Reader::Cookie("sid").read(&p)), "xyz");
        let p = parts("/", &[("cookie", "sid=1"), ("cookie", "sid=2")]);
        assert!(matches!(
            Reader::Cookie("sid").read(&p),
            Presented::Ambiguous
        ));
        let p = parts("/", &[("cookie", "SID=1")]);
        assert!(matches!(Reader::Cookie("sid").read(&p), Presented::Absent));
    }

    /// RFC 6265: a cookie value may travel in double quotes, which are not part of it.
    #[test]
    fn quoted_cookie_values_are_read_without_quotes() {
        let p = parts("/", &[("cookie", "a=1; sid=\"xyz\"; b=2")]);
        assert_eq!(key(Reader::Cookie("sid").read(&p)), "xyz");
        let p = parts("/", &[("cookie", "sid=\"\"")]);
        assert!(matches!(Reader::Cookie("sid").read(&p), Presented::Absent));
    }

    #[test]
    fn bearer_and_basic() {
        let p = parts("/", &[("authorization", "bEaReR tok")]);
        match Reader::Bearer.read(&p) {
            Presented::One(Held::Lent(token)) => {
                assert_eq!(token.kind(), CredentialKind::Bearer);
                assert_eq!(token.secret(), "tok");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(Reader::Basic.read(&p), Presented::Absent));
        let p = parts("/", &[("authorization", "Basic aWQ6c2VjcmV0")]);
        match Reader::Basic.read(&p) {
            Presented::One(held) => {
                assert_eq!(held.lend().basic_id(), Some("id"));
                assert_eq!(held.lend().secret(), "secret");
            }
            other => panic!("{other:?}"),
        }
        let p = parts("/", &[("authorization", "Basic !!!")]);
        assert!(matches!(Reader::Basic.read(&p), Presented::Malformed));
        let p = parts("/", &[("authorization", "Bearer")]);
        assert!(matches!(Reader::Bearer.read(&p), Presented::Absent));
    }
}
