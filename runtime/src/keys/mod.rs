//! The runtime's own keys: issue, verify, expire, revoke, rotate, permissions.
//!
//! Keys look like `<prefix>_<key id>_<secret><checksum>` (see [`KeyFormat`]). Stores keep
//! only the SHA-256 of `<secret><checksum>`. A [`Keyring`] over any [`KeyStore`] is a
//! [`Verifier`](crate::Verifier).
//!
//! ```
//! use keygate::keys::{Keyring, KeyStore, MemoryStore, NewKey, Permissions};
//! # async fn demo() -> Result<(), keygate::keys::StoreError> {
//! let keyring = Keyring::new(MemoryStore::new());
//! let issued = keyring
//!     .store()
//!     .create(NewKey::new("ci").permissions(Permissions::full()))
//!     .await?;
//! // Show `issued.key` to the user once; only its hash is kept.
//! # Ok(()) }
//! ```

mod cache;
mod format;
mod keyring;
mod memory;
mod model;
mod names;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;

pub use cache::{CachedStore, Invalidator, DEFAULT_CAPACITY, DEFAULT_TTL};
pub use format::{
    FormatError, GeneratedKey, KeyFormat, ParsedKey, RngError, CHECKSUM_LEN, KEY_ID_LEN, SECRET_LEN,
};
pub use keyring::Keyring;
pub use memory::MemoryStore;
pub use model::{
    operation_key, secret_part, Clock, ErrorSource, Expiry, IssuedKey, KeyFilter, KeyRecord,
    KeyState, KeyStatus, KeyUpdate, ManualClock, NewKey, Owner, Permissions, Preset, SecretHashes,
    StoreError, SystemClock, UnixSeconds, ANY_METHOD, SAFE_METHODS,
};
pub use names::{NameInUse, NameKind, NameReport, UnknownName};
#[cfg(feature = "postgres")]
pub use postgres::{ListenerState, PostgresOptions, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::KeyStore;
