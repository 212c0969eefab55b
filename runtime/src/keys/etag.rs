//! Versions of keys and owners for optimistic concurrency (`If-Match`): a short digest of
//! what a change can alter, so two reads of an unchanged record give the same tag.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::model::{KeyRecord, Owner};

/// The first bytes of SHA-256 over `fields` as JSON, in hex: 64 bits, enough to tell
/// versions of one record apart.
fn tag<T: serde::Serialize>(fields: &T) -> String {
    let bytes = serde_json::to_vec(fields).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut out = String::with_capacity(16);
    for byte in &digest[..8] {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

impl KeyRecord {
    /// The record's version: 16 hex digits that change with every field but
    /// `last_used_at` (a use is not an edit). A rotation changes it too: the digest
    /// covers the stored hash of the secret, which no client can recover from 64 bits
    /// of a digest of it.
    pub fn etag(&self) -> String {
        let hashes = &self.hashes;
        tag(&(
            &self.id,
            &self.name,
            &self.description,
            &self.owner,
            self.owner_epoch,
            &self.roles,
            self.created_at,
            self.expires_at,
            self.status.as_str(),
            &self.schemes,
            &self.permissions,
            &self.metadata,
            hashes.current,
            hashes.previous,
        ))
    }
}

impl Owner {
    /// The owner's version: 16 hex digits that change when it is enabled, disabled or
    /// its epoch moves (not with its keys).
    pub fn etag(&self) -> String {
        tag(&(&self.id, self.enabled, self.epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyStatus, Permissions, SecretHashes};

    fn record() -> KeyRecord {
        KeyRecord {
            id: "k1".into(),
            name: "n".into(),
            description: None,
            owner: None,
            owner_epoch: 0,
            roles: Default::default(),
            created_at: 1,
            created_by: None,
            expires_at: None,
            last_used_at: None,
            status: KeyStatus::Active,
            schemes: None,
            permissions: Permissions::read_only(),
            metadata: Default::default(),
            hashes: SecretHashes {
                current: [1; 32],
                previous: None,
            },
        }
    }

    #[test]
    fn every_field_but_the_last_use_moves_the_tag() {
        let base = record();
        let tag = base.etag();
        assert_eq!(tag.len(), 16);
        let mut used = base.clone();
        used.last_used_at = Some(99);
        assert_eq!(used.etag(), tag, "a use is not an edit");
        let mut renamed = base.clone();
        renamed.name = "m".into();
        let mut rotated = base.clone();
        rotated.hashes.current = [2; 32];
        let mut disabled = base.clone();
        disabled.status = KeyStatus::Disabled;
        for changed in [renamed, rotated, disabled] {
            assert_ne!(changed.etag(), tag);
        }
        let owner = Owner::new("team");
        let mut off = owner.clone();
        off.enabled = false;
        assert_ne!(owner.etag(), off.etag());
    }
}
