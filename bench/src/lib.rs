//! The setups shared by the criterion bench (`benches/request_overhead.rs`) and the
//! interleaved report (`src/bin/overhead_report.rs`): one trivial `Router`, with and
//! without the layer generated from `specs/keys.yaml`, and spec tables of 10 to 10,000
//! operations for routing scaling.
//!
//! Every case is driven the same way: a request template built once, cloned per
//! request, sent with tower's `oneshot` on a clone of the case's `Router`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use keygate::keys::{
    CachedStore, KeyFormat, KeyStore, Keyring, MemoryStore, NewKey, Permissions, SqliteStore,
};
use keygate::spec::{Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse};
use keygate::{AuthLayer, AuthService, Spec, StaticKeys};
use secrecy::ExposeSecret;
use tower::ServiceExt;

// The helpers and the `specs/keys.yaml` module keygate-tests compiles, through symlinks to
// its files (one copy of each): a dependency on that unpublished crate would keep this one
// from packaging (`cargo package --workspace`).
#[allow(unreachable_pub)] // public in keygate-tests, which exports it
mod counting_store;
mod forward_store;
mod temp_dir;
/// The module generated from `specs/keys.yaml` (its snapshot, `tests/snapshots/keys.rs`).
mod api {
    include!("keys_snapshot.rs");
}

use counting_store::CountingStore;
/// The SQLite files' directory, for `request_driver` too.
pub use temp_dir::TempDir;

/// The key `StaticKeys` and the hand-written middleware accept.
pub const STATIC_KEY: &str = "bench-static-key-0123456789abcdef";

/// Distinct random keys in each refusal pool: more than pass through the cache within
/// its TTL, so every unknown id is new to it.
pub const POOL: usize = 100_000;

/// Distinct unknown ids of the small pool, which cycles well within the cache TTL.
pub const SMALL_POOL: usize = 1_000;

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// Requests between two yields to the runtime.
const YIELD_EVERY: usize = 1024;

async fn ok() -> &'static str {
    "ok"
}

/// The app every request-overhead case shares.
fn routes() -> Router {
    Router::new().route("/things", get(ok))
}

/// The limit: a `HashMap` lookup of one header (`X-API-Key`), nothing else; in
/// `from_fn_with_state` (see [`behind_limit`]).
async fn hashmap_gate(
    State(keys): State<Arc<HashMap<String, ()>>>,
    request: Request,
    next: Next,
) -> Response {
    let known = request
        .headers()
        .get(&X_API_KEY)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|key| keys.contains_key(key));
    if known {
        next.run(request).await
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

/// `router` behind the limit: [`hashmap_gate`] over a map that holds [`STATIC_KEY`].
pub fn behind_limit(router: Router) -> Router {
    let allowed: HashMap<String, ()> = [(STATIC_KEY.to_owned(), ())].into();
    router.layer(middleware::from_fn_with_state(
        Arc::new(allowed),
        hashmap_gate,
    ))
}

/// The `StaticKeys` of every case that checks the test spec's `api_key` scheme: one key,
/// [`STATIC_KEY`].
pub fn static_keys_verifier() -> StaticKeys {
    StaticKeys::new().key(api::scheme::API_KEY, STATIC_KEY)
}

/// One measured case: a router and the requests sent to it, in turn.
#[derive(Clone)]
pub struct Case {
    /// `group/name`, as criterion and the report show it.
    pub name: &'static str,
    app: App,
    requests: Arc<[http::Request<()>]>,
    /// The status every request must get.
    pub expect: StatusCode,
}

/// Where a case's layer sits: inside the router (`Router::layer`, which wraps every
/// route, as in the README), or around the whole `Router` (`AuthLayer::around`).
#[derive(Clone)]
pub enum App {
    /// A router, with or without layers of its own.
    Inside(Router),
    /// The generated layer wrapped around a router.
    Around(AuthService<Router>),
}

impl Case {
    fn new(
        name: &'static str,
        router: Router,
        requests: Vec<http::Request<()>>,
        expect: StatusCode,
    ) -> Case {
        Case::of(name, App::Inside(router), requests, expect)
    }

    /// A case whose layer is wrapped around the whole router.
    fn around(
        name: &'static str,
        layer: AuthLayer,
        requests: Vec<http::Request<()>>,
        expect: StatusCode,
    ) -> Case {
        Case::of(name, App::Around(layer.around(routes())), requests, expect)
    }

    fn of(
        name: &'static str,
        app: App,
        requests: Vec<http::Request<()>>,
        expect: StatusCode,
    ) -> Case {
        Case {
            name,
            app,
            requests: requests.into(),
            expect,
        }
    }

    /// Sends request `i` (modulo the pool) and returns the status.
    pub async fn send(&self, i: usize) -> StatusCode {
        // A server yields to its runtime between connections; a loop of requests that
        // never wait would starve background tasks (the keyring's last-use writes). Every
        // case pays the same.
        if i % YIELD_EVERY == YIELD_EVERY - 1 {
            tokio::task::yield_now().await;
        }
        let request = self.requests[i % self.requests.len()]
            .clone()
            .map(|()| Body::empty());
        let response = match &self.app {
            App::Inside(router) => router.clone().oneshot(request).await,
            App::Around(service) => service.clone().oneshot(request).await,
        };
        match response {
            Ok(response) => response.status(),
            Err(never) => match never {},
        }
    }

    /// Sends `count` requests starting at `start`; panics on an unexpected status.
    pub async fn run(&self, start: usize, count: usize) {
        for i in start..start + count {
            let status = self.send(i).await;
            assert_eq!(status, self.expect, "{}: request {i}", self.name);
        }
    }
}

fn get_with_key(path: &str, key: &str) -> http::Request<()> {
    http::Request::get(path)
        .header(X_API_KEY, key)
        .body(())
        .expect("request")
}

fn post_with_key(path: &str, key: &str) -> http::Request<()> {
    http::Request::post(path)
        .header(X_API_KEY, key)
        .body(())
        .expect("request")
}

/// Well-formed keys (valid checksum) with random, unknown ids.
fn unknown_keys(count: usize) -> Vec<String> {
    let format = KeyFormat::default();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..count)
        .map(|_| {
            let id = format.generate_key_id().expect("rng");
            // The secret does not matter: the id is unknown either way.
            let secret: String = (0..keygate::keys::SECRET_LEN)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let alphabet =
                        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
                    char::from(alphabet[(state % 62) as usize])
                })
                .collect();
            format.assemble(&id, &secret).expose_secret().to_owned()
        })
        .collect()
}

/// The same keys with the last checksum character changed.
fn bad_checksums(keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|key| {
            let mut bytes = key.clone().into_bytes();
            let last = bytes.len() - 1;
            bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).expect("ascii")
        })
        .collect()
}

/// Every request-overhead case, plus what the refusal checks need.
pub struct Cases {
    /// The router without any layer.
    pub no_auth: Case,
    /// The same router fed the refusal cases' pool of [`POOL`] requests: what cloning a
    /// template that has left the CPU caches costs the harness, which the refusal cases
    /// pay too.
    pub no_auth_pool: Case,
    /// The same over the pool of [`SMALL_POOL`] requests.
    pub no_auth_small_pool: Case,
    /// `from_fn_with_state` with a `HashMap` lookup of `X-API-Key`.
    pub from_fn_hashmap: Case,
    /// The generated layer over `StaticKeys`.
    pub static_keys: Case,
    /// The generated layer over `Keyring<MemoryStore>`.
    pub keyring_memory: Case,
    /// The generated layer over `Keyring<CachedStore<SqliteStore>>`.
    pub keyring_sqlite_cached: Case,
    /// `static_keys` with the layer around the whole router instead of inside it.
    pub static_keys_around: Case,
    /// `keyring_memory` with the layer around the whole router.
    pub keyring_memory_around: Case,
    /// Keys with a bad checksum against a second SQLite keyring, set up like the first:
    /// 401.
    pub refuse_bad_checksum: Case,
    /// Well-formed keys with unknown ids against the SQLite keyring: 401, one store read
    /// per id, then its absence cached.
    pub refuse_unknown_ids: Case,
    /// The same from a pool of [`SMALL_POOL`] ids: their absence stays cached.
    pub refuse_unknown_ids_repeated: Case,
    /// Verification reads that reached either SQLite store.
    pub sqlite_reads: Arc<AtomicU64>,
    _dir: TempDir,
}

impl Cases {
    /// Builds every case; `runtime` runs the store setup.
    pub fn new(runtime: &tokio::runtime::Runtime) -> Cases {
        let grant = || vec![get_with_key("/things", STATIC_KEY)];

        let no_auth = Case::new("baseline/no_auth", routes(), grant(), StatusCode::OK);

        let from_fn_hashmap = Case::new(
            "baseline/from_fn_hashmap",
            behind_limit(routes()),
            grant(),
            StatusCode::OK,
        );

        let static_keys = Case::new(
            "keygate/static_keys",
            routes().layer(api::layer(static_keys_verifier())),
            grant(),
            StatusCode::OK,
        );

        let memory = Keyring::new(MemoryStore::new());
        let key = runtime.block_on(issue(&memory));
        let keyring_memory = Case::new(
            "keygate/keyring_memory",
            routes().layer(api::layer(memory)),
            vec![get_with_key("/things", &key)],
            StatusCode::OK,
        );

        let static_keys_around = Case::around(
            "around/static_keys",
            api::layer(static_keys_verifier()),
            grant(),
            StatusCode::OK,
        );
        let memory = Keyring::new(MemoryStore::new());
        let key = runtime.block_on(issue(&memory));
        let keyring_memory_around = Case::around(
            "around/keyring_memory",
            api::layer(memory),
            vec![get_with_key("/things", &key)],
            StatusCode::OK,
        );

        let dir = TempDir::new("bench");
        let reads = Arc::new(AtomicU64::new(0));
        // Grants and refusals each get a store of their own, so the refusals' flood of
        // cache entries does not land in the grant's figure.
        let sqlite_keyring = |file: &str| {
            let sqlite = SqliteStore::open_or_create(dir.file(file)).expect("open sqlite");
            let counted = CountingStore::new(sqlite).reads_into(&reads);
            Keyring::new(CachedStore::new(counted))
        };
        let cached = sqlite_keyring("grants.db");
        let key = runtime.block_on(issue(&cached));
        let keyring_sqlite_cached = Case::new(
            "keygate/keyring_sqlite_cached",
            routes().layer(api::layer(cached)),
            vec![get_with_key("/things", &key)],
            StatusCode::OK,
        );
        let refusing = sqlite_keyring("refusals.db");
        runtime.block_on(issue(&refusing));
        let router = routes().layer(api::layer(refusing));

        let unknown = unknown_keys(POOL);
        let bad = bad_checksums(&unknown);
        let to_requests =
            |keys: &[String]| keys.iter().map(|k| get_with_key("/things", k)).collect();
        let refuse_bad_checksum = Case::new(
            "refuse/bad_checksum",
            router.clone(),
            to_requests(&bad),
            StatusCode::UNAUTHORIZED,
        );
        let refuse_unknown_ids = Case::new(
            "refuse/unknown_ids",
            router.clone(),
            to_requests(&unknown),
            StatusCode::UNAUTHORIZED,
        );
        let repeated = unknown_keys(SMALL_POOL);
        let refuse_unknown_ids_repeated = Case::new(
            "refuse/unknown_ids_repeated",
            router,
            to_requests(&repeated),
            StatusCode::UNAUTHORIZED,
        );
        let no_auth_pool = Case::new(
            "baseline/no_auth_pool",
            routes(),
            to_requests(&unknown),
            StatusCode::OK,
        );
        let no_auth_small_pool = Case::new(
            "baseline/no_auth_small_pool",
            routes(),
            to_requests(&repeated),
            StatusCode::OK,
        );

        Cases {
            no_auth,
            no_auth_pool,
            no_auth_small_pool,
            from_fn_hashmap,
            static_keys,
            keyring_memory,
            keyring_sqlite_cached,
            static_keys_around,
            keyring_memory_around,
            refuse_bad_checksum,
            refuse_unknown_ids,
            refuse_unknown_ids_repeated,
            sqlite_reads: reads,
            _dir: dir,
        }
    }

    /// The cases in report order.
    pub fn all(&self) -> [&Case; 12] {
        [
            &self.no_auth,
            &self.no_auth_pool,
            &self.no_auth_small_pool,
            &self.from_fn_hashmap,
            &self.static_keys,
            &self.keyring_memory,
            &self.keyring_sqlite_cached,
            &self.static_keys_around,
            &self.keyring_memory_around,
            &self.refuse_bad_checksum,
            &self.refuse_unknown_ids,
            &self.refuse_unknown_ids_repeated,
        ]
    }
}

/// The cases of `request_driver` (instruction counts under callgrind), each built alone:
/// no pools of 100,000 and no SQLite file unless the case needs one (in `dir`).
pub const DRIVER_CASES: [&str; 9] = [
    "no_auth",
    "limit",
    "static_keys",
    "static_keys_around",
    "keyring_memory",
    "keyring_cached",
    "unknown_cached",
    "bad_checksum_cached",
    "unknown_sqlite_cached",
];

/// Distinct keys of `request_driver`'s refusal cases: a fixed number, so set-up cost
/// does not depend on how many requests are sent.
const DRIVER_POOL: usize = 20_000;

/// The `request_driver` case called `name` (one of [`DRIVER_CASES`]), or `None`.
/// Caches are over `MemoryStore` unless the name says SQLite.
pub fn driver_case(runtime: &tokio::runtime::Runtime, name: &str, dir: &Path) -> Option<Case> {
    let grant = || vec![get_with_key("/things", STATIC_KEY)];
    let to_requests = |keys: &[String]| keys.iter().map(|k| get_with_key("/things", k)).collect();
    let case = match name {
        "no_auth" => Case::new("no_auth", routes(), grant(), StatusCode::OK),
        "limit" => Case::new("limit", behind_limit(routes()), grant(), StatusCode::OK),
        "static_keys" => {
            let router = routes().layer(api::layer(static_keys_verifier()));
            Case::new("static_keys", router, grant(), StatusCode::OK)
        }
        "static_keys_around" => Case::around(
            "static_keys_around",
            api::layer(static_keys_verifier()),
            grant(),
            StatusCode::OK,
        ),
        "keyring_memory" | "keyring_cached" => {
            let (router, key) = if name == "keyring_memory" {
                keyring_on(runtime, MemoryStore::new())
            } else {
                keyring_on(runtime, CachedStore::new(MemoryStore::new()))
            };
            let requests = vec![get_with_key("/things", &key)];
            Case::new("keyring", router, requests, StatusCode::OK)
        }
        "unknown_cached" | "bad_checksum_cached" => {
            let (router, _) = keyring_on(runtime, CachedStore::new(MemoryStore::new()));
            let unknown = unknown_keys(DRIVER_POOL);
            let keys = if name == "unknown_cached" {
                unknown
            } else {
                bad_checksums(&unknown)
            };
            Case::new(
                "refusal",
                router,
                to_requests(&keys),
                StatusCode::UNAUTHORIZED,
            )
        }
        "unknown_sqlite_cached" => {
            let store = SqliteStore::open_or_create(dir.join("driver.db")).expect("open sqlite");
            let (router, _) = keyring_on(runtime, CachedStore::new(store));
            let keys = unknown_keys(DRIVER_POOL);
            Case::new(
                "refusal",
                router,
                to_requests(&keys),
                StatusCode::UNAUTHORIZED,
            )
        }
        _ => return None,
    };
    Some(case)
}

/// The app behind the generated layer over a keyring on `store`, and a valid key.
fn keyring_on<S: KeyStore>(runtime: &tokio::runtime::Runtime, store: S) -> (Router, String) {
    let ring = Keyring::new(store);
    let key = runtime.block_on(issue(&ring));
    (routes().layer(api::layer(ring)), key)
}

async fn issue<S: KeyStore>(ring: &Keyring<S>) -> String {
    let issued = ring
        .store()
        .create(NewKey::new("bench").permissions(Permissions::full()))
        .await
        .expect("create key");
    issued.key.expose_secret().to_owned()
}

/// Operation counts of the scaling modules.
pub const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// The one scheme of the scaling tables: `X-API-Key`.
const SCALING_SCHEMES: &[Scheme] = &[Scheme {
    name: "api_key",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-API-Key",
    },
}];

/// `security: [{api_key: []}]`, on every operation and at the root.
const API_KEY_ONLY: Requirement = Requirement {
    alternatives: &[Alternative {
        schemes: &[SchemeUse {
            scheme: 0,
            roles: &[],
        }],
    }],
};

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// The tables the generator emits for a document of `operations` operations: paths
/// `/r{i}/items/{id}`, each with a GET (`getR{i}`) and a POST (`postR{i}`), all needing
/// `api_key`. Built at run time: generated modules of 10,000 operations (half a
/// million lines with their extractors) take over a minute to compile.
pub fn scaling_spec(operations: usize) -> &'static Spec {
    let table: Vec<Operation> = (0..operations / 2)
        .flat_map(|i| {
            let path = leak(format!("/r{i}/items/{{id}}"));
            [
                Operation {
                    method: "GET",
                    path,
                    operation_id: Some(leak(format!("getR{i}"))),
                    requirement: API_KEY_ONLY,
                },
                Operation {
                    method: "POST",
                    path,
                    operation_id: Some(leak(format!("postR{i}"))),
                    requirement: API_KEY_ONLY,
                },
            ]
        })
        .collect();
    Box::leak(Box::new(Spec {
        title: "Scaling",
        base_path: "",
        schemes: SCALING_SCHEMES,
        root: API_KEY_ONLY,
        operations: Box::leak(table.into_boxed_slice()),
    }))
}

/// Routing scaling: for each size, the layer over `StaticKeys` on a router whose
/// fallback answers every path, and the same router without the layer.
pub struct Scaling {
    /// `(operations, no layer, middle operation, last operation)` per size.
    pub sizes: Vec<(usize, Case, Case, Case)>,
}

impl Scaling {
    /// Builds the cases.
    pub fn new() -> Scaling {
        let sizes = SIZES
            .iter()
            .map(|&size| {
                let keys = StaticKeys::new().key("api_key", STATIC_KEY);
                let layer = AuthLayer::new(scaling_spec(size), keys);
                let bare = Router::new().fallback(ok);
                let guarded = bare.clone().layer(layer);
                let paths = size / 2;
                let middle = get_with_key(&format!("/r{}/items/42", paths / 2), STATIC_KEY);
                let last = post_with_key(&format!("/r{}/items/42", paths - 1), STATIC_KEY);
                (
                    size,
                    Case::new("scaling/no_layer", bare, vec![last.clone()], StatusCode::OK),
                    Case::new(
                        "scaling/middle",
                        guarded.clone(),
                        vec![middle],
                        StatusCode::OK,
                    ),
                    Case::new("scaling/last", guarded, vec![last], StatusCode::OK),
                )
            })
            .collect();
        Scaling { sizes }
    }
}

impl Default for Scaling {
    fn default() -> Scaling {
        Scaling::new()
    }
}

/// The runtime every case runs on: current-thread, so no cross-thread wake-ups are
/// measured; SQLite reads still go to its blocking pool.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The tables generated from `specs/keys.yaml`: what `scale_report` checks key names
/// against (`Keyring::check_names`).
pub fn keys_spec() -> &'static Spec {
    &api::SPEC
}
