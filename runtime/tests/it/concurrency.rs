//! Many tasks verify while others revoke and rotate. Once `revoke` (or a zero-grace
//! `rotate`) has returned, the revoked key (or the retired secret) never verifies again.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keygate::keys::{CachedStore, KeyStore, Keyring, MemoryStore, NewKey, SqliteStore};
use keygate::Verdict;
use keygate_tests::TempDir;
use secrecy::{ExposeSecret, SecretString};

use crate::common::get;

const KEYS: usize = 40;
const VERIFIERS: usize = 8;
const VERIFICATIONS: usize = 1_500;

struct Slot {
    id: String,
    /// The secret in use, and secrets retired by a zero-grace rotation that returned.
    secrets: Mutex<(SecretString, Vec<SecretString>)>,
    /// Set once `revoke` has returned.
    revoked: AtomicBool,
}

fn copy(secret: &SecretString) -> SecretString {
    SecretString::from(secret.expose_secret().to_owned())
}

/// A small deterministic generator, so a failure can be replayed.
fn next(seed: &mut u64) -> usize {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    usize::try_from(*seed % 1_000_003).unwrap_or(0)
}

async fn hammer<S: KeyStore>(store: S) {
    let ring = Arc::new(Keyring::new(store));
    let mut slots = Vec::new();
    for n in 0..KEYS {
        let issued = ring
            .store()
            .create(NewKey::new(format!("k{n}")))
            .await
            .expect("create");
        slots.push(Slot {
            id: issued.record.id.clone(),
            secrets: Mutex::new((copy(&issued.key), Vec::new())),
            revoked: AtomicBool::new(false),
        });
    }
    let slots = Arc::new(slots);
    let grants = Arc::new(AtomicUsize::new(0));
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));

    let mut tasks = Vec::new();
    for v in 0..VERIFIERS {
        let (ring, slots, grants, violations) = (
            Arc::clone(&ring),
            Arc::clone(&slots),
            Arc::clone(&grants),
            Arc::clone(&violations),
        );
        tasks.push(tokio::spawn(async move {
            let mut seed = 0x9E37_79B9_7F4A_7C15 ^ (v as u64 + 1);
            for _ in 0..VERIFICATIONS {
                let slot = &slots[next(&mut seed) % KEYS];
                // Read what was reported *before* asking, then ask.
                let revoked_before = slot.revoked.load(Ordering::SeqCst);
                let (current, retired) = {
                    let secrets = slot.secrets.lock().expect("lock");
                    (copy(&secrets.0), secrets.1.last().map(copy))
                };
                let verdict = get(&*ring, &current).await;
                if matches!(verdict, Verdict::Granted(_)) {
                    grants.fetch_add(1, Ordering::Relaxed);
                    if revoked_before {
                        violations
                            .lock()
                            .expect("lock")
                            .push(format!("revoked key {} verified", slot.id));
                    }
                }
                if let Some(old) = retired {
                    if matches!(get(&*ring, &old).await, Verdict::Granted(_)) {
                        violations
                            .lock()
                            .expect("lock")
                            .push(format!("retired secret of {} verified", slot.id));
                    }
                }
            }
        }));
    }
    // Revokers and rotators run alongside.
    for w in 0..2usize {
        let (ring, slots) = (Arc::clone(&ring), Arc::clone(&slots));
        tasks.push(tokio::spawn(async move {
            for (n, slot) in slots.iter().enumerate().filter(|(n, _)| n % 2 == w) {
                tokio::time::sleep(Duration::from_millis(2)).await;
                if n % 4 < 2 {
                    let new = ring
                        .store()
                        .rotate(&slot.id, Duration::ZERO)
                        .await
                        .expect("rotate");
                    let mut secrets = slot.secrets.lock().expect("lock");
                    let old = std::mem::replace(&mut secrets.0, new);
                    secrets.1.push(old);
                } else {
                    ring.store().revoke(&slot.id).await.expect("revoke");
                    slot.revoked.store(true, Ordering::SeqCst);
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let violations = std::mem::take(&mut *violations.lock().expect("lock"));
    assert!(
        violations.is_empty(),
        "{} violations, first: {:?}",
        violations.len(),
        violations.first()
    );
    // The run must have exercised real grants, not refused everything.
    assert!(grants.load(Ordering::Relaxed) > VERIFIERS * VERIFICATIONS / 4);
    // And every revoked key is refused now.
    for slot in slots.iter().filter(|s| s.revoked.load(Ordering::SeqCst)) {
        let current = copy(&slot.secrets.lock().expect("lock").0);
        assert_eq!(get(&*ring, &current).await, Verdict::Revoked);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_never_verifies_a_key_after_its_revocation_returned() {
    hammer(MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cached_memory_store_never_verifies_a_key_after_its_revocation_returned() {
    hammer(CachedStore::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cached_sqlite_store_never_verifies_a_key_after_its_revocation_returned() {
    let dir = TempDir::new("concurrency");
    hammer(CachedStore::new(
        SqliteStore::open_or_create(dir.file("keys.db")).expect("open"),
    ))
    .await;
}
