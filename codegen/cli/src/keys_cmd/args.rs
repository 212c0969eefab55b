//! The arguments of `keygate keys ...`, as clap reads them.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::NonEmptyStringValueParser;
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use keygate::keys::{Clock, Expiry, Metadata, SystemClock, UnixSeconds};

use super::parse::{self, OpOverride};
use super::render::Shown;

/// Create, update, list, revoke, rotate and delete the API keys that
/// `keygate::keys::Keyring` verifies; manage their owners; read the audit log.
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
    pub(super) db: String,
    /// The PostgreSQL schema of keygate's tables (what the app gives
    /// `PostgresStore::builder(..).schema(..)`).
    #[arg(
        long,
        global = true,
        env = "KEYGATE_PG_SCHEMA",
        default_value = "keygate",
        value_name = "NAME"
    )]
    pub(super) schema: String,
    #[command(subcommand)]
    pub(super) command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub(super) enum KeysCommand {
    /// Create a key and print it: the only time it can be seen.
    Create(CreateArgs),
    /// Change a key's name, description, expiry, permissions, roles, schemes or metadata,
    /// and print it.
    Update(UpdateArgs),
    /// List keys (never their secrets), a page at a time.
    List(ListArgs),
    /// Show one key.
    Show {
        /// The key id (the middle part of the key).
        id: String,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop a key until `enable`; it is refused from the next request.
    Disable {
        /// The key id.
        id: String,
    },
    /// Let a disabled key work again (a revoked key stays revoked).
    Enable {
        /// The key id.
        id: String,
    },
    /// Revoke a key for good; it stops working on the next request.
    Revoke {
        /// The key id.
        id: String,
    },
    /// Delete a key for good (needs --yes): it stops at once, its id is never issued again.
    ///
    /// Its record is gone from `list` and `show`; the audit log keeps the deletion. There
    /// is no prompt, so scripts can use it, but without --yes it refuses and changes
    /// nothing. To stop a key and keep its record, `revoke` it (for good) or `disable` it
    /// (until `enable`).
    Delete {
        /// The key id.
        id: String,
        /// Confirm the deletion: it cannot be undone.
        #[arg(long)]
        yes: bool,
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
    /// List, show, disable, enable, invalidate or delete the owners of keys.
    #[command(subcommand)]
    Owners(OwnersCommand),
    /// Read the audit log: who changed which key or owner, when, and what changed.
    Audit(AuditArgs),
    /// Same as `owners disable OWNER`.
    DisableOwner {
        /// The owner.
        owner: String,
    },
    /// Same as `owners enable OWNER`.
    EnableOwner {
        /// The owner.
        owner: String,
    },
    /// Same as `owners bump-epoch OWNER`.
    BumpEpoch {
        /// The owner.
        owner: String,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum OwnersCommand {
    /// List owners with their key counts, a page at a time.
    List {
        /// Owners per page (1 to 1000).
        #[arg(long, default_value_t = 50, value_name = "N", value_parser = page_size)]
        limit: usize,
        /// Start after this owner: the cursor the page before printed.
        #[arg(long, value_name = "CURSOR")]
        cursor: Option<String>,
        /// One JSON object (`items`, `next_cursor`) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one owner: enabled, epoch, and how many keys it holds.
    Show {
        /// The owner.
        owner: String,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop all of an owner's keys until `owners enable`.
    Disable {
        /// The owner.
        owner: String,
    },
    /// Let an owner's keys work again (keys from before an epoch bump stay dead).
    Enable {
        /// The owner.
        owner: String,
    },
    /// Invalidate every key an owner holds now, for good (say, on a password change).
    BumpEpoch {
        /// The owner.
        owner: String,
    },
    /// Delete an owner and every key it holds, for good (needs --yes): they stop at once.
    ///
    /// There is no prompt, so scripts can use it, but without --yes it refuses and changes
    /// nothing. To stop an owner's keys and keep them, use `owners disable` (until
    /// `owners enable`) or `owners bump-epoch` (for good).
    Delete {
        /// The owner.
        owner: String,
        /// Confirm the deletion: it cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("base").args(["read_only", "full", "methods"])))]
pub(super) struct CreateArgs {
    /// A display name.
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    pub(super) name: String,
    /// A longer description.
    #[arg(long)]
    pub(super) description: Option<String>,
    /// The owner (a user, team or service); see `owners`.
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    pub(super) owner: Option<String>,
    /// Roles of the key's principal (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "ROLE,...",
          value_parser = NonEmptyStringValueParser::new())]
    pub(super) roles: Vec<String>,
    /// GET, HEAD and OPTIONS only (the default).
    #[arg(long)]
    pub(super) read_only: bool,
    /// Every method.
    #[arg(long)]
    pub(super) full: bool,
    /// These methods (`*` = all).
    #[arg(long, value_name = "METHOD,...", value_parser = parse::parse_methods)]
    pub(super) methods: Option<BTreeSet<String>>,
    /// These methods on this operation instead of the default; nothing after `=`
    /// denies it (repeatable). The operation: its operationId, or `METHOD /path` (quoted)
    /// for one without; with --spec also its generated type name (`GetSpotsetsId`).
    #[arg(long = "op", value_name = "OPERATION=METHODS", value_parser = parse::parse_op)]
    pub(super) ops: Vec<OpOverride>,
    /// Only for this security scheme (repeatable; default: every scheme).
    #[arg(long = "scheme", value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    pub(super) schemes: Vec<String>,
    /// A duration (7d, 30d, 90d, 12h, 1h 30m), YYYY-MM-DD (works through that day, UTC), never.
    #[arg(long, value_name = "WHEN", default_value = "never", value_parser = expiry_arg)]
    pub(super) expires: Expiry,
    /// Check --op and --scheme against this OpenAPI document (and store each operation
    /// under the name the runtime looks it up by); without it they are stored unchecked.
    #[arg(long, value_name = "FILE")]
    pub(super) spec: Option<PathBuf>,
    /// One JSON object (the record plus `key` and `secret`) instead of text.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("base").args(["read_only", "full", "methods"])))]
#[command(group(ArgGroup::new("expiry").args(["expires_in", "expires_at", "no_expiry"])))]
pub(super) struct UpdateArgs {
    /// The key id.
    pub(super) id: String,
    /// A new display name.
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    pub(super) name: Option<String>,
    /// A new description.
    #[arg(long, conflicts_with = "no_description")]
    pub(super) description: Option<String>,
    /// Remove the description.
    #[arg(long)]
    pub(super) no_description: bool,
    /// Expire this long from now (30d, 12h, 1h 30m).
    #[arg(long, value_name = "DURATION", value_parser = parse::parse_expires_in)]
    pub(super) expires_in: Option<Duration>,
    /// Expire at the end of YYYY-MM-DD (UTC) or at an RFC 3339 time (2026-12-31T18:00:00Z).
    #[arg(long, value_name = "DATE|TIME", value_parser = expires_at_arg)]
    pub(super) expires_at: Option<UnixSeconds>,
    /// Never expire.
    #[arg(long)]
    pub(super) no_expiry: bool,
    /// Default methods: GET, HEAD and OPTIONS only (the --op overrides stay).
    #[arg(long)]
    pub(super) read_only: bool,
    /// Default methods: every method (the --op overrides stay).
    #[arg(long)]
    pub(super) full: bool,
    /// Default methods: these (`*` = all; the --op overrides stay).
    #[arg(long, value_name = "METHOD,...", value_parser = parse::parse_methods)]
    pub(super) methods: Option<BTreeSet<String>>,
    /// Add or replace the methods on one operation; nothing after `=` denies it
    /// (repeatable; named as for `create --op`).
    #[arg(long = "op", value_name = "OPERATION=METHODS", value_parser = parse::parse_op)]
    pub(super) ops: Vec<OpOverride>,
    /// Remove one operation's override, so the default methods apply to it (repeatable).
    #[arg(long = "remove-op", value_name = "OPERATION", value_parser = parse::parse_op_name)]
    pub(super) remove_ops: Vec<String>,
    /// Replace the roles (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "ROLE,...", conflicts_with = "no_roles",
          value_parser = NonEmptyStringValueParser::new())]
    pub(super) roles: Vec<String>,
    /// Remove every role.
    #[arg(long)]
    pub(super) no_roles: bool,
    /// Only for these security schemes, replacing the restriction (repeatable).
    #[arg(long = "scheme", value_name = "NAME", conflicts_with = "all_schemes",
          value_parser = NonEmptyStringValueParser::new())]
    pub(super) schemes: Vec<String>,
    /// For every security scheme: remove the restriction.
    #[arg(long)]
    pub(super) all_schemes: bool,
    /// Replace the metadata with this JSON object (`{}` clears it).
    #[arg(long, value_name = "JSON", value_parser = parse::parse_metadata)]
    pub(super) metadata: Option<Metadata>,
    /// Check --op, --remove-op and --scheme against this OpenAPI document.
    #[arg(long, value_name = "FILE")]
    pub(super) spec: Option<PathBuf>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// Only this owner's keys.
    #[arg(long)]
    pub(super) owner: Option<String>,
    /// Only keys in this status (as a verifier would judge it now).
    #[arg(long, value_enum)]
    pub(super) status: Option<StatusArg>,
    /// Only keys with exactly this name.
    #[arg(long)]
    pub(super) name: Option<String>,
    /// Only keys whose name contains TEXT, ASCII letters in either case (`%` and `_`
    /// are plain characters). No index serves it: a rare TEXT reads every key.
    #[arg(long, value_name = "TEXT")]
    pub(super) name_contains: Option<String>,
    /// Only keys that expire before this: a duration from now (30d), YYYY-MM-DD (the
    /// start of that day, UTC) or an RFC 3339 time; expired keys included.
    #[arg(long, value_name = "WHEN", value_parser = future_arg)]
    pub(super) expiring_before: Option<UnixSeconds>,
    /// The newest key first (by default the oldest first). A cursor continues the
    /// order it came from only.
    #[arg(long)]
    pub(super) newest_first: bool,
    /// Keys per page (1 to 1000).
    #[arg(long, default_value_t = 50, value_name = "N", value_parser = page_size)]
    pub(super) limit: usize,
    /// Start after this key: the cursor the page before printed.
    #[arg(long, value_name = "CURSOR")]
    pub(super) cursor: Option<String>,
    /// One JSON object (`items`, `next_cursor`) instead of a table.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, Args)]
pub(super) struct AuditArgs {
    /// Only changes to this key or owner id.
    #[arg(long, value_name = "ID")]
    pub(super) target: Option<String>,
    /// Only changes by this actor: a name (`alice`) or kind and name (`cli:alice`).
    #[arg(long, value_name = "NAME")]
    pub(super) actor: Option<String>,
    /// Only changes at or after this: a duration ago (24h), YYYY-MM-DD (the start of that
    /// day, UTC) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN", value_parser = past_arg)]
    pub(super) since: Option<UnixSeconds>,
    /// Only changes before this (same forms as --since).
    #[arg(long, value_name = "WHEN", value_parser = past_arg)]
    pub(super) until: Option<UnixSeconds>,
    /// Entries per page (1 to 1000).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = page_size)]
    pub(super) limit: usize,
    /// Continue from this cursor: the one the page before printed.
    #[arg(long, value_name = "CURSOR", value_parser = clap::value_parser!(u64))]
    pub(super) cursor: Option<u64>,
    /// One JSON object (`items`, `next_cursor`) instead of a table.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum StatusArg {
    Active,
    Revoked,
    Expired,
    /// Disabled, or its owner is (`owners enable` restores those).
    Disabled,
}

impl StatusArg {
    pub(super) fn shown(self) -> Shown {
        match self {
            StatusArg::Active => Shown::Active,
            StatusArg::Revoked => Shown::Revoked,
            StatusArg::Expired => Shown::Expired,
            StatusArg::Disabled => Shown::Disabled,
        }
    }
}

/// A page size the stores accept, as clap reads it.
fn page_size(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=keygate::keys::MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number from 1 to {}",
            keygate::keys::MAX_PAGE_SIZE
        )),
    }
}

fn expiry_arg(text: &str) -> Result<Expiry, String> {
    parse::parse_expiry(text, SystemClock.now())
}

fn expires_at_arg(text: &str) -> Result<UnixSeconds, String> {
    parse::parse_expires_at(text, SystemClock.now())
}

fn future_arg(text: &str) -> Result<UnixSeconds, String> {
    parse::parse_time(text, SystemClock.now(), parse::Toward::Future)
}

fn past_arg(text: &str) -> Result<UnixSeconds, String> {
    parse::parse_time(text, SystemClock.now(), parse::Toward::Past)
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

    #[test]
    fn presets_are_exclusive() {
        assert!(parse(&["create", "--name", "a", "--full", "--read-only"]).is_err());
        assert!(parse(&["create", "--name", "a", "--full", "--methods", "GET"]).is_err());
        assert!(parse(&["create", "--name", "a", "--full", "--op", "x=GET"]).is_ok());
        assert!(parse(&["create"]).is_err(), "--name is required");
        assert!(parse(&["create", "--name", ""]).is_err());
        assert!(parse(&["update", "k", "--full", "--read-only"]).is_err());
    }

    #[test]
    fn update_refuses_contradictions() {
        for args in [
            &["update", "k", "--expires-in", "1d", "--no-expiry"][..],
            &[
                "update",
                "k",
                "--expires-in",
                "1d",
                "--expires-at",
                "2099-01-01",
            ],
            &["update", "k", "--description", "x", "--no-description"],
            &["update", "k", "--roles", "a", "--no-roles"],
            &["update", "k", "--scheme", "a", "--all-schemes"],
        ] {
            let error = parse(args).expect_err("accepted");
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
        assert!(parse(&["update", "k", "--remove-op", "get /x"]).is_ok());
    }

    #[test]
    fn db_is_global_and_defaults() {
        let args = parse(&["list", "--db", "x.db"]).expect("parse");
        assert_eq!(args.db, "x.db");
        let args = parse(&["--db", "y.db", "show", "abc"]).expect("parse");
        assert_eq!(args.db, "y.db");
        let args = parse(&["owners", "list", "--db", "z.db"]).expect("parse");
        assert_eq!(args.db, "z.db");
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
            &["list", "--limit", "0"],
            &["list", "--limit", "1001"],
            &["update", "k", "--expires-in", "0s"],
            &["update", "k", "--expires-at", "2001-01-01"],
            &["update", "k", "--metadata", "[1]"],
            &["audit", "--since", "yesterday"],
            &["audit", "--cursor", "x1"],
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
}
