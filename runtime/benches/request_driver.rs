//! A fixed number of requests through one case of the request-overhead bench, for
//! instruction counts (`valgrind --tool=callgrind`): run it with two request counts and
//! divide the difference by the difference of the counts; set-up cost cancels out.
//!
//! `cargo bench -p keygate --bench request_driver --no-run`, then
//! `valgrind --tool=callgrind <bench binary> CASE REQUESTS` with CASE one of `no_auth`,
//! `limit`, `static_keys`, `keyring_memory`, `keyring_cached`, `unknown_cached`,
//! `unknown_sqlite_cached`.
//!
//! The app is the bench crate's (`GET /things`, `oneshot` on a clone of one `Router`,
//! a request template cloned per request), with the tables of `specs/keys.yaml`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{HeaderName, StatusCode};
use keygate::keys::{CachedStore, KeyFormat, KeyStore, Keyring, MemoryStore, NewKey, Permissions};
use keygate::spec::{Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse};
use keygate::{AuthLayer, Spec, StaticKeys};
use secrecy::ExposeSecret;
use tower::ServiceExt;

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const STATIC_KEY: &str = "bench-static-key-0123456789abcdef";
/// Distinct unknown ids: a fixed number, so set-up cost does not depend on REQUESTS.
const POOL: usize = 20_000;

const API_KEY: Requirement = Requirement {
    alternatives: &[Alternative {
        schemes: &[SchemeUse {
            scheme: 0,
            roles: &[],
        }],
    }],
};

/// The shape of `specs/keys.yaml`'s tables: four schemes, `GET /things` under `api_key`.
static SPEC: Spec = Spec {
    title: "Keygate Keys",
    base_path: "",
    schemes: &[
        Scheme {
            name: "api_key",
            kind: SchemeKind::ApiKey {
                location: Location::Header,
                name: "X-API-Key",
            },
        },
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
        Scheme {
            name: "basic",
            kind: SchemeKind::HttpBasic,
        },
    ],
    root: API_KEY,
    operations: &[
        Operation {
            method: "GET",
            path: "/things",
            operation_id: Some("listThings"),
            requirement: API_KEY,
        },
        Operation {
            method: "POST",
            path: "/things",
            operation_id: Some("createThing"),
            requirement: API_KEY,
        },
        Operation {
            method: "GET",
            path: "/things/{id}",
            operation_id: Some("getThing"),
            requirement: API_KEY,
        },
    ],
};

async fn ok() -> &'static str {
    "ok"
}

fn routes() -> Router {
    Router::new().route("/things", get(ok))
}

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

async fn issue<S: KeyStore>(ring: &Keyring<S>) -> String {
    let issued = ring
        .store()
        .create(NewKey::new("bench").permissions(Permissions::full()))
        .await
        .expect("create key");
    issued.key.expose_secret().to_owned()
}

fn request(key: &str) -> http::Request<()> {
    http::Request::get("/things")
        .header(X_API_KEY, key)
        .body(())
        .expect("request")
}

/// Well-formed keys (valid checksum) with random ids no store knows.
fn unknown(count: usize) -> Vec<http::Request<()>> {
    let format = KeyFormat::default();
    (0..count)
        .map(|_| {
            let id = format.generate_key_id().expect("rng");
            request(
                format
                    .assemble(&id, "0123456789abcdefABCDEF")
                    .expose_secret(),
            )
        })
        .collect()
}

/// Keys shaped like `key` whose last (checksum) character is wrong.
fn bad_checksums(key: &str, count: usize) -> Vec<http::Request<()>> {
    let (body, last) = key.split_at(key.len() - 1);
    let alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    alphabet
        .chars()
        .filter(|c| !last.contains(*c))
        .cycle()
        .take(count)
        .map(|c| request(&format!("{body}{c}")))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let case = args.first().map_or("static_keys", String::as_str);
    let count: usize = args.get(1).map_or(1_000, |n| n.parse().expect("REQUESTS"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("keygate-driver-{}", std::process::id()));
    let (router, requests, expect) = runtime.block_on(async {
        let grant = vec![request(STATIC_KEY)];
        match case {
            "no_auth" => (routes(), grant, StatusCode::OK),
            "limit" => {
                let allowed: HashMap<String, ()> = [(STATIC_KEY.to_owned(), ())].into();
                let layer = middleware::from_fn_with_state(Arc::new(allowed), hashmap_gate);
                (routes().layer(layer), grant, StatusCode::OK)
            }
            "static_keys" => {
                let keys = StaticKeys::new().key("api_key", STATIC_KEY);
                (
                    routes().layer(AuthLayer::new(&SPEC, keys)),
                    grant,
                    StatusCode::OK,
                )
            }
            "keyring_memory" => {
                let ring = Keyring::new(MemoryStore::new());
                let key = issue(&ring).await;
                let layer = AuthLayer::new(&SPEC, ring);
                (routes().layer(layer), vec![request(&key)], StatusCode::OK)
            }
            "keyring_cached" => {
                let ring = Keyring::new(CachedStore::new(MemoryStore::new()));
                let key = issue(&ring).await;
                let layer = AuthLayer::new(&SPEC, ring);
                (routes().layer(layer), vec![request(&key)], StatusCode::OK)
            }
            "unknown_cached" => {
                let ring = Keyring::new(CachedStore::new(MemoryStore::new()));
                issue(&ring).await;
                let layer = AuthLayer::new(&SPEC, ring);
                let pool = unknown(POOL);
                (routes().layer(layer), pool, StatusCode::UNAUTHORIZED)
            }
            "bad_checksum_cached" => {
                let ring = Keyring::new(CachedStore::new(MemoryStore::new()));
                let key = issue(&ring).await;
                let layer = AuthLayer::new(&SPEC, ring);
                let pool = bad_checksums(&key, POOL);
                (routes().layer(layer), pool, StatusCode::UNAUTHORIZED)
            }
            "unknown_sqlite_cached" => {
                std::fs::create_dir_all(&dir).expect("temp dir");
                let store = keygate::keys::SqliteStore::open(dir.join("k.db")).expect("open");
                let ring = Keyring::new(CachedStore::new(store));
                issue(&ring).await;
                let layer = AuthLayer::new(&SPEC, ring);
                let pool = unknown(POOL);
                (routes().layer(layer), pool, StatusCode::UNAUTHORIZED)
            }
            other => panic!("unknown case `{other}`"),
        }
    });
    runtime.block_on(async {
        // As a server would between requests: background work (the known-id list) runs.
        let first = requests[0].clone().map(|()| Body::empty());
        let _ = router.clone().oneshot(first).await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        for i in 0..count {
            let request = requests[i % requests.len()].clone().map(|()| Body::empty());
            let response = match router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            assert_eq!(response.status(), expect, "{case}: request {i}");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
