//! `keygate keys ...`: the runtime's keys (`keygate::keys`) in an SQLite file or a
//! PostgreSQL database, the same commands on both.
//!
//! Exit codes: 0 ok, 1 the database or the key refused (the message starts with
//! `keygate: ` and names the database), 2 usage errors.

mod civil;
mod parse;
mod render;
mod target;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::NonEmptyStringValueParser;
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use keygate::keys::{
    operation_key, secret_part, Actor, Clock, Expiry, KeyChange, KeyFilter, KeyRecord, KeyStore,
    NewKey, Owner, OwnerChange as StoreOwnerChange, StoreError, SystemClock, UnixSeconds,
};
use keygate_codegen::ir::{KeyLocation, Operation, SchemeKind};
use keygate_codegen::Api;
use secrecy::ExposeSecret;

use parse::{Base, OpOverride};
use render::Shown;
use target::{Db, OpenError, Target};

/// Create, list, revoke and rotate the API keys that `keygate::keys::Keyring` verifies.
#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    /// The key database: an SQLite file (only `create` makes a new one) or a PostgreSQL
    /// URL (`postgres://user:password@host/database`).
    #[arg(
        long,
        global = true,
        env = "KEYGATE_DB",
        default_value = "keygate.db",
        value_name = "PATH|URL"
    )]
    db: String,
    /// The PostgreSQL schema of keygate's tables (what the app gives
    /// `PostgresStore::builder(..).schema(..)`).
    #[arg(
        long,
        global = true,
        env = "KEYGATE_PG_SCHEMA",
        default_value = "keygate",
        value_name = "NAME"
    )]
    schema: String,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print it: the only time it can be seen.
    Create(CreateArgs),
    /// List keys (never their secrets).
    List {
        /// Only this owner's keys.
        #[arg(long)]
        owner: Option<String>,
        /// Only keys in this status (as a verifier would judge it now).
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one key.
    Show {
        /// The key id (the middle part of the key).
        id: String,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key for good; it stops working on the next request.
    Revoke {
        /// The key id.
        id: String,
    },
    /// Issue a new secret for a key and print it, keeping the old one for a grace period.
    Rotate {
        /// The key id.
        id: String,
        /// How long the old key keeps working: 0, 30s, 15m, 24h, 7d.
        #[arg(long, value_name = "DURATION", value_parser = parse::parse_grace)]
        grace: Duration,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop all of an owner's keys until `enable-owner`.
    DisableOwner {
        /// The owner.
        owner: String,
    },
    /// Let an owner's keys work again (keys from before an epoch bump stay dead).
    EnableOwner {
        /// The owner.
        owner: String,
    },
    /// Invalidate every key an owner holds now, for good (say, on a password change).
    BumpEpoch {
        /// The owner.
        owner: String,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("base").args(["read_only", "full", "methods"])))]
struct CreateArgs {
    /// A display name.
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    name: String,
    /// A longer description.
    #[arg(long)]
    description: Option<String>,
    /// The owner (a user, team or service); see disable-owner and bump-epoch.
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    owner: Option<String>,
    /// Roles of the key's principal (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "ROLE,...",
          value_parser = NonEmptyStringValueParser::new())]
    roles: Vec<String>,
    /// GET, HEAD and OPTIONS only (the default).
    #[arg(long)]
    read_only: bool,
    /// Every method.
    #[arg(long)]
    full: bool,
    /// These methods (`*` = all).
    #[arg(long, value_name = "METHOD,...", value_parser = parse::parse_methods)]
    methods: Option<BTreeSet<String>>,
    /// These methods on this operation instead of the default; nothing after `=`
    /// denies it (repeatable). The operation: its operationId, or `METHOD /path` (quoted)
    /// for one without; with --spec also its generated type name (`GetSpotsetsId`).
    #[arg(long = "op", value_name = "OPERATION=METHODS", value_parser = parse::parse_op)]
    ops: Vec<OpOverride>,
    /// Only for this security scheme (repeatable; default: every scheme).
    #[arg(long = "scheme", value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    schemes: Vec<String>,
    /// A duration (7d, 30d, 90d, 12h, 1h 30m), YYYY-MM-DD (works through that day, UTC), never.
    #[arg(long, value_name = "WHEN", default_value = "never", value_parser = expiry_arg)]
    expires: Expiry,
    /// Check --op and --scheme against this OpenAPI document (and store each operation
    /// under the name the runtime looks it up by); without it they are stored unchecked.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// One JSON object (the record plus `key` and `secret`) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatusArg {
    Active,
    Revoked,
    Expired,
    /// Its owner is disabled (`enable-owner` restores it).
    Disabled,
}

impl StatusArg {
    fn shown(self) -> Shown {
        match self {
            StatusArg::Active => Shown::Active,
            StatusArg::Revoked => Shown::Revoked,
            StatusArg::Expired => Shown::Expired,
            StatusArg::Disabled => Shown::Disabled,
        }
    }
}

fn expiry_arg(text: &str) -> Result<Expiry, String> {
    parse::parse_expiry(text, SystemClock.now())
}

/// Why a command failed.
enum Failure {
    /// The store refused; shown after the database path.
    Store(StoreError),
    /// A read or change on a path with no database.
    NoDatabase,
    /// A mistake in the arguments that clap cannot see (exit 2).
    Usage(String),
    /// Anything else.
    Other(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

impl From<OpenError> for Failure {
    fn from(e: OpenError) -> Failure {
        match e {
            OpenError::NoDatabase => Failure::NoDatabase,
            OpenError::Store(e) => Failure::Store(e),
        }
    }
}

/// Runs one `keygate keys` command.
pub(crate) fn run(args: KeysArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("keygate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let target = Target::new(&args.db, &args.schema);
    let db = target.shown();
    match runtime.block_on(dispatch(&target, args.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Store(e)) => {
            // The store's message, then what caused it.
            let mut message = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(next) = cause {
                message = format!("{message}: {next}");
                cause = next.source();
            }
            eprintln!("keygate: {db}: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::NoDatabase) => {
            eprintln!(
                "keygate: no database exists at {db}; create one with \
                 `keygate keys --db {db} create --name NAME`"
            );
            ExitCode::FAILURE
        }
        Err(Failure::Usage(message)) => {
            eprintln!("keygate: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Other(message)) => {
            eprintln!("keygate: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(target: &Target, command: KeysCommand) -> Result<(), Failure> {
    let now = SystemClock.now();
    if let KeysCommand::Create(args) = command {
        // Checked before the database is opened, so a typo creates nothing.
        let key = new_key(args)?;
        return match target.open(true).await? {
            Db::Sqlite(store) => create(&store, key, now).await,
            Db::Postgres(store) => create(&store, key, now).await,
        };
    }
    match target.open(false).await? {
        Db::Sqlite(store) => run_on(&store, command, now).await,
        Db::Postgres(store) => run_on(&store, command, now).await,
    }
}

/// A command on an open store.
async fn run_on(
    store: &impl KeyStore,
    command: KeysCommand,
    now: UnixSeconds,
) -> Result<(), Failure> {
    match command {
        // `dispatch` creates before it opens a store; this arm is that, on an open one.
        KeysCommand::Create(args) => create(store, new_key(args)?, now).await,
        KeysCommand::List {
            owner,
            status,
            json,
        } => list(store, owner, status, json, now).await,
        KeysCommand::Show { id, json } => show(store, &id, json, now).await,
        KeysCommand::Revoke { id } => revoke(store, &id).await,
        KeysCommand::Rotate { id, grace, json } => rotate(store, &id, grace, json, now).await,
        KeysCommand::DisableOwner { owner } => {
            owner_command(store, &owner, OwnerChange::Disable).await
        }
        KeysCommand::EnableOwner { owner } => {
            owner_command(store, &owner, OwnerChange::Enable).await
        }
        KeysCommand::BumpEpoch { owner } => {
            owner_command(store, &owner, OwnerChange::BumpEpoch).await
        }
    }
}

/// Writes to stdout. The caller decides whether a failed write matters.
fn emit(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn json_text<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(|e| Failure::Other(format!("cannot write JSON: {e}")))
}

/// Prints a key that exists nowhere else. If stdout is gone the key is lost, so the
/// user is told which key to revoke.
fn emit_key(text: &str, id: &str) -> Result<(), Failure> {
    emit(text).map_err(|e| {
        Failure::Other(format!(
            "could not print the new key ({e}); it cannot be shown again: revoke key `{id}` \
             and make another"
        ))
    })?;
    eprintln!(
        "warning: store this key safely now: it cannot be shown again (only its hash is kept)"
    );
    eprintln!(
        "note: send `key` as the API key or bearer token, or `key id` and `secret` as the \
         HTTP Basic user and password"
    );
    Ok(())
}

/// What `--spec` makes of the key's names: the operations under the names the runtime
/// looks them up by, and what to warn about.
#[derive(Debug, PartialEq, Eq)]
struct Checked {
    ops: Vec<OpOverride>,
    warnings: Vec<String>,
}

/// The operation of `api` that `name` names: by operationId, by `METHOD /path`, or by
/// its generated type name (`type_names`, one per operation).
fn find_operation<'a>(api: &'a Api, type_names: &[String], name: &str) -> Option<&'a Operation> {
    let by_id = api
        .operations
        .iter()
        .find(|op| op.operation_id.as_deref() == Some(name));
    if by_id.is_some() {
        return by_id;
    }
    if let Some((method, path)) = parse::method_and_path(name) {
        return api
            .operations
            .iter()
            .find(|op| op.method.as_str() == method && op.path == path);
    }
    api.operations
        .iter()
        .zip(type_names)
        .find(|(_, type_name)| type_name.as_str() == name)
        .map(|(op, _)| op)
}

/// The name a key's permissions give `op`, as the runtime looks it up.
fn key_of(op: &Operation) -> String {
    operation_key(op.method.as_str(), &op.path, op.operation_id.as_deref()).into_owned()
}

/// Checks a new key's operations and schemes against `--spec`. Returns the operations
/// under their canonical names, and warnings; an error names each unknown operation or
/// scheme with the closest known names.
fn check_against_spec(
    api: &Api,
    ops: &[OpOverride],
    schemes: &[String],
) -> Result<Checked, String> {
    let type_names = keygate_codegen::operation_type_names(api);
    let keys: Vec<String> = api.operations.iter().map(key_of).collect();
    let known_ops: Vec<&str> = keys.iter().map(String::as_str).collect();
    // Near misses may be of any name an operation answers to; the type name of one with
    // an id is that id in another case, which `close_names` already ignores.
    let mut near: Vec<&str> = known_ops.clone();
    let without_id = api.operations.iter().zip(&type_names);
    near.extend(
        without_id
            .filter(|(op, _)| op.operation_id.is_none())
            .map(|(_, type_name)| type_name.as_str()),
    );
    let scheme_names: Vec<&str> = api.schemes.iter().map(|s| s.name.as_str()).collect();
    let mut errors = Vec::new();
    let mut found = Vec::new();
    for op in ops {
        match find_operation(api, &type_names, &op.name) {
            Some(operation) => found.push((op, operation)),
            None => errors.push(unknown_name(
                api,
                "--op",
                "operation",
                &op.name,
                &known_ops,
                &near,
            )),
        }
    }
    for scheme in schemes {
        if !scheme_names.contains(&scheme.as_str()) {
            errors.push(unknown_name(
                api,
                "--scheme",
                "security scheme",
                scheme,
                &scheme_names,
                &scheme_names,
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\nkeygate: "));
    }
    let mut warnings = Vec::new();
    let mut resolved = Vec::new();
    for (op, operation) in found {
        let key = key_of(operation);
        let method = operation.method.as_str();
        if !op.methods.is_empty() && !op.methods.contains("*") && !op.methods.contains(method) {
            warnings.push(format!(
                "--op {}: the operation is {method} {}, so this key cannot call it",
                op.name, operation.path
            ));
        }
        resolved.push(OpOverride {
            name: key,
            methods: op.methods.clone(),
        });
    }
    warnings.extend(query_string_warnings(api, schemes));
    Ok(Checked {
        ops: resolved,
        warnings,
    })
}

/// A warning per query-string scheme that operations use and the key may be sent with
/// (`schemes` empty: every scheme), as `check` warns about the document.
fn query_string_warnings(api: &Api, schemes: &[String]) -> Vec<String> {
    let mut used = vec![false; api.schemes.len()];
    let requirements = api
        .root
        .iter()
        .chain(api.operations.iter().map(|op| &op.requirement));
    for requirement in requirements {
        for scheme_use in requirement.alternatives.iter().flat_map(|a| &a.schemes) {
            if let Some(flag) = used.get_mut(scheme_use.scheme) {
                *flag = true;
            }
        }
    }
    api.schemes
        .iter()
        .zip(used)
        .filter(|(scheme, used)| *used && (schemes.is_empty() || schemes.contains(&scheme.name)))
        .filter_map(|(scheme, _)| match &scheme.kind {
            SchemeKind::ApiKey {
                location: KeyLocation::Query,
                name,
            } => Some(format!(
                "this key is usable in the query string: scheme `{}` reads it from the query \
                 parameter `{name}`, and URLs leak into server and proxy logs, browser history \
                 and Referer headers; to keep it out, give --scheme with the schemes it needs",
                scheme.name
            )),
            _ => None,
        })
        .collect()
}

/// The warning for names stored without `--spec`, if any were given.
fn unchecked_warning(ops: &[OpOverride], schemes: &[String]) -> Option<String> {
    let mut names: Vec<String> = ops.iter().map(|op| format!("--op `{}`", op.name)).collect();
    names.extend(schemes.iter().map(|s| format!("--scheme `{s}`")));
    if names.is_empty() {
        return None;
    }
    Some(format!(
        "without --spec these names are stored unchecked: {}. A name the document lacks \
         (a typo, a generated type name such as `GetSpotsetsId`) never matches, so the key \
         does less than meant. Operations go by their operationId, or `METHOD /path` when they \
         have none. Pass --spec FILE to check them, and have the app call \
         Keyring::check_names at startup",
        names.join(", ")
    ))
}

/// Why `name` is refused: what `api` lacks, the `near` names it most likely meant, and
/// the `known` names.
fn unknown_name(
    api: &Api,
    flag: &str,
    what: &str,
    name: &str,
    known: &[&str],
    near: &[&str],
) -> String {
    const SHOWN: usize = 20;
    let mut message = format!("{flag} `{name}`: {} has no {what} `{name}`", api.source);
    let close = keygate::close_names(name, near);
    if !close.is_empty() {
        let close: Vec<String> = close.iter().map(|n| format!("`{n}`")).collect();
        message.push_str(&format!("; did you mean {}?", close.join(" or ")));
    }
    if known.is_empty() {
        message.push_str(&format!(" (it defines no {what} names)"));
    } else {
        let mut list = known
            .iter()
            .take(SHOWN)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if known.len() > SHOWN {
            list.push_str(&format!(", and {} more", known.len() - SHOWN));
        }
        message.push_str(&format!(" (known: {list})"));
    }
    message
}

/// A key to create, with the text and format to show it in.
struct KeyToCreate {
    spec: NewKey,
    json: bool,
}

/// The key `create` makes, its names checked against `--spec` when given.
fn new_key(args: CreateArgs) -> Result<KeyToCreate, Failure> {
    let base = match (args.full, args.methods) {
        (true, _) => Base::Full,
        (false, Some(methods)) => Base::Methods(methods),
        // `--read-only`, or nothing: the safe default.
        (false, None) => Base::ReadOnly,
    };
    let ops = match &args.spec {
        Some(spec) => {
            let api =
                keygate_codegen::load_file(spec).map_err(|e| Failure::Other(e.to_string()))?;
            let checked =
                check_against_spec(&api, &args.ops, &args.schemes).map_err(Failure::Other)?;
            for (given, stored) in args.ops.iter().zip(&checked.ops) {
                if given.name != stored.name {
                    eprintln!("note: --op `{}` is stored as `{}`", given.name, stored.name);
                }
            }
            for warning in &checked.warnings {
                eprintln!("warning: {warning}");
            }
            checked.ops
        }
        None => {
            if let Some(warning) = unchecked_warning(&args.ops, &args.schemes) {
                eprintln!("warning: {warning}");
            }
            args.ops
        }
    };
    let permissions = parse::permissions(base, &ops).map_err(Failure::Usage)?;
    let mut spec = NewKey::new(args.name)
        .roles(args.roles)
        .expiry(args.expires)
        .permissions(permissions);
    if let Some(description) = args.description {
        spec = spec.description(description);
    }
    if let Some(owner) = args.owner {
        spec = spec.owner(owner);
    }
    if !args.schemes.is_empty() {
        spec = spec.schemes(args.schemes);
    }
    Ok(KeyToCreate {
        spec,
        json: args.json,
    })
}

async fn create(store: &impl KeyStore, key: KeyToCreate, now: UnixSeconds) -> Result<(), Failure> {
    let issued = store.create_by(&actor(), key.spec).await?;
    let owner = owner_of(store, &issued.record).await?;
    let full = issued.key.expose_secret();
    let secret = issued.secret();
    let secret = secret.expose_secret();
    let text = if key.json {
        json_text(&render::issued_json(
            full,
            secret,
            &issued.record,
            owner.as_ref(),
            now,
        ))?
    } else {
        render::issued_text(full, secret, &issued.record, owner.as_ref(), now)
    };
    emit_key(&text, &issued.record.id)
}

async fn owner_of(store: &impl KeyStore, record: &KeyRecord) -> Result<Option<Owner>, Failure> {
    match &record.owner {
        Some(id) => Ok(store.get_owner(id).await?),
        None => Ok(None),
    }
}

async fn get(store: &impl KeyStore, id: &str) -> Result<KeyRecord, Failure> {
    store
        .get(id)
        .await?
        .ok_or_else(|| Failure::Store(StoreError::NotFound(id.to_owned())))
        .map(std::sync::Arc::unwrap_or_clone)
}

async fn list(
    store: &impl KeyStore,
    owner: Option<String>,
    status: Option<StatusArg>,
    json: bool,
    now: UnixSeconds,
) -> Result<(), Failure> {
    // The status filter is applied here, with owners taken into account, so it agrees
    // with the STATUS column.
    let filter = KeyFilter {
        owner,
        ..KeyFilter::default()
    };
    let records = store.list_all(filter).await?;
    let mut owners: BTreeMap<String, Option<Owner>> = BTreeMap::new();
    for record in &records {
        if let Some(id) = &record.owner {
            if !owners.contains_key(id) {
                owners.insert(id.clone(), store.get_owner(id).await?);
            }
        }
    }
    let owner_of = |r: &KeyRecord| r.owner.as_ref().and_then(|o| owners.get(o)?.as_ref());
    let rows: Vec<(&KeyRecord, Option<&Owner>)> = records
        .iter()
        .map(|r| (r, owner_of(r)))
        .filter(|(r, o)| status.is_none_or(|s| render::status(r, *o, now).shown == s.shown()))
        .collect();
    let text = if json {
        let values: Vec<_> = rows
            .iter()
            .map(|(r, o)| render::record_json(r, *o, now))
            .collect();
        json_text(&values)?
    } else if rows.is_empty() {
        "no keys\n".to_owned()
    } else {
        render::table(&rows, now)
    };
    // A closed pipe (`keygate keys list | head`) is not worth an error.
    let _ = emit(&text);
    Ok(())
}

async fn show(
    store: &impl KeyStore,
    id: &str,
    json: bool,
    now: UnixSeconds,
) -> Result<(), Failure> {
    let record = get(store, id).await?;
    let owner = owner_of(store, &record).await?;
    let text = if json {
        json_text(&render::record_json(&record, owner.as_ref(), now))?
    } else {
        render::record_text(&record, owner.as_ref(), now)
    };
    let _ = emit(&text);
    Ok(())
}

async fn revoke(store: &impl KeyStore, id: &str) -> Result<(), Failure> {
    let record = get(store, id).await?;
    if record.status == keygate::keys::KeyStatus::Revoked {
        let _ = emit(&format!("key `{id}` was already revoked\n"));
        return Ok(());
    }
    store.change_key(&actor(), id, KeyChange::Revoke).await?;
    let _ = emit(&format!(
        "revoked key `{id}` ({}): it stops working on the next request\n",
        record.name.escape_debug()
    ));
    Ok(())
}

async fn rotate(
    store: &impl KeyStore,
    id: &str,
    grace: Duration,
    json: bool,
    now: UnixSeconds,
) -> Result<(), Failure> {
    let changed = store
        .change_key(&actor(), id, KeyChange::Rotate { grace })
        .await?;
    let full = changed
        .key
        .ok_or_else(|| Failure::Store(StoreError::NotFound(id.to_owned())))?;
    let record = get(store, id).await?;
    let owner = owner_of(store, &record).await?;
    let full = full.expose_secret();
    let secret = secret_part(full);
    let secret = secret.expose_secret();
    let text = if json {
        json_text(&render::issued_json(
            full,
            secret,
            &record,
            owner.as_ref(),
            now,
        ))?
    } else {
        let mut text = render::issued_text(full, secret, &record, owner.as_ref(), now);
        match record.hashes.previous {
            Some((_, until)) if until > now => text.push_str(&format!(
                "\nThe old key keeps working until {}.\n",
                civil::rfc3339(until)
            )),
            _ => text.push_str("\nThe old key stopped working now (no grace period).\n"),
        }
        text
    };
    emit_key(&text, id)
}

#[derive(Debug, Clone, Copy)]
enum OwnerChange {
    Disable,
    Enable,
    BumpEpoch,
}

/// Who the audit log names for this command's changes: the OS user running it.
fn actor() -> Actor {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()));
    Actor::cli(user.unwrap_or_else(|| "unknown".to_owned()))
}

async fn change_owner(
    store: &impl KeyStore,
    id: &str,
    change: StoreOwnerChange,
) -> Result<Owner, Failure> {
    let changed = store.change_owner(&actor(), id, change).await?;
    changed
        .owner
        .ok_or_else(|| Failure::Store(StoreError::OwnerNotFound(id.to_owned())))
}

async fn owner_command(
    store: &impl KeyStore,
    id: &str,
    change: OwnerChange,
) -> Result<(), Failure> {
    let held = store.list_all(KeyFilter::default().owner(id)).await?;
    let owner = match change {
        OwnerChange::Disable => change_owner(store, id, StoreOwnerChange::Disable).await?,
        OwnerChange::Enable => change_owner(store, id, StoreOwnerChange::Enable).await?,
        OwnerChange::BumpEpoch => change_owner(store, id, StoreOwnerChange::BumpEpoch).await?,
    };
    let at_epoch = held.iter().filter(|r| r.owner_epoch == owner.epoch).count();
    let name = id.escape_debug();
    let text = match change {
        OwnerChange::Disable => format!(
            "disabled owner `{name}`: none of its keys ({}) work until \
             `keygate keys enable-owner {name}`\n",
            held.len()
        ),
        OwnerChange::Enable => format!(
            "enabled owner `{name}` at epoch {}: its keys issued at this epoch ({at_epoch}) \
             work again\n",
            owner.epoch
        ),
        OwnerChange::BumpEpoch => format!(
            "owner `{name}` is now at epoch {}: the keys it held ({}) stop working for good; \
             keys created from now on work\n",
            owner.epoch,
            held.len()
        ),
    };
    let _ = emit(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }

    #[derive(Debug, Subcommand)]
    enum Top {
        Keys(KeysArgs),
    }

    fn parse(args: &[&str]) -> Result<KeysArgs, clap::Error> {
        let all = ["keygate", "keys"].iter().chain(args);
        Cli::try_parse_from(all).map(|cli| match cli.command {
            Top::Keys(keys) => keys,
        })
    }

    const PETSTORE: &str = r#"
openapi: 3.0.3
info: { title: pets, version: "1" }
components:
  securitySchemes:
    api_key: { type: apiKey, in: header, name: X-API-Key }
    bearer: { type: http, scheme: bearer }
    query: { type: apiKey, in: query, name: key }
    unused_query: { type: apiKey, in: query, name: other }
security: [{ api_key: [] }]
paths:
  /pets:
    get: { operationId: listPets, responses: { "200": { description: ok } } }
    post: { operationId: createPet, responses: { "200": { description: ok } } }
  /pets/{id}:
    delete: { operationId: deletePet, responses: { "200": { description: ok } } }
    get:
      security: [{ query: [] }]
      responses: { "200": { description: ok } }
"#;

    #[test]
    fn presets_are_exclusive() {
        assert!(parse(&["create", "--name", "a", "--full", "--read-only"]).is_err());
        assert!(parse(&["create", "--name", "a", "--full", "--methods", "GET"]).is_err());
        assert!(parse(&["create", "--name", "a", "--full", "--op", "x=GET"]).is_ok());
        assert!(parse(&["create"]).is_err(), "--name is required");
        assert!(parse(&["create", "--name", ""]).is_err());
    }

    #[test]
    fn db_is_global_and_defaults() {
        let args = parse(&["list", "--db", "x.db"]).expect("parse");
        assert_eq!(args.db, "x.db");
        let args = parse(&["--db", "y.db", "show", "abc"]).expect("parse");
        assert_eq!(args.db, "y.db");
        // Without --db the default or KEYGATE_DB applies; either way a path is set.
        assert!(!parse(&["list"]).expect("parse").db.is_empty());
    }

    #[test]
    fn bad_values_are_usage_errors_naming_the_value() {
        for args in [
            &["create", "--name", "a", "--expires", "5x"][..],
            &["create", "--name", "a", "--methods", "GET,FETCH"],
            &["create", "--name", "a", "--op", "nope"],
            &["rotate", "abc", "--grace", "soon"],
            &["list", "--status", "gone"],
        ] {
            let error = parse(args).expect_err("accepted");
            let bad = args[args.len() - 1];
            let bad = if bad == "GET,FETCH" { "FETCH" } else { bad };
            assert!(error.to_string().contains(bad), "{error}");
            assert_eq!(error.exit_code(), 2);
        }
        assert!(parse(&["rotate", "abc"]).is_err(), "--grace is required");
    }

    #[test]
    fn roles_split_on_commas() {
        let args = parse(&["create", "--name", "a", "--roles", "x,y", "--roles", "z"]).unwrap();
        let KeysCommand::Create(create) = args.command else {
            panic!("not create");
        };
        assert_eq!(create.roles, ["x", "y", "z"]);
    }

    #[test]
    fn spec_check_names_unknown_ids_and_suggests() {
        let api = keygate_codegen::load_str("pets.yaml", PETSTORE).expect("load");
        let op = |text: &str| parse::parse_op(text).expect("op");
        let checked =
            check_against_spec(&api, &[op("createPet=POST")], &["api_key".into()]).expect("ok");
        assert_eq!(checked.ops, [op("createPet=POST")]);
        assert_eq!(checked.warnings, Vec::<String>::new());
        let error = check_against_spec(&api, &[op("creatPet=POST")], &[]).unwrap_err();
        assert!(error.contains("`creatPet`"), "{error}");
        assert!(error.contains("did you mean `createPet`"), "{error}");
        assert!(
            error.contains("known: listPets, createPet, deletePet, GET /pets/{id}"),
            "{error}"
        );
        let error = check_against_spec(&api, &[], &["apikey".into()]).unwrap_err();
        assert!(error.contains("no security scheme `apikey`"), "{error}");
        assert!(error.contains("`api_key`"), "{error}");
        let header_only = ["api_key".to_owned()];
        let warnings = check_against_spec(&api, &[op("createPet=GET")], &header_only)
            .expect("ok")
            .warnings;
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("POST /pets"), "{}", warnings[0]);
        // Denying an operation outright is deliberate: no warning.
        assert_eq!(
            check_against_spec(&api, &[op("createPet=")], &header_only).map(|c| c.warnings),
            Ok(vec![])
        );
    }

    /// An operation is found by its id, its `METHOD /path` or its generated type name,
    /// and stored under its id, or `METHOD /path` when it has none.
    #[test]
    fn spec_check_stores_the_name_the_runtime_looks_up() {
        let api = keygate_codegen::load_str("pets.yaml", PETSTORE).expect("load");
        let stored = |text: &str| {
            let given = parse::parse_op(text).expect("op");
            check_against_spec(&api, &[given], &[])
                .map(|c| c.ops.into_iter().map(|o| o.name).collect::<Vec<_>>())
        };
        assert_eq!(
            stored("GetPetsId=GET"),
            Ok(vec!["GET /pets/{id}".to_owned()])
        );
        assert_eq!(
            stored("get /pets/{id}=GET"),
            Ok(vec!["GET /pets/{id}".to_owned()])
        );
        assert_eq!(stored("POST /pets=POST"), Ok(vec!["createPet".to_owned()]));
        assert_eq!(stored("ListPets=GET"), Ok(vec!["listPets".to_owned()]));
        let error = stored("GetPetId=GET").unwrap_err();
        assert!(error.contains("did you mean `GetPetsId`"), "{error}");
        let error = stored("GET /pets/{petId}=GET").unwrap_err();
        assert!(
            error.contains("no operation `GET /pets/{petId}`"),
            "{error}"
        );
        assert!(error.contains("did you mean `GET /pets/{id}`"), "{error}");
    }

    #[test]
    fn query_string_schemes_are_named_unless_the_key_avoids_them() {
        let api = keygate_codegen::load_str("pets.yaml", PETSTORE).expect("load");
        let warnings = |schemes: &[&str]| {
            let schemes: Vec<String> = schemes.iter().map(|s| (*s).to_owned()).collect();
            check_against_spec(&api, &[], &schemes)
                .expect("ok")
                .warnings
        };
        let all = warnings(&[]);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].contains("scheme `query` reads it from the query parameter `key`"),
            "{}",
            all[0]
        );
        assert_eq!(warnings(&["query"]).len(), 1);
        assert_eq!(warnings(&["api_key"]), Vec::<String>::new());
        // A query scheme no operation uses takes no key.
        assert_eq!(warnings(&["unused_query"]), Vec::<String>::new());
    }

    #[test]
    fn names_without_a_spec_are_named_in_a_warning() {
        let op = |text: &str| parse::parse_op(text).expect("op");
        assert_eq!(unchecked_warning(&[], &[]), None);
        let warning =
            unchecked_warning(&[op("GetSpotsetsId=GET")], &["apikey".into()]).expect("warned");
        assert!(
            warning.contains("unchecked: --op `GetSpotsetsId`, --scheme `apikey`"),
            "{warning}"
        );
        assert!(warning.contains("--spec"), "{warning}");
    }
}
