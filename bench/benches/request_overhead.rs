//! Request overhead of the generated layer, in process: tower `oneshot` on one trivial
//! `Router`, without a layer, with a hand-written `HashMap` middleware (the limit), and
//! with the layer of `specs/keys.yaml` over each verifier; refusals; routing scaling.
//!
//! `cargo bench -p keygate-bench --bench request_overhead -- --warm-up-time 1 --measurement-time 3`
//!
//! Ratios against the targets come from `overhead_report`, which interleaves the cases.
// `criterion_group!` declares an undocumented `pub fn`.
#![allow(missing_docs)]

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::Ordering;

use criterion::{criterion_group, criterion_main, Criterion};
use keygate_bench::{runtime, Case, Cases, Scaling};

fn bench_case(c: &mut Criterion, rt: &tokio::runtime::Runtime, id: &str, case: &Case) {
    // Every request once, outside the clock: statuses are right before anything is timed.
    rt.block_on(case.run(0, 1));
    let next = Cell::new(0usize);
    c.bench_function(id, |b| {
        b.to_async(rt).iter(|| {
            let i = next.get();
            next.set(i + 1);
            async move { black_box(case.send(i).await) }
        })
    });
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let cases = Cases::new(&rt);
    for case in [
        &cases.no_auth,
        &cases.no_auth_pool,
        &cases.no_auth_small_pool,
        &cases.from_fn_hashmap,
        &cases.static_keys,
        &cases.keyring_memory,
        &cases.keyring_sqlite_cached,
        &cases.static_keys_around,
        &cases.keyring_memory_around,
    ] {
        bench_case(c, &rt, case.name, case);
    }

    let reads = || cases.sqlite_reads.load(Ordering::Relaxed);
    let before = reads();
    bench_case(
        c,
        &rt,
        cases.refuse_bad_checksum.name,
        &cases.refuse_bad_checksum,
    );
    assert_eq!(
        reads(),
        before,
        "a key with a bad checksum reached the store"
    );

    for case in [
        &cases.refuse_unknown_ids,
        &cases.refuse_unknown_ids_repeated,
    ] {
        let before = reads();
        let sent = Cell::new(0u64);
        let next = Cell::new(0usize);
        c.bench_function(case.name, |b| {
            b.to_async(&rt).iter(|| {
                let i = next.get();
                next.set(i + 1);
                sent.set(sent.get() + 1);
                async move { black_box(case.send(i).await) }
            })
        });
        let (read, sent) = (reads() - before, sent.get().max(1));
        println!(
            "{}: {read} store reads for {sent} refusals ({:.1} per 1,000)",
            case.name,
            read as f64 * 1000.0 / sent as f64,
        );
        assert_eq!(
            read, 0,
            "{}: an unknown key id reached the store",
            case.name
        );
    }

    for (size, bare, middle, last) in &Scaling::new().sizes {
        bench_case(c, &rt, &format!("scaling/{size}/no_layer"), bare);
        bench_case(c, &rt, &format!("scaling/{size}/middle"), middle);
        bench_case(c, &rt, &format!("scaling/{size}/last"), last);
    }
}

criterion_group!(request_overhead, benches);
criterion_main!(request_overhead);
