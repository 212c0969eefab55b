//! The `build.rs` door: `Builder::new().spec("openapi.yaml").generate()`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::check::{check, locate, Severity};
use crate::error::Error;
use crate::templates::Templates;

/// Generates modules into `OUT_DIR` from `build.rs`.
///
/// ```no_run
/// // in build.rs, inside `fn main()`:
/// keygate_codegen::Builder::new()
///     .spec("openapi.yaml")
///     .generate()
///     .unwrap_or_else(|e| panic!("{e}"));
/// ```
/// and in the crate: `mod api { keygate::include_generated!("openapi"); }`, which is
/// `include!(concat!(env!("OUT_DIR"), "/openapi.rs"))`: the module of `specs/x.v2.yaml`
/// is `x.v2.rs`, named by the spec's file name without its extension, as it is.
///
/// `keygate check`'s warnings about a document are printed as `cargo:warning=` lines
/// (errors with [`Builder::deny_warnings`]).
#[derive(Debug, Clone)]
pub struct Builder {
    specs: Vec<PathBuf>,
    out_dir: Option<PathBuf>,
    templates: Option<PathBuf>,
    cargo_output: bool,
    deny_warnings: bool,
}

/// The same as [`Builder::new`].
impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A builder that prints `cargo:rerun-if-changed` lines (set off with
    /// [`Builder::cargo_output`] outside build scripts).
    pub fn new() -> Builder {
        Builder {
            specs: Vec::new(),
            out_dir: None,
            templates: None,
            cargo_output: true,
            deny_warnings: false,
        }
    }

    /// Adds a document; its module is written as `<file stem>.rs`, the stem as it is
    /// (`n-auth.com__main__2.2.yaml` gives `n-auth.com__main__2.2.rs`).
    pub fn spec(mut self, path: impl AsRef<Path>) -> Builder {
        self.specs.push(path.as_ref().to_owned());
        self
    }

    /// Writes into this directory instead of `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Builder {
        self.out_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Overrides built-in templates with the files of this directory.
    pub fn templates(mut self, dir: impl AsRef<Path>) -> Builder {
        self.templates = Some(dir.as_ref().to_owned());
        self
    }

    /// Whether to print `cargo:` lines: `rerun-if-changed`, and `warning` for what
    /// `keygate check` warns about (default: yes).
    pub fn cargo_output(mut self, on: bool) -> Builder {
        self.cargo_output = on;
        self
    }

    /// Fails the build on any of `keygate check`'s warnings about a document, instead of
    /// printing them (default: no).
    pub fn deny_warnings(mut self, on: bool) -> Builder {
        self.deny_warnings = on;
        self
    }

    /// Generates every module. Returns the paths of the modules.
    ///
    /// # Errors
    ///
    /// A document or template that cannot be read or generated, an output that cannot be
    /// written, or with [`Builder::deny_warnings`] a document `keygate check` warns about.
    pub fn generate(&self) -> Result<Vec<PathBuf>, Error> {
        self.generate_to(&mut std::io::stdout().lock())
    }

    /// [`Builder::generate`], its `cargo:` lines written to `out`.
    fn generate_to(&self, out: &mut dyn Write) -> Result<Vec<PathBuf>, Error> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Error::file(
                        "OUT_DIR",
                        "is not set: call generate() from build.rs, or set Builder::out_dir",
                    )
                })?,
        };
        let templates = match &self.templates {
            Some(dir) => {
                self.cargo_line(out, &format!("rerun-if-changed={}", dir.display()));
                Templates::from_dir(dir)?
            }
            None => Templates::builtin(),
        };
        let mut written = Vec::new();
        for spec in &self.specs {
            self.cargo_line(out, &format!("rerun-if-changed={}", spec.display()));
            let api = crate::load::load_file(spec)?;
            let shown = spec.display().to_string();
            let mut diagnostics = check(&api);
            // Only a document with diagnostics is read again, for their lines.
            if !diagnostics.is_empty() {
                if let Ok(text) = std::fs::read_to_string(spec) {
                    locate(&mut diagnostics, &text);
                }
            }
            for diagnostic in diagnostics {
                let place = match diagnostic.line {
                    Some(line) => format!("{shown}:{line}"),
                    None => shown.clone(),
                };
                if self.deny_warnings || diagnostic.severity == Severity::Error {
                    let message = format!("{} (Builder::deny_warnings)", diagnostic.message);
                    return Err(Error {
                        line: diagnostic.line,
                        column: diagnostic.column,
                        ..Error::at(&shown, diagnostic.pointer, message)
                    });
                }
                // One line each: cargo shows a `cargo:warning` line by line.
                let line = diagnostic.to_string().replace(['\r', '\n'], " ");
                self.cargo_line(out, &format!("warning=keygate: {place}: {line}"));
            }
            let module = crate::generate_module(&api, &templates)?;
            let target = out_dir.join(format!("{}.rs", module_file_stem(spec)));
            write_if_changed(&target, &module)?;
            written.push(target);
        }
        Ok(written)
    }

    fn cargo_line(&self, out: &mut dyn Write, line: &str) {
        if self.cargo_output {
            // A build script whose stdout is gone has no one to tell.
            let _ = writeln!(out, "cargo:{line}");
        }
    }
}

/// The spec's file name without its extension, as it is: what `include_generated!`
/// is given. `spec` when the path has no file name.
fn module_file_stem(spec: &Path) -> String {
    match spec.file_stem() {
        Some(stem) if !stem.is_empty() => stem.to_string_lossy().into_owned(),
        _ => "spec".to_owned(),
    }
}

/// Writes only when the bytes differ, so an unchanged spec never triggers a rebuild.
pub fn write_if_changed(path: &Path, content: &str) -> Result<bool, Error> {
    let shown = path.display().to_string();
    if std::fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(false);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(&shown, "cannot create directory", e))?;
    }
    std::fs::write(path, content).map_err(|e| Error::io(&shown, "cannot write", e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Builder::default()` is `Builder::new()`: it prints `cargo:` lines too.
    #[test]
    fn default_is_new() {
        let (default, new) = (Builder::default(), Builder::new());
        assert!(default.cargo_output && new.cargo_output);
        assert_eq!(format!("{default:?}"), format!("{new:?}"));
    }

    #[test]
    fn file_stems_are_kept_as_they_are() {
        assert_eq!(module_file_stem(Path::new("specs/openapi.yaml")), "openapi");
        assert_eq!(
            module_file_stem(Path::new("pet-store.v2.json")),
            "pet-store.v2"
        );
        assert_eq!(
            module_file_stem(Path::new("n-auth.com__main__2.2.yaml")),
            "n-auth.com__main__2.2"
        );
    }

    /// A real file name with dots and dashes, and a key in the query string.
    #[test]
    fn modules_keep_the_stem_and_check_warnings_reach_cargo() {
        let dir = std::env::temp_dir().join(format!("keygate-builder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let spec = dir.join("n-auth.com__main__2.2.yaml");
        let doc = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n\
                   components:\n  securitySchemes:\n    \
                   q: {type: apiKey, in: query, name: api_key}\n\
                   security: [{q: []}]\npaths:\n  /a:\n    get: {operationId: getA}\n";
        std::fs::write(&spec, doc).expect("write spec");
        let builder = Builder::new().spec(&spec).out_dir(&dir);

        let mut out = Vec::new();
        let written = builder.generate_to(&mut out).expect("generates");
        assert_eq!(written, [dir.join("n-auth.com__main__2.2.rs")]);
        assert!(written[0].is_file());
        let out = String::from_utf8(out).expect("utf-8");
        assert!(out.contains("cargo:rerun-if-changed="), "{out}");
        let warning = out
            .lines()
            .find(|l| l.starts_with("cargo:warning=keygate: "))
            .unwrap_or_else(|| panic!("no warning line: {out}"));
        assert!(warning.contains("[query-key]"), "{warning}");
        // The scheme `q` is defined on line 5.
        assert!(
            warning.contains("n-auth.com__main__2.2.yaml:5: "),
            "{warning}"
        );

        let denied = builder
            .clone()
            .deny_warnings(true)
            .generate_to(&mut Vec::new());
        let denied = denied.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            denied.contains("deny_warnings") && denied.contains("query"),
            "{denied}"
        );
        assert!(
            denied.contains("n-auth.com__main__2.2.yaml:5:5: at "),
            "{denied}"
        );

        let mut quiet = Vec::new();
        let quiet_builder = builder.cargo_output(false);
        quiet_builder.generate_to(&mut quiet).expect("generates");
        assert!(quiet.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn output_is_written_only_when_changed() {
        let dir = std::env::temp_dir().join(format!("keygate-write-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("deep/er/api.rs");
        let result = write_if_changed(&file, "one");
        assert_eq!(result.ok(), Some(true));
        assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), Some("one"));
        let before = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
        assert_eq!(write_if_changed(&file, "one").ok(), Some(false));
        let after = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
        assert_eq!(before, after);
        assert_eq!(write_if_changed(&file, "two").ok(), Some(true));
        assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), Some("two"));
        // A folder where the file should be: a clear error naming it, no panic.
        let error = write_if_changed(&dir.join("deep"), "x")
            .err()
            .map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("deep: cannot write")),
            "{error:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
