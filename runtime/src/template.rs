//! Path templates (`/pets/{petId}`, `/pulls/{index}.diff`, `/v2/{name}:cancel`).
//!
//! This file is shared verbatim with `keygate-codegen` (`codegen/src/template.rs` is a
//! symlink to it, which `cargo package` copies as a file), so the generator rejects at
//! generation time exactly the templates the runtime cannot route.
//! It depends on `std` only.

/// One piece of a path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text, compared byte for byte.
    Literal(String),
    /// A template parameter: any text, empty included.
    Param(String),
}

/// One `/`-separated segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The pieces, in order. Never empty for a parameter segment; an empty literal
    /// segment (from `//` or a trailing `/`) is a single empty literal.
    pub pieces: Vec<Piece>,
}

impl Segment {
    /// Whether the segment is plain text.
    pub fn is_literal(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Literal(_)))
    }

    /// Whether the segment is exactly one parameter.
    pub fn is_whole_param(&self) -> bool {
        matches!(self.pieces.as_slice(), [Piece::Param(_)])
    }

    /// Number of literal bytes; more literal text means a more specific segment.
    pub fn literal_len(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(text) => text.len(),
                Piece::Param(_) => 0,
            })
            .sum()
    }

    /// Whether `text`, one request path segment, matches this segment. A segment with
    /// text around its parameters is given percent-decoded: an app routes it as one
    /// parameter and dispatches on the decoded value. Parameters match any text, empty
    /// included, as axum's do.
    pub fn matches(&self, text: &str) -> bool {
        glob_match(&self.pieces, text)
    }
}

/// Matches literals with parameters between them, in time linear in `text`: with
/// parameters that may be empty and hold anything, the first literal must start the
/// text, the last must end it, and those between may be taken leftmost, in order
/// (any later choice leaves less room for the rest).
fn glob_match(pieces: &[Piece], text: &str) -> bool {
    fn literal(piece: Option<&Piece>) -> Option<&str> {
        match piece {
            Some(Piece::Literal(text)) => Some(text),
            _ => None,
        }
    }
    if let [Piece::Literal(only)] = pieces {
        return text == only;
    }
    let mut rest = text;
    let mut inner = pieces;
    if let Some(first) = literal(pieces.first()) {
        let Some(tail) = rest.strip_prefix(first) else {
            return false;
        };
        rest = tail;
        inner = &inner[1..];
    }
    if let Some(last) = literal(pieces.last()) {
        let Some(head) = rest.strip_suffix(last) else {
            return false;
        };
        rest = head;
        inner = &inner[..inner.len() - 1];
    }
    for piece in inner {
        if let Piece::Literal(middle) = piece {
            // `str::find` is linear (two-way search), whatever the literal.
            match rest.find(middle.as_str()) {
                Some(at) => rest = &rest[at + middle.len()..],
                None => return false,
            }
        }
    }
    true
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    /// The segments after the leading `/`.
    pub segments: Vec<Segment>,
}

impl PathTemplate {
    /// Parses a template. The error says what is wrong, for a message that adds where.
    /// The route is the part before any `#`: AWS-style documents write
    /// `/#X-Amz-Target=Service.Operation` to tell apart operations on one route.
    pub fn parse(template: &str) -> Result<PathTemplate, String> {
        let route = route_of(template);
        let Some(rest) = route.strip_prefix('/') else {
            return Err(format!(
                "path template `{template}` does not start with `/`"
            ));
        };
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            // A name may repeat (`/sites/{id}/x/{id}`, as real documents do): matching
            // captures no values, so each occurrence is just one more parameter segment.
            segments.push(parse_segment(raw, template)?);
        }
        Ok(PathTemplate { segments })
    }

    /// The route key used with `matchit`: literal segments stay, every other segment
    /// becomes a whole-segment parameter named after its position. Templates that differ
    /// only inside parameter segments share a key and are told apart by [`Segment::matches`].
    pub fn route_key(&self) -> String {
        let mut key = String::new();
        for (index, segment) in self.segments.iter().enumerate() {
            key.push('/');
            if segment.is_literal() {
                for piece in &segment.pieces {
                    if let Piece::Literal(text) = piece {
                        // matchit treats braces as syntax; doubling escapes them.
                        key.push_str(&text.replace('{', "{{").replace('}', "}}"));
                    }
                }
            } else {
                key.push_str(&format!("{{p{index}}}"));
            }
        }
        key
    }

    /// A canonical form where parameter names are erased (`/pets/{}`), so templates
    /// that only rename parameters compare equal.
    pub fn shape(&self) -> String {
        let mut shape = String::new();
        for segment in &self.segments {
            shape.push('/');
            for piece in &segment.pieces {
                match piece {
                    Piece::Literal(text) => shape.push_str(text),
                    Piece::Param(_) => shape.push_str("{}"),
                }
            }
        }
        shape
    }

    /// Literal bytes over the whole template, for ordering candidates that share a key.
    pub fn literal_len(&self) -> usize {
        self.segments.iter().map(Segment::literal_len).sum()
    }
}

/// The part of a path key that a request path can match: everything before `#`.
pub fn route_of(template: &str) -> &str {
    template
        .split_once('#')
        .map_or(template, |(route, _)| route)
}

fn parse_segment(raw: &str, template: &str) -> Result<Segment, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    match c {
                        '}' => {
                            closed = true;
                            break;
                        }
                        '{' => {
                            return Err(format!(
                                "path template `{template}` nests `{{` inside a parameter"
                            ))
                        }
                        _ => name.push(c),
                    }
                }
                if !closed {
                    return Err(format!("path template `{template}` has an unclosed `{{`"));
                }
                if name.trim().is_empty() {
                    return Err(format!(
                        "path template `{template}` has a parameter with no name"
                    ));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                if matches!(pieces.last(), Some(Piece::Param(_))) {
                    return Err(format!(
                        "path template `{template}` has two parameters with nothing between them, \
                         so no matcher can tell where one ends"
                    ));
                }
                pieces.push(Piece::Param(name));
            }
            '}' => {
                return Err(format!(
                    "path template `{template}` has a `}}` with no `{{`"
                ))
            }
            _ => literal.push(c),
        }
    }
    if !literal.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(Segment { pieces })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(segment: &str, text: &str) -> bool {
        parse_segment(segment, segment).unwrap().matches(text)
    }

    #[test]
    fn literal_and_whole_parameter_segments() {
        assert!(matches("pets", "pets"));
        assert!(!matches("pets", "pets2"));
        assert!(!matches("pets", ""));
        assert!(matches("", ""));
        assert!(matches("{id}", "1"));
        assert!(matches("{id}", ""));
    }

    #[test]
    fn text_around_parameters() {
        assert!(matches("{index}.diff", "7.diff"));
        assert!(matches("{index}.diff", ".diff"), "parameters may be empty");
        assert!(!matches("{index}.diff", "7.patch"));
        assert!(!matches("{index}.diff", "diff"));
        assert!(matches("{base}...{head}", "a...b"));
        assert!(matches("{base}...{head}", "a.b...c"));
        assert!(matches("{base}...{head}", "..."));
        assert!(!matches("{base}...{head}", "a..b"));
        assert!(matches("{name}:cancel", "ops:cancel"));
        assert!(
            matches("{name}:cancel", "a/b:cancel"),
            "a decoded `/` is text"
        );
        assert!(matches("copyrights.{format}", "copyrights.json"));
        assert!(matches("{a}.{b}.{c}.json", "1.2.3.json"));
        assert!(matches("{a}.{b}.{c}.json", "...json"));
        assert!(!matches("{a}.{b}.{c}.json", "1.2.json"));
        assert!(matches("x{a}x", "xx"));
        assert!(!matches("x{a}x", "x"), "the literals may not overlap");
        assert!(matches("ab{a}ba", "abba"));
        assert!(
            !matches("ab{a}ba", "aba"),
            "`ab` and `ba` may not share a byte"
        );
    }

    /// The leftmost choice agrees with trying every split, on every short text.
    #[test]
    fn leftmost_matching_agrees_with_every_split() {
        fn by_every_split(pieces: &[Piece], text: &str) -> bool {
            match pieces.split_first() {
                None => text.is_empty(),
                Some((Piece::Literal(lit), rest)) => text
                    .strip_prefix(lit.as_str())
                    .is_some_and(|tail| by_every_split(rest, tail)),
                Some((Piece::Param(_), rest)) => {
                    (0..=text.len()).any(|end| by_every_split(rest, &text[end..]))
                }
            }
        }
        let segments = [
            "{a}.{b}",
            "a{x}a",
            "{x}aa{y}a",
            "aa.{x}",
            "{x}.a.",
            ".{x}.{y}.",
            "a{x}",
        ];
        let mut texts = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..6 {
            level = level
                .iter()
                .flat_map(|t| ["a", ".", "b"].map(|c| format!("{t}{c}")))
                .collect();
            texts.extend(level.iter().cloned());
        }
        for segment in segments {
            let parsed = parse_segment(segment, segment).unwrap();
            for text in &texts {
                assert_eq!(
                    parsed.matches(text),
                    by_every_split(&parsed.pieces, text),
                    "{segment} against {text:?}"
                );
            }
        }
    }

    #[test]
    fn keys_and_shapes() {
        let t = PathTemplate::parse("/repos/{owner}/pulls/{index}.diff").unwrap();
        assert_eq!(t.route_key(), "/repos/{p1}/pulls/{p3}");
        assert_eq!(t.shape(), "/repos/{}/pulls/{}.diff");
    }

    #[test]
    fn the_route_ends_before_a_fragment() {
        let plain = PathTemplate::parse("/{Bucket}/{Key}").unwrap();
        assert_eq!(
            PathTemplate::parse("/{Bucket}/{Key}#uploadId").unwrap(),
            plain
        );
        let root = PathTemplate::parse("/#X-Amz-Target=Service.Operation").unwrap();
        assert_eq!(root, PathTemplate::parse("/").unwrap());
        assert_eq!(route_of("/layers#find=LayerVersion&Arn"), "/layers");
        assert!(PathTemplate::parse("#x").is_err());
    }

    #[test]
    fn rejects_what_no_matcher_can_express() {
        for bad in ["pets", "/a/{", "/a/}", "/a/{}", "/a/{x}{y}", "/a/{x{y}}"] {
            assert!(
                PathTemplate::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
