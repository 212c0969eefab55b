//! [`PostgresStore`]: keys in PostgreSQL, shared by every instance of an app, with
//! change notifications for their caches (LISTEN/NOTIFY) and batched last-use writes.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};
use moka::sync::Cache;
use secrecy::ExposeSecret;
use tokio::sync::watch;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, NoTls, Row};

use super::audit::{
    prune_before, Actor, AuditAction, AuditPage, AuditQuery, AuditTarget, Draft, FieldChange,
    RawEntry, DEFAULT_AUDIT_RETENTION,
};
use super::cache::{CachedStore, Invalidator};
use super::change::{
    check_new, created, deleted, owner_action, owner_fields, KeyChange, KeyChanged, OwnerChange,
    OwnerChanged, Prepared,
};
use super::format::KeyFormat;
use super::model::{
    new_record, Chain, Clock, IssuedKey, KeyRecord, KeyStatus, Metadata, NewKey, Owner,
    SecretHashes, StoreError, SystemClock, UnixSeconds,
};
use super::names::{sort_names, NameInUse, NameKind};
use super::page::{KeyPage, KeyQuery, OwnerPage, OwnerQuery, OwnerSummary};
use super::sql::{self, Param};
use super::store::KeyStore;
use crate::digest::sha256;

mod listener;
mod rows;

use rows::{
    read_entry, read_name_in_use, read_owner, read_owner_summary, read_record, KeyColumns, KeyRow,
};

/// Schema migrations; migration `i` takes the schema from version `i` to `i + 1`. `{s}`
/// stands for the quoted schema name. Append only: never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE {s}.owners (
        id      text COLLATE \"C\" PRIMARY KEY,
        enabled boolean NOT NULL,
        epoch   bigint NOT NULL CHECK (epoch >= 0)
    );
    CREATE TABLE {s}.keys (
        id              text COLLATE \"C\" PRIMARY KEY,
        name            text NOT NULL,
        description     text,
        owner           text COLLATE \"C\",
        owner_epoch     bigint NOT NULL CHECK (owner_epoch >= 0),
        roles           jsonb NOT NULL,
        created_at      bigint NOT NULL,
        expires_at      bigint,
        last_used_at    bigint,
        status          text NOT NULL CHECK (status IN ('active', 'revoked')),
        schemes         jsonb,
        permissions     jsonb NOT NULL,
        secret_sha256   bytea NOT NULL,
        previous_sha256 bytea,
        previous_until  bigint,
        CHECK ((previous_sha256 IS NULL) = (previous_until IS NULL))
    );
    CREATE INDEX keys_owner ON {s}.keys (owner);
",
    // The lifecycle: disabled keys, metadata, deleted ids never reused, list pages served
    // by indexes, and the audit log (append-only: keygate only prunes by age).
    "
    ALTER TABLE {s}.keys ADD COLUMN metadata jsonb;
    ALTER TABLE {s}.keys DROP CONSTRAINT keys_status_check;
    ALTER TABLE {s}.keys ADD CONSTRAINT keys_status_check
        CHECK (status IN ('active', 'revoked', 'disabled'));
    CREATE TABLE {s}.deleted_keys (
        id         text COLLATE \"C\" PRIMARY KEY,
        deleted_at bigint NOT NULL
    );
    CREATE FUNCTION {s}.keys_never_reuse() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        IF EXISTS (SELECT 1 FROM {s}.deleted_keys WHERE id = NEW.id) THEN
            RAISE EXCEPTION 'this key id was deleted and is never issued again'
                USING ERRCODE = 'unique_violation';
        END IF;
        RETURN NEW;
    END $f$;
    CREATE TRIGGER keys_never_reuse BEFORE INSERT ON {s}.keys
        FOR EACH ROW EXECUTE FUNCTION {s}.keys_never_reuse();
    DROP INDEX {s}.keys_owner;
    CREATE INDEX keys_by_created ON {s}.keys (created_at, id);
    CREATE INDEX keys_by_owner ON {s}.keys (owner, created_at, id);
    CREATE INDEX keys_by_status ON {s}.keys (status, created_at, id);
    CREATE INDEX keys_by_name ON {s}.keys (name, created_at, id);
    CREATE INDEX keys_by_expiry ON {s}.keys (expires_at, created_at, id)
        WHERE expires_at IS NOT NULL;
    CREATE TABLE {s}.audit (
        seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at          bigint NOT NULL,
        actor_kind  text NOT NULL,
        actor       text COLLATE \"C\" NOT NULL,
        action      text NOT NULL,
        target_kind text NOT NULL,
        target      text COLLATE \"C\" NOT NULL,
        changes     jsonb NOT NULL,
        request_id  text
    );
    CREATE INDEX audit_by_target ON {s}.audit (target, seq);
    CREATE INDEX audit_by_actor ON {s}.audit (actor, seq);
    CREATE INDEX audit_by_time ON {s}.audit (at);
    CREATE FUNCTION {s}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        RAISE EXCEPTION 'audit entries are never changed';
    END $f$;
    CREATE TRIGGER audit_append_only BEFORE UPDATE ON {s}.audit
        FOR EACH ROW EXECUTE FUNCTION {s}.audit_append_only();
",
];

/// Key columns as read back (JSON as text, so no JSON feature of the client is needed).
macro_rules! key_columns {
    () => {
        "id, name, description, owner, owner_epoch, roles::text, created_at, expires_at, \
         last_used_at, status, schemes::text, permissions::text, secret_sha256, \
         previous_sha256, previous_until, metadata::text"
    };
}

const SELECT_KEY: &str = concat!("SELECT ", key_columns!(), " FROM {s}.keys WHERE id = $1");

/// Inserts keys, one per element of the arrays, except those whose id is taken (by a
/// key, or by a deleted one: never issued again); the ids inserted.
const INSERT_KEYS: &str = "INSERT INTO {s}.keys (id, name, description, owner, owner_epoch, \
    roles, created_at, expires_at, last_used_at, status, schemes, permissions, \
    secret_sha256, previous_sha256, previous_until, metadata) \
    SELECT k.id, k.name, k.description, k.owner, k.owner_epoch, k.roles::jsonb, \
    k.created_at, k.expires_at, k.last_used_at, k.status, k.schemes::jsonb, \
    k.permissions::jsonb, k.secret_sha256, k.previous_sha256, k.previous_until, \
    k.metadata::jsonb \
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], \
    $7::int8[], $8::int8[], $9::int8[], $10::text[], $11::text[], $12::text[], \
    $13::bytea[], $14::bytea[], $15::int8[], $16::text[]) \
    AS k(id, name, description, owner, owner_epoch, roles, created_at, expires_at, \
    last_used_at, status, schemes, permissions, secret_sha256, previous_sha256, \
    previous_until, metadata) \
    WHERE NOT EXISTS (SELECT 1 FROM {s}.deleted_keys AS d WHERE d.id = k.id) \
    ON CONFLICT (id) DO NOTHING RETURNING id";

/// Creates the owners `$1` (distinct) where needed and reads their epochs. The no-op
/// update on conflict still locks each row, so a concurrent epoch bump waits until the
/// new keys are committed.
const TOUCH_OWNERS: &str = "INSERT INTO {s}.owners (id, enabled, epoch) \
    SELECT unnest($1::text[]), true, 0 \
    ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING id, epoch";

const UPDATE_KEY: &str = "UPDATE {s}.keys SET name = $2, description = $3, owner = $4, \
    owner_epoch = $5, roles = $6::text::jsonb, created_at = $7, expires_at = $8, \
    last_used_at = $9, status = $10, schemes = $11::text::jsonb, \
    permissions = $12::text::jsonb, secret_sha256 = $13, previous_sha256 = $14, \
    previous_until = $15, metadata = $16::text::jsonb WHERE id = $1";

/// Appends audit entries, one per element of the arrays.
const INSERT_AUDIT: &str = "INSERT INTO {s}.audit (at, actor_kind, actor, action, target_kind, \
    target, changes, request_id) \
    SELECT a.at, a.actor_kind, a.actor, a.action, a.target_kind, a.target, a.changes::jsonb, \
    a.request_id \
    FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
    $7::text[], $8::text[]) \
    AS a(at, actor_kind, actor, action, target_kind, target, changes, request_id)";

/// The audit columns, as `rows::read_entry` reads them.
const AUDIT_COLUMNS: &str =
    "seq, at, actor_kind, actor, action, target_kind, target, changes::text, request_id";

/// Seconds between two prunes of the audit log by one store.
const PRUNE_EVERY: i64 = 60;

/// Sends one notification per payload; they are delivered only if the transaction commits.
const NOTIFY: &str = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p";

/// All buffered uses in one statement; `GREATEST` ignores NULL and never goes backwards.
const FLUSH_USES: &str = "UPDATE {s}.keys AS k \
    SET last_used_at = GREATEST(k.last_used_at, u.at) \
    FROM unnest($1::text[], $2::int8[]) AS u(id, at) WHERE k.id = u.id";

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

/// Hashed with the schema name into the advisory lock that its migrations take.
const MIGRATION_LOCK: &str = "keygate migrations";

const DEFAULT_SCHEMA: &str = "keygate";
const DEFAULT_POOL_SIZE: usize = 16;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_FLUSH_EVERY: Duration = Duration::from_secs(5);
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
/// Ids known to exist, so that recording a use needs no lookup (a use of a key deleted
/// meanwhile updates no row).
const KNOWN_IDS: u64 = 100_000;
/// Listener reconnection backoff: the first wait, and the longest.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How to connect a [`PostgresStore`]; from [`PostgresStore::builder`].
#[derive(Clone)]
pub struct PostgresOptions {
    url: String,
    schema: String,
    pool_size: usize,
    timeout: Duration,
    flush_every: Duration,
    heartbeat: Duration,
    application_name: Option<String>,
    audit_retention: Option<Duration>,
}

impl fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("PostgresOptions")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .field("flush_every", &self.flush_every)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

impl PostgresOptions {
    /// The schema holding keygate's tables (default `keygate`; created if missing):
    /// lowercase letters, digits and `_`, at most 48 characters. Instances that share
    /// keys use the same schema; change notifications are per schema too.
    pub fn schema(mut self, schema: impl Into<String>) -> PostgresOptions {
        self.schema = schema.into();
        self
    }

    /// Connections in the pool (default 16).
    pub fn pool_size(mut self, size: usize) -> PostgresOptions {
        self.pool_size = size.max(1);
        self
    }

    /// The longest any operation may take, waiting for a connection included (default
    /// 2 s); past it the operation fails with [`StoreError::Unavailable`].
    pub fn timeout(mut self, timeout: Duration) -> PostgresOptions {
        self.timeout = timeout;
        self
    }

    /// How often buffered last-use times are written, all in one statement (default 5 s).
    pub fn flush_every(mut self, every: Duration) -> PostgresOptions {
        self.flush_every = every;
        self
    }

    /// How often the change listener checks its connection (default 5 s): bounds how
    /// long a silently dead connection goes unnoticed.
    pub fn heartbeat(mut self, every: Duration) -> PostgresOptions {
        self.heartbeat = every;
        self
    }

    /// Keeps audit entries this long (`None`: for ever); older ones are removed by the
    /// writes that follow. Default [`DEFAULT_AUDIT_RETENTION`].
    pub fn audit_retention(mut self, keep: Option<Duration>) -> PostgresOptions {
        self.audit_retention = keep;
        self
    }

    /// The `application_name` of the connections (default `keygate`, unless the URL
    /// sets one): shows in `pg_stat_activity`.
    pub fn application_name(mut self, name: impl Into<String>) -> PostgresOptions {
        self.application_name = Some(name.into());
        self
    }

    /// Connects, creates the schema if needed and brings it up to date. Needs a tokio
    /// runtime. Fails on a schema newer than this version knows.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        if !valid_schema(&self.schema) {
            return Err(StoreError::config(format!(
                "invalid schema name `{}`: use lowercase letters, digits and `_` (at most 48)",
                self.schema
            )));
        }
        let mut config: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|e| StoreError::config("invalid PostgreSQL URL").caused_by(e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(self.timeout);
        }
        match self.application_name {
            Some(name) => {
                config.application_name(name);
            }
            None if config.get_application_name().is_none() => {
                config.application_name("keygate");
            }
            None => {}
        }
        // The server gives up on a statement when the client would, and frees the backend.
        let millis = self.timeout.as_millis().max(1);
        let options = match config.get_options() {
            Some(given) => format!("{given} -c statement_timeout={millis}"),
            None => format!("-c statement_timeout={millis}"),
        };
        config.options(options);
        config.keepalives_idle(Duration::from_secs(10));

        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.timeout))
            .create_timeout(Some(self.timeout))
            .recycle_timeout(Some(self.timeout))
            .build()
            .map_err(|e| StoreError::config("cannot build the connection pool").caused_by(e))?;
        let (stop, _) = watch::channel(());
        let shared = Arc::new(Shared {
            pool,
            config,
            prefix: format!("\"{}\"", self.schema),
            channel: format!("keygate.{}", self.schema),
            schema: self.schema,
            timeout: self.timeout,
            heartbeat: self.heartbeat,
            pending: Mutex::new(HashMap::new()),
            known: Cache::new(KNOWN_IDS),
            audit_keep: self.audit_retention,
            pruned_at: AtomicI64::new(i64::MIN),
            queries: Arc::new(AtomicU64::new(0)),
            listener: Arc::new(watch::channel(ListenerState::default()).0),
            stop,
        });
        shared.bounded(shared.migrate()).await?;
        spawn_flusher(&shared, self.flush_every);
        Ok(PostgresStore {
            shared,
            format: KeyFormat::default(),
            clock: Arc::new(SystemClock),
        })
    }
}

fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.len() <= 48
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The change listener's connection, for [`PostgresStore::listener`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListenerState {
    /// Listening now: changes made elsewhere reach the cache.
    pub connected: bool,
    /// Times a connection started listening (each one cleared the cache).
    pub connects: u64,
    /// Failed connection attempts and lost connections (each one cleared the cache).
    pub failures: u64,
}

/// A [`KeyStore`] in PostgreSQL, for apps that run as several instances.
///
/// Operations take a connection from a pool and are bounded by the
/// [timeout](PostgresOptions::timeout): an unreachable database gives
/// [`StoreError::Unavailable`] (so 503 from a [`Keyring`](super::Keyring)), never a hang,
/// and the pool reconnects by itself. Every write notifies the schema's channel in its
/// transaction (`key:<id>` or `owner:<id>`), so [`CachedStore::listen_for_changes`]
/// keeps each instance's cache current. [`KeyStore::record_use`] only buffers; a
/// background task writes the buffer in one statement every
/// [`flush_every`](PostgresOptions::flush_every).
///
/// Connections do not use TLS (`sslmode=require` fails to connect).
pub struct PostgresStore {
    shared: Arc<Shared>,
    format: KeyFormat,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.shared.schema)
            .field("format", &self.format)
            .field("queries", &self.query_count())
            .finish_non_exhaustive()
    }
}

/// What the store's background tasks share with it; they hold it weakly.
struct Shared {
    pool: Pool,
    /// For the listener's own connection.
    config: tokio_postgres::Config,
    schema: String,
    /// The quoted schema, for `{s}` in statements.
    prefix: String,
    channel: String,
    timeout: Duration,
    heartbeat: Duration,
    /// Uses not yet written: key id → the latest time.
    pending: Mutex<HashMap<String, UnixSeconds>>,
    known: Cache<String, ()>,
    /// The audit log's retention, and when this store last pruned it.
    audit_keep: Option<Duration>,
    pruned_at: AtomicI64,
    queries: Arc<AtomicU64>,
    listener: Arc<watch::Sender<ListenerState>>,
    /// Dropped with the store: tells the background tasks to stop.
    stop: watch::Sender<()>,
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
fn pg(e: tokio_postgres::Error) -> StoreError {
    let reason = match e.as_db_error() {
        Some(db) => format!("PostgreSQL answered with an error ({})", db.code().code()),
        None => "PostgreSQL failed".to_owned(),
    };
    StoreError::unavailable(reason).caused_by(e)
}

fn pool_error(e: PoolError) -> StoreError {
    StoreError::unavailable("no connection from the PostgreSQL pool").caused_by(e)
}

fn corrupt(id: &str, what: &str) -> StoreError {
    StoreError::corrupt(format!("key `{id}`: {what}"))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::corrupt(format!("epoch {value} is out of range")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt("a value as JSON").caused_by(e))
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Shared {
    /// Runs `work` within the timeout.
    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        within(self.timeout, work).await
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    fn sql(&self, template: &str) -> String {
        template.replace("{s}", &self.prefix)
    }

    fn count(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs a query `sql` built (a page of keys, owners or audit entries) on a pooled
    /// connection, within the timeout.
    async fn query_built(&self, built: &sql::Built) -> Result<Vec<Row>, StoreError> {
        let params = pg_params(&built.params);
        self.bounded(async {
            let client = self.client().await?;
            self.query(&client, &built.sql, &param_refs(&params)).await
        })
        .await
    }

    async fn query(
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

    async fn query_opt(
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

    async fn execute(
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

    async fn begin<'c>(
        &self,
        client: &'c mut Object,
    ) -> Result<deadpool_postgres::Transaction<'c>, StoreError> {
        self.count();
        client.transaction().await.map_err(pg)
    }

    async fn commit(&self, tx: deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
        self.count();
        tx.commit().await.map_err(pg)
    }

    async fn notify(
        &self,
        client: &impl GenericClient,
        payloads: Vec<String>,
    ) -> Result<(), StoreError> {
        self.execute(client, NOTIFY, &[&self.channel, &payloads])
            .await
            .map(drop)
    }

    /// Appends audit entries in the transaction of their change, first removing entries
    /// past the retention when it is time to (at most once a minute per store).
    async fn append_audit(
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
        self.execute(client, INSERT_AUDIT, &params).await.map(drop)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        // One migrator per schema at a time: instances starting together wait here.
        let lock = advisory_key(&self.schema);
        self.execute(&tx, "SELECT pg_advisory_xact_lock($1)", &[&lock])
            .await?;
        self.count();
        tx.batch_execute(&self.sql(
            "CREATE SCHEMA IF NOT EXISTS {s}; \
             CREATE TABLE IF NOT EXISTS {s}.keygate_migrations (\
                 version integer PRIMARY KEY, \
                 applied_at timestamptz NOT NULL DEFAULT now())",
        ))
        .await
        .map_err(pg)?;
        let row = self
            .query_opt(
                &tx,
                "SELECT COALESCE(max(version), 0) FROM {s}.keygate_migrations",
                &[],
            )
            .await?;
        let version: i32 = row.map_or(Ok(0), |r| r.try_get(0)).map_err(pg)?;
        let known = MIGRATIONS.len();
        let version = usize::try_from(version)
            .map_err(|_| StoreError::corrupt(format!("negative schema version {version}")))?;
        if version > known {
            return Err(StoreError::NewerSchema {
                found: version,
                supported: known,
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            self.count();
            tx.batch_execute(&self.sql(sql)).await.map_err(pg)?;
            let next = i32::try_from(index + 1).unwrap_or(i32::MAX);
            self.execute(
                &tx,
                "INSERT INTO {s}.keygate_migrations (version) VALUES ($1)",
                &[&next],
            )
            .await?;
        }
        self.commit(tx).await
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<String, UnixSeconds>> {
        // A panic while holding it cannot leave the map half-written: keep using it.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds buffered uses to records read from the database.
    fn with_pending(&self, mut record: KeyRecord) -> KeyRecord {
        self.known.insert(record.id.clone(), ());
        if let Some(&at) = self.pending().get(&record.id) {
            record.last_used_at = Some(record.last_used_at.map_or(at, |old| old.max(at)));
        }
        record
    }

    /// Writes every buffered use in one statement; keeps those that failed, and any
    /// newer use recorded meanwhile, for the next flush.
    async fn flush(&self) -> Result<(), StoreError> {
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
async fn within<T>(
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

/// The advisory lock of a schema's migrations: stable across versions and processes.
fn advisory_key(schema: &str) -> i64 {
    let digest = sha256(&format!("{MIGRATION_LOCK}:{schema}"));
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

fn spawn_flusher(shared: &Arc<Shared>, every: Duration) {
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

impl PostgresStore {
    /// Connects with the default options (schema `keygate`); see
    /// [`PostgresStore::builder`] for the others.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::builder(url).connect().await
    }

    /// Options for connecting to the database at `url`
    /// (`postgres://user:password@host:port/database`, or a key=value string).
    pub fn builder(url: &str) -> PostgresOptions {
        PostgresOptions {
            url: url.to_owned(),
            schema: DEFAULT_SCHEMA.to_owned(),
            pool_size: DEFAULT_POOL_SIZE,
            timeout: DEFAULT_TIMEOUT,
            flush_every: DEFAULT_FLUSH_EVERY,
            heartbeat: DEFAULT_HEARTBEAT,
            application_name: None,
            audit_retention: Some(DEFAULT_AUDIT_RETENTION),
        }
    }

    /// Issues keys in this format.
    pub fn with_format(mut self, format: KeyFormat) -> PostgresStore {
        self.format = format;
        self
    }

    /// Reads the time from this clock.
    pub fn with_clock(mut self, clock: impl Clock) -> PostgresStore {
        self.clock = Arc::new(clock);
        self
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.shared.schema
    }

    /// The channel that writes notify: `keygate.<schema>`. Whoever changes the tables by
    /// hand can send `all` there (`SELECT pg_notify('keygate.<schema>', 'all')`) to
    /// clear every instance's cache.
    pub fn channel(&self) -> &str {
        &self.shared.channel
    }

    /// Statements sent to the database so far, by this store and its listener.
    pub fn query_count(&self) -> u64 {
        self.shared.queries.load(Ordering::Relaxed)
    }

    /// The change listener's connection, for health checks and tests.
    pub fn listener(&self) -> watch::Receiver<ListenerState> {
        self.shared.listener.subscribe()
    }

    /// Uses recorded but not written yet.
    pub fn pending_uses(&self) -> usize {
        self.shared.pending().len()
    }

    /// Writes the buffered uses now (in one statement), as the background task does every
    /// [`flush_every`](PostgresOptions::flush_every); call it before shutting down.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.shared.flush().await
    }
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

impl PostgresStore {
    /// Deletes an owner and its keys in `tx`, with an audit entry for each.
    async fn delete_owner_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        by: &Actor,
        id: &str,
        now: UnixSeconds,
    ) -> Result<Option<(Vec<String>, Vec<String>)>, StoreError> {
        let s = &*self.shared;
        let sql = "SELECT enabled, epoch FROM {s}.owners WHERE id = $1 FOR UPDATE";
        let Some(row) = s.query_opt(tx, sql, &[&id]).await? else {
            return Ok(None);
        };
        let owner = read_owner(id, &row)?;
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM {s}.keys WHERE owner = $1 ORDER BY id FOR UPDATE"
        );
        let rows = s.query(tx, sql, &[&id]).await?;
        let records = rows
            .iter()
            .map(read_record)
            .collect::<Result<Vec<_>, _>>()?;
        let mut entries: Vec<Draft> = records
            .iter()
            .map(|r| {
                let target = AuditTarget::Key(r.id.clone());
                Draft::new(by, now, AuditAction::Delete, target, deleted(r))
            })
            .collect();
        let mut changes = owner_fields(Some(&owner), None);
        changes.push(FieldChange::count("keys", records.len(), 0));
        let target = AuditTarget::Owner(id.to_owned());
        entries.push(Draft::new(
            by,
            now,
            AuditAction::DeleteOwner,
            target,
            changes,
        ));
        s.append_audit(tx, &entries).await?;
        let ids: Vec<String> = records.into_iter().map(|r| r.id).collect();
        s.execute(tx, "DELETE FROM {s}.keys WHERE owner = $1", &[&id])
            .await?;
        s.execute(
            tx,
            "INSERT INTO {s}.deleted_keys (id, deleted_at) SELECT unnest($1::text[]), $2 \
             ON CONFLICT (id) DO NOTHING",
            &[&ids, &now],
        )
        .await?;
        s.execute(tx, "DELETE FROM {s}.owners WHERE id = $1", &[&id])
            .await?;
        let mut payloads: Vec<String> = ids.iter().map(|k| format!("key:{k}")).collect();
        payloads.push(format!("owner:{id}"));
        Ok(Some((ids, payloads)))
    }
}

impl PostgresStore {
    /// Creates keys in one transaction: their owners, the keys, their audit entries and
    /// their notifications in one statement each.
    async fn create_in_one(
        &self,
        by: &Actor,
        specs: Vec<NewKey>,
    ) -> Result<Vec<IssuedKey>, StoreError> {
        for spec in &specs {
            check_new(spec, by)?;
        }
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let s = &*self.shared;
        let mut client = s.client().await?;
        let tx = s.begin(&mut client).await?;
        let mut owners: Vec<String> = specs.iter().filter_map(|k| k.owner.clone()).collect();
        owners.sort_unstable();
        owners.dedup();
        let mut epochs = HashMap::new();
        if !owners.is_empty() {
            for row in s.query(&tx, TOUCH_OWNERS, &[&owners]).await? {
                let id: String = row.try_get(0).map_err(pg)?;
                let epoch: i64 = row.try_get(1).map_err(pg)?;
                let epoch = u64::try_from(epoch)
                    .map_err(|_| StoreError::corrupt(format!("owner `{id}`: negative epoch")))?;
                epochs.insert(id, epoch);
            }
        }
        let mut slots: Vec<(NewKey, Option<IssuedKey>)> =
            specs.into_iter().map(|spec| (spec, None)).collect();
        // Ids carry 60 random bits; a collision is astronomically rare, but cheap to
        // survive, and a deleted id is never issued again: those keys draw again.
        for _ in 0..8 {
            let mut columns = KeyColumns::default();
            let mut drawn = HashMap::new();
            for (index, (spec, done)) in slots.iter().enumerate() {
                if done.is_some() {
                    continue;
                }
                let epoch = spec
                    .owner
                    .as_ref()
                    .map_or(0, |o| epochs.get(o).copied().unwrap_or(0));
                let generated = self.format.generate()?;
                let hash = sha256(generated.secret.expose_secret());
                let record = new_record(spec.clone(), generated.key_id, hash, epoch, now);
                columns.push(&record)?;
                drawn.insert(record.id.clone(), (index, record, generated.full));
            }
            if drawn.is_empty() {
                break;
            }
            for row in s.query(&tx, INSERT_KEYS, &columns.params()).await? {
                let id: String = row.try_get(0).map_err(pg)?;
                if let Some((index, record, key)) = drawn.remove(&id) {
                    slots[index].1 = Some(IssuedKey { record, key });
                }
            }
        }
        if slots.iter().any(|(_, done)| done.is_none()) {
            return Err(StoreError::unavailable("no free key id after 8 draws"));
        }
        let issued: Vec<IssuedKey> = slots.into_iter().filter_map(|(_, done)| done).collect();
        let entries: Vec<Draft> = issued
            .iter()
            .map(|k| {
                let target = AuditTarget::Key(k.record.id.clone());
                Draft::new(by, now, AuditAction::Create, target, created(&k.record))
            })
            .collect();
        s.append_audit(&tx, &entries).await?;
        let mut payloads: Vec<String> = owners.iter().map(|o| format!("owner:{o}")).collect();
        payloads.extend(issued.iter().map(|k| format!("key:{}", k.record.id)));
        s.notify(&tx, payloads).await?;
        s.commit(tx).await?;
        for key in &issued {
            s.known.insert(key.record.id.clone(), ());
        }
        Ok(issued)
    }
}

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
        let prepared = Prepared::new(change, id, &self.format, by)?;
        let now = self.clock.now();
        let s = &*self.shared;
        let record = s
            .bounded(async {
                let mut client = s.client().await?;
                let tx = s.begin(&mut client).await?;
                let sql = format!("{SELECT_KEY} FOR UPDATE");
                let Some(row) = s.query_opt(&tx, &sql, &[&id]).await? else {
                    s.count();
                    tx.rollback().await.map_err(pg)?;
                    return Err(StoreError::NotFound(id.to_owned()));
                };
                let mut record = read_record(&row)?;
                let applied = match prepared.apply(&mut record, now) {
                    Ok(applied) => applied,
                    Err(e) => {
                        s.count();
                        tx.rollback().await.map_err(pg)?;
                        return Err(e);
                    }
                };
                if applied.recorded() {
                    let target = AuditTarget::Key(id.to_owned());
                    let entry = Draft::new(by, now, applied.action, target, applied.changes);
                    s.append_audit(&tx, &[entry]).await?;
                }
                let out = if applied.delete {
                    s.execute(&tx, "DELETE FROM {s}.keys WHERE id = $1", &[&id])
                        .await?;
                    s.execute(
                        &tx,
                        "INSERT INTO {s}.deleted_keys (id, deleted_at) VALUES ($1, $2) \
                         ON CONFLICT (id) DO NOTHING",
                        &[&id, &now],
                    )
                    .await?;
                    None
                } else {
                    let values = KeyRow::new(&record)?;
                    s.execute(&tx, UPDATE_KEY, &values.params(&record)).await?;
                    Some(record)
                };
                s.notify(&tx, vec![format!("key:{id}")]).await?;
                s.commit(tx).await?;
                Ok(out)
            })
            .await?;
        if record.is_none() {
            s.known.invalidate(id);
            s.pending().remove(id);
        }
        Ok(KeyChanged {
            record: record.map(|r| s.with_pending(r)),
            key: prepared.into_key(),
        })
    }

    async fn change_owner(
        &self,
        by: &Actor,
        id: &str,
        change: OwnerChange,
    ) -> Result<OwnerChanged, StoreError> {
        by.check()?;
        let now = self.clock.now();
        let s = &*self.shared;
        let (insert, set) = match change {
            OwnerChange::Disable => ("false, 0", "enabled = false"),
            OwnerChange::Enable => ("true, 0", "enabled = true"),
            OwnerChange::BumpEpoch => ("true, 1", "epoch = o.epoch + 1"),
            OwnerChange::Delete => ("", ""),
        };
        let upsert = format!(
            "INSERT INTO {{s}}.owners AS o (id, enabled, epoch) VALUES ($1, {insert}) \
             ON CONFLICT (id) DO UPDATE SET {set} RETURNING enabled, epoch"
        );
        let changed = s
            .bounded(async {
                let mut client = s.client().await?;
                let tx = s.begin(&mut client).await?;
                if change == OwnerChange::Delete {
                    let Some((ids, payloads)) = self.delete_owner_in(&tx, by, id, now).await?
                    else {
                        s.count();
                        tx.rollback().await.map_err(pg)?;
                        return Err(StoreError::OwnerNotFound(id.to_owned()));
                    };
                    s.notify(&tx, payloads).await?;
                    s.commit(tx).await?;
                    return Ok(OwnerChanged {
                        owner: None,
                        deleted_keys: ids,
                    });
                }
                let sql = "SELECT enabled, epoch FROM {s}.owners WHERE id = $1 FOR UPDATE";
                let before = match s.query_opt(&tx, sql, &[&id]).await? {
                    Some(row) => Some(read_owner(id, &row)?),
                    None => None,
                };
                let rows = s.query(&tx, &upsert, &[&id]).await?;
                let row = rows
                    .first()
                    .ok_or_else(|| StoreError::unavailable("owner upsert returned nothing"))?;
                let owner = read_owner(id, row)?;
                let changes = owner_fields(before.as_ref(), Some(&owner));
                if !changes.is_empty() {
                    let target = AuditTarget::Owner(id.to_owned());
                    let entry = Draft::new(by, now, owner_action(change), target, changes);
                    s.append_audit(&tx, &[entry]).await?;
                }
                s.notify(&tx, vec![format!("owner:{id}")]).await?;
                s.commit(tx).await?;
                Ok(OwnerChanged {
                    owner: Some(owner),
                    deleted_keys: Vec::new(),
                })
            })
            .await?;
        for key in &changed.deleted_keys {
            s.known.invalidate(key);
            s.pending().remove(key);
        }
        Ok(changed)
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
        let built = sql::key_page(&query, now, '$', key_columns!(), "{s}.keys");
        let rows = s.query_built(&built).await?;
        let records = rows
            .iter()
            .map(|row| read_record(row).map(|r| s.with_pending(r)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeyPage::from_rows(records, query.page_size()))
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
        let built = sql::owner_page(&query, '$', "{s}.owners", "{s}.keys");
        let rows = s.query_built(&built).await?;
        let owners = rows
            .iter()
            .map(read_owner_summary)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OwnerPage::from_rows(owners, query.page_size()))
    }

    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        let s = &*self.shared;
        let built = sql::audit_page(&query, '$', AUDIT_COLUMNS, "{s}.audit");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_url_or_schema_is_a_configuration_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        for options in [
            PostgresStore::builder("postgres://keygate:secret@[::1"),
            PostgresStore::builder("postgres://localhost/keys").schema("Not-A-Schema"),
        ] {
            match runtime.block_on(options.connect()) {
                Err(e @ StoreError::Config { .. }) => {
                    assert!(!format!("{}", Chain(&e)).contains("secret"), "{e}");
                }
                other => panic!("expected Config, got {other:?}"),
            }
        }
    }
}
