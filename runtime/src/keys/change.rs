//! Changes to keys and owners, applied alike by every store, and what each one records in
//! the audit log (the fields it changed, before and after; never a secret or a hash).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::audit::{Actor, AuditAction, Draft, FieldChange};
use super::clock::{secs, UnixSeconds};
use super::error::{AuditTarget, StoreError};
use super::format::{GeneratedKey, KeyFormat};
use super::model::{check_metadata, KeyRecord, KeyStatus, KeyUpdate, NewKey, Owner, SecretHashes};
use crate::digest::sha256;

/// A change to one key, for [`KeyStore::change_key`](super::KeyStore::change_key).
// One value per admin change, moved once: boxing the update would only cost its callers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum KeyChange {
    /// Edits fields.
    Update(KeyUpdate),
    /// Stops the key until it is enabled again (401, like a revoked key).
    Disable,
    /// Lets a disabled key work again.
    Enable,
    /// Stops the key for good (idempotent).
    Revoke,
    /// A new secret; the old one stays valid for `grace` (zero: not at all).
    Rotate {
        /// How long the previous secret keeps working.
        grace: Duration,
    },
    /// Removes the key for good; its id is never issued again.
    Delete,
    /// `change`, only if the key's [`KeyRecord::etag`] is still `etag`: checked by the
    /// store in the transaction (or under the lock) of the change itself, so an edit
    /// made meanwhile is never overwritten; otherwise [`StoreError::Changed`]. Build it
    /// with [`KeyChange::if_match`].
    IfMatch {
        /// The version the change was meant for.
        etag: String,
        /// The change.
        change: Box<KeyChange>,
    },
}

impl KeyChange {
    /// This change, only if the key is still at version `etag` ([`KeyRecord::etag`]).
    pub fn if_match(self, etag: impl Into<String>) -> KeyChange {
        KeyChange::IfMatch {
            etag: etag.into(),
            change: Box::new(self),
        }
    }
}

/// A change to one owner, for [`KeyStore::change_owner`](super::KeyStore::change_owner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerChange {
    /// None of its keys work until it is enabled again (created if unknown).
    Disable,
    /// Its keys of the current epoch work again (created if unknown).
    Enable,
    /// Every key it holds now stops for good (created if unknown).
    BumpEpoch,
    /// The owner and all its keys are removed: they stop at once.
    Delete,
    /// `change`, only if the owner's [`Owner::etag`] is still `etag`: checked by the
    /// store in the transaction (or under the lock) of the change itself; otherwise
    /// [`StoreError::Changed`], or [`StoreError::OwnerNotFound`] for an owner the store
    /// does not know (never created). Build it with [`OwnerChange::if_match`].
    IfMatch {
        /// The version the change was meant for.
        etag: String,
        /// The change.
        change: Box<OwnerChange>,
    },
}

impl OwnerChange {
    /// This change, only if the owner is still at version `etag` ([`Owner::etag`]).
    pub fn if_match(self, etag: impl Into<String>) -> OwnerChange {
        OwnerChange::IfMatch {
            etag: etag.into(),
            change: Box::new(self),
        }
    }

    /// Whether the change deletes the owner, under preconditions or not.
    pub(crate) fn deletes(&self) -> bool {
        match self {
            OwnerChange::Delete => true,
            OwnerChange::IfMatch { change, .. } => change.deletes(),
            _ => false,
        }
    }
}

/// What [`KeyStore::change_key`](super::KeyStore::change_key) answers.
#[derive(Debug)]
pub struct KeyChanged {
    /// The record after the change; `None` after a delete.
    pub record: Option<KeyRecord>,
    /// After a rotation, the new full key (shown once; `Debug` is redacted).
    pub key: Option<SecretString>,
}

/// What [`KeyStore::change_owner`](super::KeyStore::change_owner) answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerChanged {
    /// The owner after the change; `None` after a delete.
    pub owner: Option<Owner>,
    /// The ids of the keys a delete removed (empty otherwise).
    pub deleted_keys: Vec<String>,
}

/// The JSON of a field for the audit log.
fn value<T: Serialize + ?Sized>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

fn field(name: &str, before: serde_json::Value, after: serde_json::Value) -> FieldChange {
    FieldChange {
        field: name.to_owned(),
        before,
        after,
    }
}

/// The fields of a key the audit log shows, by name: everything but the hashes and the
/// last use.
fn fields(r: &KeyRecord) -> [(&'static str, serde_json::Value); 9] {
    [
        ("name", value(&r.name)),
        ("description", value(&r.description)),
        ("owner", value(&r.owner)),
        ("status", value(r.status.as_str())),
        ("roles", value(&r.roles)),
        ("expires_at", value(&r.expires_at)),
        ("schemes", value(&r.schemes)),
        ("permissions", value(&r.permissions)),
        ("metadata", value(&r.metadata)),
    ]
}

/// The fields that differ between two versions of a key.
pub(crate) fn diff(before: &KeyRecord, after: &KeyRecord) -> Vec<FieldChange> {
    fields(before)
        .into_iter()
        .zip(fields(after))
        .filter(|((_, b), (_, a))| b != a)
        .map(|((name, b), (_, a))| field(name, b, a))
        .collect()
}

/// A created key's fields, each from nothing.
pub(crate) fn created(record: &KeyRecord) -> Vec<FieldChange> {
    fields(record)
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(name, v)| field(name, serde_json::Value::Null, v))
        .collect()
}

/// A deleted key's fields, each to nothing.
pub(crate) fn deleted(record: &KeyRecord) -> Vec<FieldChange> {
    fields(record)
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(name, v)| field(name, v, serde_json::Value::Null))
        .collect()
}

/// Checks what a new key carries and who creates it.
pub(crate) fn check_new(spec: &NewKey, by: &Actor) -> Result<(), StoreError> {
    by.check()?;
    if let Some(owner) = spec.owner.as_deref() {
        check_owner_id(owner)?;
    }
    check_metadata(&spec.metadata)
}

/// An owner id must be addressable as one URL path segment (`/owners/{id}` in the admin
/// API): clients and browsers rewrite `.` and `..` segments, even percent-encoded ones.
fn check_owner_id(owner: &str) -> Result<(), StoreError> {
    if owner.is_empty() || owner == "." || owner == ".." {
        return Err(StoreError::invalid(
            "owner",
            format!("{owner:?} cannot be an owner id: it is not a usable URL path segment"),
        ));
    }
    Ok(())
}

/// A key change checked, with the secret a rotation needs made before any transaction.
pub(crate) struct Prepared {
    change: KeyChange,
    /// The versions the record must be at ([`KeyChange::IfMatch`], unwrapped).
    expected: Vec<String>,
    rotation: Option<GeneratedKey>,
}

/// What applying a change did to a record.
pub(crate) struct Applied {
    pub(crate) action: AuditAction,
    pub(crate) changes: Vec<FieldChange>,
    /// The record is to be removed.
    pub(crate) delete: bool,
}

impl Applied {
    /// Whether the change is worth an audit entry: it changed something, or it is one of
    /// the actions that always count.
    pub(crate) fn recorded(&self) -> bool {
        !self.changes.is_empty() || matches!(self.action, AuditAction::Rotate | AuditAction::Delete)
    }
}

impl Prepared {
    pub(crate) fn new(
        mut change: KeyChange,
        id: &str,
        format: &KeyFormat,
        by: &Actor,
    ) -> Result<Prepared, StoreError> {
        by.check()?;
        let mut expected = Vec::new();
        while let KeyChange::IfMatch {
            etag,
            change: inner,
        } = change
        {
            expected.push(etag);
            change = *inner;
        }
        if let KeyChange::Update(update) = &change {
            if let Some(metadata) = &update.metadata {
                check_metadata(metadata)?;
            }
        }
        let rotation = match change {
            KeyChange::Rotate { .. } => Some(format.generate_secret(id)?),
            _ => None,
        };
        Ok(Prepared {
            change,
            expected,
            rotation,
        })
    }

    /// Applies the change to `record` at `now`, after checking its version; every store
    /// calls it inside the transaction (or under the lock) that writes the record.
    pub(crate) fn apply(
        &self,
        record: &mut KeyRecord,
        now: UnixSeconds,
    ) -> Result<Applied, StoreError> {
        if !self.expected.is_empty() {
            let current = record.etag();
            if self.expected.iter().any(|etag| *etag != current) {
                return Err(StoreError::Changed(AuditTarget::Key(record.id.clone())));
            }
        }
        let before = record.clone();
        let (action, delete) = match &self.change {
            KeyChange::Update(update) => {
                apply_update(record, update);
                (AuditAction::Update, false)
            }
            KeyChange::Disable => {
                refuse_revoked(record)?;
                record.status = KeyStatus::Disabled;
                (AuditAction::Disable, false)
            }
            KeyChange::Enable => {
                refuse_revoked(record)?;
                record.status = KeyStatus::Active;
                (AuditAction::Enable, false)
            }
            KeyChange::Revoke => {
                record.status = KeyStatus::Revoked;
                (AuditAction::Revoke, false)
            }
            KeyChange::Rotate { grace } => {
                let secret = self.rotation.as_ref().map(|g| g.secret.expose_secret());
                let hash = sha256(secret.unwrap_or_default());
                apply_rotation(record, hash, *grace, now)?;
                let until = |r: &KeyRecord| value(&r.hashes.previous.map(|(_, until)| until));
                let changes = vec![field(
                    "previous_secret_until",
                    until(&before),
                    until(record),
                )];
                return Ok(Applied {
                    action: AuditAction::Rotate,
                    changes,
                    delete: false,
                });
            }
            KeyChange::Delete => {
                return Ok(Applied {
                    action: AuditAction::Delete,
                    changes: deleted(record),
                    delete: true,
                })
            }
            // Unwrapped by `Prepared::new`.
            KeyChange::IfMatch { .. } => {
                return Err(StoreError::unavailable(
                    "a nested precondition was not unwrapped",
                ))
            }
        };
        Ok(Applied {
            action,
            changes: diff(&before, record),
            delete,
        })
    }

    /// The new full key of a rotation.
    pub(crate) fn into_key(self) -> Option<SecretString> {
        self.rotation.map(|g| g.full)
    }
}

fn refuse_revoked(record: &KeyRecord) -> Result<(), StoreError> {
    if record.status == KeyStatus::Revoked {
        return Err(StoreError::Revoked(record.id.clone()));
    }
    Ok(())
}

/// Applies a rotation to `record`: the new hash becomes current, the old one is kept
/// until `now + grace` (not at all for a zero grace).
fn apply_rotation(
    record: &mut KeyRecord,
    new_hash: [u8; 32],
    grace: Duration,
    now: UnixSeconds,
) -> Result<(), StoreError> {
    refuse_revoked(record)?;
    let until = now.saturating_add(secs(grace));
    let old = record.hashes.current;
    record.hashes = SecretHashes {
        current: new_hash,
        previous: (until > now).then_some((old, until)),
    };
    Ok(())
}

/// Applies an update to `record`: whole permissions first, then the default methods and
/// the per-operation overrides.
fn apply_update(record: &mut KeyRecord, change: &KeyUpdate) {
    if let Some(name) = &change.name {
        record.name.clone_from(name);
    }
    if let Some(description) = &change.description {
        record.description.clone_from(description);
    }
    if let Some(p) = &change.permissions {
        record.permissions = p.clone();
    }
    if let Some(methods) = &change.default_methods {
        record.permissions.default_methods = methods.clone();
    }
    for (operation, methods) in &change.operations {
        match methods {
            Some(methods) => {
                let per_operation = &mut record.permissions.per_operation;
                per_operation.insert(operation.clone(), methods.clone());
            }
            None => {
                record.permissions.per_operation.remove(operation);
            }
        }
    }
    if let Some(r) = &change.roles {
        record.roles = r.clone();
    }
    if let Some(e) = change.expires_at {
        record.expires_at = e;
    }
    if let Some(s) = &change.schemes {
        record.schemes = s.clone();
    }
    if let Some(m) = &change.metadata {
        record.metadata = m.clone();
    }
}

/// What an owner change records: `enabled` and `epoch`, before and after (`null` for an
/// owner that did not exist, or after a delete).
pub(crate) fn owner_fields(before: Option<&Owner>, after: Option<&Owner>) -> Vec<FieldChange> {
    let enabled = |o: Option<&Owner>| value(&o.map(|o| o.enabled));
    let epoch = |o: Option<&Owner>| value(&o.map(|o| o.epoch));
    [
        field("enabled", enabled(before), enabled(after)),
        field("epoch", epoch(before), epoch(after)),
    ]
    .into_iter()
    .filter(|c| c.before != c.after)
    .collect()
}

/// The audit action of an owner change.
pub(crate) fn owner_action(change: &OwnerChange) -> AuditAction {
    match change {
        OwnerChange::Disable => AuditAction::DisableOwner,
        OwnerChange::Enable => AuditAction::EnableOwner,
        OwnerChange::BumpEpoch => AuditAction::BumpEpoch,
        OwnerChange::Delete => AuditAction::DeleteOwner,
        OwnerChange::IfMatch { change, .. } => owner_action(change),
    }
}

/// Applies a change other than `Delete` to an owner (the unknown one created first).
pub(crate) fn apply_owner(owner: &mut Owner, change: &OwnerChange) {
    match change {
        OwnerChange::Disable => owner.enabled = false,
        OwnerChange::Enable => owner.enabled = true,
        OwnerChange::BumpEpoch => owner.epoch = owner.epoch.saturating_add(1),
        OwnerChange::Delete => {}
        OwnerChange::IfMatch { change, .. } => apply_owner(owner, change),
    }
}

/// A key's id and its SHA-256, for stores that create keys.
pub(crate) fn secret_hash(generated: &GeneratedKey) -> [u8; 32] {
    sha256(generated.secret.expose_secret())
}

/// An owner change checked, with who makes it and when: what it does to an owner and what
/// it records, alike in every store.
pub(crate) struct PreparedOwner {
    by: Actor,
    id: String,
    change: OwnerChange,
    /// The versions the owner must be at ([`OwnerChange::IfMatch`], unwrapped).
    expected: Vec<String>,
    now: UnixSeconds,
}

impl PreparedOwner {
    pub(crate) fn new(
        mut change: OwnerChange,
        id: &str,
        by: &Actor,
        now: UnixSeconds,
    ) -> Result<PreparedOwner, StoreError> {
        by.check()?;
        let mut expected = Vec::new();
        while let OwnerChange::IfMatch {
            etag,
            change: inner,
        } = change
        {
            expected.push(etag);
            change = *inner;
        }
        Ok(PreparedOwner {
            by: by.clone(),
            id: id.to_owned(),
            change,
            expected,
            now,
        })
    }

    /// The change, its preconditions unwrapped: for PostgreSQL, which applies it in SQL.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn change(&self) -> &OwnerChange {
        &self.change
    }

    /// Checks the owner's version as the store holds it now (`None`: unknown); every
    /// store calls it inside the transaction (or under the lock) that writes the owner.
    pub(crate) fn check(&self, current: Option<&Owner>) -> Result<(), StoreError> {
        if self.expected.is_empty() {
            return Ok(());
        }
        // A precondition names a version of an owner that exists: never create one.
        let Some(owner) = current else {
            return Err(StoreError::OwnerNotFound(self.id.clone()));
        };
        let tag = owner.etag();
        if self.expected.iter().any(|etag| *etag != tag) {
            return Err(StoreError::Changed(AuditTarget::Owner(self.id.clone())));
        }
        Ok(())
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn now(&self) -> UnixSeconds {
        self.now
    }

    /// The owner after a change other than `Delete` (an unknown one created first), once
    /// its version is checked.
    pub(crate) fn apply(&self, before: Option<&Owner>) -> Result<Owner, StoreError> {
        self.check(before)?;
        let mut owner = before.cloned().unwrap_or_else(|| Owner::new(&self.id));
        apply_owner(&mut owner, &self.change);
        Ok(owner)
    }

    /// The audit entry of a change other than `Delete`; `None` when it changed nothing.
    pub(crate) fn entry(&self, before: Option<&Owner>, after: &Owner) -> Option<Draft> {
        let changes = owner_fields(before, Some(after));
        (!changes.is_empty()).then(|| self.draft(owner_action(&self.change), changes))
    }

    /// The audit entries of a delete, once the owner's version is checked: one per key,
    /// in the order given, then the owner's with the number of keys it held.
    pub(crate) fn delete_entries<'r>(
        &self,
        owner: &Owner,
        keys: impl IntoIterator<Item = &'r KeyRecord>,
    ) -> Result<Vec<Draft>, StoreError> {
        self.check(Some(owner))?;
        let mut entries: Vec<Draft> = keys
            .into_iter()
            .map(|r| {
                let target = AuditTarget::Key(r.id.clone());
                Draft::new(&self.by, self.now, AuditAction::Delete, target, deleted(r))
            })
            .collect();
        let mut changes = owner_fields(Some(owner), None);
        changes.push(FieldChange::count("keys", entries.len(), 0));
        entries.push(self.draft(AuditAction::DeleteOwner, changes));
        Ok(entries)
    }

    fn draft(&self, action: AuditAction, changes: Vec<FieldChange>) -> Draft {
        let target = AuditTarget::Owner(self.id.clone());
        Draft::new(&self.by, self.now, action, target, changes)
    }
}
