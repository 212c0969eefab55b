//! Deciding one requirement for one request (docs/semantics.md §3, §4): read each
//! credential once, verify it at most once, pick the winning alternative, or refuse.

use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::request::Parts;

use crate::credential::{Presented, Reader};
use crate::memo::{Outcome, Slots};
use crate::refusal::{self, Detail, Refusals, Rejection};
use crate::spec::{Scheme, SchemeKind, Spec};
use crate::target::Applied;
use crate::verifier::{
    DynVerifier, Hook, OperationRef, Principal, RequestContext, Verdict, VerifyError, VerifyRequest,
};

/// What a decision needs besides the request: the spec, how to read each scheme, the
/// verifier, the hooks and the refusals.
#[derive(Clone)]
pub(crate) struct Decider {
    pub(crate) spec: &'static Spec,
    readers: Vec<Reader>,
    verifier: Arc<dyn DynVerifier>,
    hooks: Vec<Option<Arc<dyn Hook>>>,
    /// Built from `spec` and the realm as operations first refuse.
    pub(crate) refusals: Refusals,
}

impl Decider {
    pub(crate) fn new(spec: &'static Spec, verifier: Arc<dyn DynVerifier>) -> Decider {
        Decider {
            spec,
            readers: spec
                .schemes
                .iter()
                .map(|s| Reader::for_scheme(&s.kind))
                .collect(),
            verifier,
            hooks: vec![None; spec.schemes.len()],
            refusals: Refusals::new(spec, "api"),
        }
    }

    pub(crate) fn set_hook(&mut self, scheme: usize, hook: Arc<dyn Hook>) {
        self.hooks[scheme] = Some(hook);
    }

    /// Applies `applied` to a request. Among the alternatives that pass, the one with
    /// the most schemes wins (ties: the first), so the handler sees every principal it
    /// can.
    pub(crate) async fn decide(&self, parts: &Parts, applied: Applied) -> Result<Grant, Rejection> {
        let Applied {
            operation: index,
            requirement,
        } = applied;
        let grant = |alternative, principals| Grant {
            operation: index,
            alternative,
            principals,
        };
        if requirement.is_public() {
            return Ok(grant(None, Principals::NONE));
        }
        let mut state = Evaluation::new(self, parts, operation_ref(self.spec, parts, applied));
        let mut forbidden_seen = false;
        let mut winner: Option<usize> = None;
        for (position, alternative) in requirement.alternatives.iter().enumerate() {
            let beaten = winner.is_some_and(|best| {
                requirement.alternatives[best].schemes.len() >= alternative.schemes.len()
            });
            if alternative.schemes.is_empty() || beaten {
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
                winner = Some(position);
            }
            forbidden_seen |= all_verified && forbidden;
        }
        if let Some(position) = winner {
            let schemes = requirement.alternatives[position].schemes;
            let principals = if let [only] = schemes {
                state.principal(only.scheme).map(Principals::One)
            } else {
                schemes
                    .iter()
                    .map(|used| state.principal(used.scheme))
                    .collect::<Option<Vec<_>>>()
                    .map(Principals::Many)
            }
            .ok_or_else(Rejection::internal)?;
            return Ok(grant(Some(position), principals));
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
                return Ok(grant(None, Principals::NONE));
            }
        } else if forbidden_seen {
            return Err(self.refusals.forbidden(index));
        }
        Err(self.refusals.unauthorized(index, state.detail))
    }
}

/// A granted request: its operation (`None`: undocumented), the winning alternative
/// (`None`: public or anonymous) and that alternative's principals.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) operation: Option<usize>,
    pub(crate) alternative: Option<usize>,
    pub(crate) principals: Principals,
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

    pub(crate) fn as_slice(&self) -> &[Principal] {
        match self {
            Principals::One(principal) => std::slice::from_ref(principal),
            Principals::Many(principals) => principals,
        }
    }

    pub(crate) fn into_vec(self) -> Vec<Principal> {
        match self {
            Principals::One(principal) => vec![principal],
            Principals::Many(principals) => principals,
        }
    }
}

/// The operation as verifiers see it: the documented one, or the request's own method
/// and path for an undocumented route.
fn operation_ref<'p>(spec: &'static Spec, parts: &'p Parts, applied: Applied) -> OperationRef<'p> {
    match applied.operation.and_then(|i| spec.operations.get(i)) {
        Some(op) => OperationRef {
            method: op.method,
            path: op.path,
            operation_id: op.operation_id,
        },
        None => OperationRef {
            method: parts.method.as_str(),
            path: parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map_or(parts.uri.path(), |original| original.0.path()),
            operation_id: None,
        },
    }
}

/// One decision in progress: the request and what each scheme gave so far.
struct Evaluation<'d, 'p> {
    decider: &'d Decider,
    parts: &'p Parts,
    operation: OperationRef<'p>,
    slots: Slots<'p>,
    /// What a 401 says: the last expired, revoked or repeated credential met.
    detail: Detail,
}

impl<'d, 'p> Evaluation<'d, 'p> {
    fn new(decider: &'d Decider, parts: &'p Parts, operation: OperationRef<'p>) -> Self {
        Evaluation {
            decider,
            parts,
            operation,
            slots: Slots::new(),
            detail: Detail::Invalid,
        }
    }

    fn read(&mut self, scheme: usize) -> &Presented<'p> {
        let (readers, parts) = (&self.decider.readers, self.parts);
        self.slots
            .slot(scheme)
            .presented
            .get_or_insert_with(|| match readers.get(scheme) {
                Some(reader) => reader.read(parts),
                None => Presented::Absent,
            })
    }

    fn hook(&self, scheme: usize) -> Option<&'d Arc<dyn Hook>> {
        self.decider.hooks.get(scheme).and_then(Option::as_ref)
    }

    /// A scheme only a hook can verify (oauth2, mutualTLS, ...).
    fn needs_hook(&self, scheme: usize) -> bool {
        matches!(self.decider.readers.get(scheme), Some(Reader::Hooked))
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
                self.detail = Detail::Ambiguous;
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
                self.decider.spec.schemes.get(scheme).map(|s| s.kind),
                Some(SchemeKind::Hooked { kind: "mutualTLS" })
            );
            return Ok(reads_authorization && self.parts.headers.contains_key(AUTHORIZATION));
        }
        Ok(self.read(scheme).is_presented())
    }

    /// The scheme's outcome, verified the first time it is asked for.
    async fn outcome(&mut self, scheme: usize) -> &Outcome {
        if self.slots.slot(scheme).outcome.is_none() {
            let outcome = self.evaluate(scheme).await;
            self.slots.slot(scheme).outcome = Some(outcome);
        }
        // Set just above; the default is never used.
        self.slots
            .slot(scheme)
            .outcome
            .get_or_insert(Outcome::Failed)
    }

    /// The principal a verified scheme gave.
    fn principal(&self, scheme: usize) -> Option<Principal> {
        match &self.slots.get(scheme)?.outcome {
            Some(Outcome::Verified(principal)) => Some(principal.clone()),
            _ => None,
        }
    }

    /// Reads the scheme's credential and asks its hook or the verifier about it.
    async fn evaluate(&mut self, scheme: usize) -> Outcome {
        let decider = self.decider;
        let Some(definition) = decider.spec.schemes.get(scheme) else {
            return Outcome::Failed;
        };
        if let Some(hook) = self.hook(scheme) {
            let verdict = hook.verify(self.parts, definition, self.operation).await;
            return self.outcome_of(definition, verdict);
        }
        if self.needs_hook(scheme) {
            tracing::debug!(scheme = definition.name, "no hook registered for scheme");
            return Outcome::Failed;
        }
        match self.read(scheme) {
            Presented::One(_) => {}
            Presented::Absent => return Outcome::Absent,
            Presented::Ambiguous => {
                tracing::debug!(scheme = definition.name, "ambiguous credential");
                self.detail = Detail::Ambiguous;
                return Outcome::Failed;
            }
            Presented::Malformed => {
                tracing::debug!(scheme = definition.name, "malformed credential");
                return Outcome::Failed;
            }
        }
        let verdict = match self.question(scheme, definition) {
            Some(question) => decider.verifier.verify_boxed(question).await,
            None => return Outcome::Failed,
        };
        self.outcome_of(definition, verdict)
    }

    /// What the verifier is asked for a scheme whose credential was read; the credential
    /// is lent from the memo, not copied.
    fn question(&self, scheme: usize, definition: &'d Scheme) -> Option<VerifyRequest<'_>> {
        let Some(Presented::One(held)) = &self.slots.get(scheme)?.presented else {
            return None;
        };
        Some(
            VerifyRequest::new(definition, held.lend(), self.operation)
                .within(RequestContext::new(self.decider.spec, self.parts)),
        )
    }

    fn outcome_of(
        &mut self,
        definition: &Scheme,
        verdict: Result<Verdict, VerifyError>,
    ) -> Outcome {
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
                self.detail = Detail::Expired;
                Outcome::Failed
            }
            Ok(Verdict::Revoked) => {
                tracing::debug!(scheme = definition.name, "credential revoked");
                self.detail = Detail::Revoked;
                Outcome::Failed
            }
            Ok(Verdict::Disabled) => {
                tracing::debug!(scheme = definition.name, "credential disabled");
                self.detail = Detail::Disabled;
                Outcome::Failed
            }
            Err(error) => {
                tracing::warn!(scheme = definition.name, %error, "verifier failed; answering 503");
                Outcome::Unavailable
            }
        }
    }
}
