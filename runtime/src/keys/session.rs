//! [`ConsoleSession`]: a web console session of an admin key, as every store keeps it, so
//! that a login made on one instance of an app works on all of them and survives a restart.

use std::fmt;

use super::clock::UnixSeconds;

/// A store keeps at most this many console sessions per admin key; creating one more
/// drops that key's oldest, so a login loop cannot fill the table (nor end the sessions of
/// other admin keys).
pub const SESSIONS_PER_KEY: usize = 16;

/// A console session of an admin key, as a store keeps it: digests only, never the cookie
/// value, the CSRF token or the key's secret, so a copy of the table logs nobody in.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// SHA-256 of the session cookie's value: the lookup key.
    pub id_sha256: [u8; 32],
    /// The admin key the session acts as.
    pub key_id: String,
    /// SHA-256 of the secret the key logged in with: a rotation ends the session once
    /// the old secret stops working.
    pub secret_sha256: [u8; 32],
    /// SHA-256 of the session's CSRF token.
    pub csrf_sha256: [u8; 32],
    /// When the admin key logged in.
    pub created_at: UnixSeconds,
    /// A store never answers the session at or after this time, pruned or not.
    pub expires_at: UnixSeconds,
}

impl ConsoleSession {
    /// Whether the session still works at `now`.
    pub fn is_live(&self, now: UnixSeconds) -> bool {
        self.expires_at > now
    }
}

impl fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The digests stay out: they are the session's lookup key.
        f.debug_struct("ConsoleSession")
            .field("key_id", &self.key_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
