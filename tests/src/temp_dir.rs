//! [`TempDir`]: a directory for a test's or a bench's SQLite files.

use std::path::{Path, PathBuf};

/// A fresh directory under the system temp dir (`keygate-<name>-<random>`), removed on
/// drop.
#[derive(Debug)]
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// A new directory whose name starts with `keygate-<name>-`.
    pub fn new(name: &str) -> TempDir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("keygate-{name}-"))
            .tempdir()
            .expect("create temp dir");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// The path of `name` in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}
