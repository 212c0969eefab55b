//! The guard: a spec's tables plus the app's verifier, hooks and options. It finds the
//! operation (§2), reads credentials (§3), decides (§4) and refuses (§5).

use std::fmt;
use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::request::Parts;

use crate::credential::{Presented, Reader};
use crate::extract::Authenticated;
use crate::refusal::{self, Rejection};
use crate::router::{strip_base, OperationRouter};
use crate::spec::{Requirement, SchemeKind, Spec};
use crate::verifier::{
    DynVerifier, Hook, OperationRef, Principal, RequestContext, Verdict, Verifier, VerifyRequest,
};

/// Enforces one spec. Cheap to clone; build it once at start-up.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<GuardInner>,
}

#[derive(Clone)]
struct GuardInner {
    spec: &'static Spec,
    router: OperationRouter,
    readers: Vec<Reader>,
    verifier: Arc<dyn DynVerifier>,
    hooks: Vec<Option<Arc<dyn Hook>>>,
    deny_undocumented: bool,
    base_path: String,
    realm: String,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Guard")
            .field("spec", &inner.spec.title)
            .field("deny_undocumented", &inner.deny_undocumented)
            .field("base_path", &inner.base_path)
            .field("realm", &inner.realm)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard for `spec` that verifies key, bearer and basic credentials with `verifier`.
    ///
    /// # Panics
    /// When the spec's path templates cannot be routed. Generated specs always can;
    /// the generator rejects such templates with an error.
    pub fn new(spec: &'static Spec, verifier: impl Verifier) -> Guard {
        let router = OperationRouter::new(spec.operations)
            .unwrap_or_else(|message| panic!("keygate: invalid spec tables: {message}"));
        Guard {
            inner: Arc::new(GuardInner {
                spec,
                router,
                readers: spec
                    .schemes
                    .iter()
                    .map(|s| Reader::for_scheme(&s.kind))
                    .collect(),
                verifier: Arc::new(verifier),
                hooks: vec![None; spec.schemes.len()],
                deny_undocumented: false,
                base_path: spec.base_path.to_owned(),
                realm: "api".to_owned(),
            }),
        }
    }

    fn inner_mut(&mut self) -> &mut GuardInner {
        Arc::make_mut(&mut self.inner)
    }

    /// Answers 404 for routes the spec does not document, instead of applying the root
    /// requirement (the default).
    pub fn deny_undocumented(mut self, deny: bool) -> Guard {
        self.inner_mut().deny_undocumented = deny;
        self
    }

    /// Replaces the base path taken from the spec (`servers[0]` or `basePath`). Use `""`
    /// when the app serves the documented paths at its root.
    pub fn base_path(mut self, base_path: impl Into<String>) -> Guard {
        let base = base_path.into();
        self.inner_mut().base_path = base.trim_end_matches('/').to_owned();
        self
    }

    /// Sets the realm named in `WWW-Authenticate` challenges (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Guard {
        self.inner_mut().realm = realm.into();
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
        let Some(index) = self.inner.spec.scheme_index(scheme) else {
            let known: Vec<&str> = self.inner.spec.schemes.iter().map(|s| s.name).collect();
            panic!("keygate: hook for unknown scheme `{scheme}`; the spec defines {known:?}");
        };
        self.inner_mut().hooks[index] = Some(Arc::new(hook));
        self
    }

    /// The spec this guard enforces.
    pub fn spec(&self) -> &'static Spec {
        self.inner.spec
    }

    /// Finds the operation a request is for: `Some(index)` into the spec's operations,
    /// `None` for an undocumented route.
    pub fn find_operation(&self, method: &str, path: &str) -> Option<usize> {
        let path = strip_base(&self.inner.base_path, path)?;
        self.inner.router.find(method, path)
    }

    /// Decides a whole request: finds its operation by method and path, then applies that
    /// operation's requirement (or the root requirement, or 404 when undocumented routes
    /// are denied).
    pub async fn authorize_request(&self, parts: &Parts) -> Result<Authenticated, Rejection> {
        let path = request_path(parts);
        let method = parts.method.as_str();
        match self.find_operation(method, path) {
            Some(index) => self.authorize_operation(parts, index).await,
            None if self.inner.deny_undocumented => Err(refusal::undocumented()),
            None => {
                let operation = OperationRef {
                    method,
                    path,
                    operation_id: None,
                };
                self.decide(parts, self.inner.spec.root, operation, None)
                    .await
            }
        }
    }

    /// Applies the requirement of the operation at `index` to a request.
    pub async fn authorize_operation(
        &self,
        parts: &Parts,
        index: usize,
    ) -> Result<Authenticated, Rejection> {
        let Some(op) = self.inner.spec.operations.get(index) else {
            return Err(Rejection::internal());
        };
        let operation = OperationRef {
            method: op.method,
            path: op.path,
            operation_id: op.operation_id,
        };
        self.decide(parts, op.requirement, operation, Some(index))
            .await
    }

    async fn decide(
        &self,
        parts: &Parts,
        requirement: Requirement,
        operation: OperationRef<'_>,
        index: Option<usize>,
    ) -> Result<Authenticated, Rejection> {
        let inner = &*self.inner;
        let grant = |alternative, principals| {
            Authenticated::new(inner.spec, index, alternative, principals)
        };
        if requirement.is_public() {
            return Ok(grant(None, Vec::new()));
        }
        let mut state = Evaluation::new(inner, parts, operation);
        let mut forbidden_seen = false;
        for (position, alternative) in requirement.alternatives.iter().enumerate() {
            if alternative.schemes.is_empty() {
                continue;
            }
            // Cheap presence check first, so a missing credential costs no verification.
            if alternative
                .schemes
                .iter()
                .any(|used| state.surely_fails(used.scheme))
            {
                continue;
            }
            let mut all_verified = true;
            let mut forbidden = false;
            for used in alternative.schemes {
                match state.outcome(used.scheme).await {
                    Outcome::Verified(principal) => {
                        if !used.roles.iter().all(|role| principal.has_role(role)) {
                            forbidden = true;
                        }
                    }
                    Outcome::Forbidden => forbidden = true,
                    Outcome::Unavailable => return Err(refusal::unavailable()),
                    Outcome::Absent | Outcome::Failed => {
                        all_verified = false;
                        break;
                    }
                }
            }
            if all_verified && !forbidden {
                let schemes = alternative.schemes;
                let principals = schemes
                    .iter()
                    .enumerate()
                    .map(|(at, used)| {
                        // A scheme named again later in this alternative keeps its entry.
                        let again = schemes[at + 1..].iter().any(|u| u.scheme == used.scheme);
                        state.take_principal(used.scheme, again)
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(Rejection::internal)?;
                return Ok(grant(Some(position), principals));
            }
            forbidden_seen |= all_verified && forbidden;
        }
        if requirement.allows_anonymous() {
            let mut presented = false;
            for scheme in requirement.scheme_indices() {
                if state.presented(scheme).await? {
                    presented = true;
                    break;
                }
            }
            if !presented {
                return Ok(grant(None, Vec::new()));
            }
        } else if forbidden_seen {
            return Err(refusal::forbidden(inner.spec, requirement));
        }
        Err(refusal::unauthorized(
            inner.spec,
            requirement,
            &inner.realm,
            state.detail(),
        ))
    }
}

/// The request path the spec's paths are relative to: axum's `OriginalUri` when a
/// `Router::nest` has cut the path, else the request's own.
fn request_path(parts: &Parts) -> &str {
    match parts.extensions.get::<axum::extract::OriginalUri>() {
        Some(original) => original.0.path(),
        None => parts.uri.path(),
    }
}

/// What became of one scheme for this request.
#[derive(Debug, Clone)]
enum Outcome {
    Verified(Principal),
    Forbidden,
    Failed,
    Absent,
    Unavailable,
}

/// Per-request memo: each scheme's credential is read once and verified at most once,
/// however many alternatives name it.
struct Evaluation<'a> {
    inner: &'a GuardInner,
    parts: &'a Parts,
    operation: OperationRef<'a>,
    /// One per scheme of the spec; no allocation for specs of up to `INLINE` schemes.
    slots: Slots,
    detail: &'static str,
}

/// Schemes whose slots live in the request's future rather than on the heap.
const INLINE: usize = 8;

/// The per-scheme slots of one request.
// Large on purpose: it lives in the request's (already boxed) future.
#[allow(clippy::large_enum_variant)]
enum Slots {
    Inline([Slot; INLINE]),
    Heap(Vec<Slot>),
}

impl Slots {
    fn new(count: usize) -> Slots {
        if count <= INLINE {
            Slots::Inline(Default::default())
        } else {
            Slots::Heap(vec![Slot::default(); count])
        }
    }
}

impl std::ops::Deref for Slots {
    type Target = [Slot];

    fn deref(&self) -> &[Slot] {
        match self {
            Slots::Inline(slots) => slots,
            Slots::Heap(slots) => slots,
        }
    }
}

impl std::ops::DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [Slot] {
        match self {
            Slots::Inline(slots) => slots,
            Slots::Heap(slots) => slots,
        }
    }
}

/// What one scheme has given so far in this request.
#[derive(Debug, Clone, Default)]
struct Slot {
    presented: Option<Presented>,
    outcome: Option<Outcome>,
}

impl<'a> Evaluation<'a> {
    fn new(inner: &'a GuardInner, parts: &'a Parts, operation: OperationRef<'a>) -> Self {
        let count = inner.spec.schemes.len();
        Evaluation {
            inner,
            parts,
            operation,
            slots: Slots::new(count),
            detail: refusal::DETAIL_INVALID,
        }
    }

    fn detail(&self) -> &'static str {
        self.detail
    }

    fn read(&mut self, scheme: usize) -> &Presented {
        let (inner, parts) = (self.inner, self.parts);
        self.slots[scheme]
            .presented
            .get_or_insert_with(|| match inner.readers.get(scheme) {
                Some(reader) => reader.read(parts),
                None => Presented::Absent,
            })
    }

    fn hook(&self, scheme: usize) -> Option<&'a Arc<dyn Hook>> {
        self.inner.hooks.get(scheme).and_then(Option::as_ref)
    }

    /// A scheme only a hook can verify (oauth2, mutualTLS, ...).
    fn needs_hook(&self, scheme: usize) -> bool {
        matches!(self.inner.readers.get(scheme), Some(Reader::Hooked))
    }

    /// True when the scheme fails without asking anyone: no usable credential.
    fn surely_fails(&mut self, scheme: usize) -> bool {
        if self.hook(scheme).is_some() {
            return false;
        }
        if self.needs_hook(scheme) {
            return true;
        }
        match self.read(scheme) {
            Presented::One(_) => false,
            Presented::Ambiguous => {
                self.detail = refusal::DETAIL_AMBIGUOUS;
                true
            }
            Presented::Absent | Presented::Malformed => true,
        }
    }

    /// Whether the request carries anything for the scheme (the `{}` rule, §4.2).
    async fn presented(&mut self, scheme: usize) -> Result<bool, Rejection> {
        if self.hook(scheme).is_some() {
            return match self.outcome(scheme).await {
                Outcome::Unavailable => Err(refusal::unavailable()),
                Outcome::Absent => Ok(false),
                _ => Ok(true),
            };
        }
        if self.needs_hook(scheme) {
            // No hook: an Authorization header is this scheme's token (oauth2,
            // openIdConnect, other http schemes), so `{}` must not quietly ignore it.
            let reads_authorization = !matches!(
                self.inner.spec.schemes.get(scheme).map(|s| s.kind),
                Some(SchemeKind::Hooked { kind: "mutualTLS" })
            );
            return Ok(reads_authorization && self.parts.headers.contains_key(AUTHORIZATION));
        }
        Ok(self.read(scheme).is_presented())
    }

    async fn outcome(&mut self, scheme: usize) -> &Outcome {
        if self.slots[scheme].outcome.is_none() {
            let outcome = self.evaluate(scheme).await;
            self.slots[scheme].outcome = Some(outcome);
        }
        // Set just above; the default is never used.
        self.slots[scheme].outcome.get_or_insert(Outcome::Failed)
    }

    /// The principal a verified scheme gave, moved out of the memo unless `keep`.
    fn take_principal(&mut self, scheme: usize, keep: bool) -> Option<Principal> {
        let outcome = &mut self.slots.get_mut(scheme)?.outcome;
        if keep {
            return match outcome {
                Some(Outcome::Verified(principal)) => Some(principal.clone()),
                _ => None,
            };
        }
        match outcome.take() {
            Some(Outcome::Verified(principal)) => Some(principal),
            _ => None,
        }
    }

    async fn evaluate(&mut self, scheme: usize) -> Outcome {
        let inner = self.inner;
        let Some(definition) = inner.spec.schemes.get(scheme) else {
            return Outcome::Failed;
        };
        let verdict = if let Some(hook) = self.hook(scheme) {
            hook.verify(self.parts, definition, self.operation).await
        } else if self.needs_hook(scheme) {
            tracing::debug!(scheme = definition.name, "no hook registered for scheme");
            return Outcome::Failed;
        } else {
            match self.read(scheme) {
                Presented::One(_) => {}
                Presented::Absent => return Outcome::Absent,
                Presented::Ambiguous => {
                    tracing::debug!(scheme = definition.name, "ambiguous credential");
                    self.detail = refusal::DETAIL_AMBIGUOUS;
                    return Outcome::Failed;
                }
                Presented::Malformed => {
                    tracing::debug!(scheme = definition.name, "malformed credential");
                    return Outcome::Failed;
                }
            }
            // Borrowed from the memo: the credential is not copied per verification.
            let Some(Presented::One(credential)) = &self.slots[scheme].presented else {
                return Outcome::Failed;
            };
            let request = VerifyRequest::new(definition, credential, self.operation)
                .within(RequestContext::new(inner.spec, self.parts));
            inner.verifier.verify_boxed(request).await
        };
        match verdict {
            Ok(Verdict::Granted(principal)) => Outcome::Verified(principal),
            Ok(Verdict::Forbidden(principal)) => {
                tracing::debug!(
                    scheme = definition.name,
                    principal = principal.id(),
                    "credential lacks permission"
                );
                Outcome::Forbidden
            }
            Ok(Verdict::Absent) => Outcome::Absent,
            Ok(Verdict::Invalid) => {
                tracing::debug!(scheme = definition.name, "credential invalid");
                Outcome::Failed
            }
            Ok(Verdict::Expired) => {
                tracing::debug!(scheme = definition.name, "credential expired");
                self.detail = refusal::DETAIL_EXPIRED;
                Outcome::Failed
            }
            Ok(Verdict::Revoked) => {
                tracing::debug!(scheme = definition.name, "credential revoked");
                self.detail = refusal::DETAIL_REVOKED;
                Outcome::Failed
            }
            Err(error) => {
                tracing::warn!(scheme = definition.name, %error, "verifier failed; answering 503");
                Outcome::Unavailable
            }
        }
    }
}
