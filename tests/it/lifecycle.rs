//! The key lifecycle end to end: keys issued by a `keygate::keys` store and verified by a
//! `Keyring` behind the layer generated from `specs/keys.yaml`, over real HTTP on
//! 127.0.0.1.
//!
//! Every scenario is one generic function over the store; [`on_every_store!`] runs it
//! against a `MemoryStore`, an `SqliteStore` file in a temp dir, and that file behind a
//! `CachedStore`, as `<scenario>::memory`, `::sqlite` and `::sqlite_cached`. Store and keyring read one
//! `ManualClock`, so expiry and grace periods are crossed by moving it. Every answer is
//! scanned for every key and secret issued so far.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use keygate::keys::{
    secret_part, CachedStore, Expiry, IssuedKey, KeyStore, KeyUpdate, Keyring, ManualClock,
    MemoryStore, NewKey, Permissions, SqliteStore, UnixSeconds,
};
use keygate::Principal;
use keygate_tests::keys as api;
use secrecy::{ExposeSecret, SecretString};

use crate::support::{spawn, Reply, Server, TempDir};

/// Where the shared clock starts (2023-11-14).
const START: UnixSeconds = 1_700_000_000;

const API_KEY_CHALLENGE: &str = r#"APIKey realm="api", in="header", name="X-API-Key""#;
const APP_CHALLENGES: [&str; 2] = [
    r#"APIKey realm="api", in="header", name="X-App-Id""#,
    r#"APIKey realm="api", in="header", name="X-App-Secret""#,
];
const BASIC_CHALLENGE: &str = r#"Basic realm="api""#;

// ---------------------------------------------------------------------------------
// The app

/// One handler per operation, each through its generated extractor; the body is
/// `<operationId> <principal ids>`.
fn routes() -> Router {
    Router::new()
        .route("/things", get(list_things).post(create_thing))
        .route("/things/{id}", get(get_thing).delete(delete_thing))
        .route("/reports", get(get_report))
        .route("/apps/things", get(list_app_things))
        .route("/basic/things", get(list_basic_things))
}

fn decided(operation: &str, principals: &[&Principal]) -> String {
    let mut text = operation.to_owned();
    for principal in principals {
        text.push(' ');
        text.push_str(principal.id());
    }
    text
}

async fn list_things(op: api::ListThings) -> String {
    let api::ListThings::ApiKey { api_key } = op;
    decided("listThings", &[&api_key])
}

async fn create_thing(op: api::CreateThing) -> String {
    let api::CreateThing::ApiKey { api_key } = op;
    decided("createThing", &[&api_key])
}

async fn get_thing(op: api::GetThing) -> String {
    let api::GetThing::ApiKey { api_key } = op;
    decided("getThing", &[&api_key])
}

async fn delete_thing(op: api::DeleteThing) -> String {
    let api::DeleteThing::ApiKey { api_key } = op;
    decided("deleteThing", &[&api_key])
}

async fn get_report(op: api::GetReport) -> String {
    let api::GetReport::ApiKey { api_key } = op;
    decided("getReport", &[&api_key])
}

async fn list_app_things(op: api::ListAppThings) -> String {
    let api::ListAppThings::AppIdAndAppSecret { app_id, app_secret } = op;
    decided("listAppThings", &[&app_id, &app_secret])
}

async fn list_basic_things(op: api::ListBasicThings) -> String {
    let api::ListBasicThings::Basic { basic } = op;
    decided("listBasicThings", &[&basic])
}

// ---------------------------------------------------------------------------------
// The lab: a store, its keyring behind the app, and the clock they share

/// A key as a client holds it.
#[derive(Debug, Clone)]
struct Key {
    id: String,
    /// `<prefix>_<key id>_<secret><checksum>`.
    full: String,
    /// `<secret><checksum>`.
    secret: String,
}

impl Key {
    fn new(id: &str, full: &SecretString) -> Key {
        Key {
            id: id.to_owned(),
            full: full.expose_secret().to_owned(),
            secret: secret_part(full.expose_secret()).expose_secret().to_owned(),
        }
    }

    /// The `X-API-Key` header carrying the full key.
    fn header(&self) -> [(&'static str, &str); 1] {
        [("X-API-Key", &self.full)]
    }

    /// What the app answers when this key alone is granted `operation`.
    fn granted(&self, operation: &str) -> String {
        format!("{operation} {}", self.id)
    }
}

/// The two headers of a key pair.
fn pair<'a>(id: &'a str, secret: &'a str) -> [(&'static str, &'a str); 2] {
    [("X-App-Id", id), ("X-App-Secret", secret)]
}

struct Lab<S> {
    store: Arc<S>,
    clock: ManualClock,
    server: Server,
    /// Every key and secret issued so far: no answer may contain one.
    secrets: Mutex<Vec<String>>,
    /// Holds the SQLite file, if any, until the test ends.
    _dir: Option<TempDir>,
}

impl Lab<MemoryStore> {
    async fn memory() -> Lab<MemoryStore> {
        let clock = ManualClock::new(START);
        let store = MemoryStore::new().with_clock(clock.clone());
        Lab::start(store, clock, None).await
    }
}

impl Lab<SqliteStore> {
    async fn sqlite() -> Lab<SqliteStore> {
        let dir = TempDir::new("lifecycle");
        let clock = ManualClock::new(START);
        let store = SqliteStore::open_or_create(dir.file("keys.db"))
            .expect("open the SQLite key store")
            .with_clock(clock.clone());
        Lab::start(store, clock, Some(dir)).await
    }
}

impl Lab<CachedStore<SqliteStore>> {
    /// SQLite behind the verification cache, with a TTL far beyond any test: a change
    /// is seen on the next request only because writes through the cache invalidate it.
    async fn sqlite_cached() -> Lab<CachedStore<SqliteStore>> {
        let dir = TempDir::new("lifecycle-cached");
        let clock = ManualClock::new(START);
        let store = SqliteStore::open_or_create(dir.file("keys.db"))
            .expect("open the SQLite key store")
            .with_clock(clock.clone());
        let cached = CachedStore::new(store).with_ttl(Duration::from_secs(3600));
        Lab::start(cached, clock, Some(dir)).await
    }
}

impl<S: KeyStore> Lab<S> {
    async fn start(store: S, clock: ManualClock, dir: Option<TempDir>) -> Lab<S> {
        let store = Arc::new(store);
        let keyring = Keyring::from_arc(Arc::clone(&store))
            .with_clock(clock.clone())
            .pair(api::scheme::APP_ID, api::scheme::APP_SECRET);
        let server = spawn(routes().layer(api::layer(keyring))).await;
        Lab {
            store,
            clock,
            server,
            secrets: Mutex::new(Vec::new()),
            _dir: dir,
        }
    }

    fn remember(&self, key: &Key) {
        let mut secrets = self.secrets.lock().unwrap();
        secrets.push(key.full.clone());
        secrets.push(key.secret.clone());
    }

    async fn issue(&self, spec: NewKey) -> Key {
        let issued: IssuedKey = self.store.create(spec).await.expect("create a key");
        let key = Key::new(&issued.record.id, &issued.key);
        assert_eq!(
            issued.secret().expose_secret(),
            key.secret,
            "IssuedKey::secret is the part after the key id"
        );
        self.remember(&key);
        key
    }

    /// Rotates `key` through the store; the answer is the new key.
    async fn rotate(&self, key: &Key, grace: Duration) -> Key {
        let full = self.store.rotate(&key.id, grace).await.expect("rotate");
        let rotated = Key::new(&key.id, &full);
        assert_ne!(rotated.secret, key.secret, "rotation issues a new secret");
        self.remember(&rotated);
        rotated
    }

    fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let reply = self.server.send(method, path, headers).await;
        let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
        self.answer(format!("{method} {path} with {names:?}"), reply)
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send("GET", path, headers).await
    }

    /// `GET` with HTTP Basic `user:password`.
    async fn basic(&self, path: &str, user: &str, password: &str) -> Answer {
        let reply = self.server.send_basic("GET", path, user, password).await;
        self.answer(format!("GET {path} with Basic"), reply)
    }

    fn answer(&self, case: String, reply: Reply) -> Answer {
        for secret in self.secrets.lock().unwrap().iter() {
            assert!(!reply.body.contains(secret), "{case}: body echoes a secret");
            for (name, value) in &reply.headers {
                let value = String::from_utf8_lossy(value.as_bytes());
                assert!(
                    !value.contains(secret),
                    "{case}: header {name} echoes a secret"
                );
            }
        }
        Answer { case, reply }
    }
}

/// A checked reply; its assertions report the line of the test that made them.
struct Answer {
    case: String,
    reply: Reply,
}

impl Answer {
    #[track_caller]
    fn ok(&self, decision: &str) {
        let (case, reply) = (&self.case, &self.reply);
        assert_eq!(reply.status, 200, "{case}: status; body {:?}", reply.body);
        assert_eq!(reply.body, decision, "{case}: decision");
        assert!(
            reply.www_authenticate.is_empty(),
            "{case}: challenge on 200"
        );
    }

    #[track_caller]
    fn forbidden(&self) {
        let (case, reply) = (&self.case, &self.reply);
        assert_eq!(reply.status, 403, "{case}: status; body {:?}", reply.body);
        assert!(
            reply.www_authenticate.is_empty(),
            "{case}: challenge on 403"
        );
        self.problem();
    }

    /// 401 with exactly these challenges.
    #[track_caller]
    fn unauthorized(&self, challenges: &[&str]) -> &Answer {
        let (case, reply) = (&self.case, &self.reply);
        assert_eq!(reply.status, 401, "{case}: status; body {:?}", reply.body);
        assert!(!challenges.is_empty());
        assert_eq!(
            reply.www_authenticate, challenges,
            "{case}: WWW-Authenticate"
        );
        self.problem();
        self
    }

    #[track_caller]
    fn detail_contains(&self, word: &str) {
        let detail = self.reply.json.as_ref().and_then(|j| j["detail"].as_str());
        assert!(
            detail.is_some_and(|d| d.contains(word)),
            "{}: detail {detail:?} should name {word:?}",
            self.case
        );
    }

    #[track_caller]
    fn problem(&self) {
        let (case, reply) = (&self.case, &self.reply);
        assert_eq!(
            reply.content_type.as_deref(),
            Some("application/problem+json"),
            "{case}: content type"
        );
        let json = reply.json.as_ref();
        let status = json.and_then(|j| j["status"].as_u64());
        assert_eq!(
            status,
            Some(u64::from(reply.status)),
            "{case}: problem status"
        );
    }
}

/// Runs each scenario against both stores, as `<scenario>::memory` and
/// `<scenario>::sqlite`.
macro_rules! on_every_store {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn memory() {
                super::$scenario(super::Lab::memory().await).await;
            }

            #[tokio::test]
            async fn sqlite() {
                super::$scenario(super::Lab::sqlite().await).await;
            }

            #[tokio::test]
            async fn sqlite_cached() {
                super::$scenario(super::Lab::sqlite_cached().await).await;
            }
        }
    )*};
}

on_every_store!(
    read_only_key_reads_but_cannot_write,
    per_operation_override_replaces_the_default_for_that_operation_only,
    expired_key_is_refused,
    revoked_key_is_refused_on_the_very_next_request,
    rotation_keeps_the_old_secret_for_the_grace_period_only,
    rotation_without_grace_kills_the_old_secret_at_once,
    disabling_an_owner_kills_all_its_keys_until_enabled,
    bumping_the_owner_epoch_kills_keys_issued_before_it,
    role_bearing_requirement_admits_only_keys_with_the_role,
    key_id_and_secret_pair_over_two_headers,
    http_basic_with_key_id_and_secret,
    key_restricted_to_a_scheme_is_refused_elsewhere,
);

// ---------------------------------------------------------------------------------
// Scenarios

async fn read_only_key_reads_but_cannot_write<S: KeyStore>(lab: Lab<S>) {
    let reader = lab
        .issue(NewKey::new("reader").permissions(Permissions::read_only()))
        .await;
    let writer = lab
        .issue(NewKey::new("writer").permissions(Permissions::full()))
        .await;

    lab.get("/things", &reader.header())
        .await
        .ok(&reader.granted("listThings"));
    lab.get("/things/1", &reader.header())
        .await
        .ok(&reader.granted("getThing"));
    lab.send("POST", "/things", &reader.header())
        .await
        .forbidden();
    lab.send("DELETE", "/things/1", &reader.header())
        .await
        .forbidden();
    // The 403 is the key's permissions, not the route.
    let created = writer.granted("createThing");
    lab.send("POST", "/things", &writer.header())
        .await
        .ok(&created);
    lab.get("/things", &[])
        .await
        .unauthorized(&[API_KEY_CHALLENGE]);
}

async fn per_operation_override_replaces_the_default_for_that_operation_only<S: KeyStore>(
    lab: Lab<S>,
) {
    // getThing gets DELETE only: no GET there, and no DELETE on deleteThing either.
    let permissions = Permissions::read_only()
        .with_operation("createThing", ["POST"])
        .with_operation("getThing", ["DELETE"]);
    let key = lab
        .issue(NewKey::new("custom").permissions(permissions))
        .await;

    let created = key.granted("createThing");
    lab.send("POST", "/things", &key.header())
        .await
        .ok(&created);
    lab.send("DELETE", "/things/1", &key.header())
        .await
        .forbidden();
    lab.get("/things", &key.header())
        .await
        .ok(&key.granted("listThings"));
    lab.get("/things/1", &key.header()).await.forbidden();

    // An empty override denies one operation of a full-access key.
    let permissions = Permissions::full().with_operation("deleteThing", [] as [&str; 0]);
    let almost = lab
        .issue(NewKey::new("almost").permissions(permissions))
        .await;
    lab.send("DELETE", "/things/1", &almost.header())
        .await
        .forbidden();
    let created = almost.granted("createThing");
    lab.send("POST", "/things", &almost.header())
        .await
        .ok(&created);
}

async fn expired_key_is_refused<S: KeyStore>(lab: Lab<S>) {
    let week = lab.issue(NewKey::new("week").expiry(Expiry::days(7))).await;
    let dated = lab
        .issue(NewKey::new("dated").expiry(Expiry::At(START + 60)))
        .await;
    let forever = lab.issue(NewKey::new("forever")).await;

    lab.get("/things", &dated.header())
        .await
        .ok(&dated.granted("listThings"));
    lab.advance(59);
    lab.get("/things", &dated.header())
        .await
        .ok(&dated.granted("listThings"));
    // `expires_at` is exclusive.
    lab.advance(1);
    let refused = lab.get("/things", &dated.header()).await;
    refused
        .unauthorized(&[API_KEY_CHALLENGE])
        .detail_contains("expired");

    lab.advance(7 * 86_400 - 61);
    lab.get("/things", &week.header())
        .await
        .ok(&week.granted("listThings"));
    lab.advance(1);
    let refused = lab.get("/things", &week.header()).await;
    refused
        .unauthorized(&[API_KEY_CHALLENGE])
        .detail_contains("expired");

    lab.get("/things", &forever.header())
        .await
        .ok(&forever.granted("listThings"));
}

async fn revoked_key_is_refused_on_the_very_next_request<S: KeyStore>(lab: Lab<S>) {
    let doomed = lab.issue(NewKey::new("doomed")).await;
    let other = lab.issue(NewKey::new("other")).await;

    lab.get("/things", &doomed.header())
        .await
        .ok(&doomed.granted("listThings"));
    lab.store.revoke(&doomed.id).await.expect("revoke");
    let refused = lab.get("/things", &doomed.header()).await;
    refused
        .unauthorized(&[API_KEY_CHALLENGE])
        .detail_contains("revoked");
    // Revoked keys stay revoked, whichever way they travel.
    lab.basic("/basic/things", &doomed.id, &doomed.secret)
        .await
        .unauthorized(&[BASIC_CHALLENGE]);
    lab.get("/things", &other.header())
        .await
        .ok(&other.granted("listThings"));
}

async fn rotation_keeps_the_old_secret_for_the_grace_period_only<S: KeyStore>(lab: Lab<S>) {
    let old = lab.issue(NewKey::new("rotating")).await;
    lab.get("/things", &old.header())
        .await
        .ok(&old.granted("listThings"));

    let new = lab.rotate(&old, Duration::from_secs(3600)).await;
    lab.get("/things", &old.header())
        .await
        .ok(&old.granted("listThings"));
    lab.get("/things", &new.header())
        .await
        .ok(&new.granted("listThings"));
    lab.advance(3599);
    lab.get("/things", &old.header())
        .await
        .ok(&old.granted("listThings"));
    lab.basic("/basic/things", &old.id, &old.secret)
        .await
        .ok(&old.granted("listBasicThings"));

    lab.advance(1);
    lab.get("/things", &old.header())
        .await
        .unauthorized(&[API_KEY_CHALLENGE]);
    lab.basic("/basic/things", &old.id, &old.secret)
        .await
        .unauthorized(&[BASIC_CHALLENGE]);
    lab.get("/things", &new.header())
        .await
        .ok(&new.granted("listThings"));
    lab.basic("/basic/things", &new.id, &new.secret)
        .await
        .ok(&new.granted("listBasicThings"));
}

async fn rotation_without_grace_kills_the_old_secret_at_once<S: KeyStore>(lab: Lab<S>) {
    let old = lab.issue(NewKey::new("rotating")).await;
    lab.get("/things", &old.header())
        .await
        .ok(&old.granted("listThings"));

    let new = lab.rotate(&old, Duration::ZERO).await;
    lab.get("/things", &old.header())
        .await
        .unauthorized(&[API_KEY_CHALLENGE]);
    lab.get("/things", &new.header())
        .await
        .ok(&new.granted("listThings"));

    // A second rotation keeps only the latest previous secret.
    let newest = lab.rotate(&new, Duration::from_secs(3600)).await;
    lab.get("/things", &old.header())
        .await
        .unauthorized(&[API_KEY_CHALLENGE]);
    lab.get("/things", &new.header())
        .await
        .ok(&new.granted("listThings"));
    lab.get("/things", &newest.header())
        .await
        .ok(&newest.granted("listThings"));
}

async fn disabling_an_owner_kills_all_its_keys_until_enabled<S: KeyStore>(lab: Lab<S>) {
    let alice_1 = lab.issue(NewKey::new("a1").owner("alice")).await;
    let alice_2 = lab.issue(NewKey::new("a2").owner("alice")).await;
    let bob = lab.issue(NewKey::new("b").owner("bob")).await;
    for key in [&alice_1, &alice_2, &bob] {
        lab.get("/things", &key.header())
            .await
            .ok(&key.granted("listThings"));
    }

    lab.store
        .disable_owner("alice")
        .await
        .expect("disable alice");
    for key in [&alice_1, &alice_2] {
        let refused = lab.get("/things", &key.header()).await;
        refused
            .unauthorized(&[API_KEY_CHALLENGE])
            .detail_contains("disabled");
        lab.basic("/basic/things", &key.id, &key.secret)
            .await
            .unauthorized(&[BASIC_CHALLENGE]);
    }
    lab.get("/things", &bob.header())
        .await
        .ok(&bob.granted("listThings"));

    lab.store.enable_owner("alice").await.expect("enable alice");
    for key in [&alice_1, &alice_2, &bob] {
        lab.get("/things", &key.header())
            .await
            .ok(&key.granted("listThings"));
    }
}

async fn bumping_the_owner_epoch_kills_keys_issued_before_it<S: KeyStore>(lab: Lab<S>) {
    let before = lab.issue(NewKey::new("before").owner("alice")).await;
    let bob = lab.issue(NewKey::new("b").owner("bob")).await;
    lab.get("/things", &before.header())
        .await
        .ok(&before.granted("listThings"));

    lab.store.bump_epoch("alice").await.expect("bump alice");
    let after = lab.issue(NewKey::new("after").owner("alice")).await;
    let refused = lab.get("/things", &before.header()).await;
    refused
        .unauthorized(&[API_KEY_CHALLENGE])
        .detail_contains("revoked");
    lab.get("/things", &after.header())
        .await
        .ok(&after.granted("listThings"));
    lab.get("/things", &bob.header())
        .await
        .ok(&bob.granted("listThings"));

    // Enabling does not bring back keys of an older epoch.
    lab.store.enable_owner("alice").await.expect("enable alice");
    lab.get("/things", &before.header())
        .await
        .unauthorized(&[API_KEY_CHALLENGE]);
    lab.get("/things", &after.header())
        .await
        .ok(&after.granted("listThings"));
}

async fn role_bearing_requirement_admits_only_keys_with_the_role<S: KeyStore>(lab: Lab<S>) {
    let plain = lab.issue(NewKey::new("plain")).await;
    let writer = lab
        .issue(
            NewKey::new("writer")
                .roles(["writer"])
                .permissions(Permissions::full()),
        )
        .await;
    let auditor = lab.issue(NewKey::new("auditor").roles(["auditor"])).await;

    lab.get("/reports", &plain.header()).await.forbidden();
    lab.get("/reports", &writer.header()).await.forbidden();
    lab.get("/reports", &auditor.header())
        .await
        .ok(&auditor.granted("getReport"));
    // The role is not needed elsewhere.
    lab.get("/things", &plain.header())
        .await
        .ok(&plain.granted("listThings"));
    lab.get("/reports", &[])
        .await
        .unauthorized(&[API_KEY_CHALLENGE]);

    // Granted later through the store, the role counts from the next request.
    let roles = ["auditor".to_owned()].into();
    let change = KeyUpdate {
        roles: Some(roles),
        ..Default::default()
    };
    lab.store
        .update(&plain.id, change)
        .await
        .expect("grant auditor");
    lab.get("/reports", &plain.header())
        .await
        .ok(&plain.granted("getReport"));
}

async fn key_id_and_secret_pair_over_two_headers<S: KeyStore>(lab: Lab<S>) {
    let app = lab.issue(NewKey::new("app")).await;
    let other = lab.issue(NewKey::new("other")).await;
    let both = format!("listAppThings {} {}", app.id, app.id);

    lab.get("/apps/things", &pair(&app.id, &app.secret))
        .await
        .ok(&both);
    // The full key may stand in for the secret half.
    lab.get("/apps/things", &pair(&app.id, &app.full))
        .await
        .ok(&both);

    let id_only = [("X-App-Id", app.id.as_str())];
    lab.get("/apps/things", &id_only)
        .await
        .unauthorized(&APP_CHALLENGES);
    for secret in [&app.secret, &app.full] {
        let secret_only = [("X-App-Secret", secret.as_str())];
        lab.get("/apps/things", &secret_only)
            .await
            .unauthorized(&APP_CHALLENGES);
    }
    // Another key's secret, and a full key whose id is not the one presented.
    lab.get("/apps/things", &pair(&app.id, &other.secret))
        .await
        .unauthorized(&APP_CHALLENGES);
    lab.get("/apps/things", &pair(&other.id, &app.full))
        .await
        .unauthorized(&APP_CHALLENGES);

    // The pair is not an `X-API-Key`, and the full key still is.
    lab.get("/things", &pair(&app.id, &app.secret))
        .await
        .unauthorized(&[API_KEY_CHALLENGE]);
    lab.get("/things", &app.header())
        .await
        .ok(&app.granted("listThings"));
}

async fn http_basic_with_key_id_and_secret<S: KeyStore>(lab: Lab<S>) {
    let key = lab.issue(NewKey::new("basic")).await;
    let other = lab.issue(NewKey::new("other")).await;
    let granted = key.granted("listBasicThings");

    lab.basic("/basic/things", &key.id, &key.secret)
        .await
        .ok(&granted);
    lab.basic("/basic/things", &key.id, &key.full)
        .await
        .ok(&granted);

    let refused = [BASIC_CHALLENGE];
    lab.basic("/basic/things", &other.id, &key.secret)
        .await
        .unauthorized(&refused);
    lab.basic("/basic/things", &other.id, &key.full)
        .await
        .unauthorized(&refused);
    lab.basic("/basic/things", &key.id, &other.secret)
        .await
        .unauthorized(&refused);
    lab.basic("/basic/things", "not-a-key-id", &key.secret)
        .await
        .unauthorized(&refused);
    lab.get("/basic/things", &[]).await.unauthorized(&refused);
    // The full key in `X-API-Key` is not Basic.
    lab.get("/basic/things", &key.header())
        .await
        .unauthorized(&refused);
}

async fn key_restricted_to_a_scheme_is_refused_elsewhere<S: KeyStore>(lab: Lab<S>) {
    let key = lab
        .issue(NewKey::new("basic only").schemes(["basic"]))
        .await;
    let anywhere = lab.issue(NewKey::new("anywhere")).await;

    lab.get("/things", &key.header())
        .await
        .unauthorized(&[API_KEY_CHALLENGE]);
    lab.get("/apps/things", &pair(&key.id, &key.secret))
        .await
        .unauthorized(&APP_CHALLENGES);
    lab.basic("/basic/things", &key.id, &key.secret)
        .await
        .ok(&key.granted("listBasicThings"));

    lab.get("/things", &anywhere.header())
        .await
        .ok(&anywhere.granted("listThings"));
    lab.basic("/basic/things", &anywhere.id, &anywhere.secret)
        .await
        .ok(&anywhere.granted("listBasicThings"));
}
