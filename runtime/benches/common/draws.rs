//! What the timing benches present: random secrets, and unknown key ids that a lookup
//! treats exactly as known ones, so that the one difference between the two classes is
//! whether the id exists.

use dudect_bencher::rand::{Rng, RngExt};

/// A random secret part of a key: 22 base62 characters.
pub(crate) fn random_secret(rng: &mut impl Rng) -> String {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..22)
        .map(|_| char::from(BASE62[rng.random_range(0..62)]))
        .collect()
}

/// The key id alphabet, in the order of the index's codes (5 bits a character).
const ID_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The index's code of a key id (its characters as base-32 digits).
pub(crate) fn code(id: &str) -> Option<u64> {
    id.bytes().try_fold(0u64, |code, b| {
        let digit = ID_ALPHABET.iter().position(|&c| c == b)?;
        Some((code << 5) | digit as u64)
    })
}

/// The key id whose code is one above `id`'s: a search for it reads what a search for
/// `id` reads and ends at `id`'s entry. `None` for the highest id there can be.
pub(crate) fn neighbour(id: &str) -> Option<String> {
    let next = code(id)? + 1;
    (next < 1 << (5 * id.len())).then(|| {
        (0..id.len())
            .rev()
            .map(|at| char::from(ID_ALPHABET[((next >> (5 * at)) & 31) as usize]))
            .collect()
    })
}

/// Each of `ids` with its neighbour, for the ids whose neighbour is not among them.
pub(crate) fn with_unknown_neighbours<'a>(
    ids: impl IntoIterator<Item = &'a str> + Clone,
) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> = ids
        .clone()
        .into_iter()
        .filter_map(|id| Some((id.to_owned(), neighbour(id)?)))
        .filter(|(_, next)| ids.clone().into_iter().all(|id| id != next))
        .collect();
    assert!(
        pairs.len() > 1,
        "too few known ids with an unknown neighbour"
    );
    pairs
}
