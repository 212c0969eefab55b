//! Crash safety of `SqliteStore`: a child process issues, rotates and revokes keys in a
//! loop and is killed with SIGKILL at a random point, 50 times over one database file.
//! After each kill the database opens cleanly, every key the child acknowledged is
//! there, its latest acknowledged secret verifies unless it was revoked, and no
//! acknowledged revocation is undone.
//!
//! The child is this same test binary, run with `KEYGATE_CRASH_CHILD` set to the
//! database path; it acknowledges each committed operation on stdout.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use keygate::keys::{
    KeyFilter, KeyFormat, KeyRecord, KeyStatus, KeyStore, Keyring, NewKey, SqliteStore,
};
use keygate::Verdict;
use keygate_tests::TempDir;
use secrecy::{ExposeSecret, SecretString};

use crate::common::{block_on, get};

const ROUNDS: usize = 50;
const CHILD_ENV: &str = "KEYGATE_CRASH_CHILD";

/// The child's loop: `created <id> <key>`, `rotated <id> <key>`, `revoked <id>`, each
/// printed only after the store call returned; `rotating <id>` and `revoking <id>` are
/// printed before the call, so the parent knows which key a kill may have caught.
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return; // Not a child: the parent test below runs this binary with the variable.
    };
    let store = SqliteStore::open_or_create(path).expect("child: open");
    let mut out = std::io::stdout().lock();
    let mut live: Vec<String> = Vec::new();
    for n in 0u64.. {
        match n % 5 {
            0 | 1 | 3 => {
                let issued = block_on(store.create(NewKey::new(format!("k{n}")))).expect("create");
                let key = issued.key.expose_secret();
                writeln!(out, "created {} {key}", issued.record.id).expect("ack");
                live.push(issued.record.id);
            }
            2 => {
                if let Some(id) = live.last() {
                    writeln!(out, "rotating {id}").expect("intent");
                    out.flush().expect("flush");
                    let key = block_on(store.rotate(id, Duration::ZERO)).expect("rotate");
                    writeln!(out, "rotated {id} {}", key.expose_secret()).expect("ack");
                }
            }
            _ => {
                if let Some(id) = live.pop() {
                    writeln!(out, "revoking {id}").expect("intent");
                    out.flush().expect("flush");
                    block_on(store.revoke(&id)).expect("revoke");
                    writeln!(out, "revoked {id}").expect("ack");
                }
            }
        }
        out.flush().expect("flush");
    }
}

/// What the children acknowledged so far, over all rounds.
#[derive(Default)]
struct Acknowledged {
    /// Key id → the latest full key acknowledged for it.
    keys: BTreeMap<String, String>,
    revoked: BTreeSet<String>,
    /// Keys acknowledged in the current round (their secrets are verified).
    this_round: BTreeSet<String>,
    /// The key an announced rotation or revocation was working on, until acknowledged.
    in_flight: Option<String>,
    /// Keys a kill caught mid-operation: either outcome is right for them.
    uncertain: BTreeSet<String>,
}

impl Acknowledged {
    fn record(&mut self, line: &str) {
        let mut words = line.split(' ');
        match (words.next(), words.next(), words.next()) {
            (Some("created" | "rotated"), Some(id), Some(key)) => {
                self.keys.insert(id.to_owned(), key.to_owned());
                self.this_round.insert(id.to_owned());
                self.in_flight = None;
            }
            (Some("revoked"), Some(id), None) => {
                self.revoked.insert(id.to_owned());
                self.in_flight = None;
            }
            (Some("rotating" | "revoking"), Some(id), None) => {
                self.in_flight = Some(id.to_owned());
            }
            // A line cut by the kill was never acknowledged.
            _ => {}
        }
    }

    fn end_round(&mut self) {
        self.uncertain.extend(self.in_flight.take());
    }
}

/// A small deterministic generator for the kill points, so a failure can be replayed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn sqlite_survives_sigkill_at_random_points() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = TempDir::new("crash");
    let path = dir.file("keys.db");
    let exe = std::env::current_exe().expect("test binary");
    let mut acked = Acknowledged::default();
    let mut seed = 0x5eed_c0de_u64;
    let mut lines_total = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child");
        let stdout = child.stdout.take().expect("child stdout");
        let (lines_tx, lines_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Let the child get going, then kill it somewhere in the next few operations.
        let first = lines_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("round {round}: the child acknowledged nothing"));
        acked.record(&first);
        std::thread::sleep(Duration::from_millis(5 + next(&mut seed) % 60));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        for line in lines_rx.try_iter() {
            lines_total += 1;
            acked.record(&line);
        }

        acked.end_round();

        let store = SqliteStore::open_or_create(&path)
            .unwrap_or_else(|e| panic!("round {round}: the database does not reopen: {e}"));
        let ring = Keyring::new(store);
        let stored: BTreeMap<String, KeyRecord> =
            block_on(ring.store().list_all(KeyFilter::default()))
                .expect("list")
                .into_iter()
                .map(|record| (record.id.clone(), record))
                .collect();
        for id in acked.keys.keys() {
            let record = stored
                .get(id)
                .unwrap_or_else(|| panic!("round {round}: acknowledged key {id} is gone"));
            if acked.revoked.contains(id) {
                assert_eq!(
                    record.status,
                    KeyStatus::Revoked,
                    "round {round}: revoked {id} came back"
                );
            }
        }
        for id in std::mem::take(&mut acked.this_round) {
            if acked.uncertain.contains(&id) {
                continue;
            }
            let key = SecretString::from(acked.keys[&id].clone());
            let verdict = block_on(get(&ring, &key));
            if acked.revoked.contains(&id) {
                assert_eq!(
                    verdict,
                    Verdict::Revoked,
                    "round {round}: revoked {id} came back"
                );
            } else {
                assert!(
                    matches!(verdict, Verdict::Granted(_)),
                    "round {round}: the latest acknowledged key of {id} does not verify: {verdict:?}"
                );
            }
        }
    }
    // The run must have done real work across the kills.
    assert!(
        acked.keys.len() > ROUNDS,
        "only {} keys acknowledged",
        acked.keys.len()
    );
    assert!(!acked.revoked.is_empty(), "no revocation acknowledged");
    assert!(KeyFormat::default()
        .parse(acked.keys.values().next().expect("a key"))
        .is_ok());
    eprintln!(
        "crash safety: {ROUNDS} SIGKILLs, {} keys and {} revocations acknowledged ({lines_total} acks), all intact",
        acked.keys.len(),
        acked.revoked.len()
    );
}
