//! The JSON the admin API answers with: keys (never a secret or a hash), owners, audit
//! entries and their pages, as the schemas of `specs/admin.yaml` describe them.

use serde_json::{json, Map, Value};

use super::time::rfc3339;
use crate::keys::{AuditEntry, KeyRecord, OwnerSummary, UnixSeconds};

/// A key (schema `Key`) at `now`; `owner_stops` is why its owner stops it, if it does.
pub(crate) fn key(record: &KeyRecord, owner_stops: Option<&str>, now: UnixSeconds) -> Value {
    json!({
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "owner": record.owner,
        "status": record.state(now).as_str(),
        "status_reason": owner_stops,
        "roles": record.roles,
        "schemes": record.schemes,
        "permissions": record.permissions,
        "metadata": record.metadata,
        "created_at": rfc3339(record.created_at),
        "created_by": creator(record),
        "expires_at": record.expires_at.map(rfc3339),
        "last_used_at": record.last_used_at.map(rfc3339),
    })
}

/// Who created a key (schema `Creator`), named as audit entries name their actor; null
/// when unknown (created before keygate recorded it, its creation entry pruned).
fn creator(record: &KeyRecord) -> Value {
    record.created_by.as_ref().map_or(
        Value::Null,
        |by| json!({ "kind": by.kind().as_str(), "name": by.name() }),
    )
}

/// A created or rotated key with the full key (schema `Issued`): the only answers that
/// carry a secret.
pub(crate) fn issued(key: Value, full_key: &str) -> Value {
    json!({ "key": key, "secret": full_key })
}

/// An owner (schema `Owner`).
pub(crate) fn owner(summary: &OwnerSummary) -> Value {
    json!({
        "id": summary.owner.id,
        "enabled": summary.owner.enabled,
        "epoch": summary.owner.epoch,
        "key_count": summary.keys,
    })
}

/// An audit entry (schema `AuditEntry`): its changes by field, before and after.
pub(crate) fn audit_entry(entry: &AuditEntry) -> Value {
    let changes: Map<String, Value> = entry
        .changes
        .iter()
        .map(|c| {
            (
                c.field.clone(),
                json!({ "before": c.before, "after": c.after }),
            )
        })
        .collect();
    json!({
        "seq": entry.seq,
        "at": rfc3339(entry.at),
        "actor_kind": entry.actor_kind.as_str(),
        "actor": entry.actor,
        "action": entry.action.as_str(),
        "target_kind": entry.target.kind(),
        "target": entry.target.id(),
        "changes": changes,
        "request_id": entry.request_id,
    })
}

/// A page (schemas `KeyPage`, `OwnerPage`, `AuditPage`).
pub(crate) fn page(items: Vec<Value>, next_cursor: Option<String>) -> Value {
    json!({ "items": items, "next_cursor": next_cursor })
}
