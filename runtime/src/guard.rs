//! The guard: a spec's tables plus the app's verifier, hooks and options. It finds
//! what a request must meet (`target.rs`, §2) and decides it (`decision.rs`, §3–§5);
//! a granted request gets its [`Authenticated`].

use std::fmt;
use std::sync::Arc;

use http::request::Parts;

use crate::decision::{Decider, Grant};
use crate::refusal::{Refusals, Rejection};
use crate::spec::{Operation, Spec};
use crate::suggest::{looks_mistaken, unknown_scheme};
use crate::target::{Applied, Routing, Undocumented};
use crate::verifier::{Hook, Principal, Verifier};

/// Enforces one spec. Cheap to clone; build it once at start-up.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<GuardInner>,
}

#[derive(Clone)]
struct GuardInner {
    routing: Routing,
    decider: Decider,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Guard")
            .field("spec", &inner.decider.spec.title)
            .field("undocumented", &inner.routing.undocumented())
            .field("base_path", &inner.routing.base_path())
            .field("realm", &inner.decider.refusals.realm())
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard for `spec` that verifies key, bearer and basic credentials with `verifier`.
    ///
    /// # Panics
    /// When the verifier names a scheme the spec lacks ([`Verifier::scheme_names`]) that
    /// looks like a mistake for one of its schemes (a typo, a header name), with what it
    /// most likely meant; other unknown names (a verifier shared with another document's
    /// guard) are logged at warn level. When the spec's path templates cannot be routed;
    /// generated specs always can, the generator rejects such templates with an error.
    pub fn new(spec: &'static Spec, verifier: impl Verifier) -> Guard {
        for name in verifier.scheme_names() {
            if spec.scheme_index(name).is_some() {
                continue;
            }
            let why = unknown_scheme(spec, name);
            if looks_mistaken(spec, name) {
                panic!("keygate: the verifier names an unknown scheme: {why}");
            }
            tracing::warn!(
                document = spec.title,
                "keygate: a scheme the verifier names is not in this document: {why}; its keys \
                 are never asked for here"
            );
        }
        let routing = Routing::new(spec)
            .unwrap_or_else(|message| panic!("keygate: invalid spec tables: {message}"));
        Guard {
            inner: Arc::new(GuardInner {
                routing,
                decider: Decider::new(spec, Arc::new(verifier)),
            }),
        }
    }

    fn inner_mut(&mut self) -> &mut GuardInner {
        Arc::make_mut(&mut self.inner)
    }

    /// What to do with requests the document does not describe: refused by default
    /// (404, or 405 with `Allow` on a documented path); [`Undocumented`] names the
    /// opt-ins.
    pub fn undocumented(mut self, undocumented: Undocumented) -> Guard {
        self.inner_mut().routing.set_undocumented(undocumented);
        self
    }

    /// Replaces the base path taken from the spec (`servers[0]` or `basePath`). Use `""`
    /// when the app serves the documented paths at its root. `v1`, `/v1` and `/v1/`
    /// are the same base path.
    pub fn base_path(mut self, base_path: impl AsRef<str>) -> Guard {
        self.inner_mut().routing.set_base_path(base_path.as_ref());
        self
    }

    /// The base path requests are expected under (`""`: none).
    pub fn current_base_path(&self) -> &str {
        self.inner.routing.base_path()
    }

    /// Sets the realm named in `WWW-Authenticate` challenges (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Guard {
        let realm: String = realm.into();
        let decider = &mut self.inner_mut().decider;
        decider.refusals = Refusals::new(decider.spec, &realm);
        self
    }

    /// Registers the hook that verifies the scheme named `scheme` (oauth2,
    /// openIdConnect, mutualTLS or another http scheme; it may also replace the built-in
    /// reading of a key scheme).
    ///
    /// # Panics
    /// When the spec defines no scheme of that name: a typo here would leave the
    /// alternatives that need the hook failing forever.
    pub fn hook(mut self, scheme: &str, hook: impl Hook) -> Guard {
        let spec = self.inner.decider.spec;
        let Some(index) = spec.scheme_index(scheme) else {
            panic!(
                "keygate: hook for an unknown scheme: {}",
                unknown_scheme(spec, scheme)
            );
        };
        self.inner_mut().decider.set_hook(index, Arc::new(hook));
        self
    }

    /// The spec this guard enforces.
    pub fn spec(&self) -> &'static Spec {
        self.inner.decider.spec
    }

    /// Finds the operation a method and a request path are for: `Some(index)` into the
    /// spec's operations, `None` for an undocumented route. The first of several
    /// operations a request must meet is the one named.
    pub fn find_operation(&self, method: &str, path: &str) -> Option<usize> {
        self.inner.routing.find_operation(method, path)
    }

    /// Decides a whole request: finds its operation by method and path, then applies that
    /// operation's requirement (or refuses, or applies the root requirement, for a route
    /// the document does not describe; see [`Guard::undocumented`]).
    pub async fn authorize_request(&self, parts: &Parts) -> Result<Authenticated, Rejection> {
        let target = self.inner.routing.target(parts)?;
        for &also in &target.also {
            self.inner.decider.decide(parts, self.applied(also)).await?;
        }
        let grant = self.inner.decider.decide(parts, target.applied).await?;
        Ok(Authenticated::new(self.spec(), grant))
    }

    /// Applies the requirement of the operation at `index` to a request.
    pub async fn authorize_operation(
        &self,
        parts: &Parts,
        index: usize,
    ) -> Result<Authenticated, Rejection> {
        if index >= self.spec().operations.len() {
            return Err(Rejection::internal());
        }
        let grant = self
            .inner
            .decider
            .decide(parts, self.applied(index))
            .await?;
        Ok(Authenticated::new(self.spec(), grant))
    }

    /// The requirement of the operation at `index`.
    fn applied(&self, index: usize) -> Applied {
        Applied {
            operation: Some(index),
            requirement: self.spec().operations[index].requirement,
        }
    }
}

/// The outcome of a granted request: which operation, which alternative won, and the
/// principal of each of its schemes. The layer puts it in the request extensions, with
/// the [`Guard`] that decided it inside (one extension, not two: each costs the request
/// an allocation).
#[derive(Debug, Clone)]
pub struct Authenticated {
    spec: &'static Spec,
    grant: Grant,
    /// The layer's guard, for extractors of another operation than the one decided.
    guard: Option<Guard>,
}

impl Authenticated {
    fn new(spec: &'static Spec, grant: Grant) -> Authenticated {
        Authenticated {
            spec,
            grant,
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
        self.grant
            .operation
            .and_then(|index| self.spec.operations.get(index))
    }

    /// The `operationId` of the operation, when it has one.
    pub fn operation_id(&self) -> Option<&'static str> {
        self.operation().and_then(|op| op.operation_id)
    }

    /// Index of the winning alternative in the requirement; `None` when the request went
    /// through anonymously (`{}`) or the operation is public.
    pub fn alternative(&self) -> Option<usize> {
        self.grant.alternative
    }

    /// Whether no credential was needed or used.
    pub fn is_anonymous(&self) -> bool {
        self.grant.alternative.is_none()
    }

    /// The principal of the first scheme of the winning alternative.
    pub fn principal(&self) -> Option<&Principal> {
        self.grant.principals.as_slice().first()
    }

    /// Each scheme of the winning alternative with its principal, in document order.
    pub fn principals(&self) -> impl Iterator<Item = (&'static str, &Principal)> + '_ {
        let schemes = self.winning_schemes();
        schemes.zip(self.grant.principals.as_slice().iter())
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
            .get(self.grant.alternative.unwrap_or(usize::MAX));
        alternative
            .into_iter()
            .flat_map(|alt| alt.schemes.iter())
            .filter_map(move |used| spec.schemes.get(used.scheme).map(|s| s.name))
    }

    /// The winning alternative and its principals, for generated extractors.
    pub(crate) fn into_parts(self) -> (Option<usize>, Vec<Principal>) {
        (self.grant.alternative, self.grant.principals.into_vec())
    }

    pub(crate) fn is_for(&self, spec: &'static Spec, operation: usize) -> bool {
        std::ptr::eq(self.spec, spec) && self.grant.operation == Some(operation)
    }

    /// The layer's guard, when the layer decided it.
    pub(crate) fn guard(&self) -> Option<&Guard> {
        self.guard.as_ref()
    }
}
