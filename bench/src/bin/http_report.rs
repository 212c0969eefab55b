//! Loopback HTTP throughput: the same small app without auth; for reference, behind a
//! tower layer that does nothing (wrapped around the router), a `from_fn` middleware
//! that checks nothing and one with a `HashMap` header check (the limit); and behind
//! the generated layer (`StaticKeys`, `Keyring<CachedStore<SqliteStore>>`; each inside
//! the router with `Router::layer`, and wrapped around the whole router). Served in
//! this process, driven by `wrk` in another, with PASS, MISS or UNRESOLVED.
//!
//! `cargo run --release -p keygate-bench --bin http_report -- [OPTIONS]`
//!
//! - `--rounds N` (default 6), `--seconds S` per wrk run (default 3)
//! - `--connections C` keep-alive connections (default 8), `--wrk PATH` (default `wrk`)
//! - `--cases A,B,..` only these cases besides `no_auth`, which every ratio is taken
//!   against, and the control (default: all)
//! - `--alone CASE`: one warm-up and one wrk run of CASE, nothing else and no ratio, for
//!   a profiler (`bench/http_profile.sh`)
//!
//! Every server runs on one current-thread tokio runtime (one worker thread; SQLite
//! reads go to its blocking pool) and `wrk` runs with one thread (`-t1`), so the two
//! share the machine's two cores evenly. In each round every case runs back to back with
//! `no_auth` (which goes first in even rounds, second in odd ones), and a case's ratio
//! is the median over rounds of its throughput over that of its `no_auth` neighbour.
//! `tower_identity_around`, a layer that does nothing, is the control and always runs:
//! when its ratio is off 1 by more than the target's margin (0.03), the run is too noisy
//! to tell a case at the target from one below it, and keygate's cases read UNRESOLVED
//! instead of PASS or MISS. A case also reads UNRESOLVED when the middle half of its
//! pairs (lower to upper quartile) straddles the target: PASS needs three quarters of
//! its pairs at or above it, MISS three quarters below.
//! Every request carries a valid key; the report fails when `wrk` saw a non-2xx response
//! or a socket error, or the handler ran fewer times than `wrk` counted responses.

#[allow(dead_code)]
#[path = "../stats.rs"]
mod stats;

use std::net::SocketAddr;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Router, ServiceExt};
use keygate::keys::{CachedStore, KeyStore, Keyring, NewKey, Permissions, SqliteStore};
use keygate_bench::{behind_limit, static_keys_verifier, App, STATIC_KEY};
use keygate_tests::keys as api;
use secrecy::ExposeSecret;
use stats::{results_dir, verdict, Samples};
use tower::util::MapRequest;

/// Smallest auth / no-auth throughput ratio allowed.
const TARGET: f64 = 0.97;

async fn ok(State(hits): State<Arc<AtomicU64>>) -> &'static str {
    hits.fetch_add(1, Ordering::Relaxed);
    "ok"
}

/// The app every case shares: `GET /things`, counting the requests it answers.
fn routes(hits: &Arc<AtomicU64>) -> Router {
    Router::new()
        .route("/things", get(ok))
        .with_state(Arc::clone(hits))
}

/// A middleware that checks nothing: what `from_fn` itself costs, for reference.
async fn pass_through(request: Request, next: Next) -> Response {
    next.run(request).await
}

/// A request passed on as it came: the layer of the `tower_identity_around` case.
fn identity(request: Request) -> Request {
    request
}

/// How a case is served: one of the bench's apps, or the router inside a tower layer
/// that does nothing (what wrapping the router costs by itself).
enum Serve {
    App(App),
    Identity(MapRequest<Router, fn(Request) -> Request>),
}

/// What a case is for.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// The app without auth: every ratio is taken against it.
    Baseline,
    /// A layer that does nothing: its ratio must read 1 within the target's margin, or
    /// the run is too noisy to tell whether keygate's cases meet the target.
    Control,
    /// For reference, without a target; `checks_keys`: whether it refuses a request
    /// without a key.
    Reference { checks_keys: bool },
    /// keygate's layer, held to the target.
    Keygate,
}

/// A case before it is served: its name and kind, the key its requests carry, its
/// handler's counter and its app over a fresh copy of the routes.
struct Planned {
    name: &'static str,
    kind: Kind,
    key: String,
    hits: Arc<AtomicU64>,
    app: Serve,
}

fn case(name: &'static str, kind: Kind, key: &str, serve: impl FnOnce(Router) -> Serve) -> Planned {
    let hits = Arc::new(AtomicU64::new(0));
    Planned {
        name,
        kind,
        key: key.to_owned(),
        app: serve(routes(&hits)),
        hits,
    }
}

/// One served case.
struct Served {
    name: &'static str,
    kind: Kind,
    addr: SocketAddr,
    key: String,
    hits: Arc<AtomicU64>,
}

impl Served {
    /// Whether the case refuses a request without a key.
    fn checks_keys(&self) -> bool {
        match self.kind {
            Kind::Baseline | Kind::Control => false,
            Kind::Reference { checks_keys } => checks_keys,
            Kind::Keygate => true,
        }
    }
}

/// Starts every case's server on one current-thread runtime in a thread of its own.
fn serve_all() -> Vec<Served> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dir = std::env::temp_dir().join(format!("keygate-http-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ring = Keyring::new(CachedStore::new(
            SqliteStore::open(dir.join("keys.db")).expect("open sqlite"),
        ));
        let issued = rt
            .block_on(
                ring.store()
                    .create(NewKey::new("bench").permissions(Permissions::full())),
            )
            .expect("create key");
        let ring_key = issued.key.expose_secret().to_owned();

        // A second keyring over the same file for the case with the layer around the
        // router: each case keeps a cache of its own.
        let ring_around = Keyring::new(CachedStore::new(
            SqliteStore::open(dir.join("keys.db")).expect("open sqlite"),
        ));
        let inside = |router| Serve::App(App::Inside(router));
        let around = |service| Serve::App(App::Around(service));
        let nothing_checked = Kind::Reference { checks_keys: false };
        let the_limit = Kind::Reference { checks_keys: true };
        let cases = vec![
            case("no_auth", Kind::Baseline, STATIC_KEY, inside),
            case(
                "tower_identity_around",
                Kind::Control,
                STATIC_KEY,
                |router| Serve::Identity(MapRequest::new(router, identity as fn(_) -> _)),
            ),
            case(
                "from_fn_pass_through",
                nothing_checked,
                STATIC_KEY,
                |router| inside(router.layer(middleware::from_fn(pass_through))),
            ),
            case("from_fn_hashmap", the_limit, STATIC_KEY, |router| {
                inside(behind_limit(router))
            }),
            case("static_keys", Kind::Keygate, STATIC_KEY, |router| {
                inside(router.layer(api::layer(static_keys_verifier())))
            }),
            case(
                "keyring_sqlite_cached",
                Kind::Keygate,
                &ring_key,
                |router| inside(router.layer(api::layer(ring))),
            ),
            case("static_keys_around", Kind::Keygate, STATIC_KEY, |router| {
                around(api::layer(static_keys_verifier()).around(router))
            }),
            case(
                "keyring_sqlite_cached_around",
                Kind::Keygate,
                &ring_key,
                |router| around(api::layer(ring_around).around(router)),
            ),
        ];
        let served = rt.block_on(async {
            let mut served = Vec::new();
            for case in cases {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let addr = listener.local_addr().expect("local addr");
                tokio::spawn(async move {
                    match case.app {
                        Serve::App(App::Inside(router)) => axum::serve(listener, router).await,
                        Serve::App(App::Around(service)) => {
                            axum::serve(listener, service.into_make_service()).await
                        }
                        Serve::Identity(service) => {
                            let service = ServiceExt::<Request>::into_make_service(service);
                            axum::serve(listener, service).await
                        }
                    }
                    .expect("serve");
                });
                served.push(Served {
                    name: case.name,
                    kind: case.kind,
                    addr,
                    key: case.key,
                    hits: case.hits,
                });
            }
            served
        });
        tx.send(served).expect("send servers");
        // Serve until the process exits; the SQLite file goes with the temp dir then.
        rt.block_on(std::future::pending::<()>());
    });
    rx.recv().expect("servers started")
}

/// What one `wrk` run reported.
struct WrkRun {
    requests: u64,
    per_second: f64,
    non_2xx: u64,
    socket_errors: Option<String>,
}

/// One wrk run of `case`, and what was wrong with it, if anything: a non-2xx answer, a
/// socket error, or fewer handler runs than wrk counted answers.
fn checked_wrk(
    binary: &str,
    case: &Served,
    seconds: u64,
    connections: u32,
) -> (WrkRun, Option<String>) {
    let before = case.hits.load(Ordering::Relaxed);
    let run = wrk(binary, case, seconds, connections);
    let answered = case.hits.load(Ordering::Relaxed) - before;
    let problem =
        (run.non_2xx > 0 || run.socket_errors.is_some() || answered < run.requests).then(|| {
            let errors = run
                .socket_errors
                .as_ref()
                .map(|e| format!(", socket errors: {e}"))
                .unwrap_or_default();
            format!(
                "{} non-2xx, handler ran {answered} times for {} responses{errors}",
                run.non_2xx, run.requests
            )
        });
    (run, problem)
}

fn wrk(binary: &str, case: &Served, seconds: u64, connections: u32) -> WrkRun {
    let output = Command::new(binary)
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(["-H", &format!("X-API-Key: {}", case.key)])
        .arg(format!("http://{}/things", case.addr))
        .output()
        .unwrap_or_else(|e| panic!("{binary}: {e} (install it: apt-get install -y wrk)"));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}");
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(str::trim)
    };
    let requests = text
        .lines()
        .find(|line| line.contains(" requests in "))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk output: {text}"));
    WrkRun {
        requests,
        per_second: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Requests/sec in wrk output: {text}")),
        non_2xx: field("Non-2xx or 3xx responses:").map_or(0, |v| v.parse().expect("count")),
        socket_errors: field("Socket errors:").map(str::to_owned),
    }
}

/// The status of `GET /things` without a key, over a plain HTTP/1.1 connection.
fn status_without_key(addr: SocketAddr) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .write_all(b"GET /things HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line")
}

/// `--alone CASE`: the case by itself, for a profiler to watch.
fn run_alone(
    served: &[Served],
    name: &str,
    binary: &str,
    seconds: u64,
    connections: u32,
) -> ExitCode {
    let Some(case) = served.iter().find(|case| case.name == name) else {
        let known: Vec<&str> = served.iter().map(|case| case.name).collect();
        eprintln!("unknown case {name}; the cases are {}", known.join(", "));
        return ExitCode::FAILURE;
    };
    wrk(binary, case, 1, connections);
    let (run, problem) = checked_wrk(binary, case, seconds, connections);
    println!(
        "{name} alone: {:.0} requests per second, {} requests over {seconds} s, wrk -t1 -c{connections}",
        run.per_second, run.requests
    );
    match problem {
        Some(problem) => {
            eprintln!("{name}: {problem}");
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    }
}

fn main() -> ExitCode {
    let mut rounds = 6usize;
    let mut seconds = 3u64;
    let mut connections = 8u32;
    let mut binary = String::from("wrk");
    let mut only: Option<Vec<String>> = None;
    let mut alone: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => rounds = value().parse().expect("--rounds N"),
            "--seconds" => seconds = value().parse().expect("--seconds S"),
            "--connections" => connections = value().parse().expect("--connections C"),
            "--wrk" => binary = value(),
            "--cases" => only = Some(value().split(',').map(str::to_owned).collect()),
            "--alone" => alone = Some(value()),
            other => panic!("unknown argument {other}"),
        }
    }

    let mut served = serve_all();
    if let Some(name) = &alone {
        return run_alone(&served, name, &binary, seconds, connections);
    }
    if let Some(only) = &only {
        let known: Vec<&str> = served.iter().map(|case| case.name).collect();
        if let Some(unknown) = only.iter().find(|name| !known.contains(&name.as_str())) {
            eprintln!("unknown case {unknown}; the cases are {}", known.join(", "));
            return ExitCode::FAILURE;
        }
        served.retain(|case| {
            matches!(case.kind, Kind::Baseline | Kind::Control)
                || only.iter().any(|name| name == case.name)
        });
    }
    println!(
        "loopback HTTP throughput: {} cases, {rounds} rounds, each case beside no_auth, {seconds} s a run, \
         wrk -t1 -c{connections} (keep-alive), server: one current-thread tokio runtime",
        served.len()
    );
    // The layer is really there: a request without a key is refused.
    for case in served.iter().filter(|case| case.checks_keys()) {
        let status = status_without_key(case.addr);
        assert_eq!(
            status, 401,
            "{}: a request without a key got {status}",
            case.name
        );
    }
    // Warm-up: connections, caches, the keyring's first store read.
    for case in &served {
        wrk(&binary, case, 1, connections);
    }

    // Each case runs back to back with no_auth, in an order that alternates from round to
    // round, and its ratio is taken within that pair: this machine's speed drifts over
    // seconds, far more than the layers differ.
    let mut samples = vec![Samples::default(); served.len()];
    let mut pair_ratios = vec![Samples::default(); served.len()];
    let mut failures = Vec::new();
    let mut measure = |i: usize, round: usize| {
        let case = &served[i];
        let (run, problem) = checked_wrk(&binary, case, seconds, connections);
        if let Some(problem) = problem {
            failures.push(format!("round {round} {}: {problem}", case.name));
        }
        samples[i].0.push(run.per_second);
        run.per_second
    };
    for round in 0..rounds {
        let mut order: Vec<usize> = (1..served.len()).collect();
        let shift = round % order.len().max(1);
        order.rotate_left(shift);
        for i in order {
            let (base, with) = if round % 2 == 0 {
                let base = measure(0, round);
                (base, measure(i, round))
            } else {
                let with = measure(i, round);
                (measure(0, round), with)
            };
            pair_ratios[i].0.push(with / base);
        }
    }

    println!("\nrequests per second, median (min, max):");
    for (case, s) in served.iter().zip(&samples) {
        println!("  {:<28} {}", case.name, s.show(0));
    }
    // One line per wrk run, in the order run; no_auth's runs alternate with the others'.
    let mut csv = String::from("case,run,requests_per_second\n");
    for (case, s) in served.iter().zip(&samples) {
        for (run, v) in s.0.iter().enumerate() {
            csv.push_str(&format!("{},{run},{v:.1}\n", case.name));
        }
    }
    let path = results_dir().join("http_throughput.csv");
    std::fs::write(&path, csv).expect("write csv");

    let checked = failures.is_empty();
    println!(
        "\nevery request answered 2xx by the handler: {}",
        verdict(checked)
    );
    for failure in &failures {
        println!("  {failure}");
    }
    println!("\nsummary (http_report):");
    let base = samples[0].median();
    // The run can tell a case at the target from one below it only if a layer that does
    // nothing reads 1 within the target's margin.
    let margin = 1.0 - TARGET;
    let control = served
        .iter()
        .position(|case| case.kind == Kind::Control)
        .map(|i| pair_ratios[i].median());
    let resolved = control.is_some_and(|ratio| (ratio - 1.0).abs() <= margin);
    for ((case, s), ratios) in served.iter().zip(&samples).zip(&pair_ratios).skip(1) {
        let ratio = ratios.median();
        // What the ratio means per request, for a server that is busy all the time.
        let added = 1e6 / s.median() - 1e6 / base;
        let detail = format!(
            "median of {} pairs, min {:.3}, max {:.3}; ratio of medians {:.3}x; {added:+.2} µs a request",
            ratios.0.len(),
            ratios.min(),
            ratios.max(),
            s.median() / base,
        );
        if case.kind == Kind::Control {
            let reading = if resolved {
                "this run resolves the target"
            } else {
                "off by more than the target's margin: this run cannot resolve the target"
            };
            println!(
                "  loopback throughput, {} (control: a layer that does nothing, must read 1 +- {margin:.2}) / no_auth: {ratio:.3}x ({detail}): {reading}",
                case.name
            );
            continue;
        }
        if let Kind::Reference { .. } = case.kind {
            // References: what a layer as such, any middleware, and any header check
            // cost here.
            println!(
                "  loopback throughput, {} (reference) / no_auth: {ratio:.3}x ({detail})",
                case.name
            );
            continue;
        }
        let (lower, upper) = ratios.quartiles();
        let outcome = if !resolved {
            "UNRESOLVED (too noisy: see the control; bench/http_profile.sh measures without pairs)"
        } else if lower >= TARGET {
            verdict(checked)
        } else if upper < TARGET {
            verdict(false)
        } else {
            // Half its pairs on each side of the line: the median is a coin toss.
            "UNRESOLVED (the middle half of its pairs straddles the target; bench/http_profile.sh measures without pairs)"
        };
        println!(
            "  loopback throughput, {} / no_auth: {ratio:.3}x ({detail}; middle half {lower:.3} to {upper:.3}) (target >= {TARGET}): {outcome}",
            case.name,
        );
    }
    println!("  wrote {}", path.display());
    if checked {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
