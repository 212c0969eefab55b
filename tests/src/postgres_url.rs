//! The PostgreSQL server the tests use, shared by the runtime's tests and the CLI's.

/// The server's URL (`KEYGATE_TEST_DATABASE_URL`); `None`, with a note, when there is
/// none and none is required. With `KEYGATE_REQUIRE_POSTGRES=1` (as in CI) a missing URL
/// fails the test instead of skipping it.
pub fn postgres_url() -> Option<String> {
    match std::env::var("KEYGATE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var("KEYGATE_REQUIRE_POSTGRES").as_deref() == Ok("1") => panic!(
            "KEYGATE_REQUIRE_POSTGRES=1 but KEYGATE_TEST_DATABASE_URL is not set; start a \
             server and export its URL: export KEYGATE_TEST_DATABASE_URL=$(.ci/postgres.sh)"
        ),
        _ => {
            eprintln!(
                "PostgreSQL test skipped: KEYGATE_TEST_DATABASE_URL is not set; run: \
                 export KEYGATE_TEST_DATABASE_URL=$(.ci/postgres.sh)"
            );
            None
        }
    }
}
