//! keygate-codegen integration tests: one binary, so linking stays cheap.

mod snapshots;
mod templates;
