//! `keys list`: keys a page at a time, with the cursor of the next page.

use keygate::keys::{
    KeyCursor, KeyFilter, KeyOrder, KeyQuery, KeyRecord, KeyState, KeyStore, UnixSeconds,
    MAX_PAGE_SIZE,
};
use serde::Serialize;

use super::args::{ListArgs, StatusArg};
use super::civil::rfc3339;
use super::failure::Failure;
use super::output::{json_text, next_page_line, show};
use super::records::Owners;
use super::render::{self, RecordJson};

/// What the store can filter by itself. `--status` is the status a verifier gives, which
/// also depends on the owner: only `active` and `expired` narrow the store's query, and
/// every status is checked here, with the owner, so it agrees with the STATUS column.
fn store_filter(args: &ListArgs) -> KeyFilter {
    KeyFilter {
        owner: args.owner.clone(),
        state: match args.status {
            Some(StatusArg::Active) => Some(KeyState::Active),
            Some(StatusArg::Expired) => Some(KeyState::Expired),
            // Revoked and disabled keys may be so by their owner: read them all.
            Some(StatusArg::Revoked | StatusArg::Disabled) | None => None,
        },
        name: args.name.clone(),
        name_contains: args.name_contains.clone(),
        expiring_before: args.expiring_before,
    }
}

fn order(args: &ListArgs) -> KeyOrder {
    if args.newest_first {
        KeyOrder::NewestFirst
    } else {
        KeyOrder::OldestFirst
    }
}

/// The page after `--cursor`: up to `--limit` keys that pass every filter, and the
/// cursor after the last of them when more may follow.
async fn page(
    store: &impl KeyStore,
    args: &ListArgs,
    owners: &mut Owners,
    now: UnixSeconds,
) -> Result<(Vec<KeyRecord>, Option<KeyCursor>), Failure> {
    let order = order(args);
    let after = match &args.cursor {
        Some(text) => {
            let cursor = text.parse::<KeyCursor>().map_err(|_| {
                Failure::Usage(format!(
                    "--cursor `{text}`: expected `<created_at>.<key id>` or \
                     `newest.<created_at>.<key id>` as a page before printed it"
                ))
            })?;
            if cursor.order != order {
                let flag = match cursor.order {
                    KeyOrder::NewestFirst => "with --newest-first",
                    KeyOrder::OldestFirst => "without --newest-first",
                };
                return Err(Failure::Usage(format!(
                    "--cursor `{text}` continues a list in the other order: pass it {flag}"
                )));
            }
            Some(cursor)
        }
        None => None,
    };
    // Without a status the store's pages are the answer; with one, read larger pages
    // until enough keys pass.
    let read = if args.status.is_some() {
        MAX_PAGE_SIZE
    } else {
        args.limit
    };
    let mut query = KeyQuery::new(store_filter(args)).order(order).limit(read);
    query.after = after;
    let mut shown = Vec::new();
    loop {
        let page = store.list(query.clone()).await?;
        let mut rest = page.keys.into_iter();
        for record in rest.by_ref() {
            owners.load(store, &record).await?;
            let passes = args.status.is_none_or(|s| {
                render::status(&record, owners.of(&record), now).shown == s.shown()
            });
            if passes {
                shown.push(record);
                if shown.len() == args.limit {
                    break;
                }
            }
        }
        if shown.len() == args.limit {
            // Keys may remain past the last one shown, on this page or the next.
            let more = rest.next().is_some() || page.next.is_some();
            let next = if more {
                shown.last().map(|last| KeyCursor::after(last, order))
            } else {
                None
            };
            return Ok((shown, next));
        }
        match page.next {
            Some(cursor) => query.after = Some(cursor),
            None => return Ok((shown, None)),
        }
    }
}

#[derive(Serialize)]
struct ListJson<'a> {
    items: Vec<RecordJson<'a>>,
    next_cursor: Option<String>,
}

pub(super) async fn list(
    store: &impl KeyStore,
    args: ListArgs,
    now: UnixSeconds,
) -> Result<(), Failure> {
    let mut owners = Owners::default();
    let (records, next) = page(store, &args, &mut owners, now).await?;
    let next = next.map(|cursor| cursor.to_string());
    let text = if args.json {
        let items = records
            .iter()
            .map(|r| render::record_json(r, owners.of(r), now))
            .collect();
        json_text(&ListJson {
            items,
            next_cursor: next,
        })?
    } else {
        let rows: Vec<_> = records.iter().map(|r| (r, owners.of(r))).collect();
        let mut text = if rows.is_empty() {
            "no keys\n".to_owned()
        } else {
            render::table(&rows, now)
        };
        if let Some(cursor) = &next {
            text.push_str(&next_page_line("list", cursor, &same_filters(&args)));
        }
        text
    };
    show(&text);
    Ok(())
}

/// The flags that give the next page the same filters and size.
fn same_filters(args: &ListArgs) -> Vec<(&'static str, String)> {
    let mut flags = Vec::new();
    if let Some(owner) = &args.owner {
        flags.push(("--owner", owner.clone()));
    }
    if let Some(status) = args.status {
        flags.push(("--status", status.shown().name().to_owned()));
    }
    if let Some(name) = &args.name {
        flags.push(("--name", name.clone()));
    }
    if let Some(text) = &args.name_contains {
        flags.push(("--name-contains", text.clone()));
    }
    if let Some(at) = args.expiring_before {
        flags.push(("--expiring-before", rfc3339(at)));
    }
    if args.newest_first {
        flags.push(("--newest-first", String::new()));
    }
    if args.limit != keygate::keys::DEFAULT_PAGE_SIZE {
        flags.push(("--limit", args.limit.to_string()));
    }
    flags
}
