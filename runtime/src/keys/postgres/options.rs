//! [`PostgresOptions`]: how a [`PostgresStore`] connects, and connecting: the pool with
//! bounded waits, the shared state, the migrations and the flusher.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use moka::sync::Cache;
use tokio::sync::watch;
use tokio_postgres::NoTls;

use super::shared::{spawn_flusher, Shared, KNOWN_IDS};
use super::{ListenerState, PostgresStore};
use crate::keys::audit::DEFAULT_AUDIT_RETENTION;
use crate::keys::clock::SystemClock;
use crate::keys::error::StoreError;
use crate::keys::format::KeyFormat;

const DEFAULT_SCHEMA: &str = "keygate";
const DEFAULT_POOL_SIZE: usize = 16;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_FLUSH_EVERY: Duration = Duration::from_secs(5);
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::error::Chain;

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
