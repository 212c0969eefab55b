//! Tells whoever builds the tests when the PostgreSQL tests will not run, and how to run
//! them; and writes the README's Rust blocks, each in its harness, for `readme/main.rs`.

use std::fmt::Write as _;
use std::path::Path;

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
    readme_blocks();
}

/// The section whose blocks `.ci/scratch_app.py` builds as an app of their own.
const QUICKSTART: &str = "## Quickstart";

/// Writes `$OUT_DIR/readme_blocks.rs`: every ```rust block of the repository's README.md
/// outside the Quickstart, as the body of an async function whose preamble defines the
/// names the prose around the blocks assumes (`keys`, `router`, `routes`, `listener`, `MyStore`;
/// `api`, `list_pets` and the rest come from the test's `harness` module).
fn readme_blocks() {
    let readme = Path::new("../README.md");
    println!("cargo:rerun-if-changed={}", readme.display());
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("readme_blocks.rs");
    // Packaged alone (`cargo package`), the crate has no README beside it and builds no
    // test; the test fails on an empty list in the workspace.
    let text = std::fs::read_to_string(readme).unwrap_or_default();
    let mut code = String::new();
    let mut list = String::new();
    let (mut section, mut heading) = (String::new(), String::new());
    let mut block: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        match &mut block {
            None if line.starts_with("## ") => {
                section = line.to_owned();
                heading = line.trim_start_matches('#').trim().to_owned();
            }
            None if line.starts_with("### ") => {
                heading = line.trim_start_matches('#').trim().to_owned();
            }
            None if line.trim_end() == "```rust" && section != QUICKSTART => {
                block = Some((number + 1, String::new()));
            }
            Some((start, body)) if line.starts_with("```") => {
                let _ = writeln!(list, "    ({start}, {heading:?}),");
                let _ = write!(
                    code,
                    "/// README.md line {start}, under \"{heading}\".\n\
                     mod readme_line_{start} {{\n\
                     #![allow(unused, clippy::all)]\n\
                     use super::harness::*;\n\
                     pub(super) async fn block() -> Result<(), BoxError> {{\n\
                     let (keys, router, routes, listener) = names().await?;\n\
                     struct MyStore; // the app's own store, in \"Your own verifier\"\n\
                     // README.md line {start}\n\
                     {body}\
                     #[allow(unreachable_code)]\n\
                     Ok(())\n\
                     }}\n\
                     }}\n\n"
                );
                block = None;
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    let generated = format!(
        "/// Each block's first line in README.md and the heading it is under.\n\
         pub(crate) const BLOCKS: &[(usize, &str)] = &[\n{list}];\n\n{code}"
    );
    if std::fs::read_to_string(&out).ok().as_deref() != Some(generated.as_str()) {
        std::fs::write(&out, generated).expect("write $OUT_DIR/readme_blocks.rs");
    }
}
