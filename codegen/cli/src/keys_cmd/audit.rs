//! `keys audit`: the audit log, newest first, a page at a time. It holds no secret or
//! hash (the stores never record one), and nothing here adds one.

use keygate::keys::{ActorKind, AuditEntry, AuditQuery, FieldChange, KeyStore, MAX_AUDIT_PAGE};
use serde::Serialize;

use super::args::AuditArgs;
use super::civil::rfc3339;
use super::failure::Failure;
use super::output::{json_text, next_page_line, show};
use super::table::{columns, printable};

/// `--actor cli:alice` as the kind `cli` and the name `alice`; a plain name is any kind.
fn actor_filter(text: &str) -> (Option<ActorKind>, &str) {
    match text.split_once(':') {
        Some((kind, name)) => match ActorKind::parse(kind) {
            Some(kind) => (Some(kind), name),
            None => (None, text),
        },
        None => (None, text),
    }
}

/// The page of entries the arguments ask for, and the cursor of the next one.
async fn page(
    store: &impl KeyStore,
    args: &AuditArgs,
) -> Result<(Vec<AuditEntry>, Option<u64>), Failure> {
    let (kind, name) = match &args.actor {
        Some(actor) => {
            let (kind, name) = actor_filter(actor);
            (kind, Some(name.to_owned()))
        }
        None => (None, None),
    };
    let mut query = AuditQuery::new().between(args.since, args.until);
    query.target = args.target.clone();
    query.actor = name;
    query.before_seq = args.cursor;
    // The store filters by name only; an actor kind is checked here over larger pages.
    query.limit = if kind.is_some() {
        MAX_AUDIT_PAGE
    } else {
        args.limit
    };
    let mut shown = Vec::new();
    loop {
        let page = store.audit(query.clone()).await?;
        let mut rest = page.entries.into_iter();
        for entry in rest.by_ref() {
            if kind.is_none_or(|k| entry.actor_kind == k) {
                shown.push(entry);
                if shown.len() == args.limit {
                    break;
                }
            }
        }
        if shown.len() == args.limit {
            let more = rest.next().is_some() || page.next.is_some();
            let next = shown.last().map(|e| e.seq).filter(|_| more);
            return Ok((shown, next));
        }
        match page.next {
            Some(seq) => query.before_seq = Some(seq),
            None => return Ok((shown, None)),
        }
    }
}

#[derive(Serialize)]
struct EntryJson<'a> {
    seq: u64,
    at: String,
    actor_kind: &'static str,
    actor: &'a str,
    action: &'static str,
    target_kind: &'static str,
    target: &'a str,
    changes: &'a [FieldChange],
    request_id: Option<&'a str>,
}

#[derive(Serialize)]
struct AuditJson<'a> {
    items: Vec<EntryJson<'a>>,
    next_cursor: Option<String>,
}

fn entry_json(entry: &AuditEntry) -> EntryJson<'_> {
    EntryJson {
        seq: entry.seq,
        at: rfc3339(entry.at),
        actor_kind: entry.actor_kind.as_str(),
        actor: &entry.actor,
        action: entry.action.as_str(),
        target_kind: entry.target.kind(),
        target: entry.target.id(),
        changes: &entry.changes,
        request_id: entry.request_id.as_deref(),
    }
}

/// A field's value as the table shows it: times as RFC 3339, the rest as compact JSON.
fn value_text(field: &str, value: &serde_json::Value) -> String {
    let is_time = field.ends_with("_at") || field.ends_with("_until");
    match value.as_i64() {
        Some(at) if is_time => rfc3339(at),
        _ => value.to_string(),
    }
}

/// `status: "active" → "disabled"; name: "a" → "b"`.
fn changes_text(changes: &[FieldChange]) -> String {
    let parts: Vec<String> = changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.field,
                value_text(&c.field, &c.before),
                value_text(&c.field, &c.after)
            )
        })
        .collect();
    if parts.is_empty() {
        "-".to_owned()
    } else {
        printable(&parts.join("; "))
    }
}

fn table(entries: &[AuditEntry]) -> String {
    // The changes last: they are the widest cell and the one most worth reading whole.
    let header = ["TIME", "ACTOR", "ACTION", "TARGET", "REQUEST", "CHANGES"];
    let mut cells = vec![header.map(str::to_owned).to_vec()];
    for entry in entries {
        cells.push(vec![
            rfc3339(entry.at),
            printable(&format!("{}:{}", entry.actor_kind.as_str(), entry.actor)),
            entry.action.as_str().to_owned(),
            printable(&format!("{}:{}", entry.target.kind(), entry.target.id())),
            entry
                .request_id
                .as_deref()
                .map_or("-".to_owned(), printable),
            changes_text(&entry.changes),
        ]);
    }
    columns(&cells)
}

pub(super) async fn audit(store: &impl KeyStore, args: AuditArgs) -> Result<(), Failure> {
    let (entries, next) = page(store, &args).await?;
    let text = if args.json {
        json_text(&AuditJson {
            items: entries.iter().map(entry_json).collect(),
            next_cursor: next.map(|seq| seq.to_string()),
        })?
    } else if entries.is_empty() {
        "no audit entries\n".to_owned()
    } else {
        let mut text = table(&entries);
        if let Some(seq) = next {
            text.push_str(&next_page_line(
                "audit",
                &seq.to_string(),
                &same_filters(&args),
            ));
        }
        text
    };
    show(&text);
    Ok(())
}

/// The flags that give the next page the same filters and size.
fn same_filters(args: &AuditArgs) -> Vec<(&'static str, String)> {
    let mut flags = Vec::new();
    if let Some(target) = &args.target {
        flags.push(("--target", target.clone()));
    }
    if let Some(actor) = &args.actor {
        flags.push(("--actor", actor.clone()));
    }
    if let Some(at) = args.since {
        flags.push(("--since", rfc3339(at)));
    }
    if let Some(at) = args.until {
        flags.push(("--until", rfc3339(at)));
    }
    if args.limit != keygate::keys::DEFAULT_AUDIT_PAGE {
        flags.push(("--limit", args.limit.to_string()));
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate::keys::{AuditAction, AuditTarget};

    #[test]
    fn actors_may_be_named_with_their_kind() {
        assert_eq!(actor_filter("cli:alice"), (Some(ActorKind::Cli), "alice"));
        assert_eq!(actor_filter("alice"), (None, "alice"));
        assert_eq!(actor_filter("team:web"), (None, "team:web"));
    }

    #[test]
    fn the_table_shows_who_what_and_each_change() {
        let entry = AuditEntry {
            seq: 7,
            at: 1_704_067_200,
            actor_kind: ActorKind::Cli,
            actor: "alice".into(),
            action: AuditAction::Update,
            target: AuditTarget::Key("abc".into()),
            changes: vec![
                FieldChange {
                    field: "name".into(),
                    before: "old".into(),
                    after: "new\u{1b}".into(),
                },
                FieldChange {
                    field: "expires_at".into(),
                    before: serde_json::Value::Null,
                    after: 1_704_153_600.into(),
                },
            ],
            request_id: None,
        };
        let text = table(&[entry]);
        let row = text.lines().nth(1).expect("a row");
        assert!(
            row.starts_with("2024-01-01T00:00:00Z  cli:alice  update  key:abc  -        name: "),
            "{row}"
        );
        assert!(
            row.contains(r#"name: "old" → "new\u001b"; expires_at: null → 2024-01-02T00:00:00Z"#),
            "{row}"
        );
    }
}
