//! One key's life after `create`: `show`, `disable`, `enable`, `revoke`, `rotate`,
//! `delete`.

use std::time::Duration;

use keygate::keys::{
    secret_part, KeyChange, KeyRecord, KeyStatus, KeyStore, StoreError, UnixSeconds,
};
use secrecy::ExposeSecret;

use super::civil;
use super::failure::Failure;
use super::output::{emit_key, json_text, show as print};
use super::records::{actor, get, owner_of};
use super::render;

/// Prints `record` as `show` does.
pub(super) async fn print_record(
    store: &impl KeyStore,
    record: &KeyRecord,
    json: bool,
    now: UnixSeconds,
) -> Result<(), Failure> {
    let owner = owner_of(store, record).await?;
    let text = if json {
        json_text(&render::record_json(record, owner.as_ref(), now))?
    } else {
        render::record_text(record, owner.as_ref(), now)
    };
    print(&text);
    Ok(())
}

pub(super) async fn show(
    store: &impl KeyStore,
    id: &str,
    json: bool,
    now: UnixSeconds,
) -> Result<(), Failure> {
    let record = get(store, id).await?;
    print_record(store, &record, json, now).await
}

pub(super) async fn revoke(store: &impl KeyStore, id: &str) -> Result<(), Failure> {
    let record = get(store, id).await?;
    if record.status == KeyStatus::Revoked {
        print(&format!("key `{id}` was already revoked\n"));
        return Ok(());
    }
    store.change_key(&actor(), id, KeyChange::Revoke).await?;
    print(&format!(
        "revoked key `{id}` ({}): it stops working on the next request\n",
        record.name.escape_debug()
    ));
    Ok(())
}

pub(super) async fn disable(store: &impl KeyStore, id: &str) -> Result<(), Failure> {
    let record = get(store, id).await?;
    if record.status == KeyStatus::Disabled {
        print(&format!("key `{id}` was already disabled\n"));
        return Ok(());
    }
    store.change_key(&actor(), id, KeyChange::Disable).await?;
    print(&format!(
        "disabled key `{id}` ({}): it is refused from the next request until \
         `keygate keys enable {id}`\n",
        record.name.escape_debug()
    ));
    Ok(())
}

pub(super) async fn enable(
    store: &impl KeyStore,
    id: &str,
    now: UnixSeconds,
) -> Result<(), Failure> {
    let before = get(store, id).await?;
    let was_active = before.status == KeyStatus::Active;
    let record = if was_active {
        before
    } else {
        let changed = store.change_key(&actor(), id, KeyChange::Enable).await?;
        changed
            .record
            .ok_or_else(|| Failure::Store(StoreError::NotFound(id.to_owned())))?
    };
    let owner = owner_of(store, &record).await?;
    // Enabling the key does not lift its expiry or its owner's stop: say what holds now.
    let status = render::status(&record, owner.as_ref(), now);
    let reason = status.reason.map(|r| format!(" ({r})")).unwrap_or_default();
    let done = if was_active {
        "was already enabled"
    } else {
        "is enabled"
    };
    print(&format!(
        "key `{id}` ({}) {done}; its status now: {}{reason}\n",
        record.name.escape_debug(),
        status.shown.name()
    ));
    Ok(())
}

/// Deletes a key for good; `--yes` was checked before the database was opened.
pub(super) async fn delete(store: &impl KeyStore, id: &str) -> Result<(), Failure> {
    let record = get(store, id).await?;
    store.change_key(&actor(), id, KeyChange::Delete).await?;
    print(&format!(
        "deleted key `{id}` ({}): it no longer works and its id is never issued again\n",
        record.name.escape_debug()
    ));
    Ok(())
}

/// The refusal of `delete` without `--yes`.
pub(super) fn delete_unconfirmed(id: &str) -> Failure {
    Failure::Usage(format!(
        "`keys delete {id}` removes the key's record for good (it cannot be undone, and its \
         id is never issued again); pass --yes to delete it, or stop it with \
         `keys revoke {id}` (kept in the records) or `keys disable {id}` (reversible)"
    ))
}

pub(super) async fn rotate(
    store: &impl KeyStore,
    id: &str,
    grace: Duration,
    json: bool,
    now: UnixSeconds,
) -> Result<(), Failure> {
    let changed = store
        .change_key(&actor(), id, KeyChange::Rotate { grace })
        .await?;
    let full = changed
        .key
        .ok_or_else(|| Failure::Store(StoreError::NotFound(id.to_owned())))?;
    let record = match changed.record {
        Some(record) => record,
        None => get(store, id).await?,
    };
    let owner = owner_of(store, &record).await?;
    let full = full.expose_secret();
    let secret = secret_part(full);
    let secret = secret.expose_secret();
    let text = if json {
        json_text(&render::issued_json(
            full,
            secret,
            &record,
            owner.as_ref(),
            now,
        ))?
    } else {
        let mut text = render::issued_text(full, secret, &record, owner.as_ref(), now);
        match record.hashes.previous {
            Some((_, until)) if until > now => text.push_str(&format!(
                "\nThe old key keeps working until {}.\n",
                civil::rfc3339(until)
            )),
            _ => text.push_str("\nThe old key stopped working now (no grace period).\n"),
        }
        text
    };
    emit_key(&text, id)
}
