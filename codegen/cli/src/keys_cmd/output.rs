//! Writing a command's answer to stdout: text, JSON, a new key, the next page's command.

use std::io::Write;

use super::failure::Failure;

/// Writes to stdout. The caller decides whether a failed write matters.
pub(super) fn emit(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes what a read or a done change answers; a closed pipe (`keygate keys list |
/// head`) is not worth an error.
pub(super) fn show(text: &str) {
    let _ = emit(text);
}

pub(super) fn json_text<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(|e| Failure::Other(format!("cannot write JSON: {e}")))
}

/// Prints a key that exists nowhere else. If stdout is gone the key is lost, so the
/// user is told which key to revoke.
pub(super) fn emit_key(text: &str, id: &str) -> Result<(), Failure> {
    emit(text).map_err(|e| {
        Failure::Other(format!(
            "could not print the new key ({e}); it cannot be shown again: revoke key `{id}` \
             and make another"
        ))
    })?;
    eprintln!(
        "warning: store this key safely now: it cannot be shown again (only its hash is kept)"
    );
    eprintln!(
        "note: send `key` as the API key or bearer token, or `key id` and `secret` as the \
         HTTP Basic user and password"
    );
    Ok(())
}

/// `next page: keygate keys <command> --cursor C <args>`: the command that shows the
/// next page, its arguments quoted for a POSIX shell. `--db` is left out: it may hold a
/// password.
pub(super) fn next_page_line(command: &str, cursor: &str, args: &[(&str, String)]) -> String {
    let mut line = format!(
        "next page: keygate keys {command} --cursor {}",
        quoted(cursor)
    );
    for (flag, value) in args {
        line.push(' ');
        line.push_str(flag);
        if !value.is_empty() {
            line.push(' ');
            line.push_str(&quoted(value));
        }
    }
    line.push('\n');
    line
}

/// `text` as one shell word: as it is when that is safe, else in single quotes.
fn quoted(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.,:/@=+".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_line_quotes_what_a_shell_would_split() {
        let line = next_page_line(
            "list",
            "1700000000.abc",
            &[
                ("--name", "my key".into()),
                ("--owner", "o'neil".into()),
                ("--json", String::new()),
            ],
        );
        assert_eq!(
            line,
            "next page: keygate keys list --cursor 1700000000.abc --name 'my key' \
             --owner 'o'\\''neil' --json\n"
        );
    }
}
