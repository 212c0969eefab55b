//! keygate-codegen integration tests: one binary, so linking stays cheap.

mod hostile_specs;
mod load;
mod snapshots;
mod templates;
