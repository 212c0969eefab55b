//! The matcher's cost on hostile paths: one request through the layer in process,
//! unauthenticated, against `/files/{a}.{b}.{c}.json` and `/files/{n}.diff` with one
//! segment of 1k, 10k and 64k bytes (all dots, the worst case for a matcher that tries
//! every split; all `a`s; all `%2E`, decoded before matching). Matching must stay linear: each step up in length may
//! cost at most 12x per tenfold of length.
//!
//! `cargo run --release -p keygate-bench --bin matcher_report [-- ROUNDS]` (default 30).
//! The sizes run interleaved, round by round; figures are medians over rounds.

use std::time::Instant;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use keygate::spec::{Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse};
use keygate::{AuthLayer, Spec, StaticKeys};
use tower::ServiceExt;

const KEYED: Requirement = Requirement {
    alternatives: &[Alternative {
        schemes: &[SchemeUse {
            scheme: 0,
            roles: &[],
        }],
    }],
};

static SPEC: Spec = Spec {
    title: "hostile paths",
    base_path: "",
    schemes: &[Scheme {
        name: "api_key",
        kind: SchemeKind::ApiKey {
            location: Location::Header,
            name: "X-API-Key",
        },
    }],
    root: Requirement::PUBLIC,
    operations: &[
        Operation {
            method: "GET",
            path: "/files/{a}.{b}.{c}.json",
            operation_id: Some("threeParts"),
            requirement: KEYED,
        },
        Operation {
            method: "GET",
            path: "/files/{n}.diff",
            operation_id: Some("diff"),
            requirement: KEYED,
        },
    ],
};

const LENGTHS: [usize; 3] = [1_000, 10_000, 64_000];

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(30, |a| a.parse().expect("ROUNDS"));
    let runtime = keygate_bench::runtime();
    let bare = Router::new().route("/files/{name}", get(|| async { "ran" }));
    let guarded = bare
        .clone()
        .layer(AuthLayer::new(&SPEC, StaticKeys::new().key("api_key", "k")));
    let shapes = [("dots", "."), ("letters", "a"), ("escaped", "%2E")];
    let targets: Vec<(&str, usize, String)> = shapes
        .iter()
        .flat_map(|&(name, c)| {
            LENGTHS
                .iter()
                .map(move |&n| (name, n, format!("/files/{}", c.repeat(n / c.len()))))
        })
        .collect();
    // Requests per round and size: about the same bytes for every size.
    let repeat = |length: usize| (640_000 / length).max(1);
    // Per target: the guarded app (refused, 401), then the same router bare (200).
    let mut samples: Vec<[Vec<f64>; 2]> = vec![[Vec::new(), Vec::new()]; targets.len()];
    for round in 0..=rounds {
        for (at, (_, length, target)) in targets.iter().enumerate() {
            for (which, (app, status)) in [(&guarded, 401), (&bare, 200)].into_iter().enumerate() {
                let count = repeat(*length);
                let started = Instant::now();
                for _ in 0..count {
                    let request = http::Request::get(target.as_str())
                        .body(Body::empty())
                        .expect("request");
                    let response = runtime
                        .block_on(app.clone().oneshot(request))
                        .unwrap_or_else(|never| match never {});
                    assert_eq!(response.status(), status, "{target:.40}");
                }
                // Round 0 warms up.
                if round > 0 {
                    samples[at][which].push(started.elapsed().as_secs_f64() * 1e9 / count as f64);
                }
            }
        }
    }
    println!("one unauthenticated request in process, median of {rounds} rounds:");
    let mut all_pass = true;
    for (shape, _) in shapes {
        let figures: Vec<(usize, f64, f64, f64)> = targets
            .iter()
            .zip(&samples)
            .filter(|((name, _, _), _)| *name == shape)
            .map(|((_, length, _), [guarded, bare])| {
                let added: Vec<f64> = guarded.iter().zip(bare).map(|(g, b)| g - b).collect();
                (
                    *length,
                    median(guarded.clone()),
                    median(bare.clone()),
                    median(added),
                )
            })
            .collect();
        for &(length, ns, bare, added) in &figures {
            println!(
                "  {shape:<8} {length:>6} bytes  {:>9.1} us  ({:.2} ns/byte); without the layer \
                 {:>9.1} us; added {:>8.1} us ({:.2} ns/byte)",
                ns / 1e3,
                ns / length as f64,
                bare / 1e3,
                added / 1e3,
                added / length as f64
            );
        }
        let medians: Vec<(usize, f64)> = figures
            .iter()
            .map(|&(length, ns, _, _)| (length, ns))
            .collect();
        for pair in medians.windows(2) {
            let ((short, a), (long, b)) = (pair[0], pair[1]);
            let ratio = b / a;
            // Allowed: 12x per tenfold, scaled to this step's length ratio.
            let allowed = 12f64.powf((long as f64 / short as f64).log10());
            let pass = ratio <= allowed;
            all_pass &= pass;
            println!(
                "  {shape:<8} {long} / {short} bytes: {ratio:.2}x (allowed {allowed:.2}x, 12x per tenfold): {}",
                if pass { "PASS" } else { "MISS" }
            );
        }
    }
    println!(
        "matcher linear on hostile segments: {}",
        if all_pass { "PASS" } else { "MISS" }
    );
}
