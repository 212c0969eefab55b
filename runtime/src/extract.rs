//! What handlers see: [`Authenticated`], and the entry point generated extractors call.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::guard::Guard;
use crate::refusal::Rejection;
use crate::spec::{Operation, Spec};
use crate::verifier::Principal;

/// The outcome of a granted request: which operation, which alternative won, and the
/// principal of each of its schemes. The layer puts it in the request extensions, with
/// the [`Guard`] that decided it inside (one extension, not two: each costs the request
/// an allocation).
#[derive(Debug, Clone)]
pub struct Authenticated {
    spec: &'static Spec,
    operation: Option<usize>,
    alternative: Option<usize>,
    principals: Principals,
    /// The layer's guard, for extractors of another operation than the one decided.
    guard: Option<Guard>,
}

impl Authenticated {
    pub(crate) fn new(
        spec: &'static Spec,
        operation: Option<usize>,
        alternative: Option<usize>,
        principals: Principals,
    ) -> Authenticated {
        Authenticated {
            spec,
            operation,
            alternative,
            principals,
            guard: None,
        }
    }

    /// The same, carrying the guard that decided it.
    pub(crate) fn with_guard(mut self, guard: Guard) -> Authenticated {
        self.guard = Some(guard);
        self
    }

    /// The documented operation, or `None` for an undocumented route.
    pub fn operation(&self) -> Option<&'static Operation> {
        self.operation
            .and_then(|index| self.spec.operations.get(index))
    }

    /// The `operationId` of the operation, when it has one.
    pub fn operation_id(&self) -> Option<&'static str> {
        self.operation().and_then(|op| op.operation_id)
    }

    /// Index of the winning alternative in the requirement; `None` when the request went
    /// through anonymously (`{}`) or the operation is public.
    pub fn alternative(&self) -> Option<usize> {
        self.alternative
    }

    /// Whether no credential was needed or used.
    pub fn is_anonymous(&self) -> bool {
        self.alternative.is_none()
    }

    /// The principal of the first scheme of the winning alternative.
    pub fn principal(&self) -> Option<&Principal> {
        self.principals.as_slice().first()
    }

    /// Each scheme of the winning alternative with its principal, in document order.
    pub fn principals(&self) -> impl Iterator<Item = (&'static str, &Principal)> + '_ {
        let schemes = self.winning_schemes();
        schemes.zip(self.principals.as_slice().iter())
    }

    /// The principal verified for the scheme with this name.
    pub fn principal_for(&self, scheme: &str) -> Option<&Principal> {
        self.principals()
            .find(|(name, _)| *name == scheme)
            .map(|(_, principal)| principal)
    }

    fn winning_schemes(&self) -> impl Iterator<Item = &'static str> + '_ {
        let spec = self.spec;
        let alternative = self
            .operation()
            .map_or(spec.root, |op| op.requirement)
            .alternatives
            .get(self.alternative.unwrap_or(usize::MAX));
        alternative
            .into_iter()
            .flat_map(|alt| alt.schemes.iter())
            .filter_map(move |used| spec.schemes.get(used.scheme).map(|s| s.name))
    }

    /// The winning alternative and its principals, for generated extractors.
    pub fn into_parts(self) -> (Option<usize>, Vec<Principal>) {
        (self.alternative, self.principals.into_vec())
    }

    fn is_for(&self, spec: &'static Spec, operation: usize) -> bool {
        std::ptr::eq(self.spec, spec) && self.operation == Some(operation)
    }
}

/// The principals of a winning alternative. Most alternatives name one scheme; its
/// principal is kept inline, so a grant does not allocate a `Vec`.
#[derive(Debug, Clone)]
pub(crate) enum Principals {
    One(Principal),
    Many(Vec<Principal>),
}

impl Principals {
    pub(crate) const NONE: Principals = Principals::Many(Vec::new());

    fn as_slice(&self) -> &[Principal] {
        match self {
            Principals::One(principal) => std::slice::from_ref(principal),
            Principals::Many(principals) => principals,
        }
    }

    fn into_vec(self) -> Vec<Principal> {
        match self {
            Principals::One(principal) => vec![principal],
            Principals::Many(principals) => principals,
        }
    }
}

/// The principals of a winning alternative as an array of its size, for generated
/// extractors; a length mismatch (impossible with generated tables) is a 500, not a pass.
pub fn principals<const N: usize>(principals: Vec<Principal>) -> Result<[Principal; N], Rejection> {
    principals.try_into().map_err(|_| Rejection::internal())
}

const NO_GUARD: &str = "This route uses a keygate extractor, but the request carries no keygate \
     Guard: add the generated `layer(..)` to the Router, or `Extension(guard)`.";

/// Applies the requirement of `spec.operations[operation]` to a request. Generated
/// extractors call this. It reuses the layer's decision when the layer already decided
/// this operation, and otherwise decides with the [`Guard`] found in the extensions.
pub async fn authorize_operation(
    parts: &Parts,
    spec: &'static Spec,
    operation: usize,
) -> Result<Authenticated, Rejection> {
    if let Some(done) = parts.extensions.get::<Authenticated>() {
        if done.is_for(spec, operation) {
            return Ok(done.clone());
        }
    }
    let Some(guard) = guard_of(parts) else {
        return Err(Rejection::misconfigured(NO_GUARD));
    };
    if !std::ptr::eq(guard.spec(), spec) {
        return Err(Rejection::misconfigured(
            "The keygate Guard in this request enforces a different spec than this extractor.",
        ));
    }
    guard.authorize_operation(parts, operation).await
}

/// The guard of the request: added as an extension by the app, or carried by the layer's
/// [`Authenticated`].
fn guard_of(parts: &Parts) -> Option<&Guard> {
    parts.extensions.get::<Guard>().or_else(|| {
        parts
            .extensions
            .get::<Authenticated>()
            .and_then(|done| done.guard.as_ref())
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(done) = parts.extensions.get::<Authenticated>() {
            return Ok(done.clone());
        }
        match guard_of(parts).cloned() {
            Some(guard) => guard.authorize_request(parts).await,
            None => Err(Rejection::misconfigured(NO_GUARD)),
        }
    }
}

/// `Option<Authenticated>`: `None` when the request went through anonymously.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let authenticated =
            <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok((!authenticated.is_anonymous()).then_some(authenticated))
    }
}
