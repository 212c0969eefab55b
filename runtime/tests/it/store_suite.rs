//! The shared suite (`suite.rs`) against `MemoryStore` and `SqliteStore`, and what only
//! SQLite has: persistence, running without a runtime, schema versions, WAL.

use std::time::Duration;

use keygate::keys::{
    CachedStore, ConsoleSession, KeyFilter, KeyStore, ManualClock, MemoryStore, NewKey,
    SqliteStore, StoreError,
};
use keygate_tests::TempDir;

use crate::common::{block_on, T0};
use crate::suite::{
    bulk_suite, lifecycle_suite, names_suite, retention_suite, search_suite, sessions_suite, suite,
};

/// An SQLite store at `path` (created when missing), and the manual clock (at `T0`) it
/// reads.
fn sqlite_at_t0(path: impl AsRef<std::path::Path>) -> (SqliteStore, ManualClock) {
    let clock = ManualClock::new(T0);
    let store = SqliteStore::open_or_create(path)
        .expect("open")
        .with_clock(clock.clone());
    (store, clock)
}

/// The schema version (`PRAGMA user_version`) of an SQLite file, read raw.
fn schema_version(conn: &rusqlite::Connection) -> i64 {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user version")
}

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
    let (sqlite, clock) = sqlite_at_t0(dir.file("keys.db"));
    suite(&CachedStore::new(sqlite), &clock).await;
}

/// The lifecycle (disable, edit, delete, owners, pages, audit) on every store, bare and
/// cached.
#[tokio::test]
async fn every_store_passes_the_lifecycle_suite() {
    let clock = ManualClock::new(T0);
    lifecycle_suite(&MemoryStore::new().with_clock(clock.clone()), &clock).await;
    let clock = ManualClock::new(T0);
    let cached = CachedStore::new(MemoryStore::new().with_clock(clock.clone()));
    lifecycle_suite(&cached, &clock).await;

    let dir = TempDir::new("lifecycle");
    let (sqlite, clock) = sqlite_at_t0(dir.file("keys.db"));
    lifecycle_suite(&sqlite, &clock).await;
    let (sqlite, clock) = sqlite_at_t0(dir.file("cached.db"));
    let cached = CachedStore::new(sqlite);
    lifecycle_suite(&cached, &clock).await;
    bulk_suite(&cached).await;
    bulk_suite(&SqliteStore::open_or_create(dir.file("bulk.db")).expect("open")).await;
    bulk_suite(&MemoryStore::new()).await;
    bulk_suite(&CachedStore::new(MemoryStore::new())).await;
}

/// Name search and newest-first pages on every store, bare and cached.
#[tokio::test]
async fn every_store_passes_the_search_suite() {
    let clock = ManualClock::new(T0);
    search_suite(&MemoryStore::new().with_clock(clock.clone()), &clock).await;
    let clock = ManualClock::new(T0);
    let cached = CachedStore::new(MemoryStore::new().with_clock(clock.clone()));
    search_suite(&cached, &clock).await;

    let dir = TempDir::new("search");
    let (sqlite, clock) = sqlite_at_t0(dir.file("keys.db"));
    search_suite(&sqlite, &clock).await;
    let (sqlite, clock) = sqlite_at_t0(dir.file("cached.db"));
    search_suite(&CachedStore::new(sqlite), &clock).await;
}

#[tokio::test]
async fn audit_entries_past_the_retention_are_pruned() {
    let day = Some(Duration::from_secs(86_400));
    let clock = ManualClock::new(T0);
    let memory = MemoryStore::new()
        .with_clock(clock.clone())
        .with_audit_retention(day);
    retention_suite(&memory, &clock).await;
    let dir = TempDir::new("retention");
    let clock = ManualClock::new(T0);
    let sqlite = SqliteStore::open_or_create(dir.file("keys.db"))
        .expect("open")
        .with_clock(clock.clone())
        .with_audit_retention(day);
    retention_suite(&sqlite, &clock).await;
}

/// A deleted key's id can never come back: the database itself refuses a row with it,
/// and the audit log refuses edits.
#[tokio::test]
async fn sqlite_never_reissues_a_deleted_id_and_keeps_the_audit_log_append_only() {
    let dir = TempDir::new("tombstone");
    let path = dir.file("keys.db");
    let store = SqliteStore::open_or_create(&path).expect("open");
    let issued = store.create(NewKey::new("k")).await.expect("create");
    let id = issued.record.id.clone();
    store.delete(&id).await.expect("delete");
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let insert = conn.execute(
        "INSERT INTO keys (id, name, owner_epoch, roles, created_at, status, permissions, \
         secret_sha256) VALUES (?1, 'again', 0, '[]', 0, 'active', '{}', zeroblob(32))",
        [&id],
    );
    let error = insert.expect_err("a deleted id is refused").to_string();
    assert!(error.contains("never issued again"), "{error}");
    let other = conn.execute(
        "INSERT INTO keys (id, name, owner_epoch, roles, created_at, status, permissions, \
         secret_sha256) VALUES ('neverdeleted', 'x', 0, '[]', 0, 'active', '{}', zeroblob(32))",
        [],
    );
    assert_eq!(
        other.expect("another id is fine"),
        1,
        "the guard is not a blanket refusal"
    );
    let edit = conn.execute("UPDATE audit SET actor = 'someone else'", []);
    assert!(edit.is_err(), "audit entries are never changed");
}

/// A database of the previous version (schema 1) opens, migrates, and keeps its keys.
#[tokio::test]
async fn sqlite_migrates_a_database_of_the_previous_version() {
    let dir = TempDir::new("migrate");
    let path = dir.file("keys.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch(SCHEMA_1).expect("the old schema");
        conn.execute_batch(
            "INSERT INTO owners VALUES ('alice', 1, 0);
             INSERT INTO keys (id, name, owner, owner_epoch, roles, created_at, status, \
                 permissions, secret_sha256)
             VALUES ('oldkey123456', 'old', 'alice', 0, '[\"r\"]', 5, 'active', \
                 '{\"default_methods\":[\"GET\"],\"per_operation\":{}}', zeroblob(32));
             PRAGMA user_version = 1;",
        )
        .expect("an old key");
    }
    let store = SqliteStore::open(&path).expect("open migrates");
    let old = store.get("oldkey123456").await.expect("get").expect("kept");
    assert_eq!(old.name, "old");
    assert!(old.metadata.is_empty());
    assert_eq!(old.created_by, None, "no audit entry names its creator");
    let disabled = store.disable("oldkey123456").await.expect("disable");
    assert_eq!(disabled.status, keygate::keys::KeyStatus::Disabled);
    let page = store
        .list(keygate::keys::KeyQuery::new(
            KeyFilter::default().owner("alice"),
        ))
        .await
        .expect("list");
    assert_eq!(page.keys.len(), 1);
    let log = store
        .audit(keygate::keys::AuditQuery::new())
        .await
        .expect("audit");
    assert_eq!(log.entries.len(), 1);
    sessions_suite(&store, T0).await;
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    assert_eq!(schema_version(&conn), 4);
}

/// A database of schema 2 (audit log, no creator column) migrates, and each key's creator
/// is taken from its `create` entry; a key whose entry is gone stays unknown.
#[tokio::test]
async fn sqlite_fills_in_creators_from_the_audit_log_when_it_migrates() {
    let dir = TempDir::new("migrate-creators");
    let path = dir.file("keys.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch(SCHEMA_1).expect("schema 1");
        conn.execute_batch(SCHEMA_1_TO_2).expect("schema 2");
        conn.execute_batch(
            "INSERT INTO keys (id, name, owner_epoch, roles, created_at, status, permissions, \
                 secret_sha256)
             VALUES ('audited00001', 'audited', 0, '[]', 5, 'active', \
                 '{\"default_methods\":[\"GET\"],\"per_operation\":{}}', zeroblob(32)),
                 ('pruned000001', 'pruned', 0, '[]', 5, 'active', \
                 '{\"default_methods\":[\"GET\"],\"per_operation\":{}}', zeroblob(32));
             INSERT INTO audit (at, actor_kind, actor, action, target_kind, target, changes)
             VALUES (5, 'admin_key', 'adminkey0001', 'create', 'key', 'audited00001', '[]'),
                 (6, 'cli', 'bob', 'update', 'key', 'audited00001', '[]'),
                 (7, 'cli', 'bob', 'update', 'key', 'pruned000001', '[]'),
                 (8, 'cli', 'carol', 'create', 'owner', 'pruned000001', '[]');
             PRAGMA user_version = 2;",
        )
        .expect("keys of schema 2");
    }
    let store = SqliteStore::open(&path).expect("open migrates");
    let audited = store.get("audited00001").await.expect("get").expect("kept");
    assert_eq!(
        audited.created_by,
        Some(keygate::keys::Actor::admin_key("adminkey0001")),
        "the create entry's actor, not a later one's"
    );
    let pruned = store.get("pruned000001").await.expect("get").expect("kept");
    assert_eq!(pruned.created_by, None, "no create entry of this key");
    let page = store
        .list(keygate::keys::KeyQuery::new(KeyFilter::default()))
        .await
        .expect("list");
    assert_eq!(page.keys.len(), 2);
    // Keys created from now on carry their creator.
    let new = store.create(NewKey::new("new")).await.expect("create");
    assert_eq!(new.record.created_by, Some(keygate::keys::Actor::default()));
}

/// Schema version 1, as the previous keygate wrote it.
const SCHEMA_1: &str = "
    CREATE TABLE owners (
        id      TEXT PRIMARY KEY NOT NULL,
        enabled INTEGER NOT NULL,
        epoch   INTEGER NOT NULL
    );
    CREATE TABLE keys (
        id              TEXT PRIMARY KEY NOT NULL,
        name            TEXT NOT NULL,
        description     TEXT,
        owner           TEXT,
        owner_epoch     INTEGER NOT NULL,
        roles           TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        expires_at      INTEGER,
        last_used_at    INTEGER,
        status          TEXT NOT NULL,
        schemes         TEXT,
        permissions     TEXT NOT NULL,
        secret_sha256   BLOB NOT NULL,
        previous_sha256 BLOB,
        previous_until  INTEGER
    );
    CREATE INDEX keys_owner ON keys (owner);
";

/// Migration 2, as the previous keygate applied it after [`SCHEMA_1`].
const SCHEMA_1_TO_2: &str = "
    ALTER TABLE keys ADD COLUMN metadata TEXT;
    CREATE TABLE deleted_keys (
        id         TEXT PRIMARY KEY NOT NULL,
        deleted_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER keys_never_reuse BEFORE INSERT ON keys
        WHEN EXISTS (SELECT 1 FROM deleted_keys WHERE id = NEW.id)
    BEGIN
        SELECT RAISE(ABORT, 'this key id was deleted and is never issued again');
    END;
    DROP INDEX keys_owner;
    CREATE INDEX keys_by_created ON keys (created_at, id);
    CREATE INDEX keys_by_owner ON keys (owner, created_at, id);
    CREATE INDEX keys_by_status ON keys (status, created_at, id);
    CREATE INDEX keys_by_name ON keys (name, created_at, id);
    CREATE INDEX keys_by_expiry ON keys (expires_at, created_at, id) WHERE expires_at IS NOT NULL;
    CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          INTEGER NOT NULL,
        actor_kind  TEXT NOT NULL,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        target_kind TEXT NOT NULL,
        target      TEXT NOT NULL,
        changes     TEXT NOT NULL,
        request_id  TEXT
    );
    CREATE INDEX audit_by_target ON audit (target, seq);
    CREATE INDEX audit_by_actor ON audit (actor, seq);
    CREATE INDEX audit_by_time ON audit (at);
    CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'audit entries are never changed');
    END;
";

/// What keys name is counted alike by every store, bare and cached, after the suite has
/// left keys of all kinds behind.
#[tokio::test]
async fn every_store_counts_the_names_its_keys_use() {
    let clock = ManualClock::new(T0);
    let memory = MemoryStore::new().with_clock(clock.clone());
    suite(&memory, &clock).await;
    names_suite(&memory).await;
    names_suite(&CachedStore::new(MemoryStore::new())).await;

    let dir = TempDir::new("names");
    let (sqlite, clock) = sqlite_at_t0(dir.file("keys.db"));
    suite(&sqlite, &clock).await;
    names_suite(&sqlite).await;
    let cached = SqliteStore::open_or_create(dir.file("cached.db")).expect("open");
    names_suite(&CachedStore::new(cached)).await;
}

#[tokio::test]
async fn sqlite_store_passes_the_suite_and_persists() {
    let dir = TempDir::new("suite");
    let path = dir.file("keys.db");
    let (store, clock) = sqlite_at_t0(&path);
    suite(&store, &clock).await;
    let before = store.list_all(KeyFilter::default()).await.expect("list");
    let owners = [
        store.get_owner("alice").await.expect("owner"),
        store.get_owner("carol").await.expect("owner"),
    ];
    drop(store);

    let reopened = SqliteStore::open_or_create(&path)
        .expect("reopen")
        .with_clock(clock.clone());
    let after = reopened.list_all(KeyFilter::default()).await.expect("list");
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
    assert_eq!(schema_version(&conn), 4);
}

/// A database of schema 3 (what the release before console sessions wrote) migrates: its
/// keys kept, and sessions work.
#[tokio::test]
async fn sqlite_migrates_a_database_of_schema_3_to_console_sessions() {
    let dir = TempDir::new("migrate-sessions");
    let path = dir.file("keys.db");
    let store = SqliteStore::open_or_create(&path).expect("open");
    let issued = store.create(NewKey::new("kept")).await.expect("create");
    drop(store);
    {
        // Schema 3 is schema 4 without the sessions' table.
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch("DROP TABLE console_sessions; PRAGMA user_version = 3;")
            .expect("back to schema 3");
    }
    let store = SqliteStore::open(&path).expect("open migrates");
    let kept = store.get(&issued.record.id).await.expect("get");
    assert_eq!(kept.as_deref(), Some(&issued.record));
    sessions_suite(&store, T0).await;
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    assert_eq!(schema_version(&conn), 4);
}

/// Console sessions on every store, bare and cached; in SQLite they outlive the handle
/// (a restart) and are seen by another handle on the file (another instance).
#[tokio::test]
async fn every_store_keeps_console_sessions() {
    sessions_suite(&MemoryStore::new(), T0).await;
    sessions_suite(&CachedStore::new(MemoryStore::new()), T0).await;
    let dir = TempDir::new("sessions");
    let path = dir.file("keys.db");
    let sqlite = SqliteStore::open_or_create(&path).expect("open");
    sessions_suite(&sqlite, T0).await;
    let other = SqliteStore::open(&path).expect("a second handle");
    sessions_suite(&CachedStore::new(other), T0 + 86_400).await;

    let session = ConsoleSession {
        id_sha256: [7; 32],
        key_id: "restartkey01".to_owned(),
        secret_sha256: [8; 32],
        csrf_sha256: [9; 32],
        created_at: T0,
        expires_at: T0 + 60,
    };
    sqlite
        .create_session(session.clone())
        .await
        .expect("create");
    drop(sqlite);
    let reopened = SqliteStore::open(&path).expect("reopen");
    let kept = reopened.get_session(&[7; 32], T0).await.expect("get");
    assert_eq!(kept, Some(session), "a session survives a restart");
    let cached = CachedStore::new(SqliteStore::open(&path).expect("open"));
    assert!(cached
        .get_session(&[7; 32], T0)
        .await
        .expect("get")
        .is_some());
    reopened.delete_session(&[7; 32]).await.expect("delete");
    assert_eq!(
        cached.get_session(&[7; 32], T0).await.expect("get"),
        None,
        "a logout through one handle ends the session for the other, cached or not"
    );
}

/// The stored row holds the digests it was given and nothing else: four columns of
/// 32 bytes or times, no other text than the key id.
#[tokio::test]
async fn sqlite_keeps_only_digests_of_a_session() {
    let dir = TempDir::new("session-row");
    let path = dir.file("keys.db");
    let store = SqliteStore::open_or_create(&path).expect("open");
    let session = ConsoleSession {
        id_sha256: [1; 32],
        key_id: "rowkey000001".to_owned(),
        secret_sha256: [2; 32],
        csrf_sha256: [3; 32],
        created_at: T0,
        expires_at: T0 + 60,
    };
    store.create_session(session).await.expect("create");
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let row: (Vec<u8>, String, Vec<u8>, Vec<u8>, i64, i64) = conn
        .query_row("SELECT * FROM console_sessions", [], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .expect("one row of six columns");
    assert_eq!(
        row,
        (
            vec![1; 32],
            "rowkey000001".to_owned(),
            vec![2; 32],
            vec![3; 32],
            T0,
            T0 + 60
        )
    );
}
