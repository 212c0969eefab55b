//! End-to-end tests of generated modules on real axum servers over loopback.
