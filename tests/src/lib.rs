//! The snapshots of `specs/`, compiled under `deny(warnings)` and exercised by `it/`; the
//! fuzz targets' bodies; and the helpers runtime's and codegen's tests and the bench
//! share (one copy each instead of one per crate).
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

mod corpus;
mod counting_store;
mod forward_store;
pub mod fuzzing;
mod postgres_url;
pub mod routing_reference;
mod temp_dir;

pub use corpus::corpus_dir;
pub use counting_store::CountingStore;
/// Polls a future to completion on this thread, without a tokio runtime: for futures
/// that never wait on I/O (static keys, the in-memory and SQLite stores run inline).
pub use pollster::block_on;
pub use postgres_url::postgres_url;
pub use temp_dir::TempDir;

/// Each scheme alone, `[[SchemeUse { scheme: i, roles: &[] }]; N]`: for tables that give
/// every scheme an alternative of its own.
pub(crate) const fn each_scheme_alone<const N: usize>() -> [[keygate::spec::SchemeUse; 1]; N] {
    let mut uses = [[keygate::spec::SchemeUse {
        scheme: 0,
        roles: &[],
    }]; N];
    let mut scheme = 0;
    while scheme < N {
        uses[scheme][0].scheme = scheme;
        scheme += 1;
    }
    uses
}
