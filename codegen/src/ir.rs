//! The security IR: what a document says about authentication, and nothing else.
//!
//! The loader lowers Swagger 2.0, OpenAPI 3.0 and OpenAPI 3.1 into these types; every
//! emitter (Rust module, `check` table, JSON, markdown report) reads only these types.
//! Requirements are already *effective* here: docs/semantics.md §1 is applied once, in the loader.

use serde::Serialize;

/// One loaded document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Api {
    /// The file the document came from, as given by the caller (used in messages).
    pub source: String,
    /// Which dialect the document was written in.
    pub version: SpecVersion,
    /// `info.title`, or an empty string.
    pub title: String,
    /// Path prefix every operation path sits under: the path of `servers[0].url` (3.x)
    /// or `basePath` (2.0), without a trailing slash; empty for none.
    pub base_path: String,
    /// Where the API is served, for people: the first server's URL with its variables'
    /// defaults (3.x), or `scheme://host` and `basePath` (2.0, the first of `schemes`,
    /// `https` when none is listed); empty when the document names no server or host.
    pub server_url: String,
    /// Every security scheme the document defines, in document order.
    pub schemes: Vec<Scheme>,
    /// The root `security`, when the key is present.
    pub root: Option<Requirement>,
    /// Every operation, in document order (paths in order, methods in path-item order).
    pub operations: Vec<Operation>,
}

/// The dialect of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SpecVersion {
    /// `swagger: "2.0"`.
    Swagger2,
    /// `openapi: 3.0.x`.
    OpenApi30,
    /// `openapi: 3.1.x`.
    OpenApi31,
}

impl SpecVersion {
    /// Whether the dialect's text says role lists of non-OAuth schemes MUST be empty.
    pub fn requires_empty_roles(self) -> bool {
        !matches!(self, SpecVersion::OpenApi31)
    }
}

/// A security scheme definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scheme {
    /// The scheme's name as written in the document (any string).
    pub name: String,
    /// How a credential for it is presented.
    pub kind: SchemeKind,
    /// Its `description`, as written (CommonMark in the document's own terms).
    pub description: Option<String>,
    /// JSON pointer of the definition, e.g. `/components/securitySchemes/api_key`.
    pub pointer: String,
}

/// How a scheme's credential is presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SchemeKind {
    /// `type: apiKey`.
    ApiKey {
        /// Where the key travels.
        location: KeyLocation,
        /// Header, query parameter or cookie name.
        name: String,
    },
    /// `type: http, scheme: bearer`.
    HttpBearer,
    /// `type: http, scheme: basic` (2.0: `type: basic`).
    HttpBasic,
    /// Anything keygate cannot verify itself; the app must register a hook for it.
    Hooked(HookedKind),
}

/// Where an API key travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyLocation {
    /// A request header.
    Header,
    /// A query-string parameter.
    Query,
    /// A cookie.
    Cookie,
}

impl KeyLocation {
    /// The OpenAPI spelling (`header`, `query`, `cookie`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyLocation::Header => "header",
            KeyLocation::Query => "query",
            KeyLocation::Cookie => "cookie",
        }
    }
}

/// A scheme that only an app-registered hook can verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum HookedKind {
    /// `type: oauth2`.
    OAuth2,
    /// `type: openIdConnect`.
    OpenIdConnect,
    /// `type: mutualTLS` (3.1).
    MutualTls,
    /// `type: http` with a scheme other than bearer or basic (e.g. `digest`), lowercased.
    Http(String),
}

impl SchemeKind {
    /// A short human label: `apiKey (header X-API-Key)`, `http bearer`, `oauth2 (hook)`.
    pub fn label(&self) -> String {
        match self {
            SchemeKind::ApiKey { location, name } => {
                format!("apiKey ({} {name})", location.as_str())
            }
            SchemeKind::HttpBearer => "http bearer".to_owned(),
            SchemeKind::HttpBasic => "http basic".to_owned(),
            SchemeKind::Hooked(kind) => match kind {
                HookedKind::OAuth2 => "oauth2 (hook)".to_owned(),
                HookedKind::OpenIdConnect => "openIdConnect (hook)".to_owned(),
                HookedKind::MutualTls => "mutualTLS (hook)".to_owned(),
                HookedKind::Http(scheme) => format!("http {scheme} (hook)"),
            },
        }
    }

    /// Whether verifying this scheme needs an app-registered hook.
    pub fn needs_hook(&self) -> bool {
        matches!(self, SchemeKind::Hooked(_))
    }
}

/// A security requirement: OR over alternatives. Empty means public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// The alternatives, in document order.
    pub alternatives: Vec<Alternative>,
    /// JSON pointer of the `security` list this came from.
    pub pointer: String,
}

impl Requirement {
    /// Whether anyone may call (no alternatives at all).
    pub fn is_public(&self) -> bool {
        self.alternatives.is_empty()
    }

    /// Whether the anonymous alternative `{}` is among the alternatives.
    pub fn allows_anonymous(&self) -> bool {
        self.alternatives.iter().any(Alternative::is_anonymous)
    }
}

/// One alternative: AND over its schemes. Empty is the anonymous alternative `{}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alternative {
    /// The schemes that must all verify, in document order.
    pub schemes: Vec<SchemeUse>,
}

impl Alternative {
    /// Whether this is `{}`.
    pub fn is_anonymous(&self) -> bool {
        self.schemes.is_empty()
    }
}

/// One scheme inside an alternative, with the roles the principal must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemeUse {
    /// Index into [`Api::schemes`].
    pub scheme: usize,
    /// Role (scope) names; all must be held.
    pub roles: Vec<String>,
}

/// An HTTP method that OpenAPI path items can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Method {
    /// GET
    Get,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// HEAD
    Head,
    /// PATCH
    Patch,
    /// TRACE
    Trace,
}

impl Method {
    /// All methods, in the order OpenAPI lists path-item fields.
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Patch,
        Method::Trace,
    ];

    /// The path-item key (`get`, `put`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Options => "options",
            Method::Head => "head",
            Method::Patch => "patch",
            Method::Trace => "trace",
        }
    }

    /// The HTTP spelling (`GET`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
        }
    }
}

/// Where an operation's effective requirement came from (docs/semantics.md §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RequirementSource {
    /// The operation's own `security` key.
    Operation,
    /// The document's root `security`.
    Root,
    /// Neither is present: public.
    Absent,
}

/// One documented operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    /// The HTTP method.
    pub method: Method,
    /// The path template as documented, without the base path (`/pets/{petId}`).
    pub path: String,
    /// `operationId`, when present.
    pub operation_id: Option<String>,
    /// `tags`, in order.
    pub tags: Vec<String>,
    /// `summary`, when present.
    pub summary: Option<String>,
    /// The effective requirement (docs/semantics.md §1): own, else root, else public.
    pub requirement: Requirement,
    /// Where [`Operation::requirement`] came from.
    pub requirement_source: RequirementSource,
    /// JSON pointer of the operation, e.g. `/paths/~1pets/get`.
    pub pointer: String,
}

impl Operation {
    /// `operationId`, or `METHOD /path` when the document gives none.
    pub fn display_name(&self) -> String {
        match &self.operation_id {
            Some(id) => id.clone(),
            None => format!("{} {}", self.method.as_str(), self.path),
        }
    }
}
