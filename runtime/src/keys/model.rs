//! What a key store keeps: records, permissions, owners, and the clock.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// Unix time in whole seconds.
pub type UnixSeconds = i64;

/// Where stores and the keyring read the time from. Tests use [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    /// The current unix time in seconds.
    fn now(&self) -> UnixSeconds;
}

/// The system clock. On Linux it is read at the kernel's tick (`CLOCK_REALTIME_COARSE`,
/// a few milliseconds behind at most): every verification reads it, and in whole
/// seconds the tick is as good as the precise clock at a sixth of its cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(target_os = "linux")]
    fn now(&self) -> UnixSeconds {
        rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse)
            .tv_sec
            .max(0)
    }

    #[cfg(not(target_os = "linux"))]
    fn now(&self) -> UnixSeconds {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock before 1970 is misconfigured; the epoch is the least harmful answer.
            Err(_) => 0,
        }
    }
}

/// A point on the monotonic clock, in nanoseconds, for the lifetimes of what the cache
/// holds. On Linux it is read at the kernel's tick (`CLOCK_MONOTONIC_COARSE`, a few
/// milliseconds behind at most), as every verification through the cache reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Tick(u64);

impl Tick {
    #[cfg(target_os = "linux")]
    pub(crate) fn now() -> Tick {
        let at = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
        let secs = u64::try_from(at.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(at.tv_nsec).unwrap_or(0);
        Tick(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn now() -> Tick {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let since = START.get_or_init(std::time::Instant::now).elapsed();
        Tick(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }

    /// `by` later (the far end of the clock at most).
    pub(crate) fn after(self, by: Duration) -> Tick {
        Tick(
            self.0
                .saturating_add(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX)),
        )
    }
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: UnixSeconds) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(now)))
    }

    /// Sets the time.
    pub fn set(&self, now: UnixSeconds) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(secs(by), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixSeconds {
        self.0.load(Ordering::SeqCst)
    }
}

/// A duration in whole seconds, saturating.
pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The stored status. Expiry is not stored: it follows from `expires_at` and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyStatus {
    /// Usable (unless expired).
    Active,
    /// Revoked for good.
    Revoked,
}

impl KeyStatus {
    /// The stored name: `active` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Revoked => "revoked",
        }
    }

    /// The status with this stored name.
    pub fn parse(text: &str) -> Option<KeyStatus> {
        match text {
            "active" => Some(KeyStatus::Active),
            "revoked" => Some(KeyStatus::Revoked),
            _ => None,
        }
    }
}

/// The status as of a moment: the stored status, with expiry applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Usable.
    Active,
    /// Revoked.
    Revoked,
    /// Past `expires_at` (and not revoked).
    Expired,
}

/// The methods that [`Permissions::read_only`] allows.
pub const SAFE_METHODS: [&str; 3] = ["GET", "HEAD", "OPTIONS"];

/// In a method set, stands for every method.
pub const ANY_METHOD: &str = "*";

/// Which preset a permission set matches, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Safe methods only, no overrides.
    ReadOnly,
    /// Every method, no overrides.
    Full,
    /// Anything else.
    Custom,
}

/// What a key may call: a default set of HTTP methods, and per-operation overrides that
/// replace the default for that `operationId`. Methods are upper case; `*` is any.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Permissions {
    /// Methods allowed on operations without an override.
    pub default_methods: BTreeSet<String>,
    /// `operationId` → the methods allowed on it, replacing the default.
    pub per_operation: BTreeMap<String, BTreeSet<String>>,
}

fn method_set<I, M>(methods: I) -> BTreeSet<String>
where
    I: IntoIterator<Item = M>,
    M: AsRef<str>,
{
    methods
        .into_iter()
        .map(|m| m.as_ref().to_ascii_uppercase())
        .collect()
}

impl Permissions {
    /// GET, HEAD and OPTIONS everywhere.
    pub fn read_only() -> Permissions {
        Permissions::custom(SAFE_METHODS)
    }

    /// Every method everywhere.
    pub fn full() -> Permissions {
        Permissions::custom([ANY_METHOD])
    }

    /// These methods everywhere (add overrides with [`Permissions::with_operation`]).
    pub fn custom<I, M>(methods: I) -> Permissions
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        Permissions {
            default_methods: method_set(methods),
            per_operation: BTreeMap::new(),
        }
    }

    /// Allows exactly these methods on `operation_id`, replacing the default there. An
    /// empty set denies the operation.
    pub fn with_operation<I, M>(mut self, operation_id: &str, methods: I) -> Permissions
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        self.per_operation
            .insert(operation_id.to_owned(), method_set(methods));
        self
    }

    /// Whether `method` may be used on the operation.
    pub fn allows(&self, method: &str, operation_id: Option<&str>) -> bool {
        let set = operation_id
            .and_then(|op| self.per_operation.get(op))
            .unwrap_or(&self.default_methods);
        set.contains(ANY_METHOD) || set.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// Which preset this matches.
    pub fn preset(&self) -> Preset {
        if !self.per_operation.is_empty() {
            Preset::Custom
        } else if *self == Permissions::read_only() {
            Preset::ReadOnly
        } else if *self == Permissions::full() {
            Preset::Full
        } else {
            Preset::Custom
        }
    }
}

/// The SHA-256 digests of a key's secret(s). `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHashes {
    /// SHA-256 of the current `<secret><checksum>`.
    pub current: [u8; 32],
    /// After a rotation: SHA-256 of the previous secret, and the unix time until which
    /// (exclusive) it is still accepted.
    pub previous: Option<([u8; 32], UnixSeconds)>,
}

impl fmt::Debug for SecretHashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretHashes")
            .field("current", &"[REDACTED]")
            .field("previous_until", &self.previous.map(|(_, until)| until))
            .finish()
    }
}

/// SHA-256 of a secret. One that fits a single block (55 bytes or fewer: every keygate
/// key's secret) is padded here and compressed once, without the hasher's buffering,
/// which took about a third of the time of hashing a key's secret.
pub(crate) fn sha256(text: &str) -> [u8; 32] {
    let bytes = text.as_bytes();
    // The padding: 0x80, zeros, and the length in bits in the last 8 bytes.
    const ROOM: usize = 64 - 1 - 8;
    if bytes.len() > ROOM {
        return Sha256::digest(bytes).into();
    }
    let mut block = [0u8; 64];
    block[..bytes.len()].copy_from_slice(bytes);
    block[bytes.len()] = 0x80;
    block[56..].copy_from_slice(&(bytes.len() as u64 * 8).to_be_bytes());
    let mut state = SHA256_INITIAL;
    sha2::compress256(&mut state, &[block.into()]);
    let mut digest = [0u8; 32];
    for (out, word) in digest.chunks_exact_mut(4).zip(state) {
        out.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const SHA256_INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Constant-time equality of two digests.
pub(crate) fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> Choice {
    words_equal(&words(a), &words(b))
}

/// Constant-time equality of two digests as words: the differences of the four words
/// are folded without branches, then compared once (`subtle` would fence each of 32
/// bytes).
fn words_equal(a: &[u64; 4], b: &[u64; 4]) -> Choice {
    let diff = a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y));
    diff.ct_eq(&0)
}

/// A digest as four native words.
fn words(digest: &[u8; 32]) -> [u64; 4] {
    std::array::from_fn(|i| {
        let mut word = [0; 8];
        word.copy_from_slice(&digest[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(word)
    })
}

/// A record's secret digests as words, copied next to its id in an index. A
/// verification compares the digests picked by arithmetic from the slot its id's search
/// ended at and from the stand-in's (both read every time), not a record reached
/// through a pointer: which memory a refusal reads then depends on where the id falls
/// among the others, as it would for two known ids, not on whether it is known. (Read
/// through pointers, many known ids reach many records where unknown ids all reach the
/// one decoy, and the timing test tells them apart.)
#[derive(Clone, Copy)]
pub(crate) struct Digests {
    current: [u64; 4],
    previous: [u64; 4],
    /// `UnixSeconds::MIN` when there is no previous secret: no time is before it.
    previous_until: UnixSeconds,
}

impl Digests {
    /// For a slot without a record. It compares equal to an all-zero digest, which no
    /// SHA-256 gives in practice; callers count a match only where a record is held.
    pub(crate) const NONE: Digests = Digests {
        current: [0; 4],
        previous: [0; 4],
        previous_until: UnixSeconds::MIN,
    };

    pub(crate) fn of(hashes: &SecretHashes) -> Digests {
        let (previous, previous_until) = hashes
            .previous
            .map_or(([0; 4], UnixSeconds::MIN), |(hash, until)| {
                (words(&hash), until)
            });
        Digests {
            current: words(&hashes.current),
            previous,
            previous_until,
        }
    }

    /// `a` where `choice` is 0, `b` where it is 1, computed from both.
    pub(crate) fn select(a: &Digests, b: &Digests, choice: Choice) -> Digests {
        let word = |x: &u64, y: &u64| u64::conditional_select(x, y, choice);
        Digests {
            current: std::array::from_fn(|i| word(&a.current[i], &b.current[i])),
            previous: std::array::from_fn(|i| word(&a.previous[i], &b.previous[i])),
            previous_until: i64::conditional_select(&a.previous_until, &b.previous_until, choice),
        }
    }

    /// Whether `presented` is the current digest, or the previous one before its end; both
    /// compared in constant time.
    pub(crate) fn match_secret(&self, presented: &[u8; 32], now: UnixSeconds) -> Choice {
        let presented = words(presented);
        let in_grace = Choice::from(u8::from(now < self.previous_until));
        words_equal(&self.current, &presented)
            | (words_equal(&self.previous, &presented) & in_grace)
    }
}

/// One stored key. Holds hashes only, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The public key id (also the middle part of the key).
    pub id: String,
    /// A display name.
    pub name: String,
    /// A longer description.
    pub description: Option<String>,
    /// The owner (user, team, service), if any.
    pub owner: Option<String>,
    /// The owner's credential epoch when the key was issued; a bump invalidates the key.
    pub owner_epoch: u64,
    /// Roles granted to the principal.
    pub roles: BTreeSet<String>,
    /// When the key was created.
    pub created_at: UnixSeconds,
    /// When the key stops working (exclusive), or never.
    pub expires_at: Option<UnixSeconds>,
    /// When the key was last used (recorded at most once a minute).
    pub last_used_at: Option<UnixSeconds>,
    /// The stored status.
    pub status: KeyStatus,
    /// Names of the security schemes the key may be used with; `None` = all.
    pub schemes: Option<BTreeSet<String>>,
    /// What the key may call.
    pub permissions: Permissions,
    /// Secret digests.
    pub hashes: SecretHashes,
}

impl KeyRecord {
    /// The status at `now`, with expiry applied.
    pub fn state(&self, now: UnixSeconds) -> KeyState {
        match self.status {
            KeyStatus::Revoked => KeyState::Revoked,
            KeyStatus::Active if self.expires_at.is_some_and(|at| now >= at) => KeyState::Expired,
            KeyStatus::Active => KeyState::Active,
        }
    }

    /// Whether the key may be used with the scheme named `scheme`.
    pub fn allows_scheme(&self, scheme: &str) -> bool {
        self.schemes.as_ref().is_none_or(|s| s.contains(scheme))
    }
}

/// An owner of keys. Disabling it, or bumping its epoch, invalidates all its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The owner id.
    pub id: String,
    /// Whether its keys may be used.
    pub enabled: bool,
    /// The credential epoch; keys issued under an older epoch are revoked.
    pub epoch: u64,
}

impl Owner {
    /// A new, enabled owner at epoch 0.
    pub fn new(id: &str) -> Owner {
        Owner {
            id: id.to_owned(),
            enabled: true,
            epoch: 0,
        }
    }
}

/// When a new key expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expiry {
    /// Never.
    #[default]
    Never,
    /// At this unix time.
    At(UnixSeconds),
    /// This long after creation.
    In(Duration),
}

impl Expiry {
    /// `n` days after creation (7, 30, 90 are the usual choices).
    pub fn days(n: u64) -> Expiry {
        Expiry::In(Duration::from_secs(n.saturating_mul(86_400)))
    }

    pub(crate) fn resolve(self, now: UnixSeconds) -> Option<UnixSeconds> {
        match self {
            Expiry::Never => None,
            Expiry::At(at) => Some(at),
            Expiry::In(d) => Some(now.saturating_add(secs(d))),
        }
    }
}

/// The spec of a key to create.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// A display name.
    pub name: String,
    /// A longer description.
    pub description: Option<String>,
    /// The owner, if any (created, enabled, if the store does not know it yet).
    pub owner: Option<String>,
    /// Roles.
    pub roles: BTreeSet<String>,
    /// Expiry.
    pub expiry: Expiry,
    /// Allowed schemes; `None` = all.
    pub schemes: Option<BTreeSet<String>>,
    /// Permissions (default: read-only, the safe choice).
    pub permissions: Permissions,
}

impl NewKey {
    /// A read-only key with this name, no owner, no roles, no expiry, all schemes.
    pub fn new(name: impl Into<String>) -> NewKey {
        NewKey {
            name: name.into(),
            description: None,
            owner: None,
            roles: BTreeSet::new(),
            expiry: Expiry::Never,
            schemes: None,
            permissions: Permissions::read_only(),
        }
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> NewKey {
        self.description = Some(text.into());
        self
    }

    /// Sets the owner.
    pub fn owner(mut self, owner: impl Into<String>) -> NewKey {
        self.owner = Some(owner.into());
        self
    }

    /// Adds roles.
    pub fn roles<I, R>(mut self, roles: I) -> NewKey
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// Sets the expiry.
    pub fn expiry(mut self, expiry: Expiry) -> NewKey {
        self.expiry = expiry;
        self
    }

    /// Restricts the key to these schemes.
    pub fn schemes<I, R>(mut self, schemes: I) -> NewKey
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.schemes = Some(schemes.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the permissions.
    pub fn permissions(mut self, permissions: Permissions) -> NewKey {
        self.permissions = permissions;
        self
    }
}

/// A created key: its record and the full key, shown this once.
#[derive(Debug)]
pub struct IssuedKey {
    /// The stored record.
    pub record: KeyRecord,
    /// The full key. `Debug` is redacted.
    pub key: SecretString,
}

impl IssuedKey {
    /// The secret part alone, `<secret><checksum>`: what goes with the key id when the
    /// two travel apart (HTTP Basic `id:secret`, or an id header plus a secret header).
    pub fn secret(&self) -> SecretString {
        secret_part(self.key.expose_secret())
    }
}

/// The part of a full key after its second `_` (`<secret><checksum>`); empty when the
/// text is not shaped like a key. Also for the full key that a rotation returns.
pub fn secret_part(full_key: &str) -> SecretString {
    let part = full_key.splitn(3, '_').nth(2).unwrap_or_default();
    SecretString::from(part.to_owned())
}

/// Changes to a key; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct KeyUpdate {
    /// New permissions.
    pub permissions: Option<Permissions>,
    /// New roles (replacing the old).
    pub roles: Option<BTreeSet<String>>,
    /// New expiry: `Some(None)` removes it.
    pub expires_at: Option<Option<UnixSeconds>>,
}

/// Which keys [`KeyStore::list`](super::KeyStore::list) returns.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    /// Only this owner's keys.
    pub owner: Option<String>,
    /// Only keys in this state (expiry judged by the store's clock).
    pub state: Option<KeyState>,
}

impl KeyFilter {
    pub(crate) fn matches(&self, record: &KeyRecord, now: UnixSeconds) -> bool {
        self.owner
            .as_deref()
            .is_none_or(|o| record.owner.as_deref() == Some(o))
            && self.state.is_none_or(|s| record.state(now) == s)
    }
}

/// A key store failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// No key with this id.
    NotFound(String),
    /// The operation does not apply (rotating a revoked key).
    Conflict(String),
    /// The store cannot be reached or written (I/O, lock, RNG).
    Unavailable(String),
    /// The stored data cannot be read back.
    Corrupt(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(id) => write!(f, "no key with id `{id}`"),
            StoreError::Conflict(why) => write!(f, "not possible: {why}"),
            StoreError::Unavailable(why) => write!(f, "key store unavailable: {why}"),
            StoreError::Corrupt(why) => write!(f, "key store data is corrupt: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<super::format::RngError> for StoreError {
    fn from(e: super::format::RngError) -> StoreError {
        StoreError::Unavailable(e.to_string())
    }
}

/// Builds the record for a new key; shared by the stores so they behave alike.
pub(crate) fn new_record(
    spec: NewKey,
    key_id: String,
    secret_hash: [u8; 32],
    owner_epoch: u64,
    now: UnixSeconds,
) -> KeyRecord {
    KeyRecord {
        id: key_id,
        name: spec.name,
        description: spec.description,
        owner: spec.owner,
        owner_epoch,
        roles: spec.roles,
        created_at: now,
        expires_at: spec.expiry.resolve(now),
        last_used_at: None,
        status: KeyStatus::Active,
        schemes: spec.schemes,
        permissions: spec.permissions,
        hashes: SecretHashes {
            current: secret_hash,
            previous: None,
        },
    }
}

/// Applies a rotation to `record`: the new hash becomes current, the old one is kept
/// until `now + grace` (not at all for a zero grace).
pub(crate) fn apply_rotation(
    record: &mut KeyRecord,
    new_hash: [u8; 32],
    grace: Duration,
    now: UnixSeconds,
) -> Result<(), StoreError> {
    if record.status == KeyStatus::Revoked {
        return Err(StoreError::Conflict(format!(
            "key `{}` is revoked and cannot be rotated",
            record.id
        )));
    }
    let until = now.saturating_add(secs(grace));
    let old = record.hashes.current;
    record.hashes = SecretHashes {
        current: new_hash,
        previous: (until > now).then_some((old, until)),
    };
    Ok(())
}

/// Applies an update to `record`.
pub(crate) fn apply_update(record: &mut KeyRecord, change: KeyUpdate) {
    if let Some(p) = change.permissions {
        record.permissions = p;
    }
    if let Some(r) = change.roles {
        record.roles = r;
    }
    if let Some(e) = change.expires_at {
        record.expires_at = e;
    }
}

/// A record no secret matches (its hash has no known preimage), shaped like a usual key:
/// what an unknown key id is checked against, so it costs what a known one does.
pub(crate) fn decoy_record() -> KeyRecord {
    let spec = NewKey::new("decoy").permissions(Permissions::full());
    new_record(spec, "decoykeyid22".to_owned(), [0xA5; 32], 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(current: u8, previous: Option<(u8, UnixSeconds)>) -> SecretHashes {
        SecretHashes {
            current: [current; 32],
            previous: previous.map(|(hash, until)| ([hash; 32], until)),
        }
    }

    fn matches(digests: &Digests, presented: u8, now: UnixSeconds) -> bool {
        bool::from(digests.match_secret(&[presented; 32], now))
    }

    #[test]
    fn sha256_is_sha256_at_every_length_around_one_block() {
        // Known answers (FIPS 180-2 examples), then every length from empty to three
        // blocks against the hasher: both sides of the single-block shortcut.
        let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let text: String = (0..192u8).map(|n| char::from(b'!' + n % 90)).collect();
        for len in 0..=text.len() {
            let expected: [u8; 32] = Sha256::digest(&text.as_bytes()[..len]).into();
            assert_eq!(sha256(&text[..len]), expected, "length {len}");
        }
    }

    #[test]
    fn digests_match_the_current_secret_and_the_previous_one_before_its_end() {
        let rotated = Digests::of(&hashes(1, Some((2, 100))));
        assert!(matches(&rotated, 1, 500));
        assert!(matches(&rotated, 2, 99));
        assert!(!matches(&rotated, 2, 100));
        assert!(!matches(&rotated, 3, 0));
        // Without a previous secret its all-zero slot unlocks nothing, at any time.
        let plain = Digests::of(&hashes(1, None));
        assert!(!matches(&plain, 0, UnixSeconds::MIN));
    }

    #[test]
    fn selected_digests_are_wholly_one_side_or_the_other() {
        let a = Digests::of(&hashes(1, None));
        let b = Digests::of(&hashes(2, Some((3, 10))));
        let first = Digests::select(&a, &b, Choice::from(0));
        assert!(matches(&first, 1, 5) && !matches(&first, 2, 5) && !matches(&first, 3, 5));
        let second = Digests::select(&a, &b, Choice::from(1));
        assert!(matches(&second, 2, 5) && matches(&second, 3, 5) && !matches(&second, 1, 5));
        assert!(!matches(&second, 3, 10));
    }
}
