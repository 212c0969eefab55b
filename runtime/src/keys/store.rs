//! The [`KeyStore`] trait.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::model::{
    IssuedKey, KeyFilter, KeyRecord, KeyUpdate, NewKey, Owner, StoreError, UnixSeconds,
};
use super::names::{NameInUse, Tally};

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

    /// The key with this id, if any: what the keyring reads on every request, shared so
    /// that a store which keeps records (the memory store, the cache) need not copy one.
    fn get(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Arc<KeyRecord>>, StoreError>> + Send;

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

    /// Every operation name of per-operation permissions and every scheme name of scheme
    /// restrictions that keys not revoked use, with how many keys use each: what
    /// [`Keyring::check_names`](super::Keyring::check_names) compares with a document.
    /// Operations first, each kind in byte order of the names. Reads no secrets.
    ///
    /// The provided method lists every key; the stores of this crate override it to
    /// count without building records (one query over the names in SQLite and
    /// PostgreSQL, one pass under the lock in memory).
    fn names_in_use(&self) -> impl Future<Output = Result<Vec<NameInUse>, StoreError>> + Send {
        async move {
            let mut tally = Tally::default();
            for record in self.list(KeyFilter::default()).await? {
                tally.add(&record);
            }
            Ok(tally.into_names())
        }
    }
}
