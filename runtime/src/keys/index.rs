//! A sorted index of key ids whose lookup does the same work for an id it holds and for
//! one it lacks: what the keyring asks on every request, with an attacker choosing the
//! id. A hash map answers a miss faster than a hit (it stops at an empty slot), and the
//! timing test sees the difference.

use super::format::KEY_ID_LEN;

/// Key ids by their 60-bit code (12 base32 characters, 5 bits each): most in a sorted
/// vector, the latest few in a short unsorted one that is merged in when full (so adding
/// many ids costs amortized O(n / TAIL) each, not O(n)).
#[derive(Debug, Clone)]
pub(crate) struct IdIndex<T> {
    codes: Vec<u64>,
    values: Vec<T>,
    tail_codes: Vec<u64>,
    tail_values: Vec<T>,
}

/// Ids kept unsorted before a merge; every lookup scans them all.
const TAIL: usize = 32;

impl<T> Default for IdIndex<T> {
    fn default() -> IdIndex<T> {
        IdIndex {
            codes: Vec::new(),
            values: Vec::new(),
            tail_codes: Vec::new(),
            tail_values: Vec::new(),
        }
    }
}

/// Base32 digit of each byte, or `INVALID`.
const INVALID: u8 = 0x80;
const DIGITS: [u8; 256] = {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The code of a key id, or `None` when it is not one. Without branches on the
/// characters.
pub(crate) fn encode(id: &str) -> Option<u64> {
    if id.len() != KEY_ID_LEN {
        return None;
    }
    let (code, invalid) = id.bytes().fold((0u64, 0u8), |(code, invalid), b| {
        let digit = DIGITS[usize::from(b)];
        ((code << 5) | u64::from(digit & 0x1f), invalid | digit)
    });
    (invalid & INVALID == 0).then_some(code)
}

impl<T> IdIndex<T> {
    /// The position of the last code <= `code` (0 when none is): a fixed number of steps
    /// for a given size, none of them a branch on the code.
    fn position(&self, code: u64) -> usize {
        let mut base = 0;
        let mut size = self.codes.len();
        while size > 1 {
            let half = size / 2;
            // Moves to the upper half or not by arithmetic; black_box keeps the
            // compiler from turning it back into a branch.
            let up = std::hint::black_box(usize::from(self.codes[base + half] <= code));
            base += half * up;
            size -= half;
        }
        base
    }

    /// The value for `id`. An id held and one lacking cost the same steps: the sorted
    /// part is searched to the end, and the whole tail is scanned.
    pub(crate) fn get(&self, id: &str) -> Option<&T> {
        let code = encode(id)?;
        let mut found = None;
        if !self.codes.is_empty() {
            let at = self.position(code);
            // Read either way, so a miss touches a value as a hit does.
            let value = std::hint::black_box(&self.values[at]);
            if self.codes[at] == code {
                found = Some(value);
            }
        }
        // Ids are unique: at most one entry matches, and its position is summed in.
        let (mut at, mut matched) = (0, 0);
        for (i, &other) in self.tail_codes.iter().enumerate() {
            let same = std::hint::black_box(usize::from(other == code));
            at += i * same;
            matched |= same;
        }
        if matched == 1 {
            found = self.tail_values.get(at);
        }
        found
    }

    /// Sets the value for `id`; false when `id` is not a key id.
    pub(crate) fn insert(&mut self, id: &str, value: T) -> bool {
        let Some(code) = encode(id) else {
            return false;
        };
        if let Ok(at) = self.codes.binary_search(&code) {
            self.values[at] = value;
        } else if let Some(at) = self.tail_codes.iter().position(|&c| c == code) {
            self.tail_values[at] = value;
        } else {
            self.tail_codes.push(code);
            self.tail_values.push(value);
            if self.tail_codes.len() >= TAIL {
                self.merge();
            }
        }
        true
    }

    /// Moves the tail into the sorted part.
    fn merge(&mut self) {
        let mut all: Vec<(u64, T)> = self
            .codes
            .drain(..)
            .zip(self.values.drain(..))
            .chain(self.tail_codes.drain(..).zip(self.tail_values.drain(..)))
            .collect();
        all.sort_unstable_by_key(|(code, _)| *code);
        (self.codes, self.values) = all.into_iter().unzip();
    }

    /// Whether `id` is held (not timing-sensitive: for bookkeeping).
    pub(crate) fn contains(&self, id: &str) -> bool {
        encode(id).is_some_and(|code| {
            self.codes.binary_search(&code).is_ok() || self.tail_codes.contains(&code)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_holds_and_nothing_else() {
        let mut index = IdIndex::default();
        assert_eq!(index.get("abcdefghijkl"), None);
        let ids = [
            "abcdefghijkl",
            "zzzzzzzzzzzz",
            "777777777777",
            "aaaaaaaaaaaa",
        ];
        for (n, id) in ids.iter().enumerate() {
            assert!(index.insert(id, n));
        }
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(&n));
            assert!(index.contains(id));
        }
        assert!(index.insert("zzzzzzzzzzzz", 9));
        assert_eq!(index.get("zzzzzzzzzzzz"), Some(&9));
        for absent in [
            "abcdefghijkm",
            "aaaaaaaaaaab",
            "bbbbbbbbbbbb",
            "22222222222a",
        ] {
            assert_eq!(index.get(absent), None, "{absent}");
        }
        // Not key ids: never held, never inserted.
        for odd in [
            "",
            "ABCDEFGHIJKL",
            "abcdefghijk",
            "abcdefghijkl1",
            "abcdefghijk1",
        ] {
            assert_eq!(index.get(odd), None);
            assert!(!index.insert(odd, 0));
        }
    }

    #[test]
    fn many_ids_stay_findable_across_merges() {
        let ids: Vec<String> = (0..200u64)
            .map(|n| {
                let digits = b"abcdefghijklmnopqrstuvwxyz234567";
                // Spread over the code space, in no order.
                let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 4;
                (0..KEY_ID_LEN)
                    .map(|_| {
                        let c = char::from(digits[(x & 31) as usize]);
                        x >>= 5;
                        c
                    })
                    .collect()
            })
            .collect();
        let mut index = IdIndex::default();
        for (n, id) in ids.iter().enumerate() {
            assert!(index.insert(id, n));
            // Everything added so far, sorted or still in the tail, is found.
            for (m, earlier) in ids[..=n].iter().enumerate() {
                assert_eq!(index.get(earlier), Some(&m), "{earlier} after {n}");
            }
        }
        assert!(index.insert(&ids[7], 700));
        assert_eq!(index.get(&ids[7]), Some(&700));
        assert!(index.insert(&ids[199], 1990));
        assert_eq!(index.get(&ids[199]), Some(&1990));
        assert_eq!(index.get("bbbbbbbbbbbb"), None);
    }

    #[test]
    fn codes_keep_the_order_of_ids() {
        let a = encode("aaaaaaaaaaab").unwrap();
        let b = encode("aaaaaaaaaaba").unwrap();
        assert!(a < b);
        assert_eq!(encode("aaaaaaaaaaaa"), Some(0));
        assert_eq!(encode("777777777777"), Some((1 << 60) - 1));
    }
}
