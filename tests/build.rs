//! Tells whoever builds the tests when the PostgreSQL tests will not run, and how to run
//! them.

fn main() {
    println!("cargo:rerun-if-env-changed=KEYGATE_TEST_DATABASE_URL");
    println!("cargo:rerun-if-env-changed=KEYGATE_REQUIRE_POSTGRES");
    let set = std::env::var("KEYGATE_TEST_DATABASE_URL").is_ok_and(|url| !url.trim().is_empty());
    if !set {
        println!(
            "cargo:warning=PostgreSQL tests are skipped: KEYGATE_TEST_DATABASE_URL is not set; \
             run: export KEYGATE_TEST_DATABASE_URL=$(.ci/postgres.sh)"
        );
    }
}
