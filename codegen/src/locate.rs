//! Where a JSON pointer is in the text: the line and column of the node it names, for
//! diagnostics. The IR keeps pointers only (the parsed tree has no positions), so this
//! reads the text again with yaml-rust2's event parser, which gives each event a mark.
//! It runs only for documents that have diagnostics, never on the generation path, and
//! stops as soon as every pointer is found; subtrees no pointer enters are skipped
//! without building any path.

use std::collections::{HashMap, HashSet};

use yaml_rust2::parser::{Event, Parser};

use crate::error::pointer_token;

/// One open collection: its pointer, and where its next child stands.
enum Open {
    /// A map: `None` while a key is expected, else the pointer token of the key read
    /// and the key's place (a map entry is shown at its key).
    Map(Option<(String, (usize, usize))>),
    /// A list: the index of the next item.
    List(usize),
}

/// The 1-based (line, column) of the node at each pointer, in `pointers` order. A pointer
/// the text does not spell (it goes through an alias or a merge key) gets the place of
/// the deepest node on its way that the text does spell; text that does not parse, none.
pub(crate) fn locate(text: &str, pointers: &[&str]) -> Vec<Option<(usize, usize)>> {
    let wanted: HashSet<&str> = pointers.iter().copied().collect();
    // Every proper prefix of a wanted pointer: the collections worth entering.
    let mut enter: HashSet<&str> = HashSet::new();
    for pointer in pointers {
        let mut end = pointer.len();
        while let Some(slash) = pointer[..end].rfind('/') {
            enter.insert(&pointer[..slash]);
            end = slash;
        }
    }
    let mut found: HashMap<String, (usize, usize)> = HashMap::new();
    let mut exact = 0usize;
    let mut stack: Vec<(Open, String)> = Vec::new();
    // Depth inside a subtree no pointer enters.
    let mut skipping = 0usize;
    let mut parser = Parser::new_from_str(text);
    while exact < wanted.len() {
        let Ok((event, mark)) = parser.next_token() else {
            break;
        };
        let place = (mark.line(), mark.col() + 1);
        let opens = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        let closes = matches!(event, Event::MappingEnd | Event::SequenceEnd);
        if skipping > 0 {
            skipping = if opens {
                skipping + 1
            } else if closes {
                skipping - 1
            } else {
                skipping
            };
            continue;
        }
        if closes {
            stack.pop();
            continue;
        }
        let is_node = opens || matches!(event, Event::Scalar(..) | Event::Alias(_));
        if !is_node {
            if matches!(event, Event::StreamEnd) {
                break;
            }
            continue;
        }
        // The pointer of this node, and where it is shown; `None` for a map key.
        let here = match stack.last_mut() {
            // The whole document: its start, wherever the parser marks the root.
            None => Some((String::new(), (1, 1))),
            Some((Open::List(next), parent)) => {
                let at = format!("{parent}/{next}");
                *next += 1;
                Some((at, place))
            }
            Some((Open::Map(key @ None), _)) => {
                *key = Some(match &event {
                    Event::Scalar(text, ..) => (pointer_token(text), place),
                    // A collection as a key: no pointer names what follows it.
                    _ => ("\u{0}".to_owned(), place),
                });
                None
            }
            Some((Open::Map(key @ Some(_)), parent)) => key
                .take()
                .map(|(token, at)| (format!("{parent}/{token}"), at)),
        };
        let Some((pointer, shown_at)) = here else {
            // A key: a collection there is skipped whole.
            if opens {
                skipping = 1;
            }
            continue;
        };
        let is_wanted = wanted.contains(pointer.as_str());
        let is_on_the_way = enter.contains(pointer.as_str());
        if (is_wanted || is_on_the_way) && !found.contains_key(&pointer) {
            exact += usize::from(is_wanted);
            found.insert(pointer.clone(), shown_at);
        }
        if opens {
            if is_on_the_way {
                let open = match event {
                    Event::MappingStart(..) => Open::Map(None),
                    _ => Open::List(0),
                };
                stack.push((open, pointer));
            } else {
                skipping = 1;
            }
        }
    }
    pointers
        .iter()
        .map(|pointer| {
            let mut at = *pointer;
            loop {
                if let Some(&place) = found.get(at) {
                    return Some(place);
                }
                at = &at[..at.rfind('/')?];
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_found_at_their_keys() {
        let text = "openapi: 3.0.0
components:
  securitySchemes:
    api_key:
      type: apiKey
    \"a/b~c\": {type: http, scheme: bearer}
security:
  - api_key: []
  - {}
paths:
  /pets:
    get:
      security: [{api_key: [read]}]
";
        let pointers = [
            "/components/securitySchemes/api_key",
            "/components/securitySchemes/a~1b~0c",
            "/security",
            "/security/1",
            "/paths/~1pets/get/security",
            "/paths/~1pets/get/security/0/api_key",
            "",
            "/nowhere",
            "/paths/~1pets/put",
        ];
        assert_eq!(
            locate(text, &pointers),
            [
                Some((4, 5)),
                Some((6, 5)),
                Some((7, 1)),
                Some((9, 5)),
                Some((13, 7)),
                Some((13, 19)),
                Some((1, 1)),
                // Not in the text: the document, then the nearest node on the way.
                Some((1, 1)),
                Some((11, 3)),
            ]
        );
    }

    #[test]
    fn json_and_broken_text() {
        let json = "{\n  \"paths\": {\"/a\": {\"get\": {\"security\": []}}}\n}";
        assert_eq!(locate(json, &["/paths/~1a/get/security"]), [Some((2, 28))]);
        // Text that stops parsing keeps what was found before.
        assert_eq!(
            locate("a: 1\nb: [", &["/a", "/b/0"]),
            [Some((1, 1)), Some((2, 1))]
        );
    }
}
