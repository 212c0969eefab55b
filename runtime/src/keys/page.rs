//! Listing a page at a time: key and owner queries, their cursors and pages.
//!
//! Keys are ordered by creation time, then id, oldest or newest first, and a cursor is
//! the last key's pair: the next page starts after it (keyset pagination on an index, read
//! forwards or backwards), so keys created while an admin pages through are never shown
//! twice and never push others off a page.

use std::fmt;
use std::str::FromStr;

use super::clock::UnixSeconds;
use super::error::StoreError;
use super::model::{KeyFilter, KeyRecord, Owner};

/// Keys or owners a page holds unless the query says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The order keys are listed in: by creation time, then id (byte order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum KeyOrder {
    /// The oldest key first.
    #[default]
    OldestFirst,
    /// The newest key first (creation time and id both descending).
    NewestFirst,
}

impl KeyOrder {
    /// The name the admin API and the CLI's messages use: `oldest` or `newest`.
    pub fn name(self) -> &'static str {
        match self {
            KeyOrder::OldestFirst => "oldest",
            KeyOrder::NewestFirst => "newest",
        }
    }
}

/// What a newest-first cursor starts with; an oldest-first one has no prefix, as before
/// orders existed, so cursors printed then still read.
const NEWEST_PREFIX: &str = "newest.";

/// Where a page of keys starts: after the key created at `created_at` with this id, in
/// `order`. Shown and read as `<created_at>.<id>` (oldest first) or
/// `newest.<created_at>.<id>` (newest first), so a cursor cannot be used with the other
/// order by mistake: [`KeyQuery::start`] refuses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyCursor {
    /// The creation time of the last key shown.
    pub created_at: UnixSeconds,
    /// Its id.
    pub id: String,
    /// The order of the list it continues.
    pub order: KeyOrder,
}

impl KeyCursor {
    /// The cursor just after `record` in a list in `order`.
    pub fn after(record: &KeyRecord, order: KeyOrder) -> KeyCursor {
        KeyCursor {
            created_at: record.created_at,
            id: record.id.clone(),
            order,
        }
    }

    /// Whether `record` comes after the cursor in the cursor's order.
    pub fn precedes(&self, record: &KeyRecord) -> bool {
        let at = (record.created_at, record.id.as_str());
        let cursor = (self.created_at, self.id.as_str());
        match self.order {
            KeyOrder::OldestFirst => at > cursor,
            KeyOrder::NewestFirst => at < cursor,
        }
    }
}

impl fmt::Display for KeyCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.order == KeyOrder::NewestFirst {
            f.write_str(NEWEST_PREFIX)?;
        }
        write!(f, "{}.{}", self.created_at, self.id)
    }
}

impl FromStr for KeyCursor {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<KeyCursor, StoreError> {
        let bad = || {
            StoreError::invalid(
                "cursor",
                "expected `<created_at>.<key id>` or `newest.<created_at>.<key id>`",
            )
        };
        let (order, rest) = match text.strip_prefix(NEWEST_PREFIX) {
            Some(rest) => (KeyOrder::NewestFirst, rest),
            None => (KeyOrder::OldestFirst, text),
        };
        let (at, id) = rest.split_once('.').ok_or_else(bad)?;
        let created_at = at.parse().map_err(|_| bad())?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        Ok(KeyCursor {
            created_at,
            id: id.to_owned(),
            order,
        })
    }
}

/// One page of keys to list: a filter, an order, where to start, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyQuery {
    /// Which keys.
    pub filter: KeyFilter,
    /// Oldest or newest first.
    pub order: KeyOrder,
    /// Start after this key: [`KeyPage::next`] of the page before, in the same order;
    /// `None` for the first.
    pub after: Option<KeyCursor>,
    /// Keys at most ([`MAX_PAGE_SIZE`] at most).
    pub limit: usize,
}

impl Default for KeyQuery {
    fn default() -> KeyQuery {
        KeyQuery::new(KeyFilter::default())
    }
}

impl KeyQuery {
    /// The first page of [`DEFAULT_PAGE_SIZE`] keys matching `filter`.
    pub fn new(filter: KeyFilter) -> KeyQuery {
        KeyQuery {
            filter,
            order: KeyOrder::OldestFirst,
            after: None,
            limit: DEFAULT_PAGE_SIZE,
        }
    }

    /// Listed in `order`.
    pub fn order(mut self, order: KeyOrder) -> KeyQuery {
        self.order = order;
        self
    }

    /// Listed newest first.
    pub fn newest_first(self) -> KeyQuery {
        self.order(KeyOrder::NewestFirst)
    }

    /// The page starting after `cursor`.
    pub fn after(mut self, cursor: KeyCursor) -> KeyQuery {
        self.after = Some(cursor);
        self
    }

    /// At most `limit` keys.
    pub fn limit(mut self, limit: usize) -> KeyQuery {
        self.limit = limit;
        self
    }

    /// The page size used: `limit` within 1 ..= [`MAX_PAGE_SIZE`].
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }

    /// The cursor the page starts after, if its order is the query's: every store reads
    /// it through here, so a cursor of the other order is an error, never a wrong page.
    pub fn start(&self) -> Result<Option<&KeyCursor>, StoreError> {
        match &self.after {
            Some(cursor) if cursor.order != self.order => Err(StoreError::invalid(
                "cursor",
                format!(
                    "a cursor of a list {} first, used with a list {} first: page on in \
                     the order it came from",
                    cursor.order.name(),
                    self.order.name()
                ),
            )),
            after => Ok(after.as_ref()),
        }
    }
}

/// A page of keys in list order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys.
    pub keys: Vec<KeyRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<KeyCursor>,
}

impl KeyPage {
    /// A page from up to `size + 1` records read in `order`: the extra one only says
    /// that there is a next page.
    pub(crate) fn from_rows(mut keys: Vec<KeyRecord>, size: usize, order: KeyOrder) -> KeyPage {
        let more = keys.len() > size;
        keys.truncate(size);
        let next = if more {
            keys.last().map(|last| KeyCursor::after(last, order))
        } else {
            None
        };
        KeyPage { keys, next }
    }
}

/// An owner with the number of keys it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerSummary {
    /// The owner.
    pub owner: Owner,
    /// Keys it holds, whatever their status.
    pub keys: u64,
}

/// One page of owners, in id order (byte order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerQuery {
    /// Start after the owner with this id: [`OwnerPage::next`] of the page before.
    pub after: Option<String>,
    /// Owners at most ([`MAX_PAGE_SIZE`] at most).
    pub limit: usize,
}

impl Default for OwnerQuery {
    fn default() -> OwnerQuery {
        OwnerQuery {
            after: None,
            limit: DEFAULT_PAGE_SIZE,
        }
    }
}

impl OwnerQuery {
    /// The first page of [`DEFAULT_PAGE_SIZE`] owners.
    pub fn new() -> OwnerQuery {
        OwnerQuery::default()
    }

    /// The page after the owner `id`.
    pub fn after(mut self, id: impl Into<String>) -> OwnerQuery {
        self.after = Some(id.into());
        self
    }

    /// At most `limit` owners.
    pub fn limit(mut self, limit: usize) -> OwnerQuery {
        self.limit = limit;
        self
    }

    /// The page size used: `limit` within 1 ..= [`MAX_PAGE_SIZE`].
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }
}

/// A page of owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerPage {
    /// The owners, with their key counts.
    pub owners: Vec<OwnerSummary>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
}

impl OwnerPage {
    /// A page from up to `size + 1` owners read in id order.
    pub(crate) fn from_rows(mut owners: Vec<OwnerSummary>, size: usize) -> OwnerPage {
        let more = owners.len() > size;
        owners.truncate(size);
        let next = if more {
            owners.last().map(|o| o.owner.id.clone())
        } else {
            None
        };
        OwnerPage { owners, next }
    }
}
