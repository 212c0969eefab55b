//! `keys create`: a new key, printed once.

use keygate::keys::{KeyStore, NewKey, UnixSeconds};
use secrecy::ExposeSecret;

use super::args::CreateArgs;
use super::failure::Failure;
use super::output::{emit_key, json_text};
use super::parse::{self, Base};
use super::records::{actor, owner_of};
use super::render;
use super::spec_check::resolve_ops;

/// A key to create, with the format to show it in.
pub(super) struct KeyToCreate {
    spec: NewKey,
    json: bool,
}

/// The key `create` makes, its names checked against `--spec` when given.
pub(super) fn new_key(args: CreateArgs) -> Result<KeyToCreate, Failure> {
    let base = match (args.full, args.methods) {
        (true, _) => Base::Full,
        (false, Some(methods)) => Base::Methods(methods),
        // `--read-only`, or nothing: the safe default.
        (false, None) => Base::ReadOnly,
    };
    let ops = resolve_ops(
        args.spec.as_deref(),
        &args.ops,
        args.ops.len(),
        &args.schemes,
        Some(&args.schemes),
    )?;
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

pub(super) async fn create(
    store: &impl KeyStore,
    key: KeyToCreate,
    now: UnixSeconds,
) -> Result<(), Failure> {
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
