//! `keygate keys ...`: the runtime's keys (`keygate::keys`) in an SQLite file or a
//! PostgreSQL database, the same commands on both.
//!
//! Exit codes: 0 ok, 1 the database or the key refused (the message starts with
//! `keygate: ` and names the database), 2 usage errors.

mod args;
mod audit;
mod civil;
pub(crate) mod console;
mod create;
mod failure;
mod lifecycle;
mod list;
mod output;
mod owners;
mod parse;
mod records;
mod render;
mod spec_check;
mod table;
mod target;
mod update;

use std::process::ExitCode;

use keygate::keys::{Clock, KeyStore, OwnerChange, SystemClock, UnixSeconds};

pub(crate) use args::KeysArgs;
use args::{KeysCommand, OwnersCommand};
use failure::Failure;
use target::{Db, Target};

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
    match runtime.block_on(dispatch(&target, args.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(&target.shown()),
    }
}

/// A command checked as far as it can be without the database.
enum Ready {
    Create(create::KeyToCreate),
    Update(update::Planned),
    Other(KeysCommand),
}

/// Refuses what the arguments alone show to be wrong, before the database is opened, so
/// a typo creates and changes nothing.
fn prepare(command: KeysCommand, now: UnixSeconds) -> Result<Ready, Failure> {
    match command {
        KeysCommand::Create(args) => create::new_key(args).map(Ready::Create),
        KeysCommand::Update(args) => update::plan(args, now).map(Ready::Update),
        KeysCommand::Delete { id, yes: false } => Err(lifecycle::delete_unconfirmed(&id)),
        KeysCommand::Owners(OwnersCommand::Delete { owner, yes: false }) => {
            Err(owners::delete_unconfirmed(&owner))
        }
        other => Ok(Ready::Other(other)),
    }
}

async fn dispatch(target: &Target, command: KeysCommand) -> Result<(), Failure> {
    let now = SystemClock.now();
    let ready = prepare(command, now)?;
    let create = matches!(ready, Ready::Create(_));
    match target.open(create).await? {
        Db::Sqlite(store) => run_on(&store, ready, now).await,
        Db::Postgres(store) => run_on(&store, ready, now).await,
    }
}

/// A command on an open store.
async fn run_on(store: &impl KeyStore, ready: Ready, now: UnixSeconds) -> Result<(), Failure> {
    let command = match ready {
        Ready::Create(key) => return create::create(store, key, now).await,
        Ready::Update(planned) => return update::update(store, planned, now).await,
        Ready::Other(command) => command,
    };
    match command {
        // `prepare` turned these into `Ready::Create` and `Ready::Update`.
        KeysCommand::Create(args) => create::create(store, create::new_key(args)?, now).await,
        KeysCommand::Update(args) => update::update(store, update::plan(args, now)?, now).await,
        KeysCommand::List(args) => list::list(store, args, now).await,
        KeysCommand::Show { id, json } => lifecycle::show(store, &id, json, now).await,
        KeysCommand::Disable { id } => lifecycle::disable(store, &id).await,
        KeysCommand::Enable { id } => lifecycle::enable(store, &id, now).await,
        KeysCommand::Revoke { id } => lifecycle::revoke(store, &id).await,
        KeysCommand::Delete { id, .. } => lifecycle::delete(store, &id).await,
        KeysCommand::Rotate { id, grace, json } => {
            lifecycle::rotate(store, &id, grace, json, now).await
        }
        KeysCommand::Owners(command) => owners::run(store, command).await,
        KeysCommand::Audit(args) => audit::audit(store, args).await,
        KeysCommand::DisableOwner { owner } => {
            owners::change(store, &owner, OwnerChange::Disable).await
        }
        KeysCommand::EnableOwner { owner } => {
            owners::change(store, &owner, OwnerChange::Enable).await
        }
        KeysCommand::BumpEpoch { owner } => {
            owners::change(store, &owner, OwnerChange::BumpEpoch).await
        }
    }
}
