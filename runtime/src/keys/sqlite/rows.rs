//! SQLite rows to records and back: keys, owners, audit entries.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::{db, to_i64, to_json, KEY_COLUMNS};
use crate::keys::audit::{creator, Actor, Draft, RawEntry};
use crate::keys::error::StoreError;
use crate::keys::model::{KeyRecord, KeyStatus, Metadata, Owner, SecretHashes};
use crate::keys::names::{NameInUse, NameKind};

fn corrupt(id: &str, what: &str) -> StoreError {
    StoreError::corrupt(format!("key `{id}`: {what}"))
}

/// A key row as stored, before checking.
pub(super) struct RawKey {
    id: String,
    name: String,
    description: Option<String>,
    owner: Option<String>,
    owner_epoch: i64,
    roles: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    status: String,
    schemes: Option<String>,
    permissions: String,
    secret_sha256: Vec<u8>,
    previous_sha256: Option<Vec<u8>>,
    previous_until: Option<i64>,
    metadata: Option<String>,
    created_by_kind: Option<String>,
    created_by: Option<String>,
}

pub(super) fn raw_key(row: &Row<'_>) -> rusqlite::Result<RawKey> {
    Ok(RawKey {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        owner: row.get(3)?,
        owner_epoch: row.get(4)?,
        roles: row.get(5)?,
        created_at: row.get(6)?,
        expires_at: row.get(7)?,
        last_used_at: row.get(8)?,
        status: row.get(9)?,
        schemes: row.get(10)?,
        permissions: row.get(11)?,
        secret_sha256: row.get(12)?,
        previous_sha256: row.get(13)?,
        previous_until: row.get(14)?,
        metadata: row.get(15)?,
        created_by_kind: row.get(16)?,
        created_by: row.get(17)?,
    })
}

impl RawKey {
    pub(super) fn check(self) -> Result<KeyRecord, StoreError> {
        let id = self.id;
        let hash = |bytes: Vec<u8>| -> Result<[u8; 32], StoreError> {
            bytes
                .try_into()
                .map_err(|_| corrupt(&id, "a secret hash is not 32 bytes"))
        };
        let current = hash(self.secret_sha256)?;
        let previous = match (self.previous_sha256, self.previous_until) {
            (Some(h), Some(until)) => Some((hash(h)?, until)),
            (None, None) => None,
            _ => return Err(corrupt(&id, "half of a previous secret is missing")),
        };
        let json_err = |what: &str| corrupt(&id, &format!("{what} is not valid JSON"));
        let created_by =
            creator(self.created_by_kind, self.created_by).map_err(|what| corrupt(&id, &what))?;
        Ok(KeyRecord {
            name: self.name,
            description: self.description,
            owner: self.owner,
            owner_epoch: u64::try_from(self.owner_epoch)
                .map_err(|_| corrupt(&id, "negative owner epoch"))?,
            roles: serde_json::from_str(&self.roles).map_err(|_| json_err("roles"))?,
            created_at: self.created_at,
            created_by,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            status: KeyStatus::parse(&self.status)
                .ok_or_else(|| corrupt(&id, &format!("unknown status `{}`", self.status)))?,
            schemes: match self.schemes {
                Some(s) => Some(serde_json::from_str(&s).map_err(|_| json_err("schemes"))?),
                None => None,
            },
            permissions: serde_json::from_str(&self.permissions)
                .map_err(|_| json_err("permissions"))?,
            metadata: match self.metadata {
                Some(m) => serde_json::from_str(&m).map_err(|_| json_err("metadata"))?,
                None => Metadata::new(),
            },
            hashes: SecretHashes { current, previous },
            id,
        })
    }
}

pub(super) fn read_key(conn: &Connection, id: &str) -> Result<Option<KeyRecord>, StoreError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
    stmt.query_row([id], raw_key)
        .optional()
        .map_err(db)?
        .map(RawKey::check)
        .transpose()
}

/// Inserts a new key (`update`: false) or rewrites an existing one's row.
pub(super) fn write_key(
    tx: &Transaction<'_>,
    r: &KeyRecord,
    update: bool,
) -> Result<(), StoreError> {
    let sql = if update {
        "UPDATE keys SET name = ?2, description = ?3, owner = ?4, owner_epoch = ?5, \
         roles = ?6, created_at = ?7, expires_at = ?8, last_used_at = ?9, status = ?10, \
         schemes = ?11, permissions = ?12, secret_sha256 = ?13, previous_sha256 = ?14, \
         previous_until = ?15, metadata = ?16, created_by_kind = ?17, created_by = ?18 \
         WHERE id = ?1"
            .to_owned()
    } else {
        format!(
            "INSERT INTO keys ({KEY_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
             ?17, ?18)"
        )
    };
    let schemes = r.schemes.as_ref().map(to_json).transpose()?;
    let metadata = (!r.metadata.is_empty())
        .then(|| to_json(&r.metadata))
        .transpose()?;
    let (prev_hash, prev_until) = match r.hashes.previous {
        Some((h, until)) => (Some(h.to_vec()), Some(until)),
        None => (None, None),
    };
    let mut stmt = tx.prepare_cached(&sql).map_err(db)?;
    stmt.execute(params![
        r.id,
        r.name,
        r.description,
        r.owner,
        to_i64(r.owner_epoch)?,
        to_json(&r.roles)?,
        r.created_at,
        r.expires_at,
        r.last_used_at,
        r.status.as_str(),
        schemes,
        to_json(&r.permissions)?,
        r.hashes.current.to_vec(),
        prev_hash,
        prev_until,
        metadata,
        r.created_by.as_ref().map(|a| a.kind().as_str()),
        r.created_by.as_ref().map(Actor::name),
    ])
    .map_err(db)?;
    Ok(())
}

pub(super) fn read_owner(conn: &Connection, id: &str) -> Result<Option<Owner>, StoreError> {
    let row = conn
        .query_row(
            "SELECT enabled, epoch FROM owners WHERE id = ?1",
            [id],
            |r| Ok((r.get::<_, bool>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()
        .map_err(db)?;
    row.map(|(enabled, epoch)| {
        Ok(Owner {
            id: id.to_owned(),
            enabled,
            epoch: u64::try_from(epoch)
                .map_err(|_| StoreError::corrupt(format!("owner `{id}`: negative epoch")))?,
        })
    })
    .transpose()
}

pub(super) fn write_owner(tx: &Transaction<'_>, owner: &Owner) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO owners (id, enabled, epoch) VALUES (?1, ?2, ?3)",
        params![owner.id, owner.enabled, to_i64(owner.epoch)?],
    )
    .map_err(db)?;
    Ok(())
}

/// Appends an audit entry.
pub(super) fn write_audit(tx: &Transaction<'_>, entry: &Draft) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO audit (at, actor_kind, actor, action, target_kind, target, changes, \
             request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(db)?;
    stmt.execute(params![
        entry.at,
        entry.actor_kind.as_str(),
        entry.actor,
        entry.action.as_str(),
        entry.target.kind(),
        entry.target.id(),
        entry.changes_json()?,
        entry.request_id,
    ])
    .map_err(db)?;
    Ok(())
}

/// The audit columns, in `raw_entry` order.
pub(super) const AUDIT_COLUMNS: &str =
    "seq, at, actor_kind, actor, action, target_kind, target, changes, request_id";

pub(super) fn raw_entry(row: &Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok(RawEntry {
        seq: row.get(0)?,
        at: row.get(1)?,
        actor_kind: row.get(2)?,
        actor: row.get(3)?,
        action: row.get(4)?,
        target_kind: row.get(5)?,
        target: row.get(6)?,
        changes: row.get(7)?,
        request_id: row.get(8)?,
    })
}

pub(super) fn name_in_use(row: &Row<'_>) -> rusqlite::Result<NameInUse> {
    let kind = match row.get::<_, i64>(0)? {
        0 => NameKind::Operation,
        _ => NameKind::Scheme,
    };
    let keys: i64 = row.get(2)?;
    Ok(NameInUse {
        kind,
        name: row.get(1)?,
        keys: u64::try_from(keys).unwrap_or(0),
        example: row.get(3)?,
    })
}
