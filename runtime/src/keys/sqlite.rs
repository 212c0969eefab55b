//! [`SqliteStore`]: keys in an SQLite file (bundled SQLite, WAL, versioned schema).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{
    params, params_from_iter, Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior,
};

use super::audit::{
    prune_before, Actor, AuditAction, AuditPage, AuditQuery, Draft, DEFAULT_AUDIT_RETENTION,
};
use super::change::{
    check_new, created, secret_hash, KeyChange, KeyChanged, OwnerChange, OwnerChanged, Prepared,
    PreparedOwner,
};
use super::clock::{Clock, SystemClock, UnixSeconds};
use super::error::{AuditTarget, StoreError};
use super::format::KeyFormat;
use super::model::{new_record, IssuedKey, KeyRecord, NewKey, Owner};
use super::names::{sort_names, NameInUse};
use super::page::{KeyPage, KeyQuery, OwnerPage, OwnerQuery, OwnerSummary};
use super::session::ConsoleSession;
use super::sql::{self, Dialect, Param};
use super::store::KeyStore;

#[cfg(test)]
mod plans;
mod rows;
mod schema;
mod sessions;

use rows::{
    name_in_use, raw_entry, raw_key, read_key, read_owner, write_audit, write_key, write_owner,
    AUDIT_COLUMNS,
};
use schema::migrate;

/// How long an operation waits for another connection's lock before giving up: long
/// enough to ride out a concurrent write, short enough that a stuck holder is reported.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const KEY_COLUMNS: &str = "id, name, description, owner, owner_epoch, roles, created_at, \
    expires_at, last_used_at, status, schemes, permissions, secret_sha256, previous_sha256, \
    previous_until, metadata, created_by_kind, created_by";

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
    audit: AuditLog,
}

/// The audit log's retention, and when this handle last pruned it.
#[derive(Clone)]
struct AuditLog {
    keep: Option<Duration>,
    /// Pruning runs in a write's transaction at most once a minute per handle.
    pruned_at: Arc<AtomicI64>,
}

/// Seconds between two prunes of the audit log by one handle.
const PRUNE_EVERY: i64 = 60;

impl AuditLog {
    fn new() -> AuditLog {
        AuditLog {
            keep: Some(DEFAULT_AUDIT_RETENTION),
            pruned_at: Arc::new(AtomicI64::new(i64::MIN)),
        }
    }

    /// Appends `entry`, first removing entries past the retention when it is time to.
    fn append(&self, tx: &Transaction<'_>, entry: &Draft) -> Result<(), StoreError> {
        let last = self.pruned_at.load(Ordering::Relaxed);
        if let Some(before) = prune_before(self.keep, entry.at) {
            if entry.at.saturating_sub(last) >= PRUNE_EVERY {
                tx.execute("DELETE FROM audit WHERE at < ?1", [before])
                    .map_err(db)?;
                self.pruned_at.store(entry.at, Ordering::Relaxed);
            }
        }
        write_audit(tx, entry)
    }
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
        // 32 MiB of pages instead of 2: the key indexes of a million keys stay in memory,
        // so inserts at random ids do not wait on the disk.
        conn.pragma_update(None, "cache_size", -32_768)
            .map_err(db)?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
            format: KeyFormat::default(),
            clock: Arc::new(SystemClock),
            audit: AuditLog::new(),
        })
    }

    /// Keeps audit entries this long (`None`: for ever); older ones are removed by the
    /// writes that follow. Default [`DEFAULT_AUDIT_RETENTION`].
    pub fn with_audit_retention(mut self, keep: Option<Duration>) -> SqliteStore {
        self.audit.keep = keep;
        self
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

    /// Runs `job` in a write transaction, committed when it succeeds.
    async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &AuditLog) -> Result<T, StoreError> + Send + 'static,
    {
        let audit = self.audit.clone();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let out = job(&tx, &audit)?;
            tx.commit().map_err(db)?;
            Ok(out)
        })
        .await
    }
}

/// Rusqlite's value of a built statement's parameter.
fn sql_value(param: Param) -> rusqlite::types::Value {
    match param {
        Param::Text(text) => rusqlite::types::Value::Text(text),
        Param::Int(n) => rusqlite::types::Value::Integer(n),
    }
}

/// Whether the id is taken: by a key, or by a deleted one (never issued again).
fn id_taken(tx: &Transaction<'_>, id: &str) -> Result<bool, StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM keys WHERE id = ?1) \
             OR EXISTS (SELECT 1 FROM deleted_keys WHERE id = ?1)",
        )
        .map_err(db)?;
    stmt.query_row([id], |row| row.get(0)).map_err(db)
}

/// Removes a key for good, leaving its id behind as deleted.
fn delete_key(tx: &Transaction<'_>, id: &str, now: UnixSeconds) -> Result<(), StoreError> {
    tx.execute("DELETE FROM keys WHERE id = ?1", [id])
        .map_err(db)?;
    tx.execute(
        "INSERT OR IGNORE INTO deleted_keys (id, deleted_at) VALUES (?1, ?2)",
        params![id, now],
    )
    .map_err(db)?;
    Ok(())
}

fn count_keys(conn: &Connection, owner: &str) -> Result<u64, StoreError> {
    let n: i64 = conn
        .query_row("SELECT count(*) FROM keys WHERE owner = ?1", [owner], |r| {
            r.get(0)
        })
        .map_err(db)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes an owner and its keys, with an audit entry for each.
fn delete_owner(
    tx: &Transaction<'_>,
    audit: &AuditLog,
    prepared: &PreparedOwner,
) -> Result<OwnerChanged, StoreError> {
    let id = prepared.id();
    let owner = read_owner(tx, id)?.ok_or_else(|| StoreError::OwnerNotFound(id.to_owned()))?;
    let sql = format!("SELECT {KEY_COLUMNS} FROM keys WHERE owner = ?1 ORDER BY id");
    let records = {
        let mut stmt = tx.prepare(&sql).map_err(db)?;
        let rows = stmt.query_map([id], raw_key).map_err(db)?;
        let mut records = Vec::new();
        for row in rows {
            records.push(row.map_err(db)?.check()?);
        }
        records
    };
    for draft in prepared.delete_entries(&owner, &records)? {
        audit.append(tx, &draft)?;
    }
    for record in &records {
        delete_key(tx, &record.id, prepared.now())?;
    }
    tx.execute("DELETE FROM owners WHERE id = ?1", [id])
        .map_err(db)?;
    Ok(OwnerChanged {
        owner: None,
        deleted_keys: records.into_iter().map(|r| r.id).collect(),
    })
}

/// Inserts a new key in `tx`, with its owner if new and its audit entry.
fn insert_new(
    tx: &Transaction<'_>,
    audit: &AuditLog,
    format: &KeyFormat,
    by: &Actor,
    spec: NewKey,
    now: UnixSeconds,
) -> Result<IssuedKey, StoreError> {
    // Ids carry 60 random bits; a collision is astronomically rare, but cheap to avoid,
    // and a deleted id is never issued again.
    let mut generated = format.generate()?;
    while id_taken(tx, &generated.key_id)? {
        generated = format.generate()?;
    }
    let epoch = match &spec.owner {
        Some(id) => match read_owner(tx, id)? {
            Some(owner) => owner.epoch,
            None => {
                write_owner(tx, &Owner::new(id))?;
                0
            }
        },
        None => 0,
    };
    let hash = secret_hash(&generated);
    let record = new_record(spec, generated.key_id, hash, epoch, by, now);
    write_key(tx, &record, false)?;
    let target = AuditTarget::Key(record.id.clone());
    let draft = Draft::new(by, now, AuditAction::Create, target, created(&record));
    audit.append(tx, &draft)?;
    Ok(IssuedKey {
        record,
        key: generated.full,
    })
}

impl KeyStore for SqliteStore {
    async fn create_by(&self, by: &Actor, spec: NewKey) -> Result<IssuedKey, StoreError> {
        check_new(&spec, by)?;
        let now = self.clock.now();
        let format = self.format.clone();
        let by = by.clone();
        self.write(move |tx, audit| insert_new(tx, audit, &format, &by, spec, now))
            .await
    }

    async fn create_many_by(
        &self,
        by: &Actor,
        specs: Vec<NewKey>,
    ) -> Result<Vec<IssuedKey>, StoreError> {
        for spec in &specs {
            check_new(spec, by)?;
        }
        let now = self.clock.now();
        let format = self.format.clone();
        let by = by.clone();
        self.write(move |tx, audit| {
            specs
                .into_iter()
                .map(|spec| insert_new(tx, audit, &format, &by, spec, now))
                .collect()
        })
        .await
    }

    async fn change_key(
        &self,
        by: &Actor,
        id: &str,
        change: KeyChange,
    ) -> Result<KeyChanged, StoreError> {
        let prepared = Prepared::new(change, id, &self.format, by)?;
        let now = self.clock.now();
        let (id, by) = (id.to_owned(), by.clone());
        self.write(move |tx, audit| {
            let mut record = read_key(tx, &id)?.ok_or_else(|| StoreError::NotFound(id.clone()))?;
            let applied = prepared.apply(&mut record, now)?;
            if applied.recorded() {
                let target = AuditTarget::Key(id.clone());
                let draft = Draft::new(&by, now, applied.action, target, applied.changes);
                audit.append(tx, &draft)?;
            }
            let record = if applied.delete {
                delete_key(tx, &id, now)?;
                None
            } else {
                write_key(tx, &record, true)?;
                Some(record)
            };
            Ok(KeyChanged {
                record,
                key: prepared.into_key(),
            })
        })
        .await
    }

    async fn change_owner(
        &self,
        by: &Actor,
        id: &str,
        change: OwnerChange,
    ) -> Result<OwnerChanged, StoreError> {
        let deletes = change.deletes();
        let prepared = PreparedOwner::new(change, id, by, self.clock.now())?;
        self.write(move |tx, audit| {
            if deletes {
                return delete_owner(tx, audit, &prepared);
            }
            let before = read_owner(tx, prepared.id())?;
            let owner = prepared.apply(before.as_ref())?;
            if let Some(draft) = prepared.entry(before.as_ref(), &owner) {
                audit.append(tx, &draft)?;
            }
            write_owner(tx, &owner)?;
            Ok(OwnerChanged {
                owner: Some(owner),
                deleted_keys: Vec::new(),
            })
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        let id = id.to_owned();
        let record = self.run(move |conn| read_key(conn, &id)).await?;
        Ok(record.map(Arc::new))
    }

    async fn list(&self, query: KeyQuery) -> Result<KeyPage, StoreError> {
        let now = self.clock.now();
        self.run(move |conn| {
            let built = sql::key_page(&query, now, Dialect::Sqlite, KEY_COLUMNS, "keys")?;
            let mut stmt = conn.prepare_cached(&built.sql).map_err(db)?;
            let params = params_from_iter(built.params.into_iter().map(sql_value));
            let rows = stmt.query_map(params, raw_key).map_err(db)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row.map_err(db)?.check()?);
            }
            Ok(KeyPage::from_rows(out, query.page_size(), query.order))
        })
        .await
    }

    async fn get_owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| read_owner(conn, &id)).await
    }

    async fn owner_summary(&self, id: &str) -> Result<Option<OwnerSummary>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let Some(owner) = read_owner(conn, &id)? else {
                return Ok(None);
            };
            let keys = count_keys(conn, &id)?;
            Ok(Some(OwnerSummary { owner, keys }))
        })
        .await
    }

    async fn list_owners(&self, query: OwnerQuery) -> Result<OwnerPage, StoreError> {
        self.run(move |conn| {
            let built = sql::owner_page(&query, Dialect::Sqlite, "owners", "keys");
            let mut stmt = conn.prepare_cached(&built.sql).map_err(db)?;
            let params = params_from_iter(built.params.into_iter().map(sql_value));
            let rows = stmt
                .query_map(params, |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })
                .map_err(db)?;
            let mut owners = Vec::new();
            for row in rows {
                let (id, enabled, epoch, keys) = row.map_err(db)?;
                let epoch = u64::try_from(epoch)
                    .map_err(|_| StoreError::corrupt(format!("owner `{id}`: negative epoch")))?;
                owners.push(OwnerSummary {
                    owner: Owner { id, enabled, epoch },
                    keys: u64::try_from(keys).unwrap_or(0),
                });
            }
            Ok(OwnerPage::from_rows(owners, query.page_size()))
        })
        .await
    }

    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        self.run(move |conn| {
            let built = sql::audit_page(&query, Dialect::Sqlite, AUDIT_COLUMNS, "audit");
            let mut stmt = conn.prepare_cached(&built.sql).map_err(db)?;
            let params = params_from_iter(built.params.into_iter().map(sql_value));
            let rows = stmt.query_map(params, raw_entry).map_err(db)?;
            let mut entries = Vec::new();
            for row in rows {
                entries.push(row.map_err(db)?.check()?);
            }
            Ok(AuditPage::from_rows(entries, query.page_size()))
        })
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

    async fn create_session(&self, session: ConsoleSession) -> Result<(), StoreError> {
        self.run(move |conn| sessions::create(conn, &session)).await
    }

    async fn get_session(
        &self,
        id_sha256: &[u8; 32],
        now: UnixSeconds,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let id = *id_sha256;
        self.run(move |conn| sessions::get(conn, &id, now)).await
    }

    async fn delete_session(&self, id_sha256: &[u8; 32]) -> Result<(), StoreError> {
        let id = *id_sha256;
        self.run(move |conn| sessions::delete(conn, &id)).await
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
