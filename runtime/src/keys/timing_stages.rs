//! The timing test's two id classes (unknown vs known id, both with a wrong secret)
//! measured one stage of verification at a time, to find which stage tells them apart:
//! `cargo test --release -p keygate --lib timing_stages -- --ignored --nocapture`.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use dudect_bencher::ctbench::{run_benches_console, BenchFn, BenchMetadata, BenchName, BenchOpts};
use dudect_bencher::rand::RngExt;
use dudect_bencher::{BenchRng, Class, CtRunner};
use secrecy::{ExposeSecret, SecretString};

use super::index::IdIndex;
use super::known::KnownIds;
use super::model::{decoy_record, new_record, sha256, KeyRecord, NewKey, Permissions};
use super::store::Sealed;
use super::{CachedStore, KeyFormat, KeyStore, MemoryStore};

const SAMPLES: usize = 100_000;

fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("waited"),
    }
}

fn random_secret(rng: &mut BenchRng) -> String {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..22)
        .map(|_| char::from(BASE62[rng.random_range(0..62)]))
        .collect()
}

/// 64 keys in a memory store, and their ids.
fn store_with_keys<S: KeyStore>(store: S) -> (S, Vec<String>) {
    let mut ids = Vec::new();
    for n in 0..64 {
        let issued =
            now(store.create(NewKey::new(format!("k{n}")).permissions(Permissions::full())))
                .expect("create");
        ids.push(issued.record.id);
    }
    (store, ids)
}

/// Full keys of both classes, built alike, as the timing bench builds them. Which ids
/// they draw is `DRAW`:
/// - `any` (the default, as the bench): a fresh unknown id or a known one picked at
///   random, every sample;
/// - `one`: one unknown id against the first known id, every sample;
/// - `fresh_vs_one`: fresh unknown ids against the first known id;
/// - `known_vs_one`: known ids picked at random against the first known id (no unknown
///   id at all): what the place of an id among the others alone does to the time.
fn inputs(ids: &[String], rng: &mut BenchRng) -> Vec<(Class, SecretString)> {
    let format = KeyFormat::default();
    let draw = std::env::var("DRAW").unwrap_or_default();
    let one_unknown = format.generate_key_id().expect("rng");
    (0..SAMPLES)
        .map(|_| {
            let secret = random_secret(rng);
            let fresh = format.generate_key_id().expect("rng");
            let picked = &ids[rng.random_range(0..ids.len())];
            let (left, right) = match draw.as_str() {
                "one" => (&one_unknown, &ids[0]),
                "fresh_vs_one" => (&fresh, &ids[0]),
                "known_vs_one" => (picked, &ids[0]),
                _ => (&fresh, picked),
            };
            if rng.random::<bool>() {
                (Class::Left, format.assemble(left, &secret))
            } else {
                (Class::Right, format.assemble(right, &secret))
            }
        })
        .collect()
}

fn id_of(key: &SecretString) -> &str {
    &key.expose_secret()[3..15]
}

fn split(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (_, ids) = store_with_keys(MemoryStore::new());
    let format = KeyFormat::default();
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || format.split(key.expose_secret()).is_ok());
    }
}

fn hash(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (_, ids) = store_with_keys(MemoryStore::new());
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || sha256(&key.expose_secret()[16..]));
    }
}

fn index_get(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (_, ids) = store_with_keys(MemoryStore::new());
    let mut index = IdIndex::default();
    for id in &ids {
        index.insert(
            id,
            Arc::new(new_record(NewKey::new("k"), id.clone(), [0; 32], 0, 0)),
        );
    }
    let absent = decoy();
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || index.get_or(id_of(key), &absent).1);
    }
}

fn memory_lend(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || {
            now(store.lend(id_of(key), Sealed::TOKEN)).is_ok()
        });
    }
}

fn decoy() -> Arc<KeyRecord> {
    let spec = NewKey::new("decoy").permissions(Permissions::full());
    Arc::new(new_record(
        spec,
        "decoykeyid22".to_owned(),
        [0xA5; 32],
        0,
        0,
    ))
}

fn memory_lend_select(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let decoy = decoy();
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || {
            let (record, known) =
                now(store.lend_or(id_of(key), &decoy, Sealed::TOKEN)).expect("lend");
            std::hint::black_box((&record, known));
        });
    }
}

fn memory_lend_compare(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let decoy = decoy();
    for (class, key) in &inputs(&ids, rng) {
        let presented = sha256(&key.expose_secret()[16..]);
        runner.run_one(*class, || {
            let (record, known) =
                now(store.lend_or(id_of(key), &decoy, Sealed::TOKEN)).expect("lend");
            let matches = super::store::secret_matches(&record, &presented, 100);
            matches & std::hint::black_box(known)
        });
    }
}

fn lend_hash_load(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let decoy = decoy();
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || {
            let (record, _) = now(store.lend_or(id_of(key), &decoy, Sealed::TOKEN)).expect("lend");
            std::hint::black_box(record.hashes.current)
        });
    }
}

fn compare_only(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let decoy = decoy();
    let real = now(store.lend(&ids[0], Sealed::TOKEN)).unwrap().unwrap();
    let records = [decoy, real];
    for (class, key) in &inputs(&ids, rng) {
        let presented = sha256(&key.expose_secret()[16..]);
        let record = &records[usize::from(matches!(class, Class::Right))];
        runner.run_one(*class, || {
            super::store::secret_matches(record, &presented, 100)
        });
    }
}

fn lend_compare_fixed(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let decoy = decoy();
    let presented = [7u8; 32];
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || {
            let (record, _) = now(store.lend_or(id_of(key), &decoy, Sealed::TOKEN)).expect("lend");
            super::store::secret_matches(&record, &presented, 100)
        });
    }
}

/// Both classes the same known id: how large |t| gets with no difference at all.
fn same_class_lend_compare(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let decoy = decoy();
    let presented = [7u8; 32];
    for (class, _) in &inputs(&ids, rng) {
        runner.run_one(*class, || {
            let (record, _) = now(store.lend_or(&ids[0], &decoy, Sealed::TOKEN)).expect("lend");
            super::store::secret_matches(&record, &presented, 100)
        });
    }
}

/// A set of known ids listed from a memory store of 64 keys, with the store and its ids.
fn listed_known_ids() -> (KnownIds, MemoryStore, Vec<String>) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let generations = Arc::new(std::array::from_fn(|_| AtomicU64::new(0)));
    let known = KnownIds::new(
        Duration::from_secs(3600),
        Arc::new(decoy_record()),
        generations,
    );
    now(known.load(&store));
    (known, store, ids)
}

fn known_check(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (known, _, ids) = listed_known_ids();
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || known.check(id_of(key)));
    }
}

fn cached_lend(runner: &mut CtRunner, rng: &mut BenchRng) {
    let cache = CachedStore::new(MemoryStore::new()).with_ttl(Duration::from_secs(3600));
    let (cache, ids) = store_with_keys(cache);
    let inputs = inputs(&ids, rng);
    // Outside the samples: every known id once (the cache holds their records), and a
    // few unknown ones (it lists its ids).
    for id in ids
        .iter()
        .map(String::as_str)
        .chain(inputs.iter().take(16).map(|(_, key)| id_of(key)))
    {
        now(cache.lend(id, Sealed::TOKEN)).expect("lend");
    }
    for (class, key) in &inputs {
        let decoy = decoy();
        runner.run_one(*class, || {
            now(cache.lend_or(id_of(key), &decoy, Sealed::TOKEN)).is_ok()
        });
    }
}

/// Two known ids against each other through the cache: how much two entries differ.
fn cached_two_known(runner: &mut CtRunner, rng: &mut BenchRng) {
    let cache = CachedStore::new(MemoryStore::new()).with_ttl(Duration::from_secs(3600));
    let (cache, ids) = store_with_keys(cache);
    let decoy = decoy();
    let inputs = inputs(&ids, rng);
    for id in &ids[..2] {
        now(cache.lend(id, Sealed::TOKEN)).expect("lend");
    }
    for (class, _) in &inputs {
        let id = &ids[usize::from(matches!(class, Class::Right))];
        runner.run_one(*class, || {
            now(cache.lend_or(id, &decoy, Sealed::TOKEN)).is_ok()
        });
    }
}

/// The same over the memory store.
fn memory_two_known(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let decoy = decoy();
    for (class, _) in &inputs(&ids, rng) {
        let id = &ids[usize::from(matches!(class, Class::Right))];
        runner.run_one(*class, || {
            now(store.lend_or(id, &decoy, Sealed::TOKEN)).is_ok()
        });
    }
}

/// Two known ids, as the keyring asks (no share taken on a refusal).
fn memory_two_known_matching(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let decoy = decoy();
    for (class, _) in &inputs(&ids, rng) {
        let id = &ids[usize::from(matches!(class, Class::Right))];
        runner.run_one(*class, || {
            now(store.lend_if_matches(id, &[7; 32], 100, &decoy, Sealed::TOKEN)).is_ok()
        });
    }
}

/// An unknown id vs a known one, the same way.
fn memory_matching(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (store, ids) = store_with_keys(MemoryStore::new());
    let decoy = decoy();
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || {
            now(store.lend_if_matches(id_of(key), &[7; 32], 100, &decoy, Sealed::TOKEN)).is_ok()
        });
    }
}

/// An unknown id vs a known one through the cache, as the keyring asks without waiting
/// (the set of known ids answers both).
fn cached_matching(runner: &mut CtRunner, rng: &mut BenchRng) {
    let cache = CachedStore::new(MemoryStore::new()).with_ttl(Duration::from_secs(3600));
    let (cache, ids) = store_with_keys(cache);
    let decoy = decoy();
    let inputs = inputs(&ids, rng);
    // As above: every known id's record held, the ids listed.
    for id in ids
        .iter()
        .map(String::as_str)
        .chain(inputs.iter().take(16).map(|(_, key)| id_of(key)))
    {
        now(cache.lend_if_matches(id, &[7; 32], 100, &decoy, Sealed::TOKEN)).expect("lend");
    }
    for (class, key) in &inputs {
        runner.run_one(*class, || {
            now(cache.lend_if_matches(id_of(key), &[7; 32], 100, &decoy, Sealed::TOKEN)).is_ok()
        });
    }
}

/// The same asked of the set of known ids alone.
fn known_matching(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (known, store, ids) = listed_known_ids();
    for id in &ids {
        let real = now(store.lend(id, Sealed::TOKEN)).unwrap().unwrap();
        known.hold(&real, 0, super::model::Tick::now());
    }
    for (class, key) in &inputs(&ids, rng) {
        runner.run_one(*class, || {
            known.lend_if_matches(id_of(key), &[7; 32], 100).is_some()
        });
    }
}

#[test]
#[ignore = "a measurement: run in release, see the module's doc"]
fn timing_stages() {
    let filter = std::env::var("STAGE").ok();
    let benches: [(&'static str, BenchFn); 18] = [
        ("s10_cached_matching", cached_matching),
        ("s10_known_matching", known_matching),
        ("s9_memory_two_known_matching", memory_two_known_matching),
        ("s9_memory_matching", memory_matching),
        ("s9_cached_two_known", cached_two_known),
        ("s9_memory_two_known", memory_two_known),
        ("s0_same_class", same_class_lend_compare),
        ("s6a_lend_hash_load", lend_hash_load),
        ("s6b_compare_only", compare_only),
        ("s6c_lend_compare_fixed", lend_compare_fixed),
        ("s1_split", split),
        ("s2_hash", hash),
        ("s3_index_get", index_get),
        ("s4_memory_lend", memory_lend),
        ("s5_memory_lend_select", memory_lend_select),
        ("s6_memory_lend_compare", memory_lend_compare),
        ("s7_known_check", known_check),
        ("s8_cached_lend", cached_lend),
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
        continuous: false,
        filter,
        file_out: None,
    };
    run_benches_console(opts, benches).expect("console");
}
