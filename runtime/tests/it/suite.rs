//! The suite every `KeyStore` passes: `MemoryStore`, `SqliteStore` and, in the
//! `keygate-tests` crate (which includes this file), `PostgresStore`; each also behind
//! `CachedStore`. Uses only keygate's public API, so any crate can include it.

use std::collections::BTreeSet;
use std::time::Duration;

use keygate::keys::{
    Actor, ActorKind, AuditAction, AuditEntry, AuditQuery, AuditTarget, Clock, ConsoleSession,
    Expiry, FieldChange, KeyChange, KeyCursor, KeyFilter, KeyFormat, KeyQuery, KeyRecord, KeyState,
    KeyStatus, KeyStore, KeyUpdate, ManualClock, Metadata, NameKind, NewKey, Owner, OwnerChange,
    OwnerQuery, Permissions, StoreError, UnixSeconds, METADATA_MAX_BYTES, SESSIONS_PER_KEY,
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
    assert_eq!(
        rec.created_by,
        Some(Actor::default()),
        "the shorthand creates as the app"
    );
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
        rotated.created_by, rec.created_by,
        "a rotation keeps the creator"
    );
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

/// Metadata from key-value pairs.
fn metadata(pairs: &[(&str, serde_json::Value)]) -> Metadata {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The audit entries of `target`, newest first (every page).
async fn audit_of<S: KeyStore>(store: &S, target: &str) -> Vec<AuditEntry> {
    let mut query = AuditQuery::new().target(target).limit(2);
    let mut out = Vec::new();
    loop {
        let page = store.audit(query.clone()).await.expect("audit");
        out.extend(page.entries);
        match page.next {
            Some(next) => query = query.after(next),
            None => return out,
        }
    }
}

/// The fields an audit entry may name: never a secret or a hash.
const AUDITED_FIELDS: [&str; 13] = [
    "name",
    "description",
    "owner",
    "status",
    "roles",
    "expires_at",
    "schemes",
    "permissions",
    "metadata",
    "previous_secret_until",
    "enabled",
    "epoch",
    "keys",
];

/// The lifecycle beyond `suite`: disable and enable, edits of every field, metadata,
/// delete (ids never reissued), owners (summary, pages, delete), list filters and pages,
/// and the audit log of all of it. The store must be empty; its clock is `clock`.
pub(crate) async fn lifecycle_suite<S: KeyStore>(store: &S, clock: &ManualClock) {
    let t0 = clock.now();
    let admin = Actor::cli("ops").with_request_id("req-42");

    // disable / enable: undoable, status `disabled`; a revoked key refuses both
    let issued = store
        .create_by(
            &admin,
            NewKey::new("svc").owner("team").expiry(Expiry::days(7)),
        )
        .await
        .expect("create");
    let id = issued.record.id.clone();
    // The creator is the actor without the request id, and no change moves it.
    let creator = Some(Actor::cli("ops"));
    assert_eq!(issued.record.created_by, creator);
    let disabled = store.disable(&id).await.expect("disable");
    assert_eq!(disabled.status, KeyStatus::Disabled);
    assert_eq!(disabled.created_by, creator);
    assert_eq!(disabled.state(clock.now()), KeyState::Disabled);
    let got = store.get(&id).await.expect("get").expect("exists");
    assert_eq!(got.status, KeyStatus::Disabled);
    let disabled_page = store
        .list(KeyQuery::new(
            KeyFilter::default().state(KeyState::Disabled),
        ))
        .await
        .expect("list");
    assert_eq!(ids_of(&disabled_page.keys), vec![id.clone()]);
    assert_eq!(disabled_page.keys[0].created_by, creator);
    assert_eq!(
        store.enable(&id).await.expect("enable").status,
        KeyStatus::Active
    );
    let other = store
        .create(NewKey::new("gone"))
        .await
        .expect("create")
        .record;
    store.revoke(&other.id).await.expect("revoke");
    assert!(matches!(
        store.disable(&other.id).await,
        Err(StoreError::Revoked(_))
    ));
    assert!(matches!(
        store.enable(&other.id).await,
        Err(StoreError::Revoked(_))
    ));
    assert!(matches!(
        store.disable("nosuchkeyid2").await,
        Err(StoreError::NotFound(_))
    ));

    // edit every field; untouched ones stay
    clock.advance(Duration::from_secs(1));
    let data = metadata(&[("tenant", "acme".into()), ("tier", 3.into())]);
    let change = KeyUpdate::new()
        .name("svc-renamed")
        .description(Some("the service".into()))
        .default_methods(["GET", "POST"])
        .operation("deleteThing", ["DELETE"])
        .roles(["writer"])
        .expires_at(Some(t0 + 30 * 86_400))
        .schemes(Some(set(&["api_key"])))
        .metadata(data.clone());
    let edited = store
        .change_key(&admin, &id, KeyChange::Update(change))
        .await
        .expect("update")
        .record
        .expect("a record");
    assert_eq!(edited.name, "svc-renamed");
    assert_eq!(edited.description.as_deref(), Some("the service"));
    assert_eq!(edited.permissions.default_methods, set(&["GET", "POST"]));
    assert_eq!(
        edited.permissions.per_operation.get("deleteThing"),
        Some(&set(&["DELETE"]))
    );
    assert_eq!(edited.roles, set(&["writer"]));
    assert_eq!(edited.expires_at, Some(t0 + 30 * 86_400), "extended");
    assert_eq!(edited.schemes, Some(set(&["api_key"])));
    assert_eq!(edited.metadata, data);
    assert_eq!(edited.owner.as_deref(), Some("team"));
    assert_eq!(edited.created_by, creator);
    assert_eq!(
        &*store.get(&id).await.expect("get").expect("exists"),
        &edited
    );
    let shortened = store
        .update(&id, KeyUpdate::new().expires_at(Some(t0 + 3600)))
        .await
        .expect("shorten");
    assert_eq!(shortened.expires_at, Some(t0 + 3600));
    let cleared = store
        .update(
            &id,
            KeyUpdate::new()
                .expires_at(None)
                .description(None)
                .remove_operation("deleteThing")
                .schemes(None),
        )
        .await
        .expect("remove");
    assert_eq!(cleared.expires_at, None);
    assert_eq!(cleared.description, None);
    assert!(cleared.permissions.per_operation.is_empty());
    assert_eq!(cleared.schemes, None);
    assert_eq!(cleared.metadata, data, "untouched fields stay");

    // metadata is bounded, and the error names the field
    let big = metadata(&[("blob", "x".repeat(METADATA_MAX_BYTES).into())]);
    match store
        .update(&id, KeyUpdate::new().metadata(big.clone()))
        .await
    {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "metadata"),
        other => panic!("expected Invalid metadata, got {other:?}"),
    }
    match store.create(NewKey::new("big").metadata(big)).await {
        Err(e @ StoreError::Invalid { .. }) => assert!(e.to_string().contains("`metadata`"), "{e}"),
        other => panic!("expected Invalid metadata, got {other:?}"),
    }
    assert_eq!(
        store.get(&id).await.expect("get").expect("exists").metadata,
        data
    );
    match store
        .create_by(&Actor::app(""), NewKey::new("nobody"))
        .await
    {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "actor"),
        other => panic!("expected Invalid actor, got {other:?}"),
    }
    // an owner id must be usable as a URL path segment (`/owners/{id}`), alone or in bulk
    for owner in ["", ".", ".."] {
        match store.create(NewKey::new("dotted").owner(owner)).await {
            Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "owner"),
            other => panic!("expected Invalid owner for {owner:?}, got {other:?}"),
        }
        let bulk = store
            .create_many(vec![
                NewKey::new("fine"),
                NewKey::new("dotted").owner(owner),
            ])
            .await;
        assert!(
            matches!(bulk, Err(StoreError::Invalid { field: "owner", .. })),
            "{owner:?} in bulk: {bulk:?}"
        );
    }

    // delete: gone for good, and gone from lists; a second delete finds nothing
    let doomed = store.create(NewKey::new("doomed")).await.expect("create");
    let doomed_id = doomed.record.id.clone();
    store.delete(&doomed_id).await.expect("delete");
    assert_eq!(store.get(&doomed_id).await.expect("get"), None);
    assert!(matches!(
        store.delete(&doomed_id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.revoke(&doomed_id).await,
        Err(StoreError::NotFound(_))
    ));
    let all = store.list_all(KeyFilter::default()).await.expect("list");
    assert!(all.iter().all(|r| r.id != doomed_id));

    // owners: summary, pages, delete (its keys go with it, at once)
    store
        .create(NewKey::new("svc2").owner("team"))
        .await
        .expect("create");
    store
        .create(NewKey::new("b1").owner("bea"))
        .await
        .expect("create");
    store
        .disable_owner("carl")
        .await
        .expect("an owner without keys");
    let team = store
        .owner_summary("team")
        .await
        .expect("summary")
        .expect("known");
    assert_eq!(
        (team.keys, team.owner.enabled, team.owner.epoch),
        (2, true, 0)
    );
    assert_eq!(store.owner_summary("nobody").await.expect("summary"), None);
    let mut owners = Vec::new();
    let mut query = OwnerQuery::new().limit(2);
    loop {
        let page = store.list_owners(query.clone()).await.expect("owners");
        assert!(page.owners.len() <= 2);
        owners.extend(page.owners.into_iter().map(|o| (o.owner.id, o.keys)));
        match page.next {
            Some(next) => query = query.after(next),
            None => break,
        }
    }
    assert_eq!(
        owners,
        vec![("bea".into(), 1), ("carl".into(), 0), ("team".into(), 2)]
    );
    let team_keys = store
        .list_all(KeyFilter::default().owner("team"))
        .await
        .expect("list");
    let deleted = store.delete_owner("team").await.expect("delete owner");
    let mut expected: Vec<String> = team_keys.iter().map(|r| r.id.clone()).collect();
    expected.sort();
    assert_eq!(deleted, expected);
    for key in &deleted {
        assert_eq!(
            store.get(key).await.expect("get"),
            None,
            "deleted with its owner"
        );
    }
    assert_eq!(store.get_owner("team").await.expect("owner"), None);
    assert!(matches!(
        store.delete_owner("team").await,
        Err(StoreError::OwnerNotFound(_))
    ));
    // a new owner of the same name starts with no keys
    store
        .create(NewKey::new("fresh").owner("team"))
        .await
        .expect("create");
    let team = store
        .owner_summary("team")
        .await
        .expect("summary")
        .expect("known");
    assert_eq!(team.keys, 1);

    // list: filters and pages of a cursor that new keys do not disturb
    for i in 0..5 {
        clock.advance(Duration::from_secs(1));
        let spec = NewKey::new(if i % 2 == 0 { "even" } else { "odd" })
            .owner("lister")
            .expiry(Expiry::In(Duration::from_secs(100 * (i + 1))));
        store.create(spec).await.expect("create");
    }
    let every = store.list_all(KeyFilter::default()).await.expect("list");
    let mut sorted = every.clone();
    sorted.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    assert_eq!(every, sorted, "list order: creation time, then id");
    let mut seen = Vec::new();
    let mut query = KeyQuery::new(KeyFilter::default()).limit(3);
    let mut first = true;
    loop {
        let page = store.list(query.clone()).await.expect("list");
        assert!(page.keys.len() <= 3);
        seen.extend(ids_of(&page.keys));
        if first {
            // Created between two pages: shown once, on a later page.
            clock.advance(Duration::from_secs(1));
            store.create(NewKey::new("late")).await.expect("create");
            first = false;
        }
        match page.next {
            Some(cursor) => {
                let text = cursor.to_string();
                query = query.after(text.parse().expect("a cursor reads back"));
            }
            None => break,
        }
    }
    let now_all = ids_of(&store.list_all(KeyFilter::default()).await.expect("list"));
    assert_eq!(seen, now_all, "every key once, in order, the late one last");
    assert!(matches!(
        "nonsense".parse::<KeyCursor>(),
        Err(StoreError::Invalid {
            field: "cursor",
            ..
        })
    ));
    let names =
        |records: &[KeyRecord]| -> Vec<String> { records.iter().map(|r| r.name.clone()).collect() };
    let even = store
        .list_all(KeyFilter::default().name("even"))
        .await
        .expect("list");
    assert_eq!(names(&even), vec!["even"; 3]);
    let soon = KeyFilter::default()
        .owner("lister")
        .expiring_before(clock.now() + 150);
    let soon = store.list_all(soon).await.expect("list");
    let expected: Vec<KeyRecord> = every
        .iter()
        .filter(|r| r.owner.as_deref() == Some("lister"))
        .filter(|r| r.expires_at.is_some_and(|at| at < clock.now() + 150))
        .cloned()
        .collect();
    assert_eq!(soon, expected);
    assert!(!soon.is_empty());
    clock.advance(Duration::from_secs(200));
    let expired = store
        .list_all(
            KeyFilter::default()
                .owner("lister")
                .state(KeyState::Expired),
        )
        .await
        .expect("list");
    let active = store
        .list_all(KeyFilter::default().owner("lister").state(KeyState::Active))
        .await
        .expect("list");
    assert_eq!(expired.len() + active.len(), 5);
    assert!(expired
        .iter()
        .all(|r| r.state(clock.now()) == KeyState::Expired));
    assert!(active
        .iter()
        .all(|r| r.state(clock.now()) == KeyState::Active));
    let one = store
        .list(KeyQuery::new(KeyFilter::default()).limit(0))
        .await
        .expect("list");
    assert_eq!(one.keys.len(), 1, "a page holds at least one key");

    // the audit log: who, what, which fields, the request id; newest first
    let log = audit_of(store, &id).await;
    let actions: Vec<AuditAction> = log.iter().rev().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::Create,
            AuditAction::Disable,
            AuditAction::Enable,
            AuditAction::Update,
            AuditAction::Update,
            AuditAction::Update,
            AuditAction::Delete,
        ],
        "failed changes record nothing; the owner's delete took the key"
    );
    let created = log.last().expect("the create entry");
    assert_eq!(created.actor_kind, ActorKind::Cli);
    assert_eq!(created.actor, "ops");
    assert_eq!(created.request_id.as_deref(), Some("req-42"));
    assert_eq!(created.target, AuditTarget::Key(id.clone()));
    assert_eq!(created.at, t0);
    let disable = &log[log.len() - 2];
    assert_eq!(
        (disable.actor_kind, disable.actor.as_str()),
        (ActorKind::App, "app")
    );
    assert_eq!(disable.request_id, None);
    assert_eq!(
        disable.changes,
        vec![FieldChange {
            field: "status".into(),
            before: "active".into(),
            after: "disabled".into(),
        }]
    );
    let edit = &log[log.len() - 4];
    assert_eq!(edit.actor, "ops");
    let fields: BTreeSet<&str> = edit.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "description",
            "permissions",
            "roles",
            "expires_at",
            "schemes",
            "metadata"
        ]
        .into_iter()
        .collect()
    );
    let name = edit
        .changes
        .iter()
        .find(|c| c.field == "name")
        .expect("name");
    assert_eq!(
        (&name.before, &name.after),
        (&"svc".into(), &"svc-renamed".into())
    );
    let gone = audit_of(store, &doomed_id).await;
    assert_eq!(gone.first().map(|e| e.action), Some(AuditAction::Delete));
    let owner_log = audit_of(store, "team").await;
    assert_eq!(
        owner_log.first().map(|e| e.action),
        Some(AuditAction::DeleteOwner)
    );
    for key in &deleted {
        let entries = audit_of(store, key).await;
        assert_eq!(entries.first().map(|e| e.action), Some(AuditAction::Delete));
    }
    let carl = audit_of(store, "carl").await;
    assert_eq!(carl.len(), 1);
    assert_eq!(carl[0].action, AuditAction::DisableOwner);

    // filters: actor, time; pages without overlap
    let by_ops = store
        .audit(AuditQuery::new().actor("ops").limit(1000))
        .await
        .expect("audit");
    assert_eq!(by_ops.entries.len(), 2);
    assert!(by_ops.entries.iter().all(|e| e.actor == "ops"));
    let first_second = store
        .audit(
            AuditQuery::new()
                .between(Some(t0), Some(t0 + 1))
                .limit(1000),
        )
        .await
        .expect("audit");
    assert!(first_second.entries.iter().all(|e| e.at == t0));
    assert!(first_second.entries.len() >= 4);
    let mut all_entries = Vec::new();
    let mut query = AuditQuery::new().limit(3);
    loop {
        let page = store.audit(query.clone()).await.expect("audit");
        all_entries.extend(page.entries);
        match page.next {
            Some(next) => query = query.after(next),
            None => break,
        }
    }
    let seqs: Vec<u64> = all_entries.iter().map(|e| e.seq).collect();
    let mut descending = seqs.clone();
    descending.sort_unstable_by(|a, b| b.cmp(a));
    descending.dedup();
    assert_eq!(seqs, descending, "newest first, each once");

    // never a secret or a hash
    let secret = issued.secret();
    let text = format!("{all_entries:?}");
    assert!(!text.contains(secret.expose_secret()));
    assert!(!text.contains(issued.expose_key()));
    for entry in &all_entries {
        for change in &entry.changes {
            assert!(
                AUDITED_FIELDS.contains(&change.field.as_str()),
                "unexpected audited field {}",
                change.field
            );
        }
    }

    preconditions(store).await;
    owner_preconditions(store).await;
}

/// A change under `KeyChange::if_match` applies only at the version it names: a stale
/// ETag changes nothing and records nothing, the current one applies; a rotation and
/// every edit move the version, a use does not.
async fn preconditions<S: KeyStore>(store: &S) {
    let id = store
        .create(NewKey::new("versioned"))
        .await
        .expect("create")
        .record
        .id;
    let v1 = store.get(&id).await.expect("get").expect("exists").etag();
    let again = store.get(&id).await.expect("get").expect("exists").etag();
    assert_eq!(v1, again, "two reads of one version agree");
    store.record_use(&id, 12_345).await.expect("use");
    let used = store.get(&id).await.expect("get").expect("exists").etag();
    assert_eq!(used, v1, "a use is not an edit");
    let renamed = store
        .change_key(
            &Actor::default(),
            &id,
            KeyChange::Update(KeyUpdate::new().name("v2")).if_match(v1.clone()),
        )
        .await
        .expect("the current version applies")
        .record
        .expect("a record");
    let v2 = renamed.etag();
    assert_ne!(v2, v1, "an edit moves the version");
    let log_before = audit_of(store, &id).await;
    for stale in [
        KeyChange::Update(KeyUpdate::new().name("lost")),
        KeyChange::Disable,
        KeyChange::Revoke,
        KeyChange::Rotate {
            grace: Duration::ZERO,
        },
        KeyChange::Delete,
    ] {
        let refused = store
            .change_key(&Actor::default(), &id, stale.if_match(v1.clone()))
            .await;
        assert!(
            matches!(&refused, Err(StoreError::Changed(AuditTarget::Key(changed))) if *changed == id),
            "{refused:?}"
        );
    }
    let now = store.get(&id).await.expect("get").expect("still there");
    assert_eq!((now.name.as_str(), now.status), ("v2", KeyStatus::Active));
    assert_eq!(now.etag(), v2, "nothing changed");
    assert_eq!(audit_of(store, &id).await, log_before, "nothing recorded");
    let rotated = store
        .change_key(
            &Actor::default(),
            &id,
            KeyChange::Rotate {
                grace: Duration::ZERO,
            }
            .if_match(v2.clone()),
        )
        .await
        .expect("rotate at the current version");
    assert!(rotated.key.is_some(), "the new key");
    let v3 = rotated.record.expect("a record").etag();
    assert_ne!(v3, v2, "a rotation moves the version");
    // Two preconditions must both hold.
    let both = KeyChange::Disable.if_match(v3.clone()).if_match(v2);
    assert!(matches!(
        store.change_key(&Actor::default(), &id, both).await,
        Err(StoreError::Changed(_))
    ));
    store
        .change_key(&Actor::default(), &id, KeyChange::Delete.if_match(v3))
        .await
        .expect("delete at the current version");
    assert!(matches!(
        store
            .change_key(&Actor::default(), &id, KeyChange::Disable.if_match("0"))
            .await,
        Err(StoreError::NotFound(_))
    ));
}

/// The newest audit entry, to see that a refused change recorded nothing.
async fn newest_entry<S: KeyStore>(store: &S) -> Option<AuditEntry> {
    let page = store
        .audit(AuditQuery::new().limit(1))
        .await
        .expect("audit");
    page.entries.into_iter().next()
}

/// An owner change under `OwnerChange::if_match` applies only at the version it names:
/// a stale ETag changes nothing (the owner, its keys) and records nothing, the current
/// one applies; an owner the store does not know is not created by one.
async fn owner_preconditions<S: KeyStore>(store: &S) {
    let by = Actor::default();
    let id = "versioned-owner";
    let held = store
        .create(NewKey::new("held").owner(id))
        .await
        .expect("create")
        .record
        .id;
    let version = |owner: Option<Owner>| owner.expect("an owner").etag();
    let v1 = version(store.get_owner(id).await.expect("owner"));
    let disabled = store
        .change_owner(&by, id, OwnerChange::Disable.if_match(v1.clone()))
        .await
        .expect("disable at the current version");
    let v2 = version(disabled.owner);
    assert_ne!(v2, v1, "disabling moves the version");
    let owner_before = store.get_owner(id).await.expect("owner");
    let newest = newest_entry(store).await;
    for stale in [
        OwnerChange::Disable,
        OwnerChange::Enable,
        OwnerChange::BumpEpoch,
        OwnerChange::Delete,
    ] {
        let refused = store
            .change_owner(&by, id, stale.clone().if_match(v1.clone()))
            .await;
        assert!(
            matches!(&refused, Err(StoreError::Changed(AuditTarget::Owner(o))) if o == id),
            "{stale:?}: {refused:?}"
        );
    }
    assert_eq!(store.get_owner(id).await.expect("owner"), owner_before);
    assert!(
        store.get(&held).await.expect("get").is_some(),
        "its key stays"
    );
    assert_eq!(newest_entry(store).await, newest, "nothing recorded");
    let enabled = store
        .change_owner(&by, id, OwnerChange::Enable.if_match(v2.clone()))
        .await
        .expect("enable at the current version");
    let v3 = version(enabled.owner);
    let bumped = store
        .change_owner(&by, id, OwnerChange::BumpEpoch.if_match(v3.clone()))
        .await
        .expect("bump at the current version")
        .owner
        .expect("an owner");
    assert_eq!((bumped.enabled, bumped.epoch), (true, 1));
    let v4 = bumped.etag();
    // Two preconditions must both hold.
    let both = OwnerChange::Delete.if_match(v4.clone()).if_match(v3);
    assert!(matches!(
        store.change_owner(&by, id, both).await,
        Err(StoreError::Changed(_))
    ));
    let deleted = store
        .change_owner(&by, id, OwnerChange::Delete.if_match(v4))
        .await
        .expect("delete at the current version");
    assert_eq!(deleted.deleted_keys, [held]);
    let newest = newest_entry(store).await;
    for change in [OwnerChange::Disable, OwnerChange::Delete] {
        assert!(matches!(
            store.change_owner(&by, id, change.if_match(v1.clone())).await,
            Err(StoreError::OwnerNotFound(o)) if o == id
        ));
    }
    assert_eq!(
        store.get_owner(id).await.expect("owner"),
        None,
        "not created"
    );
    assert_eq!(newest_entry(store).await, newest, "nothing recorded");
}

/// Keys created in bulk: in order, each with its audit entry; a bad spec creates none.
/// The store may hold keys already, but no owner `bulk`.
pub(crate) async fn bulk_suite<S: KeyStore>(store: &S) {
    let importer = Actor::app("importer");
    let specs: Vec<NewKey> = (0..3)
        .map(|i| NewKey::new(format!("bulk-{i}")).owner("bulk"))
        .collect();
    let issued = store
        .create_many_by(&importer, specs)
        .await
        .expect("create many");
    let names: Vec<&str> = issued.iter().map(|k| k.record.name.as_str()).collect();
    assert_eq!(names, ["bulk-0", "bulk-1", "bulk-2"]);
    for key in &issued {
        let got = store
            .get(&key.record.id)
            .await
            .expect("get")
            .expect("created");
        assert_eq!(&*got, &key.record);
        assert_eq!(got.created_by, Some(importer.clone()));
        let log = audit_of(store, &key.record.id).await;
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].action, log[0].actor.as_str()),
            (AuditAction::Create, "importer")
        );
    }
    let bulk = store
        .owner_summary("bulk")
        .await
        .expect("summary")
        .expect("known");
    assert_eq!(bulk.keys, 3);
    let big = metadata(&[("blob", "x".repeat(METADATA_MAX_BYTES).into())]);
    let bad = vec![
        NewKey::new("fine-first"),
        NewKey::new("too big").metadata(big),
    ];
    assert!(matches!(
        store.create_many(bad).await,
        Err(StoreError::Invalid {
            field: "metadata",
            ..
        })
    ));
    let fine = store
        .list_all(KeyFilter::default().name("fine-first"))
        .await
        .expect("list");
    assert!(fine.is_empty(), "a bad spec creates none of the batch");
    assert!(store
        .create_many(Vec::new())
        .await
        .expect("nothing")
        .is_empty());
}

/// Ids of records, in order.
fn ids_of(records: &[KeyRecord]) -> Vec<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

/// Audit entries older than the retention go as new ones arrive: for a store built
/// with a retention of one day. The store may hold entries already.
pub(crate) async fn retention_suite<S: KeyStore>(store: &S, clock: &ManualClock) {
    let old = store
        .create(NewKey::new("old"))
        .await
        .expect("create")
        .record;
    clock.advance(Duration::from_secs(2 * 86_400));
    let new = store
        .create(NewKey::new("new"))
        .await
        .expect("create")
        .record;
    assert!(audit_of(store, &old.id).await.is_empty(), "pruned");
    assert_eq!(audit_of(store, &new.id).await.len(), 1);
}

/// A console session of `key` made at `at`, whose digests all start with `n`.
fn console_session(n: u8, key: &str, at: UnixSeconds) -> ConsoleSession {
    let digest = |kind: u8| {
        let mut bytes = [kind; 32];
        bytes[0] = n;
        bytes
    };
    ConsoleSession {
        id_sha256: digest(1),
        key_id: key.to_owned(),
        secret_sha256: digest(2),
        csrf_sha256: digest(3),
        created_at: at,
        expires_at: at + 8 * 3600,
    }
}

/// Console sessions: kept and read back whole, refused once expired (before and after
/// they are pruned), deleted, pruned on create, and capped per admin key, the oldest
/// going first. Reading at an earlier time tells a pruned session from an expired one.
pub(crate) async fn sessions_suite<S: KeyStore>(store: &S, t0: UnixSeconds) {
    let hour = 3600;
    let one = console_session(1, "sessionkey01", t0);
    store.create_session(one.clone()).await.expect("create");
    let got = store.get_session(&one.id_sha256, t0).await.expect("get");
    assert_eq!(got.as_ref(), Some(&one), "every field comes back");
    assert!(
        !format!("{one:?}").contains("[1, 1"),
        "Debug shows no digest"
    );
    let unknown = console_session(2, "sessionkey01", t0).id_sha256;
    assert_eq!(store.get_session(&unknown, t0).await.expect("get"), None);

    // Expired: refused, though still stored.
    let last = one.expires_at - 1;
    assert!(store
        .get_session(&one.id_sha256, last)
        .await
        .expect("get")
        .is_some());
    let end = one.expires_at;
    assert_eq!(
        store.get_session(&one.id_sha256, end).await.expect("get"),
        None
    );
    assert!(
        store
            .get_session(&one.id_sha256, t0)
            .await
            .expect("get")
            .is_some(),
        "not pruned yet"
    );

    // Another login after the expiry prunes it.
    let later = console_session(3, "sessionkey02", end + hour);
    store.create_session(later.clone()).await.expect("create");
    assert_eq!(
        store.get_session(&one.id_sha256, t0).await.expect("get"),
        None,
        "pruned on create"
    );
    assert!(store
        .get_session(&later.id_sha256, end + hour)
        .await
        .expect("get")
        .is_some());

    // Logging out deletes; deleting what is gone is fine.
    store
        .delete_session(&later.id_sha256)
        .await
        .expect("delete");
    assert_eq!(
        store.get_session(&later.id_sha256, end).await.expect("get"),
        None
    );
    store
        .delete_session(&later.id_sha256)
        .await
        .expect("delete again");

    // At most SESSIONS_PER_KEY per admin key: the oldest go, other keys' stay.
    let t1 = end + 2 * hour;
    let other = console_session(200, "sessionkey04", t1);
    store.create_session(other.clone()).await.expect("create");
    let made: Vec<ConsoleSession> = (0..SESSIONS_PER_KEY + 2)
        .map(|i| {
            let n = u8::try_from(10 + i).expect("small");
            console_session(n, "sessionkey03", t1 + i64::from(n))
        })
        .collect();
    for session in &made {
        store.create_session(session.clone()).await.expect("create");
    }
    let mut held = Vec::new();
    for session in &made {
        held.push(
            store
                .get_session(&session.id_sha256, t1)
                .await
                .expect("get")
                .is_some(),
        );
    }
    let mut expected = vec![false, false];
    expected.resize(made.len(), true);
    assert_eq!(held, expected, "the two oldest are dropped");
    assert!(store
        .get_session(&other.id_sha256, t1)
        .await
        .expect("get")
        .is_some());

    // Logins within the same second: the newest is always kept.
    let t2 = t1 + hour;
    let mut same_second = Vec::new();
    for n in (100..100 + u8::try_from(SESSIONS_PER_KEY).expect("small") + 1).rev() {
        let session = console_session(n, "sessionkey05", t2);
        store.create_session(session.clone()).await.expect("create");
        assert!(
            store
                .get_session(&session.id_sha256, t2)
                .await
                .expect("get")
                .is_some(),
            "the session just made is kept"
        );
        same_second.push(session);
    }
    let mut live = 0;
    for session in &same_second {
        if store
            .get_session(&session.id_sha256, t2)
            .await
            .expect("get")
            .is_some()
        {
            live += 1;
        }
    }
    assert_eq!(live, SESSIONS_PER_KEY);
}

/// Every page of `query` in turn: the ids in list order. `between` runs after the first
/// page, before the second is read.
async fn walk<S: KeyStore>(
    store: &S,
    mut query: KeyQuery,
    between: impl AsyncFnOnce(),
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut between = Some(between);
    loop {
        let page = store.list(query.clone()).await.expect("list");
        assert!(page.keys.len() <= query.page_size());
        seen.extend(ids_of(&page.keys));
        if let Some(between) = between.take() {
            between().await;
        }
        match page.next {
            Some(cursor) => {
                assert_eq!(cursor.order, query.order, "a cursor keeps its list's order");
                let text = cursor.to_string();
                query = query.after(text.parse().expect("a cursor reads back"));
            }
            None => return seen,
        }
    }
}

/// Name search and newest-first pages: `name_contains` matches ASCII letters in either
/// case and every other character (`%`, `_`, `\`, non-ASCII) as itself, alike in every
/// store; newest-first pages cover every key once while keys are added between pages;
/// a cursor continues only the order it came from. The store must be empty.
pub(crate) async fn search_suite<S: KeyStore>(store: &S, clock: &ManualClock) {
    let names = [
        "Deploy-CI",
        "deploy-ci-2",
        "ci",
        "100%",
        "1000",
        "a_b",
        "axb",
        "back\\slash",
        "backxslash",
        "Ünïcode-KEY",
    ];
    for (i, name) in names.iter().enumerate() {
        // Pairs share a creation second, so the id decides between them.
        if i % 2 == 0 {
            clock.advance(Duration::from_secs(1));
        }
        let owner = if i % 3 == 0 { "searcher" } else { "other" };
        store
            .create(NewKey::new(*name).owner(owner))
            .await
            .expect("create");
    }
    let found = async |text: &str| -> BTreeSet<String> {
        let filter = KeyFilter::default().name_contains(text);
        let all = store.list_all(filter).await.expect("list");
        all.into_iter().map(|r| r.name).collect()
    };
    assert_eq!(found("ci").await, set(&["Deploy-CI", "deploy-ci-2", "ci"]));
    assert_eq!(found("DePlOy").await, set(&["Deploy-CI", "deploy-ci-2"]));
    assert_eq!(found("0%").await, set(&["100%"]), "`%` is no wildcard");
    assert_eq!(found("a_b").await, set(&["a_b"]), "`_` is no wildcard");
    assert_eq!(
        found("k\\s").await,
        set(&["back\\slash"]),
        "`\\` escapes nothing"
    );
    assert_eq!(found("key").await, set(&["Ünïcode-KEY"]));
    assert_eq!(found("Ünï").await, set(&["Ünïcode-KEY"]));
    assert!(found("ünï").await.is_empty(), "only ASCII letters fold");
    assert!(found("nothing-like-it").await.is_empty());
    assert_eq!(found("").await.len(), names.len(), "empty text: every key");
    let with_owner = KeyFilter::default().owner("searcher").name_contains("CI");
    let mine = store.list_all(with_owner).await.expect("list");
    let mine: Vec<&str> = mine.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(mine, ["Deploy-CI"], "with another filter, both hold");

    // Newest first is oldest first reversed, page by page, with every filter.
    for filter in [
        KeyFilter::default(),
        KeyFilter::default().owner("searcher"),
        KeyFilter::default().name_contains("B"),
        KeyFilter::default().state(KeyState::Active),
    ] {
        let mut oldest = ids_of(&store.list_all(filter.clone()).await.expect("list"));
        oldest.reverse();
        let query = KeyQuery::new(filter).newest_first().limit(3);
        assert_eq!(walk(store, query, async || {}).await, oldest);
    }

    // Keys created between pages: the walk still shows every key it started with once,
    // newest first; the new ones are newer than its cursor, on the next first page.
    let before = ids_of(&store.list_all(KeyFilter::default()).await.expect("list"));
    let mut late = Vec::new();
    let query = KeyQuery::new(KeyFilter::default()).newest_first().limit(4);
    let seen = walk(store, query.clone(), async || {
        for _ in 0..2 {
            clock.advance(Duration::from_secs(1));
            let made = store.create(NewKey::new("late")).await.expect("create");
            late.push(made.record.id);
        }
    })
    .await;
    let mut expected = before.clone();
    expected.reverse();
    assert_eq!(seen, expected, "every key once, newest first");
    let first = store.list(query.clone()).await.expect("list");
    let top: Vec<String> = ids_of(&first.keys).into_iter().take(2).collect();
    late.reverse();
    assert_eq!(top, late, "the keys made meanwhile top the next first page");

    // A cursor continues the order it came from, and only that one.
    let newest = first.next.expect("more pages");
    assert!(newest.to_string().starts_with("newest."), "{newest}");
    let oldest = store
        .list(KeyQuery::new(KeyFilter::default()).limit(4))
        .await
        .expect("list")
        .next
        .expect("more pages");
    assert!(!oldest.to_string().starts_with("newest."), "{oldest}");
    for (order_of, cursor) in [("oldest", oldest), ("newest", newest)] {
        let text = cursor.to_string();
        let read: KeyCursor = text.parse().expect("reads back");
        assert_eq!(read, cursor);
        let crossed = if order_of == "oldest" {
            KeyQuery::new(KeyFilter::default()).newest_first()
        } else {
            KeyQuery::new(KeyFilter::default())
        };
        assert!(
            matches!(
                store.list(crossed.after(read)).await,
                Err(StoreError::Invalid {
                    field: "cursor",
                    ..
                })
            ),
            "a cursor of the {order_of}-first list used with the other order"
        );
    }
}
