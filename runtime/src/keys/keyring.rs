//! [`Keyring`]: the [`Verifier`] over any [`KeyStore`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;

use super::clock::{Clock, SystemClock, UnixSeconds};
use super::error::{Chain, StoreError};
use super::format::{FormatError, KeyFormat, ParsedKey};
use super::model::{KeyRecord, KeyState};
use super::names::{compare, NameReport};
use super::store::KeyStore;
use crate::digest::sha256;
use crate::spec::Spec;
use crate::verifier::{OperationRef, Principal, Verdict, Verifier, VerifyError, VerifyRequest};

/// `last_used_at` is written at most this often per key (seconds).
const RECORD_USE_EVERY: i64 = 60;

/// Verifies keys issued by a [`KeyStore`].
///
/// Which credential carries the key:
/// - apiKey and bearer schemes: the full key `<prefix>_<key id>_<secret><checksum>`;
/// - HTTP Basic: user name = the key id; password = either the full key or just its last
///   part `<secret><checksum>` (the part after the second `_`). Either way the key id in
///   the password must equal the user name.
///
/// - a key pair ([`Keyring::pair`]): one scheme carries the key id, another the secret
///   (`<secret><checksum>` or the full key), as in `X-App-Id` + `X-API-Key`.
///
/// Keys that are malformed or fail their checksum are refused without asking the store.
/// Why a key was refused goes to `tracing::debug!`, never to the client.
pub struct Keyring<S> {
    store: Arc<S>,
    format: KeyFormat,
    clock: Arc<dyn Clock>,
    pairs: Vec<KeyPair>,
    /// When `last_used_at` was last written per key id, to write at most once a minute.
    last_recorded: Mutex<HashMap<String, UnixSeconds>>,
}

impl<S> fmt::Debug for Keyring<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl<S: KeyStore> Keyring<S> {
    /// A keyring over `store`, with the default key format and the system clock.
    pub fn new(store: S) -> Keyring<S> {
        Keyring::from_arc(Arc::new(store))
    }

    /// A keyring over a shared store (the admin side can keep the other handle).
    pub fn from_arc(store: Arc<S>) -> Keyring<S> {
        Keyring {
            store,
            format: KeyFormat::default(),
            clock: Arc::new(SystemClock),
            pairs: Vec::new(),
            last_recorded: Mutex::new(HashMap::new()),
        }
    }

    /// Accepts keys in this format (use the store's).
    pub fn with_format(mut self, format: KeyFormat) -> Keyring<S> {
        self.format = format;
        self
    }

    /// Reads the time from this clock.
    pub fn with_clock(mut self, clock: impl Clock) -> Keyring<S> {
        self.clock = Arc::new(clock);
        self
    }

    /// Reads keys as a pair: the scheme named `id_scheme` carries the key id, the one named
    /// `secret_scheme` the secret. Each of the two verifies only when the request carries
    /// both, so a requirement naming just one of them still needs the whole pair.
    ///
    /// # Panics
    /// When the two names are equal.
    pub fn pair(mut self, id_scheme: &str, secret_scheme: &str) -> Keyring<S> {
        assert_ne!(
            id_scheme, secret_scheme,
            "keygate: a key pair needs two different schemes"
        );
        self.pairs.push(KeyPair {
            id_scheme: id_scheme.to_owned(),
            secret_scheme: secret_scheme.to_owned(),
        });
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// Compares the names the store's keys use with the document the app serves: the
    /// operations of per-operation permissions (an `operationId`, or `METHOD /path` for
    /// an operation without one) and the schemes keys are restricted to. A name the
    /// document lacks (a typo, a name from another document, a generated type name
    /// stored as written) never matches anything, so the key does less than its
    /// creator meant. Call it once at startup and log or refuse what it reports:
    ///
    /// ```
    /// # use keygate::keys::{Keyring, MemoryStore, StoreError};
    /// # mod api {
    /// #     use keygate::spec::{Requirement, Spec};
    /// #     pub static SPEC: Spec = Spec { title: "pets", base_path: "", schemes: &[],
    /// #         root: Requirement::PUBLIC, operations: &[] };
    /// # }
    /// # async fn start(keyring: Keyring<MemoryStore>) -> Result<(), StoreError> {
    /// let report = keyring.check_names(&api::SPEC).await?;
    /// if !report.is_clean() {
    ///     tracing::warn!("{report}"); // one line per unknown name, with its keys' count
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Revoked keys are left out. Reads no secrets; the stores of this crate count the
    /// names in one query (SQLite, PostgreSQL) or one pass (memory) without loading the
    /// records ([`KeyStore::names_in_use`]).
    pub async fn check_names(&self, spec: &Spec) -> Result<NameReport, StoreError> {
        let names = self.store.names_in_use().await?;
        Ok(compare(spec, names))
    }

    /// Finds the key id and secret for the scheme being verified.
    fn parse<'r>(&self, request: &VerifyRequest<'r>) -> Result<Parsed<'r>, Unreadable> {
        let scheme = request.scheme.name;
        if let Some(pair) = self.pairs.iter().find(|p| p.has(scheme)) {
            let reads_id = pair.id_scheme == scheme;
            let companion = if reads_id {
                &pair.secret_scheme
            } else {
                &pair.id_scheme
            };
            let other = request
                .request
                .and_then(|r| r.credential(companion))
                .ok_or(Unreadable::IncompletePair)?;
            let other = other.lend();
            let (id, secret) = if reads_id {
                (request.credential, other)
            } else {
                (other, request.credential)
            };
            // A pair is two keys (or tokens), never Basic pairs.
            if id.basic_id().is_some() || secret.basic_id().is_some() {
                return Err(Unreadable::IncompletePair);
            }
            return self
                .parse_id_and_secret(id.secret(), secret.secret())
                .map(Parsed::into_owned);
        }
        let credential = request.credential;
        match credential.basic_id() {
            None => {
                let (key_id, secret) = self.format.split(credential.secret())?;
                Ok(Parsed::Lent { key_id, secret })
            }
            Some(id) => self.parse_id_and_secret(id, credential.secret()),
        }
    }

    /// A key id with either `<secret><checksum>` or the full key, whose id must match.
    fn parse_id_and_secret<'a>(
        &self,
        id: &'a str,
        secret: &'a str,
    ) -> Result<Parsed<'a>, Unreadable> {
        // `<secret><checksum>` is base62 and has no `_`; a full key always has one.
        let parsed = if secret.contains('_') {
            let (key_id, secret) = self.format.split(secret)?;
            Parsed::Lent { key_id, secret }
        } else {
            Parsed::Owned(self.format.parse_pair(id, secret)?)
        };
        if parsed.key_id() != id {
            return Err(FormatError::BadKeyId.into());
        }
        Ok(parsed)
    }

    /// Whether this use should be written (at most once a minute per key), taking the
    /// slot when it is.
    fn due_for_record(&self, record: &KeyRecord, now: UnixSeconds) -> bool {
        // Most requests end here, without the lock: the record the store lent already
        // shows a use this minute (stores apply `record_use` to what they lend next).
        if recent_use(record.last_used_at, now) {
            return false;
        }
        let id = record.id.as_str();
        let Ok(mut map) = self.last_recorded.lock() else {
            // Poisoned: skip the bookkeeping rather than fail the request.
            return false;
        };
        if recent_use(map.get(id).copied(), now) {
            return false;
        }
        map.insert(id.to_owned(), now);
        true
    }

    /// The write of `last_used_at`, for a task or to await inline.
    fn use_write(&self, id: &str, now: UnixSeconds) -> impl Future<Output = ()> + Send + 'static {
        let store = Arc::clone(&self.store);
        let id = id.to_owned();
        async move {
            if let Err(e) = store.record_use(&id, now).await {
                tracing::warn!(key_id = %id, error = %Chain(&e), "could not record key use");
            }
        }
    }

    /// Writes `last_used_at` off the request path when a tokio runtime is present (at most
    /// once a minute per key); console sessions call it too, as uses of their admin key.
    pub(crate) async fn record_use(&self, record: &KeyRecord, now: UnixSeconds) {
        if !self.due_for_record(record, now) {
            return;
        }
        let write = self.use_write(&record.id, now);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(write);
            }
            Err(_) => write.await,
        }
    }
}

/// Whether a use at `last` is less than a minute before `now` (or after it).
fn recent_use(last: Option<UnixSeconds>, now: UnixSeconds) -> bool {
    last.is_some_and(|last| now.saturating_sub(last) < RECORD_USE_EVERY)
}

fn store_error(e: StoreError) -> VerifyError {
    VerifyError::new(format!("key store: {}", Chain(&e)))
}

/// The verdict for an unknown key id or a wrong secret.
fn refused(scheme: &str, key_id: &str, reason: &str) -> Verdict {
    tracing::debug!(scheme, key_id, reason, "key refused");
    Verdict::Invalid
}

/// The verdict for a revoked, disabled or expired key, `None` for an active one.
fn lapsed(record: &KeyRecord, now: UnixSeconds, scheme: &str, key_id: &str) -> Option<Verdict> {
    match record.state(now) {
        KeyState::Active => None,
        KeyState::Revoked => {
            tracing::debug!(scheme, key_id, "key revoked");
            Some(Verdict::Revoked)
        }
        KeyState::Expired => {
            tracing::debug!(scheme, key_id, "key expired");
            Some(Verdict::Expired)
        }
        // Undone by enabling the key: refused like a disabled owner's key.
        KeyState::Disabled => {
            tracing::debug!(scheme, key_id, "key disabled");
            Some(Verdict::Disabled)
        }
    }
}

/// Whether the key may be used with this scheme.
fn scheme_allows(record: &KeyRecord, scheme: &str, key_id: &str) -> bool {
    let ok = record.allows_scheme(scheme);
    if !ok {
        tracing::debug!(scheme, key_id, "key not allowed for this scheme");
    }
    ok
}

/// Granted or forbidden by the key's permissions for the operation.
fn permitted(record: Arc<KeyRecord>, scheme: &str, key_id: &str, op: OperationRef<'_>) -> Verdict {
    let allowed = (record.permissions).allows(op.method, op.path, op.operation_id);
    // The principal shares the record: its id, name, owner and roles are not copied.
    let principal = Principal::of_key(record);
    if allowed {
        Verdict::Granted(principal)
    } else {
        tracing::debug!(
            scheme,
            key_id,
            method = op.method,
            operation = op.operation_id,
            path = op.path,
            "method not permitted for this key"
        );
        Verdict::Forbidden(principal)
    }
}

impl<S: KeyStore> Verifier for Keyring<S> {
    async fn verify(&self, request: VerifyRequest<'_>) -> Result<Verdict, VerifyError> {
        let scheme = request.scheme.name;
        let parsed = match self.parse(&request) {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::debug!(scheme, reason = %e, "key refused before lookup");
                return Ok(Verdict::Invalid);
            }
        };
        let key_id = parsed.key_id();
        let record = self.store.get(key_id).await.map_err(store_error)?;
        let Some(record) = record else {
            return Ok(refused(scheme, key_id, "unknown key id"));
        };
        let now = self.clock.now();
        if !record.hashes.matches(&sha256(parsed.secret()), now) {
            return Ok(refused(scheme, key_id, "wrong secret"));
        }
        if let Some(verdict) = lapsed(&record, now, scheme, key_id) {
            return Ok(verdict);
        }
        if let Some(owner_id) = &record.owner {
            let owner = self.store.get_owner(owner_id).await.map_err(store_error)?;
            if let Some(reason) = record.owner_stops(owner.as_ref()) {
                let owner_id = owner_id.as_str();
                tracing::debug!(
                    scheme,
                    key_id,
                    owner = owner_id,
                    reason,
                    "owner disabled or epoch bumped"
                );
                // Disabling is undone by enabling; an epoch bump is for good.
                return Ok(match owner {
                    Some(owner) if !owner.enabled => Verdict::Disabled,
                    _ => Verdict::Revoked,
                });
            }
        }
        if !scheme_allows(&record, scheme, key_id) {
            return Ok(Verdict::Invalid);
        }
        // A genuine key was presented, allowed or not: that is a use.
        self.record_use(&record, now).await;
        Ok(permitted(record, scheme, key_id, request.operation))
    }

    fn scheme_names(&self) -> Vec<&str> {
        self.pairs
            .iter()
            .flat_map(|pair| [pair.id_scheme.as_str(), pair.secret_scheme.as_str()])
            .collect()
    }
}

/// A key id and `<secret><checksum>`: lent by the credential when it holds them as they
/// are, else rebuilt (HTTP Basic with the bare secret, key pairs).
enum Parsed<'a> {
    Lent { key_id: &'a str, secret: &'a str },
    Owned(ParsedKey),
}

impl Parsed<'_> {
    fn key_id(&self) -> &str {
        match self {
            Parsed::Lent { key_id, .. } => key_id,
            Parsed::Owned(parsed) => &parsed.key_id,
        }
    }

    fn secret(&self) -> &str {
        match self {
            Parsed::Lent { secret, .. } => secret,
            Parsed::Owned(parsed) => parsed.secret.expose_secret(),
        }
    }

    fn into_owned(self) -> Parsed<'static> {
        match self {
            Parsed::Lent { key_id, secret } => Parsed::Owned(ParsedKey {
                key_id: key_id.to_owned(),
                secret: secrecy::SecretString::from(secret.to_owned()),
            }),
            Parsed::Owned(parsed) => Parsed::Owned(parsed),
        }
    }
}

/// Two schemes that carry a key id and its secret separately.
#[derive(Debug, Clone)]
struct KeyPair {
    id_scheme: String,
    secret_scheme: String,
}

impl KeyPair {
    fn has(&self, scheme: &str) -> bool {
        self.id_scheme == scheme || self.secret_scheme == scheme
    }
}

/// Why a credential could not be read as a key (for `tracing` only).
#[derive(Debug)]
enum Unreadable {
    Format(FormatError),
    /// One half of a key pair without the other.
    IncompletePair,
}

impl From<FormatError> for Unreadable {
    fn from(e: FormatError) -> Unreadable {
        Unreadable::Format(e)
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::Format(e) => e.fmt(f),
            Unreadable::IncompletePair => f.write_str("one half of a key pair is missing"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Credential;
    use std::time::Duration;

    use secrecy::SecretString;

    use super::*;
    use crate::keys::{CachedStore, MemoryStore, NewKey, Permissions};
    use crate::spec::{Location, Scheme, SchemeKind};

    const SCHEME: Scheme = Scheme {
        name: "api_key",
        kind: SchemeKind::ApiKey {
            location: Location::Header,
            name: "X-API-Key",
        },
    };

    const OP: OperationRef<'static> = OperationRef {
        method: "GET",
        path: "/things",
        operation_id: Some("listThings"),
    };

    fn now<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("waited"),
        }
    }

    fn key(text: &str) -> Credential {
        Credential::Key(SecretString::from(text.to_owned()))
    }

    fn awaited<S: KeyStore>(ring: &Keyring<S>, key: &Credential) -> Verdict {
        now(ring.verify(VerifyRequest::new(&SCHEME, key, OP))).expect("verify")
    }

    fn issue<S: KeyStore>(ring: &Keyring<S>, spec: NewKey) -> (String, Credential) {
        let issued = now(ring.store().create(spec)).expect("create");
        (issued.record.id, key(issued.key.expose_secret()))
    }

    fn wrong_secret(ring: &Keyring<impl KeyStore>, id: &str) -> Credential {
        let secret = ring.format.generate_secret(id).expect("rng");
        key(secret.full.expose_secret())
    }

    fn recorded(ring: &Keyring<impl KeyStore>) -> usize {
        ring.last_recorded.lock().expect("lock").len()
    }

    #[test]
    fn memory_store_verifies_without_waiting() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let _entered = runtime.enter();
        let ring = Keyring::new(MemoryStore::new());
        let (id, good) = issue(
            &ring,
            NewKey::new("k").permissions(Permissions::read_only()),
        );
        let Verdict::Granted(principal) = awaited(&ring, &good) else {
            panic!("granted");
        };
        assert_eq!(principal.id(), id);
        assert_eq!(recorded(&ring), 1, "the use is recorded");
        let post = VerifyRequest::new(
            &SCHEME,
            &good,
            OperationRef {
                method: "POST",
                ..OP
            },
        );
        assert!(matches!(now(ring.verify(post)), Ok(Verdict::Forbidden(_))));
        assert_eq!(awaited(&ring, &wrong_secret(&ring, &id)), Verdict::Invalid);
        let stranger = ring.format.generate_key_id().expect("rng");
        let unknown = wrong_secret(&ring, &stranger);
        assert_eq!(awaited(&ring, &unknown), Verdict::Invalid);
        assert_eq!(awaited(&ring, &key("not a key")), Verdict::Invalid);
        now(ring.store().revoke(&id)).expect("revoke");
        assert_eq!(awaited(&ring, &good), Verdict::Revoked);
    }

    #[test]
    fn owners_are_checked() {
        let ring = Keyring::new(MemoryStore::new());
        let (_, good) = issue(
            &ring,
            NewKey::new("k")
                .owner("team")
                .permissions(Permissions::full()),
        );
        assert!(matches!(awaited(&ring, &good), Verdict::Granted(_)));
        now(ring.store().disable_owner("team")).expect("disable");
        assert_eq!(awaited(&ring, &good), Verdict::Disabled);
    }

    /// Behind a cache, a key verifies, a wrong or unknown one does not, and a change
    /// made through the cache is seen by the next request.
    #[test]
    fn cached_keys_verify_and_changes_are_seen() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let store = CachedStore::new(MemoryStore::new()).with_ttl(Duration::from_secs(60));
            let ring = Keyring::new(store);
            let (id, good) = issue(&ring, NewKey::new("k").permissions(Permissions::full()));
            let verify = |key| ring.verify(VerifyRequest::new(&SCHEME, key, OP));
            assert!(matches!(verify(&good).await, Ok(Verdict::Granted(_))));
            assert!(matches!(verify(&good).await, Ok(Verdict::Granted(_))));
            let wrong = wrong_secret(&ring, &id);
            assert_eq!(verify(&wrong).await, Ok(Verdict::Invalid));
            let stranger = ring.format.generate_key_id().expect("rng");
            let unknown = wrong_secret(&ring, &stranger);
            assert_eq!(verify(&unknown).await, Ok(Verdict::Invalid));
            ring.store().revoke(&id).await.expect("revoke");
            assert_eq!(verify(&good).await, Ok(Verdict::Revoked));
        });
    }
}
