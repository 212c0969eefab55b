//! End-to-end tests of generated modules on real axum servers over loopback.

mod admin;
mod apps;
mod console;
mod differential;
mod fuzz_seeds;
mod hostile_requests;
mod hygiene;
mod lifecycle;
mod oracle;
mod placement;
mod postgres;
mod routing;
// One case per line reads as a table; rustfmt would spread each over six.
#[rustfmt::skip]
mod semantics;
mod self_service;
mod support;
