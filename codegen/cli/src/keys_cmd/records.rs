//! Reading keys and owners for the commands, and who the CLI acts as.

use std::collections::BTreeMap;

use keygate::keys::{Actor, KeyRecord, KeyStore, Owner, StoreError};

use super::failure::Failure;

/// Who the audit log names for this command's changes: the OS user running it, or its
/// user id where no variable names it (containers often set none).
pub(super) fn actor() -> Actor {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()));
    Actor::cli(
        user.or_else(user_id)
            .unwrap_or_else(|| "unknown".to_owned()),
    )
}

/// `uid-<n>`: the owner of `/proc/self` is the process's user (Linux).
#[cfg(unix)]
fn user_id() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let process = std::fs::metadata("/proc/self").ok()?;
    Some(format!("uid-{}", process.uid()))
}

#[cfg(not(unix))]
fn user_id() -> Option<String> {
    None
}

/// The key `id`, or the store's "no key with id" error.
pub(super) async fn get(store: &impl KeyStore, id: &str) -> Result<KeyRecord, Failure> {
    store
        .get(id)
        .await?
        .ok_or_else(|| Failure::Store(StoreError::NotFound(id.to_owned())))
        .map(std::sync::Arc::unwrap_or_clone)
}

/// The owner of `record`, when it has one the store knows.
pub(super) async fn owner_of(
    store: &impl KeyStore,
    record: &KeyRecord,
) -> Result<Option<Owner>, Failure> {
    match &record.owner {
        Some(id) => Ok(store.get_owner(id).await?),
        None => Ok(None),
    }
}

/// The owners of the keys a command shows, each read once.
#[derive(Default)]
pub(super) struct Owners(BTreeMap<String, Option<Owner>>);

impl Owners {
    /// Reads the owner of `record` unless already read.
    pub(super) async fn load(
        &mut self,
        store: &impl KeyStore,
        record: &KeyRecord,
    ) -> Result<(), Failure> {
        if let Some(id) = &record.owner {
            if !self.0.contains_key(id) {
                self.0.insert(id.clone(), store.get_owner(id).await?);
            }
        }
        Ok(())
    }

    /// The owner of `record`, if loaded and known.
    pub(super) fn of(&self, record: &KeyRecord) -> Option<&Owner> {
        record.owner.as_ref().and_then(|o| self.0.get(o)?.as_ref())
    }
}
