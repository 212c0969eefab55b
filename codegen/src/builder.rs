//! The `build.rs` door: `Builder::new().spec("openapi.yaml").generate()`.

use std::path::{Path, PathBuf};

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
/// `include!(concat!(env!("OUT_DIR"), "/openapi.rs"))`.
#[derive(Debug, Clone)]
pub struct Builder {
    specs: Vec<PathBuf>,
    out_dir: Option<PathBuf>,
    templates: Option<PathBuf>,
    cargo_output: bool,
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
        }
    }

    /// Adds a document; its module is written as `<file stem>.rs`.
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

    /// Whether to print `cargo:rerun-if-changed` lines (default: yes).
    pub fn cargo_output(mut self, on: bool) -> Builder {
        self.cargo_output = on;
        self
    }

    /// Generates every module. Returns the paths of the modules.
    pub fn generate(&self) -> Result<Vec<PathBuf>, Error> {
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
                self.rerun_if_changed(dir);
                Templates::from_dir(dir)?
            }
            None => Templates::builtin(),
        };
        let mut written = Vec::new();
        for spec in &self.specs {
            self.rerun_if_changed(spec);
            let api = crate::load::load_file(spec)?;
            let module = crate::generate_module(&api, &templates)?;
            let target = out_dir.join(format!("{}.rs", module_file_stem(spec)));
            write_if_changed(&target, &module)?;
            written.push(target);
        }
        Ok(written)
    }

    fn rerun_if_changed(&self, path: &Path) {
        if self.cargo_output {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// `openapi.yaml` gives `openapi`, `pet-store.v2.json` gives `pet_store_v2`.
fn module_file_stem(spec: &Path) -> String {
    let stem = spec
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if stem.is_empty() {
        "spec".to_owned()
    } else {
        stem
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
    fn file_stems_are_identifiers() {
        assert_eq!(module_file_stem(Path::new("specs/openapi.yaml")), "openapi");
        assert_eq!(
            module_file_stem(Path::new("pet-store.v2.json")),
            "pet_store_v2"
        );
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
