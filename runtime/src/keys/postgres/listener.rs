//! The LISTEN side of the change notifications: a task on its own connection that
//! invalidates a cache's entries as other instances change keys and owners, and clears
//! the cache whenever the connection drops.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{ListenerState, PostgresStore};
use crate::keys::cache::{CachedStore, Invalidator};

/// Listener reconnection backoff: the first wait, and the longest.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

impl CachedStore<PostgresStore> {
    /// Keeps this cache current with changes made by every instance: a task on its own
    /// connection LISTENs to the schema's channel and invalidates the keys and owners
    /// named there. When the connection is lost the cache is cleared (NOTIFY has no
    /// replay), the task reconnects with backoff (clearing after each failed attempt),
    /// and clears once more when listening again. The task ends when the store is
    /// dropped. [`CachedStore::with_ttl`] and [`CachedStore::with_capacity`] may come
    /// before or after it. Needs a tokio runtime; without one it logs a warning and the TTL alone bounds
    /// the delay.
    pub fn listen_for_changes(self) -> CachedStore<PostgresStore> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no tokio runtime: changes by other instances wait for the TTL");
            return self;
        };
        let shared = &self.inner().shared;
        let listener = Listener {
            config: shared.config.clone(),
            listen: format!("LISTEN \"{}\"", shared.channel),
            timeout: shared.timeout,
            heartbeat: shared.heartbeat,
            queries: Arc::clone(&shared.queries),
            state: Arc::clone(&shared.listener),
            stop: shared.stop.subscribe(),
            cache: self.invalidator(),
        };
        runtime.spawn(listener.run());
        self
    }
}

/// The change listener task.
struct Listener {
    config: tokio_postgres::Config,
    listen: String,
    timeout: Duration,
    heartbeat: Duration,
    queries: Arc<AtomicU64>,
    state: Arc<watch::Sender<ListenerState>>,
    stop: watch::Receiver<()>,
    cache: Invalidator,
}

/// Why a listening session ended.
enum Ended {
    /// The store was dropped.
    Stopped,
    /// The connection failed or was lost; whether it had been listening.
    Lost(String, bool),
}

/// Aborts the task on drop, so a session never leaves its connection behind.
struct AbortOnDrop(tokio::task::JoinHandle<Option<tokio_postgres::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Applies one notification to the cache.
fn apply(cache: &Invalidator, payload: &str) {
    match payload.split_once(':') {
        Some(("key", id)) => cache.invalidate_key(id),
        Some(("owner", id)) => cache.invalidate_owner(id),
        // `all`, or anything this version does not know: assume everything changed.
        _ => cache.clear(),
    }
}

impl Listener {
    async fn run(mut self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            match self.session().await {
                Ended::Stopped => return,
                Ended::Lost(why, was_listening) => {
                    // Notifications may have been missed: forget everything.
                    self.cache.clear();
                    self.state.send_modify(|s| {
                        s.connected = false;
                        s.failures += 1;
                    });
                    tracing::warn!(error = %why, "key change listener disconnected; reconnecting");
                    if was_listening {
                        backoff = BACKOFF_MIN;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = self.stop.changed() => return,
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// Connects, listens, and serves notifications until the connection ends.
    async fn session(&mut self) -> Ended {
        let connect = tokio::time::timeout(self.timeout, self.config.connect(NoTls));
        let (client, mut connection) = tokio::select! {
            result = connect => match result {
                Ok(Ok(pair)) => pair,
                Ok(Err(e)) => return Ended::Lost(e.to_string(), false),
                Err(_) => return Ended::Lost("connect timed out".into(), false),
            },
            _ = self.stop.changed() => return Ended::Stopped,
        };
        let cache = self.cache.clone();
        // The connection yields the notifications; this task drives it.
        let mut driver = AbortOnDrop(tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) => apply(&cache, n.payload()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Some(e),
                    None => return None,
                }
            }
        }));
        self.queries.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.timeout, client.batch_execute(&self.listen)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Ended::Lost(e.to_string(), false),
            Err(_) => return Ended::Lost("LISTEN timed out".into(), false),
        }
        // Listening from here on; what was cached before may have missed a change.
        self.cache.clear();
        self.state.send_modify(|s| {
            s.connected = true;
            s.connects += 1;
        });
        loop {
            tokio::select! {
                ended = &mut driver.0 => {
                    let why = match ended {
                        Ok(Some(e)) => e.to_string(),
                        Ok(None) => "connection closed".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    return Ended::Lost(why, true);
                }
                _ = self.stop.changed() => return Ended::Stopped,
                () = tokio::time::sleep(self.heartbeat) => {
                    self.queries.fetch_add(1, Ordering::Relaxed);
                    match tokio::time::timeout(self.timeout, client.simple_query("")).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Ended::Lost(e.to_string(), true),
                        Err(_) => return Ended::Lost("heartbeat timed out".into(), true),
                    }
                }
            }
        }
    }
}
