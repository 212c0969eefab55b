//! Integration tests of the key lifecycle (`keygate::keys`).

mod common;
mod format;
mod keyring;
mod store_suite;
