//! `Keyring`: the verifier over a key store.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use keygate::keys::{
    CachedStore, Expiry, KeyFormat, KeyStore, KeyUpdate, Keyring, ManualClock, MemoryStore,
    NameKind, NewKey, Permissions, SqliteStore,
};
use keygate::spec::{Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse};
use keygate::{
    Credential, Guard, OperationRef, Principal, RequestContext, Spec, Verdict, Verifier,
    VerifyRequest,
};
use keygate_tests::{CountingStore, TempDir};
use secrecy::{ExposeSecret, SecretString};

use crate::common::{block_on, get, key, verify, API_KEY, BASIC, BEARER, T0};

/// A keyring over a counting memory store, sharing one manual clock.
fn keyring() -> (Keyring<CountingStore<MemoryStore>>, ManualClock) {
    let clock = ManualClock::new(T0);
    let store = CountingStore::new(MemoryStore::new().with_clock(clock.clone()));
    (Keyring::new(store).with_clock(clock.clone()), clock)
}

async fn issue<S: KeyStore>(ring: &Keyring<S>, spec: NewKey) -> (String, SecretString) {
    let issued = ring.store().create(spec).await.expect("create");
    (issued.record.id, issued.key)
}

/// Showing a new key needs nothing beyond keygate: `expose_key()`, and the re-exported
/// `secrecy` for a rotated one.
#[tokio::test]
async fn an_issued_or_rotated_key_can_be_shown_without_another_crate() {
    use keygate::secrecy::ExposeSecret as _;
    let (ring, _) = keyring();
    let issued = ring
        .store()
        .create(NewKey::new("shown"))
        .await
        .expect("create");
    let shown = issued.expose_key().to_owned();
    let parsed = KeyFormat::default()
        .parse(&shown)
        .expect("the shown key parses");
    assert_eq!(parsed.key_id, issued.record.id);
    assert!(matches!(get(&ring, &issued.key).await, Verdict::Granted(_)));
    let rotated = ring
        .store()
        .rotate(&issued.record.id, Duration::ZERO)
        .await
        .expect("rotate");
    assert_ne!(rotated.expose_secret(), shown);
    assert!(rotated.expose_secret().starts_with("kg_"));
}

#[tokio::test]
async fn read_only_key_may_get_but_not_post() {
    let (ring, _) = keyring();
    let (id, full) = issue(&ring, NewKey::new("reader").owner("team").roles(["r"])).await;
    let expected = Principal::new(&id)
        .with_name("reader")
        .with_owner("team")
        .with_roles(["r"]);
    assert_eq!(get(&ring, &full).await, Verdict::Granted(expected.clone()));
    for method in ["HEAD", "OPTIONS"] {
        let verdict = verify(&ring, &API_KEY, &key(&full), method, None).await;
        assert_eq!(verdict, Verdict::Granted(expected.clone()), "{method}");
    }
    let post = verify(&ring, &API_KEY, &key(&full), "POST", Some("createThing")).await;
    assert_eq!(post, Verdict::Forbidden(expected));
}

#[tokio::test]
async fn operation_override_replaces_the_default_for_that_operation_only() {
    let (ring, _) = keyring();
    let perms = Permissions::read_only().with_operation("createThing", ["POST"]);
    let (_, full) = issue(&ring, NewKey::new("writer").permissions(perms)).await;
    let cred = key(&full);
    let ok = |v: &Verdict| matches!(v, Verdict::Granted(_));
    let forbidden = |v: &Verdict| matches!(v, Verdict::Forbidden(_));
    // The override allows POST on createThing...
    assert!(ok(&verify(
        &ring,
        &API_KEY,
        &cred,
        "POST",
        Some("createThing")
    )
    .await));
    // ...and replaces the default there: GET is no longer allowed on it.
    assert!(forbidden(
        &verify(&ring, &API_KEY, &cred, "GET", Some("createThing")).await
    ));
    // Other operations keep the default.
    assert!(ok(&verify(
        &ring,
        &API_KEY,
        &cred,
        "GET",
        Some("listThings")
    )
    .await));
    assert!(forbidden(
        &verify(&ring, &API_KEY, &cred, "POST", Some("deleteThing")).await
    ));
    // Undocumented routes (no operationId) use the default.
    assert!(forbidden(
        &verify(&ring, &API_KEY, &cred, "POST", None).await
    ));
}

#[tokio::test]
async fn full_access_allows_any_method() {
    let (ring, _) = keyring();
    let (_, full) = issue(&ring, NewKey::new("admin").permissions(Permissions::full())).await;
    for method in ["GET", "POST", "DELETE", "PATCH", "PURGE"] {
        let v = verify(&ring, &API_KEY, &key(&full), method, Some("x")).await;
        assert!(matches!(v, Verdict::Granted(_)), "{method}: {v:?}");
    }
}

#[tokio::test]
async fn expired_key_is_expired() {
    let (ring, clock) = keyring();
    let spec = NewKey::new("brief").expiry(Expiry::In(Duration::from_secs(3600)));
    let (id, full) = issue(&ring, spec).await;
    assert!(matches!(get(&ring, &full).await, Verdict::Granted(_)));
    clock.advance(Duration::from_secs(3600));
    assert_eq!(get(&ring, &full).await, Verdict::Expired);
    // Extending the expiry brings it back.
    let change = KeyUpdate {
        expires_at: Some(None),
        ..KeyUpdate::default()
    };
    ring.store().update(&id, change).await.expect("update");
    assert!(matches!(get(&ring, &full).await, Verdict::Granted(_)));
}

#[tokio::test]
async fn revoked_key_is_revoked_on_the_next_request() {
    let (ring, _) = keyring();
    let (id, full) = issue(&ring, NewKey::new("gone")).await;
    assert!(matches!(get(&ring, &full).await, Verdict::Granted(_)));
    ring.store().revoke(&id).await.expect("revoke");
    assert_eq!(get(&ring, &full).await, Verdict::Revoked);
}

/// A disabled key is refused like a disabled owner's (401), until it is enabled; a
/// deleted one like an unknown one.
#[tokio::test]
async fn a_disabled_key_is_refused_until_enabled_and_a_deleted_one_is_unknown() {
    let (ring, _) = keyring();
    let (id, key) = issue(&ring, NewKey::new("k")).await;
    ring.store().disable(&id).await.expect("disable");
    assert_eq!(get(&ring, &key).await, Verdict::Disabled);
    ring.store().enable(&id).await.expect("enable");
    assert!(matches!(get(&ring, &key).await, Verdict::Granted(_)));
    ring.store().delete(&id).await.expect("delete");
    assert_eq!(get(&ring, &key).await, Verdict::Invalid);
}

/// A key's metadata reaches the handler through its principal, and follows edits.
#[tokio::test]
async fn the_principal_carries_the_key_metadata() {
    let (ring, _) = keyring();
    let data: keygate::keys::Metadata =
        serde_json::from_str(r#"{"tenant":"acme","plan":{"seats":5}}"#).expect("json");
    let (id, key) = issue(&ring, NewKey::new("k").metadata(data.clone())).await;
    let Verdict::Granted(principal) = get(&ring, &key).await else {
        panic!("granted");
    };
    assert_eq!(principal.metadata(), &data);
    assert_eq!(principal.metadata()["plan"]["seats"], 5);
    // Kept when the app adds roles to the principal.
    assert_eq!(principal.clone().with_roles(["x"]).metadata(), &data);
    let other: keygate::keys::Metadata =
        serde_json::from_str(r#"{"tenant":"beta"}"#).expect("json");
    ring.store()
        .update(&id, KeyUpdate::new().metadata(other.clone()))
        .await
        .expect("update");
    let Verdict::Granted(principal) = get(&ring, &key).await else {
        panic!("granted");
    };
    assert_eq!(principal.metadata(), &other);
    assert!(Principal::new("plain").metadata().is_empty());
}

#[tokio::test]
async fn rotation_with_grace_accepts_both_until_the_deadline() {
    let (ring, clock) = keyring();
    let (id, old) = issue(&ring, NewKey::new("rotating")).await;
    let new = ring
        .store()
        .rotate(&id, Duration::from_secs(3600))
        .await
        .expect("rotate");
    assert_ne!(old.expose_secret(), new.expose_secret());
    assert!(matches!(get(&ring, &old).await, Verdict::Granted(_)));
    assert!(matches!(get(&ring, &new).await, Verdict::Granted(_)));
    clock.advance(Duration::from_secs(3599));
    assert!(matches!(get(&ring, &old).await, Verdict::Granted(_)));
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&ring, &old).await, Verdict::Invalid);
    assert!(matches!(get(&ring, &new).await, Verdict::Granted(_)));
}

#[tokio::test]
async fn rotation_with_zero_grace_drops_the_old_secret_at_once() {
    let (ring, _) = keyring();
    let (id, old) = issue(&ring, NewKey::new("rotating")).await;
    let new = ring
        .store()
        .rotate(&id, Duration::ZERO)
        .await
        .expect("rotate");
    assert_eq!(get(&ring, &old).await, Verdict::Invalid);
    assert!(matches!(get(&ring, &new).await, Verdict::Granted(_)));
}

#[tokio::test]
async fn disabling_the_owner_disables_its_keys_and_bumping_its_epoch_revokes_them() {
    let (ring, _) = keyring();
    let (_, a1) = issue(&ring, NewKey::new("a1").owner("alice")).await;
    let (_, a2) = issue(&ring, NewKey::new("a2").owner("alice")).await;
    let (_, b1) = issue(&ring, NewKey::new("b1").owner("bob")).await;
    let (_, none) = issue(&ring, NewKey::new("ownerless")).await;

    ring.store().disable_owner("alice").await.expect("disable");
    assert_eq!(get(&ring, &a1).await, Verdict::Disabled);
    assert_eq!(get(&ring, &a2).await, Verdict::Disabled);
    assert!(matches!(get(&ring, &b1).await, Verdict::Granted(_)));
    assert!(matches!(get(&ring, &none).await, Verdict::Granted(_)));

    ring.store().enable_owner("alice").await.expect("enable");
    assert!(matches!(get(&ring, &a1).await, Verdict::Granted(_)));

    ring.store().bump_epoch("alice").await.expect("bump");
    assert_eq!(get(&ring, &a1).await, Verdict::Revoked);
    assert_eq!(get(&ring, &a2).await, Verdict::Revoked);
    // Keys issued after the bump work.
    let (_, a3) = issue(&ring, NewKey::new("a3").owner("alice")).await;
    assert!(matches!(get(&ring, &a3).await, Verdict::Granted(_)));
}

#[tokio::test]
async fn malformed_or_bad_checksum_keys_are_refused_without_lookup() {
    let (ring, _) = keyring();
    let (_, full) = issue(&ring, NewKey::new("k")).await;
    let gets = || ring.store().gets.load(Ordering::SeqCst);
    let text = full.expose_secret();
    let last = text.len() - 1;
    let flipped = if text.ends_with('A') { 'B' } else { 'A' };
    let bad_checksum = format!("{}{}", &text[..last], flipped);
    let wrong_prefix = text.replacen("kg_", "xx_", 1);
    for bad in [bad_checksum, wrong_prefix, String::new(), "kg_short".into()] {
        let cred = Credential::Key(SecretString::from(bad.clone()));
        assert_eq!(
            verify(&ring, &API_KEY, &cred, "GET", None).await,
            Verdict::Invalid,
            "{bad:?}"
        );
    }
    assert_eq!(gets(), 0, "no store lookup for malformed keys");
    // A well-formed key is looked up.
    assert!(matches!(get(&ring, &full).await, Verdict::Granted(_)));
    assert_eq!(gets(), 1);
}

#[tokio::test]
async fn well_formed_but_unknown_or_wrong_secret_is_invalid() {
    let (ring, _) = keyring();
    let (id, _) = issue(&ring, NewKey::new("k")).await;
    // A different, valid-looking key: unknown id.
    let stranger = KeyFormat::default().generate().expect("rng").full;
    assert_eq!(get(&ring, &stranger).await, Verdict::Invalid);
    // The right id with a fresh secret and a correct checksum: wrong secret.
    let forged = KeyFormat::default().generate_secret(&id).expect("rng").full;
    assert_eq!(get(&ring, &forged).await, Verdict::Invalid);
}

#[tokio::test]
async fn scheme_binding_and_bearer_and_basic() {
    let (ring, _) = keyring();
    let spec = NewKey::new("bound").schemes(["api_key", "basic"]);
    let (id, full) = issue(&ring, spec).await;
    assert!(matches!(get(&ring, &full).await, Verdict::Granted(_)));
    let bearer = Credential::Bearer(SecretString::from(full.expose_secret().to_owned()));
    assert_eq!(
        verify(&ring, &BEARER, &bearer, "GET", None).await,
        Verdict::Invalid,
        "not allowed for the bearer scheme"
    );

    // Basic: user = key id, password = the full key or its `<secret><checksum>` part.
    let secret_part = full
        .expose_secret()
        .rsplit('_')
        .next()
        .expect("part")
        .to_owned();
    for password in [full.expose_secret().to_owned(), secret_part.clone()] {
        let cred = Credential::Basic {
            id: id.clone(),
            secret: SecretString::from(password),
        };
        let v = verify(&ring, &BASIC, &cred, "GET", None).await;
        assert!(matches!(v, Verdict::Granted(_)), "{v:?}");
    }
    // A mismatched user name is refused.
    let cred = Credential::Basic {
        id: "aaaaaaaaaaaa".into(),
        secret: SecretString::from(full.expose_secret().to_owned()),
    };
    assert_eq!(
        verify(&ring, &BASIC, &cred, "GET", None).await,
        Verdict::Invalid
    );
    let cred = Credential::Basic {
        id: "aaaaaaaaaaaa".into(),
        secret: SecretString::from(secret_part),
    };
    assert_eq!(
        verify(&ring, &BASIC, &cred, "GET", None).await,
        Verdict::Invalid
    );

    // An unbound key works with bearer.
    let (_, any) = issue(&ring, NewKey::new("any")).await;
    let bearer = Credential::Bearer(SecretString::from(any.expose_secret().to_owned()));
    let v = verify(&ring, &BEARER, &bearer, "GET", None).await;
    assert!(matches!(v, Verdict::Granted(_)));
}

/// Lets spawned tasks run until `done` holds (or gives up after many yields).
async fn settle(done: impl Fn() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn last_use_is_recorded_at_most_once_a_minute() {
    let (ring, clock) = keyring();
    let (id, full) = issue(&ring, NewKey::new("busy")).await;
    let uses = || ring.store().record_uses.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert!(matches!(get(&ring, &full).await, Verdict::Granted(_)));
    }
    settle(|| uses() >= 1).await;
    let record = ring.store().get(&id).await.expect("get").expect("exists");
    assert_eq!(record.last_used_at, Some(T0));
    clock.advance(Duration::from_secs(59));
    get(&ring, &full).await;
    clock.advance(Duration::from_secs(1));
    get(&ring, &full).await;
    settle(|| uses() >= 2).await;
    assert_eq!(uses(), 2);
    let record = ring.store().get(&id).await.expect("get").expect("exists");
    assert_eq!(record.last_used_at, Some(T0 + 60));
}

#[tokio::test]
async fn sqlite_backed_keyring_end_to_end() {
    let dir = TempDir::new("keyring");
    let clock = ManualClock::new(T0);
    let store = SqliteStore::open_or_create(dir.file("keys.db"))
        .expect("open")
        .with_clock(clock.clone());
    let ring = Keyring::new(store).with_clock(clock.clone());
    let (id, full) = issue(&ring, NewKey::new("db").owner("o")).await;
    assert!(matches!(get(&ring, &full).await, Verdict::Granted(_)));
    let post = verify(&ring, &API_KEY, &key(&full), "POST", None).await;
    assert!(matches!(post, Verdict::Forbidden(_)));
    let new = ring
        .store()
        .rotate(&id, Duration::from_secs(60))
        .await
        .expect("rotate");
    assert!(matches!(get(&ring, &full).await, Verdict::Granted(_)));
    clock.advance(Duration::from_secs(60));
    assert_eq!(get(&ring, &full).await, Verdict::Invalid);
    assert!(matches!(get(&ring, &new).await, Verdict::Granted(_)));
    ring.store().bump_epoch("o").await.expect("bump");
    assert_eq!(get(&ring, &new).await, Verdict::Revoked);
}

#[test]
fn keyring_works_without_a_runtime() {
    // No tokio runtime: last use is recorded inline.
    let (ring, _) = keyring();
    let issued = block_on(ring.store().create(NewKey::new("plain"))).expect("create");
    let verdict = block_on(get(&ring, &issued.key));
    assert!(matches!(verdict, Verdict::Granted(_)));
    assert_eq!(ring.store().record_uses.load(Ordering::SeqCst), 1);
}

/// Two header schemes that carry a key id and its secret apart.
static PAIR_SPEC: Spec = Spec {
    title: "pairs",
    base_path: "",
    schemes: &[
        Scheme {
            name: "app_id",
            kind: SchemeKind::ApiKey {
                location: Location::Header,
                name: "X-App-Id",
            },
        },
        Scheme {
            name: "app_secret",
            kind: SchemeKind::ApiKey {
                location: Location::Header,
                name: "X-App-Secret",
            },
        },
    ],
    root: Requirement { alternatives: &[] },
    operations: &[],
};

/// Verifies the scheme at `index` of [`PAIR_SPEC`] inside a request with these headers.
async fn verify_in_request<S: KeyStore>(
    ring: &Keyring<S>,
    index: usize,
    headers: &[(&str, &str)],
) -> Verdict {
    let mut builder = http::Request::builder().uri("/things");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let (parts, ()) = builder.body(()).expect("request").into_parts();
    let scheme = &PAIR_SPEC.schemes[index];
    let name = match scheme.kind {
        SchemeKind::ApiKey { name, .. } => name,
        _ => unreachable!("both pair schemes are headers"),
    };
    let value = headers
        .iter()
        .find(|(h, _)| h.eq_ignore_ascii_case(name))
        .map_or("", |(_, v)| v);
    let credential = Credential::Key(SecretString::from(value.to_owned()));
    let operation = OperationRef {
        method: "GET",
        path: "/things",
        operation_id: Some("listThings"),
    };
    let request = VerifyRequest::new(scheme, &credential, operation)
        .within(RequestContext::new(&PAIR_SPEC, &parts));
    ring.verify(request).await.expect("verify")
}

#[tokio::test]
async fn key_pair_verifies_only_with_both_halves() {
    let (ring, _) = keyring();
    let ring = ring.pair("app_id", "app_secret");
    let issued = ring
        .store()
        .create(NewKey::new("app"))
        .await
        .expect("create");
    let id = issued.record.id.clone();
    let secret = issued.secret();
    let secret = secret.expose_secret();
    let granted = |v: &Verdict| matches!(v, Verdict::Granted(p) if p.id() == id);
    let both = [("X-App-Id", id.as_str()), ("X-App-Secret", secret)];
    // Each half verifies, read from either side of the pair.
    assert!(granted(&verify_in_request(&ring, 0, &both).await));
    assert!(granted(&verify_in_request(&ring, 1, &both).await));
    // The full key is accepted as the secret half too.
    let full = issued.key.expose_secret();
    let with_full = [("X-App-Id", id.as_str()), ("X-App-Secret", full)];
    assert!(granted(&verify_in_request(&ring, 1, &with_full).await));
    // A half alone is nothing.
    let id_only = [("X-App-Id", id.as_str())];
    assert_eq!(
        verify_in_request(&ring, 0, &id_only).await,
        Verdict::Invalid
    );
    let secret_only = [("X-App-Secret", secret)];
    assert_eq!(
        verify_in_request(&ring, 1, &secret_only).await,
        Verdict::Invalid
    );
    // The secret of one key with the id of another fails.
    let other = ring
        .store()
        .create(NewKey::new("other"))
        .await
        .expect("create");
    let mixed = [
        ("X-App-Id", other.record.id.as_str()),
        ("X-App-Secret", secret),
    ];
    assert_eq!(verify_in_request(&ring, 0, &mixed).await, Verdict::Invalid);
    // Without the request around it, a pair scheme cannot verify.
    let lone = Credential::Key(SecretString::from(id.clone()));
    assert_eq!(
        verify(&ring, &PAIR_SPEC.schemes[0], &lone, "GET", None).await,
        Verdict::Invalid
    );
}

/// Operations with and without an `operationId` (issue 26, item 8).
static SPOTS_SPEC: Spec = Spec {
    title: "spots",
    base_path: "/v1",
    schemes: &[API_KEY],
    root: Requirement { alternatives: &[] },
    operations: &[
        Operation {
            method: "GET",
            path: "/spots",
            operation_id: Some("listSpots"),
            requirement: SPOTS_KEY,
        },
        Operation {
            method: "GET",
            path: "/spotsets/{id}",
            operation_id: None,
            requirement: SPOTS_KEY,
        },
        Operation {
            method: "DELETE",
            path: "/spotsets/{id}",
            operation_id: None,
            requirement: SPOTS_KEY,
        },
    ],
};

const SPOTS_KEY: Requirement = Requirement {
    alternatives: &[Alternative {
        schemes: &[SchemeUse {
            scheme: 0,
            roles: &[],
        }],
    }],
};

/// The status a guard over `SPOTS_SPEC` answers `method path` with, presenting `full`.
async fn spots_status<S: KeyStore>(
    ring: &Arc<Keyring<S>>,
    method: &str,
    path: &str,
    full: &SecretString,
) -> u16 {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("X-API-Key", full.expose_secret())
        .body(())
        .expect("request");
    let (parts, ()) = request.into_parts();
    match Guard::new(&SPOTS_SPEC, Arc::clone(ring))
        .authorize_request(&parts)
        .await
    {
        Ok(_) => 200,
        Err(rejection) => rejection.status().as_u16(),
    }
}

/// An operation without an `operationId` gets per-operation permissions under
/// `METHOD /path`, the template as the document writes it: here a read-only key that may
/// not read one spotset but may delete it.
#[tokio::test]
async fn an_operation_without_an_id_is_permitted_by_method_and_path() {
    let (ring, _) = keyring();
    let ring = Arc::new(ring);
    let permissions = Permissions::read_only()
        .with_operation("GET /spotsets/{id}", [] as [&str; 0])
        .with_operation("DELETE /spotsets/{id}", ["DELETE"]);
    let (_, full) = issue(&ring, NewKey::new("spots").permissions(permissions)).await;
    assert_eq!(
        spots_status(&ring, "GET", "/v1/spotsets/7", &full).await,
        403
    );
    assert_eq!(
        spots_status(&ring, "DELETE", "/v1/spotsets/7", &full).await,
        200
    );
    assert_eq!(spots_status(&ring, "GET", "/v1/spots", &full).await, 200);

    // Without entries for them, the default applies to both.
    let (_, plain) = issue(&ring, NewKey::new("plain")).await;
    assert_eq!(
        spots_status(&ring, "GET", "/v1/spotsets/7", &plain).await,
        200
    );
    assert_eq!(
        spots_status(&ring, "DELETE", "/v1/spotsets/7", &plain).await,
        403
    );
}

/// A keyring over a memory store, an SQLite file and a cached SQLite file reports the
/// names keys use that the document lacks, each with what it most likely meant, and
/// leaves out revoked keys and known names (issue 26, item 7).
#[tokio::test]
async fn check_names_reports_names_the_document_lacks_on_every_store() {
    let dir = TempDir::new("check-names");
    let sqlite = |file| SqliteStore::open_or_create(dir.file(file)).expect("open");
    check_names_on(Keyring::new(MemoryStore::new())).await;
    check_names_on(Keyring::new(sqlite("bare.db"))).await;
    check_names_on(Keyring::new(CachedStore::new(sqlite("cached.db")))).await;
}

async fn check_names_on<S: KeyStore>(ring: Keyring<S>) {
    // A store whose keys name only what the document has is clean.
    let fine = Permissions::read_only()
        .with_operation("listSpots", ["GET"])
        .with_operation("GET /spotsets/{id}", ["GET"]);
    let fine = ring
        .store()
        .create(NewKey::new("fine").permissions(fine).schemes(["api_key"]))
        .await
        .expect("create");
    let report = ring.check_names(&SPOTS_SPEC).await.expect("check");
    assert!(report.is_clean(), "{report}");

    let typo = Permissions::read_only().with_operation("listSpot", ["GET"]);
    let mut made = Vec::new();
    for _ in 0..2 {
        let issued = ring
            .store()
            .create(NewKey::new("typo").permissions(typo.clone()))
            .await
            .expect("create");
        made.push(issued.record.id);
    }
    let type_name = Permissions::full().with_operation("GetSpotsetsId", [] as [&str; 0]);
    let header = ring
        .store()
        .create(
            NewKey::new("header")
                .permissions(type_name)
                .schemes(["X-API-Key"]),
        )
        .await
        .expect("create");
    let gone = ring
        .store()
        .create(
            NewKey::new("gone")
                .permissions(Permissions::full().with_operation("nowhere", ["GET"]))
                .schemes(["elsewhere"]),
        )
        .await
        .expect("create");
    ring.store().revoke(&gone.record.id).await.expect("revoke");

    let report = ring.check_names(&SPOTS_SPEC).await.expect("check");
    let found: Vec<(NameKind, &str, u64, Option<&str>)> = report
        .unknown
        .iter()
        .map(|u| {
            (
                u.used.kind,
                u.used.name.as_str(),
                u.used.keys,
                u.hint.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                NameKind::Operation,
                "GetSpotsetsId",
                1,
                Some("did you mean `GET /spotsets/{id}`?")
            ),
            (
                NameKind::Operation,
                "listSpot",
                2,
                Some("did you mean `listSpots`?")
            ),
            (
                NameKind::Scheme,
                "X-API-Key",
                1,
                Some("`X-API-Key` is where scheme `api_key` reads its key: name the scheme")
            ),
        ],
        "{report}"
    );
    made.sort();
    assert_eq!(report.unknown[1].used.example, made[0]);
    assert_eq!(report.unknown[2].used.example, header.record.id);
    let text = report.to_string();
    assert!(
        text.contains(&format!(
            "operation `listSpot` is not in \"spots\": 2 keys (`{}` among them) name it in \
             per-operation permissions, where it never applies; did you mean `listSpots`?",
            made[0]
        )),
        "{text}"
    );
    // Names keys by id, never by secret.
    for secret in [&fine.key, &header.key] {
        assert!(!text.contains(secret.expose_secret()), "{text}");
        assert!(!format!("{report:?}").contains(secret.expose_secret()));
    }
}
