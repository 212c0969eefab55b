//! [`MemoryStore`]: keys in process memory, for tests and single-process demos.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::format::KeyFormat;
use super::model::{
    apply_rotation, apply_update, new_record, Clock, IssuedKey, KeyFilter, KeyRecord, KeyStatus,
    KeyUpdate, NewKey, Owner, StoreError, SystemClock, UnixSeconds,
};
use super::names::{NameInUse, Tally};
use super::store::KeyStore;
use crate::digest::sha256;

/// A [`KeyStore`] in a `Mutex<HashMap>`. Everything is lost when the process ends.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    format: KeyFormat,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct Inner {
    /// Shared with the keyring's reads, copied on write.
    keys: HashMap<String, Arc<KeyRecord>>,
    owners: HashMap<String, Owner>,
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
            .map_err(|_| StoreError::unavailable("memory store lock poisoned"))
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
        let record = inner
            .keys
            .get_mut(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        change(Arc::make_mut(record))
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
        inner
            .keys
            .insert(record.id.clone(), Arc::new(record.clone()));
        Ok(IssuedKey {
            record,
            key: generated.full,
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        Ok(self.lock()?.keys.get(id).cloned())
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

    async fn names_in_use(&self) -> Result<Vec<NameInUse>, StoreError> {
        // Counted in place: no record is copied.
        let mut tally = Tally::default();
        for record in self.lock()?.keys.values() {
            tally.add(record);
        }
        Ok(tally.into_names())
    }
}
