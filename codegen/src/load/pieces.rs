//! Parses a large YAML document as pieces, on several threads, into the tree one
//! `yaml_serde` parse of the whole text gives.
//!
//! yaml_serde has libyaml turn the whole document into a list of events before it builds
//! any of the tree, so a document of a few megabytes is parsed far outside the caches
//! and its time per byte grows with its size. Cut into pieces of about 64 kB, each
//! piece's events and tree stay in cache, and the pieces parse side by side.
//!
//! A piece is a run of consecutive entries of one block mapping, written under verbatim
//! copies of the key lines that lead to that mapping, so every node in it sits at the
//! depth it has in the document. Pieces are cut only before a line that starts a key at
//! that mapping's indentation. A mapping entry bigger than a piece whose key line is a
//! bare `key:` is itself cut into pieces: its key line ends the piece it is in (its
//! value is null there) and the pieces of its value fill that null.
//!
//! Why a cut cannot change the result: the text of a piece is the text of the document
//! between two cuts, under the same key lines. If a cut falls where the document is not
//! between two entries of that mapping, it falls inside a quoted scalar or a flow
//! collection that spans lines (block and plain scalars end at a line indented no
//! deeper than the mapping's keys), so the piece before the cut is unterminated and
//! fails to parse. An alias
//! whose anchor lies in another piece fails too. Whenever a piece fails, the pieces do
//! not fit together exactly (a key twice, a hole that is not null, a piece that is not
//! the expected mapping), or the text holds something this reasoning does not cover
//! (line breaks other than LF and CRLF, document markers after the start, anchors and
//! aliases in one piece, whose expansion limit is counted per document), the caller
//! parses the whole text in one go. So every value and every error is that of one parse.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use yaml_serde::{Mapping, Value};

/// Smallest text worth cutting: below it, one parse fits the caches anyway.
pub(crate) const SPLIT_FROM: usize = 256 * 1024;

/// The size pieces are cut at (a piece ends at the first cut past this many bytes).
pub(crate) const PIECE_BYTES: usize = 64 * 1024;

/// Deepest mapping cut into pieces; deeper values stay whole in their piece. Planning
/// recurses once per level, and yaml_serde refuses documents past 128 levels anyway.
const MAX_LEVELS: usize = 32;

/// Most threads used, whatever the machine offers.
const MAX_THREADS: usize = 8;

/// Stack of each parsing thread: the main thread's usual size, as one parse would get.
const STACK_BYTES: usize = 8 * 1024 * 1024;

/// The threads to parse on: `KEYGATE_THREADS` when it is a positive number, else the
/// machine's available parallelism, at most [`MAX_THREADS`].
pub(crate) fn threads() -> usize {
    std::env::var("KEYGATE_THREADS")
        .ok()
        .and_then(|value| value.trim().parse::<NonZeroUsize>().ok())
        .map_or_else(
            || {
                std::thread::available_parallelism()
                    .map_or(1, NonZeroUsize::get)
                    .min(MAX_THREADS)
            },
            NonZeroUsize::get,
        )
}

/// The tree of `text` parsed as pieces of about `piece_bytes` on up to `threads`
/// threads, or `None` when it cannot be cut into two or more pieces or any piece says
/// the cut does not hold; then parse `text` in one go.
pub(crate) fn parse_in_pieces(text: &str, piece_bytes: usize, threads: usize) -> Option<Value> {
    if has_other_line_breaks(text) {
        return None;
    }
    let lines = lines(text);
    let plan = Planner {
        text,
        lines: &lines,
        piece_bytes: piece_bytes.max(1),
    }
    .root()?;
    let mut texts = Vec::new();
    plan.texts(&mut texts);
    if texts.len() < 2 || texts.iter().any(|text| may_expand_aliases(text)) {
        return None;
    }
    let mut trees = parse_all(&texts, threads)?.into_iter();
    let map = plan.assemble(&mut trees)?;
    Some(Value::Mapping(map))
}

/// Whether `text` holds a line break other than LF and CRLF: a lone CR, or one of the
/// Unicode breaks libyaml also honours (NEL, LS, PS). Lines here are cut at LF only.
fn has_other_line_breaks(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'\r', bytes).any(|at| bytes.get(at + 1) != Some(&b'\n'))
        || ["\u{85}", "\u{2028}", "\u{2029}"]
            .iter()
            .any(|others| memchr::memmem::find(bytes, others.as_bytes()).is_some())
}

/// Whether a piece may hold both an anchor and an alias. yaml_serde caps alias
/// expansion per document at 100 times its events, and pieces repeat their key lines,
/// so only a piece without expansions is sure to be refused exactly when the document
/// would be.
fn may_expand_aliases(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr(b'&', bytes).is_some() && memchr::memchr(b'*', bytes).is_some()
}

/// One line of the text.
#[derive(Debug, Clone, Copy)]
struct Line {
    /// Byte offset of its first byte.
    start: usize,
    /// Byte offset just past its LF (or the end of the text).
    end: usize,
    /// Leading spaces.
    indent: usize,
    /// What follows the leading spaces.
    kind: LineKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// Nothing but spaces (and a CR).
    Blank,
    /// A `#` comment.
    Comment,
    /// Anything else; the byte after the leading spaces.
    Content(u8),
}

fn lines(text: &str) -> Vec<Line> {
    let bytes = text.as_bytes();
    let mut lines = Vec::with_capacity(bytes.len() / 32);
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |at| start + at + 1);
        let line = &bytes[start..end];
        let indent = line.iter().take_while(|&&byte| byte == b' ').count();
        let kind = match line.get(indent) {
            None | Some(b'\n' | b'\r') => LineKind::Blank,
            Some(b'#') => LineKind::Comment,
            Some(&byte) => LineKind::Content(byte),
        };
        lines.push(Line {
            start,
            end,
            indent,
            kind,
        });
        start = end;
    }
    lines
}

/// A mapping cut into pieces.
#[derive(Debug)]
struct Block {
    /// Key lines above the mapping (the wrapper every piece of it repeats).
    levels: usize,
    pieces: Vec<Piece>,
}

#[derive(Debug)]
struct Piece {
    text: String,
    /// When the piece's last entry is a key whose value was cut into pieces of its own.
    hole: Option<Block>,
}

impl Block {
    /// Every piece's text, a piece before the pieces of its hole.
    fn texts<'a>(&'a self, out: &mut Vec<&'a str>) {
        for piece in &self.pieces {
            out.push(&piece.text);
            if let Some(hole) = &piece.hole {
                hole.texts(out);
            }
        }
    }

    /// The mapping, from the parsed pieces in the order [`Block::texts`] lists them.
    fn assemble(&self, trees: &mut impl Iterator<Item = Value>) -> Option<Mapping> {
        let mut map = Mapping::new();
        for piece in &self.pieces {
            let mut entries = unwrap_levels(trees.next()?, self.levels)?;
            if let Some(hole) = &piece.hole {
                let filled = hole.assemble(trees)?;
                let last = entries.values_mut().last()?;
                if !last.is_null() {
                    return None;
                }
                *last = Value::Mapping(filled);
            }
            for (key, value) in entries {
                if map.insert(key, value).is_some() {
                    return None;
                }
            }
        }
        Some(map)
    }
}

/// The mapping under `levels` one-entry mappings (the repeated key lines).
fn unwrap_levels(tree: Value, levels: usize) -> Option<Mapping> {
    let mut node = tree;
    for _ in 0..levels {
        let Value::Mapping(map) = node else {
            return None;
        };
        if map.len() != 1 {
            return None;
        }
        node = map.into_iter().next()?.1;
    }
    match node {
        Value::Mapping(map) => Some(map),
        _ => None,
    }
}

struct Planner<'t> {
    text: &'t str,
    lines: &'t [Line],
    piece_bytes: usize,
}

impl Planner<'_> {
    /// The document's root mapping, cut; `None` when the root is not a block mapping of
    /// keys at column 0 that pieces can be cut from.
    fn root(&self) -> Option<Block> {
        // Before the first key: blanks, comments, directives, then at most one `---`
        // with nothing after it. Nothing of the kind may come later.
        let mut first = None;
        let mut started = false;
        for (index, line) in self.lines.iter().enumerate() {
            let LineKind::Content(byte) = line.kind else {
                continue;
            };
            let bytes = self.bytes(line);
            if line.indent == 0 && byte == b'%' && !started {
                continue;
            }
            if line.indent == 0 && is_marker(bytes, b"---") && !started {
                if !rest_is_empty(&bytes[3..]) {
                    return None;
                }
                started = true;
                continue;
            }
            first = Some(index);
            break;
        }
        let first = first?;
        for line in &self.lines[first..] {
            let LineKind::Content(byte) = line.kind else {
                continue;
            };
            if line.indent == 0 {
                let bytes = self.bytes(line);
                let column_zero_key = starts_key(byte)
                    && byte != b'%'
                    && !is_marker(bytes, b"---")
                    && !is_marker(bytes, b"...");
                if !column_zero_key {
                    return None;
                }
            }
        }
        if self.lines[first].indent != 0 {
            return None;
        }
        Some(self.block(0, first, self.lines.len(), String::new(), 0))
    }

    /// Cuts the mapping whose keys are the lines at the indentation of `lines[first]`,
    /// within `lines[from..to]`, under `wrapper` (`levels` key lines).
    fn block(&self, from: usize, first: usize, to: usize, wrapper: String, levels: usize) -> Block {
        let indent = self.lines[first].indent;
        let mut pieces = Vec::new();
        // The piece being gathered: its first line, and whether it holds an entry yet
        // (a piece of blank and comment lines alone would parse to null).
        let mut piece_from = from;
        let mut gathered_entry = false;
        let mut index = first;
        while index < to {
            let end = self.entry_end(index, to, indent);
            let line = self.lines[index];
            let entry_bytes = self.lines[end - 1].end - line.start;
            let gathered = line.start - self.lines[piece_from].start;
            if gathered_entry && gathered >= self.piece_bytes {
                pieces.push(self.piece(&wrapper, piece_from, index, None));
                piece_from = index;
            }
            gathered_entry = true;
            if entry_bytes > self.piece_bytes {
                if let Some(hole) = self.value_block(index, end, indent, &wrapper, levels) {
                    pieces.push(self.piece(&wrapper, piece_from, index + 1, Some(hole)));
                    piece_from = end;
                    gathered_entry = false;
                }
            }
            index = end;
        }
        if piece_from < to {
            pieces.push(self.piece(&wrapper, piece_from, to, None));
        }
        Block { levels, pieces }
    }

    /// The end (exclusive) of the entry whose key is on `lines[key]`: the next key line
    /// at `indent`, or `to`.
    fn entry_end(&self, key: usize, to: usize, indent: usize) -> usize {
        (key + 1..to)
            .find(|&index| {
                let line = self.lines[index];
                matches!(line.kind, LineKind::Content(byte) if line.indent == indent && starts_key(byte))
            })
            .unwrap_or(to)
    }

    /// The value of the entry on `lines[key..end]` cut into a block of its own, when its
    /// key line is a bare `key:` and its value a block mapping indented deeper whose
    /// every line is.
    fn value_block(
        &self,
        key: usize,
        end: usize,
        indent: usize,
        wrapper: &str,
        levels: usize,
    ) -> Option<Block> {
        let key_line = self.lines[key];
        if levels >= MAX_LEVELS || !is_bare_key(self.bytes(&key_line)) {
            return None;
        }
        let body = &self.lines[key + 1..end];
        // Every non-blank line deeper than the key: then nothing at the key's
        // indentation (a sequence written flush with its key, a `?` or `:` line) or
        // above it belongs to the value.
        let shallow = body.iter().any(|line| match line.kind {
            LineKind::Blank | LineKind::Comment => false,
            LineKind::Content(_) => line.indent <= indent,
        });
        if shallow {
            return None;
        }
        let first = key
            + 1
            + body
                .iter()
                .position(|line| matches!(line.kind, LineKind::Content(_)))?;
        let line = self.lines[first];
        match line.kind {
            LineKind::Content(byte) if starts_key(byte) => {}
            _ => return None,
        }
        // The key line ends with its LF: the value's lines follow it.
        let inner = [wrapper, &self.text[key_line.start..key_line.end]].concat();
        Some(self.block(key + 1, first, end, inner, levels + 1))
    }

    /// A piece of `lines[from..to]` under `wrapper`.
    fn piece(&self, wrapper: &str, from: usize, to: usize, hole: Option<Block>) -> Piece {
        let body = &self.text[self.lines[from].start..self.lines[to - 1].end];
        let mut text = String::with_capacity(wrapper.len() + body.len());
        text.push_str(wrapper);
        text.push_str(body);
        Piece { text, hole }
    }

    fn bytes(&self, line: &Line) -> &[u8] {
        &self.text.as_bytes()[line.start + line.indent..line.end]
    }
}

/// Whether a line whose first byte (after its indentation) is `byte` may start an
/// implicit key: not a sequence entry, explicit key or value, comment, tab, flow
/// collection, node property, block scalar or reserved indicator.
fn starts_key(byte: u8) -> bool {
    !matches!(
        byte,
        b'-' | b'?'
            | b':'
            | b'#'
            | b'\t'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b','
            | b'!'
            | b'&'
            | b'*'
            | b'|'
            | b'>'
            | b'@'
            | b'`'
            | b'%'
    )
}

/// Whether `bytes` (a line after its indentation) is a bare `key:`: a plain key of
/// letters, digits and `_ - . / $`, its colon, then only spaces, a comment or the line
/// end.
fn is_bare_key(bytes: &[u8]) -> bool {
    let Some(colon) = bytes.iter().position(|&byte| byte == b':') else {
        return false;
    };
    let key = &bytes[..colon];
    let plain = |byte: &u8| byte.is_ascii_alphanumeric() || b"_-./$".contains(byte);
    !key.is_empty()
        && (key[0].is_ascii_alphanumeric() || key[0] == b'_' || key[0] == b'/')
        && key.iter().all(plain)
        && rest_is_empty(&bytes[colon + 1..])
}

/// Whether what is left of a line is only spaces, then a comment or nothing.
fn rest_is_empty(rest: &[u8]) -> bool {
    let rest = rest.trim_ascii_start();
    rest.is_empty() || rest[0] == b'#'
}

/// Whether `bytes` (a line from column 0) is the document marker `marker` (`---` or
/// `...`) followed by a space, a tab or the line end.
fn is_marker(bytes: &[u8], marker: &[u8]) -> bool {
    bytes.starts_with(marker)
        && matches!(
            bytes.get(marker.len()),
            None | Some(b' ' | b'\t' | b'\n' | b'\r')
        )
}

/// Every text parsed on up to `threads` threads, in order; `None` when any fails.
fn parse_all(texts: &[&str], threads: usize) -> Option<Vec<Value>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            if index >= texts.len() || failed.load(Ordering::Relaxed) {
                break;
            }
            match yaml_serde::from_str::<Value>(texts[index]) {
                Ok(tree) => done.push((index, tree)),
                Err(_) => {
                    failed.store(true, Ordering::Relaxed);
                    break;
                }
            }
        }
        done
    };
    let threads = threads.clamp(1, texts.len());
    let done: Vec<Vec<(usize, Value)>> = std::thread::scope(|scope| {
        // A thread the system refuses just leaves its share to the others.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("keygate-parse".into())
                    .stack_size(STACK_BYTES)
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        let mut done = vec![work()];
        for helper in helpers {
            done.push(helper.join().ok()?);
        }
        Some(done)
    })?;
    if failed.load(Ordering::Relaxed) {
        return None;
    }
    let mut trees: Vec<Option<Value>> = (0..texts.len()).map(|_| None).collect();
    for (index, tree) in done.into_iter().flatten() {
        trees[index] = Some(tree);
    }
    trees.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree of one parse, shown with its order and tags.
    fn whole(text: &str) -> String {
        format!(
            "{:?}",
            yaml_serde::from_str::<Value>(text).expect("valid YAML")
        )
    }

    fn cut(text: &str, threads: usize) -> Option<String> {
        parse_in_pieces(text, 1, threads).map(|tree| format!("{tree:?}"))
    }

    const NESTED: &str = "openapi: 3.0.3\r\n\
        paths:\n\
        # column 0\n\
        \x20 /a:\n    get: {operationId: a}\n\
        \x20 /b/{id}:\n    post:\n      security:\n        - k: []\n\
        \x20 '/c':\n    description: |+\n      kept\n\n\n\
        \x20 /d:\n    get: {operationId: d}\n\
        components:\n  securitySchemes:\n    k: {type: apiKey, in: header, name: K}\n\
        x-list:\n  items:\n  - flush with its key\n";

    #[test]
    fn a_cut_document_parses_to_the_tree_of_one_parse() {
        for threads in [1, 2] {
            assert_eq!(
                cut(NESTED, threads).as_deref(),
                Some(whole(NESTED).as_str())
            );
        }
        let mut texts = Vec::new();
        let lines = lines(NESTED);
        let plan = Planner {
            text: NESTED,
            lines: &lines,
            piece_bytes: 1,
        }
        .root()
        .expect("a plan");
        plan.texts(&mut texts);
        // With 1-byte pieces every bare key over a block mapping is a hole: `openapi`,
        // `paths:`, `/a:` and its `get`, `/b/{id}`, `/c`, `/d:` and its `get`,
        // `components:`, `securitySchemes:`, `k`, `x-list:`, and `items` with its
        // sequence (flush with its key, so not cut).
        assert_eq!(texts.len(), 13, "{texts:#?}");
        // A comment before the first key goes with it.
        assert_eq!(texts[2], "paths:\n# column 0\n  /a:\n");
        assert_eq!(
            texts[4],
            "paths:\n  /b/{id}:\n    post:\n      security:\n        - k: []\n"
        );
    }

    #[test]
    fn a_cut_that_may_not_hold_parses_whole() {
        let declined = [
            (
                "a quoted scalar across a key line",
                "p:\n  a: \"x\n  b: y\"\n  c: 1\n",
            ),
            (
                "a flow map across a key line",
                "p:\n  a: {x: 1,\n  b: 2}\n  c: 1\n",
            ),
            ("an alias of another piece", "a: &x 1\nb: *x\n"),
            ("a key in two pieces", "p:\n  a: 1\n  b: 2\n  a: 3\n"),
            ("a lone CR", "a: 1\rb: 2\nc: 3\n"),
            ("a line separator", "a: 1\u{2028}b: 2\nc: 3\n"),
            ("a document end", "a: 1\n...\nb: 2\n"),
            ("a second document", "a: 1\n---\nb: 2\n"),
            ("a sequence at the root", "- a\n- b\n"),
            ("an explicit key at the root", "? a\n: 1\nb: 2\n"),
            ("a tab at column 0", "a: 1\n\tb: 2\nc: 3\n"),
            ("a root indented", "  a: 1\n  b: 2\n"),
            ("one piece only", "a: 1\n"),
        ];
        for (what, text) in declined {
            assert_eq!(cut(text, 2), None, "{what}");
        }
    }

    #[test]
    fn values_that_are_not_bare_block_mappings_stay_in_one_piece() {
        // A tagged map, a sequence flush with its key, a block scalar, a map after `?`:
        // cut only between their entries, each parses as written.
        let text = "a: !!map\n  x: 1\n  y: 2\nb:\n  s:\n  - 1\n  - 2\nc: |\n  x: 1\n  y: 2\nd:\n  ? x\n  : 1\n  y: 2\n";
        assert_eq!(cut(text, 1).as_deref(), Some(whole(text).as_str()));
    }

    #[test]
    fn key_lines_are_recognised() {
        assert!(is_bare_key(b"paths:\n"));
        assert!(is_bare_key(b"x-tag_groups.v1:   # note\r\n"));
        assert!(is_bare_key(b"/pets/x:"));
        assert!(!is_bare_key(b"paths: {}\n"));
        assert!(!is_bare_key(b"paths: &a\n"));
        assert!(!is_bare_key(b"\"paths\":\n"));
        assert!(!is_bare_key(b"a b:\n"));
        assert!(is_marker(b"---\n", b"---"));
        assert!(is_marker(b"... # end", b"..."));
        assert!(!is_marker(b"----\n", b"---"));
    }
}
