//! The generated layer applied two ways: inside the router (`Router::layer`, which wraps
//! every route) and around the whole `Router` (`layer(..).around(router)`, served with
//! `into_make_service`), which costs less per request. For an app that routes the
//! document's templates, both must answer every request alike: the path names the
//! operation, and inside the router the matched route only confirms it.

use std::collections::BTreeMap;

use keygate::Undocumented;
use keygate_tests::petstore;

use crate::apps::{
    petstore_keys, petstore_routes, APP, BASIC_PAIR, BEARER_TOKEN, KEY, QUERY_SECRET_ENCODED,
    SESSION_COOKIE, UNKNOWN_KEY, WRITER_KEY,
};
use crate::support::{spawn, spawn_around, Reply, Server};

const PATHS: &[&str] = &[
    "/v1/pets",
    "/v1/pets/7",
    "/v1/pets/7/photo",
    "/v1/stats",
    "/v1/health",
    "/v1/me",
    "/v1/export",
    "/v1/nowhere",
    "/elsewhere",
    "/",
];

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// What a client may present: nothing, each scheme's credential, a wrong one, and an
/// AND pair.
fn credentials() -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let query = format!("?api_key={QUERY_SECRET_ENCODED}");
    vec![
        (String::new(), vec![]),
        (String::new(), vec![("x-api-key", KEY)]),
        (String::new(), vec![("x-api-key", WRITER_KEY)]),
        (String::new(), vec![("x-api-key", UNKNOWN_KEY)]),
        (String::new(), vec![("x-api-key", KEY), ("x-app-id", APP)]),
        (String::new(), vec![("authorization", BEARER_TOKEN)]),
        (String::new(), vec![("authorization", BASIC_PAIR)]),
        (String::new(), vec![("cookie", SESSION_COOKIE)]),
        (query, vec![]),
    ]
}

/// The parts of an answer both placements must agree on.
fn seen(reply: &Reply) -> (u16, Vec<String>, Option<String>, String) {
    (
        reply.status,
        reply.www_authenticate.clone(),
        reply.content_type.clone(),
        reply.body.clone(),
    )
}

/// Sends every method, path and credential to both servers and compares the answers;
/// counts them by status.
async fn compare(inside: &Server, around: &Server, statuses: &mut BTreeMap<u16, usize>) {
    for path in PATHS {
        for method in METHODS {
            for (query, headers) in credentials() {
                let target = format!("{path}{query}");
                let a = inside.send(method, &target, &headers).await;
                let b = around.send(method, &target, &headers).await;
                assert_eq!(
                    seen(&a),
                    seen(&b),
                    "{method} {target} {headers:?}: inside the router, then around it"
                );
                *statuses.entry(a.status).or_insert(0) += 1;
            }
        }
    }
}

#[tokio::test]
async fn the_layer_around_the_router_answers_as_the_layer_inside_it() {
    let mut statuses = BTreeMap::new();
    for undocumented in [
        Undocumented::Refuse,
        Undocumented::RootRequirement,
        Undocumented::Allow,
    ] {
        let layer = || petstore::layer(petstore_keys()).undocumented(undocumented);
        let inside = spawn(petstore_routes("/v1").layer(layer())).await;
        let around = spawn_around(layer().around(petstore_routes("/v1"))).await;
        compare(&inside, &around, &mut statuses).await;
    }
    // The table reaches grants, refusals and routing answers alike, or it proves little.
    for status in [200, 401, 403, 404, 405] {
        assert!(
            statuses.contains_key(&status),
            "no {status} among {statuses:?}"
        );
    }
    let compared: usize = statuses.values().sum();
    println!("placement: {compared} requests answered alike by both placements: {statuses:?}");
}
