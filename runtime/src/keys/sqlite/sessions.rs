//! Console sessions in SQLite: the `console_sessions` table (digests only).

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::db;
use crate::keys::clock::UnixSeconds;
use crate::keys::error::StoreError;
use crate::keys::session::{ConsoleSession, SESSIONS_PER_KEY};

/// Inserts `session` after removing the expired ones and those of its key past the cap.
pub(super) fn create(conn: &mut Connection, session: &ConsoleSession) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    tx.execute(
        "DELETE FROM console_sessions WHERE expires_at <= ?1",
        [session.created_at],
    )
    .map_err(db)?;
    // Keep the key's newest `SESSIONS_PER_KEY - 1`, making room for this one.
    let keep = i64::try_from(SESSIONS_PER_KEY.saturating_sub(1)).unwrap_or(0);
    tx.execute(
        "DELETE FROM console_sessions WHERE key_id = ?1 AND id_sha256 NOT IN \
         (SELECT id_sha256 FROM console_sessions WHERE key_id = ?1 \
          ORDER BY created_at DESC, id_sha256 DESC LIMIT ?2)",
        params![session.key_id, keep],
    )
    .map_err(db)?;
    tx.execute(
        "INSERT INTO console_sessions \
         (id_sha256, key_id, secret_sha256, csrf_sha256, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            &session.id_sha256[..],
            session.key_id,
            &session.secret_sha256[..],
            &session.csrf_sha256[..],
            session.created_at,
            session.expires_at,
        ],
    )
    .map_err(db)?;
    tx.commit().map_err(db)
}

/// The live session with this digest.
pub(super) fn get(
    conn: &Connection,
    id_sha256: &[u8; 32],
    now: UnixSeconds,
) -> Result<Option<ConsoleSession>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT key_id, secret_sha256, csrf_sha256, created_at, expires_at \
             FROM console_sessions WHERE id_sha256 = ?1 AND expires_at > ?2",
        )
        .map_err(db)?;
    let row = stmt
        .query_row(params![&id_sha256[..], now], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Vec<u8>>(1)?,
                row.get::<_, Vec<u8>>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
            ))
        })
        .optional()
        .map_err(db)?;
    let Some((key_id, secret, csrf, created_at, expires_at)) = row else {
        return Ok(None);
    };
    let digest = |bytes: Vec<u8>| {
        <[u8; 32]>::try_from(bytes)
            .map_err(|_| StoreError::corrupt("a console session's digest is not 32 bytes"))
    };
    Ok(Some(ConsoleSession {
        id_sha256: *id_sha256,
        key_id,
        secret_sha256: digest(secret)?,
        csrf_sha256: digest(csrf)?,
        created_at,
        expires_at,
    }))
}

pub(super) fn delete(conn: &Connection, id_sha256: &[u8; 32]) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM console_sessions WHERE id_sha256 = ?1",
        [&id_sha256[..]],
    )
    .map_err(db)?;
    Ok(())
}
