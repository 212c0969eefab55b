//! The shared suite (`suite.rs`) against `MemoryStore` and `SqliteStore`, and what only
//! SQLite has: persistence, running without a runtime, schema versions, WAL.

use keygate::keys::{
    CachedStore, KeyFilter, KeyStore, ManualClock, MemoryStore, NewKey, SqliteStore, StoreError,
};
use keygate_tests::TempDir;

use crate::common::{block_on, T0};
use crate::suite::suite;

#[tokio::test]
async fn memory_store_passes_the_suite() {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::new().with_clock(clock.clone());
    suite(&store, &clock).await;
}

#[tokio::test]
async fn cached_memory_and_sqlite_stores_pass_the_suite() {
    let clock = ManualClock::new(T0);
    let memory = CachedStore::new(MemoryStore::new().with_clock(clock.clone()));
    suite(&memory, &clock).await;

    let dir = TempDir::new("cached-suite");
    let clock = ManualClock::new(T0);
    let sqlite = SqliteStore::open_or_create(dir.file("keys.db"))
        .expect("open")
        .with_clock(clock.clone());
    suite(&CachedStore::new(sqlite), &clock).await;
}

#[tokio::test]
async fn sqlite_store_passes_the_suite_and_persists() {
    let dir = TempDir::new("suite");
    let path = dir.file("keys.db");
    let clock = ManualClock::new(T0);
    let store = SqliteStore::open_or_create(&path)
        .expect("open")
        .with_clock(clock.clone());
    suite(&store, &clock).await;
    let before = store.list(KeyFilter::default()).await.expect("list");
    let owners = [
        store.get_owner("alice").await.expect("owner"),
        store.get_owner("carol").await.expect("owner"),
    ];
    drop(store);

    let reopened = SqliteStore::open_or_create(&path)
        .expect("reopen")
        .with_clock(clock.clone());
    let after = reopened.list(KeyFilter::default()).await.expect("list");
    assert_eq!(before, after, "every field survives a reopen");
    assert_eq!(before.len(), 4);
    let owners_after = [
        reopened.get_owner("alice").await.expect("owner"),
        reopened.get_owner("carol").await.expect("owner"),
    ];
    assert_eq!(owners, owners_after);
}

#[test]
fn sqlite_store_works_without_a_runtime() {
    let dir = TempDir::new("noruntime");
    let store = SqliteStore::open_or_create(dir.file("keys.db")).expect("open");
    // A trivial executor: the store runs SQLite inline when no tokio runtime exists.
    let issued = block_on(store.create(NewKey::new("plain"))).expect("create");
    let got = block_on(store.get(&issued.record.id)).expect("get");
    assert_eq!(got.as_deref(), Some(&issued.record));
}

#[test]
fn sqlite_refuses_a_newer_schema() {
    let dir = TempDir::new("newer");
    let path = dir.file("keys.db");
    drop(SqliteStore::open_or_create(&path).expect("open"));
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.pragma_update(None, "user_version", 99)
            .expect("set version");
    }
    match SqliteStore::open_or_create(&path) {
        Err(StoreError::NewerSchema { found: 99, .. }) => {}
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

#[test]
fn sqlite_uses_wal() {
    let dir = TempDir::new("wal");
    let path = dir.file("keys.db");
    drop(SqliteStore::open_or_create(&path).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user version");
    assert_eq!(version, 1);
}
