//! The SQL of list and audit pages, shared by the SQLite and PostgreSQL stores: only the
//! conditions a query sets are written, so each filter meets its index (a generic
//! `$1 IS NULL OR owner = $1` would keep the planners from using one).

use super::audit::AuditQuery;
use super::clock::UnixSeconds;
use super::error::StoreError;
use super::model::KeyState;
use super::page::{KeyOrder, KeyQuery, OwnerQuery};

/// The database a statement is written for: its placeholders and the few functions
/// whose names differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `?1` placeholders.
    Sqlite,
    /// `$1` placeholders.
    Postgres,
}

impl Dialect {
    fn mark(self) -> char {
        match self {
            Dialect::Sqlite => '?',
            Dialect::Postgres => '$',
        }
    }

    /// Whether the lowercased text `param` occurs in the column `name` with its ASCII
    /// letters lowercased: SQLite's `lower()` is ASCII only, and so is PostgreSQL's
    /// under the C collation, whatever the database's locale. No `LIKE`: `%` and `_` in
    /// the text are matched as themselves with nothing to escape.
    fn contains_lowercase(self, name: &str, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr(lower({name}), {param}) > 0"),
            Dialect::Postgres => format!("strpos(lower({name} COLLATE \"C\"), {param}) > 0"),
        }
    }
}

/// A parameter of a built statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

/// A statement with numbered parameters: `?1` (SQLite) or `$1` (PostgreSQL).
pub(crate) struct Built {
    pub(crate) sql: String,
    pub(crate) params: Vec<Param>,
}

struct Builder {
    mark: char,
    conditions: Vec<String>,
    params: Vec<Param>,
}

impl Builder {
    fn new(dialect: Dialect) -> Builder {
        Builder {
            mark: dialect.mark(),
            conditions: Vec::new(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter; its placeholder.
    fn param(&mut self, value: Param) -> String {
        self.params.push(value);
        format!("{}{}", self.mark, self.params.len())
    }

    fn text(&mut self, value: &str) -> String {
        self.param(Param::Text(value.to_owned()))
    }

    fn int(&mut self, value: i64) -> String {
        self.param(Param::Int(value))
    }

    fn when(&mut self, condition: String) {
        self.conditions.push(condition);
    }

    fn finish(self, head: &str, tail: &str) -> Built {
        let mut sql = head.to_owned();
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        sql.push(' ');
        sql.push_str(tail);
        Built {
            sql,
            params: self.params,
        }
    }
}

fn limit(size: usize) -> i64 {
    // One more than the page: it only says whether there is a next page.
    i64::try_from(size).unwrap_or(i64::MAX).saturating_add(1)
}

/// `SELECT <columns> FROM <table>` with the query's filter and cursor, in the query's
/// order, `page_size + 1` rows at most. Expiry is judged at `now`. Newest first reads the
/// same indexes backwards. A cursor of the other order is refused.
pub(crate) fn key_page(
    query: &KeyQuery,
    now: UnixSeconds,
    dialect: Dialect,
    columns: &str,
    table: &str,
) -> Result<Built, StoreError> {
    let start = query.start()?;
    let mut b = Builder::new(dialect);
    let filter = &query.filter;
    if let Some(owner) = &filter.owner {
        let p = b.text(owner);
        b.when(format!("owner = {p}"));
    }
    if let Some(name) = &filter.name {
        let p = b.text(name);
        b.when(format!("name = {p}"));
    }
    if let Some(text) = &filter.name_contains {
        // No index helps: the rows are read in list order until the page is full.
        let p = b.text(&text.to_ascii_lowercase());
        b.when(dialect.contains_lowercase("name", &p));
    }
    if let Some(before) = filter.expiring_before {
        let p = b.int(before);
        b.when(format!("expires_at < {p}"));
    }
    if let Some(state) = filter.state {
        let status = match state {
            KeyState::Active | KeyState::Expired => "active",
            KeyState::Revoked => "revoked",
            KeyState::Disabled => "disabled",
        };
        let p = b.text(status);
        // Few rows share an owner, a name or a past expiry, but a third or more may share
        // a status: `|| ''` keeps the planner on the more selective index (SQLite has no
        // statistics to tell them apart until ANALYZE runs).
        let selective = filter.owner.is_some()
            || filter.name.is_some()
            || filter.expiring_before.is_some()
            || state == KeyState::Expired;
        if selective {
            b.when(format!("status || '' = {p}"));
        } else {
            b.when(format!("status = {p}"));
        }
        match state {
            KeyState::Active => {
                let p = b.int(now);
                b.when(format!("(expires_at IS NULL OR expires_at > {p})"));
            }
            KeyState::Expired => {
                let p = b.int(now);
                b.when(format!("expires_at <= {p}"));
            }
            KeyState::Revoked | KeyState::Disabled => {}
        }
    }
    let (after, order) = match query.order {
        KeyOrder::OldestFirst => (">", "created_at, id"),
        KeyOrder::NewestFirst => ("<", "created_at DESC, id DESC"),
    };
    if let Some(cursor) = start {
        let at = b.int(cursor.created_at);
        let id = b.text(&cursor.id);
        b.when(format!("(created_at, id) {after} ({at}, {id})"));
    }
    let n = b.int(limit(query.page_size()));
    Ok(b.finish(
        &format!("SELECT {columns} FROM {table}"),
        &format!("ORDER BY {order} LIMIT {n}"),
    ))
}

/// Owners in id order after the cursor, each with its key count, `page_size + 1` rows at
/// most.
pub(crate) fn owner_page(query: &OwnerQuery, dialect: Dialect, owners: &str, keys: &str) -> Built {
    let mut b = Builder::new(dialect);
    if let Some(after) = &query.after {
        let p = b.text(after);
        b.when(format!("o.id > {p}"));
    }
    let n = b.int(limit(query.page_size()));
    b.finish(
        &format!(
            "SELECT o.id, o.enabled, o.epoch, \
             (SELECT count(*) FROM {keys} AS k WHERE k.owner = o.id) FROM {owners} AS o"
        ),
        &format!("ORDER BY o.id LIMIT {n}"),
    )
}

/// Audit entries matching the query, newest first, `page_size + 1` rows at most.
pub(crate) fn audit_page(
    query: &AuditQuery,
    dialect: Dialect,
    columns: &str,
    table: &str,
) -> Built {
    let mut b = Builder::new(dialect);
    if let Some(target) = &query.target {
        let p = b.text(target);
        b.when(format!("target = {p}"));
    }
    if let Some(actor) = &query.actor {
        let p = b.text(actor);
        b.when(format!("actor = {p}"));
    }
    if let Some(since) = query.since {
        let p = b.int(since);
        b.when(format!("at >= {p}"));
    }
    if let Some(until) = query.until {
        let p = b.int(until);
        b.when(format!("at < {p}"));
    }
    if let Some(seq) = query.before_seq {
        let p = b.int(i64::try_from(seq).unwrap_or(i64::MAX));
        b.when(format!("seq < {p}"));
    }
    let n = b.int(limit(query.page_size()));
    b.finish(
        &format!("SELECT {columns} FROM {table}"),
        &format!("ORDER BY seq DESC LIMIT {n}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyCursor, KeyFilter};

    #[test]
    fn only_the_conditions_a_query_sets_are_written() {
        let plain = key_page(&KeyQuery::default(), 0, Dialect::Sqlite, "id", "keys").expect("sql");
        assert_eq!(
            plain.sql,
            "SELECT id FROM keys ORDER BY created_at, id LIMIT ?1"
        );
        assert_eq!(plain.params, vec![Param::Int(51)]);
        let query = KeyQuery::new(KeyFilter::default().owner("o").state(KeyState::Active))
            .after(KeyCursor {
                created_at: 7,
                id: "abc".into(),
                order: KeyOrder::OldestFirst,
            })
            .limit(5);
        let built = key_page(&query, 100, Dialect::Postgres, "id", "k").expect("sql");
        assert_eq!(
            built.sql,
            "SELECT id FROM k WHERE owner = $1 AND status || '' = $2 AND (expires_at IS NULL OR \
             expires_at > $3) AND (created_at, id) > ($4, $5) ORDER BY created_at, id LIMIT $6"
        );
        assert_eq!(built.params.len(), 6);
    }

    #[test]
    fn newest_first_reads_backwards_and_searches_without_like() {
        let cursor = KeyCursor {
            created_at: 7,
            id: "abc".into(),
            order: KeyOrder::NewestFirst,
        };
        let query = KeyQuery::new(KeyFilter::default().name_contains("Deploy_%"))
            .newest_first()
            .after(cursor.clone());
        let built = key_page(&query, 0, Dialect::Sqlite, "id", "keys").expect("sql");
        assert_eq!(
            built.sql,
            "SELECT id FROM keys WHERE instr(lower(name), ?1) > 0 AND (created_at, id) < (?2, \
             ?3) ORDER BY created_at DESC, id DESC LIMIT ?4"
        );
        assert_eq!(built.params[0], Param::Text("deploy_%".into()));
        let built = key_page(&query, 0, Dialect::Postgres, "id", "k").expect("sql");
        assert!(
            built
                .sql
                .contains("strpos(lower(name COLLATE \"C\"), $1) > 0"),
            "{}",
            built.sql
        );
        // A cursor of the other order is refused, not read as a place in this one.
        let mixed = KeyQuery::default().after(cursor);
        assert!(matches!(
            key_page(&mixed, 0, Dialect::Sqlite, "id", "keys"),
            Err(StoreError::Invalid {
                field: "cursor",
                ..
            })
        ));
    }
}
