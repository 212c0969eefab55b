//! A sorted index of key ids whose lookup does the same work for an id it holds and for
//! one it lacks: what the keyring asks on every request, with an attacker choosing the
//! id. A hash map answers a miss faster than a hit (it stops at an empty slot), and the
//! timing test sees the difference.

use super::format::KEY_ID_LEN;

/// Key ids by their 60-bit code (12 base32 characters, 5 bits each), sorted.
#[derive(Debug, Clone)]
pub(crate) struct IdIndex<T> {
    codes: Vec<u64>,
    values: Vec<T>,
}

impl<T> Default for IdIndex<T> {
    fn default() -> IdIndex<T> {
        IdIndex {
            codes: Vec::new(),
            values: Vec::new(),
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

    /// The value for `id`. An id held and one lacking cost the same steps.
    pub(crate) fn get(&self, id: &str) -> Option<&T> {
        let code = encode(id)?;
        if self.codes.is_empty() {
            return None;
        }
        let at = self.position(code);
        let found = self.codes[at] == code;
        // Read either way, so a miss touches a value as a hit does.
        let value = std::hint::black_box(&self.values[at]);
        found.then_some(value)
    }

    /// Sets the value for `id`; false when `id` is not a key id.
    pub(crate) fn insert(&mut self, id: &str, value: T) -> bool {
        let Some(code) = encode(id) else {
            return false;
        };
        match self.codes.binary_search(&code) {
            Ok(at) => self.values[at] = value,
            Err(at) => {
                self.codes.insert(at, code);
                self.values.insert(at, value);
            }
        }
        true
    }

    /// Whether `id` is held (not timing-sensitive: for bookkeeping).
    pub(crate) fn contains(&self, id: &str) -> bool {
        encode(id).is_some_and(|code| self.codes.binary_search(&code).is_ok())
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
    fn codes_keep_the_order_of_ids() {
        let a = encode("aaaaaaaaaaab").unwrap();
        let b = encode("aaaaaaaaaaba").unwrap();
        assert!(a < b);
        assert_eq!(encode("aaaaaaaaaaaa"), Some(0));
        assert_eq!(encode("777777777777"), Some((1 << 60) - 1));
    }
}
