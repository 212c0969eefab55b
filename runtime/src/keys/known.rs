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
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use super::index::{encode, IdIndex};
use super::model::KeyFilter;
use super::store::KeyStore;

/// What the set says about one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// The set is complete and holds the id.
    Known,
    /// The set is complete and lacks the id: no such key.
    Unknown,
    /// The set cannot be trusted now: ask the store.
    Untrusted,
}

pub(crate) struct KnownIds {
    state: RwLock<State>,
    /// A `list` is running (one at a time).
    loading: AtomicBool,
    /// Set by every check, cleared by the refresher: the set is only kept fresh in use.
    used: AtomicBool,
    /// The refresher task runs.
    refreshing: AtomicBool,
}

struct State {
    /// Key ids, looked up the same way whether held or not.
    ids: IdIndex<()>,
    /// Ids that are not in the key id format (only a custom store could have them).
    odd: HashSet<String, RandomState>,
    /// Until when the set is complete; `None` when it is not known to be.
    trusted_until: Option<Instant>,
    /// Bumped by whatever makes the set incomplete; a `list` that started before a bump
    /// is not trusted.
    generation: u64,
    /// The source of change reports is down: nothing is trusted.
    blocked: bool,
    ttl: Duration,
}

impl State {
    fn add(&mut self, id: &str) {
        if !self.ids.insert(id, ()) {
            self.odd.insert(id.to_owned());
        }
    }
}

impl KnownIds {
    pub(crate) fn new(ttl: Duration) -> KnownIds {
        KnownIds {
            state: RwLock::new(State {
                ids: IdIndex::default(),
                odd: HashSet::default(),
                trusted_until: None,
                generation: 0,
                blocked: false,
                ttl,
            }),
            loading: AtomicBool::new(false),
            used: AtomicBool::new(false),
            refreshing: AtomicBool::new(false),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        // The state stays consistent through a panic elsewhere: every write is one step.
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_ttl(&self, ttl: Duration) {
        let mut state = self.write();
        state.ttl = ttl;
        state.trusted_until = None;
        state.generation += 1;
    }

    /// Whether `id` exists, as far as the set can tell. A key id held and one lacking
    /// cost the same steps (see `IdIndex`), so the time does not tell them apart.
    pub(crate) fn check(&self, id: &str) -> Check {
        if !self.used.load(Ordering::Relaxed) {
            self.used.store(true, Ordering::Relaxed);
        }
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        match state.trusted_until {
            Some(until) if Instant::now() < until => {
                let known = match encode(id) {
                    Some(_) => state.ids.get_or(id, &()).1,
                    None => state.odd.contains(id),
                };
                // Picked by index, not branched on.
                [Check::Unknown, Check::Known][usize::from(std::hint::black_box(known))]
            }
            _ => Check::Untrusted,
        }
    }

    /// Adds an id that may exist now (created here, or named by a change report).
    pub(crate) fn insert(&self, id: &str) {
        let present = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            state.ids.contains(id) || state.odd.contains(id)
        };
        if !present {
            self.write().add(id);
        }
    }

    /// A change of unknown scope: trust nothing until the next complete `list`.
    pub(crate) fn distrust(&self) {
        let mut state = self.write();
        state.trusted_until = None;
        state.generation += 1;
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
        !self.state.read().unwrap_or_else(|e| e.into_inner()).blocked
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
        let (generation, started) = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            (state.generation, Instant::now())
        };
        match store.list(KeyFilter::default()).await {
            Ok(records) => {
                let mut state = self.write();
                for record in &records {
                    state.add(&record.id);
                }
                if state.generation == generation && !state.blocked {
                    state.trusted_until = Some(started + state.ttl);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot list key ids; unknown ids go to the store");
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
            Some(known) => known.state.read().unwrap_or_else(|e| e.into_inner()).ttl,
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
