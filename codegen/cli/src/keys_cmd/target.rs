//! `--db`: an SQLite file or a PostgreSQL URL, opened as the store it names, and shown in
//! messages without its password.

use std::path::PathBuf;

use keygate::keys::{PostgresStore, SqliteStore, StoreError};

/// Where the keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, and the schema of keygate's tables in it.
    Postgres { url: String, schema: String },
}

/// An open store of either kind; each command runs generic over [`KeyStore`]
/// (keygate::keys::KeyStore) on whichever it is.
pub(super) enum Db {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// Why a store could not be opened.
pub(super) enum OpenError {
    /// No SQLite file at the path, and the command does not create one.
    NoDatabase,
    /// The store refused.
    Store(StoreError),
}

impl Target {
    /// `postgres://` and `postgresql://` URLs are PostgreSQL; anything else is a path.
    pub(super) fn new(db: &str, schema: &str) -> Target {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            Target::Postgres {
                url: db.to_owned(),
                schema: schema.to_owned(),
            }
        } else {
            Target::Sqlite(PathBuf::from(db))
        }
    }

    /// Opens the store; only `create` may make a new SQLite file (PostgreSQL tables are
    /// created by the store itself on first use, as the app's are).
    pub(super) async fn open(&self, create: bool) -> Result<Db, OpenError> {
        match self {
            Target::Sqlite(path) if create => Ok(Db::Sqlite(
                SqliteStore::open_or_create(path).map_err(OpenError::Store)?,
            )),
            Target::Sqlite(path) if !path.exists() => Err(OpenError::NoDatabase),
            Target::Sqlite(path) => Ok(Db::Sqlite(
                SqliteStore::open(path).map_err(OpenError::Store)?,
            )),
            Target::Postgres { url, schema } => {
                let store = PostgresStore::builder(url).schema(schema).connect();
                Ok(Db::Postgres(store.await.map_err(OpenError::Store)?))
            }
        }
    }

    /// The target as messages show it: a PostgreSQL URL keeps its user, host, port and
    /// database, never its password or parameters.
    pub(super) fn shown(&self) -> String {
        match self {
            Target::Sqlite(path) => path.display().to_string(),
            Target::Postgres { url, schema } => {
                format!("{} (schema {schema})", without_secrets(url))
            }
        }
    }
}

/// `postgres://user:password@host/db?password=..` as `postgres://user@host/db`.
fn without_secrets(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_the_rest_are_files() {
        assert_eq!(
            Target::new("keys.db", "keygate"),
            Target::Sqlite(PathBuf::from("keys.db"))
        );
        assert!(matches!(
            Target::new("postgresql://h/d", "s"),
            Target::Postgres { .. }
        ));
        assert!(matches!(
            Target::new("./postgres:/x", "s"),
            Target::Sqlite(_)
        ));
    }

    #[test]
    fn shown_urls_hold_no_password() {
        for (url, shown) in [
            (
                "postgres://keygate:s3cret@127.0.0.1:5432/keys",
                "postgres://keygate@127.0.0.1:5432/keys",
            ),
            (
                "postgresql://u:p@ss@host/db?password=s3cret&sslmode=require",
                "postgresql://u@host/db",
            ),
            ("postgres://host", "postgres://host"),
            ("postgres://u@host/db#s3cret", "postgres://u@host/db"),
        ] {
            let target = Target::new(url, "keygate");
            assert_eq!(target.shown(), format!("{shown} (schema keygate)"));
            assert!(!target.shown().contains("s3cret"), "{url}");
        }
    }
}
