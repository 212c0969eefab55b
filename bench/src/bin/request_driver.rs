//! A fixed number of requests through one case of the request-overhead bench, for
//! instruction counts (`valgrind --tool=callgrind`): run it with two request counts and
//! divide the difference by the difference of the counts; set-up cost cancels out.
//!
//! `cargo build --release -p keygate-bench --bin request_driver`, then
//! `valgrind --tool=callgrind target/release/request_driver CASE REQUESTS`, CASE one of
//! `keygate_bench::DRIVER_CASES`. The app and the layer are the bench's (`GET /things`,
//! `oneshot` on a clone of one `Router`, the module generated from `specs/keys.yaml`).

use std::time::Duration;

use keygate_bench::{driver_case, runtime, TempDir, DRIVER_CASES};

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "static_keys".to_owned());
    let count: usize = args
        .next()
        .map_or(1_000, |n| n.parse().expect("REQUESTS: a number"));
    let rt = runtime();
    let dir = TempDir::new("driver");
    let Some(case) = driver_case(&rt, &name, dir.path()) else {
        eprintln!(
            "unknown case `{name}`; the cases: {}",
            DRIVER_CASES.join(", ")
        );
        std::process::exit(2);
    };
    rt.block_on(async {
        // As a server would between requests: background work (the last-use writes) runs.
        case.run(0, 1).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        case.run(1, count).await;
    });
}
