//! The write paths: creating keys, changing a key, changing or deleting an owner; each in
//! one transaction with its audit entries and notifications.

use std::collections::HashMap;

use secrecy::ExposeSecret;

use super::rows::{read_owner, read_record, KeyColumns, KeyRow};
use super::shared::pg;
use super::{PostgresStore, SELECT_KEY};
use crate::digest::sha256;
use crate::keys::audit::{Actor, AuditAction, Draft};
use crate::keys::change::{
    check_new, created, KeyChange, KeyChanged, OwnerChange, OwnerChanged, Prepared, PreparedOwner,
};
use crate::keys::error::{AuditTarget, StoreError};
use crate::keys::model::{new_record, IssuedKey, NewKey, Owner};

/// Inserts keys, one per element of the arrays, except those whose id is taken (by a
/// key, or by a deleted one: never issued again); the ids inserted.
const INSERT_KEYS: &str = "INSERT INTO {s}.keys (id, name, description, owner, owner_epoch, \
    roles, created_at, expires_at, last_used_at, status, schemes, permissions, \
    secret_sha256, previous_sha256, previous_until, metadata, created_by_kind, created_by) \
    SELECT k.id, k.name, k.description, k.owner, k.owner_epoch, k.roles::jsonb, \
    k.created_at, k.expires_at, k.last_used_at, k.status, k.schemes::jsonb, \
    k.permissions::jsonb, k.secret_sha256, k.previous_sha256, k.previous_until, \
    k.metadata::jsonb, k.created_by_kind, k.created_by \
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], \
    $7::int8[], $8::int8[], $9::int8[], $10::text[], $11::text[], $12::text[], \
    $13::bytea[], $14::bytea[], $15::int8[], $16::text[], $17::text[], $18::text[]) \
    AS k(id, name, description, owner, owner_epoch, roles, created_at, expires_at, \
    last_used_at, status, schemes, permissions, secret_sha256, previous_sha256, \
    previous_until, metadata, created_by_kind, created_by) \
    WHERE NOT EXISTS (SELECT 1 FROM {s}.deleted_keys AS d WHERE d.id = k.id) \
    ON CONFLICT (id) DO NOTHING RETURNING id";

/// Creates the owners `$1` (distinct) where needed and reads their epochs. The no-op
/// update on conflict still locks each row, so a concurrent epoch bump waits until the
/// new keys are committed.
const TOUCH_OWNERS: &str = "INSERT INTO {s}.owners (id, enabled, epoch) \
    SELECT unnest($1::text[]), true, 0 \
    ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING id, epoch";

const UPDATE_KEY: &str = "UPDATE {s}.keys SET name = $2, description = $3, owner = $4, \
    owner_epoch = $5, roles = $6::text::jsonb, created_at = $7, expires_at = $8, \
    last_used_at = $9, status = $10, schemes = $11::text::jsonb, \
    permissions = $12::text::jsonb, secret_sha256 = $13, previous_sha256 = $14, \
    previous_until = $15, metadata = $16::text::jsonb WHERE id = $1";

impl PostgresStore {
    /// Deletes `owner`, locked in `tx`, and its keys, with an audit entry for each; the
    /// ids of the keys and the notifications to send.
    async fn delete_owner_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        prepared: &PreparedOwner,
        owner: &Owner,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let s = &*self.shared;
        let (id, now) = (prepared.id(), prepared.now());
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM {s}.keys WHERE owner = $1 ORDER BY id FOR UPDATE"
        );
        let rows = s.query(tx, sql, &[&id]).await?;
        let records = rows
            .iter()
            .map(read_record)
            .collect::<Result<Vec<_>, _>>()?;
        let entries = prepared.delete_entries(owner, &records)?;
        let ids: Vec<String> = records.into_iter().map(|r| r.id).collect();
        s.execute(tx, "DELETE FROM {s}.keys WHERE owner = $1", &[&id])
            .await?;
        s.execute(
            tx,
            "INSERT INTO {s}.deleted_keys (id, deleted_at) SELECT unnest($1::text[]), $2 \
             ON CONFLICT (id) DO NOTHING",
            &[&ids, &now],
        )
        .await?;
        s.execute(tx, "DELETE FROM {s}.owners WHERE id = $1", &[&id])
            .await?;
        // Last: the audit lock is held from the append to the commit.
        s.append_audit(tx, &entries).await?;
        let mut payloads: Vec<String> = ids.iter().map(|k| format!("key:{k}")).collect();
        payloads.push(format!("owner:{id}"));
        Ok((ids, payloads))
    }

    /// Creates keys in one transaction: their owners, the keys, their audit entries and
    /// their notifications in one statement each.
    pub(super) async fn create_in_one(
        &self,
        by: &Actor,
        specs: Vec<NewKey>,
    ) -> Result<Vec<IssuedKey>, StoreError> {
        for spec in &specs {
            check_new(spec, by)?;
        }
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let s = &*self.shared;
        let mut client = s.client().await?;
        let tx = s.begin(&mut client).await?;
        let mut owners: Vec<String> = specs.iter().filter_map(|k| k.owner.clone()).collect();
        owners.sort_unstable();
        owners.dedup();
        let mut epochs = HashMap::new();
        if !owners.is_empty() {
            for row in s.query(&tx, TOUCH_OWNERS, &[&owners]).await? {
                let id: String = row.try_get(0).map_err(pg)?;
                let epoch: i64 = row.try_get(1).map_err(pg)?;
                let epoch = u64::try_from(epoch)
                    .map_err(|_| StoreError::corrupt(format!("owner `{id}`: negative epoch")))?;
                epochs.insert(id, epoch);
            }
        }
        let mut slots: Vec<(NewKey, Option<IssuedKey>)> =
            specs.into_iter().map(|spec| (spec, None)).collect();
        // Ids carry 60 random bits; a collision is astronomically rare, but cheap to
        // survive, and a deleted id is never issued again: those keys draw again.
        for _ in 0..8 {
            let mut columns = KeyColumns::default();
            let mut drawn = HashMap::new();
            for (index, (spec, done)) in slots.iter().enumerate() {
                if done.is_some() {
                    continue;
                }
                let epoch = spec
                    .owner
                    .as_ref()
                    .map_or(0, |o| epochs.get(o).copied().unwrap_or(0));
                let generated = self.format.generate()?;
                let hash = sha256(generated.secret.expose_secret());
                let record = new_record(spec.clone(), generated.key_id, hash, epoch, by, now);
                columns.push(&record)?;
                drawn.insert(record.id.clone(), (index, record, generated.full));
            }
            if drawn.is_empty() {
                break;
            }
            for row in s.query(&tx, INSERT_KEYS, &columns.params()).await? {
                let id: String = row.try_get(0).map_err(pg)?;
                if let Some((index, record, key)) = drawn.remove(&id) {
                    slots[index].1 = Some(IssuedKey { record, key });
                }
            }
        }
        if slots.iter().any(|(_, done)| done.is_none()) {
            return Err(StoreError::unavailable("no free key id after 8 draws"));
        }
        let issued: Vec<IssuedKey> = slots.into_iter().filter_map(|(_, done)| done).collect();
        let entries: Vec<Draft> = issued
            .iter()
            .map(|k| {
                let target = AuditTarget::Key(k.record.id.clone());
                Draft::new(by, now, AuditAction::Create, target, created(&k.record))
            })
            .collect();
        s.append_audit(&tx, &entries).await?;
        let mut payloads: Vec<String> = owners.iter().map(|o| format!("owner:{o}")).collect();
        payloads.extend(issued.iter().map(|k| format!("key:{}", k.record.id)));
        s.notify(&tx, payloads).await?;
        s.commit(tx).await?;
        for key in &issued {
            s.known.insert(key.record.id.clone(), ());
        }
        Ok(issued)
    }

    pub(super) async fn write_key_change(
        &self,
        by: &Actor,
        id: &str,
        change: KeyChange,
    ) -> Result<KeyChanged, StoreError> {
        let prepared = Prepared::new(change, id, &self.format, by)?;
        let now = self.clock.now();
        let s = &*self.shared;
        let record = s
            .bounded(async {
                let mut client = s.client().await?;
                let tx = s.begin(&mut client).await?;
                let sql = format!("{SELECT_KEY} FOR UPDATE");
                let Some(row) = s.query_opt(&tx, &sql, &[&id]).await? else {
                    s.count();
                    tx.rollback().await.map_err(pg)?;
                    return Err(StoreError::NotFound(id.to_owned()));
                };
                let mut record = read_record(&row)?;
                let applied = match prepared.apply(&mut record, now) {
                    Ok(applied) => applied,
                    Err(e) => {
                        s.count();
                        tx.rollback().await.map_err(pg)?;
                        return Err(e);
                    }
                };
                let out = if applied.delete {
                    s.execute(&tx, "DELETE FROM {s}.keys WHERE id = $1", &[&id])
                        .await?;
                    s.execute(
                        &tx,
                        "INSERT INTO {s}.deleted_keys (id, deleted_at) VALUES ($1, $2) \
                         ON CONFLICT (id) DO NOTHING",
                        &[&id, &now],
                    )
                    .await?;
                    None
                } else {
                    let values = KeyRow::new(&record)?;
                    s.execute(&tx, UPDATE_KEY, &values.params(&record)).await?;
                    Some(record)
                };
                // Last: the audit lock is held from the append to the commit.
                if applied.recorded() {
                    let target = AuditTarget::Key(id.to_owned());
                    let entry = Draft::new(by, now, applied.action, target, applied.changes);
                    s.append_audit(&tx, &[entry]).await?;
                }
                s.notify(&tx, vec![format!("key:{id}")]).await?;
                s.commit(tx).await?;
                Ok(out)
            })
            .await?;
        if record.is_none() {
            s.known.invalidate(id);
            s.pending().remove(id);
        }
        Ok(KeyChanged {
            record: record.map(|r| s.with_pending(r)),
            key: prepared.into_key(),
        })
    }

    pub(super) async fn write_owner_change(
        &self,
        by: &Actor,
        id: &str,
        change: OwnerChange,
    ) -> Result<OwnerChanged, StoreError> {
        let prepared = PreparedOwner::new(change, id, by, self.clock.now())?;
        let s = &*self.shared;
        let deletes = prepared.change().deletes();
        let upsert = upsert(prepared.change());
        let changed = s
            .bounded(async {
                let mut client = s.client().await?;
                let tx = s.begin(&mut client).await?;
                let sql = "SELECT enabled, epoch FROM {s}.owners WHERE id = $1 FOR UPDATE";
                let before = match s.query_opt(&tx, sql, &[&id]).await? {
                    Some(row) => Some(read_owner(id, &row)?),
                    None => None,
                };
                // The row is locked (or absent, and then a precondition fails): its version
                // holds until the commit.
                let refused = match &before {
                    None if deletes => Err(StoreError::OwnerNotFound(id.to_owned())),
                    _ => prepared.check(before.as_ref()),
                };
                if let Err(e) = refused {
                    s.count();
                    tx.rollback().await.map_err(pg)?;
                    return Err(e);
                }
                if let (true, Some(owner)) = (deletes, &before) {
                    let (ids, payloads) = self.delete_owner_in(&tx, &prepared, owner).await?;
                    s.notify(&tx, payloads).await?;
                    s.commit(tx).await?;
                    return Ok(OwnerChanged {
                        owner: None,
                        deleted_keys: ids,
                    });
                }
                let rows = s.query(&tx, &upsert, &[&id]).await?;
                let row = rows
                    .first()
                    .ok_or_else(|| StoreError::unavailable("owner upsert returned nothing"))?;
                let owner = read_owner(id, row)?;
                if let Some(entry) = prepared.entry(before.as_ref(), &owner) {
                    s.append_audit(&tx, &[entry]).await?;
                }
                s.notify(&tx, vec![format!("owner:{id}")]).await?;
                s.commit(tx).await?;
                Ok(OwnerChanged {
                    owner: Some(owner),
                    deleted_keys: Vec::new(),
                })
            })
            .await?;
        for key in &changed.deleted_keys {
            s.known.invalidate(key);
            s.pending().remove(key);
        }
        Ok(changed)
    }
}

/// The upsert of an owner change other than `Delete`: applied in SQL, so concurrent bumps
/// of a new owner all count.
fn upsert(change: &OwnerChange) -> String {
    let (insert, set) = match change {
        OwnerChange::Disable => ("false, 0", "enabled = false"),
        OwnerChange::Enable => ("true, 0", "enabled = true"),
        OwnerChange::BumpEpoch => ("true, 1", "epoch = o.epoch + 1"),
        OwnerChange::Delete => return String::new(),
        OwnerChange::IfMatch { change, .. } => return upsert(change),
    };
    format!(
        "INSERT INTO {{s}}.owners AS o (id, enabled, epoch) VALUES ($1, {insert}) \
         ON CONFLICT (id) DO UPDATE SET {set} RETURNING enabled, epoch"
    )
}
