//! Lowers Swagger 2.0, OpenAPI 3.0.x and 3.1.x documents (YAML or JSON) into the IR.
//!
//! The document is parsed into a generic [`yaml_serde::Value`] tree and only the parts
//! keygate uses are walked: the version, `info.title`, the base path, the security
//! schemes, the root `security` and the operations under `paths`. A typed OpenAPI model
//! would reject real documents over parts keygate never reads (3.1 type arrays, odd
//! schemas, examples holding `$ref` keys), so everything else is left unread.
//! Mappings keep insertion order, so document order survives.
//!
//! In three steps, each a module: `parse` reads the text into the tree, `refs` follows
//! `$ref`s within it, and `lower` builds the IR from it; `tree` reads the tree's nodes
//! for all three.

use std::path::Path;

use crate::error::Error;
use crate::ir::Api;

mod lower;
mod parse;
mod refs;
mod tree;

/// Loads a document from a file (YAML or JSON, chosen by content: a first
/// non-whitespace character `{` means JSON, anything else YAML).
///
/// # Errors
///
/// When the file cannot be read or is not UTF-8, and as [`load_str`].
pub fn load_file(path: &Path) -> Result<Api, Error> {
    let source = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|err| Error::io(&source, "cannot read the file", err))?;
    let text = String::from_utf8(bytes)
        .map_err(|err| not_utf8(&source, err.as_bytes(), err.utf8_error()))?;
    load_str(&source, &text)
}

/// The error for bytes that are not UTF-8, with the line and column of the first bad byte.
fn not_utf8(source: &str, bytes: &[u8], error: std::str::Utf8Error) -> Error {
    let at = error.valid_up_to();
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Error {
            line: Some(1),
            column: Some(1),
            ..Error::file(
                source,
                "the file is UTF-16 (it starts with a UTF-16 byte-order mark); keygate reads \
                 UTF-8, so convert it first",
            )
        };
    }
    // Everything before `at` is valid UTF-8, so it can be counted in characters.
    let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    let (line, column) = parse::line_and_column(before);
    Error {
        line: Some(line),
        column: Some(column),
        ..Error::file(source, format!("not UTF-8 text at byte {at}"))
    }
}

/// Loads a document from text; `source` names it in messages ([`Api::source`] and
/// [`Error::file`]).
///
/// # Errors
///
/// When the text is not YAML or JSON (with line and column), is not a supported version,
/// or breaks a rule keygate relies on (an undefined scheme, an external `$ref`, a path
/// template no matcher can express, ...): the error names the JSON pointer.
///
/// Sizes are not limited: 10,000 alternatives in one requirement or a 1 MB scheme name
/// load, in time linear in the input. Nesting is, at 128 levels, and so is what YAML
/// aliases may expand to; past either the text is refused as YAML or JSON.
pub fn load_str(source: &str, text: &str) -> Result<Api, Error> {
    let root = parse::parse(source, text).map_err(|error| placed(error, text))?;
    lower::lower(source, &root).map_err(|error| placed(error, text))
}

/// An error at a JSON pointer, with the line and column the text has that node at: the
/// tree keeps no positions, so the text is read again, on this error path only.
fn placed(mut error: Error, text: &str) -> Error {
    if let (Some(pointer), None) = (&error.pointer, error.line) {
        if let Some(&Some((line, column))) = crate::locate::locate(text, &[pointer]).first() {
            error.line = Some(line);
            error.column = Some(column);
        }
    }
    error
}
