//! `keys owners ...`: the owners of keys, listed, shown, stopped, restored, invalidated
//! and deleted.

use keygate::keys::{
    KeyStore, Owner, OwnerChange, OwnerQuery, OwnerSummary, StoreError, DEFAULT_PAGE_SIZE,
};
use serde::Serialize;

use super::args::OwnersCommand;
use super::failure::Failure;
use super::output::{json_text, next_page_line, show};
use super::records::actor;
use super::table::{columns, printable};

/// Runs one `owners` command; `delete` without `--yes` is refused before this.
pub(super) async fn run(store: &impl KeyStore, command: OwnersCommand) -> Result<(), Failure> {
    match command {
        OwnersCommand::List {
            limit,
            cursor,
            json,
        } => list(store, limit, cursor, json).await,
        OwnersCommand::Show { owner, json } => show_owner(store, &owner, json).await,
        OwnersCommand::Disable { owner } => change(store, &owner, OwnerChange::Disable).await,
        OwnersCommand::Enable { owner } => change(store, &owner, OwnerChange::Enable).await,
        OwnersCommand::BumpEpoch { owner } => change(store, &owner, OwnerChange::BumpEpoch).await,
        OwnersCommand::Delete { owner, .. } => delete(store, &owner).await,
    }
}

/// The refusal of `owners delete` without `--yes`.
pub(super) fn delete_unconfirmed(owner: &str) -> Failure {
    Failure::Usage(format!(
        "`keys owners delete {owner}` deletes the owner and every key it holds, for good (it \
         cannot be undone); pass --yes to delete them, or stop its keys with \
         `keys owners disable {owner}` (reversible)"
    ))
}

#[derive(Serialize)]
struct OwnerJson<'a> {
    id: &'a str,
    enabled: bool,
    epoch: u64,
    keys: u64,
}

fn owner_json(summary: &OwnerSummary) -> OwnerJson<'_> {
    OwnerJson {
        id: &summary.owner.id,
        enabled: summary.owner.enabled,
        epoch: summary.owner.epoch,
        keys: summary.keys,
    }
}

#[derive(Serialize)]
struct OwnersJson<'a> {
    items: Vec<OwnerJson<'a>>,
    next_cursor: Option<&'a str>,
}

async fn list(
    store: &impl KeyStore,
    limit: usize,
    cursor: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let mut query = OwnerQuery::new().limit(limit);
    query.after = cursor;
    let page = store.list_owners(query).await?;
    let text = if json {
        json_text(&OwnersJson {
            items: page.owners.iter().map(owner_json).collect(),
            next_cursor: page.next.as_deref(),
        })?
    } else if page.owners.is_empty() {
        "no owners\n".to_owned()
    } else {
        let mut cells = vec![["OWNER", "ENABLED", "EPOCH", "KEYS"]
            .map(str::to_owned)
            .to_vec()];
        for summary in &page.owners {
            cells.push(vec![
                printable(&summary.owner.id),
                yes_no(summary.owner.enabled).to_owned(),
                summary.owner.epoch.to_string(),
                summary.keys.to_string(),
            ]);
        }
        let mut text = columns(&cells);
        if let Some(next) = &page.next {
            let mut flags = Vec::new();
            if limit != DEFAULT_PAGE_SIZE {
                flags.push(("--limit", limit.to_string()));
            }
            text.push_str(&next_page_line("owners list", next, &flags));
        }
        text
    };
    show(&text);
    Ok(())
}

fn yes_no(enabled: bool) -> &'static str {
    if enabled {
        "yes"
    } else {
        "no"
    }
}

async fn show_owner(store: &impl KeyStore, id: &str, json: bool) -> Result<(), Failure> {
    let summary = store
        .owner_summary(id)
        .await?
        .ok_or_else(|| Failure::Store(StoreError::OwnerNotFound(id.to_owned())))?;
    let text = if json {
        json_text(&owner_json(&summary))?
    } else {
        format!(
            "owner:   {}\nenabled: {}\nepoch:   {}\nkeys:    {}\n",
            printable(&summary.owner.id),
            yes_no(summary.owner.enabled),
            summary.owner.epoch,
            summary.keys
        )
    };
    show(&text);
    Ok(())
}

async fn changed_owner(
    store: &impl KeyStore,
    id: &str,
    change: OwnerChange,
) -> Result<Owner, Failure> {
    let changed = store.change_owner(&actor(), id, change).await?;
    changed
        .owner
        .ok_or_else(|| Failure::Store(StoreError::OwnerNotFound(id.to_owned())))
}

/// Disables, enables or bumps the epoch of an owner (one the store does not know yet is
/// created by the change), and says what that did to its keys.
pub(super) async fn change(
    store: &impl KeyStore,
    id: &str,
    change: OwnerChange,
) -> Result<(), Failure> {
    let held = store.owner_summary(id).await?.map_or(0, |s| s.keys);
    let owner = changed_owner(store, id, change.clone()).await?;
    show(&changed_text(&change, id, held, &owner));
    Ok(())
}

/// What a change did to an owner and its `held` keys, in words.
fn changed_text(change: &OwnerChange, id: &str, held: u64, owner: &Owner) -> String {
    let name = id.escape_debug();
    match change {
        OwnerChange::Disable => format!(
            "disabled owner `{name}`: none of its keys ({held}) work until \
             `keygate keys owners enable {name}`\n"
        ),
        OwnerChange::Enable => format!(
            "enabled owner `{name}` at epoch {}: of its keys ({held}), those issued at this \
             epoch work again\n",
            owner.epoch
        ),
        OwnerChange::BumpEpoch => format!(
            "owner `{name}` is now at epoch {}: the keys it held ({held}) stop working for \
             good; keys created from now on work\n",
            owner.epoch
        ),
        OwnerChange::Delete => format!("deleted owner `{name}`\n"),
        OwnerChange::IfMatch { change, .. } => changed_text(change, id, held, owner),
    }
}

async fn delete(store: &impl KeyStore, id: &str) -> Result<(), Failure> {
    let changed = store
        .change_owner(&actor(), id, OwnerChange::Delete)
        .await?;
    let removed = &changed.deleted_keys;
    let mut text = format!(
        "deleted owner `{}` and its {} key{}: they no longer work",
        id.escape_debug(),
        removed.len(),
        if removed.len() == 1 { "" } else { "s" }
    );
    if !removed.is_empty() {
        text.push_str(&format!(" ({})", removed.join(", ")));
    }
    text.push('\n');
    show(&text);
    Ok(())
}
