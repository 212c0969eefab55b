//! How keys look on screen and in `--json`. Nothing here ever sees a secret or a hash,
//! except [`issued_lines`]/[`issued_json`], which print a key the moment it is made.

use std::collections::{BTreeMap, BTreeSet};

use keygate::keys::{
    Actor, KeyRecord, KeyState, Metadata, Owner, Permissions, Preset, UnixSeconds,
};
use serde::Serialize;

use super::civil::rfc3339;
use super::table::{columns, printable};

/// The status a verifier would give the key now: the record's own state, then its
/// owner's (a disabled owner disables it until enabled again; an epoch bump since issue
/// revokes it; an owner the store does not know fails closed), as `Keyring` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) shown: Shown,
    /// Why an owner check stops it, when one does.
    pub(crate) reason: Option<&'static str>,
}

/// A key's status as `list` and `show` give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    Active,
    Revoked,
    Expired,
    /// Its owner is disabled: refused as disabled (401) until `enable-owner`.
    Disabled,
}

impl Shown {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Shown::Active => "active",
            Shown::Revoked => "revoked",
            Shown::Expired => "expired",
            Shown::Disabled => "disabled",
        }
    }
}

pub(crate) fn status(record: &KeyRecord, owner: Option<&Owner>, now: UnixSeconds) -> Status {
    let state = record.state(now);
    let stops = record
        .owner_stops(owner)
        .filter(|_| state == KeyState::Active);
    match stops {
        // The keyring answers `Verdict::Disabled` whenever the owner is disabled.
        Some(reason) if owner.is_some_and(|o| !o.enabled) => Status {
            shown: Shown::Disabled,
            reason: Some(reason),
        },
        Some(reason) => Status {
            shown: Shown::Revoked,
            reason: Some(reason),
        },
        None => Status {
            shown: match state {
                KeyState::Active => Shown::Active,
                KeyState::Revoked => Shown::Revoked,
                KeyState::Expired => Shown::Expired,
                KeyState::Disabled => Shown::Disabled,
            },
            reason: None,
        },
    }
}

impl Status {
    fn text(self) -> String {
        match (self.shown, self.reason) {
            (Shown::Disabled, Some(_)) => "disabled (owner)".to_owned(),
            (shown, Some(reason)) => format!("{} ({reason})", shown.name()),
            (shown, None) => shown.name().to_owned(),
        }
    }
}

fn preset_name(p: &Permissions) -> &'static str {
    match p.preset() {
        Preset::ReadOnly => "read-only",
        Preset::Full => "full",
        Preset::Custom => "custom",
    }
}

fn methods(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "none".to_owned()
    } else {
        set.iter().map(String::as_str).collect::<Vec<_>>().join(",")
    }
}

/// `read-only GET,HEAD,OPTIONS`, `full *`, `custom GET; createPet=POST; deletePet=none`.
pub(crate) fn permissions_summary(p: &Permissions) -> String {
    let mut out = format!("{} {}", preset_name(p), methods(&p.default_methods));
    for (op, set) in &p.per_operation {
        out.push_str(&format!("; {op}={}", methods(set)));
    }
    out
}

fn time_or(at: Option<UnixSeconds>, none: &str) -> String {
    at.map_or_else(|| none.to_owned(), rfc3339)
}

/// Until when a rotated-out secret still works, if it still does.
fn previous_until(record: &KeyRecord, now: UnixSeconds) -> Option<UnixSeconds> {
    record
        .hashes
        .previous
        .map(|(_, until)| until)
        .filter(|&until| until > now)
}

/// The JSON of a record: every field but the hashes, in a fixed order.
#[derive(Debug, Serialize)]
pub(crate) struct RecordJson<'a> {
    id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    owner: Option<&'a str>,
    owner_epoch: u64,
    roles: &'a BTreeSet<String>,
    status: &'static str,
    status_reason: Option<&'static str>,
    created_at: String,
    created_by: Option<CreatorJson<'a>>,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    schemes: Option<&'a BTreeSet<String>>,
    permissions: PermissionsJson<'a>,
    metadata: &'a Metadata,
    previous_secret_valid_until: Option<String>,
}

/// Who created a key, as the admin API and the audit log name actors.
#[derive(Debug, Serialize)]
struct CreatorJson<'a> {
    kind: &'static str,
    name: &'a str,
}

/// `cli:alice`, `admin_key:<id>`, as `keygate keys audit` shows actors; `unknown` for a
/// key whose creation was not recorded.
fn creator_text(by: Option<&Actor>) -> String {
    by.map_or_else(
        || "unknown".to_owned(),
        |a| printable(&format!("{}:{}", a.kind().as_str(), a.name())),
    )
}

#[derive(Debug, Serialize)]
struct PermissionsJson<'a> {
    preset: &'static str,
    default_methods: &'a BTreeSet<String>,
    per_operation: &'a BTreeMap<String, BTreeSet<String>>,
}

pub(crate) fn record_json<'a>(
    record: &'a KeyRecord,
    owner: Option<&Owner>,
    now: UnixSeconds,
) -> RecordJson<'a> {
    let status = status(record, owner, now);
    let p = &record.permissions;
    RecordJson {
        id: &record.id,
        name: &record.name,
        description: record.description.as_deref(),
        owner: record.owner.as_deref(),
        owner_epoch: record.owner_epoch,
        roles: &record.roles,
        status: status.shown.name(),
        status_reason: status.reason,
        created_at: rfc3339(record.created_at),
        created_by: record.created_by.as_ref().map(|a| CreatorJson {
            kind: a.kind().as_str(),
            name: a.name(),
        }),
        expires_at: record.expires_at.map(rfc3339),
        last_used_at: record.last_used_at.map(rfc3339),
        schemes: record.schemes.as_ref(),
        permissions: PermissionsJson {
            preset: preset_name(p),
            default_methods: &p.default_methods,
            per_operation: &p.per_operation,
        },
        metadata: &record.metadata,
        previous_secret_valid_until: previous_until(record, now).map(rfc3339),
    }
}

/// `--json` of a freshly issued key: the record plus `key` and `secret`. Not `Debug`:
/// it holds the secret.
#[derive(Serialize)]
pub(crate) struct IssuedJson<'a> {
    #[serde(flatten)]
    record: RecordJson<'a>,
    key: &'a str,
    secret: &'a str,
}

pub(crate) fn issued_json<'a>(
    full_key: &'a str,
    secret: &'a str,
    record: &'a KeyRecord,
    owner: Option<&Owner>,
    now: UnixSeconds,
) -> IssuedJson<'a> {
    IssuedJson {
        record: record_json(record, owner, now),
        key: full_key,
        secret,
    }
}

/// `label: value` lines with the values lined up.
fn aligned(rows: &[(String, String)]) -> String {
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in rows {
        let pad = width - label.chars().count();
        out.push_str(&format!("{label}:{} {value}\n", " ".repeat(pad)));
    }
    out
}

fn record_rows(
    record: &KeyRecord,
    owner: Option<&Owner>,
    now: UnixSeconds,
) -> Vec<(String, String)> {
    let p = &record.permissions;
    let list = |set: &BTreeSet<String>| {
        set.iter()
            .map(|s| printable(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut rows = vec![
        ("id".into(), record.id.clone()),
        ("name".into(), printable(&record.name)),
    ];
    if let Some(description) = &record.description {
        rows.push(("description".into(), printable(description)));
    }
    let owner_text = match &record.owner {
        Some(o) => format!(
            "{} (key issued at epoch {})",
            printable(o),
            record.owner_epoch
        ),
        None => "-".into(),
    };
    rows.extend([
        ("owner".into(), owner_text),
        ("status".into(), status(record, owner, now).text()),
        ("created".into(), rfc3339(record.created_at)),
        (
            "created by".into(),
            creator_text(record.created_by.as_ref()),
        ),
        ("expires".into(), time_or(record.expires_at, "never")),
        ("last used".into(), time_or(record.last_used_at, "never")),
        (
            "roles".into(),
            if record.roles.is_empty() {
                "-".into()
            } else {
                list(&record.roles)
            },
        ),
        (
            "schemes".into(),
            record.schemes.as_ref().map_or_else(|| "all".into(), list),
        ),
        (
            "permissions".into(),
            format!(
                "{} (default: {})",
                preset_name(p),
                methods(&p.default_methods)
            ),
        ),
    ]);
    for (op, set) in &p.per_operation {
        rows.push((format!("  {}", printable(op)), methods(set)));
    }
    if !record.metadata.is_empty() {
        let json = serde_json::to_string(&record.metadata).unwrap_or_default();
        rows.push(("metadata".into(), printable(&json)));
    }
    if let Some(until) = previous_until(record, now) {
        rows.push(("old key".into(), format!("works until {}", rfc3339(until))));
    }
    rows
}

/// `show`: one key, human readable.
pub(crate) fn record_text(record: &KeyRecord, owner: Option<&Owner>, now: UnixSeconds) -> String {
    aligned(&record_rows(record, owner, now))
}

/// A freshly issued key: the three ways to present it, then the record. The only place
/// secrets are printed.
pub(crate) fn issued_text(
    full_key: &str,
    secret: &str,
    record: &KeyRecord,
    owner: Option<&Owner>,
    now: UnixSeconds,
) -> String {
    let mut rows = vec![
        ("key".to_owned(), full_key.to_owned()),
        ("key id".to_owned(), record.id.clone()),
        ("secret".to_owned(), secret.to_owned()),
    ];
    rows.extend(record_rows(record, owner, now).into_iter().skip(1));
    aligned(&rows)
}

/// A set of names, comma-separated, or `empty` when there are none.
fn names(set: &BTreeSet<String>, empty: &str) -> String {
    if set.is_empty() {
        return empty.to_owned();
    }
    printable(&set.iter().map(String::as_str).collect::<Vec<_>>().join(","))
}

/// `list`: an aligned table.
pub(crate) fn table(rows: &[(&KeyRecord, Option<&Owner>)], now: UnixSeconds) -> String {
    let header = [
        "ID",
        "NAME",
        "OWNER",
        "STATUS",
        "EXPIRES",
        "LAST USED",
        "ROLES",
        "SCHEMES",
        "PERMISSIONS",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for (record, owner) in rows {
        cells.push(vec![
            record.id.clone(),
            printable(&record.name),
            record
                .owner
                .as_deref()
                .map_or_else(|| "-".into(), printable),
            status(record, *owner, now).text(),
            time_or(record.expires_at, "never"),
            time_or(record.last_used_at, "never"),
            names(&record.roles, "-"),
            record
                .schemes
                .as_ref()
                .map_or_else(|| "all".into(), |s| names(s, "none")),
            printable(&permissions_summary(&record.permissions)),
        ]);
    }
    columns(&cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate::keys::{KeyStatus, SecretHashes};

    const NOW: UnixSeconds = 1_795_443_000; // 2026-11-23T14:10:00Z

    fn record(permissions: Permissions) -> KeyRecord {
        KeyRecord {
            id: "abcdefghijkl".into(),
            name: "ci".into(),
            description: None,
            owner: Some("alice".into()),
            owner_epoch: 1,
            roles: BTreeSet::new(),
            created_at: NOW - 60,
            created_by: None,
            expires_at: Some(NOW + 86_400),
            last_used_at: None,
            status: KeyStatus::Active,
            schemes: None,
            permissions,
            metadata: Default::default(),
            hashes: SecretHashes {
                current: [7; 32],
                previous: Some(([8; 32], NOW + 30)),
            },
        }
    }

    fn owner(enabled: bool, epoch: u64) -> Owner {
        Owner {
            id: "alice".into(),
            enabled,
            epoch,
        }
    }

    #[test]
    fn summaries_name_the_preset_and_the_overrides() {
        assert_eq!(
            permissions_summary(&Permissions::read_only()),
            "read-only GET,HEAD,OPTIONS"
        );
        assert_eq!(permissions_summary(&Permissions::full()), "full *");
        let custom = Permissions::custom(["GET"])
            .with_operation("createPet", ["POST"])
            .with_operation("deletePet", [""; 0]);
        assert_eq!(
            permissions_summary(&custom),
            "custom GET; createPet=POST; deletePet=none"
        );
    }

    #[test]
    fn owner_state_revokes_like_the_keyring() {
        let r = record(Permissions::read_only());
        let active = status(&r, Some(&owner(true, 1)), NOW);
        assert_eq!((active.shown, active.reason), (Shown::Active, None));
        let disabled = status(&r, Some(&owner(false, 1)), NOW);
        assert_eq!(disabled.shown, Shown::Disabled);
        assert_eq!(disabled.text(), "disabled (owner)");
        let bumped = status(&r, Some(&owner(true, 2)), NOW);
        assert_eq!(bumped.shown, Shown::Revoked);
        assert_eq!(bumped.text(), "revoked (owner epoch bumped)");
        assert_eq!(status(&r, None, NOW).shown, Shown::Revoked);
        // Expiry is reported as such even when the owner is disabled.
        assert_eq!(
            status(&r, Some(&owner(false, 1)), NOW + 86_400).shown,
            Shown::Expired
        );
    }

    #[test]
    fn json_has_no_hashes_and_rfc3339_times() {
        let r = record(Permissions::full());
        let text =
            serde_json::to_string(&record_json(&r, Some(&owner(true, 1)), NOW)).expect("serialize");
        let value: serde_json::Value = serde_json::from_str(&text).expect("parse");
        assert!(!text.contains("hash"), "{text}");
        assert!(!text.contains("[7,7"), "{text}");
        assert_eq!(value["created_at"], "2026-11-23T14:09:00Z");
        assert_eq!(value["expires_at"], "2026-11-24T14:10:00Z");
        assert_eq!(value["last_used_at"], serde_json::Value::Null);
        assert!(
            text.starts_with(r#"{"id":"abcdefghijkl","name":"ci","#),
            "{text}"
        );
        assert_eq!(value["permissions"]["preset"], "full");
        assert_eq!(value["previous_secret_valid_until"], "2026-11-23T14:10:30Z");
        assert_eq!(value["status"], "active");
        assert_eq!(value["created_by"], serde_json::Value::Null);
        let mut by_cli = r.clone();
        by_cli.created_by = Some(Actor::cli("alice"));
        let value = serde_json::to_value(record_json(&by_cli, None, NOW)).expect("serialize");
        assert_eq!(
            value["created_by"],
            serde_json::json!({ "kind": "cli", "name": "alice" })
        );
    }

    #[test]
    fn show_names_the_creator_or_says_it_is_unknown() {
        let mut r = record(Permissions::read_only());
        let line = |r: &KeyRecord| {
            let text = record_text(r, Some(&owner(true, 1)), NOW);
            text.lines()
                .find(|l| l.starts_with("created by:"))
                .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
        };
        assert_eq!(line(&r).as_deref(), Some("unknown"));
        r.created_by = Some(Actor::admin_key("adminkey0001"));
        assert_eq!(line(&r).as_deref(), Some("admin_key:adminkey0001"));
        r.created_by = Some(Actor::app("job\u{1b}[31m"));
        assert_eq!(line(&r).as_deref(), Some("app:job\u{fffd}[31m"));
    }

    #[test]
    fn table_lines_up() {
        let a = record(Permissions::read_only());
        let mut b = record(Permissions::full());
        b.id = "mnopqrstuvwx".into();
        b.name = "a much longer name\u{1b}[31m".into();
        b.owner = None;
        b.roles = ["ops".to_owned(), "admin".to_owned()].into();
        b.schemes = Some(["api_key".to_owned()].into());
        let o = owner(true, 1);
        let text = table(&[(&a, Some(&o)), (&b, None)], NOW);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let column = |line: &str| {
            let at = line.find("active").or_else(|| line.find("STATUS"))?;
            Some(line[..at].chars().count())
        };
        assert_eq!(column(lines[0]), column(lines[1]));
        assert_eq!(column(lines[1]), column(lines[2]));
        assert!(
            !text.contains('\u{1b}'),
            "control characters reach the terminal"
        );
        assert!(
            lines[1].ends_with("read-only GET,HEAD,OPTIONS"),
            "{}",
            lines[1]
        );
        // Roles and schemes have columns of their own, before the permissions.
        let cells = |line: &str| {
            let cells = line.split("  ").map(str::trim).filter(|c| !c.is_empty());
            cells.map(str::to_owned).collect::<Vec<_>>()
        };
        assert!(
            cells(lines[0]).ends_with(&["ROLES".into(), "SCHEMES".into(), "PERMISSIONS".into()]),
            "{}",
            lines[0]
        );
        let (a_cells, b_cells) = (cells(lines[1]), cells(lines[2]));
        assert_eq!(a_cells[a_cells.len() - 3..a_cells.len() - 1], ["-", "all"]);
        assert_eq!(
            b_cells[b_cells.len() - 3..b_cells.len() - 1],
            ["admin,ops", "api_key"]
        );
    }
}
