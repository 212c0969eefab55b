//! End-to-end tests of generated modules on real axum servers over loopback.

mod apps;
mod oracle;
mod semantics;
mod support;
