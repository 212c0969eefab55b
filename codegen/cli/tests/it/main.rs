//! keygate-cli integration tests: the real `keygate` binary, one test binary.

mod check_cli;
mod keys_cli;
mod keys_postgres;
