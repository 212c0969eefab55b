//! The PostgreSQL schema: its migrations, applied in order under an advisory lock.

use super::shared::{pg, Shared};
use crate::digest::sha256;
use crate::keys::error::StoreError;

/// Schema migrations; migration `i` takes the schema from version `i` to `i + 1`. `{s}`
/// stands for the quoted schema name. Append only: never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE {s}.owners (
        id      text COLLATE \"C\" PRIMARY KEY,
        enabled boolean NOT NULL,
        epoch   bigint NOT NULL CHECK (epoch >= 0)
    );
    CREATE TABLE {s}.keys (
        id              text COLLATE \"C\" PRIMARY KEY,
        name            text NOT NULL,
        description     text,
        owner           text COLLATE \"C\",
        owner_epoch     bigint NOT NULL CHECK (owner_epoch >= 0),
        roles           jsonb NOT NULL,
        created_at      bigint NOT NULL,
        expires_at      bigint,
        last_used_at    bigint,
        status          text NOT NULL CHECK (status IN ('active', 'revoked')),
        schemes         jsonb,
        permissions     jsonb NOT NULL,
        secret_sha256   bytea NOT NULL,
        previous_sha256 bytea,
        previous_until  bigint,
        CHECK ((previous_sha256 IS NULL) = (previous_until IS NULL))
    );
    CREATE INDEX keys_owner ON {s}.keys (owner);
",
    // The lifecycle: disabled keys, metadata, deleted ids never reused, list pages served
    // by indexes, and the audit log (append-only: keygate only prunes by age).
    "
    ALTER TABLE {s}.keys ADD COLUMN metadata jsonb;
    ALTER TABLE {s}.keys DROP CONSTRAINT keys_status_check;
    ALTER TABLE {s}.keys ADD CONSTRAINT keys_status_check
        CHECK (status IN ('active', 'revoked', 'disabled'));
    CREATE TABLE {s}.deleted_keys (
        id         text COLLATE \"C\" PRIMARY KEY,
        deleted_at bigint NOT NULL
    );
    CREATE FUNCTION {s}.keys_never_reuse() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        IF EXISTS (SELECT 1 FROM {s}.deleted_keys WHERE id = NEW.id) THEN
            RAISE EXCEPTION 'this key id was deleted and is never issued again'
                USING ERRCODE = 'unique_violation';
        END IF;
        RETURN NEW;
    END $f$;
    CREATE TRIGGER keys_never_reuse BEFORE INSERT ON {s}.keys
        FOR EACH ROW EXECUTE FUNCTION {s}.keys_never_reuse();
    DROP INDEX {s}.keys_owner;
    CREATE INDEX keys_by_created ON {s}.keys (created_at, id);
    CREATE INDEX keys_by_owner ON {s}.keys (owner, created_at, id);
    CREATE INDEX keys_by_status ON {s}.keys (status, created_at, id);
    CREATE INDEX keys_by_name ON {s}.keys (name, created_at, id);
    CREATE INDEX keys_by_expiry ON {s}.keys (expires_at, created_at, id)
        WHERE expires_at IS NOT NULL;
    CREATE TABLE {s}.audit (
        seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at          bigint NOT NULL,
        actor_kind  text NOT NULL,
        actor       text COLLATE \"C\" NOT NULL,
        action      text NOT NULL,
        target_kind text NOT NULL,
        target      text COLLATE \"C\" NOT NULL,
        changes     jsonb NOT NULL,
        request_id  text
    );
    CREATE INDEX audit_by_target ON {s}.audit (target, seq);
    CREATE INDEX audit_by_actor ON {s}.audit (actor, seq);
    CREATE INDEX audit_by_time ON {s}.audit (at);
    CREATE FUNCTION {s}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        RAISE EXCEPTION 'audit entries are never changed';
    END $f$;
    CREATE TRIGGER audit_append_only BEFORE UPDATE ON {s}.audit
        FOR EACH ROW EXECUTE FUNCTION {s}.audit_append_only();
",
    // Who created each key, as its audit entry names it: filled from the creation entry
    // for keys made before; those whose entry was pruned stay NULL (unknown).
    "
    ALTER TABLE {s}.keys ADD COLUMN created_by_kind text, ADD COLUMN created_by text,
        ADD CONSTRAINT keys_created_by_check
            CHECK ((created_by_kind IS NULL) = (created_by IS NULL));
    UPDATE {s}.keys AS k SET created_by_kind = a.actor_kind, created_by = a.actor
        FROM (SELECT DISTINCT ON (target) target, actor_kind, actor FROM {s}.audit
              WHERE target_kind = 'key' AND action = 'create' ORDER BY target, seq) AS a
        WHERE a.target = k.id;
",
    // Web console sessions of admin keys, shared by every instance and kept across
    // restarts: digests only (of the cookie, the CSRF token, the key's secret).
    "
    CREATE TABLE {s}.console_sessions (
        id_sha256     bytea PRIMARY KEY CHECK (octet_length(id_sha256) = 32),
        key_id        text COLLATE \"C\" NOT NULL,
        secret_sha256 bytea NOT NULL CHECK (octet_length(secret_sha256) = 32),
        csrf_sha256   bytea NOT NULL CHECK (octet_length(csrf_sha256) = 32),
        created_at    bigint NOT NULL,
        expires_at    bigint NOT NULL
    );
    CREATE INDEX console_sessions_by_key ON {s}.console_sessions (key_id, created_at);
    CREATE INDEX console_sessions_by_expiry ON {s}.console_sessions (expires_at);
",
];

/// Hashed with the schema name into the advisory lock that its migrations take.
const MIGRATION_LOCK: &str = "keygate migrations";

impl Shared {
    pub(super) async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        // One migrator per schema at a time: instances starting together wait here.
        let lock = advisory_key(MIGRATION_LOCK, &self.schema);
        self.execute(&tx, "SELECT pg_advisory_xact_lock($1)", &[&lock])
            .await?;
        self.count();
        tx.batch_execute(&self.sql(
            "CREATE SCHEMA IF NOT EXISTS {s}; \
             CREATE TABLE IF NOT EXISTS {s}.keygate_migrations (\
                 version integer PRIMARY KEY, \
                 applied_at timestamptz NOT NULL DEFAULT now())",
        ))
        .await
        .map_err(pg)?;
        let row = self
            .query_opt(
                &tx,
                "SELECT COALESCE(max(version), 0) FROM {s}.keygate_migrations",
                &[],
            )
            .await?;
        let version: i32 = row.map_or(Ok(0), |r| r.try_get(0)).map_err(pg)?;
        let known = MIGRATIONS.len();
        let version = usize::try_from(version)
            .map_err(|_| StoreError::corrupt(format!("negative schema version {version}")))?;
        if version > known {
            return Err(StoreError::NewerSchema {
                found: version,
                supported: known,
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            self.count();
            tx.batch_execute(&self.sql(sql)).await.map_err(pg)?;
            let next = i32::try_from(index + 1).unwrap_or(i32::MAX);
            self.execute(
                &tx,
                "INSERT INTO {s}.keygate_migrations (version) VALUES ($1)",
                &[&next],
            )
            .await?;
        }
        self.commit(tx).await
    }
}

/// The advisory lock named `what` of a schema: stable across versions and processes.
pub(super) fn advisory_key(what: &str, schema: &str) -> i64 {
    let digest = sha256(&format!("{what}:{schema}"));
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}
