//! [`KeyStore`] for [`PostgresStore`]: the reads, and the writes through `write.rs`.

use std::sync::Arc;
use std::time::Duration;

use super::rows::{read_entry, read_name_in_use, read_owner, read_owner_summary, read_record};
use super::shared::within;
use super::{PostgresStore, SELECT_KEY};
use crate::keys::audit::{Actor, AuditPage, AuditQuery, RawEntry};
use crate::keys::change::{KeyChange, KeyChanged, OwnerChange, OwnerChanged};
use crate::keys::clock::UnixSeconds;
use crate::keys::error::StoreError;
use crate::keys::model::{IssuedKey, KeyRecord, NewKey, Owner};
use crate::keys::names::{sort_names, NameInUse};
use crate::keys::page::{KeyPage, KeyQuery, OwnerPage, OwnerQuery, OwnerSummary};
use crate::keys::session::ConsoleSession;
use crate::keys::sql::{self, Dialect};
use crate::keys::store::KeyStore;

/// The audit columns, as `rows::read_entry` reads them.
const AUDIT_COLUMNS: &str =
    "seq, at, actor_kind, actor, action, target_kind, target, changes::text, request_id";

/// The names keys not revoked use, counted by the server over the table without sending
/// records or hashes: 0 for operations, 1 for schemes.
const NAMES_IN_USE: &str = "\
    SELECT 0, o.name, count(*), min(k.id) \
    FROM {s}.keys AS k, jsonb_object_keys(k.permissions -> 'per_operation') AS o(name) \
    WHERE k.status <> 'revoked' AND jsonb_typeof(k.permissions -> 'per_operation') = 'object' \
    GROUP BY o.name \
    UNION ALL \
    SELECT 1, s.name, count(*), min(k.id) \
    FROM {s}.keys AS k, jsonb_array_elements_text(k.schemes) AS s(name) \
    WHERE k.status <> 'revoked' AND jsonb_typeof(k.schemes) = 'array' GROUP BY s.name";

/// The least time the names query gets: it reads every key, once, at startup, so the
/// per-request timeout would be too short for a large table.
const SCAN_TIMEOUT: Duration = Duration::from_secs(60);

impl KeyStore for PostgresStore {
    async fn create_by(&self, by: &Actor, spec: NewKey) -> Result<IssuedKey, StoreError> {
        let s = &*self.shared;
        let mut issued = s.bounded(self.create_in_one(by, vec![spec])).await?;
        issued
            .pop()
            .ok_or_else(|| StoreError::unavailable("the insert returned no key"))
    }

    async fn create_many_by(
        &self,
        by: &Actor,
        specs: Vec<NewKey>,
    ) -> Result<Vec<IssuedKey>, StoreError> {
        // A bulk import gets as long as the names scan: its statements are each quick.
        let s = &*self.shared;
        within(s.timeout.max(SCAN_TIMEOUT), self.create_in_one(by, specs)).await
    }

    async fn change_key(
        &self,
        by: &Actor,
        id: &str,
        change: KeyChange,
    ) -> Result<KeyChanged, StoreError> {
        self.write_key_change(by, id, change).await
    }

    async fn change_owner(
        &self,
        by: &Actor,
        id: &str,
        change: OwnerChange,
    ) -> Result<OwnerChanged, StoreError> {
        self.write_owner_change(by, id, change).await
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        let s = &*self.shared;
        let row = s
            .bounded(async {
                let client = s.client().await?;
                s.query_opt(&client, SELECT_KEY, &[&id]).await
            })
            .await?;
        row.map(|row| read_record(&row).map(|r| Arc::new(s.with_pending(r))))
            .transpose()
    }

    async fn list(&self, query: KeyQuery) -> Result<KeyPage, StoreError> {
        let now = self.clock.now();
        let s = &*self.shared;
        let built = sql::key_page(&query, now, Dialect::Postgres, key_columns!(), "{s}.keys")?;
        let rows = s.query_built(&built).await?;
        let records = rows
            .iter()
            .map(|row| read_record(row).map(|r| s.with_pending(r)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeyPage::from_rows(records, query.page_size(), query.order))
    }

    async fn get_owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        let s = &*self.shared;
        let row = s
            .bounded(async {
                let client = s.client().await?;
                s.query_opt(
                    &client,
                    "SELECT enabled, epoch FROM {s}.owners WHERE id = $1",
                    &[&id],
                )
                .await
            })
            .await?;
        row.map(|row| read_owner(id, &row)).transpose()
    }

    async fn owner_summary(&self, id: &str) -> Result<Option<OwnerSummary>, StoreError> {
        let s = &*self.shared;
        let row = s
            .bounded(async {
                let client = s.client().await?;
                s.query_opt(
                    &client,
                    "SELECT o.enabled, o.epoch, \
                     (SELECT count(*) FROM {s}.keys AS k WHERE k.owner = o.id) \
                     FROM {s}.owners AS o WHERE o.id = $1",
                    &[&id],
                )
                .await
            })
            .await?;
        let Some(row) = row else { return Ok(None) };
        let owner = read_owner(id, &row)?;
        let keys: i64 = row
            .try_get(2)
            .map_err(|e| StoreError::corrupt(format!("owner `{id}`")).caused_by(e))?;
        Ok(Some(OwnerSummary {
            owner,
            keys: u64::try_from(keys).unwrap_or(0),
        }))
    }

    async fn list_owners(&self, query: OwnerQuery) -> Result<OwnerPage, StoreError> {
        let s = &*self.shared;
        let built = sql::owner_page(&query, Dialect::Postgres, "{s}.owners", "{s}.keys");
        let rows = s.query_built(&built).await?;
        let owners = rows
            .iter()
            .map(read_owner_summary)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OwnerPage::from_rows(owners, query.page_size()))
    }

    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        let s = &*self.shared;
        let built = sql::audit_page(&query, Dialect::Postgres, AUDIT_COLUMNS, "{s}.audit");
        let rows = s.query_built(&built).await?;
        let entries = rows
            .iter()
            .map(|row| read_entry(row).and_then(RawEntry::check))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AuditPage::from_rows(entries, query.page_size()))
    }

    async fn record_use(&self, id: &str, at: UnixSeconds) -> Result<(), StoreError> {
        let s = &*self.shared;
        let buffered = s.pending().contains_key(id) || s.known.contains_key(id);
        if !buffered {
            // Only for a key this instance has never read.
            let row = s
                .bounded(async {
                    let client = s.client().await?;
                    s.query_opt(&client, "SELECT 1 FROM {s}.keys WHERE id = $1", &[&id])
                        .await
                })
                .await?;
            if row.is_none() {
                return Err(StoreError::NotFound(id.to_owned()));
            }
            s.known.insert(id.to_owned(), ());
        }
        let mut pending = s.pending();
        let latest = pending.entry(id.to_owned()).or_insert(at);
        *latest = (*latest).max(at);
        Ok(())
    }

    async fn create_session(&self, session: ConsoleSession) -> Result<(), StoreError> {
        self.insert_session(&session).await
    }

    async fn get_session(
        &self,
        id_sha256: &[u8; 32],
        now: UnixSeconds,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        self.select_session(id_sha256, now).await
    }

    async fn delete_session(&self, id_sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.remove_session(id_sha256).await
    }

    async fn names_in_use(&self) -> Result<Vec<NameInUse>, StoreError> {
        let s = &*self.shared;
        let limit = s.timeout.max(SCAN_TIMEOUT);
        let rows = within(limit, async {
            let mut client = s.client().await?;
            let tx = s.begin(&mut client).await?;
            // The connection's statement_timeout is the per-request one; this scan may
            // take longer. A whole number of milliseconds: nothing from outside.
            let set = format!("SET LOCAL statement_timeout = {}", limit.as_millis());
            s.execute(&tx, &set, &[]).await?;
            let rows = s.query(&tx, NAMES_IN_USE, &[]).await?;
            s.commit(tx).await?;
            Ok(rows)
        })
        .await?;
        let mut names = rows
            .iter()
            .map(read_name_in_use)
            .collect::<Result<Vec<_>, _>>()?;
        sort_names(&mut names);
        Ok(names)
    }
}
