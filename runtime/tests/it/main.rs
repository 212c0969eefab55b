//! Integration tests of the key lifecycle (`keygate::keys`).

mod cache;
mod common;
mod concurrency;
mod crash;
mod format;
mod keyring;
mod store_suite;
mod suite;
