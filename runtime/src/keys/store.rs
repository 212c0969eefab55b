//! The [`KeyStore`] trait.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::model::{
    Digests, IssuedKey, KeyFilter, KeyRecord, KeyUpdate, NewKey, Owner, StoreError, UnixSeconds,
};

/// Where keys and owners live. [`MemoryStore`](super::MemoryStore), `SqliteStore`
/// (feature `sqlite`) and `PostgresStore` (feature `postgres`) implement it and pass one
/// shared test suite; [`CachedStore`](super::CachedStore) wraps any of them.
///
/// Operations on a missing key answer [`StoreError::NotFound`]; owner operations create
/// the owner if the store does not know it yet.
pub trait KeyStore: Send + Sync + 'static {
    /// Creates a key. The full key in the answer is never stored and cannot be shown
    /// again.
    fn create(&self, spec: NewKey) -> impl Future<Output = Result<IssuedKey, StoreError>> + Send;

    /// The key with this id, if any.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<KeyRecord>, StoreError>> + Send;

    /// The key with this id, shared rather than copied: what the keyring reads on every
    /// request. Only keygate's own stores answer it without copying; it cannot be
    /// implemented outside keygate, where it is [`KeyStore::get`].
    #[doc(hidden)]
    fn lend(
        &self,
        id: &str,
        _: Sealed,
    ) -> impl Future<Output = Result<Option<Arc<KeyRecord>>, StoreError>> + Send {
        async move { Ok(self.get(id).await?.map(Arc::new)) }
    }

    /// [`KeyStore::lend`] for the keyring: the record, or `absent` (a record no secret
    /// matches) when there is none, and whether one was found. keygate's in-memory
    /// stores pick between the two without a branch, so what the keyring does next is
    /// the same for a known id and an unknown one. A store may answer with its own
    /// stand-in instead of `absent`.
    #[doc(hidden)]
    fn lend_or(
        &self,
        id: &str,
        absent: &Arc<KeyRecord>,
        _: Sealed,
    ) -> impl Future<Output = Result<(Arc<KeyRecord>, bool), StoreError>> + Send {
        async move {
            Ok(match self.lend(id, Sealed::TOKEN).await? {
                Some(record) => (record, true),
                None => (Arc::clone(absent), false),
            })
        }
    }

    /// What the keyring asks: the record for `id` when `presented` is the hash of its
    /// secret (at `now`), and whether the id exists. The secret is compared against the
    /// record, or against `absent` for an unknown id, the same way; `MemoryStore` does it
    /// under its lock and takes a share of the record only on a match, because bumping
    /// the record's shared count costs a different few nanoseconds for every record
    /// (the timing test sees one record from another by that alone).
    #[doc(hidden)]
    fn lend_if_matches(
        &self,
        id: &str,
        presented: &[u8; 32],
        now: UnixSeconds,
        absent: &Arc<KeyRecord>,
        _: Sealed,
    ) -> impl Future<Output = Result<(Option<Arc<KeyRecord>>, bool), StoreError>> + Send {
        async move {
            let (record, found) = self.lend_or(id, absent, Sealed::TOKEN).await?;
            Ok(lend_on_match(record, found, presented, now))
        }
    }

    /// The keys matching `filter`, ordered by creation time, then id.
    fn list(
        &self,
        filter: KeyFilter,
    ) -> impl Future<Output = Result<Vec<KeyRecord>, StoreError>> + Send;

    /// Revokes a key for good (idempotent).
    fn revoke(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Issues a new secret for the key and returns the new full key. The old secret stays
    /// valid for `grace` (zero: not at all). Only the latest previous secret is kept.
    fn rotate(
        &self,
        id: &str,
        grace: Duration,
    ) -> impl Future<Output = Result<SecretString, StoreError>> + Send;

    /// Changes permissions, roles or expiry; returns the updated record.
    fn update(
        &self,
        id: &str,
        change: KeyUpdate,
    ) -> impl Future<Output = Result<KeyRecord, StoreError>> + Send;

    /// The owner with this id, if known.
    fn get_owner(&self, id: &str)
        -> impl Future<Output = Result<Option<Owner>, StoreError>> + Send;

    /// Disables an owner: none of its keys verify until it is enabled again.
    fn disable_owner(&self, id: &str) -> impl Future<Output = Result<Owner, StoreError>> + Send;

    /// Enables an owner again (keys of older epochs stay invalid).
    fn enable_owner(&self, id: &str) -> impl Future<Output = Result<Owner, StoreError>> + Send;

    /// Bumps an owner's credential epoch, invalidating every key it holds now.
    fn bump_epoch(&self, id: &str) -> impl Future<Output = Result<Owner, StoreError>> + Send;

    /// Records that the key was used at `at` (never moves the time backwards).
    fn record_use(
        &self,
        id: &str,
        at: UnixSeconds,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Whether the presented secret matches the current one, or the previous one within
/// its grace period, as the stores' indexes compare (`Digests`): both comparisons
/// always run, in constant time.
pub(crate) fn secret_matches(record: &KeyRecord, presented: &[u8; 32], now: UnixSeconds) -> bool {
    bool::from(Digests::of(&record.hashes).match_secret(presented, now))
}

/// What `lend_if_matches` answers for a record picked without a branch: the record when
/// it is the id's own and the secret matches, and whether it was the id's own. The
/// comparison runs for a decoy too.
pub(crate) fn lend_on_match(
    record: Arc<KeyRecord>,
    found: bool,
    presented: &[u8; 32],
    now: UnixSeconds,
) -> (Option<Arc<KeyRecord>>, bool) {
    let matches = secret_matches(&record, presented, now) & std::hint::black_box(found);
    (matches.then_some(record), found)
}

/// What [`KeyStore::lend_if_matches`] answers: the record on a match, and whether the id
/// exists.
#[doc(hidden)]
#[allow(unreachable_pub)]
pub type LendResult = Result<(Option<Arc<KeyRecord>>, bool), StoreError>;

/// Keeps [`KeyStore::lend`] keygate's own: no other crate can name this type.
#[doc(hidden)]
#[allow(unreachable_pub)]
#[derive(Debug, Clone, Copy)]
pub struct Sealed(pub(crate) ());

impl Sealed {
    pub(crate) const TOKEN: Sealed = Sealed(());
}
