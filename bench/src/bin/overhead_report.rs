//! Runs every request-overhead and scaling case interleaved in one process and prints
//! the budgets (BENCHMARKS.md) with PASS or MISS.
//!
//! `cargo run --release -p keygate-bench --bin overhead_report [-- ROUNDS REQUESTS]`
//! (default 400 rounds of 2,500 requests per case). Each round runs every case once, in
//! an order that rotates from round to round; a case's added time is its per-request
//! time minus the baseline's in the same round, and figures are medians over rounds.
//! Short rounds keep a case and its baseline a few milliseconds apart, closer than the
//! host's slowdowns last.

#[allow(dead_code)]
#[path = "../stats.rs"]
mod stats;

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use keygate::keys::DEFAULT_TTL;
use keygate_bench::{runtime, Case, Cases, Scaling, POOL, SMALL_POOL};

/// Per-round figures of one case, in nanoseconds per request.
#[derive(Default, Clone)]
struct Samples(Vec<f64>);

impl Samples {
    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    fn median(&self) -> f64 {
        let v = self.sorted();
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }

    fn minus(&self, base: &Samples) -> Samples {
        Samples(self.0.iter().zip(&base.0).map(|(a, b)| a - b).collect())
    }

    fn show(&self) -> String {
        format!(
            "{:>8.1} ns  (min {:>8.1}, max {:>8.1})",
            self.median(),
            self.min(),
            self.max()
        )
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

struct Run<'a> {
    case: &'a Case,
    samples: Samples,
    /// Where this case's request pool continues.
    next: usize,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(400, |a| a.parse().expect("ROUNDS"));
    let requests: usize = args.next().map_or(2_500, |a| a.parse().expect("REQUESTS"));

    let rt = runtime();
    let cases = Cases::new(&rt);
    let scaling = Scaling::new();
    let mut runs: Vec<Run<'_>> = cases
        .all()
        .into_iter()
        .chain(
            scaling
                .sizes
                .iter()
                .flat_map(|(_, bare, middle, last)| [bare, middle, last]),
        )
        .map(|case| Run {
            case,
            samples: Samples::default(),
            next: 0,
        })
        .collect();

    // Warm-up: every case once through (and the first request of each pool).
    for run in &mut runs {
        rt.block_on(run.case.run(0, requests / 10));
        run.next = requests / 10;
    }

    let reads = || cases.sqlite_reads.load(Ordering::Relaxed);
    let (mut bad_reads, mut bad_sent) = (0u64, 0u64);
    let (mut unknown_reads, mut unknown_sent) = (0u64, 0u64);
    // Wall time from a case's first request to its last: the TTL runs on wall time.
    let mut unknown_span: Option<(Instant, Instant)> = None;
    let (mut repeated_reads, mut repeated_sent) = (0u64, 0u64);
    let mut repeated_span: Option<(Instant, Instant)> = None;
    let started = Instant::now();
    let count = runs.len();
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..count).map(|i| (i + round) % count).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for index in order {
            let run = &mut runs[index];
            let before = reads();
            let start = Instant::now();
            rt.block_on(run.case.run(run.next, requests));
            let elapsed = start.elapsed();
            let read = reads() - before;
            run.next += requests;
            run.samples
                .0
                .push(elapsed.as_nanos() as f64 / requests as f64);
            if std::ptr::eq(run.case, &cases.refuse_bad_checksum) {
                bad_reads += read;
                bad_sent += requests as u64;
            } else if std::ptr::eq(run.case, &cases.refuse_unknown_ids) {
                unknown_reads += read;
                unknown_sent += requests as u64;
                unknown_span = Some((unknown_span.map_or(start, |s| s.0), Instant::now()));
            } else if std::ptr::eq(run.case, &cases.refuse_unknown_ids_repeated) {
                repeated_reads += read;
                repeated_sent += requests as u64;
                repeated_span = Some((repeated_span.map_or(start, |s| s.0), Instant::now()));
            }
        }
    }
    let total = started.elapsed();

    let samples = |case: &Case| {
        runs.iter()
            .find(|run| std::ptr::eq(run.case, case))
            .map(|run| run.samples.clone())
            .expect("case")
    };
    let no_auth = samples(&cases.no_auth);
    let limit = samples(&cases.from_fn_hashmap).minus(&no_auth);

    println!(
        "keygate request overhead: {rounds} rounds x {requests} requests per case, {count} cases, {:.1} s",
        total.as_secs_f64()
    );
    println!("\nper request (oneshot on the same Router):");
    for case in cases.all() {
        println!("  {:<34} {}", case.name, samples(case).show());
    }

    println!("\nadded over baseline/no_auth:");
    println!(
        "  {:<34} {}",
        "baseline/from_fn_hashmap (limit)",
        limit.show()
    );
    // The layer inside the router (`Router::layer`, as the README shows), then wrapped
    // around the whole router, which skips axum's per-route layering.
    let grants = [
        (&cases.static_keys, 1000.0),
        (&cases.keyring_memory, 1000.0),
        (&cases.keyring_sqlite_cached, 1000.0),
        (&cases.static_keys_around, 1000.0),
        (&cases.keyring_memory_around, 1000.0),
    ];
    for (case, target) in grants {
        let added = samples(case).minus(&no_auth);
        println!(
            "  {:<34} {}   target <= {target:.0} ns: {}",
            case.name,
            added.show(),
            verdict(added.median() <= target)
        );
    }

    println!("\nkeygate / limit (added time, medians; target <= 2x):");
    for (case, _) in grants {
        let ratio = samples(case).minus(&no_auth).median() / limit.median();
        // The limit sits inside the router; wrapped around it, it would save too.
        let judged = if case.name.starts_with("around/") {
            "for reference: the limit is inside the router".to_owned()
        } else {
            verdict(ratio <= 2.0).to_owned()
        };
        println!("  {:<34} {ratio:>6.2}x  {judged}", case.name);
    }

    // A refusal's added time is over the no-auth router fed the same pool of requests:
    // a request template cloned once per pool pass misses the CPU caches, which is the
    // harness's cost, not keygate's (the pool baselines show how much).
    println!(
        "\nrefusal / grant (added time over no_auth fed the same requests, medians, SQLite \
         keyring set-up; for reference):"
    );
    let grant = samples(&cases.keyring_sqlite_cached).minus(&no_auth);
    for (case, baseline) in [
        (&cases.refuse_bad_checksum, &cases.no_auth_pool),
        (&cases.refuse_unknown_ids, &cases.no_auth_pool),
        (
            &cases.refuse_unknown_ids_repeated,
            &cases.no_auth_small_pool,
        ),
    ] {
        let added = samples(case).minus(&samples(baseline));
        let ratio = added.median() / grant.median();
        println!(
            "  {:<34} {}   {ratio:>5.2}x   (over {})",
            case.name,
            added.show(),
            baseline.name,
        );
    }

    println!("\nstore reads per 1,000 refusals:");
    let per_1000 = |reads: u64, sent: u64| reads as f64 * 1000.0 / sent.max(1) as f64;
    println!(
        "  {:<34} {:>8.2}   ({bad_reads} reads / {bad_sent}; target 0): {}",
        "refuse/bad_checksum",
        per_1000(bad_reads, bad_sent),
        verdict(bad_reads == 0)
    );
    // A well-formed unknown id is read once, then its absence is cached for the TTL: the
    // most it may cost is one read per distinct id per TTL window of the time it ran.
    let unknown = [
        (
            "refuse/unknown_ids",
            unknown_reads,
            unknown_sent,
            unknown_span,
            POOL,
        ),
        (
            "refuse/unknown_ids_repeated",
            repeated_reads,
            repeated_sent,
            repeated_span,
            SMALL_POOL,
        ),
    ];
    for (name, reads, sent, span, pool) in unknown {
        let span = span.map_or(Duration::ZERO, |(first, last)| last - first);
        let windows = (span.as_secs_f64() / DEFAULT_TTL.as_secs_f64()).ceil() as u64 + 1;
        let bound = (pool as u64).min(sent) * windows;
        println!(
            "  {name:<34} {:>8.2}   ({reads} reads / {sent}; {pool} ids, {:.1} s first to last; \
             at most once per id per {} s TTL: <= {bound}): {}",
            per_1000(reads, sent),
            span.as_secs_f64(),
            DEFAULT_TTL.as_secs(),
            verdict(reads <= bound),
        );
    }

    println!("\nrouting scaling (layer over StaticKeys; added over the same router without it):");
    let mut added_last = Vec::new();
    let mut csv = String::from(
        "operations,middle_median_ns,middle_min_ns,middle_max_ns,last_median_ns,last_min_ns,last_max_ns,bare_median_ns\n",
    );
    for (size, bare, middle, last) in &scaling.sizes {
        let base = samples(bare);
        let mid = samples(middle).minus(&base);
        let end = samples(last).minus(&base);
        let _ = writeln!(
            csv,
            "{size},{:.1},{:.1},{:.1},{:.1},{:.1},{:.1},{:.1}",
            mid.median(),
            mid.min(),
            mid.max(),
            end.median(),
            end.min(),
            end.max(),
            base.median()
        );
        println!(
            "  {size:>6} ops  middle {}   last {}   (request total {:.1} ns)",
            mid.show(),
            end.show(),
            samples(last).median()
        );
        added_last.push((*size, end.median(), samples(last).median()));
    }
    let (first, last) = (added_last[0], added_last[added_last.len() - 1]);
    let ratio = last.1 / first.1;
    println!(
        "  {} / {} ops, added time: {ratio:.2}x  (target <= 2x): {}",
        last.0,
        first.0,
        verdict(ratio <= 2.0)
    );
    println!(
        "  {} / {} ops, request total: {:.2}x",
        last.0,
        first.0,
        last.2 / first.2
    );
    // No worse than logarithmic: at every size, at most the log curve through the
    // 10-operation figure and the 2x allowed at 10,000, i.e. +1/3 per tenfold.
    let base = added_last[0].1;
    let mut log_ok = true;
    let shown: Vec<String> = added_last
        .iter()
        .map(|&(size, added, _)| {
            let allowed = base * (1.0 + (size as f64 / 10.0).log10() / 3.0);
            log_ok &= added <= allowed;
            format!("{size}: {added:.0} <= {allowed:.0} ns")
        })
        .collect();
    println!(
        "  log bound (+1/3 of the 10-op figure per tenfold): {}: {}",
        shown.join(", "),
        verdict(log_ok)
    );
    // Added time per size, for bench/plot.py.
    let path = stats::results_dir().join("routing_scaling.csv");
    std::fs::write(&path, csv).expect("write csv");
    println!("  wrote {}", path.display());
}
