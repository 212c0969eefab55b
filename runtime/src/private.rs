//! What generated modules call (`use ::keygate::__private as kg;`): short names for
//! their tables, and the body of every extractor, so a module is tables, names and one
//! macro line per extractor enum. Not an API: it changes with the generator.

use std::future::Future;

use http::request::Parts;

pub use crate::spec::Location::{Cookie, Header, Query};
pub use crate::spec::{Requirement, Spec};
pub use crate::{AuthLayer, Guard, Principal, Verifier};

use crate::extract::authorize_operation;
use crate::refusal::Rejection;
use crate::spec::{Location, Operation, Scheme, SchemeKind};

/// An apiKey scheme.
pub const fn api_key(name: &'static str, location: Location, key: &'static str) -> Scheme {
    let kind = SchemeKind::ApiKey {
        location,
        name: key,
    };
    Scheme { name, kind }
}

/// An http bearer scheme.
pub const fn bearer(name: &'static str) -> Scheme {
    let kind = SchemeKind::HttpBearer;
    Scheme { name, kind }
}

/// An http basic scheme.
pub const fn basic(name: &'static str) -> Scheme {
    let kind = SchemeKind::HttpBasic;
    Scheme { name, kind }
}

/// A scheme only a hook verifies (`kind`: oauth2, openIdConnect, mutualTLS, an http scheme).
pub const fn hooked(name: &'static str, kind: &'static str) -> Scheme {
    let kind = SchemeKind::Hooked { kind };
    Scheme { name, kind }
}

/// An operation.
pub const fn op(
    method: &'static str,
    path: &'static str,
    operation_id: Option<&'static str>,
    requirement: Requirement,
) -> Operation {
    Operation {
        method,
        path,
        operation_id,
        requirement,
    }
}

/// `requirement![[0, 1("admin")], []]`: alternatives in brackets, each a list of scheme
/// indices with their roles (none: the anonymous alternative `{}`).
#[doc(hidden)]
#[macro_export]
macro_rules! __requirement {
    ($([$($scheme:literal $(($($role:literal),*))?),*]),*) => {
        $crate::spec::Requirement {
            alternatives: &[$($crate::spec::Alternative {
                schemes: &[$($crate::spec::SchemeUse {
                    scheme: $scheme,
                    roles: &[$($($role),*)?],
                }),*],
            }),*],
        }
    };
}
pub use crate::__requirement as requirement;

/// `extractor!(SPEC, ApiTokenOrBasicAuth { Some(0) => ApiToken { api_token }, .. })`:
/// `FromRequestParts` for `ApiTokenOrBasicAuth<OPERATION>`, the extractor of
/// `SPEC.operations[OPERATION]`, mapping each winning alternative (`None`: anonymous or
/// public) to its variant and the alternative's principals to its fields, in order.
#[doc(hidden)]
#[macro_export]
macro_rules! __extractor {
    ($spec:ident, $name:ident {
        $($alternative:pat => $variant:ident $({ $($field:ident),+ })?),+ $(,)?
    }) => {
        impl<KeygateState, const OPERATION: usize>
            $crate::axum::extract::FromRequestParts<KeygateState> for $name<OPERATION>
        where
            KeygateState: ::core::marker::Send + ::core::marker::Sync,
        {
            type Rejection = $crate::Rejection;

            fn from_request_parts(
                parts: &mut $crate::axum::http::request::Parts,
                _: &KeygateState,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<Self, $crate::Rejection>,
            > + ::core::marker::Send {
                $crate::__private::extract(parts, &$spec, OPERATION, |alternative, principals| {
                    match alternative {
                        $($alternative => {
                            let [$($($field),+)?] = $crate::__private::take(principals)?;
                            ::core::option::Option::Some(Self::$variant $({ $($field),+ })?)
                        })+
                        _ => ::core::option::Option::None,
                    }
                })
            }
        }
    };
}
pub use crate::__extractor as extractor;

/// The principals as an array of their number; `None` when the table disagrees.
pub fn take<const N: usize>(principals: Vec<Principal>) -> Option<[Principal; N]> {
    principals.try_into().ok()
}

/// The body of every generated extractor: decides `spec.operations[operation]` for the
/// request (or takes the layer's decision), then `grant` builds the extractor from the
/// winning alternative and its principals; a mismatch with the table is a 500.
pub fn extract<'a, T: 'a>(
    parts: &'a Parts,
    spec: &'static Spec,
    operation: usize,
    grant: fn(Option<usize>, Vec<Principal>) -> Option<T>,
) -> impl Future<Output = Result<T, Rejection>> + Send + 'a {
    let decided = authorize_operation(parts, spec, operation);
    async move {
        let (alternative, principals) = decided.await?.into_parts();
        grant(alternative, principals).ok_or_else(Rejection::internal)
    }
}
