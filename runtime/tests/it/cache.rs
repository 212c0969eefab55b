//! `CachedStore`: reads are served from the cache, writes through it invalidate at once,
//! changes made behind its back show after the TTL, and a read racing a change is never
//! served.

use std::future::Future as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use keygate::keys::{
    CachedStore, KeyFormat, KeyRecord, KeyStatus, KeyStore, Keyring, MemoryStore, NewKey,
    SqliteStore, StoreError,
};
use keygate::{Verdict, Verifier};
use keygate_tests::{CountingStore, TempDir};
use secrecy::{ExposeSecret as _, SecretString};

use crate::common::get;

#[tokio::test]
async fn repeated_reads_and_unknown_ids_are_served_from_the_cache() {
    let counting = CountingStore::new(MemoryStore::new());
    let gets = Arc::clone(&counting.gets);
    let cache = CachedStore::new(counting);
    let issued = cache.create(NewKey::new("k")).await.expect("create");
    for _ in 0..10 {
        assert!(cache.get(&issued.record.id).await.expect("get").is_some());
        assert!(cache.get("unknownkeyid").await.expect("get").is_none());
    }
    assert_eq!(gets.load(Ordering::SeqCst), 2, "one store read per id");
}

#[tokio::test]
async fn writes_through_the_cache_take_effect_on_the_next_read() {
    let ring = Keyring::new(CachedStore::new(MemoryStore::new()));
    let issued = ring.store().create(NewKey::new("k")).await.expect("create");
    assert!(matches!(get(&ring, &issued.key).await, Verdict::Granted(_)));
    ring.store()
        .revoke(&issued.record.id)
        .await
        .expect("revoke");
    assert_eq!(get(&ring, &issued.key).await, Verdict::Revoked);

    let owned = ring
        .store()
        .create(NewKey::new("o").owner("team"))
        .await
        .expect("create");
    assert!(matches!(get(&ring, &owned.key).await, Verdict::Granted(_)));
    ring.store().disable_owner("team").await.expect("disable");
    assert_eq!(get(&ring, &owned.key).await, Verdict::Disabled);
}

#[tokio::test]
async fn changes_behind_the_cache_show_after_the_ttl_or_an_invalidation() {
    let inner = Arc::new(MemoryStore::new());
    let cache = CachedStore::from_arc(Arc::clone(&inner)).with_ttl(Duration::from_millis(200));
    let issued = inner.create(NewKey::new("k")).await.expect("create");
    let other = inner.create(NewKey::new("k2")).await.expect("create");
    let id = issued.record.id.as_str();
    let status = |r: Option<std::sync::Arc<keygate::keys::KeyRecord>>| r.expect("exists").status;
    assert_eq!(status(cache.get(id).await.expect("get")), KeyStatus::Active);
    // Revoked behind the cache's back: still cached...
    inner.revoke(id).await.expect("revoke");
    assert_eq!(status(cache.get(id).await.expect("get")), KeyStatus::Active);
    // ...until someone reports the change,
    cache.invalidate_key(id);
    assert_eq!(
        status(cache.get(id).await.expect("get")),
        KeyStatus::Revoked
    );
    // or the TTL runs out.
    let other_id = other.record.id.as_str();
    assert_eq!(
        status(cache.get(other_id).await.expect("get")),
        KeyStatus::Active
    );
    inner.revoke(other_id).await.expect("revoke");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        status(cache.get(other_id).await.expect("get")),
        KeyStatus::Revoked
    );
}

/// A store whose reads wait on a signal, so a test can revoke while a read is in flight.
struct SlowReads {
    inner: MemoryStore,
    read_started: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

impl KeyStore for SlowReads {
    keygate_tests::forward_key_store!(
        inner: create_by,
        change_key,
        change_owner,
        list,
        get_owner,
        owner_summary,
        list_owners,
        audit,
        record_use,
        create_session,
        get_session,
        delete_session,
    );

    async fn get(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        // Read first (the stale value), then wait: the write lands in between.
        let value = self.inner.get(id).await;
        self.read_started.notify_one();
        self.release.notified().await;
        value
    }
}

#[tokio::test]
async fn a_read_that_raced_a_revocation_is_never_served() {
    let cache = Arc::new(CachedStore::new(SlowReads {
        inner: MemoryStore::new(),
        read_started: tokio::sync::Notify::new(),
        release: tokio::sync::Notify::new(),
    }));
    let issued = cache
        .inner()
        .inner
        .create(NewKey::new("k"))
        .await
        .expect("create");
    let id = issued.record.id.clone();
    // A read starts and fetches the active record...
    let reader = tokio::spawn({
        let cache = Arc::clone(&cache);
        let id = id.clone();
        async move { cache.get(&id).await }
    });
    cache.inner().read_started.notified().await;
    // ...the key is revoked through the cache meanwhile...
    cache.revoke(&id).await.expect("revoke");
    cache.inner().release.notify_one();
    let stale = reader.await.expect("join").expect("get").expect("exists");
    assert_eq!(
        stale.status,
        KeyStatus::Active,
        "the racing read saw the old row"
    );
    // The verification path does not serve it either (it answers from the cache, or
    // waits for a read).
    let ring = Keyring::from_arc(Arc::clone(&cache));
    let answer = get_now(&ring, &issued.key);
    assert!(
        !matches!(answer, Some(Verdict::Granted(_))),
        "a revoked key verified: {answer:?}"
    );
    // ...and the stale row it brought back is not served to the next read.
    let next = tokio::spawn({
        let cache = Arc::clone(&cache);
        let id = id.clone();
        async move { cache.get(&id).await }
    });
    // A cache hit never reaches the store, so wait for the read only for a while.
    let store_read = cache.inner().read_started.notified();
    let _ = tokio::time::timeout(Duration::from_secs(2), store_read).await;
    cache.inner().release.notify_one();
    let fresh = next.await.expect("join").expect("get").expect("exists");
    assert_eq!(fresh.status, KeyStatus::Revoked);
}

/// `get`, polled once: the answer when the cache gives it without waiting for the
/// store, `None` when it would wait.
fn get_now<V: Verifier>(verifier: &V, full: &secrecy::SecretString) -> Option<Verdict> {
    let credential = crate::common::key(full);
    let operation = keygate::OperationRef {
        method: "GET",
        path: "/things",
        operation_id: Some("listThings"),
    };
    let request = keygate::VerifyRequest::new(&crate::common::API_KEY, &credential, operation);
    let mut verify = std::pin::pin!(verifier.verify(request));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match verify.as_mut().poll(&mut context) {
        std::task::Poll::Ready(verdict) => Some(verdict.expect("verify")),
        std::task::Poll::Pending => None,
    }
}

#[tokio::test]
async fn sqlite_cache_sees_commits_of_other_connections_through_the_watcher() {
    let dir = TempDir::new("watch");
    let path = dir.file("keys.db");
    let hour = Duration::from_secs(3600);
    let watched = CachedStore::new(SqliteStore::open_or_create(&path).expect("open"))
        .with_ttl(hour)
        .watch_other_writers(Duration::from_millis(20));
    let unwatched =
        CachedStore::new(SqliteStore::open_or_create(&path).expect("open")).with_ttl(hour);
    // Another connection to the same file, as the `keygate keys` CLI would be.
    let other = SqliteStore::open_or_create(&path).expect("open");
    let issued = other.create(NewKey::new("k")).await.expect("create");
    let id = issued.record.id.as_str();
    let status = |r: Option<std::sync::Arc<KeyRecord>>| r.expect("exists").status;
    assert_eq!(
        status(watched.get(id).await.expect("get")),
        KeyStatus::Active
    );
    assert_eq!(
        status(unwatched.get(id).await.expect("get")),
        KeyStatus::Active
    );
    // Let the watcher take its first reading before the change.
    tokio::time::sleep(Duration::from_millis(100)).await;
    other.revoke(id).await.expect("revoke");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while status(watched.get(id).await.expect("get")) != KeyStatus::Revoked {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watcher never saw the revocation"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Without the watcher the cached row stays until the TTL.
    assert_eq!(
        status(unwatched.get(id).await.expect("get")),
        KeyStatus::Active
    );
}

#[tokio::test]
async fn an_invalidator_taken_before_reconfiguring_still_invalidates() {
    let inner = Arc::new(MemoryStore::new());
    let cache = CachedStore::from_arc(Arc::clone(&inner));
    // A listener takes its handle first; the app then sets the TTL and capacity.
    let invalidator = cache.invalidator();
    let cache = cache
        .with_ttl(Duration::from_secs(3600))
        .with_capacity(1_000);
    let issued = inner.create(NewKey::new("k")).await.expect("create");
    let id = issued.record.id.as_str();
    let status = |r: Option<std::sync::Arc<KeyRecord>>| r.expect("exists").status;
    assert_eq!(status(cache.get(id).await.expect("get")), KeyStatus::Active);
    inner.revoke(id).await.expect("revoke");
    invalidator.invalidate_key(id);
    assert_eq!(
        status(cache.get(id).await.expect("get")),
        KeyStatus::Revoked
    );
}

/// A made-up key with a bad checksum never reaches the store; a well-formed one with a
/// made-up id costs one read, and its absence is then cached for the TTL (within the
/// cache's capacity), until a change of unknown scope clears it. Nothing lists the keys.
#[tokio::test]
async fn made_up_ids_cost_one_read_each_then_their_absence_is_cached() {
    let counting = CountingStore::new(MemoryStore::new());
    let (gets, lists) = (Arc::clone(&counting.gets), Arc::clone(&counting.lists));
    let ring = Keyring::new(CachedStore::new(counting).with_ttl(Duration::from_secs(3600)));
    let issued = ring.store().create(NewKey::new("k")).await.expect("create");
    assert!(matches!(get(&ring, &issued.key).await, Verdict::Granted(_)));
    let before = gets.load(Ordering::SeqCst);
    let format = KeyFormat::default();
    let made_up: Vec<_> = (0..1_000)
        .map(|_| format.generate().expect("rng"))
        .collect();
    for key in &made_up {
        let mut bad = key.full.expose_secret().to_owned();
        let last = if bad.ends_with('A') { "B" } else { "A" };
        bad.replace_range(bad.len() - 1.., last);
        assert_eq!(get(&ring, &SecretString::from(bad)).await, Verdict::Invalid);
    }
    assert_eq!(
        gets.load(Ordering::SeqCst) - before,
        0,
        "keys with a bad checksum reached the store"
    );
    for _ in 0..3 {
        for key in &made_up {
            assert_eq!(get(&ring, &key.full).await, Verdict::Invalid);
        }
    }
    assert_eq!(
        gets.load(Ordering::SeqCst) - before,
        1_000,
        "one read per made-up id, then its absence cached"
    );
    // Known ids still verify, and a key created through the cache at once.
    assert!(matches!(get(&ring, &issued.key).await, Verdict::Granted(_)));
    let fresh = ring
        .store()
        .create(NewKey::new("k2"))
        .await
        .expect("create");
    assert!(matches!(get(&ring, &fresh.key).await, Verdict::Granted(_)));
    // A change of unknown scope forgets the cached absences too.
    let reads = gets.load(Ordering::SeqCst);
    ring.store().clear();
    assert_eq!(get(&ring, &made_up[0].full).await, Verdict::Invalid);
    assert_eq!(
        gets.load(Ordering::SeqCst) - reads,
        1,
        "a cleared absence was served"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(lists.load(Ordering::SeqCst), 0, "the cache listed the keys");
}

/// No set of ids to complete: a key created by another connection verifies on its first
/// use, with or without the watcher.
#[tokio::test]
async fn a_key_created_by_another_connection_verifies_at_once() {
    let dir = TempDir::new("watch-ids");
    let path = dir.file("keys.db");
    let hour = Duration::from_secs(3600);
    let watched = Keyring::new(
        CachedStore::new(SqliteStore::open_or_create(&path).expect("open"))
            .with_ttl(hour)
            .watch_other_writers(Duration::from_millis(20)),
    );
    let unwatched = Keyring::new(
        CachedStore::new(SqliteStore::open_or_create(&path).expect("open")).with_ttl(hour),
    );
    let format = KeyFormat::default();
    for ring in [&watched, &unwatched] {
        let made_up = format.generate().expect("rng");
        assert_eq!(get(ring, &made_up.full).await, Verdict::Invalid);
    }
    // Another connection to the same file, as the `keygate keys` CLI would be.
    let other = SqliteStore::open_or_create(&path).expect("open");
    let issued = other.create(NewKey::new("k")).await.expect("create");
    assert!(matches!(
        get(&watched, &issued.key).await,
        Verdict::Granted(_)
    ));
    assert!(matches!(
        get(&unwatched, &issued.key).await,
        Verdict::Granted(_)
    ));
}

/// Verifications are answered from the cache: no store read per request, a reported
/// change on the very next one, and a change nobody reports within the TTL, whether the
/// answer comes at the first poll or after a wait.
#[tokio::test]
async fn cached_records_serve_verifications_until_a_change_or_the_ttl() {
    let counting = CountingStore::new(MemoryStore::new());
    let gets = Arc::clone(&counting.gets);
    let inner = Arc::new(counting);
    let cache = CachedStore::from_arc(Arc::clone(&inner)).with_ttl(Duration::from_millis(300));
    let ring = Keyring::new(cache);
    let first = ring.store().create(NewKey::new("a")).await.expect("create");
    let second = ring.store().create(NewKey::new("b")).await.expect("create");
    let now = |full| get_now(&ring, full);

    assert!(matches!(get(&ring, &first.key).await, Verdict::Granted(_)));
    let reads = gets.load(Ordering::SeqCst);
    for _ in 0..100 {
        assert!(matches!(get(&ring, &first.key).await, Verdict::Granted(_)));
        assert!(matches!(now(&first.key), Some(Verdict::Granted(_))));
    }
    assert_eq!(
        gets.load(Ordering::SeqCst),
        reads,
        "served without a store read"
    );

    // Revoked behind the cache's back and reported: refused on the next request.
    inner.revoke(&first.record.id).await.expect("revoke");
    ring.store().invalidate_key(&first.record.id);
    assert_eq!(get(&ring, &first.key).await, Verdict::Revoked);
    assert_eq!(now(&first.key), Some(Verdict::Revoked));

    // Revoked behind its back and not reported: refused once the TTL has run out.
    assert!(matches!(get(&ring, &second.key).await, Verdict::Granted(_)));
    // The first use is recorded through the cache, which invalidates the id: let that
    // land, and the record be read and cached again.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(get(&ring, &second.key).await, Verdict::Granted(_)));
    assert!(matches!(now(&second.key), Some(Verdict::Granted(_))));
    inner.revoke(&second.record.id).await.expect("revoke");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(get(&ring, &second.key).await, Verdict::Revoked);
    assert_eq!(now(&second.key), Some(Verdict::Revoked));
}

/// A key created behind the cache's back, and nobody says so: verified on its first use.
#[tokio::test]
async fn a_key_created_behind_the_cache_verifies_on_first_use() {
    let inner = Arc::new(MemoryStore::new());
    let ring = Keyring::new(CachedStore::from_arc(Arc::clone(&inner)));
    let known = ring.store().create(NewKey::new("a")).await.expect("create");
    assert!(matches!(get(&ring, &known.key).await, Verdict::Granted(_)));
    let behind = inner.create(NewKey::new("b")).await.expect("create");
    assert!(matches!(get(&ring, &behind.key).await, Verdict::Granted(_)));
}
