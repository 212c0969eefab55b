//! `PostgresStore` against a real PostgreSQL server, and apps of several instances
//! sharing it: the shared store suite, migrations, batched last-use writes, revocations
//! crossing instances through LISTEN/NOTIFY, killed connections and outages, and a load
//! run. Every test works in a fresh schema of its own, so they run in parallel.
//!
//! The server is `KEYGATE_TEST_DATABASE_URL` (`export KEYGATE_TEST_DATABASE_URL=$(.ci/postgres.sh)`).
//! Without it the tests return at once, unless `KEYGATE_REQUIRE_POSTGRES=1` (as in CI),
//! which makes them fail.

#[path = "../../runtime/tests/it/suite.rs"]
mod suite;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use keygate::keys::{
    Actor, AuditAction, AuditQuery, CachedStore, KeyFilter, KeyFormat, KeyStore, KeyUpdate,
    Keyring, ListenerState, ManualClock, NewKey, OwnerChange, Permissions, PostgresOptions,
    PostgresStore, StoreError, UnixSeconds,
};
use keygate_tests::keys as api;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::support::{spawn, Server};

/// A fixed starting time for manual clocks (2024-01-01).
const T0: UnixSeconds = 1_704_067_200;

/// The revocation delay the issue asks for, across instances.
const REVOCATION_BOUND: Duration = Duration::from_secs(1);

/// How long a wait for progress may take before the test gives up (a hang guard, not a
/// measurement).
const PATIENCE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------
// The database

/// A fresh schema for one test, and a plain connection for what the store cannot do.
struct Db {
    url: String,
    schema: String,
    admin: tokio_postgres::Client,
}

impl Db {
    /// `None` when the tests are skipped.
    async fn new(test: &str) -> Option<Db> {
        let url = keygate_tests::postgres_url()?;
        let schema = format!("kgt_{test}_{}", std::process::id());
        let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to KEYGATE_TEST_DATABASE_URL: {e}"));
        tokio::spawn(connection);
        // A leftover of an earlier run with the same pid must not leak rows in.
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .expect("drop a leftover schema");
        Some(Db { url, schema, admin })
    }

    fn options(&self) -> PostgresOptions {
        PostgresStore::builder(&self.url).schema(&self.schema)
    }

    /// A store on this schema with `options`, and the manual clock (at `T0`) it reads.
    async fn store_at_t0(&self, options: PostgresOptions) -> (PostgresStore, ManualClock) {
        let clock = ManualClock::new(T0);
        let store = options
            .connect()
            .await
            .expect("connect")
            .with_clock(clock.clone());
        (store, clock)
    }

    /// Host and port of the server.
    fn address(&self) -> SocketAddr {
        let config: tokio_postgres::Config = self.url.parse().expect("URL");
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            other => panic!("the tests need a TCP URL, not {other:?}"),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let host = if host == "localhost" {
            "127.0.0.1".to_owned()
        } else {
            host
        };
        format!("{host}:{port}").parse().expect("an IP address")
    }

    /// The URL with another host and port (a proxy's).
    fn url_via(&self, address: SocketAddr) -> String {
        let config: tokio_postgres::Config = self.url.parse().expect("URL");
        let user = config.get_user().unwrap_or("postgres");
        let password = config
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        let dbname = config.get_dbname().unwrap_or(user);
        format!("postgres://{user}{password}@{address}/{dbname}")
    }

    /// Terminates every backend with this `application_name`; how many.
    async fn terminate(&self, application_name: &str) -> usize {
        // In the select list, so it runs only on the rows the filter keeps.
        let rows = self
            .admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = $1",
                &[&application_name],
            )
            .await
            .expect("pg_terminate_backend");
        rows.iter().filter(|row| row.get::<_, bool>(0)).count()
    }

    /// Backends with this `application_name`.
    async fn backends(&self, application_name: &str) -> i64 {
        let row = self
            .admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&application_name],
            )
            .await
            .expect("pg_stat_activity");
        row.get(0)
    }

    async fn drop_schema(self) {
        self.admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.schema
            ))
            .await
            .expect("drop the test schema");
    }
}

/// Fails the test when `future` makes no progress for [`PATIENCE`].
async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: nothing happened in {PATIENCE:?}"),
    }
}

/// Waits until the listener's state satisfies `ready`.
async fn listener_until(
    listener: &mut watch::Receiver<ListenerState>,
    what: &str,
    ready: impl FnMut(&ListenerState) -> bool,
) -> ListenerState {
    *within(what, listener.wait_for(ready))
        .await
        .expect("the store is alive")
}

/// Prints a figure, and keeps it in `target/tmp/keygate-postgres-figures.txt` for CI's log.
fn report(line: &str) {
    eprintln!("{line}");
    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("keygate-postgres-figures.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}

// ---------------------------------------------------------------------------------
// Apps of several instances

async fn list_things(op: api::ListThings) -> String {
    let api::ListThings::ApiKey { api_key } = op;
    format!("listThings {}", api_key.id())
}

async fn create_thing(op: api::CreateThing) -> String {
    let api::CreateThing::ApiKey { api_key } = op;
    format!("createThing {}", api_key.id())
}

/// One instance of the app: its own pool, cache, listener and keyring.
struct Instance {
    store: Arc<CachedStore<PostgresStore>>,
    server: Arc<Server>,
}

impl Instance {
    async fn start(options: PostgresOptions, ttl: Duration) -> Instance {
        let store = options.connect().await.expect("connect");
        let store = CachedStore::new(store).with_ttl(ttl).listen_for_changes();
        let mut listener = store.inner().listener();
        listener_until(&mut listener, "listener connects", |s| s.connected).await;
        let store = Arc::new(store);
        let keyring = Keyring::from_arc(Arc::clone(&store));
        let app = Router::new()
            .route("/things", get(list_things).post(create_thing))
            .layer(api::layer(keyring));
        Instance {
            store,
            server: Arc::new(spawn(app).await),
        }
    }

    fn pg(&self) -> &PostgresStore {
        self.store.inner()
    }

    async fn status(&self, method: &str, key: &str) -> u16 {
        self.server
            .send(method, "/things", &[("X-API-Key", key)])
            .await
            .status
    }

    /// `GET /things` with `key`, checking the body of a 200.
    async fn get(&self, key: &str) -> u16 {
        let reply = self
            .server
            .send("GET", "/things", &[("X-API-Key", key)])
            .await;
        if reply.status == 200 {
            assert!(reply.body.starts_with("listThings "), "{}", reply.body);
        }
        assert!(!reply.body.contains(key), "an answer echoes the key");
        reply.status
    }

    /// Polls `GET /things` with `key` until it answers `want`; every other answer must
    /// be `was`. Fails past [`REVOCATION_BOUND`]; the answer is how long it took from
    /// `since`.
    async fn until(&self, key: &str, was: u16, want: u16, since: Instant, what: &str) -> Duration {
        loop {
            let status = self.get(key).await;
            let elapsed = since.elapsed();
            if status == want {
                return elapsed;
            }
            assert_eq!(
                status, was,
                "{what}: an answer that is neither before nor after"
            );
            assert!(
                elapsed <= REVOCATION_BOUND,
                "{what}: still {status} after {elapsed:?}"
            );
        }
    }
}

fn full(key: &SecretString) -> String {
    key.expose_secret().to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---------------------------------------------------------------------------------
// The store

#[tokio::test]
async fn store_passes_the_suite_and_persists_across_reconnects() {
    let Some(db) = Db::new("suite").await else {
        return;
    };
    let (store, clock) = db.store_at_t0(db.options()).await;
    suite::suite(&store, &clock).await;
    store.flush().await.expect("flush");
    let before = store.list_all(KeyFilter::default()).await.expect("list");
    let owners = [
        store.get_owner("alice").await.expect("owner"),
        store.get_owner("carol").await.expect("owner"),
    ];
    drop(store);

    // A new store: a new pool, nothing in memory.
    let reopened = db
        .options()
        .connect()
        .await
        .expect("reconnect")
        .with_clock(clock.clone());
    let after = reopened.list_all(KeyFilter::default()).await.expect("list");
    assert_eq!(before, after, "every field survives a reconnect");
    assert_eq!(after.len(), 4);
    assert!(
        after.iter().any(|r| r.last_used_at == Some(T0 + 500)),
        "the flushed last use is stored"
    );
    let owners_after = [
        reopened.get_owner("alice").await.expect("owner"),
        reopened.get_owner("carol").await.expect("owner"),
    ];
    assert_eq!(owners, owners_after);
    suite::names_suite(&reopened).await;
    suite::sessions_suite(&reopened, T0).await;
    drop(reopened);
    db.drop_schema().await;
}

#[tokio::test]
async fn cached_store_with_listener_passes_the_suite() {
    let Some(db) = Db::new("cached_suite").await else {
        return;
    };
    let (store, clock) = db
        .store_at_t0(db.options().heartbeat(Duration::from_millis(20)))
        .await;
    let cached = CachedStore::new(store).listen_for_changes();
    let mut listener = cached.inner().listener();
    listener_until(&mut listener, "listener connects", |s| s.connected).await;
    suite::suite(&cached, &clock).await;
    suite::names_suite(&cached).await;
    suite::sessions_suite(&cached, T0).await;
    // Heartbeats go out on the listener's connection and keep it.
    let before = cached.inner().query_count();
    within("heartbeats", async {
        while cached.inner().query_count() < before + 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let state = *listener.borrow();
    assert_eq!(
        (state.connected, state.connects, state.failures),
        (true, 1, 0)
    );
    drop(cached);
    db.drop_schema().await;
}

#[tokio::test]
async fn store_and_cached_store_pass_the_lifecycle_suite() {
    let Some(db) = Db::new("lifecycle").await else {
        return;
    };
    let (store, clock) = db.store_at_t0(db.options()).await;
    suite::lifecycle_suite(&store, &clock).await;
    suite::bulk_suite(&store).await;
    drop(store);
    db.drop_schema().await;

    let Some(db) = Db::new("cached_lifecycle").await else {
        return;
    };
    let (store, clock) = db.store_at_t0(db.options()).await;
    let cached = CachedStore::new(store).listen_for_changes();
    let mut listener = cached.inner().listener();
    listener_until(&mut listener, "listener connects", |s| s.connected).await;
    suite::lifecycle_suite(&cached, &clock).await;
    suite::bulk_suite(&cached).await;
    drop(cached);
    db.drop_schema().await;

    let Some(db) = Db::new("search").await else {
        return;
    };
    let (store, clock) = db.store_at_t0(db.options()).await;
    suite::search_suite(&store, &clock).await;
    drop(store);
    db.drop_schema().await;

    let Some(db) = Db::new("cached_search").await else {
        return;
    };
    let (store, clock) = db.store_at_t0(db.options()).await;
    let cached = CachedStore::new(store).listen_for_changes();
    suite::search_suite(&cached, &clock).await;
    drop(cached);
    db.drop_schema().await;

    let Some(db) = Db::new("retention").await else {
        return;
    };
    let (store, clock) = db
        .store_at_t0(
            db.options()
                .audit_retention(Some(Duration::from_secs(86_400))),
        )
        .await;
    suite::retention_suite(&store, &clock).await;
    drop(store);
    db.drop_schema().await;
}

/// The admin API's end-to-end scenario (`admin.rs`) over a `PostgresStore`.
#[tokio::test]
async fn the_admin_api_over_postgres() {
    let Some(db) = Db::new("admin").await else {
        return;
    };
    let store = db.options().connect().await.expect("connect");
    crate::admin::scenario(Arc::new(store)).await;
    db.drop_schema().await;
}

/// Console sessions across two instances and a restart (`console.rs`), over one schema.
#[tokio::test]
async fn console_sessions_work_across_instances() {
    let Some(db) = Db::new("console_sessions").await else {
        return;
    };
    let clock = ManualClock::new(T0);
    let open = || async {
        let store = db.options().connect().await.expect("connect");
        Arc::new(store.with_clock(clock.clone()))
    };
    let stores = [open().await, open().await, open().await];
    crate::console::across_instances(stores, &clock).await;
    db.drop_schema().await;
}

/// A schema of the previous version opens and migrates; a deleted id can never come
/// back, even through SQL; audit entries are never edited.
#[tokio::test]
async fn a_previous_schema_migrates_and_deleted_ids_never_return() {
    let Some(db) = Db::new("old_schema").await else {
        return;
    };
    let old = POSTGRES_SCHEMA_1.replace("{s}", &format!("\"{}\"", db.schema));
    db.admin.batch_execute(&old).await.expect("the old schema");
    let store = db.options().connect().await.expect("connect migrates");
    let kept = store.get("oldkey123456").await.expect("get").expect("kept");
    assert_eq!(kept.name, "old");
    assert!(kept.metadata.is_empty());
    assert_eq!(kept.created_by, None, "no audit entry names its creator");
    let disabled = store.disable("oldkey123456").await.expect("disable");
    assert_eq!(disabled.status, keygate::keys::KeyStatus::Disabled);
    store.delete("oldkey123456").await.expect("delete");
    let again = db
        .admin
        .execute(
            &format!(
                "INSERT INTO \"{}\".keys (id, name, owner_epoch, roles, created_at, status, \
                 permissions, secret_sha256) VALUES ('oldkey123456', 'again', 0, '[]', 0, \
                 'active', '{{}}', '\\x00')",
                db.schema
            ),
            &[],
        )
        .await;
    let error = again.expect_err("a deleted id is refused");
    assert!(
        format!("{error:?}").contains("never issued again"),
        "{error:?}"
    );
    let edit = db
        .admin
        .execute(
            &format!("UPDATE \"{}\".audit SET actor = 'x'", db.schema),
            &[],
        )
        .await;
    assert!(edit.is_err(), "audit entries are never changed");
    let log = store.audit(AuditQuery::new()).await.expect("audit");
    let actions: Vec<AuditAction> = log.entries.iter().map(|e| e.action).collect();
    assert_eq!(actions, [AuditAction::Delete, AuditAction::Disable]);
    suite::sessions_suite(&store, T0).await;
    drop(store);
    db.drop_schema().await;
}

/// Schema version 1, as the previous keygate wrote it, with one key.
const POSTGRES_SCHEMA_1: &str = r#"
    CREATE SCHEMA {s};
    CREATE TABLE {s}.keygate_migrations (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO {s}.keygate_migrations (version) VALUES (1);
    CREATE TABLE {s}.owners (
        id      text COLLATE "C" PRIMARY KEY,
        enabled boolean NOT NULL,
        epoch   bigint NOT NULL CHECK (epoch >= 0)
    );
    CREATE TABLE {s}.keys (
        id              text COLLATE "C" PRIMARY KEY,
        name            text NOT NULL,
        description     text,
        owner           text COLLATE "C",
        owner_epoch     bigint NOT NULL CHECK (owner_epoch >= 0),
        roles           jsonb NOT NULL,
        created_at      bigint NOT NULL,
        expires_at      bigint,
        last_used_at    bigint,
        status          text NOT NULL CHECK (status IN ('active', 'revoked')),
        schemes         jsonb,
        permissions     jsonb NOT NULL,
        secret_sha256   bytea NOT NULL,
        previous_sha256 bytea,
        previous_until  bigint,
        CHECK ((previous_sha256 IS NULL) = (previous_until IS NULL))
    );
    CREATE INDEX keys_owner ON {s}.keys (owner);
    INSERT INTO {s}.keys (id, name, owner_epoch, roles, created_at, status, permissions,
        secret_sha256)
    VALUES ('oldkey123456', 'old', 0, '["r"]', 5, 'active',
        '{"default_methods":["GET"],"per_operation":{}}', decode(repeat('00', 32), 'hex'));
"#;

/// A schema of version 2 (audit log, no creator columns) migrates, and each key's creator
/// is taken from its `create` entry; a key whose entry is gone stays unknown.
#[tokio::test]
async fn creators_are_filled_in_from_the_audit_log_when_schema_2_migrates() {
    let Some(db) = Db::new("creators").await else {
        return;
    };
    let quoted = format!("\"{}\"", db.schema);
    let old = [POSTGRES_SCHEMA_1, POSTGRES_SCHEMA_1_TO_2, AUDITED_KEYS].concat();
    db.admin
        .batch_execute(&old.replace("{s}", &quoted))
        .await
        .expect("schema 2 with keys");
    let store = db.options().connect().await.expect("connect migrates");
    let audited = store.get("audited00001").await.expect("get").expect("kept");
    assert_eq!(
        audited.created_by,
        Some(keygate::keys::Actor::admin_key("adminkey0001")),
        "the create entry's actor, not a later one's"
    );
    let kept = store.get("oldkey123456").await.expect("get").expect("kept");
    assert_eq!(kept.created_by, None, "no create entry of this key");
    let listed = store
        .list_all(keygate::keys::KeyFilter::default())
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    let new = store.create(NewKey::new("new")).await.expect("create");
    assert_eq!(new.record.created_by, Some(keygate::keys::Actor::default()));
    let got = store
        .get(&new.record.id)
        .await
        .expect("get")
        .expect("created");
    assert_eq!(got.created_by, new.record.created_by);
    drop(store);
    db.drop_schema().await;
}

/// Migration 2, as the previous keygate applied it after [`POSTGRES_SCHEMA_1`].
const POSTGRES_SCHEMA_1_TO_2: &str = r#"
    ALTER TABLE {s}.keys ADD COLUMN metadata jsonb;
    ALTER TABLE {s}.keys DROP CONSTRAINT keys_status_check;
    ALTER TABLE {s}.keys ADD CONSTRAINT keys_status_check
        CHECK (status IN ('active', 'revoked', 'disabled'));
    CREATE TABLE {s}.deleted_keys (
        id         text COLLATE "C" PRIMARY KEY,
        deleted_at bigint NOT NULL
    );
    CREATE FUNCTION {s}.keys_never_reuse() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        IF EXISTS (SELECT 1 FROM {s}.deleted_keys WHERE id = NEW.id) THEN
            RAISE EXCEPTION 'this key id was deleted and is never issued again'
                USING ERRCODE = 'unique_violation';
        END IF;
        RETURN NEW;
    END $f$;
    CREATE TRIGGER keys_never_reuse BEFORE INSERT ON {s}.keys
        FOR EACH ROW EXECUTE FUNCTION {s}.keys_never_reuse();
    DROP INDEX {s}.keys_owner;
    CREATE INDEX keys_by_created ON {s}.keys (created_at, id);
    CREATE INDEX keys_by_owner ON {s}.keys (owner, created_at, id);
    CREATE INDEX keys_by_status ON {s}.keys (status, created_at, id);
    CREATE INDEX keys_by_name ON {s}.keys (name, created_at, id);
    CREATE INDEX keys_by_expiry ON {s}.keys (expires_at, created_at, id)
        WHERE expires_at IS NOT NULL;
    CREATE TABLE {s}.audit (
        seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at          bigint NOT NULL,
        actor_kind  text NOT NULL,
        actor       text COLLATE "C" NOT NULL,
        action      text NOT NULL,
        target_kind text NOT NULL,
        target      text COLLATE "C" NOT NULL,
        changes     jsonb NOT NULL,
        request_id  text
    );
    CREATE INDEX audit_by_target ON {s}.audit (target, seq);
    CREATE INDEX audit_by_actor ON {s}.audit (actor, seq);
    CREATE INDEX audit_by_time ON {s}.audit (at);
    CREATE FUNCTION {s}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        RAISE EXCEPTION 'audit entries are never changed';
    END $f$;
    CREATE TRIGGER audit_append_only BEFORE UPDATE ON {s}.audit
        FOR EACH ROW EXECUTE FUNCTION {s}.audit_append_only();
    INSERT INTO {s}.keygate_migrations (version) VALUES (2);
"#;

/// A key of schema 2 with its audit trail (created by an admin key, then edited by the
/// CLI); the key of [`POSTGRES_SCHEMA_1`] has an edit but no create entry (pruned).
const AUDITED_KEYS: &str = r#"
    INSERT INTO {s}.keys (id, name, owner_epoch, roles, created_at, status, permissions,
        secret_sha256)
    VALUES ('audited00001', 'audited', 0, '[]', 5, 'active',
        '{"default_methods":["GET"],"per_operation":{}}', decode(repeat('00', 32), 'hex'));
    INSERT INTO {s}.audit (at, actor_kind, actor, action, target_kind, target, changes)
    VALUES (5, 'admin_key', 'adminkey0001', 'create', 'key', 'audited00001', '[]'),
        (6, 'cli', 'bob', 'update', 'key', 'audited00001', '[]'),
        (7, 'cli', 'bob', 'update', 'key', 'oldkey123456', '[]'),
        (8, 'cli', 'carol', 'create', 'owner', 'oldkey123456', '[]');
"#;

/// A schema of version 3 (the release before console sessions) migrates: its keys kept,
/// and sessions work.
#[tokio::test]
async fn a_schema_of_version_3_migrates_to_console_sessions() {
    let Some(db) = Db::new("sessions_schema").await else {
        return;
    };
    let store = db.options().connect().await.expect("connect");
    let issued = store.create(NewKey::new("kept")).await.expect("create");
    drop(store);
    // Version 3 is version 4 without the sessions' table.
    db.admin
        .batch_execute(&format!(
            "DROP TABLE \"{s}\".console_sessions; \
             DELETE FROM \"{s}\".keygate_migrations WHERE version = 4;",
            s = db.schema
        ))
        .await
        .expect("back to version 3");
    let store = db.options().connect().await.expect("connect migrates");
    let kept = store.get(&issued.record.id).await.expect("get");
    assert_eq!(kept.as_deref(), Some(&issued.record));
    suite::sessions_suite(&store, T0).await;
    drop(store);
    db.drop_schema().await;
}

#[tokio::test]
async fn migrations_run_once_when_instances_start_together_and_newer_schemas_are_refused() {
    let Some(db) = Db::new("migrations").await else {
        return;
    };
    let (a, b, c) = tokio::join!(
        db.options().connect(),
        db.options().connect(),
        db.options().connect()
    );
    let stores = [a, b, c].map(|s| s.expect("connect while others migrate"));
    let versions: Vec<i32> = db
        .admin
        .query(
            &format!(
                "SELECT version FROM \"{}\".keygate_migrations ORDER BY version",
                db.schema
            ),
            &[],
        )
        .await
        .expect("read versions")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4], "each migration applied once");
    let issued = stores[0].create(NewKey::new("k")).await.expect("create");
    for store in &stores[1..] {
        assert_eq!(
            store.get(&issued.record.id).await.expect("get").as_deref(),
            Some(&issued.record),
            "instances share keys"
        );
    }
    drop(stores);

    db.admin
        .execute(
            &format!(
                "INSERT INTO \"{}\".keygate_migrations (version) VALUES (99)",
                db.schema
            ),
            &[],
        )
        .await
        .expect("pretend a newer keygate migrated");
    match db.options().connect().await {
        Err(StoreError::NewerSchema { found: 99, .. }) => {}
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    match db.options().schema("Not-A-Schema").connect().await {
        Err(StoreError::Config { reason, .. }) => {
            assert!(reason.contains("schema name"), "{reason}");
        }
        other => panic!("expected a refused schema name, got {other:?}"),
    }
    db.drop_schema().await;
}

#[tokio::test]
async fn uses_are_buffered_and_written_in_one_statement() {
    let Some(db) = Db::new("uses").await else {
        return;
    };
    // No background flush during the test: only `flush()` and the drop write.
    let hour = Duration::from_secs(3600);
    let store = db
        .options()
        .flush_every(hour)
        .connect()
        .await
        .expect("connect");
    let other = db
        .options()
        .flush_every(hour)
        .connect()
        .await
        .expect("connect");
    let mut ids = Vec::new();
    for i in 0..20 {
        let issued = store
            .create(NewKey::new(format!("k{i}")))
            .await
            .expect("create");
        ids.push(issued.record.id);
    }

    let before = store.query_count();
    for id in &ids {
        store.record_use(id, T0 + 100).await.expect("use");
        store.record_use(id, T0 + 50).await.expect("an older use");
    }
    assert_eq!(store.query_count(), before, "recording a use sends nothing");
    assert_eq!(store.pending_uses(), ids.len());
    let seen = store.get(&ids[0]).await.expect("get").expect("exists");
    assert_eq!(
        seen.last_used_at,
        Some(T0 + 100),
        "reads include buffered uses"
    );
    assert_eq!(
        other
            .get(&ids[0])
            .await
            .expect("get")
            .expect("exists")
            .last_used_at,
        None,
        "nothing written yet"
    );

    let before = store.query_count();
    store.flush().await.expect("flush");
    assert_eq!(store.query_count(), before + 1, "one statement for 20 keys");
    assert_eq!(store.pending_uses(), 0);
    for id in &ids {
        let record = other.get(id).await.expect("get").expect("exists");
        assert_eq!(record.last_used_at, Some(T0 + 100));
    }

    // Never backwards, even across flushes.
    store.record_use(&ids[0], T0 + 10).await.expect("use");
    store.flush().await.expect("flush");
    let record = other.get(&ids[0]).await.expect("get").expect("exists");
    assert_eq!(record.last_used_at, Some(T0 + 100));

    // A key this instance has not seen costs one lookup; an unknown one is NotFound.
    let stranger = other.create(NewKey::new("other's")).await.expect("create");
    let before = store.query_count();
    store
        .record_use(&stranger.record.id, T0 + 7)
        .await
        .expect("use");
    store
        .record_use(&stranger.record.id, T0 + 8)
        .await
        .expect("use");
    assert_eq!(store.query_count(), before + 1);
    assert!(matches!(
        store.record_use("nosuchkeyid2", T0).await,
        Err(StoreError::NotFound(id)) if id == "nosuchkeyid2"
    ));

    // Dropping the store writes what is still buffered.
    store.record_use(&ids[1], T0 + 200).await.expect("use");
    drop(store);
    within("the last uses are written on drop", async {
        loop {
            let record = other.get(&ids[1]).await.expect("get").expect("exists");
            if record.last_used_at == Some(T0 + 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let record = other
        .get(&stranger.record.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(record.last_used_at, Some(T0 + 8));
    drop(other);
    db.drop_schema().await;
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_not_a_hang() {
    let Some(db) = Db::new("unreachable").await else {
        return;
    };
    // A port where nothing listens.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("address")
    };
    let url = db.url_via(closed);
    let result = within(
        "connect to a closed port",
        PostgresStore::builder(&url)
            .schema(&db.schema)
            .timeout(Duration::from_millis(500))
            .connect(),
    )
    .await;
    assert!(
        matches!(result, Err(StoreError::Unavailable { .. })),
        "{result:?}"
    );
    // A server that accepts and then says nothing: the timeout gives up.
    let proxy = Proxy::start(db.address()).await;
    proxy.set(Mode::Stall);
    let url = db.url_via(proxy.address);
    let started = Instant::now();
    let result = within(
        "connect to a silent server",
        PostgresStore::builder(&url)
            .schema(&db.schema)
            .timeout(Duration::from_millis(500))
            .connect(),
    )
    .await;
    match result {
        Err(e @ StoreError::Unavailable { .. }) => {
            // The message and every cause after it.
            let mut why = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(next) = cause {
                why = format!("{why}: {next}");
                cause = next.source();
            }
            assert!(
                !why.contains("keygate@") && !why.contains(":keygate"),
                "{why}"
            );
            report(&format!(
                "postgres: a silent server is reported unavailable after {:?} (timeout 500 ms)",
                started.elapsed()
            ));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    db.drop_schema().await;
}

// ---------------------------------------------------------------------------------
// Several instances

#[tokio::test]
async fn a_revocation_through_one_instance_is_refused_by_the_other_within_a_second() {
    let Some(db) = Db::new("two").await else {
        return;
    };
    // A TTL far beyond the bound: only a notification can make B see a change in time.
    let ttl = Duration::from_secs(60);
    let a = Instance::start(db.options().pool_size(4), ttl).await;
    let b = Instance::start(db.options().pool_size(4), ttl).await;

    const ROUNDS: usize = 120;
    let mut delays = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let issued = a
            .store
            .create(NewKey::new(format!("round {round}")))
            .await
            .expect("create through A");
        let key = full(&issued.key);
        // Warm B's cache: the key is active there now.
        assert_eq!(
            b.get(&key).await,
            200,
            "round {round}: B grants a fresh key"
        );
        assert_eq!(b.get(&key).await, 200, "round {round}: B grants it again");
        let started = Instant::now();
        a.store.revoke(&issued.record.id).await.expect("revoke");
        let delay = b
            .until(&key, 200, 401, started, &format!("round {round}"))
            .await;
        delays.push(delay);
        assert_eq!(a.get(&key).await, 401, "A refuses at once");
    }
    delays.sort();
    report(&format!(
        "postgres: revocation through instance A refused by instance B: {ROUNDS} rounds, \
         p50 {:?}, p99 {:?}, max {:?} (bound {REVOCATION_BOUND:?}, cache TTL {ttl:?})",
        percentile(&delays, 0.50),
        percentile(&delays, 0.99),
        delays[delays.len() - 1]
    ));

    // Owners, epochs, permissions and rotations cross instances the same way.
    let owned = a
        .store
        .create(NewKey::new("owned").owner("team"))
        .await
        .expect("create");
    let key = full(&owned.key);
    assert_eq!(b.get(&key).await, 200);
    let now = Instant::now();
    a.store.disable_owner("team").await.expect("disable");
    b.until(&key, 200, 401, now, "disable owner").await;
    let now = Instant::now();
    a.store.enable_owner("team").await.expect("enable");
    b.until(&key, 401, 200, now, "enable owner").await;
    let now = Instant::now();
    a.store.bump_epoch("team").await.expect("bump");
    b.until(&key, 200, 401, now, "bump epoch").await;

    let writer = a
        .store
        .create(NewKey::new("writer").permissions(Permissions::full()))
        .await
        .expect("create");
    let key = full(&writer.key);
    assert_eq!(b.status("POST", &key).await, 200);
    let change = KeyUpdate {
        permissions: Some(Permissions::read_only()),
        ..KeyUpdate::default()
    };
    a.store
        .update(&writer.record.id, change)
        .await
        .expect("update");
    let now = Instant::now();
    loop {
        match b.status("POST", &key).await {
            200 => assert!(now.elapsed() <= REVOCATION_BOUND, "update not seen"),
            403 => break,
            other => panic!("update: answered {other}"),
        }
    }
    let now = Instant::now();
    let rotated = a
        .store
        .rotate(&writer.record.id, Duration::ZERO)
        .await
        .expect("rotate");
    b.until(&key, 200, 401, now, "rotation without grace").await;
    assert_eq!(b.get(&full(&rotated)).await, 200);
    drop((a, b));
    db.drop_schema().await;
}

/// Disabling, enabling, editing and deleting a key, and deleting its owner, through
/// instance A reach instance B through NOTIFY, like a revocation: within the bound.
#[tokio::test]
async fn disable_update_and_delete_through_one_instance_reach_the_other_within_a_second() {
    let Some(db) = Db::new("two_lifecycle").await else {
        return;
    };
    let ttl = Duration::from_secs(60);
    let a = Instance::start(db.options().pool_size(4), ttl).await;
    let b = Instance::start(db.options().pool_size(4), ttl).await;

    const ROUNDS: usize = 30;
    let mut delays = Vec::with_capacity(4 * ROUNDS);
    for round in 0..ROUNDS {
        let issued = a
            .store
            .create(NewKey::new(format!("round {round}")).permissions(Permissions::full()))
            .await
            .expect("create through A");
        let (id, key) = (issued.record.id.clone(), full(&issued.key));
        assert_eq!(
            b.get(&key).await,
            200,
            "round {round}: B grants a fresh key"
        );
        let what = |step: &str| format!("round {round}: {step}");

        let started = Instant::now();
        a.store.disable(&id).await.expect("disable");
        delays.push(b.until(&key, 200, 401, started, &what("disable")).await);
        assert_eq!(a.get(&key).await, 401, "A refuses a disabled key at once");

        let started = Instant::now();
        a.store.enable(&id).await.expect("enable");
        delays.push(b.until(&key, 401, 200, started, &what("enable")).await);

        let started = Instant::now();
        let shorter = KeyUpdate::new().expires_at(Some(0));
        a.store.update(&id, shorter).await.expect("update");
        delays.push(
            b.until(&key, 200, 401, started, &what("expiry shortened"))
                .await,
        );
        let longer = KeyUpdate::new().expires_at(None);
        a.store.update(&id, longer).await.expect("update");
        let started = Instant::now();
        b.until(&key, 401, 200, started, &what("expiry removed"))
            .await;

        let started = Instant::now();
        a.store.delete(&id).await.expect("delete");
        delays.push(b.until(&key, 200, 401, started, &what("delete")).await);
        assert_eq!(b.store.get(&id).await.expect("get"), None, "gone on B too");
    }
    delays.sort();
    report(&format!(
        "postgres: disable, enable, update and delete through instance A seen by instance B: \
         {} changes, p50 {:?}, p99 {:?}, max {:?} (bound {REVOCATION_BOUND:?}, cache TTL {ttl:?})",
        delays.len(),
        percentile(&delays, 0.50),
        percentile(&delays, 0.99),
        delays[delays.len() - 1]
    ));

    // An owner's delete stops its keys on B at once, and the audit log, read on B,
    // names who did it.
    let owned = a
        .store
        .create(NewKey::new("owned").owner("acct"))
        .await
        .expect("create");
    let key = full(&owned.key);
    assert_eq!(b.get(&key).await, 200);
    let started = Instant::now();
    let by = Actor::admin_key("adminkey0001").with_request_id("req-7");
    a.store
        .change_owner(&by, "acct", OwnerChange::Delete)
        .await
        .expect("delete owner");
    b.until(&key, 200, 401, started, "owner deleted").await;
    let log = b
        .store
        .audit(AuditQuery::new().target("acct"))
        .await
        .expect("audit");
    let entry = log.entries.first().expect("an entry");
    assert_eq!(entry.action, AuditAction::DeleteOwner);
    assert_eq!(entry.actor, "adminkey0001");
    assert_eq!(entry.request_id.as_deref(), Some("req-7"));
    drop((a, b));
    db.drop_schema().await;
}

/// What a proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    /// Accepts and closes at once: the database is down.
    Refuse,
    /// Accepts and never answers: the database is unreachable.
    Stall,
}

/// A TCP proxy on 127.0.0.1 in front of the database, to take it away from one instance.
struct Proxy {
    address: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
    accept: tokio::task::AbortHandle,
}

struct ProxyState {
    mode: Mode,
    links: Vec<tokio::task::AbortHandle>,
    stalled: Vec<TcpStream>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(ProxyState {
            mode: Mode::Forward,
            links: Vec::new(),
            stalled: Vec::new(),
        }));
        let shared = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut state = shared.lock().unwrap();
                match state.mode {
                    Mode::Refuse => drop(client),
                    Mode::Stall => state.stalled.push(client),
                    Mode::Forward => {
                        let link = tokio::spawn(async move {
                            if let Ok(mut server) = TcpStream::connect(upstream).await {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        });
                        state.links.push(link.abort_handle());
                    }
                }
            }
        });
        Proxy {
            address,
            state,
            accept: accept.abort_handle(),
        }
    }

    fn set(&self, mode: Mode) {
        let mut state = self.state.lock().unwrap();
        state.mode = mode;
        state.stalled.clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for link in self.state.lock().unwrap().links.drain(..) {
            link.abort();
        }
    }
}

#[tokio::test]
async fn killed_connections_and_an_outage_give_503_then_correct_answers_without_stale_grants() {
    let Some(db) = Db::new("kill").await else {
        return;
    };
    let proxy = Proxy::start(db.address()).await;
    let name = format!("keygate-kill-test-{}", std::process::id());
    let b = Instance::start(
        PostgresStore::builder(&db.url_via(proxy.address))
            .schema(&db.schema)
            .application_name(&name)
            .timeout(Duration::from_secs(1)),
        Duration::from_secs(60),
    )
    .await;
    // The admin side reaches the database directly, also while B cannot.
    let admin = db.options().connect().await.expect("connect");
    let mut listener = b.pg().listener();

    let good = full(&admin.create(NewKey::new("good")).await.expect("create").key);
    let doomed = admin.create(NewKey::new("doomed")).await.expect("create");
    let doomed_key = full(&doomed.key);
    let early = admin.create(NewKey::new("early")).await.expect("create");
    let early_key = full(&early.key);
    for key in [&good, &doomed_key, &early_key] {
        assert_eq!(b.get(key).await, 200, "warm B's cache");
    }

    // 1. Every connection of B is killed; the database stays reachable.
    let state = *listener.borrow();
    let first = db.terminate(&name).await;
    assert!(
        first >= 2,
        "the pool's and the listener's connections: {first}"
    );
    listener_until(&mut listener, "listener reconnects", |s| {
        s.connected && s.connects > state.connects
    })
    .await;
    let answers = within("B answers again", async {
        let mut answers = Vec::new();
        loop {
            let status = b.get(&good).await;
            answers.push(status);
            match status {
                200 => return answers,
                503 => {}
                other => panic!("a valid key answered {other} after the kill"),
            }
        }
    })
    .await;
    let now = Instant::now();
    admin.revoke(&early.record.id).await.expect("revoke");
    b.until(&early_key, 200, 401, now, "revoked after the reconnect")
        .await;

    // 2. An outage: B's connections are killed and it cannot get new ones.
    proxy.set(Mode::Refuse);
    let killed = db.terminate(&name).await;
    assert!(killed >= 1, "B had connections: {killed}");
    within("B's backends are gone", async {
        while db.backends(&name).await > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // One failed attempt after that has cleared the cache, and nothing can refill it.
    let failures = listener.borrow().failures;
    listener_until(&mut listener, "listener fails to reconnect", |s| {
        !s.connected && s.failures > failures
    })
    .await;
    // Revoked where B cannot hear it.
    admin.revoke(&doomed.record.id).await.expect("revoke");
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = {
        let (stop, server, key) = (Arc::clone(&stop), Arc::clone(&b.server), doomed_key.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let reply = server.send("GET", "/things", &[("X-API-Key", &key)]).await;
                seen.push(reply.status);
            }
            seen
        })
    };
    for _ in 0..20 {
        assert_eq!(b.get(&good).await, 503, "the store is unreachable: 503");
        assert_eq!(b.get(&doomed_key).await, 503, "never a pass");
    }
    // Unreachable rather than refused: the timeout answers.
    proxy.set(Mode::Stall);
    let started = Instant::now();
    assert_eq!(within("a silent database", b.get(&good)).await, 503);
    let silent = started.elapsed();

    // 3. The database comes back: B recovers by itself.
    let state = *listener.borrow();
    let back = Instant::now();
    proxy.set(Mode::Forward);
    listener_until(&mut listener, "listener reconnects", |s| {
        s.connected && s.connects > state.connects
    })
    .await;
    within("B grants the valid key again", async {
        while b.get(&good).await != 200 {}
    })
    .await;
    let recovered = back.elapsed();
    for _ in 0..20 {
        assert_eq!(b.get(&doomed_key).await, 401, "revoked during the outage");
        assert_eq!(b.get(&good).await, 200);
    }
    stop.store(true, Ordering::SeqCst);
    let seen = hammer.await.expect("hammer");
    assert!(
        seen.iter().all(|s| *s == 401 || *s == 503),
        "a key revoked during the outage was answered {:?}",
        seen.iter()
            .filter(|s| **s != 401 && **s != 503)
            .collect::<Vec<_>>()
    );
    let count = |status: u16| seen.iter().filter(|s| **s == status).count();
    report(&format!(
        "postgres: killed connections: {first} terminated, {} answers of 503 before B \
         answered again; outage: {killed} more terminated, 503 for every request (a silent \
         database: 503 after {silent:?}); recovered {recovered:?} after the database came \
         back; the key revoked during the outage: {} x 503, {} x 401, never 200",
        answers.len() - 1,
        count(503),
        count(401),
    ));
    drop((b, admin, proxy));
    db.drop_schema().await;
}

#[tokio::test]
async fn load_through_two_instances_gives_only_the_expected_answers() {
    let Some(db) = Db::new("load").await else {
        return;
    };
    let ttl = keygate::keys::DEFAULT_TTL;
    let a = Arc::new(Instance::start(db.options().pool_size(8), ttl).await);
    let b = Arc::new(Instance::start(db.options().pool_size(8), ttl).await);

    // Each case: a key and the answers it must get on GET and on POST.
    let mut cases: Vec<(String, u16, u16)> = Vec::new();
    for i in 0..16 {
        let issued = a
            .store
            .create(NewKey::new(format!("reader {i}")))
            .await
            .expect("create");
        let wrong = KeyFormat::default()
            .generate_secret(&issued.record.id)
            .expect("secret");
        // A read-only key: 200 on GET, 403 on POST; most traffic carries valid keys.
        for _ in 0..3 {
            cases.push((full(&issued.key), 200, 403));
        }
        // Its id with another secret.
        cases.push((full(&wrong.full), 401, 401));
        // A well-formed key nobody issued.
        let unknown = KeyFormat::default().generate().expect("key");
        cases.push((full(&unknown.full), 401, 401));
    }
    for i in 0..8 {
        let issued = a
            .store
            .create(NewKey::new(format!("revoked {i}")).permissions(Permissions::full()))
            .await
            .expect("create");
        a.store.revoke(&issued.record.id).await.expect("revoke");
        cases.push((full(&issued.key), 401, 401));
    }
    cases.push(("kg_not_a_key".to_owned(), 401, 401));
    let cases = Arc::new(cases);

    const REQUESTS: usize = 4000;
    const CONCURRENCY: usize = 32;
    let queries = || a.pg().query_count() + b.pg().query_count();
    // First with cold caches, then warm: the hot path should not reach the database.
    for pass in ["cold", "warm"] {
        let before = queries();
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..CONCURRENCY {
            let (a, b, cases, next) = (
                Arc::clone(&a),
                Arc::clone(&b),
                Arc::clone(&cases),
                Arc::clone(&next),
            );
            workers.push(tokio::spawn(async move {
                let mut wrong = Vec::new();
                let mut statuses = [0usize; 4];
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= REQUESTS {
                        return (wrong, statuses);
                    }
                    let instance = if n % 2 == 0 { &a } else { &b };
                    let (key, on_get, on_post) = &cases[(n / 2) % cases.len()];
                    let (method, want) = if (n / 7) % 4 == 0 {
                        ("POST", *on_post)
                    } else {
                        ("GET", *on_get)
                    };
                    let status = instance.status(method, key).await;
                    let slot = match status {
                        200 => 0,
                        401 => 1,
                        403 => 2,
                        _ => 3,
                    };
                    statuses[slot] += 1;
                    if status != want {
                        wrong.push((n, method, want, status));
                    }
                }
            }));
        }
        let mut wrong = Vec::new();
        let mut statuses = [0usize; 4];
        for worker in workers {
            let (w, s) = within("load worker", worker).await.expect("worker");
            wrong.extend(w);
            for (total, n) in statuses.iter_mut().zip(s) {
                *total += n;
            }
        }
        let elapsed = started.elapsed();
        let used = queries() - before;
        assert!(
            wrong.is_empty(),
            "{pass}: unexpected answers (n, method, want, got): {wrong:?}"
        );
        assert_eq!(statuses[3], 0, "{pass}: only 200, 401 and 403");
        assert!(statuses[0] > 0 && statuses[1] > 0 && statuses[2] > 0);
        let per_thousand = used as f64 * 1000.0 / REQUESTS as f64;
        report(&format!(
            "postgres: load through two instances, {pass} caches: {REQUESTS} requests, \
             {CONCURRENCY} concurrent, {} x 200, {} x 401, {} x 403, no other answer; \
             {:.0} requests/s; {used} database queries = {per_thousand:.1} per 1,000 \
             requests (cache TTL {ttl:?})",
            statuses[0],
            statuses[1],
            statuses[2],
            REQUESTS as f64 / elapsed.as_secs_f64(),
        ));
        // Without the cache every request would need at least one query.
        assert!(
            per_thousand < 250.0,
            "{pass}: {per_thousand:.1} queries per 1,000 requests: the cache is not working"
        );
    }
    drop((a, b));
    db.drop_schema().await;
}

/// Audit numbers follow commit order. A trigger holds a write after it drew its entry's
/// number and before its commit; a second write meanwhile must not become visible with a
/// higher number, or a reader polling the log by number would skip the held entry when
/// it commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_numbers_follow_commit_order() {
    const GATE: i64 = 0x006b_6761_7564_6974;
    let Some(db) = Db::new("audit_order").await else {
        return;
    };
    let app = format!("kgt-audit-order-{}", std::process::id());
    let store = db
        .options()
        .timeout(PATIENCE)
        .application_name(&app)
        .connect()
        .await
        .expect("connect");
    let store = Arc::new(store);
    let s = format!("\"{}\"", db.schema);
    db.admin
        .batch_execute(&format!(
            "CREATE FUNCTION {s}.hold() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                 IF NEW.actor = 'held' THEN PERFORM pg_advisory_xact_lock_shared({GATE}); \
                 END IF; RETURN NEW; END $f$; \
             CREATE TRIGGER hold AFTER INSERT ON {s}.audit \
                 FOR EACH ROW EXECUTE FUNCTION {s}.hold();"
        ))
        .await
        .expect("the holding trigger");
    let (gate, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("the gate's connection");
    tokio::spawn(connection);
    gate.execute("SELECT pg_advisory_lock($1)", &[&GATE])
        .await
        .expect("close the gate");
    let create = |actor: &'static str| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .create_by(&Actor::app(actor), NewKey::new(actor))
                .await
        })
    };
    let waiting = || async {
        let row = db
            .admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = $1 AND wait_event_type = 'Lock'",
                &[&app],
            )
            .await
            .expect("pg_stat_activity");
        row.get::<_, i64>(0)
    };
    let held = create("held");
    within("the held write reaches the gate", async {
        while waiting().await < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // The second write either commits now (numbers out of commit order) or waits.
    let later = create("later");
    within("the second write commits or waits", async {
        while !later.is_finished() && waiting().await < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let seen = store.audit(AuditQuery::new()).await.expect("audit").entries;
    let highest = seen.iter().map(|e| e.seq).max().unwrap_or(0);
    gate.execute("SELECT pg_advisory_unlock($1)", &[&GATE])
        .await
        .expect("open the gate");
    held.await.expect("held task").expect("held write");
    later.await.expect("later task").expect("later write");
    let all = store.audit(AuditQuery::new()).await.expect("audit").entries;
    assert_eq!(all.len(), 2, "{all:?}");
    for entry in all.iter().filter(|e| !seen.iter().any(|s| s.seq == e.seq)) {
        assert!(
            entry.seq > highest,
            "entry {} by {} became visible after a reader saw entry {highest}",
            entry.seq,
            entry.actor
        );
    }
    drop(store);
    db.drop_schema().await;
}
