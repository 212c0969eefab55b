//! Console sessions in PostgreSQL: the `console_sessions` table (digests only), shared by
//! every instance, so a login made on one works on all and a logout ends it on all.

use tokio_postgres::Row;

use super::PostgresStore;
use crate::keys::clock::UnixSeconds;
use crate::keys::error::StoreError;
use crate::keys::session::{ConsoleSession, SESSIONS_PER_KEY};

const INSERT: &str = "INSERT INTO {s}.console_sessions \
    (id_sha256, key_id, secret_sha256, csrf_sha256, created_at, expires_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";

/// The key's sessions but its newest `$2`, which make room for a new one.
const TRIM: &str = "DELETE FROM {s}.console_sessions WHERE key_id = $1 AND id_sha256 NOT IN \
    (SELECT id_sha256 FROM {s}.console_sessions WHERE key_id = $1 \
     ORDER BY created_at DESC, id_sha256 DESC LIMIT $2)";

const SELECT: &str = "SELECT key_id, secret_sha256, csrf_sha256, created_at, expires_at \
    FROM {s}.console_sessions WHERE id_sha256 = $1 AND expires_at > $2";

impl PostgresStore {
    pub(super) async fn insert_session(&self, session: &ConsoleSession) -> Result<(), StoreError> {
        let s = &*self.shared;
        let keep = i64::try_from(SESSIONS_PER_KEY.saturating_sub(1)).unwrap_or(0);
        s.bounded(async {
            let mut client = s.client().await?;
            let tx = s.begin(&mut client).await?;
            s.execute(
                &tx,
                "DELETE FROM {s}.console_sessions WHERE expires_at <= $1",
                &[&session.created_at],
            )
            .await?;
            s.execute(&tx, TRIM, &[&session.key_id, &keep]).await?;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
                &&session.id_sha256[..],
                &session.key_id,
                &&session.secret_sha256[..],
                &&session.csrf_sha256[..],
                &session.created_at,
                &session.expires_at,
            ];
            s.execute(&tx, INSERT, &params).await?;
            s.commit(tx).await
        })
        .await
    }

    pub(super) async fn select_session(
        &self,
        id_sha256: &[u8; 32],
        now: UnixSeconds,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let s = &*self.shared;
        let row = s
            .bounded(async {
                let client = s.client().await?;
                s.query_opt(&client, SELECT, &[&&id_sha256[..], &now]).await
            })
            .await?;
        row.map(|row| read_session(*id_sha256, &row)).transpose()
    }

    pub(super) async fn remove_session(&self, id_sha256: &[u8; 32]) -> Result<(), StoreError> {
        let s = &*self.shared;
        s.bounded(async {
            let client = s.client().await?;
            s.execute(
                &client,
                "DELETE FROM {s}.console_sessions WHERE id_sha256 = $1",
                &[&&id_sha256[..]],
            )
            .await
        })
        .await
        .map(drop)
    }
}

fn read_session(id_sha256: [u8; 32], row: &Row) -> Result<ConsoleSession, StoreError> {
    let corrupt = |e| StoreError::corrupt("a console session").caused_by(e);
    let digest = |column: usize| -> Result<[u8; 32], StoreError> {
        let bytes: Vec<u8> = row.try_get(column).map_err(corrupt)?;
        <[u8; 32]>::try_from(bytes)
            .map_err(|_| StoreError::corrupt("a console session's digest is not 32 bytes"))
    };
    Ok(ConsoleSession {
        id_sha256,
        key_id: row.try_get(0).map_err(corrupt)?,
        secret_sha256: digest(1)?,
        csrf_sha256: digest(2)?,
        created_at: row.try_get(3).map_err(corrupt)?,
        expires_at: row.try_get(4).map_err(corrupt)?,
    })
}
