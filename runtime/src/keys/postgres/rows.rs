//! Rows to records and back: what a key's row holds, read with its types checked.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::keys::audit::{creator, RawEntry};
use crate::keys::error::StoreError;
use crate::keys::model::{KeyRecord, KeyStatus, Metadata, Owner, SecretHashes};
use crate::keys::names::{NameInUse, NameKind};
use crate::keys::page::OwnerSummary;

/// A key row as stored, checked into a record.
pub(super) fn read_record(row: &Row) -> Result<KeyRecord, StoreError> {
    let id: String = row
        .try_get(0)
        .map_err(|e| StoreError::corrupt("a key id").caused_by(e))?;
    let bad = |e: tokio_postgres::Error| StoreError::corrupt(format!("key `{id}`")).caused_by(e);
    let json_err = |what: &str| corrupt(&id, &format!("{what} is not valid JSON"));
    let hash = |bytes: Vec<u8>| -> Result<[u8; 32], StoreError> {
        bytes
            .try_into()
            .map_err(|_| corrupt(&id, "a secret hash is not 32 bytes"))
    };
    let owner_epoch: i64 = row.try_get(4).map_err(bad)?;
    let roles: String = row.try_get(5).map_err(bad)?;
    let status: String = row.try_get(9).map_err(bad)?;
    let schemes: Option<String> = row.try_get(10).map_err(bad)?;
    let permissions: String = row.try_get(11).map_err(bad)?;
    let current = hash(row.try_get(12).map_err(bad)?)?;
    let previous_hash: Option<Vec<u8>> = row.try_get(13).map_err(bad)?;
    let previous_until: Option<i64> = row.try_get(14).map_err(bad)?;
    let metadata: Option<String> = row.try_get(15).map_err(bad)?;
    let created_by = creator(row.try_get(16).map_err(bad)?, row.try_get(17).map_err(bad)?)
        .map_err(|what| corrupt(&id, &what))?;
    let previous = match (previous_hash, previous_until) {
        (Some(h), Some(until)) => Some((hash(h)?, until)),
        (None, None) => None,
        _ => return Err(corrupt(&id, "half of a previous secret is missing")),
    };
    Ok(KeyRecord {
        name: row.try_get(1).map_err(bad)?,
        description: row.try_get(2).map_err(bad)?,
        owner: row.try_get(3).map_err(bad)?,
        owner_epoch: u64::try_from(owner_epoch)
            .map_err(|_| corrupt(&id, "negative owner epoch"))?,
        roles: serde_json::from_str(&roles).map_err(|_| json_err("roles"))?,
        created_at: row.try_get(6).map_err(bad)?,
        created_by,
        expires_at: row.try_get(7).map_err(bad)?,
        last_used_at: row.try_get(8).map_err(bad)?,
        status: KeyStatus::parse(&status)
            .ok_or_else(|| corrupt(&id, &format!("unknown status `{status}`")))?,
        schemes: match schemes {
            Some(s) => Some(serde_json::from_str(&s).map_err(|_| json_err("schemes"))?),
            None => None,
        },
        permissions: serde_json::from_str(&permissions).map_err(|_| json_err("permissions"))?,
        metadata: match metadata {
            Some(m) => serde_json::from_str(&m).map_err(|_| json_err("metadata"))?,
            None => Metadata::new(),
        },
        hashes: SecretHashes { current, previous },
        id,
    })
}

/// A row of `NAMES_IN_USE`: kind (0 operation, 1 scheme), name, keys, smallest id.
pub(super) fn read_name_in_use(row: &Row) -> Result<NameInUse, StoreError> {
    let bad = |e: tokio_postgres::Error| {
        StoreError::corrupt("the operation and scheme names of the keys").caused_by(e)
    };
    let kind: i32 = row.try_get(0).map_err(bad)?;
    let keys: i64 = row.try_get(2).map_err(bad)?;
    Ok(NameInUse {
        kind: if kind == 0 {
            NameKind::Operation
        } else {
            NameKind::Scheme
        },
        name: row.try_get(1).map_err(bad)?,
        keys: u64::try_from(keys).unwrap_or(0),
        example: row.try_get(3).map_err(bad)?,
    })
}

/// The 16 values of a key row, in `key_columns!` order.
pub(super) struct KeyRow {
    owner_epoch: i64,
    roles: String,
    status: &'static str,
    schemes: Option<String>,
    permissions: String,
    current: Vec<u8>,
    previous_sha256: Option<Vec<u8>>,
    previous_until: Option<i64>,
    metadata: Option<String>,
}

impl KeyRow {
    pub(super) fn new(r: &KeyRecord) -> Result<KeyRow, StoreError> {
        let (previous_sha256, previous_until) = match r.hashes.previous {
            Some((h, until)) => (Some(h.to_vec()), Some(until)),
            None => (None, None),
        };
        Ok(KeyRow {
            owner_epoch: to_i64(r.owner_epoch)?,
            roles: to_json(&r.roles)?,
            status: r.status.as_str(),
            schemes: r.schemes.as_ref().map(to_json).transpose()?,
            permissions: to_json(&r.permissions)?,
            current: r.hashes.current.to_vec(),
            previous_sha256,
            previous_until,
            metadata: (!r.metadata.is_empty())
                .then(|| to_json(&r.metadata))
                .transpose()?,
        })
    }

    pub(super) fn params<'a>(&'a self, r: &'a KeyRecord) -> [&'a (dyn ToSql + Sync); 16] {
        [
            &r.id,
            &r.name,
            &r.description,
            &r.owner,
            &self.owner_epoch,
            &self.roles,
            &r.created_at,
            &r.expires_at,
            &r.last_used_at,
            &self.status,
            &self.schemes,
            &self.permissions,
            &self.current,
            &self.previous_sha256,
            &self.previous_until,
            &self.metadata,
        ]
    }
}

pub(super) fn read_owner(id: &str, row: &Row) -> Result<Owner, StoreError> {
    let bad = |e: tokio_postgres::Error| StoreError::corrupt(format!("owner `{id}`")).caused_by(e);
    let enabled: bool = row.try_get(0).map_err(bad)?;
    let epoch: i64 = row.try_get(1).map_err(bad)?;
    Ok(Owner {
        id: id.to_owned(),
        enabled,
        epoch: u64::try_from(epoch)
            .map_err(|_| StoreError::corrupt(format!("owner `{id}`: negative epoch")))?,
    })
}

/// A row of an owner page: id, enabled, epoch, key count.
pub(super) fn read_owner_summary(row: &Row) -> Result<OwnerSummary, StoreError> {
    let id: String = row
        .try_get(0)
        .map_err(|e| StoreError::corrupt("an owner id").caused_by(e))?;
    let bad = |e: tokio_postgres::Error| StoreError::corrupt(format!("owner `{id}`")).caused_by(e);
    let enabled: bool = row.try_get(1).map_err(bad)?;
    let epoch: i64 = row.try_get(2).map_err(bad)?;
    let keys: i64 = row.try_get(3).map_err(bad)?;
    let epoch = u64::try_from(epoch)
        .map_err(|_| StoreError::corrupt(format!("owner `{id}`: negative epoch")))?;
    Ok(OwnerSummary {
        owner: Owner { id, enabled, epoch },
        keys: u64::try_from(keys).unwrap_or(0),
    })
}

/// A row of `AUDIT_COLUMNS`.
pub(super) fn read_entry(row: &Row) -> Result<RawEntry, StoreError> {
    let bad = |e: tokio_postgres::Error| StoreError::corrupt("an audit entry").caused_by(e);
    Ok(RawEntry {
        seq: row.try_get(0).map_err(bad)?,
        at: row.try_get(1).map_err(bad)?,
        actor_kind: row.try_get(2).map_err(bad)?,
        actor: row.try_get(3).map_err(bad)?,
        action: row.try_get(4).map_err(bad)?,
        target_kind: row.try_get(5).map_err(bad)?,
        target: row.try_get(6).map_err(bad)?,
        changes: row.try_get(7).map_err(bad)?,
        request_id: row.try_get(8).map_err(bad)?,
    })
}

/// Key rows as columns, for one multi-row insert (`INSERT_KEYS`); the creator is written
/// here only, since no change alters it.
#[derive(Default)]
pub(super) struct KeyColumns {
    id: Vec<String>,
    name: Vec<String>,
    description: Vec<Option<String>>,
    owner: Vec<Option<String>>,
    owner_epoch: Vec<i64>,
    roles: Vec<String>,
    created_at: Vec<i64>,
    expires_at: Vec<Option<i64>>,
    last_used_at: Vec<Option<i64>>,
    status: Vec<&'static str>,
    schemes: Vec<Option<String>>,
    permissions: Vec<String>,
    current: Vec<Vec<u8>>,
    previous_sha256: Vec<Option<Vec<u8>>>,
    previous_until: Vec<Option<i64>>,
    metadata: Vec<Option<String>>,
    created_by_kind: Vec<Option<&'static str>>,
    created_by: Vec<Option<String>>,
}

impl KeyColumns {
    pub(super) fn push(&mut self, r: &KeyRecord) -> Result<(), StoreError> {
        let row = KeyRow::new(r)?;
        self.id.push(r.id.clone());
        self.name.push(r.name.clone());
        self.description.push(r.description.clone());
        self.owner.push(r.owner.clone());
        self.owner_epoch.push(row.owner_epoch);
        self.roles.push(row.roles);
        self.created_at.push(r.created_at);
        self.expires_at.push(r.expires_at);
        self.last_used_at.push(r.last_used_at);
        self.status.push(row.status);
        self.schemes.push(row.schemes);
        self.permissions.push(row.permissions);
        self.current.push(row.current);
        self.previous_sha256.push(row.previous_sha256);
        self.previous_until.push(row.previous_until);
        self.metadata.push(row.metadata);
        let creator = r.created_by.as_ref();
        self.created_by_kind
            .push(creator.map(|a| a.kind().as_str()));
        self.created_by.push(creator.map(|a| a.name().to_owned()));
        Ok(())
    }

    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 18] {
        [
            &self.id,
            &self.name,
            &self.description,
            &self.owner,
            &self.owner_epoch,
            &self.roles,
            &self.created_at,
            &self.expires_at,
            &self.last_used_at,
            &self.status,
            &self.schemes,
            &self.permissions,
            &self.current,
            &self.previous_sha256,
            &self.previous_until,
            &self.metadata,
            &self.created_by_kind,
            &self.created_by,
        ]
    }
}

fn corrupt(id: &str, what: &str) -> StoreError {
    StoreError::corrupt(format!("key `{id}`: {what}"))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::corrupt(format!("epoch {value} is out of range")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt("a value as JSON").caused_by(e))
}
