//! [`SqliteStore`]: keys in an SQLite file (bundled SQLite, WAL, versioned schema).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Transaction,
    TransactionBehavior,
};
use secrecy::{ExposeSecret, SecretString};

use super::format::KeyFormat;
use super::model::{
    apply_rotation, apply_update, new_record, Clock, IssuedKey, KeyFilter, KeyRecord, KeyStatus,
    KeyUpdate, NewKey, Owner, SecretHashes, StoreError, SystemClock, UnixSeconds,
};
use super::names::{sort_names, NameInUse, NameKind};
use super::store::KeyStore;
use crate::digest::sha256;

/// Schema migrations; migration `i` moves `PRAGMA user_version` from `i` to `i + 1`.
/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &["
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
"];

/// How long an operation waits for another connection's lock before giving up: long
/// enough to ride out a concurrent write, short enough that a stuck holder is reported.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const KEY_COLUMNS: &str = "id, name, description, owner, owner_epoch, roles, created_at, \
    expires_at, last_used_at, status, schemes, permissions, secret_sha256, previous_sha256, \
    previous_until";

/// The names keys not revoked use, counted in one pass over the table without building
/// records or reading hashes: 0 for operations, 1 for schemes.
const NAMES_IN_USE: &str = "\
    SELECT 0, o.key, count(*), min(k.id) \
    FROM keys AS k, json_each(k.permissions, '$.per_operation') AS o \
    WHERE k.status <> 'revoked' GROUP BY o.key \
    UNION ALL \
    SELECT 1, s.value, count(*), min(k.id) \
    FROM keys AS k, json_each(k.schemes) AS s \
    WHERE k.status <> 'revoked' AND k.schemes IS NOT NULL GROUP BY s.value";

/// A [`KeyStore`] in an SQLite file. Operations run on tokio's blocking pool when a
/// runtime is present, inline otherwise.
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    format: KeyFormat,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Maps SQLite errors: unreadable values and files are corruption, everything else
/// unavailability. Lock timeouts and foreign files get plain words, since operators see
/// these messages.
fn db(e: rusqlite::Error) -> StoreError {
    let error = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::unavailable(format!(
                "the database is locked by another process (still busy after {}s)",
                BUSY_TIMEOUT.as_secs()
            ))
        }
        Some(ErrorCode::NotADatabase) => StoreError::corrupt("the file is not an SQLite database"),
        Some(ErrorCode::DatabaseCorrupt) => StoreError::corrupt("the database file is damaged"),
        _ => match e {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => {
                StoreError::corrupt("a stored value cannot be read")
            }
            _ => StoreError::unavailable("SQLite failed"),
        },
    };
    error.caused_by(e)
}

fn corrupt(id: &str, what: &str) -> StoreError {
    StoreError::corrupt(format!("key `{id}`: {what}"))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::corrupt(format!("epoch {value} is out of range")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt("a value as JSON").caused_by(e))
}

impl SqliteStore {
    /// Opens the existing database at `path` and brings its schema up to date. A missing
    /// file is an error ([`StoreError::Config`]), as in the `keygate keys` CLI: an app
    /// started in another directory must not verify against a new, empty database.
    /// Fails on a schema newer than this version knows.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let flags = OpenFlags::default().difference(OpenFlags::SQLITE_OPEN_CREATE);
        SqliteStore::open_with(path.as_ref(), flags)
    }

    /// Like [`SqliteStore::open`], creating the database (and its schema) when the file
    /// does not exist.
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path.as_ref(), OpenFlags::default())
    }

    fn open_with(path: &Path, flags: OpenFlags) -> Result<SqliteStore, StoreError> {
        let path = path.to_path_buf();
        let mut conn = Connection::open_with_flags(&path, flags).map_err(|e| {
            if e.sqlite_error_code() == Some(ErrorCode::CannotOpen) && !path.exists() {
                StoreError::config(format!(
                    "no database at `{}` (create keys with `keygate keys create --db`, or \
                     open it with `SqliteStore::open_or_create`)",
                    path.display()
                ))
            } else {
                StoreError::unavailable(format!("cannot open `{}`", path.display())).caused_by(e)
            }
        })?;
        // First, so that the pragmas and the migration below wait for a lock too.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        // WAL lets readers go on while a writer commits; NORMAL is durable enough in WAL.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
            format: KeyFormat::default(),
            clock: Arc::new(SystemClock),
        })
    }

    /// Issues keys in this format.
    pub fn with_format(mut self, format: KeyFormat) -> SqliteStore {
        self.format = format;
        self
    }

    /// Reads the time from this clock.
    pub fn with_clock(mut self, clock: impl Clock) -> SqliteStore {
        self.clock = Arc::new(clock);
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `job` on the connection, off the async executor when there is one.
    async fn run<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let job = move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::unavailable("sqlite connection lock poisoned"))?;
            job(&mut guard)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(job)
                .await
                .map_err(|e| StoreError::unavailable("the SQLite task failed").caused_by(e))?,
            // No runtime: SQLite on local disk is quick enough to run in place.
            Err(_) => job(),
        }
    }

    /// Reads, changes and writes back one key in a write transaction.
    async fn modify<T, F>(&self, id: &str, change: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut KeyRecord) -> Result<T, StoreError> + Send + 'static,
    {
        let id = id.to_owned();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let mut record = read_key(&tx, &id)?.ok_or_else(|| StoreError::NotFound(id.clone()))?;
            let out = change(&mut record)?;
            write_key(&tx, &record)?;
            tx.commit().map_err(db)?;
            Ok(out)
        })
        .await
    }

    async fn owner_op(
        &self,
        id: &str,
        change: impl FnOnce(&mut Owner) + Send + 'static,
    ) -> Result<Owner, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let mut owner = read_owner(&tx, &id)?.unwrap_or_else(|| Owner::new(&id));
            change(&mut owner);
            write_owner(&tx, &owner)?;
            tx.commit().map_err(db)?;
            Ok(owner)
        })
        .await
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
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

/// A key row as stored, before checking.
struct RawKey {
    id: String,
    name: String,
    description: Option<String>,
    owner: Option<String>,
    owner_epoch: i64,
    roles: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    status: String,
    schemes: Option<String>,
    permissions: String,
    secret_sha256: Vec<u8>,
    previous_sha256: Option<Vec<u8>>,
    previous_until: Option<i64>,
}

fn raw_key(row: &Row<'_>) -> rusqlite::Result<RawKey> {
    Ok(RawKey {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        owner: row.get(3)?,
        owner_epoch: row.get(4)?,
        roles: row.get(5)?,
        created_at: row.get(6)?,
        expires_at: row.get(7)?,
        last_used_at: row.get(8)?,
        status: row.get(9)?,
        schemes: row.get(10)?,
        permissions: row.get(11)?,
        secret_sha256: row.get(12)?,
        previous_sha256: row.get(13)?,
        previous_until: row.get(14)?,
    })
}

impl RawKey {
    fn check(self) -> Result<KeyRecord, StoreError> {
        let id = self.id;
        let hash = |bytes: Vec<u8>| -> Result<[u8; 32], StoreError> {
            bytes
                .try_into()
                .map_err(|_| corrupt(&id, "a secret hash is not 32 bytes"))
        };
        let current = hash(self.secret_sha256)?;
        let previous = match (self.previous_sha256, self.previous_until) {
            (Some(h), Some(until)) => Some((hash(h)?, until)),
            (None, None) => None,
            _ => return Err(corrupt(&id, "half of a previous secret is missing")),
        };
        let json_err = |what: &str| corrupt(&id, &format!("{what} is not valid JSON"));
        Ok(KeyRecord {
            name: self.name,
            description: self.description,
            owner: self.owner,
            owner_epoch: u64::try_from(self.owner_epoch)
                .map_err(|_| corrupt(&id, "negative owner epoch"))?,
            roles: serde_json::from_str(&self.roles).map_err(|_| json_err("roles"))?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            status: KeyStatus::parse(&self.status)
                .ok_or_else(|| corrupt(&id, &format!("unknown status `{}`", self.status)))?,
            schemes: match self.schemes {
                Some(s) => Some(serde_json::from_str(&s).map_err(|_| json_err("schemes"))?),
                None => None,
            },
            permissions: serde_json::from_str(&self.permissions)
                .map_err(|_| json_err("permissions"))?,
            hashes: SecretHashes { current, previous },
            id,
        })
    }
}

fn read_key(conn: &Connection, id: &str) -> Result<Option<KeyRecord>, StoreError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = ?1");
    conn.query_row(&sql, [id], raw_key)
        .optional()
        .map_err(db)?
        .map(RawKey::check)
        .transpose()
}

fn write_key(tx: &Transaction<'_>, r: &KeyRecord) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT OR REPLACE INTO keys ({KEY_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    );
    let schemes = r.schemes.as_ref().map(to_json).transpose()?;
    let (prev_hash, prev_until) = match r.hashes.previous {
        Some((h, until)) => (Some(h.to_vec()), Some(until)),
        None => (None, None),
    };
    tx.execute(
        &sql,
        params![
            r.id,
            r.name,
            r.description,
            r.owner,
            to_i64(r.owner_epoch)?,
            to_json(&r.roles)?,
            r.created_at,
            r.expires_at,
            r.last_used_at,
            r.status.as_str(),
            schemes,
            to_json(&r.permissions)?,
            r.hashes.current.to_vec(),
            prev_hash,
            prev_until,
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn read_owner(conn: &Connection, id: &str) -> Result<Option<Owner>, StoreError> {
    let row = conn
        .query_row(
            "SELECT enabled, epoch FROM owners WHERE id = ?1",
            [id],
            |r| Ok((r.get::<_, bool>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()
        .map_err(db)?;
    row.map(|(enabled, epoch)| {
        Ok(Owner {
            id: id.to_owned(),
            enabled,
            epoch: u64::try_from(epoch)
                .map_err(|_| StoreError::corrupt(format!("owner `{id}`: negative epoch")))?,
        })
    })
    .transpose()
}

fn write_owner(tx: &Transaction<'_>, owner: &Owner) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO owners (id, enabled, epoch) VALUES (?1, ?2, ?3)",
        params![owner.id, owner.enabled, to_i64(owner.epoch)?],
    )
    .map_err(db)?;
    Ok(())
}

impl KeyStore for SqliteStore {
    async fn create(&self, spec: NewKey) -> Result<IssuedKey, StoreError> {
        let now = self.clock.now();
        let format = self.format.clone();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            // Ids carry 60 random bits; a collision is astronomically rare, but cheap to avoid.
            let mut generated = format.generate()?;
            while read_key(&tx, &generated.key_id)?.is_some() {
                generated = format.generate()?;
            }
            let epoch = match &spec.owner {
                Some(id) => match read_owner(&tx, id)? {
                    Some(owner) => owner.epoch,
                    None => {
                        write_owner(&tx, &Owner::new(id))?;
                        0
                    }
                },
                None => 0,
            };
            let hash = sha256(generated.secret.expose_secret());
            let record = new_record(spec, generated.key_id, hash, epoch, now);
            write_key(&tx, &record)?;
            tx.commit().map_err(db)?;
            Ok(IssuedKey {
                record,
                key: generated.full,
            })
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        let id = id.to_owned();
        let record = self.run(move |conn| read_key(conn, &id)).await?;
        Ok(record.map(Arc::new))
    }

    async fn list(&self, filter: KeyFilter) -> Result<Vec<KeyRecord>, StoreError> {
        let now = self.clock.now();
        self.run(move |conn| {
            let sql = format!(
                "SELECT {KEY_COLUMNS} FROM keys WHERE ?1 IS NULL OR owner = ?1 \
                 ORDER BY created_at, id"
            );
            let mut stmt = conn.prepare(&sql).map_err(db)?;
            let rows = stmt
                .query_map([filter.owner.as_deref()], raw_key)
                .map_err(db)?;
            let mut out = Vec::new();
            for row in rows {
                let record = row.map_err(db)?.check()?;
                if filter.matches(&record, now) {
                    out.push(record);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn revoke(&self, id: &str) -> Result<(), StoreError> {
        self.modify(id, |r| {
            r.status = KeyStatus::Revoked;
            Ok(())
        })
        .await
    }

    async fn rotate(&self, id: &str, grace: Duration) -> Result<SecretString, StoreError> {
        let now = self.clock.now();
        let generated = self.format.generate_secret(id)?;
        let hash = sha256(generated.secret.expose_secret());
        self.modify(id, move |r| apply_rotation(r, hash, grace, now))
            .await?;
        Ok(generated.full)
    }

    async fn update(&self, id: &str, change: KeyUpdate) -> Result<KeyRecord, StoreError> {
        self.modify(id, |r| {
            apply_update(r, change);
            Ok(r.clone())
        })
        .await
    }

    async fn get_owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| read_owner(conn, &id)).await
    }

    async fn disable_owner(&self, id: &str) -> Result<Owner, StoreError> {
        self.owner_op(id, |o| o.enabled = false).await
    }

    async fn enable_owner(&self, id: &str) -> Result<Owner, StoreError> {
        self.owner_op(id, |o| o.enabled = true).await
    }

    async fn bump_epoch(&self, id: &str) -> Result<Owner, StoreError> {
        self.owner_op(id, |o| o.epoch = o.epoch.saturating_add(1))
            .await
    }

    async fn record_use(&self, id: &str, at: UnixSeconds) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            // One statement: no read-modify-write, and the time never moves backwards.
            let changed = conn
                .execute(
                    "UPDATE keys SET last_used_at = MAX(COALESCE(last_used_at, ?2), ?2) \
                     WHERE id = ?1",
                    params![id, at],
                )
                .map_err(db)?;
            if changed == 0 {
                return Err(StoreError::NotFound(id));
            }
            Ok(())
        })
        .await
    }

    async fn names_in_use(&self) -> Result<Vec<NameInUse>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare(NAMES_IN_USE).map_err(db)?;
            let rows = stmt.query_map([], name_in_use).map_err(db)?;
            let mut names = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?;
            sort_names(&mut names);
            Ok(names)
        })
        .await
    }
}

fn name_in_use(row: &Row<'_>) -> rusqlite::Result<NameInUse> {
    let kind = match row.get::<_, i64>(0)? {
        0 => NameKind::Operation,
        _ => NameKind::Scheme,
    };
    let keys: i64 = row.get(2)?;
    Ok(NameInUse {
        kind,
        name: row.get(1)?,
        keys: u64::try_from(keys).unwrap_or(0),
        example: row.get(3)?,
    })
}

impl SqliteStore {
    /// SQLite's `data_version`: changes whenever another connection (another process)
    /// commits to the database; this store's own writes leave it alone.
    pub(crate) async fn data_version(&self) -> Result<i64, StoreError> {
        self.run(|conn| {
            conn.pragma_query_value(None, "data_version", |row| row.get(0))
                .map_err(db)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    /// A fresh folder under the system temp dir, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let dir = std::env::temp_dir().join(format!(
                "keygate-sqlite-{name}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).expect("create temp dir");
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn open_refuses_a_missing_file_and_creates_nothing() {
        let dir = Scratch::new("missing");
        let path = dir.0.join("keys.db");
        match SqliteStore::open(&path) {
            Err(StoreError::Config { reason, .. }) => {
                assert!(reason.contains("no database at"), "{reason}");
                assert!(reason.contains("keys.db"), "{reason}");
            }
            other => panic!("expected Config, got {other:?}"),
        }
        assert!(!path.exists(), "open created the file");
        drop(SqliteStore::open_or_create(&path).expect("open creates"));
        assert!(SqliteStore::open(&path).is_ok());
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_corrupt() {
        let dir = Scratch::new("garbage");
        let path = dir.0.join("keys.db");
        std::fs::write(&path, b"this is not a database, just some text ".repeat(40))
            .expect("write");
        for result in [SqliteStore::open_or_create(&path), SqliteStore::open(&path)] {
            match result {
                Err(StoreError::Corrupt { reason, .. }) => {
                    assert!(reason.contains("not an SQLite database"), "{reason}");
                }
                other => panic!("expected Corrupt, got {other:?}"),
            }
        }
    }

    #[test]
    fn opening_and_reading_do_not_wait_for_a_writer() {
        let dir = Scratch::new("writer");
        let path = dir.0.join("keys.db");
        drop(SqliteStore::open_or_create(&path).expect("open"));
        let holder = Connection::open(&path).expect("raw open");
        holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");
        let started = Instant::now();
        let store = SqliteStore::open(&path).expect("open beside a writer");
        let conn = store.conn.lock().expect("connection");
        let found = read_key(&conn, "nosuchkeyid2").expect("read beside a writer");
        assert_eq!(found, None);
        assert!(started.elapsed() < BUSY_TIMEOUT, "waited for the writer");
    }
}
