//! The snapshots of `specs/`, compiled under `deny(warnings)` and exercised by `it/`.
#![deny(warnings)]

/// `specs/petstore.yaml`.
pub mod petstore {
    include!("../snapshots/petstore.rs");
}

/// `specs/edge-names.yaml`.
pub mod edge_names {
    include!("../snapshots/edge_names.rs");
}

/// `specs/keys.yaml`.
pub mod keys {
    include!("../snapshots/keys.rs");
}

pub mod fuzzing;
