//! What the runtime asks of the app: a [`Verifier`] for key schemes and [`Hook`]s for
//! schemes keygate cannot verify itself.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::request::Parts;

use crate::credential::{Presented, Reader};
// Defined with their reading; verifiers meet them here.
pub use crate::credential::{Credential, CredentialKind, CredentialRef};
#[cfg(feature = "keys")]
use crate::keys::KeyRecord;
use crate::spec::{Scheme, Spec};

/// A boxed, sendable future, as the object-safe traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who a verified credential belongs to. Handlers read it from the extractors.
///
/// Cloning is cheap: the parts are shared, never copied.
#[derive(Clone)]
pub struct Principal {
    repr: Repr,
}

/// The principal's parts: built by hand, or lent by a key's record (the keyring's grants
/// cost no copy of the record's strings).
#[derive(Clone)]
enum Repr {
    Parts(Arc<PrincipalParts>),
    #[cfg(feature = "keys")]
    Key(Arc<KeyRecord>),
}

#[derive(Clone, Default)]
struct PrincipalParts {
    id: String,
    name: Option<String>,
    owner: Option<String>,
    roles: BTreeSet<String>,
    metadata: serde_json::Map<String, serde_json::Value>,
}

impl Principal {
    /// A principal with this public id (a key id, a user id; never a secret).
    pub fn new(id: impl Into<String>) -> Principal {
        Principal {
            repr: Repr::Parts(Arc::new(PrincipalParts {
                id: id.into(),
                ..PrincipalParts::default()
            })),
        }
    }

    /// The principal of a verified key: its id, name, owner and roles, shared with the
    /// record.
    #[cfg(feature = "keys")]
    pub(crate) fn of_key(record: Arc<KeyRecord>) -> Principal {
        Principal {
            repr: Repr::Key(record),
        }
    }

    /// The parts, copied out of a key's record first when they are shared with one.
    fn parts_mut(&mut self) -> &mut PrincipalParts {
        #[cfg(feature = "keys")]
        if let Repr::Key(record) = &self.repr {
            let parts = PrincipalParts {
                id: record.id.clone(),
                name: Some(record.name.clone()),
                owner: record.owner.clone(),
                roles: record.roles.clone(),
                metadata: record.metadata.clone(),
            };
            self.repr = Repr::Parts(Arc::new(parts));
        }
        match &mut self.repr {
            Repr::Parts(parts) => Arc::make_mut(parts),
            // Replaced just above.
            #[cfg(feature = "keys")]
            Repr::Key(_) => unreachable!("principal parts were just copied"),
        }
    }

    /// Adds roles.
    pub fn with_roles<I, R>(mut self, roles: I) -> Principal
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        let mut roles = roles.into_iter().peekable();
        if roles.peek().is_some() {
            self.parts_mut().roles.extend(roles.map(Into::into));
        }
        self
    }

    /// Sets a display name (a key's name).
    pub fn with_name(mut self, name: impl Into<String>) -> Principal {
        self.parts_mut().name = Some(name.into());
        self
    }

    /// Sets the owner (user, team, service).
    pub fn with_owner(mut self, owner: impl Into<String>) -> Principal {
        self.parts_mut().owner = Some(owner.into());
        self
    }

    /// Whether a key's record stands behind this principal (a keyring's grant).
    #[cfg(feature = "admin")]
    pub(crate) fn is_key(&self) -> bool {
        matches!(self.repr, Repr::Key(_))
    }

    /// The public id.
    pub fn id(&self) -> &str {
        match &self.repr {
            Repr::Parts(parts) => &parts.id,
            #[cfg(feature = "keys")]
            Repr::Key(record) => &record.id,
        }
    }

    /// The display name, if any.
    pub fn name(&self) -> Option<&str> {
        match &self.repr {
            Repr::Parts(parts) => parts.name.as_deref(),
            #[cfg(feature = "keys")]
            Repr::Key(record) => Some(&record.name),
        }
    }

    /// The owner, if any.
    pub fn owner(&self) -> Option<&str> {
        match &self.repr {
            Repr::Parts(parts) => parts.owner.as_deref(),
            #[cfg(feature = "keys")]
            Repr::Key(record) => record.owner.as_deref(),
        }
    }

    /// The app's own data about the principal: a key's metadata (empty when it has
    /// none), or what [`Principal::with_metadata`] set.
    pub fn metadata(&self) -> &serde_json::Map<String, serde_json::Value> {
        match &self.repr {
            Repr::Parts(parts) => &parts.metadata,
            #[cfg(feature = "keys")]
            Repr::Key(record) => &record.metadata,
        }
    }

    /// Sets the metadata.
    pub fn with_metadata(
        mut self,
        metadata: serde_json::Map<String, serde_json::Value>,
    ) -> Principal {
        self.parts_mut().metadata = metadata;
        self
    }

    /// The roles held.
    pub fn roles(&self) -> &BTreeSet<String> {
        match &self.repr {
            Repr::Parts(parts) => &parts.roles,
            #[cfg(feature = "keys")]
            Repr::Key(record) => &record.roles,
        }
    }

    /// Whether the role is held.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().contains(role)
    }
}

impl PartialEq for Principal {
    fn eq(&self, other: &Principal) -> bool {
        (self.id(), self.name(), self.owner(), self.roles())
            == (other.id(), other.name(), other.owner(), other.roles())
    }
}

impl Eq for Principal {}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the public parts; a key's record also holds its secret's hashes.
        f.debug_struct("Principal")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("owner", &self.owner())
            .field("roles", self.roles())
            .finish()
    }
}

/// The operation a request is for, as the verifier sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationRef<'a> {
    /// The request method (`GET`), after HEAD-to-GET fallback.
    pub method: &'a str,
    /// The documented path template, or the request path for undocumented routes.
    pub path: &'a str,
    /// The `operationId`, when the route is documented and has one.
    pub operation_id: Option<&'a str>,
}

/// One verification question: does this credential verify for this scheme and operation?
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    /// The scheme the credential was read for.
    pub scheme: &'a Scheme,
    /// The credential, lent for the question.
    pub credential: CredentialRef<'a>,
    /// The operation being called.
    pub operation: OperationRef<'a>,
    /// The whole request, for verifiers that read a second scheme's credential (a key id
    /// in one header, its secret in another). `None` outside a guard.
    pub request: Option<RequestContext<'a>>,
}

impl<'a> VerifyRequest<'a> {
    /// A question about a lone credential, with no request around it.
    pub fn new(
        scheme: &'a Scheme,
        credential: impl Into<CredentialRef<'a>>,
        operation: OperationRef<'a>,
    ) -> VerifyRequest<'a> {
        VerifyRequest {
            scheme,
            credential: credential.into(),
            operation,
            request: None,
        }
    }

    /// The same question, asked inside `request`.
    pub fn within(mut self, request: RequestContext<'a>) -> VerifyRequest<'a> {
        self.request = Some(request);
        self
    }
}

/// The request a credential came from, and the spec that says where each scheme's
/// credential is.
#[derive(Clone, Copy)]
pub struct RequestContext<'a> {
    spec: &'static Spec,
    parts: &'a Parts,
}

impl fmt::Debug for RequestContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers may hold secrets: show only what the request is for.
        f.debug_struct("RequestContext")
            .field("method", &self.parts.method)
            .field("path", &self.parts.uri.path())
            .finish_non_exhaustive()
    }
}

impl<'a> RequestContext<'a> {
    /// The request `parts`, read by the rules of `spec`.
    pub fn new(spec: &'static Spec, parts: &'a Parts) -> RequestContext<'a> {
        RequestContext { spec, parts }
    }

    /// The request's head.
    pub fn parts(&self) -> &'a Parts {
        self.parts
    }

    /// The credential the request carries for the scheme named `scheme`, read as §3
    /// says. `None` when the scheme is unknown, or its credential is absent, repeated or
    /// malformed.
    pub fn credential(&self, scheme: &str) -> Option<Credential> {
        let definition = self.spec.schemes.iter().find(|s| s.name == scheme)?;
        match Reader::for_scheme(&definition.kind).read(self.parts) {
            Presented::One(held) => Some(held.into_credential()),
            Presented::Absent | Presented::Ambiguous | Presented::Malformed => None,
        }
    }
}

/// A verifier's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The credential is genuine and may call this operation.
    Granted(Principal),
    /// The credential is genuine but lacks permission for this operation (403).
    Forbidden(Principal),
    /// Unknown, wrong or malformed (401). All three look the same to the client.
    Invalid,
    /// Genuine but expired (401; `detail` may say so).
    Expired,
    /// Genuine but revoked (401; `detail` may say so).
    Revoked,
    /// Genuine but disabled until it is enabled again, e.g. by its owner (401; `detail`
    /// may say so).
    Disabled,
    /// No credential for this scheme in the request (only hooks answer this).
    Absent,
}

/// A verifier could not decide (store unreachable). The request gets 503, never a pass.
/// The message goes to logs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    message: String,
}

impl VerifyError {
    /// An error with a message for the logs.
    pub fn new(message: impl Into<String>) -> VerifyError {
        VerifyError {
            message: message.into(),
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VerifyError {}

/// Checks credentials of apiKey, bearer and basic schemes.
///
/// Implementations: [`StaticKeys`](crate::StaticKeys) for fixed keys; anything else
/// (a key store, a remote service) implements this trait.
pub trait Verifier: Send + Sync + 'static {
    /// Verifies one credential. Return `Err` only when the answer is unknown (the store
    /// is down): the request then gets 503.
    fn verify(
        &self,
        request: VerifyRequest<'_>,
    ) -> impl Future<Output = Result<Verdict, VerifyError>> + Send;

    /// The scheme names this verifier was set up with, checked against the document
    /// when the guard is built: a name the document lacks (a typo, a header name) would
    /// refuse every request. Empty (the default): nothing to check.
    fn scheme_names(&self) -> Vec<&str> {
        Vec::new()
    }
}

impl<V: Verifier> Verifier for Arc<V> {
    fn verify(
        &self,
        request: VerifyRequest<'_>,
    ) -> impl Future<Output = Result<Verdict, VerifyError>> + Send {
        V::verify(self, request)
    }

    fn scheme_names(&self) -> Vec<&str> {
        V::scheme_names(self)
    }
}

/// The object-safe form of [`Verifier`], so a guard can hold any verifier.
pub(crate) trait DynVerifier: Send + Sync {
    fn verify_boxed<'a>(
        &'a self,
        request: VerifyRequest<'a>,
    ) -> BoxFuture<'a, Result<Verdict, VerifyError>>;
}

impl<V: Verifier> DynVerifier for V {
    fn verify_boxed<'a>(
        &'a self,
        request: VerifyRequest<'a>,
    ) -> BoxFuture<'a, Result<Verdict, VerifyError>> {
        Box::pin(self.verify(request))
    }
}

/// Verifies a scheme keygate cannot verify itself (oauth2, openIdConnect, mutualTLS,
/// other http schemes). It reads whatever it needs from the request parts and answers
/// [`Verdict::Absent`] when the request carries nothing for the scheme. The returned
/// principal's roles are checked against the requirement's role (scope) list.
pub trait Hook: Send + Sync + 'static {
    /// Verifies the request for `scheme`.
    fn verify<'a>(
        &'a self,
        parts: &'a Parts,
        scheme: &'a Scheme,
        operation: OperationRef<'a>,
    ) -> BoxFuture<'a, Result<Verdict, VerifyError>>;
}

/// A hook made from a synchronous function, for checks that need no I/O.
pub fn hook_fn<F>(check: F) -> impl Hook
where
    F: Fn(&Parts, &Scheme) -> Result<Verdict, VerifyError> + Send + Sync + 'static,
{
    SyncHook(check)
}

struct SyncHook<F>(F);

impl<F> Hook for SyncHook<F>
where
    F: Fn(&Parts, &Scheme) -> Result<Verdict, VerifyError> + Send + Sync + 'static,
{
    fn verify<'a>(
        &'a self,
        parts: &'a Parts,
        scheme: &'a Scheme,
        _operation: OperationRef<'a>,
    ) -> BoxFuture<'a, Result<Verdict, VerifyError>> {
        let verdict = (self.0)(parts, scheme);
        Box::pin(std::future::ready(verdict))
    }
}
