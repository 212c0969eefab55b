//! The list pages' query plans on the real schema: each filter, oldest and newest first,
//! is read from an index in list order (forwards or backwards), never sorted in a
//! temporary b-tree; that is what keeps a first page fast over a million keys. The
//! expiry filters are left out: they read a range of `keys_by_expiry` and sort it, in
//! both orders alike (BENCHMARKS.md, "Key lifecycle").

use rusqlite::{params_from_iter, Connection};

use super::{migrate, sql_value, KEY_COLUMNS};
use crate::keys::page::{KeyCursor, KeyOrder, KeyQuery};
use crate::keys::sql::{key_page, Dialect};
use crate::keys::{KeyFilter, KeyState};

/// The `detail` lines of `EXPLAIN QUERY PLAN` for the page `query` asks.
fn plan(conn: &Connection, query: &KeyQuery) -> Vec<String> {
    let built = key_page(query, 1_000, Dialect::Sqlite, KEY_COLUMNS, "keys").expect("sql");
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", built.sql))
        .expect("explain");
    let params = params_from_iter(built.params.into_iter().map(sql_value));
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(3))
        .expect("plan");
    rows.map(|r| r.expect("a plan row")).collect()
}

#[test]
fn every_list_page_reads_an_index_in_order_without_sorting() {
    let mut conn = Connection::open_in_memory().expect("open");
    migrate(&mut conn).expect("migrate");
    let filters = [
        ("no filter", KeyFilter::default(), "keys_by_created"),
        ("owner", KeyFilter::default().owner("o"), "keys_by_owner"),
        ("name", KeyFilter::default().name("n"), "keys_by_name"),
        (
            "status",
            KeyFilter::default().state(KeyState::Disabled),
            "keys_by_status",
        ),
        (
            "name contains",
            KeyFilter::default().name_contains("n"),
            "keys_by_created",
        ),
        (
            "owner, active, name contains",
            KeyFilter::default()
                .owner("o")
                .state(KeyState::Active)
                .name_contains("n"),
            "keys_by_owner",
        ),
    ];
    for order in [KeyOrder::OldestFirst, KeyOrder::NewestFirst] {
        for (what, filter, index) in &filters {
            let cursor = KeyCursor {
                created_at: 5,
                id: "abc".into(),
                order,
            };
            for after in [None, Some(cursor)] {
                let mut query = KeyQuery::new(filter.clone()).order(order);
                query.after = after;
                let plan = plan(&conn, &query);
                let shown = format!(
                    "{what}, {order:?}, cursor {}: {plan:?}",
                    query.after.is_some()
                );
                assert!(plan.iter().any(|line| line.contains(index)), "{shown}");
                assert!(!plan.iter().any(|line| line.contains("B-TREE")), "{shown}");
                if query.after.is_some() {
                    // The cursor bounds the index search: a page after it starts there,
                    // it does not walk the keys before it.
                    let range = match order {
                        KeyOrder::OldestFirst => "(created_at,id)>(?,?)",
                        KeyOrder::NewestFirst => "(created_at,id)<(?,?)",
                    };
                    assert!(plan.iter().any(|line| line.contains(range)), "{shown}");
                }
            }
        }
    }
}
