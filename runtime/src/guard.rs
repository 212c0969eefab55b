//! The guard: a spec's tables plus the app's verifier, hooks and options. It finds the
//! operation (§2), reads credentials (§3), decides (§4) and refuses (§5).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::request::Parts;

use crate::credential::{Presented, Reader};
use crate::extract::{Authenticated, Principals};
use crate::refusal::{self, Detail, Refusals, Rejection};
use crate::spec::{Scheme, SchemeKind, Spec};
use crate::target::{Applied, Routing, Target, Undocumented};
use crate::verifier::{
    DynVerifier, Hook, OperationRef, Principal, RequestContext, Verdict, Verifier, VerifyError,
    VerifyRequest,
};

/// Enforces one spec. Cheap to clone; build it once at start-up.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<GuardInner>,
}

#[derive(Clone)]
struct GuardInner {
    spec: &'static Spec,
    routing: Routing,
    readers: Vec<Reader>,
    verifier: Arc<dyn DynVerifier>,
    hooks: Vec<Option<Arc<dyn Hook>>>,
    /// Built from `spec` and the realm as operations first refuse.
    refusals: Refusals,
    seen: Seen,
}

/// Whether the verifier (or a hook) has answered at once, or had to be awaited. A guard
/// whose verifier has only ever been awaited skips the synchronous try: it would
/// only add work before the same wait.
#[derive(Default)]
struct Seen {
    answered_now: AtomicBool,
    waited: AtomicBool,
}

impl Seen {
    fn try_now(&self) -> bool {
        self.answered_now.load(Ordering::Relaxed) || !self.waited.load(Ordering::Relaxed)
    }

    fn mark(flag: &AtomicBool) {
        // Read first: once set, requests only read the shared line.
        if !flag.load(Ordering::Relaxed) {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

impl Clone for Seen {
    fn clone(&self) -> Seen {
        Seen {
            answered_now: AtomicBool::new(self.answered_now.load(Ordering::Relaxed)),
            waited: AtomicBool::new(self.waited.load(Ordering::Relaxed)),
        }
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Guard")
            .field("spec", &inner.spec.title)
            .field("undocumented", &inner.routing.undocumented())
            .field("base_path", &inner.routing.base_path())
            .field("realm", &inner.refusals.realm())
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
        let routing = Routing::new(spec)
            .unwrap_or_else(|message| panic!("keygate: invalid spec tables: {message}"));
        Guard {
            inner: Arc::new(GuardInner {
                spec,
                routing,
                readers: spec
                    .schemes
                    .iter()
                    .map(|s| Reader::for_scheme(&s.kind))
                    .collect(),
                verifier: Arc::new(verifier),
                hooks: vec![None; spec.schemes.len()],
                refusals: Refusals::new(spec, "api"),
                seen: Seen::default(),
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
        let inner = self.inner_mut();
        inner.refusals = Refusals::new(inner.spec, &realm);
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
            // Each operation with its own memo: a verdict depends on the operation.
            let applied = self.applied(also);
            self.run(parts, applied, &mut Memo::new())
                .await
                .map_err(Stop::into_rejection)?;
        }
        self.run(parts, target.applied, &mut Memo::new())
            .await
            .map_err(Stop::into_rejection)
    }

    /// Decides a request as far as it can without waiting: for verifiers that answer
    /// at once ([`Verifier::verify_now`]) the layer needs no future of its own.
    pub(crate) fn authorize_now<'p>(&self, parts: &'p Parts) -> Early<'p> {
        if !self.inner.seen.try_now() {
            return Early::Later;
        }
        let applied = match self.inner.routing.target(parts) {
            Ok(Target { applied, also }) if also.is_empty() => applied,
            // Several operations at once are rare; the whole decision handles them.
            Ok(_) => return Early::Later,
            Err(rejection) => return Early::Done(Err(rejection)),
        };
        let mut memo = Memo::new();
        let decided = {
            let operation = self.operation_ref(parts, applied);
            let mut state = Evaluation::new(&self.inner, parts, operation, &mut memo);
            self.decide(&mut state, applied)
        };
        match decided {
            Ok(granted) => Early::Done(Ok(granted)),
            Err(Stop::Refused(rejection)) => Early::Done(Err(rejection)),
            Err(Stop::Wait(_)) => Early::Wait(Resume { applied, memo }),
        }
    }

    /// Finishes a decision [`authorize_now`](Guard::authorize_now) had to leave, from its
    /// memo: nothing read or verified so far is done again.
    pub(crate) async fn resume<'p>(
        &self,
        parts: &'p Parts,
        resume: &mut Resume<'p>,
    ) -> Result<Authenticated, Rejection> {
        self.run(parts, resume.applied, &mut resume.memo)
            .await
            .map_err(Stop::into_rejection)
    }

    /// The requirement of the operation at `index`.
    fn applied(&self, index: usize) -> Applied {
        Applied {
            operation: Some(index),
            requirement: self.inner.spec.operations[index].requirement,
        }
    }

    /// The operation as verifiers see it.
    fn operation_ref<'p>(&self, parts: &'p Parts, applied: Applied) -> OperationRef<'p> {
        match applied
            .operation
            .and_then(|i| self.inner.spec.operations.get(i))
        {
            Some(op) => OperationRef {
                method: op.method,
                path: op.path,
                operation_id: op.operation_id,
            },
            None => OperationRef {
                method: parts.method.as_str(),
                path: request_path(parts),
                operation_id: None,
            },
        }
    }

    /// Decides, awaiting the hooks and verifiers that cannot answer at once, one at a
    /// time: each answer goes into the memo and the decision runs again from there.
    async fn run<'p>(
        &self,
        parts: &'p Parts,
        applied: Applied,
        memo: &mut Memo<'p>,
    ) -> Result<Authenticated, Stop> {
        let operation = self.operation_ref(parts, applied);
        let mut state = Evaluation::new(&self.inner, parts, operation, memo);
        loop {
            match self.decide(&mut state, applied) {
                Err(Stop::Wait(scheme)) => {
                    let outcome = state.wait_for(scheme).await;
                    state.memo.slots.slot(scheme).outcome = Some(outcome);
                }
                decided => return decided,
            }
        }
    }

    /// Applies the requirement of the operation at `index` to a request.
    pub async fn authorize_operation(
        &self,
        parts: &Parts,
        index: usize,
    ) -> Result<Authenticated, Rejection> {
        if index >= self.inner.spec.operations.len() {
            return Err(Rejection::internal());
        }
        self.run(parts, self.applied(index), &mut Memo::new())
            .await
            .map_err(Stop::into_rejection)
    }

    /// The decision, without waiting: a scheme whose answer must be awaited stops it
    /// with `Stop::Wait`, and what it had gathered stays in the memo for the next pass.
    fn decide(
        &self,
        state: &mut Evaluation<'_, '_>,
        applied: Applied,
    ) -> Result<Authenticated, Stop> {
        state.memo.ambiguous_met = 0;
        let decided = self.decide_pass(state, applied);
        if let Err(Stop::Wait(_)) = decided {
            state.memo.ambiguous_replayed = state.memo.ambiguous_met;
        }
        decided
    }

    /// One pass over the alternatives. Among those that pass, the one with the most
    /// schemes wins (ties: the first), so the handler sees every principal it can.
    fn decide_pass(
        &self,
        state: &mut Evaluation<'_, '_>,
        applied: Applied,
    ) -> Result<Authenticated, Stop> {
        let inner = &*self.inner;
        let Applied {
            operation: index,
            requirement,
        } = applied;
        let grant = |alternative, principals| {
            Authenticated::new(inner.spec, index, alternative, principals)
        };
        if requirement.is_public() {
            return Ok(grant(None, Principals::NONE));
        }
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
                match state.outcome(used.scheme)? {
                    Outcome::Verified(principal) => {
                        if !used.roles.iter().all(|role| principal.has_role(role)) {
                            forbidden = true;
                        }
                    }
                    Outcome::Forbidden => forbidden = true,
                    Outcome::Unavailable => return Err(refusal::unavailable().into()),
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
                state
                    .take_principal(only.scheme, false)
                    .map(Principals::One)
            } else {
                schemes
                    .iter()
                    .enumerate()
                    .map(|(at, used)| {
                        // A scheme named again later in this alternative keeps its entry.
                        let again = schemes[at + 1..].iter().any(|u| u.scheme == used.scheme);
                        state.take_principal(used.scheme, again)
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(Principals::Many)
            }
            .ok_or_else(Rejection::internal)?;
            return Ok(grant(Some(position), principals));
        }
        if requirement.allows_anonymous() {
            let mut presented = false;
            for scheme in requirement.scheme_indices() {
                if state.presented(scheme)? {
                    presented = true;
                    break;
                }
            }
            if !presented {
                return Ok(grant(None, Principals::NONE));
            }
        } else if forbidden_seen {
            return Err(inner.refusals.forbidden(index).into());
        }
        Err(inner.refusals.unauthorized(index, state.detail()).into())
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
struct Evaluation<'e, 'p> {
    inner: &'e GuardInner,
    parts: &'p Parts,
    operation: OperationRef<'p>,
    /// Borrowed, not moved: it is large, and the layer keeps it across a wait.
    memo: &'e mut Memo<'p>,
}

/// What a decision has gathered: carried from the layer's synchronous try to the
/// awaited rest, so nothing is read or verified twice.
pub(crate) struct Memo<'p> {
    slots: Slots<'p>,
    detail: Detail,
    /// Ambiguous credentials met in this pass of the decision, and how many of them the
    /// pass before it (stopped by a wait) had met: a pass that runs again meets those
    /// again, and must not let them overwrite what the wait found since.
    ambiguous_met: usize,
    ambiguous_replayed: usize,
}

impl<'p> Memo<'p> {
    fn new() -> Memo<'p> {
        Memo {
            slots: Slots::new(),
            detail: Detail::Invalid,
            ambiguous_met: 0,
            ambiguous_replayed: 0,
        }
    }

    fn meet_ambiguous(&mut self) {
        if self.ambiguous_met >= self.ambiguous_replayed {
            self.detail = Detail::Ambiguous;
        }
        self.ambiguous_met += 1;
    }
}

/// A decision made without waiting, or the point where it has to wait.
// Large on purpose: the memo moves once, into the waiting future (boxed anyway).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Early<'p> {
    Done(Result<Authenticated, Rejection>),
    Wait(Resume<'p>),
    /// Not tried: decide it all with [`Guard::authorize_request`].
    Later,
}

/// Where [`Guard::authorize_now`] stopped.
pub(crate) struct Resume<'p> {
    applied: Applied,
    memo: Memo<'p>,
}

impl Resume<'_> {
    /// The same, holding copies of the credentials read so far: the waiting future owns
    /// the request, so it cannot also borrow from it.
    pub(crate) fn into_owned(self) -> Resume<'static> {
        let Memo {
            slots,
            detail,
            ambiguous_met,
            ambiguous_replayed,
        } = self.memo;
        Resume {
            applied: self.applied,
            memo: Memo {
                slots: slots.into_owned(),
                detail,
                ambiguous_met,
                ambiguous_replayed,
            },
        }
    }
}

/// Why a decision ended without a grant.
enum Stop {
    Refused(Rejection),
    /// The hook or verifier of this scheme must be awaited.
    Wait(usize),
}

impl From<Rejection> for Stop {
    fn from(rejection: Rejection) -> Stop {
        Stop::Refused(rejection)
    }
}

impl Stop {
    fn into_rejection(self) -> Rejection {
        match self {
            Stop::Refused(rejection) => rejection,
            // `run` awaits every scheme that stops a decision, so none ends here; if
            // one did, it is refused, never passed.
            Stop::Wait(_) => Rejection::internal(),
        }
    }
}

/// Schemes whose slots live in place; a decision that touches more spills to the heap.
/// Few touch more than two (the AND of a key pair, or a key OR a token).
const INLINE: usize = 3;
/// Marks an inline slot no scheme holds yet.
const FREE: usize = usize::MAX;

/// The slots of one request: one for each scheme the decision touches (not each scheme
/// of the spec), found by scheme index. A requirement names a few schemes, so the memo
/// stays small whatever the spec defines, and it is set up and dropped cheaply.
struct Slots<'p> {
    owners: [usize; INLINE],
    inline: [Slot<'p>; INLINE],
    spilled: Vec<(usize, Slot<'p>)>,
}

impl<'p> Slots<'p> {
    fn new() -> Slots<'p> {
        Slots {
            owners: [FREE; INLINE],
            inline: Default::default(),
            spilled: Vec::new(),
        }
    }

    fn into_owned(self) -> Slots<'static> {
        Slots {
            owners: self.owners,
            inline: self.inline.map(Slot::into_owned),
            spilled: self
                .spilled
                .into_iter()
                .map(|(owner, slot)| (owner, slot.into_owned()))
                .collect(),
        }
    }

    /// The slot of `scheme`, if the decision has touched it (to read).
    fn get(&self, scheme: usize) -> Option<&Slot<'p>> {
        match self.owners.iter().position(|&owner| owner == scheme) {
            Some(at) => Some(&self.inline[at]),
            None => self
                .spilled
                .iter()
                .find(|(owner, _)| *owner == scheme)
                .map(|(_, slot)| slot),
        }
    }

    /// The slot of `scheme`, if the decision has touched it.
    fn get_mut(&mut self, scheme: usize) -> Option<&mut Slot<'p>> {
        match self.owners.iter().position(|&owner| owner == scheme) {
            Some(at) => Some(&mut self.inline[at]),
            None => self
                .spilled
                .iter_mut()
                .find(|(owner, _)| *owner == scheme)
                .map(|(_, slot)| slot),
        }
    }

    /// The slot of `scheme`, taken now if the decision has not touched it yet.
    fn slot(&mut self, scheme: usize) -> &mut Slot<'p> {
        if let Some(at) = self.owners.iter().position(|&owner| owner == scheme) {
            return &mut self.inline[at];
        }
        if let Some(at) = self.owners.iter().position(|&owner| owner == FREE) {
            self.owners[at] = scheme;
            return &mut self.inline[at];
        }
        let at = match self.spilled.iter().position(|(owner, _)| *owner == scheme) {
            Some(at) => at,
            None => {
                self.spilled.push((scheme, Slot::default()));
                self.spilled.len() - 1
            }
        };
        &mut self.spilled[at].1
    }
}

/// What one scheme has given so far in this request.
#[derive(Debug, Clone, Default)]
struct Slot<'p> {
    presented: Option<Presented<'p>>,
    outcome: Option<Outcome>,
}

impl Slot<'_> {
    fn into_owned(self) -> Slot<'static> {
        Slot {
            presented: self.presented.map(Presented::into_owned),
            outcome: self.outcome,
        }
    }
}

impl<'e, 'p> Evaluation<'e, 'p> {
    fn new(
        inner: &'e GuardInner,
        parts: &'p Parts,
        operation: OperationRef<'p>,
        memo: &'e mut Memo<'p>,
    ) -> Self {
        Evaluation {
            inner,
            parts,
            operation,
            memo,
        }
    }

    fn detail(&self) -> Detail {
        self.memo.detail
    }

    fn read(&mut self, scheme: usize) -> &Presented<'p> {
        let (inner, parts) = (self.inner, self.parts);
        self.memo
            .slots
            .slot(scheme)
            .presented
            .get_or_insert_with(|| match inner.readers.get(scheme) {
                Some(reader) => reader.read(parts),
                None => Presented::Absent,
            })
    }

    fn hook(&self, scheme: usize) -> Option<&'e Arc<dyn Hook>> {
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
                self.memo.meet_ambiguous();
                true
            }
            Presented::Absent | Presented::Malformed => true,
        }
    }

    /// Whether the request carries anything for the scheme (the `{}` rule, §4.2).
    fn presented(&mut self, scheme: usize) -> Result<bool, Stop> {
        if self.hook(scheme).is_some() {
            return match self.outcome(scheme)? {
                Outcome::Unavailable => Err(refusal::unavailable().into()),
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

    fn outcome(&mut self, scheme: usize) -> Result<&Outcome, Stop> {
        if self.memo.slots.slot(scheme).outcome.is_none() {
            let outcome = self.evaluate(scheme).ok_or(Stop::Wait(scheme))?;
            self.memo.slots.slot(scheme).outcome = Some(outcome);
        }
        // Set just above; the default is never used.
        Ok(self
            .memo
            .slots
            .slot(scheme)
            .outcome
            .get_or_insert(Outcome::Failed))
    }

    /// The principal a verified scheme gave, moved out of the memo unless `keep`.
    fn take_principal(&mut self, scheme: usize, keep: bool) -> Option<Principal> {
        let outcome = &mut self.memo.slots.get_mut(scheme)?.outcome;
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

    /// The scheme's outcome when it can be had at once; `None` when its hook or the
    /// verifier must be awaited ([`Evaluation::wait_for`]).
    fn evaluate(&mut self, scheme: usize) -> Option<Outcome> {
        let inner = self.inner;
        let Some(definition) = inner.spec.schemes.get(scheme) else {
            return Some(Outcome::Failed);
        };
        if self.hook(scheme).is_some() {
            return None;
        }
        if self.needs_hook(scheme) {
            tracing::debug!(scheme = definition.name, "no hook registered for scheme");
            return Some(Outcome::Failed);
        }
        match self.read(scheme) {
            Presented::One(_) => {}
            Presented::Absent => return Some(Outcome::Absent),
            Presented::Ambiguous => {
                tracing::debug!(scheme = definition.name, "ambiguous credential");
                self.memo.detail = Detail::Ambiguous;
                return Some(Outcome::Failed);
            }
            Presented::Malformed => {
                tracing::debug!(scheme = definition.name, "malformed credential");
                return Some(Outcome::Failed);
            }
        }
        let verdict = inner
            .verifier
            .verify_now_dyn(self.question(scheme, definition)?)?;
        Seen::mark(&inner.seen.answered_now);
        Some(self.outcome_of(definition, verdict))
    }

    /// Awaits the hook, or the verifier, for a scheme [`Evaluation::evaluate`] could not
    /// answer at once.
    async fn wait_for(&mut self, scheme: usize) -> Outcome {
        let inner = self.inner;
        let Some(definition) = inner.spec.schemes.get(scheme) else {
            return Outcome::Failed;
        };
        Seen::mark(&inner.seen.waited);
        let verdict = match self.hook(scheme) {
            Some(hook) => hook.verify(self.parts, definition, self.operation).await,
            None => match self.question(scheme, definition) {
                Some(question) => inner.verifier.verify_boxed(question).await,
                None => return Outcome::Failed,
            },
        };
        self.outcome_of(definition, verdict)
    }

    /// What the verifier is asked for a scheme whose credential was read; the credential
    /// is lent from the memo, not copied.
    fn question(&self, scheme: usize, definition: &'e Scheme) -> Option<VerifyRequest<'_>> {
        let Some(Presented::One(held)) = &self.memo.slots.get(scheme)?.presented else {
            return None;
        };
        Some(
            VerifyRequest::new(definition, held.lend(), self.operation)
                .within(RequestContext::new(self.inner.spec, self.parts)),
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
                self.memo.detail = Detail::Expired;
                Outcome::Failed
            }
            Ok(Verdict::Revoked) => {
                tracing::debug!(scheme = definition.name, "credential revoked");
                self.memo.detail = Detail::Revoked;
                Outcome::Failed
            }
            Err(error) => {
                tracing::warn!(scheme = definition.name, %error, "verifier failed; answering 503");
                Outcome::Unavailable
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Held;
    use crate::verifier::CredentialRef;

    /// Slots past the inline ones spill to the heap and are found again, each its own;
    /// copies for a wait keep every slot.
    #[test]
    fn slots_beyond_the_inline_ones_keep_their_schemes() {
        let keys: Vec<String> = (0..2 * INLINE).map(|n| format!("key-{n}")).collect();
        let mut slots = Slots::new();
        // Touched out of order, as alternatives touch schemes.
        for scheme in (0..keys.len()).rev() {
            let slot = slots.slot(10 * scheme);
            assert!(slot.presented.is_none(), "scheme {scheme} starts empty");
            slot.presented = Some(Presented::One(Held::Lent(CredentialRef::key(
                &keys[scheme],
            ))));
        }
        assert_eq!(slots.spilled.len(), keys.len() - INLINE);
        assert!(
            slots.get_mut(7).is_none(),
            "an untouched scheme has no slot"
        );
        let owned = slots.into_owned();
        let mut slots: Slots<'_> = owned;
        for (scheme, key) in keys.iter().enumerate() {
            match slots
                .get_mut(10 * scheme)
                .and_then(|slot| slot.presented.as_ref())
            {
                Some(Presented::One(held @ Held::Owned(_))) => {
                    assert_eq!(held.lend().secret(), key)
                }
                other => panic!("scheme {scheme}: {other:?}"),
            }
        }
    }
}
