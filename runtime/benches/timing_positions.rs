//! Where an id falls among the others, and what that does to the time of a refusal:
//! the companion of the timing bench. Every known id of a 64-key `MemoryStore` is paired
//! with its unknown neighbour (the id one above it, whose search ends at the same index
//! entry); samples draw a pair and one of its two ids at random, and each verification
//! is timed. Printed per place in the index: the median of the known id and of its
//! neighbour. Known and unknown at the same place cost the same; some places cost more
//! than others, and which ones changes with where the index lies in memory.
//!
//! `cargo bench -p keygate --bench timing_positions` (`-- --all` prints every place, not
//! only the ones that stand out).

mod common;
#[path = "common/draws.rs"]
mod draws;

use std::time::Instant;

use dudect_bencher::rand::{RngExt, SeedableRng};
use dudect_bencher::BenchRng;
use keygate::keys::{KeyFormat, KeyStore, Keyring, MemoryStore, NewKey, Permissions};
use keygate::{Credential, Verdict};

use common::{now, verify};
use draws::random_secret;

const KEYS: usize = 64;
const SAMPLES: usize = 300_000;
/// A place whose median is this much above the median of all places stands out.
const STANDS_OUT_NS: u64 = 3;

fn median(times: &mut [u64]) -> u64 {
    times.sort_unstable();
    times[times.len() / 2]
}

fn main() {
    let all = std::env::args().any(|a| a == "--all");
    let ring = Keyring::new(MemoryStore::new());
    let mut known: Vec<String> = (0..KEYS)
        .map(|n| {
            let spec = NewKey::new(format!("k{n}")).permissions(Permissions::full());
            now(ring.store().create(spec)).expect("create").record.id
        })
        .collect();
    known.sort_by_key(|id| draws::code(id));
    // The known id at each place in the index's order, and its unknown neighbour.
    let places: Vec<(usize, [String; 2])> =
        draws::with_unknown_neighbours(known.iter().map(String::as_str))
            .into_iter()
            .map(|(id, next)| {
                let place = known.iter().position(|k| *k == id).expect("known");
                (place, [id, next])
            })
            .collect();

    let format = KeyFormat::default();
    let mut rng = BenchRng::seed_from_u64(0x006b_6579_6761_7465);
    let inputs: Vec<(usize, usize, Credential)> = (0..SAMPLES)
        .map(|_| {
            let at = rng.random_range(0..places.len());
            let which = usize::from(rng.random::<bool>());
            let key = format.assemble(&places[at].1[which], &random_secret(&mut rng));
            (at, which, Credential::Key(key))
        })
        .collect();
    for (_, _, key) in inputs.iter().take(10_000) {
        assert_eq!(verify(&ring, key), Verdict::Invalid);
    }
    let mut times = vec![[Vec::new(), Vec::new()]; places.len()];
    for (at, which, key) in &inputs {
        let start = Instant::now();
        let verdict = verify(&ring, key);
        times[*at][*which].push(start.elapsed().as_nanos() as u64);
        assert_eq!(verdict, Verdict::Invalid);
    }

    let medians: Vec<[u64; 2]> = times
        .iter_mut()
        .map(|[known, unknown]| [median(known), median(unknown)])
        .collect();
    let mut every: Vec<u64> = medians.iter().flatten().copied().collect();
    let overall = median(&mut every);
    let stands_out = |m: &[u64; 2]| m.iter().any(|&t| t >= overall + STANDS_OUT_NS);
    println!(
        "{} keys, {} places with an unknown neighbour, {SAMPLES} samples; median of all \
         places {overall} ns",
        KEYS,
        places.len()
    );
    println!("place  known id      median   unknown neighbour  median");
    for ((place, [id, next]), m) in places.iter().zip(&medians) {
        if all || stands_out(m) {
            let mark = if stands_out(m) { "  <- stands out" } else { "" };
            println!(
                "{place:5}  {id}  {:4} ns   {next}       {:4} ns{mark}",
                m[0], m[1]
            );
        }
    }
    let within = medians
        .iter()
        .map(|m| m[0].abs_diff(m[1]))
        .max()
        .unwrap_or(0);
    let lows = medians.iter().map(|m| m[0].min(m[1])).min().unwrap_or(0);
    let highs = medians.iter().map(|m| m[0].max(m[1])).max().unwrap_or(0);
    let out = medians.iter().filter(|m| stands_out(m)).count();
    println!(
        "largest known/unknown difference at one place: {within} ns; between places: {} ns; \
         places standing out (>= {STANDS_OUT_NS} ns above the median): {out}",
        highs - lows
    );
}
