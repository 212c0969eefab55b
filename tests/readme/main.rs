//! Every ```rust block of README.md outside the Quickstart compiles (the Quickstart is
//! built as an app of its own by `.ci/scratch_app.py`). `build.rs` wraps each block in an
//! async function whose preamble gives it the names the prose around it assumes; a block
//! that does not compile fails this test's build, with its README line in the generated
//! module's name (`readme_line_N`).

/// The names the README's fragments use without defining them.
mod harness {
    pub(crate) use axum::routing::get;
    /// An app's router, whose state type serving would fix.
    pub(crate) type Router = axum::Router<()>;
    /// The module the README's fragments call `api`: the one generated from
    /// `specs/petstore.yaml`, as in the example.
    pub(crate) use keygate_tests::petstore as api;

    pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

    /// A handler of `listPets`.
    pub(crate) async fn list_pets(_auth: api::ListPets) -> &'static str {
        "pets"
    }

    /// A handler of `getStats`.
    pub(crate) async fn stats(_auth: api::GetStats) -> &'static str {
        "stats"
    }

    /// The values the fragments take as given: a verifier, a router (or the routes to
    /// nest) and a listener.
    pub(crate) async fn names(
    ) -> Result<(keygate::StaticKeys, Router, Router, tokio::net::TcpListener), BoxError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Ok((
            keygate::StaticKeys::new(),
            Router::new(),
            Router::new(),
            listener,
        ))
    }
}

include!(concat!(env!("OUT_DIR"), "/readme_blocks.rs"));

#[test]
fn readme_blocks_compile() {
    // Fewer would mean the extraction lost some (or README.md was not found).
    assert!(BLOCKS.len() >= 8, "README.md blocks found: {BLOCKS:?}");
    for (line, heading) in BLOCKS {
        println!("README.md line {line} ({heading}): compiles");
    }
}
