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

mod audit;
mod cache;
mod change;
mod clock;
mod error;
mod etag;
mod format;
mod keyring;
mod memory;
mod model;
mod names;
mod page;
mod permissions;
#[cfg(feature = "postgres")]
mod postgres;
mod session;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;

pub use audit::{
    Actor, ActorKind, AuditAction, AuditEntry, AuditPage, AuditQuery, FieldChange,
    DEFAULT_AUDIT_PAGE, DEFAULT_AUDIT_RETENTION, MAX_AUDIT_PAGE,
};
pub use cache::{CachedStore, Invalidator, DEFAULT_CAPACITY, DEFAULT_TTL};
pub use change::{KeyChange, KeyChanged, OwnerChange, OwnerChanged};
pub use clock::{Clock, ManualClock, SystemClock, UnixSeconds};
#[cfg(feature = "admin")]
pub(crate) use error::Chain;
pub use error::{AuditTarget, ErrorSource, StoreError};
pub use format::{
    FormatError, GeneratedKey, KeyFormat, ParsedKey, RngError, CHECKSUM_LEN, KEY_ID_LEN, SECRET_LEN,
};
pub use keyring::Keyring;
pub use memory::MemoryStore;
pub use model::{
    secret_part, Expiry, IssuedKey, KeyFilter, KeyRecord, KeyState, KeyStatus, KeyUpdate, Metadata,
    NewKey, Owner, SecretHashes, METADATA_MAX_BYTES,
};
#[cfg(feature = "admin")]
pub(crate) use names::{operation_problem, scheme_problem};
pub use names::{NameInUse, NameKind, NameReport, UnknownName};
pub use page::{
    KeyCursor, KeyOrder, KeyPage, KeyQuery, OwnerPage, OwnerQuery, OwnerSummary, DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
};
pub use permissions::{operation_key, Permissions, Preset, ANY_METHOD, SAFE_METHODS};
#[cfg(feature = "postgres")]
pub use postgres::{ListenerState, PostgresOptions, PostgresStore};
pub use session::{ConsoleSession, SESSIONS_PER_KEY};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::KeyStore;
