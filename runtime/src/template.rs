//! Path templates (`/pets/{petId}`, `/pulls/{index}.diff`, `/v2/{name}:cancel`).
//!
//! This file is shared verbatim with `keygate-codegen` (through `#[path]`), so the
//! generator rejects at generation time exactly the templates the runtime cannot route.
//! It depends on `std` only.

/// One piece of a path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text, compared byte for byte.
    Literal(String),
    /// A template parameter: one or more characters, never `/`.
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

    /// Whether `text` (one request path segment) matches this segment.
    pub fn matches(&self, text: &str) -> bool {
        match_pieces(&self.pieces, text)
    }
}

fn match_pieces(pieces: &[Piece], text: &str) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Piece::Literal(lit), rest)) => text
            .strip_prefix(lit.as_str())
            .is_some_and(|tail| match_pieces(rest, tail)),
        Some((Piece::Param(_), rest)) => {
            if rest.is_empty() {
                return !text.is_empty() && !text.contains('/');
            }
            // A parameter takes at least one byte; try every split (segments are short).
            text.char_indices()
                .skip(1)
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .any(|end| !text[..end].contains('/') && match_pieces(rest, &text[end..]))
        }
    }
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    /// The segments after the leading `/`.
    pub segments: Vec<Segment>,
}

impl PathTemplate {
    /// Parses a template. The error says what is wrong, for a message that adds where.
    pub fn parse(template: &str) -> Result<PathTemplate, String> {
        let Some(rest) = template.strip_prefix('/') else {
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

    /// Whether a request path (without base path) matches every segment.
    pub fn matches(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let mut parts = rest.split('/');
        for segment in &self.segments {
            match parts.next() {
                Some(part) if segment.matches(part) => {}
                _ => return false,
            }
        }
        parts.next().is_none()
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

    fn matches(template: &str, path: &str) -> bool {
        PathTemplate::parse(template).unwrap().matches(path)
    }

    #[test]
    fn whole_segment_parameters() {
        assert!(matches("/pets/{id}", "/pets/1"));
        assert!(!matches("/pets/{id}", "/pets/"));
        assert!(!matches("/pets/{id}", "/pets/1/x"));
        assert!(matches("/pets", "/pets"));
        assert!(!matches("/pets", "/pets/"));
        assert!(matches("/", "/"));
    }

    #[test]
    fn partial_segment_parameters() {
        assert!(matches("/pulls/{index}.diff", "/pulls/7.diff"));
        assert!(!matches("/pulls/{index}.diff", "/pulls/.diff"));
        assert!(!matches("/pulls/{index}.diff", "/pulls/7.patch"));
        assert!(matches("/compare/{base}...{head}", "/compare/a...b"));
        assert!(matches("/compare/{base}...{head}", "/compare/a.b...c"));
        assert!(!matches("/compare/{base}...{head}", "/compare/a..b"));
        assert!(matches("/v2/{name}:cancel", "/v2/ops:cancel"));
        assert!(matches("/copyrights.{format}", "/copyrights.json"));
        assert!(matches("/sites/{id}/x/{id}", "/sites/1/x/2"));
    }

    #[test]
    fn keys_and_shapes() {
        let t = PathTemplate::parse("/repos/{owner}/pulls/{index}.diff").unwrap();
        assert_eq!(t.route_key(), "/repos/{p1}/pulls/{p3}");
        assert_eq!(t.shape(), "/repos/{}/pulls/{}.diff");
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
