//! A diagnostic: its severity, where it is, its text, and `locate`, which finds its line
//! and column in the document.

use std::fmt;

use serde::Serialize;

use crate::error::elide;
use crate::text::printable;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Probably a mistake; the generated code still does what docs/semantics.md says.
    Warning,
    /// The document cannot be enforced as written.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding about a document, anchored at a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// JSON pointer of the node it is about.
    pub pointer: String,
    /// A stable kebab-case code (`query-key`, `unused-scheme`, ...).
    pub code: &'static str,
    /// What is wrong and what to do about it.
    pub message: String,
    /// 1-based line of the node at [`Diagnostic::pointer`], once [`locate`] found it.
    pub line: Option<usize>,
    /// 1-based column of that node, with the line.
    pub column: Option<usize>,
}

impl Diagnostic {
    pub(super) fn warning(
        pointer: impl Into<String>,
        code: &'static str,
        message: String,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            pointer: pointer.into(),
            code,
            message,
            line: None,
            column: None,
        }
    }
}

/// Fills in the line and column of each diagnostic from `text`, the document `check`
/// was given. This reads the text again (the IR keeps pointers, not places), so it is
/// for output that shows diagnostics; a document without diagnostics costs nothing.
pub fn locate(diagnostics: &mut [Diagnostic], text: &str) {
    if diagnostics.is_empty() {
        return;
    }
    let pointers: Vec<&str> = diagnostics.iter().map(|d| d.pointer.as_str()).collect();
    let places = crate::locate::locate(text, &pointers);
    for (diagnostic, place) in diagnostics.iter_mut().zip(places) {
        diagnostic.line = place.map(|(line, _)| line);
        diagnostic.column = place.map(|(_, column)| column);
    }
}

impl fmt::Display for Diagnostic {
    /// `warning[code]: at /pointer: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The empty pointer is the whole document; `/` reads better, as in `Error`.
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        // Messages quote document text through `elide`; this catches any that did not.
        write!(
            f,
            "{}[{}]: at {}: {}",
            self.severity.as_str(),
            self.code,
            elide(pointer),
            printable(&self.message)
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::load::load_str;

    #[test]
    fn diagnostics_show_document_text_on_one_line() {
        let text = "openapi: 3.0.3
info: {title: t, version: '1'}
components:
  securitySchemes:
    \"k\\n\\u001b[31m\\u202e\": {type: apiKey, in: query, name: \"q\\r\\nX-Injected: 1\"}
    \"unused\\nscheme\": {type: http, scheme: bearer}
security: [{\"k\\n\\u001b[31m\\u202e\": []}]
paths: {}
";
        let api = load_str("doc.yaml", text).unwrap_or_else(|e| panic!("{e}"));
        let shown: Vec<String> = check(&api).iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        for line in &shown {
            assert!(
                !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{line:?}"
            );
        }
        assert!(shown[0].contains("scheme `k\\n\\u{1b}[31m\\u{202e}` takes the key from the query parameter `q\\r\\nX-Injected: 1`"), "{}", shown[0]);
        assert!(
            shown[1].contains(
                "at /components/securitySchemes/unused\\nscheme: scheme `unused\\nscheme`"
            ),
            "{}",
            shown[1]
        );
    }
}
