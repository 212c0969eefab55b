//! [`CountingStore`]: a `KeyStore` that counts the calls reaching it, so a test or a
//! bench can tell how many reads a cache or a keyring left to the store behind it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use keygate::keys::{
    Actor, AuditPage, AuditQuery, IssuedKey, KeyChange, KeyChanged, KeyPage, KeyQuery, KeyRecord,
    KeyStore, NewKey, Owner, OwnerChange, OwnerChanged, OwnerPage, OwnerQuery, OwnerSummary,
    StoreError, UnixSeconds,
};

/// Delegates every call to `inner`, counting `get`, `get_owner`, `list` and `record_use`
/// calls.
/// The counters are shared (`Arc`), so they stay readable once the store is moved into a
/// cache or a keyring, and several stores can count into one.
#[derive(Debug)]
pub struct CountingStore<S> {
    inner: S,
    /// `get` calls.
    pub gets: Arc<AtomicU64>,
    /// `get_owner` calls.
    pub get_owners: Arc<AtomicU64>,
    /// `record_use` calls.
    pub record_uses: Arc<AtomicU64>,
    /// `list` calls.
    pub lists: Arc<AtomicU64>,
}

impl<S> CountingStore<S> {
    /// `inner` with counters of its own, starting at zero.
    pub fn new(inner: S) -> CountingStore<S> {
        CountingStore {
            inner,
            gets: Arc::default(),
            get_owners: Arc::default(),
            record_uses: Arc::default(),
            lists: Arc::default(),
        }
    }

    /// Counts both verification reads, `get` and `get_owner`, into `reads`: one figure
    /// for what reaches the store, summed over every store given the same counter.
    pub fn reads_into(mut self, reads: &Arc<AtomicU64>) -> CountingStore<S> {
        self.gets = Arc::clone(reads);
        self.get_owners = Arc::clone(reads);
        self
    }
}

impl<S: KeyStore> KeyStore for CountingStore<S> {
    async fn create_by(&self, by: &Actor, spec: NewKey) -> Result<IssuedKey, StoreError> {
        self.inner.create_by(by, spec).await
    }

    async fn change_key(
        &self,
        by: &Actor,
        id: &str,
        change: KeyChange,
    ) -> Result<KeyChanged, StoreError> {
        self.inner.change_key(by, id, change).await
    }

    async fn change_owner(
        &self,
        by: &Actor,
        id: &str,
        change: OwnerChange,
    ) -> Result<OwnerChanged, StoreError> {
        self.inner.change_owner(by, id, change).await
    }

    async fn owner_summary(&self, id: &str) -> Result<Option<OwnerSummary>, StoreError> {
        self.inner.owner_summary(id).await
    }

    async fn list_owners(&self, query: OwnerQuery) -> Result<OwnerPage, StoreError> {
        self.inner.list_owners(query).await
    }

    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        self.inner.audit(query).await
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(id).await
    }

    async fn list(&self, query: KeyQuery) -> Result<KeyPage, StoreError> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        self.inner.list(query).await
    }

    async fn get_owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        self.get_owners.fetch_add(1, Ordering::SeqCst);
        self.inner.get_owner(id).await
    }

    async fn record_use(&self, id: &str, at: UnixSeconds) -> Result<(), StoreError> {
        self.record_uses.fetch_add(1, Ordering::SeqCst);
        self.inner.record_use(id, at).await
    }
}
