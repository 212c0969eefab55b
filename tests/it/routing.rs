//! The layer and the router agree on the operation (SEMANTICS §2): each way an app
//! could run a protected handler under a weaker requirement, tried over raw HTTP on
//! 127.0.0.1 with the request target exactly as written. The handlers here take no
//! extractor, so only the layer stands between a request and them; each says which
//! operation it serves in `x-ran`.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};
use axum::Router;
use keygate::spec::{Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse};
use keygate::{AuthLayer, Spec, StaticKeys, Undocumented};
use keygate_tests::petstore;

use crate::apps::{petstore_keys, APP, KEY, SESSION_SECRET};
use crate::support::{spawn, spawn_around, spawn_detached, RawReply, Server};

/// `X-API-Key`, verified against [`KEY`].
const API_KEY: Scheme = Scheme {
    name: "api_key",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-API-Key",
    },
};
/// `X-App-Id`, verified against [`APP`].
const APP_ID: Scheme = Scheme {
    name: "app_id",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-App-Id",
    },
};
const SCHEMES: &[Scheme] = &[API_KEY, APP_ID];

const PUBLIC: Requirement = Requirement::PUBLIC;
const KEYED: Requirement = Requirement {
    alternatives: &[Alternative {
        schemes: &[SchemeUse {
            scheme: 0,
            roles: &[],
        }],
    }],
};
const KEY_AND_APP: Requirement = Requirement {
    alternatives: &[Alternative {
        schemes: &[
            SchemeUse {
                scheme: 0,
                roles: &[],
            },
            SchemeUse {
                scheme: 1,
                roles: &[],
            },
        ],
    }],
};
/// `[{api_key}, {api_key, app_id}]`.
const KEY_OR_KEY_AND_APP: Requirement = Requirement {
    alternatives: &[KEYED.alternatives[0], KEY_AND_APP.alternatives[0]],
};

const fn op(method: &'static str, path: &'static str, requirement: Requirement) -> Operation {
    Operation {
        method,
        path,
        operation_id: None,
        requirement,
    }
}

fn keys() -> StaticKeys {
    StaticKeys::new().key("api_key", KEY).key("app_id", APP)
}

/// A handler that only says which operation it serves.
fn ran(operation: &'static str) -> impl Fn() -> std::future::Ready<Response> + Clone {
    move || std::future::ready(([("x-ran", operation)], operation).into_response())
}

/// Which handler answered: `None` when none did (a refusal).
fn handler(reply: &RawReply) -> Option<&str> {
    reply.header("x-ran")
}

const WITH_KEY: &[(&str, &str)] = &[("X-API-Key", KEY)];
const NOTHING: &[(&str, &str)] = &[];

async fn send(app: &Server, method: &str, target: &str, headers: &[(&str, &str)]) -> RawReply {
    app.send_raw(method, target, headers).await
}

// ---------------------------------------------------------------------------------
// 1. An empty path parameter in the middle of a path

/// `PUT /v1/pets//photo`: axum serves it with `petId = ""`; `uploadPetPhoto` needs
/// `api_key AND app_id` (or `AND session`), whatever the id.
#[tokio::test]
async fn empty_middle_parameter_is_still_its_operation() {
    let routes = Router::new().route("/v1/pets/{id}/photo", put(ran("uploadPetPhoto")));
    let app = spawn(routes.layer(petstore::layer(petstore_keys()))).await;
    for target in ["/v1/pets//photo", "/v1/pets/1/photo"] {
        let reply = send(&app, "PUT", target, WITH_KEY).await;
        assert_eq!((reply.status, handler(&reply)), (401, None), "PUT {target}");
    }
    let both = [("X-API-Key", KEY), ("X-App-Id", APP)];
    let reply = send(&app, "PUT", "/v1/pets//photo", &both).await;
    assert_eq!(handler(&reply), Some("uploadPetPhoto"));
    let session = format!("session={SESSION_SECRET}");
    let with_session = [("X-API-Key", KEY), ("Cookie", session.as_str())];
    let reply = send(&app, "PUT", "/v1/pets//photo", &with_session).await;
    assert_eq!(handler(&reply), Some("uploadPetPhoto"));
}

/// No root security: before, `/users//secrets` matched nothing and went through open.
#[tokio::test]
async fn empty_middle_parameter_without_root_security_is_not_open() {
    static SPEC: Spec = Spec {
        title: "users",
        base_path: "",
        schemes: SCHEMES,
        root: PUBLIC,
        operations: &[op("GET", "/users/{id}/secrets", KEYED)],
    };
    let routes = Router::new().route("/users/{id}/secrets", get(ran("secrets")));
    let app = spawn(routes.layer(AuthLayer::new(&SPEC, keys()))).await;
    let reply = send(&app, "GET", "/users//secrets", NOTHING).await;
    assert_eq!((reply.status, handler(&reply)), (401, None));
    let reply = send(&app, "GET", "/users//secrets", WITH_KEY).await;
    assert_eq!(handler(&reply), Some("secrets"));
}

// ---------------------------------------------------------------------------------
// 2. A base path the app does not route

/// `servers: [{url: .../v1}]`, no root security, every operation secured but one.
const BASED: Spec = Spec {
    title: "based",
    base_path: "/v1",
    schemes: SCHEMES,
    root: PUBLIC,
    operations: &[
        op("GET", "/pets", KEYED),
        op("DELETE", "/pets/{id}", KEY_AND_APP),
        op("GET", "/health", PUBLIC),
    ],
};
static BASED_WITHOUT_ROOT: Spec = BASED;
/// [`BASED`] with root security `api_key`, and `security: []` on `/health`.
static BASED_WITH_ROOT: Spec = Spec {
    root: KEYED,
    ..BASED
};

fn based_routes(prefix: &str) -> Router {
    Router::new()
        .route(&format!("{prefix}/pets"), get(ran("listPets")))
        .route(
            &format!("{prefix}/pets/{{id}}"),
            axum::routing::delete(ran("deletePet")),
        )
        .route(&format!("{prefix}/health"), get(ran("health")))
}

/// Each app shape serves `/pets` at `prefix`; every one must apply the operation's own
/// requirement (not the root's, not none).
async fn assert_based_app_is_guarded(app: &Server, prefix: &str, shape: &str) {
    let at = |path: &str| format!("{prefix}{path}");
    let reply = send(app, "GET", &at("/pets"), NOTHING).await;
    assert_eq!(
        (reply.status, handler(&reply)),
        (401, None),
        "{shape}: GET /pets"
    );
    let reply = send(app, "GET", &at("/pets"), WITH_KEY).await;
    assert_eq!(
        handler(&reply),
        Some("listPets"),
        "{shape}: GET /pets with a key"
    );
    // The operation's AND, not the root's single key.
    let reply = send(app, "DELETE", &at("/pets/1"), WITH_KEY).await;
    assert_eq!(
        (reply.status, handler(&reply)),
        (401, None),
        "{shape}: DELETE"
    );
    let both = [("X-API-Key", KEY), ("X-App-Id", APP)];
    let reply = send(app, "DELETE", &at("/pets/1"), &both).await;
    assert_eq!(
        handler(&reply),
        Some("deletePet"),
        "{shape}: DELETE with both"
    );
    // `security: []` is public, not the root requirement.
    let reply = send(app, "GET", &at("/health"), NOTHING).await;
    assert_eq!(handler(&reply), Some("health"), "{shape}: GET /health");
}

#[tokio::test]
async fn routes_without_the_base_path_get_their_own_requirement() {
    for spec in [&BASED_WITHOUT_ROOT, &BASED_WITH_ROOT] {
        let app = spawn(based_routes("").layer(AuthLayer::new(spec, keys()))).await;
        assert_based_app_is_guarded(&app, "", "routes as the document writes them").await;
        let app = spawn_around(AuthLayer::new(spec, keys()).around(based_routes(""))).await;
        assert_based_app_is_guarded(&app, "", "around the router").await;
    }
}

#[tokio::test]
async fn a_base_path_without_its_slash_is_the_same_base_path() {
    for spec in [&BASED_WITHOUT_ROOT, &BASED_WITH_ROOT] {
        let layer = AuthLayer::new(spec, keys()).base_path("v1");
        let app = spawn(based_routes("/v1").layer(layer)).await;
        assert_based_app_is_guarded(&app, "/v1", ".base_path(\"v1\")").await;
    }
}

#[tokio::test]
async fn nesting_keeps_the_operation() {
    for spec in [&BASED_WITHOUT_ROOT, &BASED_WITH_ROOT] {
        let layer = || AuthLayer::new(spec, keys());
        let app =
            spawn(Router::new().nest("/v1", based_routes("").layer(layer().base_path("")))).await;
        assert_based_app_is_guarded(&app, "/v1", "nest(/v1) with base_path(\"\")").await;
        let app = spawn(Router::new().nest("/api/v1", based_routes("").layer(layer()))).await;
        assert_based_app_is_guarded(&app, "/api/v1", "nest(/api/v1)").await;
        let app = spawn(Router::new().nest("/api", based_routes("/v1").layer(layer()))).await;
        assert_based_app_is_guarded(&app, "/api/v1", "nest(/api) over /v1 routes").await;
    }
}

// ---------------------------------------------------------------------------------
// 3. Text around a parameter

/// Public `/pulls/{n}` and `/ops/{name}`; secured `{n}.diff` and `{name}:cancel`. The
/// app can only route the one-parameter forms and dispatches on the decoded value.
static PULLS: Spec = Spec {
    title: "pulls",
    base_path: "",
    schemes: SCHEMES,
    root: PUBLIC,
    operations: &[
        op("GET", "/pulls/{n}", PUBLIC),
        op("GET", "/pulls/{n}.diff", KEYED),
        op("GET", "/ops/{name}", PUBLIC),
        op("POST", "/ops/{name}:cancel", KEYED),
    ],
};

async fn pull(Path(n): Path<String>) -> Response {
    let operation = if n.ends_with(".diff") { "diff" } else { "pull" };
    ([("x-ran", operation)], operation).into_response()
}

async fn operation(Path(name): Path<String>) -> Response {
    let operation = if name.ends_with(":cancel") {
        "cancel"
    } else {
        "show"
    };
    ([("x-ran", operation)], operation).into_response()
}

#[tokio::test]
async fn text_around_a_parameter_is_matched_on_the_decoded_segment() {
    let routes = Router::new()
        .route("/pulls/{n}", get(pull))
        .route("/ops/{name}", get(operation).post(operation));
    for around in [false, true] {
        let app = if around {
            spawn_around(AuthLayer::new(&PULLS, keys()).around(routes.clone())).await
        } else {
            spawn(routes.clone().layer(AuthLayer::new(&PULLS, keys()))).await
        };
        for (method, target) in [
            ("GET", "/pulls/1.diff"),
            ("GET", "/pulls/1%2Ediff"),
            ("GET", "/pulls/1%2ediff"),
            ("GET", "/pulls/.diff"),
            ("GET", "/pulls/%2Ediff"),
            ("POST", "/ops/x:cancel"),
            ("POST", "/ops/x%3Acancel"),
            ("POST", "/ops/:cancel"),
            ("POST", "/ops/%3Acancel"),
        ] {
            let reply = send(&app, method, target, NOTHING).await;
            assert_eq!(
                (reply.status, handler(&reply)),
                (401, None),
                "{method} {target} (around: {around})"
            );
            let reply = send(&app, method, target, WITH_KEY).await;
            assert!(
                matches!(handler(&reply), Some("diff" | "cancel")),
                "{method} {target} with a key: {reply:?}"
            );
        }
        let reply = send(&app, "GET", "/pulls/1", NOTHING).await;
        assert_eq!(handler(&reply), Some("pull"));
        let reply = send(&app, "GET", "/ops/x", NOTHING).await;
        assert_eq!(handler(&reply), Some("show"));
    }
}

// ---------------------------------------------------------------------------------
// 4. Routes that serve more than the document says

/// `GET /things` secured; the app answers every method with the same handler.
static THINGS: Spec = Spec {
    title: "things",
    base_path: "",
    schemes: SCHEMES,
    root: PUBLIC,
    operations: &[
        op("GET", "/things", KEYED),
        op("GET", "/files/{path}", KEYED),
        // Public, but a catch-all for `/files/{path}` also catches its paths.
        op("GET", "/files/{name}/meta", PUBLIC),
    ],
};

#[tokio::test]
async fn an_undocumented_method_on_an_any_route_is_not_open() {
    let routes = || Router::new().route("/things", any(ran("things")));
    let app = spawn(routes().layer(AuthLayer::new(&THINGS, keys()))).await;
    let reply = send(&app, "PATCH", "/things", NOTHING).await;
    assert_eq!((reply.status, handler(&reply)), (405, None));
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    for undocumented in [Undocumented::RootRequirement, Undocumented::Allow] {
        let layer = AuthLayer::new(&THINGS, keys()).undocumented(undocumented);
        let app = spawn(routes().layer(layer)).await;
        let reply = send(&app, "PATCH", "/things", NOTHING).await;
        assert_eq!(
            (reply.status, handler(&reply)),
            (401, None),
            "{undocumented:?}"
        );
        let reply = send(&app, "PATCH", "/things", WITH_KEY).await;
        assert_eq!(handler(&reply), Some("things"), "{undocumented:?}");
    }
}

#[tokio::test]
async fn a_parameter_served_by_a_catch_all_is_still_its_operation() {
    let routes = || Router::new().route("/files/{*path}", get(ran("file")));
    for undocumented in [
        Undocumented::Refuse,
        Undocumented::RootRequirement,
        Undocumented::Allow,
    ] {
        let layer = AuthLayer::new(&THINGS, keys()).undocumented(undocumented);
        let app = spawn(routes().layer(layer)).await;
        for target in [
            "/files/a",
            "/files/a/b",
            "/files/a//b/",
            "/files/%2F/x",
            "/files/a/meta",
        ] {
            let reply = send(&app, "GET", target, NOTHING).await;
            assert_eq!(
                handler(&reply),
                None,
                "GET {target} ({undocumented:?}): {reply:?}"
            );
            let reply = send(&app, "GET", target, WITH_KEY).await;
            assert_eq!(
                handler(&reply),
                Some("file"),
                "GET {target} with a key ({undocumented:?})"
            );
        }
    }
}

/// The catch-all route axum backs off to decides too: `/a/b/c` is too long for
/// `/a/{x}`, so axum runs the `/{org}/{*path}` route, whose operation is secured, even
/// though the caught tail as one segment (`/a/b%2Fc`) reads as the public `/a/{x}`.
#[tokio::test]
async fn a_catch_all_behind_a_more_literal_route_is_its_own_operation() {
    static ORGS: Spec = Spec {
        title: "orgs",
        base_path: "",
        schemes: SCHEMES,
        root: PUBLIC,
        operations: &[
            op("GET", "/a/{x}", PUBLIC),
            op("GET", "/{org}/{path}", KEYED),
        ],
    };
    let routes = Router::new()
        .route("/a/{x}", get(ran("a")))
        .route("/{org}/{*path}", get(ran("org")));
    let app = spawn(routes.layer(AuthLayer::new(&ORGS, keys()))).await;
    let reply = send(&app, "GET", "/a/b/c", NOTHING).await;
    assert_eq!((reply.status, handler(&reply)), (401, None));
    let reply = send(&app, "GET", "/a/b/c", WITH_KEY).await;
    assert_eq!(handler(&reply), Some("org"));
    let reply = send(&app, "GET", "/a/b", NOTHING).await;
    assert_eq!(handler(&reply), Some("a"));
}

/// A middleware that rewrites paths sits between the layer and the router: the guard
/// never saw the path the router routes, so it must not pass the request on the
/// strength of another one.
#[tokio::test]
async fn a_path_rewritten_behind_the_layer_is_refused_not_opened() {
    let routes = Router::new().route("/things", get(ran("things")));
    let trim = tower::ServiceBuilder::new()
        .map_request(|mut request: axum::extract::Request| {
            let path = request.uri().path();
            if path.len() > 1 && path.ends_with('/') {
                let trimmed = path.trim_end_matches('/').to_owned();
                *request.uri_mut() = trimmed.parse().expect("a path");
            }
            request
        })
        .service(routes);
    let app =
        spawn_around(AuthLayer::new(&THINGS, keys()).around(Router::new().fallback_service(trim)))
            .await;
    let reply = send(&app, "GET", "/things/", NOTHING).await;
    assert_eq!(handler(&reply), None, "{reply:?}");
    let reply = send(&app, "GET", "/things", WITH_KEY).await;
    assert_eq!(handler(&reply), Some("things"));
}

/// Inside the router, the route axum matched decides too: `/pets/mine` is public in
/// the document, but this app routes it to the `{id}` handler, which is secured.
#[tokio::test]
async fn the_matched_route_decides_inside_the_router() {
    static MINE: Spec = Spec {
        title: "mine",
        base_path: "",
        schemes: SCHEMES,
        root: PUBLIC,
        operations: &[
            op("GET", "/pets/mine", PUBLIC),
            op("GET", "/pets/{id}", KEYED),
        ],
    };
    let app = spawn(
        Router::new()
            .route("/pets/{id}", get(ran("pet")))
            .layer(AuthLayer::new(&MINE, keys())),
    )
    .await;
    let reply = send(&app, "GET", "/pets/mine", NOTHING).await;
    assert_eq!((reply.status, handler(&reply)), (401, None));
    let reply = send(&app, "GET", "/pets/mine", WITH_KEY).await;
    assert_eq!(handler(&reply), Some("pet"));
    // Routed as the document writes it, `/pets/mine` stays public.
    let routes = Router::new()
        .route("/pets/mine", get(ran("mine")))
        .route("/pets/{id}", get(ran("pet")));
    let app = spawn(routes.layer(AuthLayer::new(&MINE, keys()))).await;
    let reply = send(&app, "GET", "/pets/mine", NOTHING).await;
    assert_eq!(handler(&reply), Some("mine"));
}

/// AWS-style documents tell operations on one route apart after `#`
/// (`/#X-Amz-Target=...`), and others document one route twice with renamed parameters:
/// the app routes `/` or `/files/{id}` once, and its handler may serve any of them, so a
/// request must meet each one's requirement.
#[tokio::test]
async fn operations_sharing_a_route_each_apply() {
    const APP_ONLY: Requirement = Requirement {
        alternatives: &[Alternative {
            schemes: &[SchemeUse {
                scheme: 1,
                roles: &[],
            }],
        }],
    };
    static SHARED: Spec = Spec {
        title: "shared",
        base_path: "",
        schemes: SCHEMES,
        root: PUBLIC,
        operations: &[
            op("POST", "/#X-Amz-Target=Service.Read", KEYED),
            op("POST", "/#X-Amz-Target=Service.Write", APP_ONLY),
            op("GET", "/{Bucket}/{Key}", PUBLIC),
            op("GET", "/{Bucket}/{Key}#uploadId", KEYED),
            op("DELETE", "/files/{folderId}", PUBLIC),
            op("DELETE", "/files/{folderPath}", APP_ONLY),
        ],
    };
    let routes = Router::new()
        .route("/", axum::routing::post(ran("target")))
        .route("/{bucket}/{key}", get(ran("object")))
        .route("/files/{id}", axum::routing::delete(ran("file")));
    let app = spawn(routes.layer(AuthLayer::new(&SHARED, keys()))).await;
    let both = [("X-API-Key", KEY), ("X-App-Id", APP)];
    let app_only = [("X-App-Id", APP)];
    for (method, target, enough, not_enough) in [
        (
            "POST",
            "/",
            &both[..],
            &[WITH_KEY, &app_only[..], NOTHING][..],
        ),
        ("GET", "/b/k", WITH_KEY, &[NOTHING][..]),
        (
            "DELETE",
            "/files/7",
            &app_only[..],
            &[NOTHING, WITH_KEY][..],
        ),
    ] {
        for headers in not_enough {
            let reply = send(&app, method, target, headers).await;
            assert_eq!(
                (reply.status, handler(&reply)),
                (401, None),
                "{method} {target} {headers:?}"
            );
        }
        let reply = send(&app, method, target, enough).await;
        assert_eq!(reply.status, 200, "{method} {target}: {reply:?}");
    }
}

// ---------------------------------------------------------------------------------
// 5. Matcher cost

/// `{a}.{b}.{c}.json` against a segment of thousands of dots: before, the matcher tried
/// every split (1.9 s for 800 dots, ten times more for each doubling); it must answer
/// at once. The bench (`overhead_report`) prints the figures.
#[tokio::test]
async fn a_hostile_segment_is_matched_in_linear_time() {
    static DOTS: Spec = Spec {
        title: "dots",
        base_path: "",
        schemes: SCHEMES,
        root: PUBLIC,
        operations: &[
            op("GET", "/files/{a}.{b}.{c}.json", KEYED),
            op("GET", "/files/{n}.diff", KEYED),
        ],
    };
    // Its own thread: if matching hangs, the request times out and the test fails.
    let app = spawn_detached(
        Router::new()
            .route("/files/{name}", get(ran("file")))
            .layer(AuthLayer::new(&DOTS, keys())),
    );
    for target in [
        format!("/files/{}", ".".repeat(4000)),
        format!("/files/{}", "a".repeat(60_000)),
    ] {
        let reply = send(&app, "GET", &target, NOTHING).await;
        assert_eq!(handler(&reply), None);
        assert!(matches!(reply.status, 401 | 404), "{}", reply.status);
    }
    let reply = send(
        &app,
        "GET",
        &format!("/files/{}x.json", ".".repeat(4000)),
        NOTHING,
    )
    .await;
    assert_eq!((reply.status, handler(&reply)), (401, None));
}

// ---------------------------------------------------------------------------------
// 6. Credentials, and who wins

#[tokio::test]
async fn a_quoted_cookie_value_is_read_without_its_quotes() {
    let routes = Router::new().route("/v1/pets/{id}", get(ran("showPetById")));
    let app = spawn(routes.layer(petstore::layer(petstore_keys()))).await;
    let quoted = format!("session=\"{SESSION_SECRET}\"");
    let reply = send(&app, "GET", "/v1/pets/1", &[("Cookie", &quoted)]).await;
    assert_eq!(handler(&reply), Some("showPetById"), "{reply:?}");
}

/// `[{api_key}, {api_key, app_id}]` with both valid: the handler gets both principals.
#[tokio::test]
async fn the_alternative_with_most_schemes_wins() {
    static BOTH: Spec = Spec {
        title: "both",
        base_path: "",
        schemes: SCHEMES,
        root: PUBLIC,
        operations: &[op("GET", "/me", KEY_OR_KEY_AND_APP)],
    };
    async fn who(auth: keygate::Authenticated) -> String {
        let ids: Vec<&str> = auth.principals().map(|(_, p)| p.id()).collect();
        format!("{:?} {}", auth.alternative(), ids.join(","))
    }
    let app = spawn(
        Router::new()
            .route("/me", get(who))
            .layer(AuthLayer::new(&BOTH, keys())),
    )
    .await;
    let reply = send(&app, "GET", "/me", &[("X-API-Key", KEY), ("X-App-Id", APP)]).await;
    assert_eq!(reply.body, "Some(1) api_key#1,app_id#1");
    let reply = send(&app, "GET", "/me", WITH_KEY).await;
    assert_eq!(reply.body, "Some(0) api_key#1");
}
