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

/// The code of `IdIndex::with_stand_in`'s entry: above every key id's (60 bits), so it
/// stays last in the sorted part.
const STAND_IN: u64 = 1 << 60;

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
        let (at, found) = self.find(code);
        (found == 1).then(|| self.slot(at))
    }

    /// The value for `id`, or `absent` for a key id not held, and whether it was held.
    /// The same loads and no branch on the answer either way.
    #[cfg(test)]
    pub(crate) fn get_or<'a>(&'a self, id: &str, absent: &'a T) -> (&'a T, bool) {
        let Some(code) = encode(id) else {
            return (absent, false);
        };
        let (at, found) = self.find(code);
        let value = self.slot_or(at, absent);
        ([absent, value][std::hint::black_box(found)], found == 1)
    }

    /// An index whose sorted part ends with `stand_in`, under a code no key id has: what
    /// `get_or_stand_in_code` answers for an id not held.
    pub(crate) fn with_stand_in(stand_in: T) -> IdIndex<T> {
        IdIndex {
            codes: vec![STAND_IN],
            values: vec![stand_in],
            tail_codes: Vec::new(),
            tail_values: Vec::new(),
        }
    }

    /// `get_or_stand_in_code` by id (the stand-in for what is not a key id).
    #[cfg(test)]
    pub(crate) fn get_or_stand_in(&self, id: &str) -> (&T, bool) {
        match encode(id) {
            Some(code) => self.get_or_stand_in_code(code),
            None => (&self.values[self.codes.len() - 1], false),
        }
    }

    /// For an index made `with_stand_in`: the value for the key id with this code or the
    /// stand-in, and whether it was held. Either is read from the index's own values at
    /// a position worked out by arithmetic, so a miss loads and branches as a hit does.
    pub(crate) fn get_or_stand_in_code(&self, code: u64) -> (&T, bool) {
        let last = self.codes.len() - 1;
        debug_assert_eq!(self.codes[last], STAND_IN);
        let (at, found) = self.find(code);
        let found = std::hint::black_box(found);
        let at = at * found + last * (1 - found);
        (self.slot_or(at, &self.values[last]), found == 1)
    }

    /// For an index made `with_stand_in`: the value where the search for `code` ended
    /// (the id's own when held), the stand-in, and whether it was held. Both are read
    /// for every code and nothing is picked by the answer, so the caller can pick by
    /// arithmetic from the index's own memory.
    pub(crate) fn slot_and_stand_in(&self, code: u64) -> (&T, &T, bool) {
        let last = self.codes.len() - 1;
        debug_assert_eq!(self.codes[last], STAND_IN);
        let stand_in = &self.values[last];
        let (at, found) = self.find(code);
        (self.slot_or(at, stand_in), stand_in, found == 1)
    }

    /// Where `code` is (as for `slot`) and 1 when it is held, else 0. When it is not
    /// held, the position the search ended at.
    fn find(&self, code: u64) -> (usize, usize) {
        let (mut at, mut found) = (0, 0);
        if !self.codes.is_empty() {
            at = self.position(code);
            found = std::hint::black_box(usize::from(self.codes[at] == code));
        }
        // Ids are unique: at most one entry matches, and its position is summed in.
        let (mut tail_at, mut in_tail) = (0, 0);
        for (i, &other) in self.tail_codes.iter().enumerate() {
            let same = std::hint::black_box(usize::from(other == code));
            tail_at += (self.codes.len() + i) * same;
            in_tail |= same;
        }
        (at * (1 - in_tail) + tail_at, found | in_tail)
    }

    /// The value at a position over the sorted part then the tail.
    fn slot(&self, at: usize) -> &T {
        match at.checked_sub(self.codes.len()) {
            None => &self.values[at],
            Some(tail) => &self.tail_values[tail],
        }
    }

    /// `slot(at)`, or `absent` when the index is empty. Loads from both parts and picks
    /// by index, so where `at` points does not choose a path.
    fn slot_or<'a>(&'a self, at: usize, absent: &'a T) -> &'a T {
        let last = |len: usize| len.saturating_sub(1);
        // Branches on emptiness only, which no lookup changes.
        let sorted = self
            .values
            .get(at.min(last(self.values.len())))
            .unwrap_or(absent);
        let tail = self
            .tail_values
            .get(
                at.saturating_sub(self.codes.len())
                    .min(last(self.tail_values.len())),
            )
            .unwrap_or(absent);
        [sorted, tail][std::hint::black_box(usize::from(at >= self.codes.len()))]
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

    /// Every value but the stand-in's.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        let codes = self.codes.iter();
        let sorted = self.values.iter_mut().zip(codes);
        sorted
            .filter(|(_, &code)| code != STAND_IN)
            .map(|(value, _)| value)
            .chain(self.tail_values.iter_mut())
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
    fn picks_the_value_or_the_stand_in() {
        let mut plain = IdIndex::default();
        let mut standing = IdIndex::with_stand_in(-1);
        assert_eq!(plain.get_or("abcdefghijkl", &-1), (&-1, false));
        assert_eq!(standing.get_or_stand_in("abcdefghijkl"), (&-1, false));
        // 70 ids: two merges, and some still in the tail.
        let ids: Vec<String> = (0..70u64)
            .map(|n| {
                let digits = b"abcdefghijklmnopqrstuvwxyz234567";
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
        for (n, id) in ids.iter().enumerate() {
            let n = i64::try_from(n).unwrap();
            assert!(plain.insert(id, n));
            assert!(standing.insert(id, n));
        }
        assert!(!standing.tail_codes.is_empty());
        for (n, id) in ids.iter().enumerate() {
            let n = i64::try_from(n).unwrap();
            assert_eq!(plain.get_or(id, &-1), (&n, true), "{id}");
            assert_eq!(standing.get_or_stand_in(id), (&n, true), "{id}");
            assert_eq!(standing.get(id), Some(&n));
        }
        for absent in [
            "bbbbbbbbbbbb",
            "222222222222",
            "777777777777",
            "abcdefghijkm",
        ] {
            assert_eq!(plain.get_or(absent, &-1), (&-1, false), "{absent}");
            assert_eq!(standing.get_or_stand_in(absent), (&-1, false), "{absent}");
            assert_eq!(standing.get(absent), None);
        }
        // Not key ids.
        assert_eq!(standing.get_or_stand_in("ABCDEFGHIJKL"), (&-1, false));
        assert_eq!(plain.get_or("abc", &-1), (&-1, false));
        // The stand-in is never a value of any id.
        assert!(!standing.contains("777777777777"));
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
