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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use subtle::Choice;

use super::index::{encode, IdIndex};
use super::model::{Digests, KeyFilter, KeyRecord, Tick, UnixSeconds};
use super::store::{KeyStore, LendResult};

/// Invalidation stripes of a [`CachedStore`](super::CachedStore): a change bumps the
/// stripe of the id it touches.
pub(crate) const STRIPES: usize = 64;

/// The stripe generations; the cache and its set of ids share them.
pub(crate) type Generations = Arc<[AtomicU64; STRIPES]>;

/// The stripe of a key id with this code: ids are random, so their codes spread evenly.
pub(crate) fn key_stripe(code: u64) -> usize {
    // The modulo keeps the index below STRIPES, so the cast cannot truncate.
    (code % STRIPES as u64) as usize
}

/// What the set holds for one id: the record last read for it, if any, so a
/// verification finds the id and its record with one lookup, the same for an id held
/// and one lacking (the stand-in holds the decoy).
///
/// A change to the key drops the record (`forget`), and a read that raced a change is
/// not kept (`hold` compares the id's stripe generation from before the read), so a
/// held record is current but for changes nobody reported, which wait for `until`.
#[derive(Clone)]
struct Held {
    record: Option<Arc<KeyRecord>>,
    /// Served until then: the TTL counted from before the read.
    until: Tick,
    /// The record's digests, kept here so a refusal reads the index and nothing else.
    digests: Digests,
}

impl Held {
    fn empty() -> Held {
        Held {
            record: None,
            until: Tick::now(),
            digests: Digests::NONE,
        }
    }

    fn of(record: Arc<KeyRecord>, until: Tick) -> Held {
        Held {
            digests: Digests::of(&record.hashes),
            record: Some(record),
            until,
        }
    }
}

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
    generations: Generations,
    /// A `list` is running (one at a time).
    loading: AtomicBool,
    /// Set by every check, cleared by the refresher: the set is only kept fresh in use.
    used: AtomicBool,
    /// The refresher task runs.
    refreshing: AtomicBool,
}

struct State {
    /// Key ids and their records, looked up the same way whether held or not; ids not
    /// held find the stand-in, which holds the decoy.
    ids: IdIndex<Held>,
    /// Ids that are not in the key id format (only a custom store could have them).
    odd: HashSet<String, RandomState>,
    /// Until when the set is complete; `None` when it is not known to be.
    trusted_until: Option<Tick>,
    /// Bumped by whatever makes the set incomplete; a `list` that started before a bump
    /// is not trusted.
    generation: u64,
    /// The source of change reports is down: nothing is trusted.
    blocked: bool,
    ttl: Duration,
}

impl State {
    fn add(&mut self, id: &str) {
        if encode(id).is_none() {
            self.odd.insert(id.to_owned());
        } else if !self.ids.contains(id) {
            self.ids.insert(id, Held::empty());
        }
    }

    /// Whether a record is held for `id` (fresh or not).
    fn holds_record(&self, id: &str) -> bool {
        self.ids.get(id).is_some_and(|held| held.record.is_some())
    }
}

impl KnownIds {
    /// `decoy` is what an id the set lacks is checked against.
    pub(crate) fn new(ttl: Duration, decoy: Arc<KeyRecord>, generations: Generations) -> KnownIds {
        // Never stale, and compared like a fresh record: its `until` lies ahead too, so
        // comparing the times takes the path a fresh record's does (a time in the
        // past compares differently, and the timing test sees it).
        let forever = Tick::now().after(Duration::from_secs(100 * 365 * 86_400));
        let stand_in = Held::of(decoy, forever);
        KnownIds {
            generations,
            state: RwLock::new(State {
                ids: IdIndex::with_stand_in(stand_in),
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
            Some(until) if Tick::now() < until => {
                let known = match encode(id) {
                    Some(code) => state.ids.get_or_stand_in_code(code).1,
                    None => state.odd.contains(id),
                };
                // Picked by index, not branched on.
                [Check::Unknown, Check::Known][usize::from(std::hint::black_box(known))]
            }
            _ => Check::Untrusted,
        }
    }

    /// What the keyring asks, answered from the set when it can: the digests of the
    /// id's own record while it is fresh, or the decoy's for an id the trusted set
    /// lacks, compared with `presented` (a share of the record is taken only on a
    /// match, as in `MemoryStore`). Both take the same steps and read the same places:
    /// one lookup in the index, the slot it ends at and the stand-in's, digests picked
    /// between them by arithmetic, one comparison. `None`: a record not held or stale,
    /// or an untrusted set; the cache's entries or the store answer then.
    pub(crate) fn lend_if_matches(
        &self,
        id: &str,
        presented: &[u8; 32],
        now: UnixSeconds,
    ) -> Option<LendResult> {
        let code = encode(id)?;
        if !self.used.load(Ordering::Relaxed) {
            self.used.store(true, Ordering::Relaxed);
        }
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let instant = Tick::now();
        let trusted = Choice::from(u8::from(
            state.trusted_until.is_some_and(|until| instant < until),
        ));
        let (slot, stand_in, found) = state.ids.slot_and_stand_in(code);
        let found = Choice::from(u8::from(found));
        // The slot's own checks, made for every id: only a held id's result counts.
        let fresh = u8::from(instant < slot.until) & u8::from(slot.record.is_some());
        let own = found & Choice::from(fresh);
        if !bool::from(own | (!found & trusted)) {
            return None;
        }
        let digests = Digests::select(&stand_in.digests, &slot.digests, found);
        let matches = digests.match_secret(presented, now) & own;
        let lent = bool::from(matches).then(|| slot.record.clone()).flatten();
        Some(Ok((lent, bool::from(own))))
    }

    /// Keeps the record a store read gave for its id, unless the id changed since the
    /// read began (its stripe `generation` from then has moved on); `read_at` is when it
    /// began.
    pub(crate) fn hold(&self, record: &Arc<KeyRecord>, generation: u64, read_at: Tick) {
        let Some(code) = encode(&record.id) else {
            return;
        };
        let mut state = self.write();
        // Under the lock `forget` takes after its bump: a change either shows here, or
        // comes after and drops what is kept.
        if self.generation(code) != generation {
            return;
        }
        let until = read_at.after(state.ttl);
        state
            .ids
            .insert(&record.id, Held::of(Arc::clone(record), until));
    }

    /// The generation of the stripe of the key id with this code.
    fn generation(&self, code: u64) -> u64 {
        self.generations[key_stripe(code)].load(Ordering::SeqCst)
    }

    /// The key `id` changed (its stripe was bumped first): drop its record, and add the
    /// id, which may exist now.
    pub(crate) fn forget(&self, id: &str) {
        let mut state = self.write();
        if encode(id).is_some() {
            state.ids.insert(id, Held::empty());
        } else {
            state.odd.insert(id.to_owned());
        }
    }

    /// A change of unknown scope: trust nothing until the next complete `list`.
    /// Every record held is dropped too (the stripes were bumped first).
    pub(crate) fn distrust(&self) {
        let mut state = self.write();
        state.trusted_until = None;
        state.generation += 1;
        for held in state.ids.values_mut() {
            held.record = None;
        }
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
            (state.generation, Tick::now())
        };
        // Taken before the list, as for any read: a record changed meanwhile is stale.
        let stripes: [u64; STRIPES] =
            std::array::from_fn(|i| self.generations[i].load(Ordering::SeqCst));
        match store.list(KeyFilter::default()).await {
            Ok(records) => {
                let mut state = self.write();
                let until = started.after(state.ttl);
                for record in records {
                    // Records in use are refreshed, unless changed since the list began;
                    // the others are only named.
                    let unchanged = |code| self.generation(code) == stripes[key_stripe(code)];
                    match encode(&record.id) {
                        Some(code) if state.holds_record(&record.id) && unchanged(code) => {
                            let id = record.id.clone();
                            state.ids.insert(&id, Held::of(Arc::new(record), until));
                        }
                        _ => state.add(&record.id),
                    }
                }
                if state.generation == generation && !state.blocked {
                    state.trusted_until = Some(started.after(state.ttl));
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
