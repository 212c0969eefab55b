//! keygate-codegen integration tests: one binary, so linking stays cheap.

// Runs the `keygate` binary, which needs the `cli` feature.
#[cfg(feature = "cli")]
mod check_cli;
mod hostile_specs;
mod load;
// Runs the `keygate` binary, which needs the `cli` feature.
#[cfg(feature = "cli")]
mod keys_cli;
mod snapshots;
mod templates;
