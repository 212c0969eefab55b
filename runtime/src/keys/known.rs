//! The set of key ids a [`CachedStore`](super::CachedStore) knows exist, so a made-up id
//! is refused without reading the store.
//!
//! Ids are never deleted (revoked keys keep their records), so the set only grows: an id
//! in it that does not exist costs one store read, never a wrong answer. The danger is
//! the other way, an id created where nobody told this cache, so the set is trusted only
//! while it is known complete:
//! - after a `list` of every key, for the TTL counted from before that `list`;
//! - ids created or changed through the cache, or named by an invalidation (the SQLite
//!   watcher, PostgreSQL `NOTIFY`), are added at once;
//! - a change of unknown scope (`clear`, a watcher error, a lost listener) withdraws the
//!   trust until a `list` that started after it completes;
//! - while the source of change reports is down (a listener not listening), no `list`
//!   is trusted.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, Instant};

use super::model::{Chain, KeyFilter, KeyRecord};
use super::store::KeyStore;

/// Invalidation stripes of a [`CachedStore`](super::CachedStore), shared with its set of
/// known ids: a change bumps the stripe of the id it touches first, so a read that began
/// before the change is never served.
pub(crate) struct Stripes {
    generations: [AtomicU64; STRIPES],
    hasher: RandomState,
}

const STRIPES: usize = 64;

impl Stripes {
    pub(crate) fn new() -> Stripes {
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

    pub(crate) fn key(&self, id: &str) -> &AtomicU64 {
        &self.generations[self.index(0, id)]
    }

    pub(crate) fn owner(&self, id: &str) -> &AtomicU64 {
        &self.generations[self.index(1, id)]
    }

    pub(crate) fn bump_all(&self) {
        for generation in &self.generations {
            generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn snapshot(&self) -> [u64; STRIPES] {
        std::array::from_fn(|i| self.generations[i].load(Ordering::SeqCst))
    }

    /// Whether the key's stripe is where it was at `snapshot`.
    fn key_unchanged(&self, snapshot: &[u64; STRIPES], id: &str) -> bool {
        let i = self.index(0, id);
        self.generations[i].load(Ordering::SeqCst) == snapshot[i]
    }
}

/// The record last read for a key, served until `until` (the TTL counted from before
/// the read) unless a change drops it first.
struct Held {
    record: Arc<KeyRecord>,
    until: Instant,
}

/// What the set says about one id.
pub(crate) enum Check {
    /// A current record for the id: no read needed.
    Held(Arc<KeyRecord>),
    /// The set is complete and holds the id.
    Known,
    /// The set is complete and lacks the id: no such key.
    Unknown,
    /// The set cannot be trusted now: ask the store.
    Untrusted,
}

pub(crate) struct KnownIds {
    state: RwLock<State>,
    stripes: Arc<Stripes>,
    /// A `list` is running (one at a time).
    loading: AtomicBool,
    /// Set by every check, cleared by the refresher: the set is only kept fresh in use.
    used: AtomicBool,
    /// The refresher task runs.
    refreshing: AtomicBool,
}

struct State {
    /// Every id known to exist, with the record last read for it while one is held.
    ids: HashMap<String, Option<Held>>,
    /// Until when the set is complete; `None` when it is not known to be.
    trusted_until: Option<Instant>,
    /// Bumped by whatever makes the set incomplete; a `list` that started before a bump
    /// is not trusted.
    generation: u64,
    /// The source of change reports is down: nothing is trusted.
    blocked: bool,
    ttl: Duration,
}

/// TTLs are capped here, so adding one to an `Instant` cannot overflow.
const LONGEST_TTL: Duration = Duration::from_secs(100 * 365 * 86_400);

impl KnownIds {
    pub(crate) fn new(ttl: Duration, stripes: Arc<Stripes>) -> KnownIds {
        KnownIds {
            stripes,
            state: RwLock::new(State {
                ids: HashMap::new(),
                trusted_until: None,
                generation: 0,
                blocked: false,
                ttl: ttl.min(LONGEST_TTL),
            }),
            loading: AtomicBool::new(false),
            used: AtomicBool::new(false),
            refreshing: AtomicBool::new(false),
        }
    }

    // The state stays consistent through a panic elsewhere: every write is one step.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_ttl(&self, ttl: Duration) {
        let mut state = self.write();
        state.ttl = ttl.min(LONGEST_TTL);
        state.trusted_until = None;
        state.generation += 1;
    }

    /// What the set knows about `id`: its current record, or whether it exists.
    pub(crate) fn check(&self, id: &str) -> Check {
        if !self.used.load(Ordering::Relaxed) {
            self.used.store(true, Ordering::Relaxed);
        }
        let state = self.read();
        let now = Instant::now();
        let trusted = state.trusted_until.is_some_and(|until| now < until);
        match state.ids.get(id) {
            Some(Some(held)) if now < held.until => Check::Held(Arc::clone(&held.record)),
            Some(_) if trusted => Check::Known,
            None if trusted => Check::Unknown,
            _ => Check::Untrusted,
        }
    }

    /// Keeps the record a store read gave for its id, unless the id changed since the
    /// read began (its stripe `generation` from then has moved on); `read_at` is when it
    /// began.
    pub(crate) fn hold(&self, record: &Arc<KeyRecord>, generation: u64, read_at: Instant) {
        let mut state = self.write();
        // Under the lock `forget` takes after its bump: a change either shows here, or
        // comes after and drops what is kept.
        if self.stripes.key(&record.id).load(Ordering::SeqCst) != generation {
            return;
        }
        let until = read_at + state.ttl;
        let held = Held {
            record: Arc::clone(record),
            until,
        };
        state.ids.insert(record.id.clone(), Some(held));
    }

    /// The key `id` changed (its stripe was bumped first): drop its record, and add the
    /// id, which may exist now.
    pub(crate) fn forget(&self, id: &str) {
        self.write().ids.insert(id.to_owned(), None);
    }

    /// A change of unknown scope: trust nothing until the next complete `list`.
    /// Every record held is dropped too (the stripes were bumped first).
    pub(crate) fn distrust(&self) {
        let mut state = self.write();
        state.trusted_until = None;
        state.generation += 1;
        state.ids.values_mut().for_each(|held| *held = None);
    }

    /// Whether the source of change reports (a listener) is down.
    pub(crate) fn block(&self, blocked: bool) {
        let mut state = self.write();
        state.blocked = blocked;
        state.trusted_until = None;
        state.generation += 1;
    }

    /// Whether the source of change reports is up, so a `list` could be trusted.
    fn reports_up(&self) -> bool {
        !self.read().blocked
    }

    /// Reads every id from `store` (unless a read is running already) and trusts the set
    /// for the TTL counted from before the read, unless something made it incomplete
    /// meanwhile.
    pub(crate) async fn load<S: KeyStore>(&self, store: &S) {
        if self.loading.swap(true, Ordering::SeqCst) {
            return;
        }
        // Cleared even if this future is dropped halfway.
        let _loading = ClearOnDrop(&self.loading);
        self.list_from(store).await;
    }

    async fn list_from<S: KeyStore>(&self, store: &S) {
        let (generation, started) = (self.read().generation, Instant::now());
        // Taken before the list, as for any read: a record changed meanwhile is stale.
        let snapshot = self.stripes.snapshot();
        match store.list(KeyFilter::default()).await {
            Ok(records) => {
                let mut state = self.write();
                let until = started + state.ttl;
                for record in records {
                    // Records in use are refreshed, unless changed since the list began;
                    // the others are only named.
                    let unchanged = self.stripes.key_unchanged(&snapshot, &record.id);
                    match state.ids.get_mut(&record.id) {
                        Some(held @ Some(_)) if unchanged => {
                            let record = Arc::new(record);
                            *held = Some(Held { record, until });
                        }
                        Some(_) => {}
                        None => {
                            state.ids.insert(record.id, None);
                        }
                    }
                }
                if state.generation == generation && !state.blocked {
                    state.trusted_until = Some(until);
                }
            }
            Err(e) => {
                let error = Chain(&e);
                tracing::warn!(%error, "cannot list key ids; unknown ids go to the store");
            }
        }
    }

    /// Starts a `list` off the request path when one is worth it: on a tokio runtime a
    /// task (with a refresher that lists again every half TTL while the set is in use),
    /// otherwise inline.
    pub(crate) async fn ensure_loaded<S: KeyStore>(self: &Arc<Self>, store: &Arc<S>) {
        if !self.reports_up() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return self.load(&**store).await;
        };
        // Claimed before the task runs, so requests meanwhile start no second one.
        if self.loading.swap(true, Ordering::SeqCst) {
            return;
        }
        if !self.refreshing.swap(true, Ordering::SeqCst) {
            runtime.spawn(refresh(Arc::downgrade(self), Arc::downgrade(store)));
        }
        let (known, store) = (Arc::clone(self), Arc::clone(store));
        runtime.spawn(async move {
            let _loading = ClearOnDrop(&known.loading);
            known.list_from(&*store).await;
        });
    }
}

/// Lists again every half TTL while the set is in use (checked within the last
/// `IDLE_TICKS` of these), so its trust does not lapse between requests; ends when the
/// cache or its store is dropped.
async fn refresh<S: KeyStore>(known: Weak<KnownIds>, store: Weak<S>) {
    let mut idle = 0;
    loop {
        let ttl = match known.upgrade() {
            Some(known) => known.read().ttl,
            None => return,
        };
        // Never a busy loop, whatever the TTL.
        tokio::time::sleep((ttl / 2).max(Duration::from_millis(100))).await;
        let (Some(known), Some(store)) = (known.upgrade(), store.upgrade()) else {
            return;
        };
        idle = if known.used.swap(false, Ordering::Relaxed) {
            0
        } else {
            idle + 1
        };
        if idle < IDLE_TICKS && known.reports_up() {
            known.load(&*store).await;
        }
    }
}

/// Half-TTL ticks without a check after which the refresher stops listing (the next
/// check after that reads the store until a new list completes).
const IDLE_TICKS: u32 = 8;

struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}
