//! Document text as keygate's outputs show it. The document is untrusted: a scheme name
//! may hold a line break, a terminal escape sequence or a bidi override. Every message,
//! diagnostic and table goes through [`printable`].

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1: line breaks, tabs, ESC) and every
/// bidi control shown as an escape (`\n`, `\u{1b}`, `\u{202e}`), so it prints on one line
/// and cannot steer a terminal or reorder what is around it.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// The Unicode bidi controls (UAX #9): marks, embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_controls_and_bidi_only() {
        assert_eq!(printable("X-API-Key"), "X-API-Key");
        assert!(matches!(printable("é ü 鍵"), Cow::Borrowed(_)));
        assert_eq!(printable("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("x\u{202e}y\u{85}"), "x\\u{202e}y\\u{85}");
        // Escaping twice changes nothing more: backslashes are not escaped.
        assert_eq!(printable(&printable("a\nb")), "a\\nb");
    }
}
