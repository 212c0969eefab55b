//! Reading: YAML or JSON text into a `yaml_serde::Value` tree, and the error for text
//! that is neither, with its line and column wherever they can be found.
//!
//! YAML goes through yaml_serde (libyaml). Its two weak spots are guarded here: flow
//! nesting, where libyaml's time grows with the square of the depth (`flow_depth`), and
//! valid YAML 1.2 libyaml refuses, which the pure-Rust parser of `yaml12` gets a second
//! say on (with its own caps on nesting and alias copies).

use std::collections::HashSet;

use yaml_serde::Value;

use super::tree::key_text;
use crate::error::{pointer_token, Error};

mod flow_depth;
mod yaml12;

use flow_depth::FlowDepth;
use yaml12::{yaml12_fallback, YamlLimit};

/// Deepest nesting the YAML 1.2 fallback builds; yaml_serde stops at the same depth.
const MAX_YAML_DEPTH: usize = 128;

/// Parses text into a tree: JSON when it starts with `{`, YAML otherwise.
pub(super) fn parse(source: &str, text: &str) -> Result<Value, Error> {
    // A byte-order mark is not content; serde_json would reject it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match text.trim_start().chars().next() {
        None => Err(Error::file(source, "the document is empty")),
        Some('{') => serde_json::from_str(text).map_err(|err| {
            let (line, column) = (err.line(), err.column());
            let message = strip_location(&err.to_string(), line, column);
            Error {
                line: Some(line).filter(|&line| line > 0),
                column: Some(column).filter(|&column| column > 0),
                ..Error::file(source, format!("not valid JSON: {message}"))
            }
        }),
        Some(_) => parse_yaml(source, text),
    }
}

fn parse_yaml(source: &str, text: &str) -> Result<Value, Error> {
    let flow_depth = FlowDepth::check_before_parse(source, text)?;
    let mut value: Value = match yaml_serde::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            flow_depth.check_after_failure(source, text)?;
            // libyaml (under yaml_serde) refuses some valid YAML 1.2, e.g. a tab as the
            // only content of a block-scalar line; the pure-Rust YAML 1.2 parser gets a
            // second say.
            yaml12_fallback(text).map_err(|limit| yaml_error(source, text, &err, limit))?
        }
    };
    // YAML 1.1 merge keys (`<<: *base`) are part of what the author wrote; yaml_serde
    // keeps them as plain keys unless asked. Merging walks the whole tree, so a text
    // that cannot hold one skips it.
    if !may_hold_merge_key(text) {
        return Ok(value);
    }
    if let Err(err) = value.apply_merge() {
        // apply_merge has taken the bad `<<` out of the tree by now; read it again.
        let unmerged = yaml_serde::from_str(text).or_else(|_| yaml12_fallback(text));
        return Err(Error {
            pointer: unmerged.ok().and_then(|value| bad_merge_key(&value)),
            ..Error::file(source, format!("bad YAML merge key (`<<`): {err}"))
        });
    }
    Ok(value)
}

/// Whether YAML `text` may spell the key `<<`: as written, or through a double-quoted
/// escape (`\x3c`, `\u003c`, `\U0000003c`, or `<` before an escaped line break, which
/// joins it to the next line's `<`). Folding turns any other line break into a space.
fn may_hold_merge_key(text: &str) -> bool {
    const ESCAPES: [&[u8]; 6] = [
        b"x3c",
        b"x3C",
        b"u003c",
        b"u003C",
        b"U0000003c",
        b"U0000003C",
    ];
    let bytes = text.as_bytes();
    // Both bytes are rare in real documents: a vectorised scan finds the few there are.
    memchr::memchr2_iter(b'<', b'\\', bytes).any(|at| {
        let after = &bytes[at + 1..];
        if bytes[at] == b'<' {
            after.starts_with(b"<") || after.starts_with(b"\\\n") || after.starts_with(b"\\\r")
        } else {
            ESCAPES.iter().any(|escape| after.starts_with(escape))
        }
    })
}

/// The pointer of the first `<<` whose value is not a map or a list of maps.
fn bad_merge_key(root: &Value) -> Option<String> {
    let mut stack = vec![(root, String::new())];
    while let Some((node, at)) = stack.pop() {
        match node {
            Value::Mapping(map) => {
                let mut children = Vec::with_capacity(map.len());
                for (key, value) in map {
                    let token = key_text(key).unwrap_or_default();
                    let at = format!("{at}/{}", pointer_token(&token));
                    let mergeable = |value: &Value| matches!(value, Value::Mapping(_));
                    let bad = match value {
                        _ if token != "<<" => false,
                        Value::Sequence(items) => !items.iter().all(mergeable),
                        other => !mergeable(other),
                    };
                    if bad {
                        return Some(at);
                    }
                    children.push((value, at));
                }
                // Reversed onto the stack, so children are visited in document order.
                stack.extend(children.into_iter().rev());
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((item, format!("{at}/{i}")));
                }
            }
            Value::Tagged(tagged) => stack.push((&tagged.value, at)),
            _ => {}
        }
    }
    None
}

/// yaml_serde's error, with a place: libyaml reports some errors (a control character)
/// by byte offset only, and a second document or an alias bomb with no place at all.
fn yaml_error(
    source: &str,
    text: &str,
    err: &yaml_serde::Error,
    limit: Option<YamlLimit>,
) -> Error {
    let shown = err.to_string();
    let at_offset = shown
        .rsplit_once(" at position ")
        .and_then(|(message, offset)| {
            let offset = offset.parse::<usize>().ok()?;
            Some((message, line_and_column(text.get(..offset)?)))
        });
    // yaml_serde places a repeated key at the start of the map that holds it.
    let duplicate = shown
        .contains("duplicate entry with key")
        .then(|| duplicate_key(text))
        .flatten();
    let (message, location) = match (at_offset, err.location()) {
        (Some((message, location)), _) => (message.to_owned(), Some(location)),
        (None, Some(location)) if duplicate.is_some() => {
            let (line, column) = (location.line(), location.column());
            (strip_location(&shown, line, column), duplicate)
        }
        (None, Some(location)) => {
            let (line, column) = (location.line(), location.column());
            (strip_location(&shown, line, column), Some((line, column)))
        }
        (None, None) => match (second_document(text), limit) {
            (Some(location), _) => (
                "the file holds more than one YAML document (the second starts here); keygate \
                 reads one document per file"
                    .to_owned(),
                Some(location),
            ),
            (None, Some(limit)) => (limit.message, Some((limit.line, limit.column))),
            (None, None) => (shown.clone(), None),
        },
    };
    Error {
        line: location.map(|(line, _)| line),
        column: location.map(|(_, column)| column),
        ..Error::file(source, format!("not valid YAML: {message}"))
    }
}

/// Where the first key that repeats a key of the same map is, if any.
fn duplicate_key(text: &str) -> Option<(usize, usize)> {
    use yaml_rust2::parser::{Event, Parser};
    // Per open collection: for a map, the keys so far and whether a key comes next.
    let mut stack: Vec<Option<(HashSet<String>, bool)>> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser.next_token().ok()?;
        let key = match stack.last_mut() {
            Some(Some((_, expecting_key))) => {
                let is_key = *expecting_key;
                *expecting_key = !is_key;
                is_key
            }
            _ => false,
        };
        match event {
            Event::StreamEnd => return None,
            Event::Scalar(value, ..) if key => {
                if let Some(Some((keys, _))) = stack.last_mut() {
                    if !keys.insert(value) {
                        return Some((mark.line(), mark.col() + 1));
                    }
                }
            }
            Event::MappingStart(..) => stack.push(Some((HashSet::new(), true))),
            Event::SequenceStart(..) => stack.push(None),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
}

/// Where a second YAML document starts, if the text holds more than one.
fn second_document(text: &str) -> Option<(usize, usize)> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    loop {
        match parser.next_token().ok()? {
            (Event::StreamEnd, _) => return None,
            (Event::DocumentStart, mark) => {
                documents += 1;
                if documents == 2 {
                    return Some((mark.line(), mark.col() + 1));
                }
            }
            _ => {}
        }
    }
}

/// Drops the parser's own ` at line N column M` where it repeats the location the error
/// carries as fields. Any other location in the text (libyaml's context mark, as in
/// "while scanning a block scalar at line 4 column 9") stays.
fn strip_location(message: &str, line: usize, column: usize) -> String {
    message.replacen(&format!(" at line {line} column {column}"), "", 1)
}

/// The 1-based line and column (in characters) just after `before`.
pub(super) fn line_and_column(before: &str) -> (usize, usize) {
    let line = before.matches('\n').count() + 1;
    let last_line = before.rsplit('\n').next().unwrap_or_default();
    (line, last_line.chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keys_are_found_however_they_are_spelled() {
        for key in [
            "<<",
            "\"<<\"",
            "'<<'",
            "\"\\x3c<\"",
            "\"<\\x3C\"",
            "\"\\u003c<\"",
            "\"<\\u003C\"",
            "\"\\U0000003c<\"",
            "\"<\\U0000003C\"",
            "? \"<\\\n        <\"\n      ",
        ] {
            assert!(
                may_hold_merge_key(&format!("a:\n  {key}: *base\n")),
                "{key}"
            );
        }
        assert!(!may_hold_merge_key("a:\n  \"< <\": *base\n"));
    }

    #[test]
    fn parser_locations_are_dropped_where_the_error_carries_them() {
        assert_eq!(strip_location("bad at line 3 column 4", 3, 4), "bad");
        assert_eq!(
            strip_location("bad at line 3 column 4, while x at line 2 column 1", 3, 4),
            "bad, while x at line 2 column 1"
        );
        assert_eq!(strip_location("bad", 3, 4), "bad");
    }
}
