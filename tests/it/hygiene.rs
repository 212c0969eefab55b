//! No secret leaves (ARCHITECTURE "Invariants", SEMANTICS §5, §6): a whole key lifecycle
//! through a real server, with every `tracing` event captured at TRACE level and the
//! `Debug` and `Display` of every value the lifecycle touches (keys, credentials,
//! principals, rejections, verdicts, issued, parsed and generated keys, records, store
//! errors, the stores themselves) collected, and all of it, with every HTTP answer,
//! searched for each full key, each secret, and each SHA-256 of them.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use base64::Engine as _;
use keygate::keys::{
    secret_part, AuditQuery, CachedStore, Expiry, KeyFormat, KeyStore, KeyUpdate, Keyring,
    ManualClock, MemoryStore, NewKey, Owner, Permissions, SqliteStore, UnixSeconds,
};
use keygate::spec::Scheme;
use keygate::{Authenticated, Credential, OperationRef, Verifier, VerifyRequest};
use keygate_tests::keys as api;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};

use crate::support::{spawn, Reply, Server, TempDir};

/// Where the shared clock starts (2023-11-14).
const START: UnixSeconds = 1_700_000_000;

// ---------------------------------------------------------------------------------
// The capture: a subscriber that writes every span and event, with all its fields, into
// one buffer.

#[derive(Clone, Default)]
pub(crate) struct Capture {
    text: Arc<Mutex<String>>,
    next_span: Arc<AtomicU64>,
}

/// Writes fields as ` name=value`, values by their `Debug` (which for `%x` fields is
/// their `Display`), strings as they are.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Capture {
    fn write(&self, head: fmt::Arguments<'_>, record: impl FnOnce(&mut Fields<'_>)) {
        let mut text = self.text.lock().unwrap();
        let _ = text.write_fmt(head);
        record(&mut Fields(&mut text));
        text.push('\n');
    }

    pub(crate) fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let meta = span.metadata();
        self.write(
            format_args!("span {} {} {}:", meta.level(), meta.target(), meta.name()),
            |fields| span.record(fields),
        );
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        self.write(format_args!("record:"), |fields| values.record(fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        self.write(
            format_args!("{} {}:", meta.level(), meta.target()),
            |fields| event.record(fields),
        );
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

// ---------------------------------------------------------------------------------
// The lab

/// How a key travels.
#[derive(Debug, Clone, Copy)]
enum Via {
    Header,
    Basic,
    Pair,
}

/// A key as a client holds it.
#[derive(Clone)]
struct Key {
    id: String,
    full: String,
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

    fn header(&self) -> [(&'static str, &str); 1] {
        [("X-API-Key", &self.full)]
    }

    fn pair(&self) -> [(&'static str, &str); 2] {
        [("X-App-Id", &self.id), ("X-App-Secret", &self.secret)]
    }
}

type Store = CachedStore<SqliteStore>;

struct Lab {
    store: Arc<Store>,
    keyring: Arc<Keyring<Store>>,
    clock: ManualClock,
    server: Server,
    /// Every full key and secret made so far.
    secrets: Vec<String>,
    /// Every `Debug` and `Display` taken, and every answer.
    texts: Arc<Mutex<Vec<String>>>,
    _dir: TempDir,
}

/// `Debug` of `value`, kept.
macro_rules! debug {
    ($lab:expr, $($value:expr),+ $(,)?) => {{
        $( $lab.keep(format!("{:?}", $value)); )+
    }};
}

/// `Debug` and `Display` of `value`, kept.
macro_rules! both {
    ($lab:expr, $($value:expr),+ $(,)?) => {{
        $( $lab.keep(format!("{:?} {}", $value, $value)); )+
    }};
}

impl Lab {
    async fn start() -> Lab {
        let dir = TempDir::new("hygiene");
        let clock = ManualClock::new(START);
        let sqlite = SqliteStore::open_or_create(dir.file("keys.db"))
            .expect("open the SQLite key store")
            .with_clock(clock.clone());
        let store = Arc::new(CachedStore::new(sqlite).with_ttl(Duration::from_secs(3600)));
        let keyring = Arc::new(
            Keyring::from_arc(Arc::clone(&store))
                .with_clock(clock.clone())
                .pair(api::scheme::APP_ID, api::scheme::APP_SECRET),
        );
        let texts = Arc::new(Mutex::new(Vec::new()));
        let server = spawn(routes(&texts).layer(api::layer(Arc::clone(&keyring)))).await;
        Lab {
            store,
            keyring,
            clock,
            server,
            secrets: Vec::new(),
            texts,
            _dir: dir,
        }
    }

    fn keep(&self, text: String) {
        self.texts.lock().unwrap().push(text);
    }

    fn remember(&mut self, key: &Key) {
        self.secrets.push(key.full.clone());
        self.secrets.push(key.secret.clone());
    }

    async fn issue(&mut self, spec: NewKey) -> Key {
        debug!(self, spec);
        let issued = self.store.create(spec).await.expect("create a key");
        debug!(self, issued, issued.key, issued.secret(), issued.record);
        let key = Key::new(&issued.record.id, &issued.key);
        self.remember(&key);
        key
    }

    async fn rotate(&mut self, key: &Key, grace: Duration) -> Key {
        let full = self.store.rotate(&key.id, grace).await.expect("rotate");
        debug!(self, full);
        let rotated = Key::new(&key.id, &full);
        self.remember(&rotated);
        rotated
    }

    fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    fn kept(&self, case: &str, reply: Reply) -> Reply {
        self.keep(format!(
            "{case}: {} {:?} {}",
            reply.status, reply.headers, reply.body
        ));
        reply
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let reply = self.server.send("GET", path, headers).await;
        self.kept(&format!("GET {path}"), reply)
    }

    async fn basic(&self, user: &str, password: &str) -> Reply {
        let reply = self
            .server
            .send_basic("GET", "/basic/things", user, password)
            .await;
        self.kept("Basic", reply)
    }

    /// Asks the keyring directly, as the guard does, and keeps the question and the
    /// answer.
    async fn verdict(&self, scheme: &str, credential: Credential) -> String {
        let spec = api::guard(Arc::clone(&self.keyring)).spec();
        let scheme: &Scheme = spec
            .schemes
            .iter()
            .find(|s| s.name == scheme)
            .expect("a scheme of the spec");
        let operation = OperationRef {
            method: "GET",
            path: "/things",
            operation_id: Some("listThings"),
        };
        let request = VerifyRequest::new(scheme, &credential, operation);
        debug!(self, credential, request);
        let verdict = self.keyring.verify(request).await.expect("a verdict");
        let shown = format!("{verdict:?}");
        self.keep(shown.clone());
        shown
    }

    /// A refusal made by the guard itself, kept with its body and challenges.
    async fn rejection(&self, headers: &[(&str, &str)]) {
        let mut request = axum::http::Request::builder().uri("/things");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (parts, ()) = request.body(()).expect("a request").into_parts();
        let guard = api::guard(Arc::clone(&self.keyring));
        match guard.authorize_request(&parts).await {
            Ok(granted) => debug!(self, granted),
            Err(rejection) => {
                both!(self, rejection);
                debug!(self, rejection.reason(), rejection.challenges());
                self.keep(rejection.body().to_owned());
            }
        }
    }
}

/// Every route answers through the layer; `/things` also through its generated
/// extractor. Both keep what the handler sees.
fn routes(texts: &Arc<Mutex<Vec<String>>>) -> Router {
    let (fallback_texts, things_texts) = (Arc::clone(texts), Arc::clone(texts));
    Router::new()
        .route(
            "/things",
            axum::routing::get(move |op: api::ListThings, auth: Authenticated| async move {
                let api::ListThings::ApiKey { api_key } = &op;
                let seen = format!("{op:?} {auth:?} {api_key:?}");
                things_texts.lock().unwrap().push(seen);
                "listThings"
            }),
        )
        .fallback(move |auth: Authenticated| async move {
            let seen = format!("{auth:?} {:?}", auth.principal());
            fallback_texts.lock().unwrap().push(seen);
            "ok"
        })
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every way a secret could show: as written, its SHA-256 in hex (either case) and as
/// bytes, and base64 of the Basic pairs that carry it.
fn forms(secret: &str, ids: &[String]) -> Vec<String> {
    let hex = sha256_hex(secret);
    let bytes: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    let mut forms = vec![
        secret.to_owned(),
        hex.to_ascii_uppercase(),
        hex,
        format!("{bytes:?}"),
        // As JSON would write the bytes (an audit entry's changes, were a hash in them).
        serde_json::to_string(&bytes).unwrap_or_default(),
    ];
    let engine = base64::engine::general_purpose::STANDARD;
    for id in ids {
        forms.push(engine.encode(format!("{id}:{secret}")));
    }
    forms
}

async fn lifecycle(lab: &mut Lab) {
    let format = KeyFormat::default();

    // ---- create, and use over a header, Basic and a key pair
    let a = lab
        .issue(
            NewKey::new("deploy")
                .owner("team-a")
                .roles(["auditor"])
                .permissions(Permissions::full()),
        )
        .await;
    let b = lab.issue(NewKey::new("reader")).await;
    assert_eq!(lab.get("/things", &a.header()).await.status, 200);
    assert_eq!(lab.get("/reports", &a.header()).await.status, 200);
    assert_eq!(lab.basic(&a.id, &a.secret).await.status, 200);
    assert_eq!(lab.basic(&a.id, &a.full).await.status, 200);
    assert_eq!(lab.get("/apps/things", &a.pair()).await.status, 200);
    assert_eq!(
        lab.server.send("POST", "/things", &b.header()).await.status,
        403
    );

    // ---- refused keys: unknown key id, wrong secret, malformed; one body for all three
    let unknown = format.generate().expect("generate");
    debug!(lab, unknown);
    let unknown = Key::new(&unknown.key_id, &unknown.full);
    let wrong = format.generate_secret(&a.id).expect("generate a secret");
    debug!(lab, wrong);
    let wrong = Key::new(&a.id, &wrong.full);
    lab.remember(&unknown);
    lab.remember(&wrong);
    let mut malformed = a.clone();
    malformed.full.pop();
    malformed.full.push('!');
    malformed.secret.pop();
    malformed.secret.push('!');
    lab.remember(&malformed);
    for via in [Via::Header, Via::Basic, Via::Pair] {
        let mut bodies = Vec::new();
        for key in [&unknown, &wrong, &malformed] {
            let reply = match via {
                Via::Header => lab.get("/things", &key.header()).await,
                Via::Basic => lab.basic(&key.id, &key.secret).await,
                Via::Pair => lab.get("/apps/things", &key.pair()).await,
            };
            assert_eq!(reply.status, 401, "{via:?}");
            bodies.push(reply.body);
        }
        assert_eq!(
            bodies[0], bodies[1],
            "{via:?}: unknown key id vs wrong secret"
        );
        assert_eq!(
            bodies[0], bodies[2],
            "{via:?}: unknown key id vs malformed key"
        );
    }
    let unknown_body = lab.get("/things", &unknown.header()).await.body;
    let odd_shape = lab.get("/things", &[("X-API-Key", "kg_not*a*key")]).await;
    assert_eq!(odd_shape.body, unknown_body, "a key of the wrong shape");

    // ---- verdicts, credentials, parsed and generated keys, refusals, straight from the API
    let granted = Credential::Key(SecretString::from(a.full.clone()));
    assert!(lab
        .verdict("api_key", granted)
        .await
        .starts_with("Granted(Principal"));
    let bearer = Credential::Bearer(SecretString::from(wrong.full.clone()));
    assert_eq!(lab.verdict("api_key", bearer).await, "Invalid");
    let unknown_key = Credential::Key(SecretString::from(unknown.full.clone()));
    assert_eq!(lab.verdict("api_key", unknown_key).await, "Invalid");
    let pair = Credential::Basic {
        id: a.id.clone(),
        secret: SecretString::from(a.secret.clone()),
    };
    assert!(lab
        .verdict("basic", pair)
        .await
        .starts_with("Granted(Principal"));
    let parsed = format.parse(&a.full).expect("parse");
    debug!(lab, parsed);
    for bad in [&malformed.full, &wrong.full[..20], "kg_"] {
        if let Err(error) = format.parse(bad) {
            both!(lab, error);
        }
    }
    lab.rejection(&malformed.header()).await;
    lab.rejection(&[("X-API-Key", &a.full), ("X-API-Key", &a.full)])
        .await;
    lab.rejection(&a.header()).await;

    // ---- rotate with a grace period
    let a2 = lab.rotate(&a, Duration::from_secs(3600)).await;
    assert_eq!(
        lab.get("/things", &a.header()).await.status,
        200,
        "in grace"
    );
    assert_eq!(lab.get("/things", &a2.header()).await.status, 200);
    lab.advance(2 * 3600);
    assert_eq!(
        lab.get("/things", &a.header()).await.status,
        401,
        "grace over"
    );
    assert_eq!(lab.basic(&a2.id, &a2.secret).await.status, 200);

    // ---- revoke
    lab.store.revoke(&b.id).await.expect("revoke");
    assert_eq!(lab.get("/things", &b.header()).await.status, 401);
    assert!(lab
        .verdict(
            "api_key",
            Credential::Key(SecretString::from(b.full.clone()))
        )
        .await
        .contains("Revoked"));
    let conflict = lab
        .store
        .rotate(&b.id, Duration::ZERO)
        .await
        .expect_err("a revoked key cannot rotate");
    both!(lab, conflict);
    let missing = lab
        .store
        .revoke("nosuchkeyid0")
        .await
        .expect_err("no such key");
    both!(lab, missing);

    // ---- expire
    let c = lab
        .issue(NewKey::new("short").expiry(Expiry::days(7)))
        .await;
    assert_eq!(lab.get("/things", &c.header()).await.status, 200);
    lab.advance(8 * 86_400);
    assert_eq!(lab.get("/things", &c.header()).await.status, 401);
    assert!(lab
        .verdict(
            "api_key",
            Credential::Key(SecretString::from(c.full.clone()))
        )
        .await
        .contains("Expired"));

    // ---- disable the owner, enable it, bump its epoch
    let owner: Owner = lab.store.disable_owner("team-a").await.expect("disable");
    debug!(lab, owner);
    assert_eq!(lab.get("/things", &a2.header()).await.status, 401);
    assert_eq!(lab.get("/apps/things", &a2.pair()).await.status, 401);
    lab.store.enable_owner("team-a").await.expect("enable");
    assert_eq!(lab.get("/apps/things", &a2.pair()).await.status, 200);
    lab.store.bump_epoch("team-a").await.expect("bump");
    assert_eq!(lab.basic(&a2.id, &a2.secret).await.status, 401);

    // ---- disable, edit, rotate and delete a key; the audit log of it all
    let d = lab.issue(NewKey::new("doomed").owner("team-d")).await;
    let disabled = lab.store.disable(&d.id).await.expect("disable");
    debug!(lab, disabled);
    assert_eq!(lab.get("/things", &d.header()).await.status, 401);
    lab.store.enable(&d.id).await.expect("enable");
    let data: keygate::keys::Metadata =
        serde_json::from_str(r#"{"tenant":"acme"}"#).expect("metadata");
    let edit = KeyUpdate::new().name("renamed").metadata(data);
    let edited = lab.store.update(&d.id, edit).await.expect("update");
    debug!(lab, edited);
    let rotated = lab
        .store
        .rotate(&d.id, Duration::from_secs(60))
        .await
        .expect("rotate");
    let rotated = Key::new(&d.id, &rotated);
    lab.remember(&rotated);
    assert_eq!(lab.get("/things", &rotated.header()).await.status, 200);
    lab.store.delete(&d.id).await.expect("delete");
    assert_eq!(lab.get("/things", &rotated.header()).await.status, 401);
    let e = lab.issue(NewKey::new("owned").owner("team-e")).await;
    let deleted = lab
        .store
        .delete_owner("team-e")
        .await
        .expect("delete owner");
    debug!(lab, deleted);
    assert_eq!(lab.get("/things", &e.header()).await.status, 401);
    let mut query = AuditQuery::new().limit(5);
    loop {
        let page = lab.store.audit(query.clone()).await.expect("audit");
        debug!(lab, page);
        for entry in &page.entries {
            lab.keep(serde_json::to_string(&entry.changes).expect("changes as JSON"));
        }
        match page.next {
            Some(next) => query = query.after(next),
            None => break,
        }
    }

    // ---- the records and the stores themselves
    for key in [&a, &b, &c] {
        let record = lab.store.get(&key.id).await.expect("get");
        debug!(lab, record);
    }
    let all = lab.store.list(Default::default()).await.expect("list");
    let owners = lab
        .store
        .list_owners(Default::default())
        .await
        .expect("owners");
    debug!(lab, owners);
    debug!(lab, all, lab.store, lab.store.inner(), lab.keyring);
    debug!(
        lab,
        api::guard(Arc::clone(&lab.keyring)),
        api::layer(Arc::clone(&lab.keyring))
    );
    let memory = MemoryStore::new();
    let issued = memory.create(NewKey::new("memory")).await.expect("create");
    let in_memory = Key::new(&issued.record.id, &issued.key);
    lab.remember(&in_memory);
    debug!(lab, memory, issued);
}

#[test]
fn no_secret_leaves_through_logs_debug_or_answers() {
    let capture = Capture::default();
    let dispatch = Dispatch::new(capture.clone());
    // With one dispatcher registered, tracing asks the default of whichever thread first
    // hits a callsite whether it wants it, and caches the answer for everyone; other tests
    // hit the keyring's callsites on threads without the capture. With two registered,
    // every dispatcher is asked.
    let _second = Dispatch::new(Capture::default());
    let for_workers = dispatch.clone();
    // Every runtime thread (workers and the blocking pool SQLite runs on) reports to the
    // capture, for as long as it lives.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            std::mem::forget(tracing::dispatcher::set_default(&for_workers));
        })
        .build()
        .expect("a runtime");
    let (secrets, ids, texts) = tracing::dispatcher::with_default(&dispatch, || {
        runtime.block_on(async {
            let mut lab = Lab::start().await;
            // A callsite first hit while the capture was being registered may have cached
            // "nobody wants this"; ask again.
            tracing::callsite::rebuild_interest_cache();
            lifecycle(&mut lab).await;
            let ids: Vec<String> = lab
                .store
                .list_all(Default::default())
                .await
                .expect("list")
                .into_iter()
                .map(|record| record.id)
                .collect();
            let texts = lab.texts.lock().unwrap().clone();
            (lab.secrets.clone(), ids, texts)
        })
    });
    drop(runtime);
    let log = capture.text();

    // The capture saw the runtime's own reasons, so an empty log cannot pass.
    for reason in [
        "unknown key id",
        "wrong secret",
        "key refused before lookup",
        "key revoked",
        "key expired",
        "owner disabled or epoch bumped",
        "credential invalid",
        "credential revoked",
        "credential expired",
        "credential lacks permission",
    ] {
        assert!(log.contains(reason), "the capture lacks {reason:?}:\n{log}");
    }
    assert!(log.contains("DEBUG keygate"), "{log}");

    let mut ids = ids;
    ids.push("aaaaaaaaaaaa".to_owned());
    let mut leaks = Vec::new();
    assert!(secrets.len() >= 16, "only {} secrets", secrets.len());
    for secret in &secrets {
        for form in forms(secret, &ids) {
            if log.contains(&form) {
                leaks.push(format!("the log holds {form:?}"));
            }
            for text in &texts {
                if text.contains(&form) {
                    let at = text.find(&form).unwrap_or_default();
                    leaks.push(format!("{form:?} in {:?}", &text[at.saturating_sub(80)..]));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "\n{}", leaks.join("\n"));
    eprintln!(
        "hygiene: {} secrets in {} forms each, none in {} log lines or {} Debug/Display texts \
         and answers",
        secrets.len(),
        forms(&secrets[0], &ids).len(),
        log.lines().count(),
        texts.len()
    );
}

/// An extractor with no guard in reach: the client gets a plain 500, and the fix (add the
/// layer or the guard) goes to the log at error level.
#[test]
fn a_missing_guard_is_told_to_the_log_not_the_client() {
    use tower::ServiceExt as _;
    async fn handler(_: api::ListThings) -> &'static str {
        "ran"
    }
    let capture = Capture::default();
    let dispatch = Dispatch::new(capture.clone());
    let (status, body) = tracing::dispatcher::with_default(&dispatch, || {
        tracing::callsite::rebuild_interest_cache();
        let app = Router::new().route("/things", axum::routing::get(handler));
        keygate_tests::block_on(async {
            let request = http::Request::get("/things")
                .body(Body::empty())
                .expect("request");
            let response = app.oneshot(request).await.expect("infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .expect("body");
            (status, String::from_utf8_lossy(&body).into_owned())
        })
    });
    assert_eq!(status, 500);
    assert!(!body.contains("Guard") && !body.contains("layer"), "{body}");
    assert!(
        body.contains("The server could not decide this request."),
        "{body}"
    );
    let log = capture.text();
    assert!(
        log.contains("ERROR keygate") && log.contains("Guard") && log.contains("layer("),
        "{log}"
    );
}
