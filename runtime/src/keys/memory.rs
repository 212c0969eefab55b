//! [`MemoryStore`]: keys in process memory, for tests and single-process demos.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::audit::{
    prune_before, Actor, AuditAction, AuditEntry, AuditPage, AuditQuery, Draft,
    DEFAULT_AUDIT_RETENTION,
};
use super::change::{
    check_new, created, secret_hash, KeyChange, KeyChanged, OwnerChange, OwnerChanged, Prepared,
    PreparedOwner,
};
use super::clock::{Clock, SystemClock, UnixSeconds};
use super::error::{AuditTarget, StoreError};
use super::format::KeyFormat;
use super::model::{new_record, IssuedKey, KeyRecord, NewKey, Owner};
use super::names::{NameInUse, Tally};
use super::page::{KeyOrder, KeyPage, KeyQuery, OwnerPage, OwnerQuery, OwnerSummary};
use super::session::{ConsoleSession, SESSIONS_PER_KEY};
use super::store::KeyStore;

/// A [`KeyStore`] in a `Mutex<HashMap>`. Everything is lost when the process ends.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    format: KeyFormat,
    clock: Arc<dyn Clock>,
    retention: Option<Duration>,
}

#[derive(Default)]
struct Inner {
    /// Shared with the keyring's reads, copied on write.
    keys: HashMap<String, Arc<KeyRecord>>,
    owners: BTreeMap<String, Owner>,
    /// Ids of deleted keys, never issued again.
    deleted: HashSet<String>,
    /// Oldest first.
    audit: VecDeque<AuditEntry>,
    next_seq: u64,
    /// Console sessions by SHA-256 of their cookie value.
    sessions: HashMap<[u8; 32], ConsoleSession>,
}

impl Inner {
    fn append(&mut self, draft: Draft, retention: Option<Duration>) {
        if let Some(before) = prune_before(retention, draft.at) {
            while self.audit.front().is_some_and(|e| e.at < before) {
                self.audit.pop_front();
            }
        }
        self.next_seq += 1;
        self.audit.push_back(draft.numbered(self.next_seq));
    }

    /// Whether the id is taken: by a key, or by a deleted one (never issued again).
    fn id_taken(&self, id: &str) -> bool {
        self.keys.contains_key(id) || self.deleted.contains(id)
    }

    fn keys_of(&self, owner: &str) -> u64 {
        let held = self.keys.values();
        let count = held.filter(|r| r.owner.as_deref() == Some(owner)).count();
        u64::try_from(count).unwrap_or(u64::MAX)
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
            retention: Some(DEFAULT_AUDIT_RETENTION),
        }
    }

    /// Keeps audit entries this long (`None`: for ever); older ones are removed as new
    /// ones are added. Default [`DEFAULT_AUDIT_RETENTION`].
    pub fn with_audit_retention(mut self, keep: Option<Duration>) -> MemoryStore {
        self.retention = keep;
        self
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
}

impl KeyStore for MemoryStore {
    async fn create_by(&self, by: &Actor, spec: NewKey) -> Result<IssuedKey, StoreError> {
        check_new(&spec, by)?;
        let now = self.clock.now();
        let mut inner = self.lock()?;
        // Ids carry 60 random bits; a collision is astronomically rare, but cheap to
        // avoid, and a deleted id is never issued again.
        let mut generated = self.format.generate()?;
        while inner.id_taken(&generated.key_id) {
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
        let hash = secret_hash(&generated);
        let record = new_record(spec, generated.key_id, hash, epoch, by, now);
        let target = AuditTarget::Key(record.id.clone());
        let draft = Draft::new(by, now, AuditAction::Create, target, created(&record));
        inner.append(draft, self.retention);
        inner
            .keys
            .insert(record.id.clone(), Arc::new(record.clone()));
        Ok(IssuedKey {
            record,
            key: generated.full,
        })
    }

    async fn change_key(
        &self,
        by: &Actor,
        id: &str,
        change: KeyChange,
    ) -> Result<KeyChanged, StoreError> {
        let prepared = Prepared::new(change, id, &self.format, by)?;
        let now = self.clock.now();
        let mut inner = self.lock()?;
        let stored = inner
            .keys
            .get(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let mut record = KeyRecord::clone(stored);
        let applied = prepared.apply(&mut record, now)?;
        if applied.recorded() {
            let target = AuditTarget::Key(id.to_owned());
            let draft = Draft::new(by, now, applied.action, target, applied.changes);
            inner.append(draft, self.retention);
        }
        let record = if applied.delete {
            inner.keys.remove(id);
            inner.deleted.insert(id.to_owned());
            None
        } else {
            inner.keys.insert(id.to_owned(), Arc::new(record.clone()));
            Some(record)
        };
        drop(inner);
        Ok(KeyChanged {
            record,
            key: prepared.into_key(),
        })
    }

    async fn change_owner(
        &self,
        by: &Actor,
        id: &str,
        change: OwnerChange,
    ) -> Result<OwnerChanged, StoreError> {
        let deletes = change.deletes();
        let prepared = PreparedOwner::new(change, id, by, self.clock.now())?;
        let mut inner = self.lock()?;
        let inner = &mut *inner;
        let before = inner.owners.get(id).cloned();
        if deletes {
            let Some(before) = before else {
                return Err(StoreError::OwnerNotFound(id.to_owned()));
            };
            let mut gone: Vec<Arc<KeyRecord>> = inner
                .keys
                .values()
                .filter(|r| r.owner.as_deref() == Some(id))
                .cloned()
                .collect();
            gone.sort_by(|a, b| a.id.cmp(&b.id));
            for draft in prepared.delete_entries(&before, gone.iter().map(|r| &**r))? {
                inner.append(draft, self.retention);
            }
            for record in &gone {
                inner.keys.remove(&record.id);
                inner.deleted.insert(record.id.clone());
            }
            inner.owners.remove(id);
            return Ok(OwnerChanged {
                owner: None,
                deleted_keys: gone.iter().map(|r| r.id.clone()).collect(),
            });
        }
        let owner = prepared.apply(before.as_ref())?;
        if let Some(draft) = prepared.entry(before.as_ref(), &owner) {
            inner.append(draft, self.retention);
        }
        inner.owners.insert(id.to_owned(), owner.clone());
        Ok(OwnerChanged {
            owner: Some(owner),
            deleted_keys: Vec::new(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        Ok(self.lock()?.keys.get(id).cloned())
    }

    async fn list(&self, query: KeyQuery) -> Result<KeyPage, StoreError> {
        let now = self.clock.now();
        let size = query.page_size();
        let start = query.start()?;
        let mut out: Vec<KeyRecord> = self
            .lock()?
            .keys
            .values()
            .filter(|r| query.filter.matches(r, now))
            .filter(|r| start.is_none_or(|c| c.precedes(r)))
            .map(|r| KeyRecord::clone(r))
            .collect();
        out.sort_by(|a, b| {
            let oldest_first = (a.created_at, &a.id).cmp(&(b.created_at, &b.id));
            match query.order {
                KeyOrder::OldestFirst => oldest_first,
                KeyOrder::NewestFirst => oldest_first.reverse(),
            }
        });
        out.truncate(size + 1);
        Ok(KeyPage::from_rows(out, size, query.order))
    }

    async fn get_owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        Ok(self.lock()?.owners.get(id).cloned())
    }

    async fn owner_summary(&self, id: &str) -> Result<Option<OwnerSummary>, StoreError> {
        let inner = self.lock()?;
        Ok(inner.owners.get(id).map(|owner| OwnerSummary {
            owner: owner.clone(),
            keys: inner.keys_of(id),
        }))
    }

    async fn list_owners(&self, query: OwnerQuery) -> Result<OwnerPage, StoreError> {
        let size = query.page_size();
        let inner = self.lock()?;
        let after = query.after.as_deref();
        let owners = inner
            .owners
            .values()
            .filter(|o| after.is_none_or(|a| o.id.as_str() > a))
            .take(size + 1)
            .map(|owner| OwnerSummary {
                owner: owner.clone(),
                keys: inner.keys_of(&owner.id),
            })
            .collect();
        Ok(OwnerPage::from_rows(owners, size))
    }

    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        let size = query.page_size();
        let inner = self.lock()?;
        let entries = inner
            .audit
            .iter()
            .rev()
            .filter(|e| query.matches(e))
            .take(size + 1)
            .cloned()
            .collect();
        Ok(AuditPage::from_rows(entries, size))
    }

    async fn record_use(&self, id: &str, at: UnixSeconds) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let record = inner
            .keys
            .get_mut(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let record = Arc::make_mut(record);
        record.last_used_at = Some(record.last_used_at.map_or(at, |old| old.max(at)));
        Ok(())
    }

    async fn create_session(&self, session: ConsoleSession) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let now = session.created_at;
        inner.sessions.retain(|_, s| s.is_live(now));
        // Oldest first, as the SQL stores order them.
        let mut held: Vec<(UnixSeconds, [u8; 32])> = (inner.sessions.values())
            .filter(|s| s.key_id == session.key_id)
            .map(|s| (s.created_at, s.id_sha256))
            .collect();
        held.sort_unstable();
        let excess = (held.len() + 1).saturating_sub(SESSIONS_PER_KEY);
        for (_, id) in held.into_iter().take(excess) {
            inner.sessions.remove(&id);
        }
        inner.sessions.insert(session.id_sha256, session);
        Ok(())
    }

    async fn get_session(
        &self,
        id_sha256: &[u8; 32],
        now: UnixSeconds,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let inner = self.lock()?;
        let found = inner.sessions.get(id_sha256).filter(|s| s.is_live(now));
        Ok(found.cloned())
    }

    async fn delete_session(&self, id_sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.lock()?.sessions.remove(id_sha256);
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_id_stays_taken() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let store = MemoryStore::new();
        let id = runtime
            .block_on(store.create(NewKey::new("k")))
            .expect("create")
            .record
            .id;
        runtime.block_on(store.delete(&id)).expect("delete");
        let inner = store.lock().expect("lock");
        assert!(!inner.keys.contains_key(&id));
        assert!(inner.id_taken(&id), "a deleted id is never issued again");
        assert!(!inner.id_taken("nosuchkeyid2"));
    }
}
