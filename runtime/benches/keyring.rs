//! `Keyring` verification cost: the key-format core (parse + SHA-256 + constant-time
//! compare), then a whole verification on `MemoryStore`, on `SqliteStore` behind its
//! `CachedStore`, and on bare `SqliteStore` for reference; then refusals.
//!
//! `cargo bench -p keygate --bench keyring`
// `criterion_group!` declares an undocumented `pub fn`.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use keygate::keys::{
    CachedStore, KeyFormat, KeyStore, Keyring, MemoryStore, NewKey, Permissions, SqliteStore,
};
use keygate::{Credential, Verdict};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use common::{now, verify};

fn issue<S: KeyStore>(ring: &Keyring<S>) -> Credential {
    let issued = now(ring
        .store()
        .create(NewKey::new("bench").permissions(Permissions::full())))
    .expect("create");
    let credential = Credential::Key(issued.key);
    assert!(matches!(verify(ring, &credential), Verdict::Granted(_)));
    credential
}

fn benches(c: &mut Criterion) {
    let format = KeyFormat::default();
    let generated = format.generate().expect("rng");
    let full = generated.full.expose_secret().to_owned();
    let stored: [u8; 32] = Sha256::digest(generated.secret.expose_secret().as_bytes()).into();
    c.bench_function("keys/parse_hash_compare", |b| {
        b.iter(|| {
            let parsed = format.parse(black_box(&full)).expect("parse");
            let hash: [u8; 32] = Sha256::digest(parsed.secret.expose_secret().as_bytes()).into();
            bool::from(hash.ct_eq(&stored))
        })
    });

    let memory = Keyring::new(MemoryStore::new());
    let memory_key = issue(&memory);
    c.bench_function("keys/verify/memory", |b| {
        b.iter(|| verify(&memory, black_box(&memory_key)))
    });

    let dir = std::env::temp_dir().join(format!("keygate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cached = Keyring::new(CachedStore::new(
        SqliteStore::open_or_create(dir.join("cached.db")).expect("open"),
    ));
    let cached_key = issue(&cached);
    c.bench_function("keys/verify/sqlite_cached", |b| {
        b.iter(|| verify(&cached, black_box(&cached_key)))
    });

    let bare = Keyring::new(SqliteStore::open_or_create(dir.join("bare.db")).expect("open"));
    let bare_key = issue(&bare);
    c.bench_function("keys/verify/sqlite_uncached", |b| {
        b.iter(|| verify(&bare, black_box(&bare_key)))
    });

    // Refusals: a bad checksum never reaches the store; an unknown id is a cached miss.
    let mut typo = full.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
    let typo = Credential::Key(SecretString::from(String::from_utf8(typo).expect("ascii")));
    c.bench_function("keys/refuse/bad_checksum", |b| {
        b.iter(|| verify(&cached, black_box(&typo)))
    });
    let unknown = Credential::Key(generated.full);
    c.bench_function("keys/refuse/unknown_id_sqlite_cached", |b| {
        b.iter(|| verify(&cached, black_box(&unknown)))
    });
    // On the memory path, an unknown id and a wrong secret should cost the same.
    let format = KeyFormat::default();
    let memory_id = match &memory_key {
        Credential::Key(key) => format.parse(key.expose_secret()).expect("parse").key_id,
        _ => unreachable!("issued as a key"),
    };
    let wrong_secret = Credential::Key(format.assemble(&memory_id, "WrongSecret0123456789a"));
    c.bench_function("keys/refuse/wrong_secret_memory", |b| {
        b.iter(|| verify(&memory, black_box(&wrong_secret)))
    });
    let unknown_id = Credential::Key(format.assemble("unknownid234", "WrongSecret0123456789a"));
    c.bench_function("keys/refuse/unknown_id_memory", |b| {
        b.iter(|| verify(&memory, black_box(&unknown_id)))
    });
    drop((cached, bare));
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(keyring, benches);
criterion_main!(keyring);
