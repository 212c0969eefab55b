//! The audit log: who changed which key or owner, when, and what the change was. Stores
//! append an entry in the transaction of the change itself; keygate never edits one, and
//! only the retention setting removes old ones.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock::{secs, UnixSeconds};
use super::error::{AuditTarget, StoreError};

/// How long entries are kept by default: a year.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(365 * 86_400);

/// Entries an audit page holds by default, and at most.
pub const DEFAULT_AUDIT_PAGE: usize = 100;
/// The largest audit page.
pub const MAX_AUDIT_PAGE: usize = 1000;

/// The longest actor name and request id kept.
const MAX_ACTOR_TEXT: usize = 200;

/// What kind of actor made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// The app itself, under a name it chose (`app` by default).
    App,
    /// The `keygate keys` CLI, named by the OS user that ran it.
    Cli,
    /// An admin key of the HTTP API, named by its key id.
    AdminKey,
    /// An owner acting on its own keys through the self-service routes, named by its id.
    Owner,
}

impl ActorKind {
    /// The stored name: `app`, `cli`, `admin_key` or `owner`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::App => "app",
            ActorKind::Cli => "cli",
            ActorKind::AdminKey => "admin_key",
            ActorKind::Owner => "owner",
        }
    }

    /// The kind with this stored name.
    pub fn parse(text: &str) -> Option<ActorKind> {
        match text {
            "app" => Some(ActorKind::App),
            "cli" => Some(ActorKind::Cli),
            "admin_key" => Some(ActorKind::AdminKey),
            "owner" => Some(ActorKind::Owner),
            _ => None,
        }
    }
}

/// Who makes a change, and the HTTP request that carried it if any: recorded in the audit
/// entry of every change. The store methods without an actor use [`Actor::default`], the
/// app named `app`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    kind: ActorKind,
    name: String,
    request_id: Option<String>,
}

impl Default for Actor {
    fn default() -> Actor {
        Actor::app("app")
    }
}

impl Actor {
    /// The app, under a name of its choosing (a user of its own, a job).
    pub fn app(name: impl Into<String>) -> Actor {
        Actor::new(ActorKind::App, name)
    }

    /// The CLI, run by this OS user.
    pub fn cli(os_user: impl Into<String>) -> Actor {
        Actor::new(ActorKind::Cli, os_user)
    }

    /// An admin key of the HTTP API (its key id, never the key).
    pub fn admin_key(key_id: impl Into<String>) -> Actor {
        Actor::new(ActorKind::AdminKey, key_id)
    }

    /// An actor of this kind and name.
    pub fn new(kind: ActorKind, name: impl Into<String>) -> Actor {
        Actor {
            kind,
            name: name.into(),
            request_id: None,
        }
    }

    /// The id of the HTTP request that carried the change.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Actor {
        self.request_id = Some(id.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    /// The name (an app's name, an OS user, an admin key id).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The request id, if the change came over HTTP.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Refuses an empty or overlong name or request id, naming the field.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.name.is_empty() || self.name.len() > MAX_ACTOR_TEXT {
            return Err(StoreError::invalid(
                "actor",
                format!("the name must have 1 to {MAX_ACTOR_TEXT} bytes"),
            ));
        }
        if self
            .request_id
            .as_ref()
            .is_some_and(|id| id.is_empty() || id.len() > MAX_ACTOR_TEXT)
        {
            return Err(StoreError::invalid(
                "request_id",
                format!("must have 1 to {MAX_ACTOR_TEXT} bytes"),
            ));
        }
        Ok(())
    }
}

/// A key's stored creator (`created_by_kind`, `created_by` columns) read back: both or
/// neither (a key whose creation entry was pruned before the column existed), else the
/// reason the row is corrupt.
pub(crate) fn creator(kind: Option<String>, name: Option<String>) -> Result<Option<Actor>, String> {
    match (kind, name) {
        (Some(kind), Some(name)) => ActorKind::parse(&kind)
            .map(|kind| Some(Actor::new(kind, name)))
            .ok_or_else(|| format!("unknown creator kind `{kind}`")),
        (None, None) => Ok(None),
        _ => Err("half of its creator is missing".to_owned()),
    }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A key was created.
    Create,
    /// A key's fields were edited.
    Update,
    /// A key was disabled.
    Disable,
    /// A key was enabled again.
    Enable,
    /// A key was revoked.
    Revoke,
    /// A key got a new secret.
    Rotate,
    /// A key was deleted.
    Delete,
    /// An owner was disabled.
    DisableOwner,
    /// An owner was enabled again.
    EnableOwner,
    /// An owner's credential epoch was bumped.
    BumpEpoch,
    /// An owner was deleted, and its keys with it.
    DeleteOwner,
}

const ACTIONS: [(AuditAction, &str); 11] = [
    (AuditAction::Create, "create"),
    (AuditAction::Update, "update"),
    (AuditAction::Disable, "disable"),
    (AuditAction::Enable, "enable"),
    (AuditAction::Revoke, "revoke"),
    (AuditAction::Rotate, "rotate"),
    (AuditAction::Delete, "delete"),
    (AuditAction::DisableOwner, "disable_owner"),
    (AuditAction::EnableOwner, "enable_owner"),
    (AuditAction::BumpEpoch, "bump_epoch"),
    (AuditAction::DeleteOwner, "delete_owner"),
];

impl AuditAction {
    /// The stored name (`create`, `disable_owner`, ...).
    pub fn as_str(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(action, _)| *action == self)
            .map_or("unknown", |(_, name)| name)
    }

    /// The action with this stored name.
    pub fn parse(text: &str) -> Option<AuditAction> {
        ACTIONS
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(action, _)| *action)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field a change touched, before and after (JSON `null` for none). Secrets and
/// their hashes are never fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field (`name`, `status`, `expires_at`, `metadata`, ...).
    pub field: String,
    /// Its value before.
    pub before: serde_json::Value,
    /// Its value after.
    pub after: serde_json::Value,
}

impl FieldChange {
    /// A count that went from `before` to `after` (the keys an owner delete removed).
    pub(crate) fn count(field: &str, before: usize, after: usize) -> FieldChange {
        FieldChange {
            field: field.to_owned(),
            before: before.into(),
            after: after.into(),
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its place in the log: increasing, never reused.
    pub seq: u64,
    /// When the change was made.
    pub at: UnixSeconds,
    /// Who made it.
    pub actor_kind: ActorKind,
    /// The actor's name.
    pub actor: String,
    /// What it did.
    pub action: AuditAction,
    /// To what.
    pub target: AuditTarget,
    /// The fields it changed.
    pub changes: Vec<FieldChange>,
    /// The HTTP request that carried it, if any.
    pub request_id: Option<String>,
}

/// Which audit entries [`KeyStore::audit`](super::KeyStore::audit) returns: newest first,
/// a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only changes to this key or owner id.
    pub target: Option<String>,
    /// Only changes by an actor of this name.
    pub actor: Option<String>,
    /// Only changes at or after this time.
    pub since: Option<UnixSeconds>,
    /// Only changes before this time.
    pub until: Option<UnixSeconds>,
    /// The page after this one: [`AuditPage::next`] of the page before.
    pub before_seq: Option<u64>,
    /// Entries at most ([`MAX_AUDIT_PAGE`] at most).
    pub limit: usize,
}

impl Default for AuditQuery {
    fn default() -> AuditQuery {
        AuditQuery {
            target: None,
            actor: None,
            since: None,
            until: None,
            before_seq: None,
            limit: DEFAULT_AUDIT_PAGE,
        }
    }
}

impl AuditQuery {
    /// The newest entries, [`DEFAULT_AUDIT_PAGE`] of them.
    pub fn new() -> AuditQuery {
        AuditQuery::default()
    }

    /// Only changes to this key or owner.
    pub fn target(mut self, id: impl Into<String>) -> AuditQuery {
        self.target = Some(id.into());
        self
    }

    /// Only changes by this actor name.
    pub fn actor(mut self, name: impl Into<String>) -> AuditQuery {
        self.actor = Some(name.into());
        self
    }

    /// Only changes in `[since, until)`.
    pub fn between(mut self, since: Option<UnixSeconds>, until: Option<UnixSeconds>) -> AuditQuery {
        self.since = since;
        self.until = until;
        self
    }

    /// The page after the one that gave `next`.
    pub fn after(mut self, next: u64) -> AuditQuery {
        self.before_seq = Some(next);
        self
    }

    /// At most this many entries.
    pub fn limit(mut self, limit: usize) -> AuditQuery {
        self.limit = limit;
        self
    }

    /// The page size used: `limit` within 1 ..= [`MAX_AUDIT_PAGE`].
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, MAX_AUDIT_PAGE)
    }

    /// Whether `entry` passes the filters and the cursor.
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.target
            .as_deref()
            .is_none_or(|t| entry.target.id() == t)
            && self.actor.as_deref().is_none_or(|a| entry.actor == a)
            && self.since.is_none_or(|t| entry.at >= t)
            && self.until.is_none_or(|t| entry.at < t)
            && self.before_seq.is_none_or(|s| entry.seq < s)
    }
}

/// A page of audit entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// Give it to [`AuditQuery::after`] for the next page; `None` on the last one.
    pub next: Option<u64>,
}

impl AuditPage {
    /// Builds a page from up to `size + 1` entries read newest first.
    pub(crate) fn from_rows(mut entries: Vec<AuditEntry>, size: usize) -> AuditPage {
        let more = entries.len() > size;
        entries.truncate(size);
        let next = if more {
            entries.last().map(|e| e.seq)
        } else {
            None
        };
        AuditPage { entries, next }
    }
}

/// An entry before the store numbers it: what a change hands to its transaction.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) at: UnixSeconds,
    pub(crate) actor_kind: ActorKind,
    pub(crate) actor: String,
    pub(crate) action: AuditAction,
    pub(crate) target: AuditTarget,
    pub(crate) changes: Vec<FieldChange>,
    pub(crate) request_id: Option<String>,
}

impl Draft {
    pub(crate) fn new(
        by: &Actor,
        at: UnixSeconds,
        action: AuditAction,
        target: AuditTarget,
        changes: Vec<FieldChange>,
    ) -> Draft {
        Draft {
            at,
            actor_kind: by.kind,
            actor: by.name.clone(),
            action,
            target,
            changes,
            request_id: by.request_id.clone(),
        }
    }

    /// The changes as stored: a JSON array.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn changes_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(&self.changes)
            .map_err(|e| StoreError::corrupt("audit changes as JSON").caused_by(e))
    }

    pub(crate) fn numbered(self, seq: u64) -> AuditEntry {
        AuditEntry {
            seq,
            at: self.at,
            actor_kind: self.actor_kind,
            actor: self.actor,
            action: self.action,
            target: self.target,
            changes: self.changes,
            request_id: self.request_id,
        }
    }
}

/// Entries older than this are pruned at `now`, for a retention of `keep` (`None`:
/// kept for ever).
pub(crate) fn prune_before(keep: Option<Duration>, now: UnixSeconds) -> Option<UnixSeconds> {
    keep.map(|keep| now.saturating_sub(secs(keep)))
}

/// An audit entry row's parts as stored, checked into an entry.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) struct RawEntry {
    pub(crate) seq: i64,
    pub(crate) at: i64,
    pub(crate) actor_kind: String,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) target_kind: String,
    pub(crate) target: String,
    pub(crate) changes: String,
    pub(crate) request_id: Option<String>,
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
impl RawEntry {
    pub(crate) fn check(self) -> Result<AuditEntry, StoreError> {
        let seq = self.seq;
        let bad = |what: &str| StoreError::corrupt(format!("audit entry {seq}: {what}"));
        Ok(AuditEntry {
            seq: u64::try_from(seq).map_err(|_| bad("negative sequence number"))?,
            at: self.at,
            actor_kind: ActorKind::parse(&self.actor_kind)
                .ok_or_else(|| bad("unknown actor kind"))?,
            actor: self.actor,
            action: AuditAction::parse(&self.action).ok_or_else(|| bad("unknown action"))?,
            target: AuditTarget::from_parts(&self.target_kind, self.target)
                .ok_or_else(|| bad("unknown target kind"))?,
            changes: serde_json::from_str(&self.changes)
                .map_err(|_| bad("changes are not valid JSON"))?,
            request_id: self.request_id,
        })
    }
}
