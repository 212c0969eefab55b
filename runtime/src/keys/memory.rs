//! [`MemoryStore`]: keys in process memory, for tests and single-process demos.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use subtle::Choice;

use super::format::KeyFormat;
use super::index::{encode, IdIndex};
use super::model::{
    apply_rotation, apply_update, decoy_record, new_record, sha256, Clock, Digests, IssuedKey,
    KeyFilter, KeyRecord, KeyStatus, KeyUpdate, NewKey, Owner, StoreError, SystemClock,
    UnixSeconds,
};
use super::store::secret_matches;
use super::store::{KeyStore, LendResult, Sealed};

/// A [`KeyStore`] in a `Mutex<HashMap>`. Everything is lost when the process ends.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    format: KeyFormat,
    clock: Arc<dyn Clock>,
}

struct Inner {
    /// Shared with the keyring's reads, copied on write.
    keys: HashMap<String, Arc<KeyRecord>>,
    /// The same records, for the keyring's reads: a lookup of an unknown id costs what
    /// one of a known id does (a hash map answers a miss sooner).
    index: IdIndex<Indexed>,
    owners: HashMap<String, Owner>,
}

/// A record in the index, with its digests beside it: the keyring's comparison reads
/// these, so a refusal reads the index and no record (see `Digests`).
struct Indexed {
    record: Arc<KeyRecord>,
    digests: Digests,
}

impl Indexed {
    fn of(record: Arc<KeyRecord>) -> Indexed {
        Indexed {
            digests: Digests::of(&record.hashes),
            record,
        }
    }
}

impl Default for Inner {
    fn default() -> Inner {
        Inner {
            keys: HashMap::new(),
            // What an unknown id is checked against: kept among the records, so reaching
            // it costs what reaching a record does.
            index: IdIndex::with_stand_in(Indexed::of(Arc::new(decoy_record()))),
            owners: HashMap::new(),
        }
    }
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store with the default key format and the system clock.
    pub fn new() -> MemoryStore {
        MemoryStore {
            inner: Mutex::new(Inner::default()),
            format: KeyFormat::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Issues keys in this format.
    pub fn with_format(mut self, format: KeyFormat) -> MemoryStore {
        self.format = format;
        self
    }

    /// Reads the time from this clock.
    pub fn with_clock(mut self, clock: impl Clock) -> MemoryStore {
        self.clock = Arc::new(clock);
        self
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        // A poisoned lock means a panic mid-update; refuse rather than serve torn data.
        self.inner
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".to_owned()))
    }

    /// Both forms of `lend_if_matches`: nothing here waits.
    fn lend_if_matches_here(
        &self,
        id: &str,
        presented: &[u8; 32],
        now: UnixSeconds,
        absent: &Arc<KeyRecord>,
    ) -> LendResult {
        let inner = self.lock()?;
        let Some(code) = encode(id) else {
            // Not a key id (only ever a custom store's): no index, no timing promise.
            let (record, found) = inner.keys.get(id).map_or((absent, false), |r| (r, true));
            let matches = secret_matches(record, presented, now) & found;
            return Ok((matches.then(|| Arc::clone(record)), found));
        };
        let (slot, stand_in, found) = inner.index.slot_and_stand_in(code);
        let known = Choice::from(u8::from(found));
        // Compared from the index, picked by arithmetic; a share of the record is taken
        // only for a match, so a refusal writes to no record's count.
        let digests = Digests::select(&stand_in.digests, &slot.digests, known);
        let matches = digests.match_secret(presented, now) & known;
        Ok((bool::from(matches).then(|| Arc::clone(&slot.record)), found))
    }

    fn owner_op(&self, id: &str, change: impl FnOnce(&mut Owner)) -> Result<Owner, StoreError> {
        let mut inner = self.lock()?;
        let owner = inner
            .owners
            .entry(id.to_owned())
            .or_insert_with(|| Owner::new(id));
        change(owner);
        Ok(owner.clone())
    }

    fn key_op<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut KeyRecord) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self.lock()?;
        let inner = &mut *inner;
        let record = inner
            .keys
            .get_mut(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let out = change(Arc::make_mut(record));
        inner.index.insert(id, Indexed::of(Arc::clone(record)));
        out
    }
}

impl KeyStore for MemoryStore {
    async fn create(&self, spec: NewKey) -> Result<IssuedKey, StoreError> {
        let now = self.clock.now();
        let mut inner = self.lock()?;
        // Ids carry 60 random bits; a collision is astronomically rare, but cheap to avoid.
        let mut generated = self.format.generate()?;
        while inner.keys.contains_key(&generated.key_id) {
            generated = self.format.generate()?;
        }
        let epoch = match &spec.owner {
            Some(owner) => {
                inner
                    .owners
                    .entry(owner.clone())
                    .or_insert_with(|| Owner::new(owner))
                    .epoch
            }
            None => 0,
        };
        let hash = sha256(generated.secret.expose_secret());
        let record = new_record(spec, generated.key_id, hash, epoch, now);
        let shared = Arc::new(record.clone());
        inner
            .index
            .insert(&record.id, Indexed::of(Arc::clone(&shared)));
        inner.keys.insert(record.id.clone(), shared);
        Ok(IssuedKey {
            record,
            key: generated.full,
        })
    }

    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        Ok(self.lock()?.keys.get(id).map(|r| KeyRecord::clone(r)))
    }

    async fn lend(&self, id: &str, _: Sealed) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        let inner = self.lock()?;
        let found = match encode(id) {
            Some(_) => inner.index.get(id).map(|held| &held.record),
            None => inner.keys.get(id),
        };
        Ok(found.cloned())
    }

    async fn lend_or(
        &self,
        id: &str,
        absent: &Arc<KeyRecord>,
        _: Sealed,
    ) -> Result<(Arc<KeyRecord>, bool), StoreError> {
        let inner = self.lock()?;
        let (record, found) = match encode(id) {
            Some(code) => {
                let (held, found) = inner.index.get_or_stand_in_code(code);
                (&held.record, found)
            }
            None => inner.keys.get(id).map_or((absent, false), |r| (r, true)),
        };
        // One shared count bumped either way: the record's or the stand-in's.
        Ok((Arc::clone(record), found))
    }

    async fn lend_if_matches(
        &self,
        id: &str,
        presented: &[u8; 32],
        now: UnixSeconds,
        absent: &Arc<KeyRecord>,
        _: Sealed,
    ) -> LendResult {
        self.lend_if_matches_here(id, presented, now, absent)
    }

    async fn list(&self, filter: KeyFilter) -> Result<Vec<KeyRecord>, StoreError> {
        let now = self.clock.now();
        let mut out: Vec<KeyRecord> = self
            .lock()?
            .keys
            .values()
            .filter(|r| filter.matches(r, now))
            .map(|r| KeyRecord::clone(r))
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn revoke(&self, id: &str) -> Result<(), StoreError> {
        self.key_op(id, |r| {
            r.status = KeyStatus::Revoked;
            Ok(())
        })
    }

    async fn rotate(&self, id: &str, grace: Duration) -> Result<SecretString, StoreError> {
        let now = self.clock.now();
        let generated = self.format.generate_secret(id)?;
        let hash = sha256(generated.secret.expose_secret());
        self.key_op(id, |r| apply_rotation(r, hash, grace, now))?;
        Ok(generated.full)
    }

    async fn update(&self, id: &str, change: KeyUpdate) -> Result<KeyRecord, StoreError> {
        self.key_op(id, |r| {
            apply_update(r, change);
            Ok(r.clone())
        })
    }

    async fn get_owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        Ok(self.lock()?.owners.get(id).cloned())
    }

    async fn disable_owner(&self, id: &str) -> Result<Owner, StoreError> {
        self.owner_op(id, |o| o.enabled = false)
    }

    async fn enable_owner(&self, id: &str) -> Result<Owner, StoreError> {
        self.owner_op(id, |o| o.enabled = true)
    }

    async fn bump_epoch(&self, id: &str) -> Result<Owner, StoreError> {
        self.owner_op(id, |o| o.epoch = o.epoch.saturating_add(1))
    }

    async fn record_use(&self, id: &str, at: UnixSeconds) -> Result<(), StoreError> {
        self.key_op(id, |r| {
            r.last_used_at = Some(r.last_used_at.map_or(at, |old| old.max(at)));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::model::{decoy_record, secret_part};

    fn now<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("memory store waited"),
        }
    }

    #[test]
    fn lends_a_record_only_for_its_secret() {
        let store = MemoryStore::new();
        let issued = now(store.create(NewKey::new("k"))).unwrap();
        let id = issued.record.id.clone();
        let right = sha256(secret_part(issued.key.expose_secret()).expose_secret());
        let absent = Arc::new(decoy_record());
        let ask = |id: &str, presented: &[u8; 32]| {
            now(store.lend_if_matches(id, presented, 0, &absent, Sealed::TOKEN)).unwrap()
        };
        let (record, found) = ask(&id, &right);
        assert!(found);
        assert_eq!(record.map(|r| r.id.clone()), Some(id.clone()));
        assert!(matches!(ask(&id, &[0xA5; 32]), (None, true)));
        // The stand-in's hash matches nothing that unlocks it, its own included.
        assert!(matches!(ask("bbbbbbbbbbbb", &right), (None, false)));
        assert!(matches!(ask("bbbbbbbbbbbb", &[0xA5; 32]), (None, false)));
        assert!(matches!(ask("not an id", &[0xA5; 32]), (None, false)));
    }
}
