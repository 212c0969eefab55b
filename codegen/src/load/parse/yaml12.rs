//! The YAML 1.2 fallback: yaml-rust2 (pure Rust) reads what libyaml refuses, into the
//! same `yaml_serde::Value`, with nesting and alias copies capped.

use std::collections::HashMap;

use yaml_serde::{Mapping, Value};

use super::MAX_YAML_DEPTH;

/// A limit the YAML 1.2 fallback stopped at, with its place (1-based line and column).
pub(super) struct YamlLimit {
    pub(super) message: String,
    pub(super) line: usize,
    pub(super) column: usize,
}

/// Most nodes the YAML 1.2 fallback copies for anchors and aliases: a few anchors nested
/// in each other could otherwise expand to billions of nodes.
const MAX_ALIAS_NODES: usize = 1 << 18;

/// A collection being built by [`yaml12_fallback`].
struct Open {
    anchor: usize,
    nodes: usize,
    kind: OpenKind,
}

enum OpenKind {
    Sequence(Vec<Value>),
    /// The entries so far, and a key waiting for its value.
    Mapping(Mapping, Option<Value>),
}

/// Parses with yaml-rust2 (YAML 1.2, pure Rust) into a yaml_serde value. Events are
/// folded with an explicit stack, never by recursion, and nesting and alias copies are
/// bounded, so no document can overflow the stack or blow up in memory. On failure, the
/// limit it stopped at, if that was the reason.
pub(super) fn yaml12_fallback(text: &str) -> Result<Value, Option<YamlLimit>> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    // Anchored nodes, with their size in nodes.
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    let mut copied = 0usize;
    let mut documents = 0;
    let mut root = None;
    loop {
        let (event, mark) = parser.next_token().map_err(|_| None)?;
        let limit = |message: String| YamlLimit {
            message,
            line: mark.line(),
            column: mark.col() + 1,
        };
        let (value, anchor, nodes, pasted) = match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => continue,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(None);
                }
                continue;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_YAML_DEPTH {
                    return Err(Some(limit(format!(
                        "nesting deeper than {MAX_YAML_DEPTH} levels"
                    ))));
                }
                let kind = match event {
                    Event::SequenceStart(..) => OpenKind::Sequence(Vec::new()),
                    _ => OpenKind::Mapping(Mapping::new(), None),
                };
                stack.push(Open {
                    anchor,
                    nodes: 1,
                    kind,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let open = stack.pop().ok_or(None)?;
                let value = match open.kind {
                    OpenKind::Sequence(items) => Value::Sequence(items),
                    OpenKind::Mapping(map, None) => Value::Mapping(map),
                    OpenKind::Mapping(_, Some(_)) => return Err(None),
                };
                (value, open.anchor, open.nodes, 0)
            }
            Event::Scalar(text, style, anchor, tag) => {
                (yaml12_scalar(text, style, tag).ok_or(None)?, anchor, 1, 0)
            }
            Event::Alias(id) => {
                let (value, nodes) = anchors.get(&id).ok_or(None)?;
                (value.clone(), 0, *nodes, *nodes)
            }
        };
        // Keeping an anchored node and pasting an alias both copy it.
        copied = copied.saturating_add(pasted);
        if anchor > 0 {
            copied = copied.saturating_add(nodes);
        }
        if copied > MAX_ALIAS_NODES {
            return Err(Some(limit(format!(
                "aliases (`*name`) expand to more than {MAX_ALIAS_NODES} nodes"
            ))));
        }
        if anchor > 0 {
            anchors.insert(anchor, (value.clone(), nodes));
        }
        let Some(parent) = stack.last_mut() else {
            root = Some(value);
            continue;
        };
        parent.nodes = parent.nodes.saturating_add(nodes);
        match &mut parent.kind {
            OpenKind::Sequence(items) => items.push(value),
            OpenKind::Mapping(_, pending @ None) => *pending = Some(value),
            OpenKind::Mapping(map, pending) => {
                let key = pending.take().ok_or(None)?;
                // A repeated key is an error in YAML; libyaml's message says so.
                if map.insert(key, value).is_some() {
                    return Err(None);
                }
            }
        }
    }
    root.ok_or(None)
}

/// A scalar as yaml-rust2's own loader reads it (YAML 1.2 core schema).
fn yaml12_scalar(
    text: String,
    style: yaml_rust2::scanner::TScalarStyle,
    tag: Option<yaml_rust2::parser::Tag>,
) -> Option<Value> {
    use yaml_rust2::scanner::TScalarStyle;
    use yaml_rust2::Yaml;
    let node = match tag {
        _ if style != TScalarStyle::Plain => Yaml::String(text),
        Some(tag) if tag.handle == "tag:yaml.org,2002:" => match tag.suffix.as_str() {
            "bool" => match text.as_str() {
                "true" | "True" | "TRUE" => Yaml::Boolean(true),
                "false" | "False" | "FALSE" => Yaml::Boolean(false),
                _ => return None,
            },
            "int" => Yaml::Integer(text.parse().ok()?),
            "float" => Yaml::Real(text),
            "null" => match text.as_str() {
                "~" | "null" => Yaml::Null,
                _ => return None,
            },
            _ => Yaml::String(text),
        },
        Some(_) => Yaml::String(text),
        None => Yaml::from_str(&text),
    };
    Some(match node {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::Number(i.into()),
        Yaml::Real(text) => Value::Number(text.parse::<f64>().ok()?.into()),
        Yaml::String(text) => Value::String(text),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_yaml_fallback_stops_at_its_limits() {
        let deep = format!("x:\n{}1\n", "- ".repeat(200));
        let limit = yaml12_fallback(&deep).unwrap_err().unwrap();
        assert_eq!(limit.message, "nesting deeper than 128 levels");
        // The root map is the first level; the 128th `- ` opens the 129th.
        assert_eq!((limit.line, limit.column), (2, 255));
        assert!(yaml12_fallback(&"- ".repeat(128)).is_ok());
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let aliases = vec![format!("*a{}", i - 1); 8].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{aliases}]\n"));
        }
        let limit = yaml12_fallback(&bomb).unwrap_err().unwrap();
        assert!(
            limit.message.contains("expand to more than"),
            "{}",
            limit.message
        );
        // Repeated keys and second documents are errors, not guesses.
        assert!(yaml12_fallback("a: 1\na: 2\n").unwrap_err().is_none());
        assert!(yaml12_fallback("a: 1\n---\nb: 2\n").unwrap_err().is_none());
    }
}
