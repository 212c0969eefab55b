//! The suite every `KeyStore` passes: `MemoryStore`, `SqliteStore` and, in the
//! `keygate-tests` crate (which includes this file), `PostgresStore`; each also behind
//! `CachedStore`. Uses only keygate's public API, so any crate can include it.

use std::collections::BTreeSet;
use std::time::Duration;

use keygate::keys::{
    Clock, Expiry, KeyFilter, KeyFormat, KeyState, KeyStatus, KeyStore, KeyUpdate, ManualClock,
    NameKind, NewKey, Permissions, StoreError,
};
use secrecy::ExposeSecret;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Every store operation, against a store whose clock is `clock`; the store must be
/// empty. Expiry and grace periods are crossed by moving the clock.
pub(crate) async fn suite<S: KeyStore>(store: &S, clock: &ManualClock) {
    let t0 = clock.now();
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
    assert_eq!(rec.created_at, t0);
    assert_eq!(rec.expires_at, Some(t0 + 30 * 86_400));
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
    assert_eq!(&*got, rec);
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
    let all = ids(store.list_all(KeyFilter::default()).await.expect("list"));
    assert_eq!(all, vec![rec.id.clone(), bob.id.clone(), short.id.clone()]);
    let by_bob = KeyFilter {
        owner: Some("bob".into()),
        ..KeyFilter::default()
    };
    assert_eq!(
        ids(store.list_all(by_bob).await.expect("list")),
        vec![bob.id.clone()]
    );

    // expiry is derived from the clock
    clock.advance(Duration::from_secs(60));
    let expired = KeyFilter {
        state: Some(KeyState::Expired),
        ..KeyFilter::default()
    };
    assert_eq!(
        ids(store.list_all(expired.clone()).await.expect("list")),
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
        ids(store.list_all(revoked).await.expect("list")),
        vec![bob.id.clone()]
    );
    let active = KeyFilter {
        state: Some(KeyState::Active),
        ..KeyFilter::default()
    };
    assert_eq!(
        ids(store.list_all(active).await.expect("list")),
        vec![rec.id.clone()]
    );
    assert!(matches!(
        store.revoke("nosuchkeyid2").await,
        Err(StoreError::NotFound(id)) if id == "nosuchkeyid2"
    ));

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
        Some((old_hash, clock.now() + 3600))
    );
    // rotate with zero grace drops the previous secret
    store.rotate(&rec.id, Duration::ZERO).await.expect("rotate");
    let rotated = store.get(&rec.id).await.expect("get").expect("exists");
    assert_eq!(rotated.hashes.previous, None);
    // a revoked key cannot be rotated; a missing one is NotFound
    assert!(matches!(
        store.rotate(&bob.id, Duration::ZERO).await,
        Err(StoreError::Revoked(_))
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
        ..KeyUpdate::default()
    };
    let updated = store.update(&short.id, change).await.expect("update");
    assert_eq!(updated.permissions, Permissions::read_only());
    assert_eq!(updated.roles, set(&["audit"]));
    assert_eq!(updated.expires_at, None);
    assert_eq!(
        store.get(&short.id).await.expect("get"),
        Some(std::sync::Arc::new(updated.clone()))
    );
    let only_expiry = KeyUpdate {
        expires_at: Some(Some(t0)),
        ..KeyUpdate::default()
    };
    let updated2 = store.update(&short.id, only_expiry).await.expect("update");
    assert_eq!(updated2.expires_at, Some(t0));
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
    store.record_use(&rec.id, t0 + 500).await.expect("use");
    store.record_use(&rec.id, t0 + 400).await.expect("use");
    let used = store.get(&rec.id).await.expect("get").expect("exists");
    assert_eq!(used.last_used_at, Some(t0 + 500));
    assert!(matches!(
        store.record_use("nosuchkeyid2", t0).await,
        Err(StoreError::NotFound(_))
    ));
}

/// `names_in_use` counts, per operation and scheme name, the keys not revoked that use
/// it, as the records themselves say. The store may hold keys already; this adds four.
pub(crate) async fn names_suite<S: KeyStore>(store: &S) {
    let named = |ops: &[&str], schemes: &[&str]| {
        let mut permissions = Permissions::read_only();
        for op in ops {
            permissions = permissions.with_operation(op, ["GET"]);
        }
        NewKey::new("named")
            .permissions(permissions)
            .schemes(schemes.iter().copied())
    };
    let a = store
        .create(named(
            &["creatThing", "GET /things/{id}"],
            &["apikey", "api_key"],
        ))
        .await
        .expect("create");
    let b = store
        .create(named(&["creatThing"], &[]))
        .await
        .expect("create");
    let gone = store
        .create(named(&["onlyRevoked"], &["revokedScheme"]))
        .await
        .expect("create");
    store.revoke(&gone.record.id).await.expect("revoke");

    let names = store.names_in_use().await.expect("names");
    // What the records say, counted here.
    let mut expected: Vec<(NameKind, String, u64, String)> = Vec::new();
    let mut count = |kind: NameKind, name: &str, id: &str| match expected
        .iter_mut()
        .find(|e| e.0 == kind && e.1 == name)
    {
        Some(entry) => {
            entry.2 += 1;
            if id < entry.3.as_str() {
                entry.3 = id.to_owned();
            }
        }
        None => expected.push((kind, name.to_owned(), 1, id.to_owned())),
    };
    for record in store.list_all(KeyFilter::default()).await.expect("list") {
        if record.status == KeyStatus::Revoked {
            continue;
        }
        for op in record.permissions.per_operation.keys() {
            count(NameKind::Operation, op, &record.id);
        }
        for scheme in record.schemes.iter().flatten() {
            count(NameKind::Scheme, scheme, &record.id);
        }
    }
    expected.sort_by(|x, y| (x.0, x.1.as_bytes()).cmp(&(y.0, y.1.as_bytes())));
    let got: Vec<(NameKind, String, u64, String)> = names
        .iter()
        .map(|n| (n.kind, n.name.clone(), n.keys, n.example.clone()))
        .collect();
    assert_eq!(got, expected);
    let find = |kind: NameKind, name: &str| names.iter().find(|n| n.kind == kind && n.name == name);
    let typo = find(NameKind::Operation, "creatThing").expect("counted");
    assert_eq!(typo.keys, 2);
    assert_eq!(typo.example, a.record.id.clone().min(b.record.id.clone()));
    assert_eq!(
        find(NameKind::Operation, "GET /things/{id}").map(|n| n.keys),
        Some(1)
    );
    assert_eq!(find(NameKind::Scheme, "apikey").map(|n| n.keys), Some(1));
    assert_eq!(find(NameKind::Operation, "onlyRevoked"), None);
    assert_eq!(find(NameKind::Scheme, "revokedScheme"), None);
}
