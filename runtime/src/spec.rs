//! The tables a generated module hands to the runtime: schemes, operations and their
//! effective requirements, already resolved per docs/semantics.md §1. The runtime never parses
//! OpenAPI; it only reads these.

/// A document's security, as generated code declares it in a `static`.
#[derive(Debug)]
pub struct Spec {
    /// `info.title` of the document.
    pub title: &'static str,
    /// Path prefix of every documented path (`/v1`), or empty.
    pub base_path: &'static str,
    /// Every scheme the document defines, in document order.
    pub schemes: &'static [Scheme],
    /// The root requirement, applied to undocumented routes (empty: public).
    pub root: Requirement,
    /// Every documented operation.
    pub operations: &'static [Operation],
}

impl Spec {
    /// The scheme with this exact name.
    pub fn scheme_index(&self, name: &str) -> Option<usize> {
        self.schemes.iter().position(|s| s.name == name)
    }

    /// The operation with this `operationId`.
    pub fn operation_index(&self, operation_id: &str) -> Option<usize> {
        self.operations
            .iter()
            .position(|op| op.operation_id == Some(operation_id))
    }
}

/// A security scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    /// The scheme's name in the document (any string).
    pub name: &'static str,
    /// How its credential travels.
    pub kind: SchemeKind,
}

/// How a scheme's credential travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeKind {
    /// `type: apiKey`.
    ApiKey {
        /// Header, query or cookie.
        location: Location,
        /// The header, parameter or cookie name.
        name: &'static str,
    },
    /// `type: http, scheme: bearer`.
    HttpBearer,
    /// `type: http, scheme: basic`.
    HttpBasic,
    /// A scheme only an app-registered [`Hook`](crate::Hook) can verify.
    Hooked {
        /// `oauth2`, `openIdConnect`, `mutualTLS`, or the http scheme (`digest`).
        kind: &'static str,
    },
}

/// Where an API key travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A request header, matched case-insensitively.
    Header,
    /// A query parameter, matched exactly.
    Query,
    /// A cookie, matched exactly.
    Cookie,
}

impl Location {
    /// The OpenAPI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Header => "header",
            Location::Query => "query",
            Location::Cookie => "cookie",
        }
    }
}

/// A documented operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, without the base path.
    pub path: &'static str,
    /// The `operationId`, when documented.
    pub operation_id: Option<&'static str>,
    /// The effective requirement.
    pub requirement: Requirement,
}

/// OR over alternatives. No alternatives: public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// The alternatives in document order.
    pub alternatives: &'static [Alternative],
}

impl Requirement {
    /// The public requirement (`[]`, or none at all).
    pub const PUBLIC: Requirement = Requirement { alternatives: &[] };

    /// Whether anyone may call.
    pub fn is_public(&self) -> bool {
        self.alternatives.is_empty()
    }

    /// Whether `{}` is one of the alternatives.
    pub fn allows_anonymous(&self) -> bool {
        self.alternatives.iter().any(|a| a.schemes.is_empty())
    }

    /// Scheme indices used anywhere in the requirement, first appearance first.
    pub fn scheme_indices(&self) -> Vec<usize> {
        let mut seen = Vec::new();
        for alternative in self.alternatives {
            for used in alternative.schemes {
                if !seen.contains(&used.scheme) {
                    seen.push(used.scheme);
                }
            }
        }
        seen
    }
}

/// AND over schemes. No schemes: the anonymous alternative `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alternative {
    /// The schemes that must all verify.
    pub schemes: &'static [SchemeUse],
}

/// A scheme inside an alternative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemeUse {
    /// Index into [`Spec::schemes`].
    pub scheme: usize,
    /// Roles the principal must all hold.
    pub roles: &'static [&'static str],
}
