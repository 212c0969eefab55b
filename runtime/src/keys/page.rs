//! Listing a page at a time: key and owner queries, their cursors and pages.
//!
//! Keys are ordered by creation time, then id, and a cursor is the last key's pair: the
//! next page starts after it (keyset pagination on an index), so keys created while an
//! admin pages through are never shown twice and never push others off a page.

use std::fmt;
use std::str::FromStr;

use super::clock::UnixSeconds;
use super::error::StoreError;
use super::model::{KeyFilter, KeyRecord, Owner};

/// Keys or owners a page holds unless the query says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Where a page of keys starts: after the key created at `created_at` with this id.
/// Shown and read as `<created_at>.<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyCursor {
    /// The creation time of the last key shown.
    pub created_at: UnixSeconds,
    /// Its id.
    pub id: String,
}

impl KeyCursor {
    /// The cursor just after `record`.
    pub fn after(record: &KeyRecord) -> KeyCursor {
        KeyCursor {
            created_at: record.created_at,
            id: record.id.clone(),
        }
    }

    /// Whether `record` comes after the cursor in list order.
    pub fn precedes(&self, record: &KeyRecord) -> bool {
        (record.created_at, record.id.as_str()) > (self.created_at, self.id.as_str())
    }
}

impl fmt::Display for KeyCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.created_at, self.id)
    }
}

impl FromStr for KeyCursor {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<KeyCursor, StoreError> {
        let bad = || StoreError::invalid("cursor", "expected `<created_at>.<key id>`");
        let (at, id) = text.split_once('.').ok_or_else(bad)?;
        let created_at = at.parse().map_err(|_| bad())?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        Ok(KeyCursor {
            created_at,
            id: id.to_owned(),
        })
    }
}

/// One page of keys to list: a filter, where to start, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyQuery {
    /// Which keys.
    pub filter: KeyFilter,
    /// Start after this key: [`KeyPage::next`] of the page before; `None` for the first.
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
            after: None,
            limit: DEFAULT_PAGE_SIZE,
        }
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
    /// A page from up to `size + 1` records read in list order: the extra one only says
    /// that there is a next page.
    pub(crate) fn from_rows(mut keys: Vec<KeyRecord>, size: usize) -> KeyPage {
        let more = keys.len() > size;
        keys.truncate(size);
        let next = if more {
            keys.last().map(KeyCursor::after)
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
