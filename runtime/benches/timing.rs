//! Does the time of a refusal tell an attacker anything about a key's secret? A
//! dudect-style test (Welch's t over two classes of inputs, measured interleaved at
//! random); |t| above 5 means a leak. Key ids are public, so only the secret is tested.
//!
//! - `secret_wrong_vs_near`: a known key id with a random wrong secret against the same
//!   id with a secret that differs from the real one in one character (both checksums
//!   valid, so both reach the hash compare).
//! - `control_secret_wrong_vs_near_wrong`: a control, around a fixed wrong secret
//!   instead of the real one: what nearly fixed characters against random ones do by
//!   themselves.
//!
//! `cargo bench -p keygate --bench timing` (add `-- --continuous secret_wrong_vs_near` to
//! keep sampling one test; each round adds 100,000 samples).

mod common;

use dudect_bencher::ctbench::{run_benches_console, BenchFn, BenchMetadata, BenchName, BenchOpts};
use dudect_bencher::rand::RngExt;
use dudect_bencher::{BenchRng, Class, CtRunner};

use keygate::keys::{KeyFormat, KeyStore, Keyring, MemoryStore, NewKey, Permissions};
use keygate::{Credential, Verdict};
use secrecy::ExposeSecret;

use common::{now, verify};

const SAMPLES: usize = 100_000;

/// A keyring with 64 keys, and their (id, full key).
fn setup() -> (Keyring<MemoryStore>, Vec<(String, String)>) {
    let ring = Keyring::new(MemoryStore::new());
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

/// A random secret part of a key: 22 base62 characters.
fn random_secret(rng: &mut BenchRng) -> String {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..22)
        .map(|_| char::from(BASE62[rng.random_range(0..62)]))
        .collect()
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

/// dudect's own `main` rejects the `--bench` flag cargo passes, so parse by hand:
/// `[FILTER] [--continuous]`.
fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let continuous = args.iter().any(|a| a == "--continuous");
    let filter = args.into_iter().find(|a| !a.starts_with("--"));
    let benches: [(&'static str, BenchFn); 2] = [
        ("secret_wrong_vs_near", secret_wrong_vs_near),
        (
            "control_secret_wrong_vs_near_wrong",
            control_secret_wrong_vs_near_wrong,
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
