//! Header and cookie names no request can carry: a scheme reading one could never
//! pass, so the loader refuses it.

/// Why no request can carry the header `name`, or `None` when it can: an HTTP field
/// name is a token (RFC 9110 §5.1, `token = 1*tchar`).
pub(super) fn header_name_problem(name: &str) -> Option<String> {
    let bad = name.chars().find(|&c| !is_tchar(c))?;
    Some(format!(
        "it contains {}; field names are tokens of letters, digits and !#$%&'*+-.^_`|~",
        shown_char(bad)
    ))
}

/// Why no request can carry the cookie `name` where the guard looks for it, or `None`
/// when it can. A `Cookie` line is split at `;`, each cookie at its first `=`, and names
/// are trimmed (RFC 6265 §5.4; the `cookie` crate the runtime reads with), and a header
/// value holds no control character but a tab. Names RFC 6265 calls invalid that still
/// arrive this way (a space inside, `@`) are left alone: clients do send them.
pub(super) fn cookie_name_problem(name: &str) -> Option<String> {
    if name.trim() != name {
        return Some(
            "it starts or ends with white space, which is trimmed from the cookie names a \
             request carries"
                .to_owned(),
        );
    }
    let bad = name
        .chars()
        .find(|&c| matches!(c, ';' | '=') || (c.is_control() && c != '\t'))?;
    Some(match bad {
        ';' => "it contains `;`, which separates cookies".to_owned(),
        '=' => "it contains `=`, which ends a cookie's name".to_owned(),
        _ => format!(
            "it contains {}, which no header value holds",
            shown_char(bad)
        ),
    })
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// A character as a message shows it: `' '`, `'\n'`, `'é'`.
fn shown_char(c: char) -> String {
    format!("{c:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_tokens() {
        assert_eq!(header_name_problem("X-API-Key"), None);
        assert_eq!(header_name_problem("!#$%&'*+-.^_`|~09az"), None);
        for bad in ["X API Key", "X-Key:", "é", "a\tb", "(x)", "a\nb"] {
            assert!(header_name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn cookie_names_fail_only_where_no_request_can_carry_them() {
        for good in ["session", "my cookie", "a@b", "é", "a\tb"] {
            assert_eq!(cookie_name_problem(good), None, "{good:?}");
        }
        for bad in [
            "a;b", "a=b", " session", "session ", "\tx", "a\nb", "a\u{7f}",
        ] {
            assert!(cookie_name_problem(bad).is_some(), "{bad:?}");
        }
    }
}
