//! [`Authenticated`] as an axum extractor, and the entry point generated extractors call.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::guard::{Authenticated, Guard};
use crate::refusal::Rejection;
use crate::spec::Spec;

const NO_GUARD: &str = "This route uses a keygate extractor, but the request carries no keygate \
     Guard: add the generated `layer(..)` to the Router, or `Extension(guard)`.";

/// Applies the requirement of `spec.operations[operation]` to a request, for generated
/// extractors (through `__private::extract`). It reuses the layer's decision when the layer already decided
/// this operation, and otherwise decides with the [`Guard`] found in the extensions.
pub(crate) async fn authorize_operation(
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
            .and_then(Authenticated::guard)
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
