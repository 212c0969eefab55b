//! What a decision gathers about each scheme of one request: its credential, read
//! once, and its outcome, verified at most once, however many alternatives name it.

use crate::credential::Presented;
use crate::verifier::Principal;

/// What became of one scheme for this request.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Verified(Principal),
    Forbidden,
    Failed,
    Absent,
    Unavailable,
}

/// What one scheme has given so far in this request.
#[derive(Debug, Default)]
pub(crate) struct Slot<'p> {
    pub(crate) presented: Option<Presented<'p>>,
    pub(crate) outcome: Option<Outcome>,
}

/// Schemes whose slots live in place; a decision that touches more spills to the heap.
/// Few touch more than two (the AND of a key pair, or a key OR a token).
const INLINE: usize = 3;
/// Marks an inline slot no scheme holds yet.
const FREE: usize = usize::MAX;

/// The slots of one request: one for each scheme the decision touches (not each scheme
/// of the spec), found by scheme index, so the memo stays small whatever the spec
/// defines.
pub(crate) struct Slots<'p> {
    owners: [usize; INLINE],
    inline: [Slot<'p>; INLINE],
    spilled: Vec<(usize, Slot<'p>)>,
}

impl<'p> Slots<'p> {
    pub(crate) fn new() -> Slots<'p> {
        Slots {
            owners: [FREE; INLINE],
            inline: Default::default(),
            spilled: Vec::new(),
        }
    }

    /// The slot of `scheme`, if the decision has touched it.
    pub(crate) fn get(&self, scheme: usize) -> Option<&Slot<'p>> {
        match self.owners.iter().position(|&owner| owner == scheme) {
            Some(at) => Some(&self.inline[at]),
            None => self
                .spilled
                .iter()
                .find(|(owner, _)| *owner == scheme)
                .map(|(_, slot)| slot),
        }
    }

    /// The slot of `scheme`, taken now if the decision has not touched it yet.
    pub(crate) fn slot(&mut self, scheme: usize) -> &mut Slot<'p> {
        if let Some(at) = self.owners.iter().position(|&owner| owner == scheme) {
            return &mut self.inline[at];
        }
        if let Some(at) = self.owners.iter().position(|&owner| owner == FREE) {
            self.owners[at] = scheme;
            return &mut self.inline[at];
        }
        let at = match self.spilled.iter().position(|(owner, _)| *owner == scheme) {
            Some(at) => at,
            None => {
                self.spilled.push((scheme, Slot::default()));
                self.spilled.len() - 1
            }
        };
        &mut self.spilled[at].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Held;
    use crate::verifier::CredentialRef;

    /// Slots past the inline ones spill to the heap and are found again, each its own.
    #[test]
    fn slots_beyond_the_inline_ones_keep_their_schemes() {
        let keys: Vec<String> = (0..2 * INLINE).map(|n| format!("key-{n}")).collect();
        let mut slots = Slots::new();
        // Touched out of order, as alternatives touch schemes.
        for scheme in (0..keys.len()).rev() {
            let slot = slots.slot(10 * scheme);
            assert!(slot.presented.is_none(), "scheme {scheme} starts empty");
            slot.presented = Some(Presented::One(Held::Lent(CredentialRef::key(
                &keys[scheme],
            ))));
        }
        assert_eq!(slots.spilled.len(), keys.len() - INLINE);
        assert!(slots.get(7).is_none(), "an untouched scheme has no slot");
        for (scheme, key) in keys.iter().enumerate() {
            match slots
                .get(10 * scheme)
                .and_then(|slot| slot.presented.as_ref())
            {
                Some(Presented::One(held)) => assert_eq!(held.lend().secret(), key),
                other => panic!("scheme {scheme}: {other:?}"),
            }
        }
    }
}
