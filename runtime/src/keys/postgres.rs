//! [`PostgresStore`]: keys in PostgreSQL, shared by every instance of an app, with
//! change notifications for their caches (LISTEN/NOTIFY) and batched last-use writes.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::watch;

use super::clock::Clock;
use super::error::StoreError;
use super::format::KeyFormat;

/// Key columns as read back (JSON as text, so no JSON feature of the client is needed).
macro_rules! key_columns {
    () => {
        "id, name, description, owner, owner_epoch, roles::text, created_at, expires_at, \
         last_used_at, status, schemes::text, permissions::text, secret_sha256, \
         previous_sha256, previous_until, metadata::text, created_by_kind, created_by"
    };
}

const SELECT_KEY: &str = concat!("SELECT ", key_columns!(), " FROM {s}.keys WHERE id = $1");

mod audit_log;
mod listener;
mod options;
mod rows;
mod schema;
mod sessions;
mod shared;
mod store;
mod write;

pub use options::PostgresOptions;
use shared::Shared;

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

/// A [`KeyStore`](super::KeyStore) in PostgreSQL, for apps that run as several instances.
///
/// Operations take a connection from a pool and are bounded by the
/// [timeout](PostgresOptions::timeout): an unreachable database gives
/// [`StoreError::Unavailable`] (so 503 from a [`Keyring`](super::Keyring)), never a hang,
/// and the pool reconnects by itself. Every write notifies the schema's channel in its
/// transaction (`key:<id>` or `owner:<id>`), so
/// [`CachedStore::listen_for_changes`](super::CachedStore::listen_for_changes)
/// keeps each instance's cache current. [`KeyStore::record_use`](super::KeyStore::record_use) only buffers; a
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

impl PostgresStore {
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
