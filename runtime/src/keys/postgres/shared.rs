//! What a store and its background tasks share: the pool, the statements run on it
//! within the timeout, the buffered last uses and their flusher.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Object, Pool, PoolError};
use moka::sync::Cache;
use tokio::sync::watch;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::ListenerState;
use crate::keys::clock::UnixSeconds;
use crate::keys::error::{Chain, StoreError};
use crate::keys::model::KeyRecord;
use crate::keys::sql::{self, Param};

/// Sends one notification per payload; they are delivered only if the transaction commits.
const NOTIFY: &str = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p";

/// All buffered uses in one statement; `GREATEST` ignores NULL and never goes backwards.
const FLUSH_USES: &str = "UPDATE {s}.keys AS k \
    SET last_used_at = GREATEST(k.last_used_at, u.at) \
    FROM unnest($1::text[], $2::int8[]) AS u(id, at) WHERE k.id = u.id";

/// Ids known to exist, so that recording a use needs no lookup (a use of a key deleted
/// meanwhile updates no row).
pub(super) const KNOWN_IDS: u64 = 100_000;

/// What the store's background tasks share with it; they hold it weakly.
pub(super) struct Shared {
    pub(super) pool: Pool,
    /// For the listener's own connection.
    pub(super) config: tokio_postgres::Config,
    pub(super) schema: String,
    /// The quoted schema, for `{s}` in statements.
    pub(super) prefix: String,
    pub(super) channel: String,
    pub(super) timeout: Duration,
    pub(super) heartbeat: Duration,
    /// Uses not yet written: key id → the latest time.
    pub(super) pending: Mutex<HashMap<String, UnixSeconds>>,
    pub(super) known: Cache<String, ()>,
    /// The audit log's retention, and when this store last pruned it.
    pub(super) audit_keep: Option<Duration>,
    pub(super) pruned_at: AtomicI64,
    pub(super) queries: Arc<AtomicU64>,
    pub(super) listener: Arc<watch::Sender<ListenerState>>,
    /// Dropped with the store: tells the background tasks to stop.
    pub(super) stop: watch::Sender<()>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Uses buffered since the last flush: one last write, if a runtime is there.
        let pending = std::mem::take(self.pending.get_mut().unwrap_or_else(|e| e.into_inner()));
        if pending.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            let sql = FLUSH_USES.replace("{s}", &self.prefix);
            let (ids, times): (Vec<String>, Vec<i64>) = pending.into_iter().unzip();
            runtime.spawn(async move {
                if let Ok(client) = pool.get().await {
                    if let Err(e) = client.execute(&sql, &[&ids, &times]).await {
                        tracing::warn!(error = %e, "could not write the last key uses");
                    }
                }
            });
        }
    }
}

/// Maps client errors; none of them carries parameter values.
pub(super) fn pg(e: tokio_postgres::Error) -> StoreError {
    let reason = match e.as_db_error() {
        Some(db) => format!("PostgreSQL answered with an error ({})", db.code().code()),
        None => "PostgreSQL failed".to_owned(),
    };
    StoreError::unavailable(reason).caused_by(e)
}

fn pool_error(e: PoolError) -> StoreError {
    StoreError::unavailable("no connection from the PostgreSQL pool").caused_by(e)
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Shared {
    /// Runs `work` within the timeout.
    pub(super) async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        within(self.timeout, work).await
    }

    pub(super) async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    pub(super) fn sql(&self, template: &str) -> String {
        template.replace("{s}", &self.prefix)
    }

    pub(super) fn count(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs a query `sql` built (a page of keys, owners or audit entries) on a pooled
    /// connection, within the timeout.
    pub(super) async fn query_built(&self, built: &sql::Built) -> Result<Vec<Row>, StoreError> {
        let params = pg_params(&built.params);
        self.bounded(async {
            let client = self.client().await?;
            self.query(&client, &built.sql, &param_refs(&params)).await
        })
        .await
    }

    pub(super) async fn query(
        &self,
        client: &impl GenericClient,
        template: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        let statement = client
            .prepare_cached(&self.sql(template))
            .await
            .map_err(pg)?;
        self.count();
        client.query(&statement, params).await.map_err(pg)
    }

    pub(super) async fn query_opt(
        &self,
        client: &impl GenericClient,
        template: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, StoreError> {
        let statement = client
            .prepare_cached(&self.sql(template))
            .await
            .map_err(pg)?;
        self.count();
        client.query_opt(&statement, params).await.map_err(pg)
    }

    pub(super) async fn execute(
        &self,
        client: &impl GenericClient,
        template: &str,
        params: Params<'_>,
    ) -> Result<u64, StoreError> {
        let statement = client
            .prepare_cached(&self.sql(template))
            .await
            .map_err(pg)?;
        self.count();
        client.execute(&statement, params).await.map_err(pg)
    }

    pub(super) async fn begin<'c>(
        &self,
        client: &'c mut Object,
    ) -> Result<deadpool_postgres::Transaction<'c>, StoreError> {
        self.count();
        client.transaction().await.map_err(pg)
    }

    pub(super) async fn commit(
        &self,
        tx: deadpool_postgres::Transaction<'_>,
    ) -> Result<(), StoreError> {
        self.count();
        tx.commit().await.map_err(pg)
    }

    pub(super) async fn notify(
        &self,
        client: &impl GenericClient,
        payloads: Vec<String>,
    ) -> Result<(), StoreError> {
        self.execute(client, NOTIFY, &[&self.channel, &payloads])
            .await
            .map(drop)
    }

    pub(super) fn pending(&self) -> MutexGuard<'_, HashMap<String, UnixSeconds>> {
        // A panic while holding it cannot leave the map half-written: keep using it.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds buffered uses to records read from the database.
    pub(super) fn with_pending(&self, mut record: KeyRecord) -> KeyRecord {
        self.known.insert(record.id.clone(), ());
        if let Some(&at) = self.pending().get(&record.id) {
            record.last_used_at = Some(record.last_used_at.map_or(at, |old| old.max(at)));
        }
        record
    }

    /// Writes every buffered use in one statement; keeps those that failed, and any
    /// newer use recorded meanwhile, for the next flush.
    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        let batch: Vec<(String, UnixSeconds)> = self
            .pending()
            .iter()
            .map(|(id, at)| (id.clone(), *at))
            .collect();
        if batch.is_empty() {
            return Ok(());
        }
        let (ids, times): (Vec<String>, Vec<i64>) = batch.iter().cloned().unzip();
        self.bounded(async {
            let client = self.client().await?;
            self.execute(&client, FLUSH_USES, &[&ids, &times]).await
        })
        .await?;
        let mut pending = self.pending();
        for (id, at) in batch {
            if pending.get(&id) == Some(&at) {
                pending.remove(&id);
            }
        }
        Ok(())
    }
}

/// Runs `work` within `limit`.
pub(super) async fn within<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::unavailable(format!(
            "PostgreSQL did not answer within {} ms",
            limit.as_millis()
        ))),
    }
}

pub(super) fn spawn_flusher(shared: &Arc<Shared>, every: Duration) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak: Weak<Shared> = Arc::downgrade(shared);
    let mut stop = shared.stop.subscribe();
    runtime.spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                // The store is gone; its drop writes what is left.
                _ = stop.changed() => return,
            }
            let Some(shared) = weak.upgrade() else { return };
            if let Err(e) = shared.flush().await {
                tracing::warn!(error = %Chain(&e), "could not write key uses; will retry");
            }
        }
    });
}

/// A built statement's parameters, as the client takes them.
fn pg_params(params: &[Param]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::Text(text) => Box::new(text.clone()),
                Param::Int(n) => Box::new(*n),
            }
        })
        .collect()
}

fn param_refs(params: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| -> &(dyn ToSql + Sync) { &**p })
        .collect()
}
