//! Does verification time tell an attacker anything? A dudect-style test (Welch's t over
//! two classes of inputs, measured interleaved at random); |t| above 5 means a leak.
//!
//! - `secret_wrong_vs_near`: a known key id with a random wrong secret against the same
//!   id with a secret that differs from the real one in one character (both checksums
//!   valid, so both reach the hash compare).
//! - `id_unknown_vs_known`: a well-formed key whose id is unknown against one whose id is
//!   known, both with a wrong secret; every sample draws one of the 64 known ids, or the
//!   unknown neighbour of one, at random (see `Draw`).
//! - `one_id_unknown_vs_known`: the same with one known id and its unknown neighbour,
//!   each repeated (an attacker probing one id).
//! - `control_one_known_vs_another`: a control, two known ids at different places among
//!   the others: what an id's place alone does to the time.
//! - `control_secret_wrong_vs_near_wrong`: a control for the first, around a fixed wrong
//!   secret instead of the real one: what nearly fixed characters against random ones
//!   do by themselves.
//! - `..._cached`: the same through `CachedStore` (its set of known ids answers the
//!   unknown id without a store read).
//!
//! `cargo bench -p keygate --bench timing` (add `-- --continuous secret_wrong_vs_near` to
//! keep sampling one test; each round adds 100,000 samples).

mod common;
#[path = "common/draws.rs"]
mod draws;

use dudect_bencher::ctbench::{run_benches_console, BenchFn, BenchMetadata, BenchName, BenchOpts};
use dudect_bencher::rand::RngExt;
use dudect_bencher::{BenchRng, Class, CtRunner};
use std::time::Duration;

use keygate::keys::{CachedStore, KeyFormat, KeyStore, Keyring, MemoryStore, NewKey, Permissions};
use keygate::{Credential, Verdict};
use secrecy::ExposeSecret;

use common::{now, verify};
use draws::random_secret;

const SAMPLES: usize = 100_000;

/// A keyring with 64 keys, and their (id, full key).
fn setup() -> (Keyring<MemoryStore>, Vec<(String, String)>) {
    setup_on(MemoryStore::new())
}

/// The same over `store`.
fn setup_on<S: KeyStore>(store: S) -> (Keyring<S>, Vec<(String, String)>) {
    let ring = Keyring::new(store);
    let mut keys = Vec::new();
    for n in 0..64 {
        let issued = now(ring
            .store()
            .create(NewKey::new(format!("k{n}")).permissions(Permissions::full())))
        .expect("create");
        keys.push((issued.record.id, issued.key.expose_secret().to_owned()));
    }
    (ring, keys)
}

/// A key for `id` whose secret part is `secret`, with a valid checksum.
fn key_with_secret(format: &KeyFormat, id: &str, secret: &str) -> Credential {
    Credential::Key(format.assemble(id, secret))
}

fn secret_wrong_vs_near(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (ring, keys) = setup();
    let (id, full) = &keys[0];
    let real = &full[full.len() - 28..full.len() - 6];
    random_vs_near(&ring, id, real, runner, rng);
}

/// A control for the last: the same two classes around a fixed wrong secret, so that
/// neither is near the real one. What is left is what presenting nearly the same
/// characters every time, against random ones, does by itself.
fn control_secret_wrong_vs_near_wrong(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (ring, keys) = setup();
    let (id, _) = &keys[0];
    let fixed_wrong = random_secret(rng);
    random_vs_near(&ring, id, &fixed_wrong, runner, rng);
}

/// A random secret against `base` with one character changed, both for the key `id`.
fn random_vs_near(
    ring: &Keyring<MemoryStore>,
    id: &str,
    base: &str,
    runner: &mut CtRunner,
    rng: &mut BenchRng,
) {
    let format = KeyFormat::default();
    let mut inputs = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        // Both classes start from a copy of the base and change it in place, so their
        // inputs are allocated alike (where a key lies in memory shows in the time).
        let mut secret = base.to_owned().into_bytes();
        let class = if rng.random::<bool>() {
            let random = random_secret(rng).into_bytes();
            secret.copy_from_slice(&random);
            Class::Left
        } else {
            // The base with one character changed: near the real secret, an early-exit
            // compare would take longer the later the change.
            let at = rng.random_range(0..secret.len());
            secret[at] = loop {
                let c = random_secret(rng).into_bytes()[0];
                if c != secret[at] {
                    break c;
                }
            };
            Class::Right
        };
        let secret = String::from_utf8(secret).expect("base62");
        inputs.push((class, key_with_secret(&format, id, &secret)));
    }
    for (class, key) in &inputs {
        runner.run_one(*class, || {
            assert_eq!(verify(ring, key), Verdict::Invalid);
        });
    }
}

fn id_unknown_vs_known(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (ring, keys) = setup();
    unknown_vs_known(&ring, &keys, Draw::Any, runner, rng);
}

fn id_unknown_vs_known_cached(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (ring, keys) = setup_cached();
    unknown_vs_known(&ring, &keys, Draw::Any, runner, rng);
}

fn one_id_unknown_vs_known(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (ring, keys) = setup();
    unknown_vs_known(&ring, &keys, Draw::One, runner, rng);
}

fn one_id_unknown_vs_known_cached(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (ring, keys) = setup_cached();
    unknown_vs_known(&ring, &keys, Draw::One, runner, rng);
}

fn control_one_known_vs_another(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (ring, keys) = setup();
    unknown_vs_known(&ring, &keys, Draw::OtherKnown, runner, rng);
}

fn control_one_known_vs_another_cached(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (ring, keys) = setup_cached();
    unknown_vs_known(&ring, &keys, Draw::OtherKnown, runner, rng);
}

fn setup_cached() -> (Keyring<CachedStore<MemoryStore>>, Vec<(String, String)>) {
    // A TTL beyond the run: no sample pays for listing the ids again.
    let cache = CachedStore::new(MemoryStore::new()).with_ttl(Duration::from_secs(3600));
    setup_on(cache)
}

/// Which ids the two classes draw. The time of a lookup depends a little on where the
/// id falls among the others (which index entries the search reads, and where they lie
/// in memory: see SECURITY.md), for known ids as much as for unknown ones. So each
/// unknown id is a known id's neighbour: one above it in the index's order, where a
/// search reads exactly what it reads for the known id. What is left to tell the two
/// classes apart is whether the id exists.
#[derive(Clone, Copy)]
enum Draw {
    /// Every sample one of the 64 known ids picked at random, or the unknown neighbour
    /// of one picked at random.
    Any,
    /// The same known id, or its unknown neighbour, every sample: one id probed again
    /// and again, as an attacker would to tell whether it exists.
    One,
    /// A control: two known ids, each the same every sample, at different places
    /// among the others. Both exist, so whatever tells them apart is where they fall.
    OtherKnown,
}

fn unknown_vs_known<S: KeyStore>(
    ring: &Keyring<S>,
    keys: &[(String, String)],
    draw: Draw,
    runner: &mut CtRunner,
    rng: &mut BenchRng,
) {
    let format = KeyFormat::default();
    let pairs = draws::with_unknown_neighbours(keys.iter().map(|(id, _)| id.as_str()));
    let mut inputs = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let secret = random_secret(rng);
        // Both classes build their key alike (same allocations, in the same order), so
        // where the inputs land in memory does not differ by class: the unknown id is
        // copied over the known one.
        let (known, unknown) = match draw {
            Draw::Any => {
                let (known, _) = &pairs[rng.random_range(0..pairs.len())];
                let (_, unknown) = &pairs[rng.random_range(0..pairs.len())];
                (known, unknown)
            }
            Draw::One => (&pairs[0].0, &pairs[0].1),
            Draw::OtherKnown => (&pairs[0].0, &pairs[1].0),
        };
        let mut id = known.clone().into_bytes();
        let class = if rng.random::<bool>() {
            id.copy_from_slice(unknown.as_bytes());
            Class::Left
        } else {
            Class::Right
        };
        let id = String::from_utf8(id).expect("base32");
        inputs.push((class, key_with_secret(&format, &id, &secret)));
    }
    // Outside the samples: every known id once (a cache holds their records then), and
    // a few unknown ones (a cache lists its ids).
    for (id, _) in keys {
        let key = key_with_secret(&format, id, &random_secret(rng));
        assert_eq!(verify(ring, &key), Verdict::Invalid);
    }
    for (_, key) in inputs.iter().take(16) {
        assert_eq!(verify(ring, key), Verdict::Invalid);
    }
    for (class, key) in &inputs {
        runner.run_one(*class, || {
            assert_eq!(verify(ring, key), Verdict::Invalid);
        });
    }
}

/// dudect's own `main` rejects the `--bench` flag cargo passes, so parse by hand:
/// `[FILTER] [--continuous]`.
fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let continuous = args.iter().any(|a| a == "--continuous");
    let filter = args.into_iter().find(|a| !a.starts_with("--"));
    let benches: [(&'static str, BenchFn); 8] = [
        ("secret_wrong_vs_near", secret_wrong_vs_near),
        (
            "control_secret_wrong_vs_near_wrong",
            control_secret_wrong_vs_near_wrong,
        ),
        ("id_unknown_vs_known", id_unknown_vs_known),
        ("id_unknown_vs_known_cached", id_unknown_vs_known_cached),
        ("one_id_unknown_vs_known", one_id_unknown_vs_known),
        (
            "one_id_unknown_vs_known_cached",
            one_id_unknown_vs_known_cached,
        ),
        ("control_one_known_vs_another", control_one_known_vs_another),
        (
            "control_one_known_vs_another_cached",
            control_one_known_vs_another_cached,
        ),
    ];
    let benches = benches
        .into_iter()
        .map(|(name, benchfn)| BenchMetadata {
            name: BenchName(name),
            seed: Some(0x006b_6579_6761_7465),
            benchfn,
        })
        .collect();
    let opts = BenchOpts {
        continuous,
        filter,
        file_out: None,
    };
    run_benches_console(opts, benches)
}
