//! Errors with a place: file, JSON pointer, and line/column where the parser gives them.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;

use crate::text::printable;

/// A generation-time error. `Display` reads `file: at /json/pointer: message` or
/// `file:line:column: message`, followed by the I/O error's text for a file that could
/// not be read or written (also its [`source`](std::error::Error::source)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Error {
    /// The file, as the caller named it.
    pub file: String,
    /// JSON pointer of the offending node, when known.
    pub pointer: Option<String>,
    /// 1-based line, when the YAML/JSON parser reports one.
    pub line: Option<usize>,
    /// 1-based column, when the YAML/JSON parser reports one.
    pub column: Option<usize>,
    /// What is wrong, and where useful, what to do.
    pub message: String,
    /// The I/O failure behind the error, if any.
    pub(crate) io: Option<Arc<io::Error>>,
}

impl Error {
    /// An error at a JSON pointer.
    pub fn at(file: &str, pointer: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            file: file.to_owned(),
            pointer: Some(pointer.into()),
            line: None,
            column: None,
            message: message.into(),
            io: None,
        }
    }

    /// An error about a whole file (unreadable, not a document).
    pub fn file(file: &str, message: impl Into<String>) -> Error {
        Error {
            file: file.to_owned(),
            pointer: None,
            line: None,
            column: None,
            message: message.into(),
            io: None,
        }
    }

    /// A file that could not be read or written, with the I/O error as the source.
    pub fn io(file: &str, message: impl Into<String>, error: io::Error) -> Error {
        Error {
            io: Some(Arc::new(error)),
            ..Error::file(file, message)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(pointer) = &self.pointer {
            let pointer = if pointer.is_empty() { "/" } else { pointer };
            write!(f, ": at {}", elide(pointer))?;
        }
        // Messages quote document text through `elide`; this catches any that did not.
        write!(f, ": {}", printable(&self.message))?;
        // Shown as well as returned by `source()`, so that `{error}` alone says why.
        match &self.io {
            Some(io) => write!(f, ": {io}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io
            .as_deref()
            .map(|io| io as &(dyn std::error::Error + 'static))
    }
}

/// Document text as a message shows it: [`printable`] (controls escaped), and text longer
/// than a line (a 1 MB scheme name) cut, so a message stays one readable line. Fields
/// such as [`Error::pointer`] keep the text whole.
pub(crate) fn elide(text: &str) -> Cow<'_, str> {
    const KEEP: usize = 60;
    let text = match printable(text) {
        Cow::Borrowed(text) => text,
        Cow::Owned(escaped) => return Cow::Owned(elide(&escaped).into_owned()),
    };
    if text.chars().nth(2 * KEEP).is_none() {
        return Cow::Borrowed(text);
    }
    let end = text.char_indices().nth(KEEP).map_or(text.len(), |(i, _)| i);
    Cow::Owned(format!("{}… ({} bytes)", &text[..end], text.len()))
}

/// Escapes one JSON-pointer token (RFC 6901: `~` as `~0`, `/` as `~1`).
pub(crate) fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
