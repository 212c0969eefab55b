//! Appending to the audit log, in the transaction of each change, with pruning past the
//! retention.

use std::sync::atomic::Ordering;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::schema::advisory_key;
use super::shared::Shared;
use crate::keys::audit::{prune_before, Draft};
use crate::keys::error::StoreError;

/// Appends audit entries, one per element of the arrays.
const INSERT_AUDIT: &str = "INSERT INTO {s}.audit (at, actor_kind, actor, action, target_kind, \
    target, changes, request_id) \
    SELECT a.at, a.actor_kind, a.actor, a.action, a.target_kind, a.target, a.changes::jsonb, \
    a.request_id \
    FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
    $7::text[], $8::text[]) \
    AS a(at, actor_kind, actor, action, target_kind, target, changes, request_id)";

/// Hashed with the schema name into the advisory lock that orders audit appends.
const AUDIT_ORDER_LOCK: &str = "keygate audit order";

/// Seconds between two prunes of the audit log by one store.
const PRUNE_EVERY: i64 = 60;

impl Shared {
    /// Appends audit entries in the transaction of their change, first removing entries
    /// past the retention when it is time to (at most once a minute per store).
    ///
    /// `seq` is drawn at insert, so two transactions could commit in the opposite order
    /// of their numbers, and a reader could see a number before a lower one commits. The
    /// schema's audit lock, held from here to the commit, makes number order commit
    /// order; callers append last in their transaction, so only its end is serialized.
    pub(super) async fn append_audit(
        &self,
        client: &impl GenericClient,
        entries: &[Draft],
    ) -> Result<(), StoreError> {
        let Some(now) = entries.first().map(|e| e.at) else {
            return Ok(());
        };
        if let Some(before) = prune_before(self.audit_keep, now) {
            let last = self.pruned_at.load(Ordering::Relaxed);
            if now.saturating_sub(last) >= PRUNE_EVERY {
                self.pruned_at.store(now, Ordering::Relaxed);
                self.execute(client, "DELETE FROM {s}.audit WHERE at < $1", &[&before])
                    .await?;
            }
        }
        let mut at = Vec::new();
        let mut kinds = Vec::new();
        let mut actors = Vec::new();
        let mut actions = Vec::new();
        let mut target_kinds = Vec::new();
        let mut targets = Vec::new();
        let mut changes = Vec::new();
        let mut request_ids = Vec::new();
        for e in entries {
            at.push(e.at);
            kinds.push(e.actor_kind.as_str());
            actors.push(e.actor.as_str());
            actions.push(e.action.as_str());
            target_kinds.push(e.target.kind());
            targets.push(e.target.id());
            changes.push(e.changes_json()?);
            request_ids.push(e.request_id.as_deref());
        }
        let params: [&(dyn ToSql + Sync); 8] = [
            &at,
            &kinds,
            &actors,
            &actions,
            &target_kinds,
            &targets,
            &changes,
            &request_ids,
        ];
        let lock = advisory_key(AUDIT_ORDER_LOCK, &self.schema);
        self.execute(client, "SELECT pg_advisory_xact_lock($1)", &[&lock])
            .await?;
        self.execute(client, INSERT_AUDIT, &params).await.map(drop)
    }
}
