//! Document text as keygate's outputs show it. The document is untrusted: a scheme name
//! may hold a line break, a terminal escape sequence or a bidi override. Every message,
//! diagnostic and table goes through [`printable`]; the markdown report through
//! [`markdown_text`] and [`markdown_code`] (the `md` and `code` template filters).

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

/// Line breaks (CR, LF, NEL, LS, PS) as single spaces: for text that stays readable on
/// one line, as a table cell must.
fn fold_lines(text: &str) -> Cow<'_, str> {
    let is_break = |c: char| matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
    if !text.chars().any(is_break) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last_break = false;
    for c in text.chars() {
        if is_break(c) {
            if !last_break {
                out.push(' ');
            }
            last_break = true;
        } else {
            out.push(c);
            last_break = false;
        }
    }
    Cow::Owned(out)
}

/// `text` as plain markdown text on one line, safe in a heading, a list item or a table
/// cell: line breaks folded, ends trimmed, controls escaped, and every character markdown could read
/// as structure or markup (`|`, `*`, `[`, `<`, `&`, ...) backslash-escaped.
pub(crate) fn markdown_text(text: &str) -> String {
    let text = fold_lines(text);
    // Leading spaces could indent a code block; trailing ones end a block scalar.
    let text = printable(text.trim());
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '&' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` as one markdown code span, safe in a table cell: fenced with one backtick more
/// than its longest run of backticks (padded where it starts or ends with one), `|`
/// escaped as GitHub tables require even in code, line breaks folded, controls escaped.
/// Empty text is an empty string.
pub(crate) fn markdown_code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let text = fold_lines(text);
    let text = printable(&text).replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A code span strips one space from each end when both are there.
    let pad = if text.starts_with('`')
        || text.ends_with('`')
        || text.starts_with(' ') && text.ends_with(' ')
    {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
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

    #[test]
    fn markdown_text_cannot_open_structure() {
        assert_eq!(markdown_text("Pets | Co"), "Pets \\| Co");
        assert_eq!(
            markdown_text("a\n# b\r\n\r\n- [x](y) <b>&amp;"),
            "a \\# b - \\[x\\](y) \\<b\\>\\&amp;"
        );
        assert_eq!(markdown_text("*_`~!\\"), "\\*\\_\\`\\~\\!\\\\");
        assert_eq!(markdown_text("tab\there"), "tab\\\\there");
    }

    #[test]
    fn markdown_code_fences_past_any_backticks() {
        assert_eq!(markdown_code("X-API-Key"), "`X-API-Key`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("``x"), "``` ``x ```");
        assert_eq!(markdown_code("a|b\nc"), "`a\\|b c`");
        assert_eq!(markdown_code(" a "), "`  a  `");
        assert_eq!(markdown_code(""), "");
    }
}
