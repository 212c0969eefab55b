//! The [`KeyStore`] trait.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::audit::{Actor, AuditPage, AuditQuery};
use super::change::{check_new, KeyChange, KeyChanged, OwnerChange, OwnerChanged};
use super::clock::UnixSeconds;
use super::error::StoreError;
use super::model::{IssuedKey, KeyFilter, KeyRecord, KeyUpdate, NewKey, Owner};
use super::names::{NameInUse, Tally};
use super::page::{KeyPage, KeyQuery, OwnerPage, OwnerQuery, OwnerSummary, MAX_PAGE_SIZE};
use super::session::ConsoleSession;

/// Where keys, owners and the audit log live. [`MemoryStore`](super::MemoryStore),
/// `SqliteStore` (feature `sqlite`) and `PostgresStore` (feature `postgres`) implement
/// it and pass one shared test suite; [`CachedStore`](super::CachedStore) wraps any of
/// them.
///
/// Every change goes through [`KeyStore::create_by`], [`KeyStore::change_key`] or
/// [`KeyStore::change_owner`], which take the [`Actor`] that makes it and append an
/// audit entry in the same transaction; the shorthands (`create`, `revoke`,
/// `disable_owner`, ...) act as [`Actor::default`], the app.
///
/// Operations on a missing key answer [`StoreError::NotFound`]; owner operations other
/// than delete create the owner if the store does not know it yet.
pub trait KeyStore: Send + Sync + 'static {
    /// Creates a key, as `by`. The full key in the answer is never stored and cannot be
    /// shown again. Refuses metadata over the size limit ([`StoreError::Invalid`]).
    fn create_by(
        &self,
        by: &Actor,
        spec: NewKey,
    ) -> impl Future<Output = Result<IssuedKey, StoreError>> + Send;

    /// Creates several keys, as `by`: in one transaction in SQLite and PostgreSQL (all
    /// or none), which makes bulk imports many times faster than one `create_by` each.
    /// The keys come back in the order of `specs`. The provided method checks every spec
    /// first, then creates them one at a time (a failure midway keeps those before it).
    fn create_many_by(
        &self,
        by: &Actor,
        specs: Vec<NewKey>,
    ) -> impl Future<Output = Result<Vec<IssuedKey>, StoreError>> + Send {
        async move {
            for spec in &specs {
                check_new(spec, by)?;
            }
            let mut out = Vec::with_capacity(specs.len());
            for spec in specs {
                out.push(self.create_by(by, spec).await?);
            }
            Ok(out)
        }
    }

    /// Changes one key, as `by`, and records it in the audit log (a change that changes
    /// nothing, like revoking a revoked key, records nothing).
    fn change_key(
        &self,
        by: &Actor,
        id: &str,
        change: KeyChange,
    ) -> impl Future<Output = Result<KeyChanged, StoreError>> + Send;

    /// Changes one owner, as `by`, and records it in the audit log. Deleting an unknown
    /// owner is [`StoreError::OwnerNotFound`].
    fn change_owner(
        &self,
        by: &Actor,
        id: &str,
        change: OwnerChange,
    ) -> impl Future<Output = Result<OwnerChanged, StoreError>> + Send;

    /// The key with this id, if any: what the keyring reads on every request, shared so
    /// that a store which keeps records (the memory store, the cache) need not copy one.
    fn get(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Arc<KeyRecord>>, StoreError>> + Send;

    /// One page of the keys matching the query's filter, ordered by creation time, then
    /// id, starting after its cursor.
    fn list(&self, query: KeyQuery) -> impl Future<Output = Result<KeyPage, StoreError>> + Send;

    /// The owner with this id, if known.
    fn get_owner(&self, id: &str)
        -> impl Future<Output = Result<Option<Owner>, StoreError>> + Send;

    /// The owner with this id and how many keys it holds, if known.
    fn owner_summary(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<OwnerSummary>, StoreError>> + Send;

    /// One page of owners in id order, with their key counts.
    fn list_owners(
        &self,
        query: OwnerQuery,
    ) -> impl Future<Output = Result<OwnerPage, StoreError>> + Send;

    /// One page of the audit log, newest first.
    fn audit(
        &self,
        query: AuditQuery,
    ) -> impl Future<Output = Result<AuditPage, StoreError>> + Send;

    /// Records that the key was used at `at` (never moves the time backwards). Not
    /// audited.
    fn record_use(
        &self,
        id: &str,
        at: UnixSeconds,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps a web console session (digests only), first removing the sessions expired at
    /// its `created_at` and, when its admin key already has
    /// [`SESSIONS_PER_KEY`](super::SESSIONS_PER_KEY), that key's oldest. Sessions are
    /// never cached ([`CachedStore`](super::CachedStore) forwards these calls), so every
    /// instance sharing the store sees a login or a logout at once.
    fn create_session(
        &self,
        session: ConsoleSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The console session whose cookie value hashes to `id_sha256`, unless it has
    /// expired by `now` (an expired session is refused before it is pruned).
    fn get_session(
        &self,
        id_sha256: &[u8; 32],
        now: UnixSeconds,
    ) -> impl Future<Output = Result<Option<ConsoleSession>, StoreError>> + Send;

    /// Ends a console session (logging out); nothing happens when there is none.
    fn delete_session(
        &self,
        id_sha256: &[u8; 32],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every key matching `filter`, a page of [`MAX_PAGE_SIZE`] at a time: for tools
    /// that need them all (a count, an export), never for a request.
    fn list_all(
        &self,
        filter: KeyFilter,
    ) -> impl Future<Output = Result<Vec<KeyRecord>, StoreError>> + Send {
        async move {
            let mut query = KeyQuery::new(filter).limit(MAX_PAGE_SIZE);
            let mut out = Vec::new();
            loop {
                let page = self.list(query.clone()).await?;
                out.extend(page.keys);
                match page.next {
                    Some(cursor) => query.after = Some(cursor),
                    None => return Ok(out),
                }
            }
        }
    }

    /// Creates a key as the app ([`KeyStore::create_by`]).
    fn create(&self, spec: NewKey) -> impl Future<Output = Result<IssuedKey, StoreError>> + Send {
        async move { self.create_by(&Actor::default(), spec).await }
    }

    /// Creates several keys as the app ([`KeyStore::create_many_by`]).
    fn create_many(
        &self,
        specs: Vec<NewKey>,
    ) -> impl Future<Output = Result<Vec<IssuedKey>, StoreError>> + Send {
        async move { self.create_many_by(&Actor::default(), specs).await }
    }

    /// Revokes a key for good (idempotent).
    fn revoke(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            self.change_key(&Actor::default(), id, KeyChange::Revoke)
                .await
                .map(drop)
        }
    }

    /// Issues a new secret for the key and returns the new full key. The old secret stays
    /// valid for `grace` (zero: not at all). Only the latest previous secret is kept.
    fn rotate(
        &self,
        id: &str,
        grace: Duration,
    ) -> impl Future<Output = Result<SecretString, StoreError>> + Send {
        async move {
            let changed = self
                .change_key(&Actor::default(), id, KeyChange::Rotate { grace })
                .await?;
            changed
                .key
                .ok_or_else(|| StoreError::unavailable("the rotation returned no key"))
        }
    }

    /// Edits a key's fields; returns the updated record.
    fn update(
        &self,
        id: &str,
        change: KeyUpdate,
    ) -> impl Future<Output = Result<KeyRecord, StoreError>> + Send {
        async move {
            let changed = self
                .change_key(&Actor::default(), id, KeyChange::Update(change))
                .await?;
            record_of(changed, id)
        }
    }

    /// Disables a key until [`KeyStore::enable`]; a revoked key is
    /// [`StoreError::Revoked`].
    fn disable(&self, id: &str) -> impl Future<Output = Result<KeyRecord, StoreError>> + Send {
        async move {
            let changed = self
                .change_key(&Actor::default(), id, KeyChange::Disable)
                .await?;
            record_of(changed, id)
        }
    }

    /// Enables a disabled key; a revoked key is [`StoreError::Revoked`].
    fn enable(&self, id: &str) -> impl Future<Output = Result<KeyRecord, StoreError>> + Send {
        async move {
            let changed = self
                .change_key(&Actor::default(), id, KeyChange::Enable)
                .await?;
            record_of(changed, id)
        }
    }

    /// Deletes a key for good: the record is gone and its id is never issued again.
    fn delete(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            self.change_key(&Actor::default(), id, KeyChange::Delete)
                .await
                .map(drop)
        }
    }

    /// Disables an owner: none of its keys verify until it is enabled again.
    fn disable_owner(&self, id: &str) -> impl Future<Output = Result<Owner, StoreError>> + Send {
        async move { owner_of(self, id, OwnerChange::Disable).await }
    }

    /// Enables an owner again (keys of older epochs stay invalid).
    fn enable_owner(&self, id: &str) -> impl Future<Output = Result<Owner, StoreError>> + Send {
        async move { owner_of(self, id, OwnerChange::Enable).await }
    }

    /// Bumps an owner's credential epoch, invalidating every key it holds now.
    fn bump_epoch(&self, id: &str) -> impl Future<Output = Result<Owner, StoreError>> + Send {
        async move { owner_of(self, id, OwnerChange::BumpEpoch).await }
    }

    /// Deletes an owner and every key it holds (they stop at once); the ids of the
    /// deleted keys.
    fn delete_owner(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send {
        async move {
            let changed = self
                .change_owner(&Actor::default(), id, OwnerChange::Delete)
                .await?;
            Ok(changed.deleted_keys)
        }
    }

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
            for record in self.list_all(KeyFilter::default()).await? {
                tally.add(&record);
            }
            Ok(tally.into_names())
        }
    }
}

/// The record a key change answers, which every change but a delete has.
fn record_of(changed: KeyChanged, id: &str) -> Result<KeyRecord, StoreError> {
    changed
        .record
        .ok_or_else(|| StoreError::NotFound(id.to_owned()))
}

async fn owner_of<S: KeyStore + ?Sized>(
    store: &S,
    id: &str,
    change: OwnerChange,
) -> Result<Owner, StoreError> {
    let changed = store.change_owner(&Actor::default(), id, change).await?;
    changed
        .owner
        .ok_or_else(|| StoreError::OwnerNotFound(id.to_owned()))
}
