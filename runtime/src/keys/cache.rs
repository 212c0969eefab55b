//! [`CachedStore`]: a verification cache in front of any [`KeyStore`].

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use super::audit::{Actor, AuditPage, AuditQuery};
use super::change::{KeyChange, KeyChanged, OwnerChange, OwnerChanged};
use super::clock::UnixSeconds;
use super::error::StoreError;
use super::model::{IssuedKey, KeyRecord, NewKey, Owner};
use super::names::NameInUse;
use super::page::{KeyPage, KeyQuery, OwnerPage, OwnerQuery, OwnerSummary};
use super::session::ConsoleSession;
use super::store::KeyStore;

/// How long a cached answer is trusted when nobody says it changed: the worst-case delay
/// before a change made elsewhere (another process, another instance) takes effect.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// Entries kept at most, keys and owners each.
pub const DEFAULT_CAPACITY: u64 = 100_000;

/// Caches the reads that verification makes (`get`, `get_owner`), including "no such
/// key", within a bounded number of entries: its memory and work depend on its capacity
/// and traffic, never on how many keys the store holds.
///
/// Writes made through this wrapper invalidate at once: a key revoked here is refused on
/// the very next request. Changes made elsewhere are seen after at most the TTL, or at
/// once when whoever learns of them calls [`CachedStore::invalidate_key`],
/// [`CachedStore::invalidate_owner`] or [`CachedStore::clear`] (the SQLite watcher and
/// the PostgreSQL listener do).
///
/// A read that raced with a change is never served: every entry remembers the
/// invalidation stripe's generation from before its read, and is used only while that
/// generation is unchanged.
///
/// A well-formed key id that does not exist costs one indexed store read, then its
/// absence is cached like any answer (a made-up key with a bad checksum never gets
/// this far). So a key created where nobody reports it verifies at once, unless its id
/// was asked for within the TTL before.
pub struct CachedStore<S> {
    inner: Arc<S>,
    entries: Entries,
    ttl: Duration,
}

/// The cached entries and their stripe generations; clones share them.
#[derive(Clone)]
struct Entries {
    keys: Cache<String, Cached<KeyRecord>>,
    owners: Cache<String, Cached<Owner>>,
    stripes: Arc<Stripes>,
}

impl Entries {
    fn invalidate_key(&self, id: &str) {
        // Bump first: a read in flight then cannot be served, even if it lands later.
        self.stripes.key(id).fetch_add(1, Ordering::SeqCst);
        self.keys.invalidate(id);
    }

    fn invalidate_owner(&self, id: &str) {
        self.stripes.owner(id).fetch_add(1, Ordering::SeqCst);
        self.owners.invalidate(id);
    }

    fn clear(&self) {
        self.stripes.bump_all();
        self.keys.invalidate_all();
        self.owners.invalidate_all();
    }
}

/// Invalidation stripes: a change bumps the stripe of the id it touches first, so a read
/// that began before the change is never served.
struct Stripes {
    generations: [AtomicU64; STRIPES],
    hasher: RandomState,
}

const STRIPES: usize = 64;

impl Stripes {
    fn new() -> Stripes {
        Stripes {
            generations: std::array::from_fn(|_| AtomicU64::new(0)),
            hasher: RandomState::new(),
        }
    }

    /// Owners share the stripes with keys but hash under another namespace.
    fn index(&self, namespace: u8, id: &str) -> usize {
        // The modulo keeps the index below STRIPES, so the cast cannot truncate.
        (self.hasher.hash_one((namespace, id)) % STRIPES as u64) as usize
    }

    fn key(&self, id: &str) -> &AtomicU64 {
        &self.generations[self.index(0, id)]
    }

    fn owner(&self, id: &str) -> &AtomicU64 {
        &self.generations[self.index(1, id)]
    }

    fn bump_all(&self) {
        for generation in &self.generations {
            generation.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A cached answer: the value shared, not copied, on each hit.
struct Cached<T> {
    generation: u64,
    value: Option<Arc<T>>,
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Cached<T> {
        Cached {
            generation: self.generation,
            value: self.value.clone(),
        }
    }
}

impl<S> fmt::Debug for CachedStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedStore")
            .field("ttl", &self.ttl)
            .field("keys", &self.entries.keys.entry_count())
            .field("owners", &self.entries.owners.entry_count())
            .finish_non_exhaustive()
    }
}

/// Invalidates a [`CachedStore`] from another task: what a change listener holds.
#[derive(Clone)]
pub struct Invalidator {
    entries: Entries,
}

impl fmt::Debug for Invalidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invalidator").finish_non_exhaustive()
    }
}

impl Invalidator {
    /// Forgets what is cached about this key.
    pub fn invalidate_key(&self, id: &str) {
        self.entries.invalidate_key(id);
    }

    /// Forgets what is cached about this owner.
    pub fn invalidate_owner(&self, id: &str) {
        self.entries.invalidate_owner(id);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.entries.clear();
    }
}

impl<S: KeyStore> CachedStore<S> {
    /// A cache over `store` with [`DEFAULT_TTL`] and [`DEFAULT_CAPACITY`].
    pub fn new(store: S) -> CachedStore<S> {
        CachedStore::from_arc(Arc::new(store))
    }

    /// A cache over a shared store.
    pub fn from_arc(store: Arc<S>) -> CachedStore<S> {
        CachedStore::build(store, DEFAULT_TTL, DEFAULT_CAPACITY)
    }

    fn build(inner: Arc<S>, ttl: Duration, capacity: u64) -> CachedStore<S> {
        CachedStore::with_stripes(inner, ttl, capacity, Arc::new(Stripes::new()))
    }

    fn with_stripes(
        inner: Arc<S>,
        ttl: Duration,
        capacity: u64,
        stripes: Arc<Stripes>,
    ) -> CachedStore<S> {
        CachedStore {
            inner,
            entries: Entries {
                keys: Cache::builder()
                    .max_capacity(capacity)
                    .time_to_live(ttl)
                    .build(),
                owners: Cache::builder()
                    .max_capacity(capacity)
                    .time_to_live(ttl)
                    .build(),
                stripes,
            },
            ttl,
        }
    }

    /// New entry maps with these limits. The stripes are kept, so an [`Invalidator`]
    /// handed out earlier (a running listener) still invalidates: its bumps make any
    /// entry read before them unusable.
    fn rebuilt(self, ttl: Duration, capacity: u64) -> CachedStore<S> {
        let stripes = Arc::clone(&self.entries.stripes);
        CachedStore::with_stripes(self.inner, ttl, capacity, stripes)
    }

    /// Trusts cached answers for `ttl` at most (the worst-case delay for changes made
    /// elsewhere that nobody reports).
    pub fn with_ttl(self, ttl: Duration) -> CachedStore<S> {
        let capacity = self.entries.keys.policy().max_capacity().unwrap_or(0);
        self.rebuilt(ttl, capacity)
    }

    /// Keeps at most `capacity` keys (and as many owners).
    pub fn with_capacity(self, capacity: u64) -> CachedStore<S> {
        let ttl = self.ttl;
        self.rebuilt(ttl, capacity)
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    /// The TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Forgets what is cached about this key (call it when told the key changed).
    pub fn invalidate_key(&self, id: &str) {
        self.entries.invalidate_key(id);
    }

    /// Forgets what is cached about this owner.
    pub fn invalidate_owner(&self, id: &str) {
        self.entries.invalidate_owner(id);
    }

    /// Forgets everything (after missed notifications, or a change of unknown scope).
    pub fn clear(&self) {
        self.entries.clear();
    }

    /// A handle that invalidates this cache from elsewhere (a change listener task);
    /// it does not keep the store alive.
    pub fn invalidator(&self) -> Invalidator {
        Invalidator {
            entries: self.entries.clone(),
        }
    }

    /// Entries currently cached (keys, owners); moka counts lazily.
    pub fn entry_count(&self) -> (u64, u64) {
        self.entries.keys.run_pending_tasks();
        self.entries.owners.run_pending_tasks();
        (
            self.entries.keys.entry_count(),
            self.entries.owners.entry_count(),
        )
    }
}

/// The cached answer for `id` while its stripe is unchanged; otherwise `read`'s answer,
/// cached under the generation seen before the read (so a change that lands meanwhile
/// makes it unusable). Errors are not cached: the next request asks the store again.
async fn read_through<T: Send + Sync + 'static>(
    cache: &Cache<String, Cached<T>>,
    stripe: &AtomicU64,
    id: &str,
    read: impl Future<Output = Result<Option<Arc<T>>, StoreError>>,
) -> Result<Option<Arc<T>>, StoreError> {
    if let Some(value) = cached_now(cache, stripe, id) {
        return Ok(value);
    }
    let generation = stripe.load(Ordering::SeqCst);
    let value = read.await?;
    let entry = Cached {
        generation,
        value: value.clone(),
    };
    cache.insert(id.to_owned(), entry);
    Ok(value)
}

/// The cached answer for `id` while its stripe is unchanged, else `None`: what
/// `read_through` serves without reading.
fn cached_now<T>(
    cache: &Cache<String, Cached<T>>,
    stripe: &AtomicU64,
    id: &str,
) -> Option<Option<Arc<T>>>
where
    T: Send + Sync + 'static,
{
    let hit = cache.get(id)?;
    (hit.generation == stripe.load(Ordering::SeqCst)).then_some(hit.value)
}

impl<S: KeyStore> KeyStore for CachedStore<S> {
    async fn create_by(&self, by: &Actor, spec: NewKey) -> Result<IssuedKey, StoreError> {
        let issued = self.inner.create_by(by, spec).await?;
        // Drop a cached "no such key" for the new id, and the owner it may have created.
        self.invalidate_key(&issued.record.id);
        if let Some(owner) = &issued.record.owner {
            self.invalidate_owner(owner);
        }
        Ok(issued)
    }

    async fn create_many_by(
        &self,
        by: &Actor,
        specs: Vec<NewKey>,
    ) -> Result<Vec<IssuedKey>, StoreError> {
        let issued = self.inner.create_many_by(by, specs).await?;
        for key in &issued {
            self.invalidate_key(&key.record.id);
            if let Some(owner) = &key.record.owner {
                self.invalidate_owner(owner);
            }
        }
        Ok(issued)
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        let stripe = self.entries.stripes.key(id);
        read_through(&self.entries.keys, stripe, id, self.inner.get(id)).await
    }

    async fn list(&self, query: KeyQuery) -> Result<KeyPage, StoreError> {
        self.inner.list(query).await
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

    async fn names_in_use(&self) -> Result<Vec<NameInUse>, StoreError> {
        self.inner.names_in_use().await
    }

    // Sessions are never cached: a logout through one instance ends the session on every
    // instance at once.
    async fn create_session(&self, session: ConsoleSession) -> Result<(), StoreError> {
        self.inner.create_session(session).await
    }

    async fn get_session(
        &self,
        id_sha256: &[u8; 32],
        now: UnixSeconds,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        self.inner.get_session(id_sha256, now).await
    }

    async fn delete_session(&self, id_sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.inner.delete_session(id_sha256).await
    }

    async fn change_key(
        &self,
        by: &Actor,
        id: &str,
        change: KeyChange,
    ) -> Result<KeyChanged, StoreError> {
        let result = self.inner.change_key(by, id, change).await;
        // Invalidate even on error: the write may have landed before the error.
        self.invalidate_key(id);
        result
    }

    async fn change_owner(
        &self,
        by: &Actor,
        id: &str,
        change: OwnerChange,
    ) -> Result<OwnerChanged, StoreError> {
        let deletes = change.deletes();
        let result = self.inner.change_owner(by, id, change).await;
        self.invalidate_owner(id);
        match &result {
            Ok(changed) => changed
                .deleted_keys
                .iter()
                .for_each(|k| self.invalidate_key(k)),
            // A refused precondition wrote nothing.
            Err(StoreError::Changed(_)) => {}
            // Which keys a failed delete removed is unknown: forget them all.
            Err(_) if deletes => self.clear(),
            Err(_) => {}
        }
        result
    }

    async fn get_owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        let stripe = self.entries.stripes.owner(id);
        let read = async { Ok(self.inner.get_owner(id).await?.map(Arc::new)) };
        let owner = read_through(&self.entries.owners, stripe, id, read).await?;
        Ok(owner.map(|o| Owner::clone(&o)))
    }

    async fn record_use(&self, id: &str, at: UnixSeconds) -> Result<(), StoreError> {
        // Keeps `get` exact; the keyring records a key's use at most once a minute, so
        // this costs one store read per key per minute.
        let result = self.inner.record_use(id, at).await;
        self.invalidate_key(id);
        result
    }
}

#[cfg(feature = "sqlite")]
impl CachedStore<super::SqliteStore> {
    /// Clears the cache whenever another connection (the `keygate keys` CLI, another
    /// process) commits to the database, checking every `every`: such changes then take
    /// effect within `every` instead of the TTL. Each check is one `PRAGMA data_version`,
    /// and a clear empties the bounded cache, so the watcher's work does not grow with
    /// the number of keys. Needs a tokio runtime; without one it logs a warning and the
    /// TTL alone bounds the delay.
    pub fn watch_other_writers(self, every: Duration) -> CachedStore<super::SqliteStore> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no tokio runtime: changes by other processes wait for the TTL");
            return self;
        };
        let store = Arc::downgrade(&self.inner);
        let entries = self.invalidator();
        runtime.spawn(async move {
            let mut seen = None;
            loop {
                // Stop once the cache's owner has dropped the store.
                let Some(store) = store.upgrade() else { return };
                match store.data_version().await {
                    Ok(version) if seen == Some(version) => {}
                    // A commit by another connection; or the first reading, and what was
                    // cached before it may have missed a commit that reading includes.
                    Ok(version) => {
                        entries.clear();
                        seen = Some(version);
                    }
                    // Unknown: assume a change, so nothing stale outlives the outage.
                    Err(e) => {
                        tracing::warn!(error = %super::error::Chain(&e), "cannot check the key database for changes");
                        entries.clear();
                    }
                }
                drop(store);
                tokio::time::sleep(every).await;
            }
        });
        self
    }
}
