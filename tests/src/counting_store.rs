//! [`CountingStore`]: a `KeyStore` that counts the calls reaching it, so a test or a
//! bench can tell how many reads a cache or a keyring left to the store behind it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use keygate::keys::{KeyPage, KeyQuery, KeyRecord, KeyStore, Owner, StoreError, UnixSeconds};

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
    crate::forward_key_store!(
        inner: create_by,
        change_key,
        change_owner,
        owner_summary,
        list_owners,
        audit,
        create_session,
        get_session,
        delete_session,
    );

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
