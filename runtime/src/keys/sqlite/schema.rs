//! The SQLite schema and its migrations (`PRAGMA user_version`).

use rusqlite::{Connection, TransactionBehavior};

use super::db;
use crate::keys::error::StoreError;

/// Schema migrations; migration `i` moves `PRAGMA user_version` from `i` to `i + 1`.
/// Append only: never edit a migration that has shipped.
pub(super) const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE owners (
        id      TEXT PRIMARY KEY NOT NULL,
        enabled INTEGER NOT NULL,
        epoch   INTEGER NOT NULL
    );
    CREATE TABLE keys (
        id              TEXT PRIMARY KEY NOT NULL,
        name            TEXT NOT NULL,
        description     TEXT,
        owner           TEXT,
        owner_epoch     INTEGER NOT NULL,
        roles           TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        expires_at      INTEGER,
        last_used_at    INTEGER,
        status          TEXT NOT NULL,
        schemes         TEXT,
        permissions     TEXT NOT NULL,
        secret_sha256   BLOB NOT NULL,
        previous_sha256 BLOB,
        previous_until  INTEGER
    );
    CREATE INDEX keys_owner ON keys (owner);
",
    // The lifecycle: metadata, deleted ids never reused, list pages served by indexes,
    // and the audit log (append-only: keygate only prunes by age).
    "
    ALTER TABLE keys ADD COLUMN metadata TEXT;
    CREATE TABLE deleted_keys (
        id         TEXT PRIMARY KEY NOT NULL,
        deleted_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER keys_never_reuse BEFORE INSERT ON keys
        WHEN EXISTS (SELECT 1 FROM deleted_keys WHERE id = NEW.id)
    BEGIN
        SELECT RAISE(ABORT, 'this key id was deleted and is never issued again');
    END;
    DROP INDEX keys_owner;
    CREATE INDEX keys_by_created ON keys (created_at, id);
    CREATE INDEX keys_by_owner ON keys (owner, created_at, id);
    CREATE INDEX keys_by_status ON keys (status, created_at, id);
    CREATE INDEX keys_by_name ON keys (name, created_at, id);
    CREATE INDEX keys_by_expiry ON keys (expires_at, created_at, id) WHERE expires_at IS NOT NULL;
    CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          INTEGER NOT NULL,
        actor_kind  TEXT NOT NULL,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        target_kind TEXT NOT NULL,
        target      TEXT NOT NULL,
        changes     TEXT NOT NULL,
        request_id  TEXT
    );
    CREATE INDEX audit_by_target ON audit (target, seq);
    CREATE INDEX audit_by_actor ON audit (actor, seq);
    CREATE INDEX audit_by_time ON audit (at);
    CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'audit entries are never changed');
    END;
",
    // Who created each key, as its audit entry names it: filled from the creation entry
    // for keys made before; those whose entry was pruned stay NULL (unknown).
    "
    ALTER TABLE keys ADD COLUMN created_by_kind TEXT;
    ALTER TABLE keys ADD COLUMN created_by TEXT;
    UPDATE keys SET (created_by_kind, created_by) = (
        SELECT actor_kind, actor FROM audit
        WHERE audit.target = keys.id AND audit.target_kind = 'key' AND audit.action = 'create'
        ORDER BY audit.seq LIMIT 1
    );
",
    // Web console sessions of admin keys, shared by every process on the file and kept
    // across restarts: digests only (of the cookie, the CSRF token, the key's secret).
    "
    CREATE TABLE console_sessions (
        id_sha256     BLOB PRIMARY KEY NOT NULL,
        key_id        TEXT NOT NULL,
        secret_sha256 BLOB NOT NULL,
        csrf_sha256   BLOB NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX console_sessions_by_key ON console_sessions (key_id, created_at);
    CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
",
];

pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // An up-to-date schema needs no write lock: opening must not wait for a writer.
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    if usize::try_from(version).is_ok_and(|v| v == MIGRATIONS.len()) {
        return Ok(());
    }
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        // Read inside the write lock, so two processes opening at once migrate once.
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        let version = usize::try_from(version)
            .map_err(|_| StoreError::corrupt(format!("negative schema version {version}")))?;
        let Some(sql) = MIGRATIONS.get(version) else {
            if version > MIGRATIONS.len() {
                return Err(StoreError::NewerSchema {
                    found: version,
                    supported: MIGRATIONS.len(),
                });
            }
            return Ok(());
        };
        tx.execute_batch(sql).map_err(db)?;
        let next = i64::try_from(version + 1).unwrap_or(i64::MAX);
        tx.pragma_update(None, "user_version", next).map_err(db)?;
        tx.commit().map_err(db)?;
    }
}
