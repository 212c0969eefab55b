//! SHA-256 of secrets and their constant-time comparison: what `StaticKeys` and the key
//! stores keep and compare.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// SHA-256 of a secret.
pub(crate) fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether two digests are equal, in constant time.
pub(crate) fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> Choice {
    a.ct_eq(b)
}
