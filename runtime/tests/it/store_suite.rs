//! One suite for every `KeyStore`, run against `MemoryStore` and `SqliteStore`.

use std::collections::BTreeSet;
use std::time::Duration;

use keygate::keys::{
    CachedStore, Expiry, KeyFilter, KeyFormat, KeyState, KeyStatus, KeyStore, KeyUpdate,
    ManualClock, MemoryStore, NewKey, Permissions, SqliteStore, StoreError,
};
use secrecy::ExposeSecret;

use crate::common::{block_on, TempDir, T0};

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Every store operation, against a store whose clock is `clock` (starting at `T0`).
async fn suite<S: KeyStore>(store: &S, clock: &ManualClock) {
    // create
    let spec = NewKey::new("ci")
        .description("deploys")
        .owner("alice")
        .roles(["deploy", "read"])
        .expiry(Expiry::days(30))
        .schemes(["api_key"])
        .permissions(Permissions::full().with_operation("deleteThing", ["GET"]));
    let issued = store.create(spec).await.expect("create");
    let rec = &issued.record;
    assert_eq!(rec.name, "ci");
    assert_eq!(rec.description.as_deref(), Some("deploys"));
    assert_eq!(rec.owner.as_deref(), Some("alice"));
    assert_eq!(rec.owner_epoch, 0);
    assert_eq!(rec.roles, set(&["deploy", "read"]));
    assert_eq!(rec.created_at, T0);
    assert_eq!(rec.expires_at, Some(T0 + 30 * 86_400));
    assert_eq!(rec.last_used_at, None);
    assert_eq!(rec.status, KeyStatus::Active);
    assert_eq!(rec.schemes, Some(set(&["api_key"])));
    assert!(rec.hashes.previous.is_none());
    let parsed = KeyFormat::default()
        .parse(issued.key.expose_secret())
        .expect("issued key parses");
    assert_eq!(parsed.key_id, rec.id);
    assert!(!format!("{issued:?}").contains(parsed.secret.expose_secret()));

    // get
    let got = store.get(&rec.id).await.expect("get").expect("exists");
    assert_eq!(&got, rec);
    assert_eq!(store.get("nosuchkeyid2").await.expect("get"), None);

    // owners are created with their first key
    let alice = store
        .get_owner("alice")
        .await
        .expect("owner")
        .expect("exists");
    assert!(alice.enabled);
    assert_eq!(alice.epoch, 0);
    assert_eq!(store.get_owner("nobody").await.expect("owner"), None);

    // more keys for list
    clock.advance(Duration::from_secs(10));
    let bob = store
        .create(NewKey::new("bob's").owner("bob"))
        .await
        .expect("create")
        .record;
    assert_eq!(bob.permissions, Permissions::read_only());
    assert_eq!(bob.schemes, None);
    clock.advance(Duration::from_secs(10));
    let short = store
        .create(NewKey::new("short").expiry(Expiry::In(Duration::from_secs(60))))
        .await
        .expect("create")
        .record;
    let ids = |records: Vec<keygate::keys::KeyRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.id).collect()
    };
    let all = ids(store.list(KeyFilter::default()).await.expect("list"));
    assert_eq!(all, vec![rec.id.clone(), bob.id.clone(), short.id.clone()]);
    let by_bob = KeyFilter {
        owner: Some("bob".into()),
        ..KeyFilter::default()
    };
    assert_eq!(
        ids(store.list(by_bob).await.expect("list")),
        vec![bob.id.clone()]
    );

    // expiry is derived from the clock
    clock.advance(Duration::from_secs(60));
    let expired = KeyFilter {
        state: Some(KeyState::Expired),
        ..KeyFilter::default()
    };
    assert_eq!(
        ids(store.list(expired.clone()).await.expect("list")),
        vec![short.id.clone()]
    );

    // revoke (idempotent; missing key is NotFound)
    store.revoke(&bob.id).await.expect("revoke");
    store.revoke(&bob.id).await.expect("revoke again");
    let bob_now = store.get(&bob.id).await.expect("get").expect("exists");
    assert_eq!(bob_now.status, KeyStatus::Revoked);
    let revoked = KeyFilter {
        state: Some(KeyState::Revoked),
        ..KeyFilter::default()
    };
    assert_eq!(
        ids(store.list(revoked).await.expect("list")),
        vec![bob.id.clone()]
    );
    let active = KeyFilter {
        state: Some(KeyState::Active),
        ..KeyFilter::default()
    };
    assert_eq!(
        ids(store.list(active).await.expect("list")),
        vec![rec.id.clone()]
    );
    assert_eq!(
        store.revoke("nosuchkeyid2").await,
        Err(StoreError::NotFound("nosuchkeyid2".into()))
    );

    // rotate with grace keeps the old hash until now + grace
    let old_hash = rec.hashes.current;
    let new_key = store
        .rotate(&rec.id, Duration::from_secs(3600))
        .await
        .expect("rotate");
    let parsed_new = KeyFormat::default()
        .parse(new_key.expose_secret())
        .expect("rotated key parses");
    assert_eq!(parsed_new.key_id, rec.id, "rotation keeps the key id");
    let rotated = store.get(&rec.id).await.expect("get").expect("exists");
    assert_ne!(rotated.hashes.current, old_hash);
    assert_eq!(
        rotated.hashes.previous,
        Some((old_hash, clock_now(clock) + 3600))
    );
    // rotate with zero grace drops the previous secret
    store.rotate(&rec.id, Duration::ZERO).await.expect("rotate");
    let rotated = store.get(&rec.id).await.expect("get").expect("exists");
    assert_eq!(rotated.hashes.previous, None);
    // a revoked key cannot be rotated; a missing one is NotFound
    assert!(matches!(
        store.rotate(&bob.id, Duration::ZERO).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.rotate("nosuchkeyid2", Duration::ZERO).await,
        Err(StoreError::NotFound(_))
    ));

    // update
    let change = KeyUpdate {
        permissions: Some(Permissions::read_only()),
        roles: Some(set(&["audit"])),
        expires_at: Some(None),
    };
    let updated = store.update(&short.id, change).await.expect("update");
    assert_eq!(updated.permissions, Permissions::read_only());
    assert_eq!(updated.roles, set(&["audit"]));
    assert_eq!(updated.expires_at, None);
    assert_eq!(
        store.get(&short.id).await.expect("get"),
        Some(updated.clone())
    );
    let only_expiry = KeyUpdate {
        expires_at: Some(Some(T0)),
        ..KeyUpdate::default()
    };
    let updated2 = store.update(&short.id, only_expiry).await.expect("update");
    assert_eq!(updated2.expires_at, Some(T0));
    assert_eq!(updated2.roles, updated.roles, "untouched fields stay");
    assert!(matches!(
        store.update("nosuchkeyid2", KeyUpdate::default()).await,
        Err(StoreError::NotFound(_))
    ));

    // owners: disable, enable, bump epoch; unknown owners are created
    let o = store.disable_owner("alice").await.expect("disable");
    assert!(!o.enabled);
    assert_eq!(store.get_owner("alice").await.expect("owner"), Some(o));
    let o = store.enable_owner("alice").await.expect("enable");
    assert!(o.enabled);
    let o = store.bump_epoch("alice").await.expect("bump");
    assert_eq!(o.epoch, 1);
    assert_eq!(store.bump_epoch("alice").await.expect("bump").epoch, 2);
    let carol = store.disable_owner("carol").await.expect("disable unknown");
    assert!(!carol.enabled);
    assert_eq!(carol.epoch, 0);
    // a key created after a bump records the new epoch
    let later = store
        .create(NewKey::new("later").owner("alice"))
        .await
        .expect("create");
    assert_eq!(later.record.owner_epoch, 2);

    // record_use: sets, never moves backwards, missing key is NotFound
    store.record_use(&rec.id, T0 + 500).await.expect("use");
    store.record_use(&rec.id, T0 + 400).await.expect("use");
    let used = store.get(&rec.id).await.expect("get").expect("exists");
    assert_eq!(used.last_used_at, Some(T0 + 500));
    assert!(matches!(
        store.record_use("nosuchkeyid2", T0).await,
        Err(StoreError::NotFound(_))
    ));
}

fn clock_now(clock: &ManualClock) -> i64 {
    use keygate::keys::Clock;
    clock.now()
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
    let clock = ManualClock::new(T0);
    let sqlite = SqliteStore::open(dir.file("keys.db"))
        .expect("open")
        .with_clock(clock.clone());
    suite(&CachedStore::new(sqlite), &clock).await;
}

#[tokio::test]
async fn sqlite_store_passes_the_suite_and_persists() {
    let dir = TempDir::new("suite");
    let path = dir.file("keys.db");
    let clock = ManualClock::new(T0);
    let store = SqliteStore::open(&path)
        .expect("open")
        .with_clock(clock.clone());
    suite(&store, &clock).await;
    let before = store.list(KeyFilter::default()).await.expect("list");
    let owners = [
        store.get_owner("alice").await.expect("owner"),
        store.get_owner("carol").await.expect("owner"),
    ];
    drop(store);

    let reopened = SqliteStore::open(&path)
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
    let store = SqliteStore::open(dir.file("keys.db")).expect("open");
    // A trivial executor: the store runs SQLite inline when no tokio runtime exists.
    let issued = block_on(store.create(NewKey::new("plain"))).expect("create");
    let got = block_on(store.get(&issued.record.id)).expect("get");
    assert_eq!(got, Some(issued.record));
}

#[test]
fn sqlite_refuses_a_newer_schema() {
    let dir = TempDir::new("newer");
    let path = dir.file("keys.db");
    drop(SqliteStore::open(&path).expect("open"));
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.pragma_update(None, "user_version", 99)
            .expect("set version");
    }
    match SqliteStore::open(&path) {
        Err(StoreError::Corrupt(why)) => assert!(why.contains("newer"), "{why}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn sqlite_uses_wal() {
    let dir = TempDir::new("wal");
    let path = dir.file("keys.db");
    drop(SqliteStore::open(&path).expect("open"));
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
