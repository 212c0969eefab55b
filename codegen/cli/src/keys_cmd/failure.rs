//! Why a `keygate keys` command failed, and how that is told: the message on stderr and
//! the exit code.

use std::process::ExitCode;

use keygate::keys::StoreError;

use super::target::OpenError;

/// Why a command failed.
pub(super) enum Failure {
    /// The store refused; shown after the database path.
    Store(StoreError),
    /// A read or change on a path with no database.
    NoDatabase,
    /// A mistake in the arguments that clap cannot see (exit 2).
    Usage(String),
    /// Anything else.
    Other(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

impl From<OpenError> for Failure {
    fn from(e: OpenError) -> Failure {
        match e {
            OpenError::NoDatabase => Failure::NoDatabase,
            OpenError::Store(e) => Failure::Store(e),
        }
    }
}

impl Failure {
    /// Prints the failure on stderr, naming the database `db` (shown without a password),
    /// and answers the exit code.
    pub(super) fn report(self, db: &str) -> ExitCode {
        match self {
            Failure::Store(e) => {
                // The store's message, then what caused it.
                let mut message = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(next) = cause {
                    message = format!("{message}: {next}");
                    cause = next.source();
                }
                eprintln!("keygate: {db}: {message}");
                ExitCode::FAILURE
            }
            Failure::NoDatabase => {
                eprintln!(
                    "keygate: no database exists at {db}; create one with \
                     `keygate keys --db {db} create --name NAME`"
                );
                ExitCode::FAILURE
            }
            Failure::Usage(message) => {
                eprintln!("keygate: {message}");
                ExitCode::from(2)
            }
            Failure::Other(message) => {
                eprintln!("keygate: {message}");
                ExitCode::FAILURE
            }
        }
    }
}
