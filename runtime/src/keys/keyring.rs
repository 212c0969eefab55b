//! [`Keyring`]: the [`Verifier`] over any [`KeyStore`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use subtle::{Choice, ConstantTimeEq};

use super::format::{FormatError, KeyFormat, ParsedKey};
use super::model::{decoy_record, sha256, Clock, KeyRecord, KeyState, SystemClock, UnixSeconds};
use super::store::{KeyStore, Sealed};
use crate::verifier::{Credential, Principal, Verdict, Verifier, VerifyError, VerifyRequest};

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
    /// Stands in for the record of an unknown key id (see `verify`).
    decoy: Arc<KeyRecord>,
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
            decoy: Arc::new(decoy_record()),
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
            let (id, secret) = if reads_id {
                (request.credential, &other)
            } else {
                (&other, request.credential)
            };
            return match (id, secret) {
                (
                    Credential::Key(id) | Credential::Bearer(id),
                    Credential::Key(secret) | Credential::Bearer(secret),
                ) => self
                    .parse_id_and_secret(id.expose_secret(), secret.expose_secret())
                    .map(Parsed::into_owned),
                _ => Err(Unreadable::IncompletePair),
            };
        }
        match request.credential {
            Credential::Key(key) | Credential::Bearer(key) => {
                let (key_id, secret) = self.format.split(key.expose_secret())?;
                Ok(Parsed::Lent { key_id, secret })
            }
            Credential::Basic { id, secret } => {
                self.parse_id_and_secret(id, secret.expose_secret())
            }
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

    /// Whether this use should be written (at most once a minute per key).
    fn due_for_record(&self, id: &str, now: UnixSeconds) -> bool {
        let Ok(mut map) = self.last_recorded.lock() else {
            // Poisoned: skip the bookkeeping rather than fail the request.
            return false;
        };
        if map
            .get(id)
            .is_some_and(|&last| now.saturating_sub(last) < RECORD_USE_EVERY)
        {
            return false;
        }
        map.insert(id.to_owned(), now);
        true
    }

    /// Writes `last_used_at` off the request path when a tokio runtime is present.
    async fn record_use(&self, id: &str, now: UnixSeconds) {
        if !self.due_for_record(id, now) {
            return;
        }
        let store = Arc::clone(&self.store);
        let id = id.to_owned();
        let write = async move {
            if let Err(e) = store.record_use(&id, now).await {
                tracing::warn!(key_id = %id, error = %e, "could not record key use");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(write);
            }
            Err(_) => write.await,
        }
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
        // Hashed before the lookup, so an unknown id costs what a wrong secret costs.
        let presented = sha256(parsed.secret());
        // An unknown id is checked against a decoy record the same way a known id is
        // checked against its own, so the time taken does not tell the two apart. The
        // store picks one or the other without a branch (keygate's in-memory stores
        // keep their own decoy where they keep records) and shares the record only
        // when the secret matches.
        let now = self.clock.now();
        let (record, known) = self
            .store
            .lend_if_matches(key_id, &presented, now, &self.decoy, Sealed::TOKEN)
            .await
            .map_err(|e| VerifyError::new(format!("key store: {e}")))?;
        let Some(record) = record else {
            // One message for both, so no branch tells them apart here.
            let reason = ["unknown key id", "wrong secret"][usize::from(known)];
            tracing::debug!(scheme, key_id, reason, "key refused");
            return Ok(Verdict::Invalid);
        };
        match record.state(now) {
            KeyState::Active => {}
            KeyState::Revoked => {
                tracing::debug!(scheme, key_id, "key revoked");
                return Ok(Verdict::Revoked);
            }
            KeyState::Expired => {
                tracing::debug!(scheme, key_id, "key expired");
                return Ok(Verdict::Expired);
            }
        }
        if let Some(owner_id) = &record.owner {
            let owner = self
                .store
                .get_owner(owner_id)
                .await
                .map_err(|e| VerifyError::new(format!("key store: {e}")))?;
            // An owner the store does not know is treated as disabled: fail closed.
            let owner_ok = owner.is_some_and(|o| o.enabled && o.epoch == record.owner_epoch);
            if !owner_ok {
                tracing::debug!(scheme, key_id, owner = %owner_id, "owner disabled or epoch bumped");
                return Ok(Verdict::Revoked);
            }
        }
        if !record.allows_scheme(scheme) {
            tracing::debug!(scheme, key_id, "key not allowed for this scheme");
            return Ok(Verdict::Invalid);
        }
        // A genuine key was presented, allowed or not: that is a use.
        self.record_use(key_id, now).await;
        let op = request.operation;
        let allowed = record.permissions.allows(op.method, op.operation_id);
        // The principal shares the record: its id, name, owner and roles are not copied.
        let principal = Principal::of_key(record);
        if allowed {
            Ok(Verdict::Granted(principal))
        } else {
            tracing::debug!(
                scheme,
                key_id,
                method = op.method,
                operation = op.operation_id,
                "method not permitted for this key"
            );
            Ok(Verdict::Forbidden(principal))
        }
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

/// Whether the presented secret matches the current one, or the previous one within
/// its grace period. Both comparisons always run, in constant time.
pub(crate) fn secret_matches(record: &KeyRecord, presented: &[u8; 32], now: UnixSeconds) -> bool {
    let current = record.hashes.current.ct_eq(presented);
    let previous = match record.hashes.previous {
        Some((hash, until)) => hash.ct_eq(presented) & Choice::from(u8::from(now < until)),
        None => Choice::from(0),
    };
    bool::from(current | previous)
}
