//! The names keys use (the operations of their per-operation permissions, the schemes
//! they are restricted to), gathered from a store and compared with a document's.

use std::collections::BTreeMap;
use std::fmt;

use super::model::{KeyRecord, KeyStatus};
use super::permissions::operation_key;
use crate::spec::Spec;
use crate::suggest::{close_names, scheme_hint};

/// What a name in a key record names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameKind {
    /// A key of [`Permissions::per_operation`](super::Permissions::per_operation): an
    /// `operationId`, or `METHOD /path`.
    Operation,
    /// A scheme of [`KeyRecord::schemes`].
    Scheme,
}

/// A name that keys use, from [`KeyStore::names_in_use`](super::KeyStore::names_in_use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameInUse {
    /// What it names.
    pub kind: NameKind,
    /// The name as stored.
    pub name: String,
    /// How many keys (not revoked) use it.
    pub keys: u64,
    /// The smallest id among those keys, to look at (`keygate keys show ID`).
    pub example: String,
}

/// Counts the names of records one at a time, so no store needs to hold every record.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    operations: BTreeMap<String, (u64, String)>,
    schemes: BTreeMap<String, (u64, String)>,
}

impl Tally {
    /// Counts the names of `record`, unless it is revoked: a revoked key never works
    /// again, so what it names no longer matters.
    pub(crate) fn add(&mut self, record: &KeyRecord) {
        if record.status == KeyStatus::Revoked {
            return;
        }
        for name in record.permissions.per_operation.keys() {
            count(&mut self.operations, name, &record.id);
        }
        for name in record.schemes.iter().flatten() {
            count(&mut self.schemes, name, &record.id);
        }
    }

    /// The names, operations first, each kind in byte order of the names.
    pub(crate) fn into_names(self) -> Vec<NameInUse> {
        let named = |kind: NameKind| {
            move |(name, (keys, example)): (String, (u64, String))| NameInUse {
                kind,
                name,
                keys,
                example,
            }
        };
        let operations = self.operations.into_iter().map(named(NameKind::Operation));
        let schemes = self.schemes.into_iter().map(named(NameKind::Scheme));
        operations.chain(schemes).collect()
    }
}

fn count(map: &mut BTreeMap<String, (u64, String)>, name: &str, id: &str) {
    match map.get_mut(name) {
        Some((keys, example)) => {
            *keys += 1;
            if id < example.as_str() {
                id.clone_into(example);
            }
        }
        None => {
            map.insert(name.to_owned(), (1, id.to_owned()));
        }
    }
}

/// Puts names read from a database in the order [`Tally`] gives.
// Only the SQLite and PostgreSQL stores read names from a database.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn sort_names(names: &mut [NameInUse]) {
    names.sort_by(|a, b| (a.kind, a.name.as_bytes()).cmp(&(b.kind, b.name.as_bytes())));
}

/// A name that keys use and the document lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// The name and the keys that use it.
    pub used: NameInUse,
    /// What it most likely meant, as a clause (`did you mean `createPet`?`), if anything.
    pub hint: Option<String>,
}

/// What [`Keyring::check_names`](super::Keyring::check_names) found: the names keys use
/// that the document does not define. `Display` gives one line per name; it names keys
/// by id only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameReport {
    /// The document's title.
    pub document: String,
    /// Each unknown name, operations first, in byte order of the names.
    pub unknown: Vec<UnknownName>,
}

impl NameReport {
    /// Whether every name the keys use is in the document.
    pub fn is_clean(&self) -> bool {
        self.unknown.is_empty()
    }
}

impl fmt::Display for NameReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unknown.is_empty() {
            return write!(
                f,
                "every operation and scheme the keys name is in \"{}\"",
                self.document
            );
        }
        for (index, unknown) in self.unknown.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            let used = &unknown.used;
            let what = match used.kind {
                NameKind::Operation => "operation",
                NameKind::Scheme => "scheme",
            };
            let keys = match used.keys {
                1 => format!("1 key (`{}`) {}", used.example, one_key(used.kind)),
                n => format!(
                    "{n} keys (`{}` among them) {}",
                    used.example,
                    keys(used.kind)
                ),
            };
            write!(
                f,
                "{what} `{}` is not in \"{}\": {keys}",
                used.name.escape_debug(),
                self.document
            )?;
            if let Some(hint) = &unknown.hint {
                write!(f, "; {hint}")?;
            }
        }
        Ok(())
    }
}

/// What one key does with an unknown name, and what it means.
fn one_key(kind: NameKind) -> &'static str {
    match kind {
        NameKind::Operation => "names it in per-operation permissions, where it never applies",
        NameKind::Scheme => "lists it among its schemes, where it never matches",
    }
}

/// What several keys do with an unknown name, and what it means.
fn keys(kind: NameKind) -> &'static str {
    match kind {
        NameKind::Operation => "name it in per-operation permissions, where it never applies",
        NameKind::Scheme => "list it among their schemes, where it never matches",
    }
}

/// The names of `names` that `spec` lacks, each with what it most likely meant.
pub(crate) fn compare(spec: &Spec, names: Vec<NameInUse>) -> NameReport {
    let operation_keys: Vec<String> = spec
        .operations
        .iter()
        .map(|op| operation_key(op.method, op.path, op.operation_id).into_owned())
        .collect();
    let unknown = names
        .into_iter()
        .filter_map(|used| {
            let hint = match used.kind {
                NameKind::Operation if operation_keys.contains(&used.name) => return None,
                NameKind::Scheme if spec.scheme_index(&used.name).is_some() => return None,
                NameKind::Operation => operation_hint(spec, &operation_keys, &used.name),
                NameKind::Scheme => scheme_hint(spec, &used.name),
            };
            Some(UnknownName { used, hint })
        })
        .collect();
    NameReport {
        document: spec.title.to_owned(),
        unknown,
    }
}

/// Why `name` is no operation of any of `specs` (the first one's names suggested), or
/// `None` when one of them has it: for names given to the admin API.
#[cfg(feature = "admin")]
pub(crate) fn operation_problem(specs: &[&Spec], name: &str) -> Option<String> {
    let keys_of = |spec: &Spec| -> Vec<String> {
        spec.operations
            .iter()
            .map(|op| operation_key(op.method, op.path, op.operation_id).into_owned())
            .collect()
    };
    if specs
        .iter()
        .any(|spec| keys_of(spec).iter().any(|k| k == name))
    {
        return None;
    }
    let first = specs.first()?;
    let hint = operation_hint(first, &keys_of(first), name);
    let clause = hint.map(|h| format!("; {h}")).unwrap_or_default();
    Some(format!(
        "no operation of \"{}\" is named `{}` (an operationId, or `METHOD /path` for one without){clause}",
        first.title,
        name.escape_debug()
    ))
}

/// Why `name` is no scheme of any of `specs` (the first one's names suggested), or
/// `None` when one of them has it.
#[cfg(feature = "admin")]
pub(crate) fn scheme_problem(specs: &[&Spec], name: &str) -> Option<String> {
    if specs.iter().any(|spec| spec.scheme_index(name).is_some()) {
        return None;
    }
    let first = specs.first()?;
    let hint = scheme_hint(first, name);
    let clause = hint.map(|h| format!("; {h}")).unwrap_or_default();
    Some(format!(
        "no security scheme of \"{}\" is named `{}`{clause}",
        first.title,
        name.escape_debug()
    ))
}

/// What an unknown operation name most likely meant: the operationId of the operation
/// its `METHOD /path` names, the key its letters and digits spell (a generated type
/// name such as `GetSpotsetsId`, a lower-case method), or the nearest keys.
fn operation_hint(spec: &Spec, keys: &[String], name: &str) -> Option<String> {
    let named = spec.operations.iter().zip(keys).find(|(op, _)| {
        op.operation_id.is_some()
            && operation_key(op.method, op.path, None).eq_ignore_ascii_case(name)
    });
    if let Some((_, key)) = named {
        return Some(format!(
            "that operation has the operationId `{key}`, which its permissions go by"
        ));
    }
    let letters = |text: &str| -> String {
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let spelled = letters(name);
    if let Some(key) = keys.iter().find(|key| letters(key) == spelled) {
        return Some(format!("did you mean `{key}`?"));
    }
    let known: Vec<&str> = keys.iter().map(String::as_str).collect();
    match close_names(name, &known).as_slice() {
        [] => None,
        close => Some(format!("did you mean `{}`?", close.join("` or `"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Permissions, SecretHashes};
    use crate::spec::{Location, Operation, Requirement, Scheme, SchemeKind};

    static SPEC: Spec = Spec {
        title: "Spots",
        base_path: "",
        schemes: &[Scheme {
            name: "api_key",
            kind: SchemeKind::ApiKey {
                location: Location::Header,
                name: "X-API-Key",
            },
        }],
        root: Requirement::PUBLIC,
        operations: &[
            Operation {
                method: "GET",
                path: "/spotsets/{id}",
                operation_id: None,
                requirement: Requirement::PUBLIC,
            },
            Operation {
                method: "POST",
                path: "/spots",
                operation_id: Some("createSpot"),
                requirement: Requirement::PUBLIC,
            },
        ],
    };

    fn record(id: &str, ops: &[&str], schemes: Option<&[&str]>) -> KeyRecord {
        let mut permissions = Permissions::read_only();
        for op in ops {
            permissions = permissions.with_operation(op, ["GET"]);
        }
        KeyRecord {
            id: id.to_owned(),
            name: "k".into(),
            description: None,
            owner: None,
            owner_epoch: 0,
            roles: Default::default(),
            created_at: 0,
            created_by: None,
            expires_at: None,
            last_used_at: None,
            status: KeyStatus::Active,
            schemes: schemes.map(|s| s.iter().map(|s| (*s).to_owned()).collect()),
            permissions,
            metadata: Default::default(),
            hashes: SecretHashes {
                current: [0; 32],
                previous: None,
            },
        }
    }

    #[test]
    fn the_tally_counts_keys_per_name_and_skips_revoked_keys() {
        let mut tally = Tally::default();
        tally.add(&record("bbb", &["createSpot", "x"], Some(&["api_key"])));
        tally.add(&record("aaa", &["x"], None));
        let mut revoked = record("000", &["x", "gone"], Some(&["old"]));
        revoked.status = KeyStatus::Revoked;
        tally.add(&revoked);
        let got = tally.into_names();
        let got: Vec<_> = got
            .iter()
            .map(|n| (n.kind, n.name.as_str(), n.keys, n.example.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (NameKind::Operation, "createSpot", 1, "bbb"),
                (NameKind::Operation, "x", 2, "aaa"),
                (NameKind::Scheme, "api_key", 1, "bbb"),
            ]
        );
    }

    #[test]
    fn unknown_names_come_with_what_they_most_likely_meant() {
        let mut tally = Tally::default();
        for (id, op) in [
            ("k1", "GET /spotsets/{id}"),
            ("k2", "createSpot"),
            ("k3", "GetSpotsetsId"),
            ("k4", "creatSpot"),
            ("k5", "POST /spots"),
            ("k6", "nothingLikeIt"),
        ] {
            tally.add(&record(id, &[op], Some(&["api_key"])));
        }
        tally.add(&record("k7", &[], Some(&["X-API-Key", "apikey"])));
        let report = compare(&SPEC, tally.into_names());
        let hints: Vec<(&str, Option<&str>)> = report
            .unknown
            .iter()
            .map(|u| (u.used.name.as_str(), u.hint.as_deref()))
            .collect();
        assert_eq!(
            hints,
            [
                ("GetSpotsetsId", Some("did you mean `GET /spotsets/{id}`?")),
                (
                    "POST /spots",
                    Some("that operation has the operationId `createSpot`, which its permissions go by")
                ),
                ("creatSpot", Some("did you mean `createSpot`?")),
                ("nothingLikeIt", None),
                (
                    "X-API-Key",
                    Some("`X-API-Key` is where scheme `api_key` reads its key: name the scheme")
                ),
                ("apikey", Some("did you mean `api_key`?")),
            ]
        );
        let text = report.to_string();
        assert!(
            text.starts_with(
                "operation `GetSpotsetsId` is not in \"Spots\": 1 key (`k3`) names it in \
                 per-operation permissions, where it never applies; did you mean \
                 `GET /spotsets/{id}`?\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "scheme `apikey` is not in \"Spots\": 1 key (`k7`) lists it among its \
                 schemes, where it never matches; did you mean `api_key`?"
            ),
            "{text}"
        );
        assert_eq!(text.lines().count(), 6, "{text}");
        assert!(!report.is_clean());
    }
}
