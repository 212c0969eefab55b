//! `keys update`: a key's fields changed in place, its secret kept.

use std::collections::BTreeSet;

use keygate::keys::{
    KeyChange, KeyStore, KeyUpdate, StoreError, UnixSeconds, ANY_METHOD, SAFE_METHODS,
};

use super::args::UpdateArgs;
use super::failure::Failure;
use super::lifecycle::print_record;
use super::parse::OpOverride;
use super::records::{actor, get};
use super::spec_check::resolve_ops;

/// An update ready for the store, with what to check against the key and how to show it.
pub(super) struct Planned {
    id: String,
    update: KeyUpdate,
    /// The overrides `--remove-op` removes, under their stored names.
    removed: Vec<String>,
    json: bool,
}

/// The flags that change a field, for the "nothing to change" message.
const FIELD_FLAGS: &str = "--name, --description, --no-description, --expires-in, \
    --expires-at, --no-expiry, --read-only, --full, --methods, --op, --remove-op, --roles, \
    --no-roles, --scheme, --all-schemes, --metadata";

/// The update `args` ask for, its names checked against `--spec` when given. Refuses
/// an update that changes nothing, and an operation both set and removed.
pub(super) fn plan(args: UpdateArgs, now: UnixSeconds) -> Result<Planned, Failure> {
    let default_methods: Option<BTreeSet<String>> = match (args.read_only, args.full, args.methods)
    {
        (true, _, _) => Some(SAFE_METHODS.iter().map(|m| (*m).to_owned()).collect()),
        (_, true, _) => Some(BTreeSet::from([ANY_METHOD.to_owned()])),
        (_, _, methods) => methods,
    };
    let description = match (args.description, args.no_description) {
        (Some(text), _) => Some(Some(text)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let expires_at = match (args.expires_in, args.expires_at, args.no_expiry) {
        (Some(span), _, _) => {
            let span = i64::try_from(span.as_secs()).unwrap_or(i64::MAX);
            Some(Some(now.saturating_add(span)))
        }
        (None, Some(at), _) => Some(Some(at)),
        (None, None, true) => Some(None),
        (None, None, false) => None,
    };
    let roles = (args.no_roles || !args.roles.is_empty())
        .then(|| args.roles.iter().cloned().collect::<BTreeSet<String>>());
    let schemes = match (args.all_schemes, args.schemes.is_empty()) {
        (true, _) => Some(None),
        (false, false) => Some(Some(args.schemes.iter().cloned().collect())),
        (false, true) => None,
    };
    let nothing = args.name.is_none()
        && description.is_none()
        && expires_at.is_none()
        && default_methods.is_none()
        && args.ops.is_empty()
        && args.remove_ops.is_empty()
        && roles.is_none()
        && schemes.is_none()
        && args.metadata.is_none();
    if nothing {
        return Err(Failure::Usage(format!(
            "nothing to change: give at least one of {FIELD_FLAGS} (see `keygate keys update \
             --help`)"
        )));
    }

    // Removals are checked and renamed like the overrides set, as operations denied.
    let mut named = args.ops.clone();
    named.extend(args.remove_ops.iter().map(|name| OpOverride {
        name: name.clone(),
        methods: BTreeSet::new(),
    }));
    let query_schemes: Option<&[String]> = if args.all_schemes {
        Some(&[])
    } else if args.schemes.is_empty() {
        None
    } else {
        Some(&args.schemes)
    };
    let resolved = resolve_ops(
        args.spec.as_deref(),
        &named,
        args.ops.len(),
        &args.schemes,
        query_schemes,
    )?;
    let (set, removed) = resolved.split_at(args.ops.len());
    let removed: Vec<String> = removed.iter().map(|op| op.name.clone()).collect();

    let mut update = KeyUpdate::new();
    update.name = args.name;
    update.description = description;
    update.default_methods = default_methods;
    update.roles = roles;
    update.expires_at = expires_at;
    update.schemes = schemes;
    update.metadata = args.metadata;
    for op in set {
        if update.operations.contains_key(&op.name) {
            return Err(Failure::Usage(format!(
                "--op `{}` is given more than once; give each operation once",
                op.name
            )));
        }
        update = update.operation(&op.name, &op.methods);
    }
    for name in &removed {
        if update.operations.contains_key(name) {
            return Err(Failure::Usage(format!(
                "--op and --remove-op both name `{name}`; give one of them"
            )));
        }
        update = update.remove_operation(name);
    }
    Ok(Planned {
        id: args.id,
        update,
        removed,
        json: args.json,
    })
}

pub(super) async fn update(
    store: &impl KeyStore,
    planned: Planned,
    now: UnixSeconds,
) -> Result<(), Failure> {
    let id = &planned.id;
    let before = get(store, id).await?;
    // Removing an override the key lacks is most likely a misspelled name.
    for name in &planned.removed {
        if !before.permissions.per_operation.contains_key(name) {
            let held: Vec<&str> = before
                .permissions
                .per_operation
                .keys()
                .map(String::as_str)
                .collect();
            let held = if held.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has: {}", held.join(", "))
            };
            return Err(Failure::Other(format!(
                "--remove-op `{name}`: key `{id}` has no override for this operation ({held})"
            )));
        }
    }
    let changed = store
        .change_key(&actor(), id, KeyChange::Update(planned.update))
        .await?;
    let record = changed
        .record
        .ok_or_else(|| Failure::Store(StoreError::NotFound(id.clone())))?;
    print_record(store, &record, planned.json, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: UpdateArgs,
    }

    const NOW: UnixSeconds = 1_704_067_200;

    fn plan_of(args: &[&str]) -> Result<Planned, Failure> {
        let all = ["update", "k"].iter().chain(args);
        plan(Cli::try_parse_from(all).expect("parse").args, NOW)
    }

    fn usage(result: Result<Planned, Failure>) -> String {
        match result {
            Err(Failure::Usage(message)) => message,
            Err(_) => panic!("not a usage error"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn an_update_without_a_field_is_refused() {
        let message = usage(plan_of(&["--json"]));
        assert!(message.starts_with("nothing to change"), "{message}");
        assert!(message.contains("--expires-in"), "{message}");
    }

    #[test]
    fn flags_become_the_fields_they_name() {
        let planned = plan_of(&[
            "--name",
            "n",
            "--no-description",
            "--expires-in",
            "1d",
            "--full",
            "--op",
            "createPet=POST",
            "--remove-op",
            "get /pets/{id}",
            "--no-roles",
            "--all-schemes",
            "--metadata",
            r#"{"team":"web"}"#,
        ])
        .unwrap_or_else(|_| panic!("refused"));
        let u = planned.update;
        assert_eq!(u.name.as_deref(), Some("n"));
        assert_eq!(u.description, Some(None));
        assert_eq!(u.expires_at, Some(Some(NOW + 86_400)));
        assert_eq!(u.default_methods, Some(BTreeSet::from(["*".to_owned()])));
        assert_eq!(u.roles, Some(BTreeSet::new()));
        assert_eq!(u.schemes, Some(None));
        assert_eq!(u.metadata.map(|m| m["team"].clone()), Some("web".into()));
        assert_eq!(
            u.operations.get("createPet"),
            Some(&Some(BTreeSet::from(["POST".to_owned()])))
        );
        assert_eq!(u.operations.get("GET /pets/{id}"), Some(&None));
        assert_eq!(planned.removed, ["GET /pets/{id}"]);
        let kept = plan_of(&["--name", "n"]).unwrap_or_else(|_| panic!("refused"));
        assert_eq!(kept.update.expires_at, None);
        assert_eq!(kept.update.roles, None);
        assert_eq!(kept.update.schemes, None);
    }

    #[test]
    fn an_operation_set_and_removed_is_refused() {
        let message = usage(plan_of(&["--op", "a=GET", "--remove-op", "a"]));
        assert!(message.contains("`a`"), "{message}");
        let message = usage(plan_of(&["--op", "a=GET", "--op", "a=POST"]));
        assert!(message.contains("more than once"), "{message}");
    }
}
