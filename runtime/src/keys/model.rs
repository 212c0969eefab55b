//! What a key store keeps: records, owners, new keys and edits, filters.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use super::audit::Actor;
use super::clock::{secs, UnixSeconds};
use super::error::StoreError;
use super::permissions::{method_set, Permissions};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::digest::digests_equal;

/// A key's metadata: a small JSON object the app reads back from the principal.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// The largest metadata object, in bytes of compact JSON.
pub const METADATA_MAX_BYTES: usize = 4096;

/// Refuses metadata larger than [`METADATA_MAX_BYTES`], naming the field.
pub(crate) fn check_metadata(metadata: &Metadata) -> Result<(), StoreError> {
    let size = serde_json::to_string(metadata).map_or(usize::MAX, |text| text.len());
    if size > METADATA_MAX_BYTES {
        return Err(StoreError::invalid(
            "metadata",
            format!("{size} bytes as JSON, more than the {METADATA_MAX_BYTES} allowed"),
        ));
    }
    Ok(())
}

/// The stored status. Expiry is not stored: it follows from `expires_at` and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyStatus {
    /// Usable (unless expired).
    Active,
    /// Revoked for good.
    Revoked,
    /// Disabled until enabled again (refused like a revoked key meanwhile).
    Disabled,
}

impl KeyStatus {
    /// The stored name: `active`, `revoked` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Revoked => "revoked",
            KeyStatus::Disabled => "disabled",
        }
    }

    /// The status with this stored name.
    pub fn parse(text: &str) -> Option<KeyStatus> {
        match text {
            "active" => Some(KeyStatus::Active),
            "revoked" => Some(KeyStatus::Revoked),
            "disabled" => Some(KeyStatus::Disabled),
            _ => None,
        }
    }
}

/// The status as of a moment: the stored status, with expiry applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Usable.
    Active,
    /// Revoked.
    Revoked,
    /// Past `expires_at` (and neither revoked nor disabled).
    Expired,
    /// Disabled (the key itself; a disabled owner shows in [`KeyRecord::owner_stops`]).
    Disabled,
}

impl KeyState {
    /// `active`, `revoked`, `expired` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Revoked => "revoked",
            KeyState::Expired => "expired",
            KeyState::Disabled => "disabled",
        }
    }
}

/// The SHA-256 digests of a key's secret(s). `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHashes {
    /// SHA-256 of the current `<secret><checksum>`.
    pub current: [u8; 32],
    /// After a rotation: SHA-256 of the previous secret, and the unix time until which
    /// (exclusive) it is still accepted.
    pub previous: Option<([u8; 32], UnixSeconds)>,
}

impl fmt::Debug for SecretHashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretHashes")
            .field("current", &"[REDACTED]")
            .field("previous_until", &self.previous.map(|(_, until)| until))
            .finish()
    }
}

impl SecretHashes {
    /// Whether `presented` is the current digest, or the previous one before its end:
    /// each compared in constant time.
    pub(crate) fn matches(&self, presented: &[u8; 32], now: UnixSeconds) -> bool {
        let previous = self.previous.filter(|&(_, until)| now < until);
        bool::from(digests_equal(&self.current, presented))
            || previous.is_some_and(|(hash, _)| bool::from(digests_equal(&hash, presented)))
    }
}

/// One stored key. Holds hashes only, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The public key id (also the middle part of the key).
    pub id: String,
    /// A display name.
    pub name: String,
    /// A longer description.
    pub description: Option<String>,
    /// The owner (user, team, service), if any.
    pub owner: Option<String>,
    /// The owner's credential epoch when the key was issued; a bump invalidates the key.
    pub owner_epoch: u64,
    /// Roles granted to the principal.
    pub roles: BTreeSet<String>,
    /// When the key was created.
    pub created_at: UnixSeconds,
    /// Who created it (kind and name, no request id), as its audit entry says; `None` for a
    /// key created before keygate recorded it whose creation entry was pruned.
    pub created_by: Option<Actor>,
    /// When the key stops working (exclusive), or never.
    pub expires_at: Option<UnixSeconds>,
    /// When the key was last used (recorded at most once a minute).
    pub last_used_at: Option<UnixSeconds>,
    /// The stored status.
    pub status: KeyStatus,
    /// Names of the security schemes the key may be used with; `None` = all.
    pub schemes: Option<BTreeSet<String>>,
    /// What the key may call.
    pub permissions: Permissions,
    /// The app's own data about the key (a JSON object of at most
    /// [`METADATA_MAX_BYTES`]; never a secret), readable from the
    /// [`Principal`](crate::Principal). Empty when none was set.
    pub metadata: Metadata,
    /// Secret digests.
    pub hashes: SecretHashes,
}

impl KeyRecord {
    /// The status at `now`, with expiry applied.
    pub fn state(&self, now: UnixSeconds) -> KeyState {
        match self.status {
            KeyStatus::Revoked => KeyState::Revoked,
            KeyStatus::Disabled => KeyState::Disabled,
            KeyStatus::Active if self.expires_at.is_some_and(|at| now >= at) => KeyState::Expired,
            KeyStatus::Active => KeyState::Active,
        }
    }

    /// Why the key's owner stops it, if it does: `owner unknown` (an owner the store does
    /// not know stops its keys: fail closed), `owner disabled` or `owner epoch bumped`.
    /// `None` for a key without an owner and for one its owner lets through.
    pub fn owner_stops(&self, owner: Option<&Owner>) -> Option<&'static str> {
        self.owner.as_ref()?;
        match owner {
            None => Some("owner unknown"),
            Some(owner) if !owner.enabled => Some("owner disabled"),
            Some(owner) if owner.epoch != self.owner_epoch => Some("owner epoch bumped"),
            Some(_) => None,
        }
    }

    /// Whether the key may be used with the scheme named `scheme`.
    pub fn allows_scheme(&self, scheme: &str) -> bool {
        self.schemes.as_ref().is_none_or(|s| s.contains(scheme))
    }
}

/// An owner of keys. Disabling it, or bumping its epoch, invalidates all its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The owner id.
    pub id: String,
    /// Whether its keys may be used.
    pub enabled: bool,
    /// The credential epoch; keys issued under an older epoch are revoked.
    pub epoch: u64,
}

impl Owner {
    /// A new, enabled owner at epoch 0.
    pub fn new(id: &str) -> Owner {
        Owner {
            id: id.to_owned(),
            enabled: true,
            epoch: 0,
        }
    }
}

/// When a new key expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expiry {
    /// Never.
    #[default]
    Never,
    /// At this unix time.
    At(UnixSeconds),
    /// This long after creation.
    In(Duration),
}

impl Expiry {
    /// `n` days after creation (7, 30, 90 are the usual choices).
    pub fn days(n: u64) -> Expiry {
        Expiry::In(Duration::from_secs(n.saturating_mul(86_400)))
    }

    pub(crate) fn resolve(self, now: UnixSeconds) -> Option<UnixSeconds> {
        match self {
            Expiry::Never => None,
            Expiry::At(at) => Some(at),
            Expiry::In(d) => Some(now.saturating_add(secs(d))),
        }
    }
}

/// The spec of a key to create.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// A display name.
    pub name: String,
    /// A longer description.
    pub description: Option<String>,
    /// The owner, if any (created, enabled, if the store does not know it yet).
    pub owner: Option<String>,
    /// Roles.
    pub roles: BTreeSet<String>,
    /// Expiry.
    pub expiry: Expiry,
    /// Allowed schemes; `None` = all.
    pub schemes: Option<BTreeSet<String>>,
    /// Permissions (default: read-only, the safe choice).
    pub permissions: Permissions,
    /// The app's own data (see [`KeyRecord::metadata`]).
    pub metadata: Metadata,
}

impl NewKey {
    /// A read-only key with this name, no owner, no roles, no expiry, all schemes.
    pub fn new(name: impl Into<String>) -> NewKey {
        NewKey {
            name: name.into(),
            description: None,
            owner: None,
            roles: BTreeSet::new(),
            expiry: Expiry::Never,
            schemes: None,
            permissions: Permissions::read_only(),
            metadata: Metadata::new(),
        }
    }

    /// Sets the metadata: a JSON object of at most [`METADATA_MAX_BYTES`] (checked when
    /// the key is created).
    pub fn metadata(mut self, metadata: Metadata) -> NewKey {
        self.metadata = metadata;
        self
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> NewKey {
        self.description = Some(text.into());
        self
    }

    /// Sets the owner.
    pub fn owner(mut self, owner: impl Into<String>) -> NewKey {
        self.owner = Some(owner.into());
        self
    }

    /// Adds roles.
    pub fn roles<I, R>(mut self, roles: I) -> NewKey
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// Sets the expiry.
    pub fn expiry(mut self, expiry: Expiry) -> NewKey {
        self.expiry = expiry;
        self
    }

    /// Restricts the key to these schemes.
    pub fn schemes<I, R>(mut self, schemes: I) -> NewKey
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.schemes = Some(schemes.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the permissions.
    pub fn permissions(mut self, permissions: Permissions) -> NewKey {
        self.permissions = permissions;
        self
    }
}

/// A created key: its record and the full key, shown this once.
#[derive(Debug)]
pub struct IssuedKey {
    /// The stored record.
    pub record: KeyRecord,
    /// The full key. `Debug` is redacted.
    pub key: SecretString,
}

impl IssuedKey {
    /// The full key as text, to show the user this once: `println!("{}",
    /// issued.expose_key())`. Never log it.
    pub fn expose_key(&self) -> &str {
        self.key.expose_secret()
    }

    /// The secret part alone, `<secret><checksum>`: what goes with the key id when the
    /// two travel apart (HTTP Basic `id:secret`, or an id header plus a secret header).
    pub fn secret(&self) -> SecretString {
        secret_part(self.key.expose_secret())
    }
}

/// The part of a full key after its second `_` (`<secret><checksum>`); empty when the
/// text is not shaped like a key. Also for the full key that a rotation returns.
pub fn secret_part(full_key: &str) -> SecretString {
    let part = full_key.splitn(3, '_').nth(2).unwrap_or_default();
    SecretString::from(part.to_owned())
}

/// Changes to a key; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct KeyUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new description: `Some(None)` removes it.
    pub description: Option<Option<String>>,
    /// New permissions (replacing the old; applied before `default_methods` and
    /// `operations`).
    pub permissions: Option<Permissions>,
    /// New default methods (the per-operation overrides stay).
    pub default_methods: Option<BTreeSet<String>>,
    /// Per-operation overrides to set (`Some(methods)`) or remove (`None`), the others
    /// staying.
    pub operations: BTreeMap<String, Option<BTreeSet<String>>>,
    /// New roles (replacing the old).
    pub roles: Option<BTreeSet<String>>,
    /// New expiry: `Some(None)` removes it.
    pub expires_at: Option<Option<UnixSeconds>>,
    /// New scheme restriction: `Some(None)` allows every scheme.
    pub schemes: Option<Option<BTreeSet<String>>>,
    /// New metadata (replacing the old; at most [`METADATA_MAX_BYTES`]).
    pub metadata: Option<Metadata>,
}

impl KeyUpdate {
    /// Changes nothing yet.
    pub fn new() -> KeyUpdate {
        KeyUpdate::default()
    }

    /// Renames the key.
    pub fn name(mut self, name: impl Into<String>) -> KeyUpdate {
        self.name = Some(name.into());
        self
    }

    /// Sets (`Some`) or removes (`None`) the description.
    pub fn description(mut self, text: Option<String>) -> KeyUpdate {
        self.description = Some(text);
        self
    }

    /// Replaces the permissions.
    pub fn permissions(mut self, permissions: Permissions) -> KeyUpdate {
        self.permissions = Some(permissions);
        self
    }

    /// Replaces the default methods (`*` for any), keeping the per-operation overrides.
    pub fn default_methods<I, M>(mut self, methods: I) -> KeyUpdate
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        self.default_methods = Some(method_set(methods));
        self
    }

    /// Sets the methods allowed on one operation (an empty set denies it).
    pub fn operation<I, M>(mut self, operation: &str, methods: I) -> KeyUpdate
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        let methods = method_set(methods);
        self.operations.insert(operation.to_owned(), Some(methods));
        self
    }

    /// Removes the override of one operation: the default methods apply to it again.
    pub fn remove_operation(mut self, operation: &str) -> KeyUpdate {
        self.operations.insert(operation.to_owned(), None);
        self
    }

    /// Replaces the roles.
    pub fn roles<I, R>(mut self, roles: I) -> KeyUpdate
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.roles = Some(roles.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the expiry (`Some`: extend or shorten) or removes it (`None`).
    pub fn expires_at(mut self, at: Option<UnixSeconds>) -> KeyUpdate {
        self.expires_at = Some(at);
        self
    }

    /// Restricts the key to these schemes (`None`: every scheme).
    pub fn schemes(mut self, schemes: Option<BTreeSet<String>>) -> KeyUpdate {
        self.schemes = Some(schemes);
        self
    }

    /// Replaces the metadata.
    pub fn metadata(mut self, metadata: Metadata) -> KeyUpdate {
        self.metadata = Some(metadata);
        self
    }
}

/// Which keys [`KeyStore::list`](super::KeyStore::list) returns; every field set must
/// hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFilter {
    /// Only this owner's keys.
    pub owner: Option<String>,
    /// Only keys in this state (expiry judged by the store's clock).
    pub state: Option<KeyState>,
    /// Only keys with exactly this name.
    pub name: Option<String>,
    /// Only keys whose name contains this text, ASCII letters in either case (`Ci`
    /// finds `deploy-CI`; other characters only as they are, in every store alike).
    pub name_contains: Option<String>,
    /// Only keys with an expiry before this time (exclusive), expired ones included.
    pub expiring_before: Option<UnixSeconds>,
}

impl KeyFilter {
    /// Only this owner's keys.
    pub fn owner(mut self, owner: impl Into<String>) -> KeyFilter {
        self.owner = Some(owner.into());
        self
    }

    /// Only keys in this state.
    pub fn state(mut self, state: KeyState) -> KeyFilter {
        self.state = Some(state);
        self
    }

    /// Only keys named exactly `name`.
    pub fn name(mut self, name: impl Into<String>) -> KeyFilter {
        self.name = Some(name.into());
        self
    }

    /// Only keys whose name contains `text`, ASCII case-insensitively.
    pub fn name_contains(mut self, text: impl Into<String>) -> KeyFilter {
        self.name_contains = Some(text.into());
        self
    }

    /// Only keys expiring before `at`.
    pub fn expiring_before(mut self, at: UnixSeconds) -> KeyFilter {
        self.expiring_before = Some(at);
        self
    }

    /// Whether `record` passes the filter at `now`.
    pub fn matches(&self, record: &KeyRecord, now: UnixSeconds) -> bool {
        self.owner
            .as_deref()
            .is_none_or(|o| record.owner.as_deref() == Some(o))
            && self.state.is_none_or(|s| record.state(now) == s)
            && self.name.as_deref().is_none_or(|n| record.name == n)
            && self
                .name_contains
                .as_deref()
                .is_none_or(|text| contains_ascii_case_insensitive(&record.name, text))
            && self
                .expiring_before
                .is_none_or(|t| record.expires_at.is_some_and(|at| at < t))
    }
}

/// Whether `text` occurs in `name`, ASCII letters matched in either case: what SQLite's
/// `lower()` and PostgreSQL's under the C collation do, so every store agrees.
fn contains_ascii_case_insensitive(name: &str, text: &str) -> bool {
    name.to_ascii_lowercase()
        .contains(&text.to_ascii_lowercase())
}

/// Builds the record for a new key; shared by the stores so they behave alike.
pub(crate) fn new_record(
    spec: NewKey,
    key_id: String,
    secret_hash: [u8; 32],
    owner_epoch: u64,
    by: &Actor,
    now: UnixSeconds,
) -> KeyRecord {
    KeyRecord {
        id: key_id,
        name: spec.name,
        description: spec.description,
        owner: spec.owner,
        owner_epoch,
        roles: spec.roles,
        created_at: now,
        created_by: Some(Actor::new(by.kind(), by.name())),
        expires_at: spec.expiry.resolve(now),
        last_used_at: None,
        status: KeyStatus::Active,
        schemes: spec.schemes,
        permissions: spec.permissions,
        metadata: spec.metadata,
        hashes: SecretHashes {
            current: secret_hash,
            previous: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_the_current_secret_and_the_previous_one_before_its_end() {
        let rotated = SecretHashes {
            current: [1; 32],
            previous: Some(([2; 32], 100)),
        };
        assert!(rotated.matches(&[1; 32], 500));
        assert!(rotated.matches(&[2; 32], 99));
        assert!(!rotated.matches(&[2; 32], 100));
        assert!(!rotated.matches(&[3; 32], 0));
        let plain = SecretHashes {
            current: [1; 32],
            previous: None,
        };
        assert!(!plain.matches(&[0; 32], UnixSeconds::MIN));
    }
}
