//! SHA-256 of secrets and their constant-time comparison: what `StaticKeys` and the key
//! stores keep and compare.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// SHA-256 of a secret.
pub(crate) fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether two digests are equal, in constant time; as four words, because `subtle`
/// fences every element it compares.
pub(crate) fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> Choice {
    words(a)[..].ct_eq(&words(b)[..])
}

fn words(digest: &[u8; 32]) -> [u64; 4] {
    std::array::from_fn(|i| {
        let mut word = [0; 8];
        word.copy_from_slice(&digest[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_compare_every_byte() {
        let a = sha256("key");
        assert!(bool::from(digests_equal(&a, &sha256("key"))));
        for at in 0..32 {
            let mut b = a;
            b[at] ^= 0x80;
            assert!(!bool::from(digests_equal(&a, &b)), "byte {at}");
        }
    }
}
