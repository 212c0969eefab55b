//! What a key store's operations fail with ([`StoreError`]), and the key or owner an error
//! or an audit entry names ([`AuditTarget`]).

use std::fmt;
use std::sync::Arc;

/// What a change was made to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuditTarget {
    /// The key with this id.
    Key(String),
    /// The owner with this id.
    Owner(String),
}

impl AuditTarget {
    /// `key` or `owner`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuditTarget::Key(_) => "key",
            AuditTarget::Owner(_) => "owner",
        }
    }

    /// The key or owner id.
    pub fn id(&self) -> &str {
        match self {
            AuditTarget::Key(id) | AuditTarget::Owner(id) => id,
        }
    }

    pub(crate) fn from_parts(kind: &str, id: String) -> Option<AuditTarget> {
        match kind {
            "key" => Some(AuditTarget::Key(id)),
            "owner" => Some(AuditTarget::Owner(id)),
            _ => None,
        }
    }
}

/// What caused a [`StoreError`]: the database's or the system's own error, shared so
/// the error stays `Clone`.
pub type ErrorSource = Arc<dyn std::error::Error + Send + Sync>;

/// A key store failed. Its texts name keys and owners by id and never hold a secret; the
/// database's own error, where there is one, is its [`source`](std::error::Error::source).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreError {
    /// No key with this id.
    NotFound(String),
    /// The key with this id is revoked for good, so it cannot be rotated, disabled or
    /// enabled.
    Revoked(String),
    /// No owner with this id.
    OwnerNotFound(String),
    /// The key or owner changed since the version that
    /// [`KeyChange::IfMatch`](super::KeyChange::IfMatch) or
    /// [`OwnerChange::IfMatch`](super::OwnerChange::IfMatch) expected; nothing was changed.
    Changed(AuditTarget),
    /// A value given to the store is not acceptable; `field` names it.
    Invalid {
        /// The field (`metadata`, `cursor`, `actor`, ...).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The store is configured wrongly (a malformed URL or schema name, no database
    /// where one must exist): retrying does not help.
    Config {
        /// What is wrong.
        reason: String,
        /// The error behind it.
        source: Option<ErrorSource>,
    },
    /// The store cannot be reached, written or read now (I/O, connections, timeouts,
    /// locks, the system's random number generator): retrying may help.
    Unavailable {
        /// What failed.
        reason: String,
        /// The error behind it.
        source: Option<ErrorSource>,
    },
    /// The stored data cannot be read back.
    Corrupt {
        /// What is wrong with it.
        reason: String,
        /// The error behind it.
        source: Option<ErrorSource>,
    },
    /// The store's schema was written by a newer keygate.
    NewerSchema {
        /// The schema's version.
        found: usize,
        /// The newest version this keygate knows.
        supported: usize,
    },
}

impl StoreError {
    // Only the SQLite and PostgreSQL stores read configuration and stored values.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn config(reason: impl Into<String>) -> StoreError {
        StoreError::Config {
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn unavailable(reason: impl Into<String>) -> StoreError {
        StoreError::Unavailable {
            reason: reason.into(),
            source: None,
        }
    }

    // Only the SQLite and PostgreSQL stores read configuration and stored values.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn corrupt(reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            reason: reason.into(),
            source: None,
        }
    }

    /// The same error, caused by `cause`.
    pub(crate) fn caused_by(
        mut self,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        if let StoreError::Config { source, .. }
        | StoreError::Unavailable { source, .. }
        | StoreError::Corrupt { source, .. } = &mut self
        {
            *source = Some(Arc::new(cause));
        }
        self
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(id) => write!(f, "no key with id `{id}`"),
            StoreError::Revoked(id) => write!(
                f,
                "key `{id}` is revoked for good: it cannot be rotated, disabled or enabled"
            ),
            StoreError::OwnerNotFound(id) => write!(f, "no owner with id `{id}`"),
            StoreError::Changed(target) => write!(
                f,
                "{} `{}` changed since the version the change was meant for",
                target.kind(),
                target.id()
            ),
            StoreError::Invalid { field, reason } => write!(f, "invalid `{field}`: {reason}"),
            StoreError::Config { reason, .. } => write!(f, "key store misconfigured: {reason}"),
            StoreError::Unavailable { reason, .. } => write!(f, "key store unavailable: {reason}"),
            StoreError::Corrupt { reason, .. } => write!(f, "key store data is corrupt: {reason}"),
            StoreError::NewerSchema { found, supported } => write!(
                f,
                "the key store's schema version {found} is newer than this keygate supports \
                 ({supported})"
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Config { source, .. }
            | StoreError::Unavailable { source, .. }
            | StoreError::Corrupt { source, .. } => source.as_deref().map(|e| e as _),
            _ => None,
        }
    }
}

impl From<super::format::RngError> for StoreError {
    fn from(e: super::format::RngError) -> StoreError {
        StoreError::unavailable("cannot generate a key").caused_by(e)
    }
}

/// An error and its sources, one after another: for logs.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}
