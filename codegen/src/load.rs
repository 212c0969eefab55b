//! Lowers Swagger 2.0, OpenAPI 3.0.x and 3.1.x documents (YAML or JSON) into the IR.
//!
//! The document is parsed into a generic [`yaml_serde::Value`] tree and only the parts
//! keygate uses are walked: the version, `info.title`, the base path, the security
//! schemes, the root `security` and the operations under `paths`. A typed OpenAPI model
//! would reject real documents over parts keygate never reads (3.1 type arrays, odd
//! schemas, examples holding `$ref` keys), so everything else is left unread.
//! Mappings keep insertion order, so document order survives.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use yaml_serde::{Mapping, Value};

use crate::error::{elide, pointer_token, Error};
use crate::ir::{
    Alternative, Api, HookedKind, KeyLocation, Method, Operation, Requirement, RequirementSource,
    Scheme, SchemeKind, SchemeUse, SpecVersion,
};
use crate::template::PathTemplate;

mod pieces;

/// The tree YAML `text` parses to when cut into pieces of about `piece_bytes` and parsed
/// on up to `threads` threads, or `None` when it is not cut (too few pieces, or a piece
/// found a reason not to). For tests and fuzzing, which hold it to one parse's tree.
#[doc(hidden)]
#[must_use]
pub fn parse_yaml_in_pieces(text: &str, piece_bytes: usize, threads: usize) -> Option<Value> {
    pieces::parse_in_pieces(text, piece_bytes, threads)
}

/// Longest `$ref` chain followed before giving up (also stops cycles the trail misses).
const MAX_REF_HOPS: usize = 32;

/// Loads a document from a file (YAML or JSON, chosen by content: a first
/// non-whitespace character `{` means JSON, anything else YAML).
///
/// # Errors
///
/// When the file cannot be read or is not UTF-8, and as [`load_str`].
pub fn load_file(path: &Path) -> Result<Api, Error> {
    load_file_with(path, ParsedTree::Free)
}

/// What the loader does with the parsed document once the IR is built from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ParsedTree {
    /// Freed before the loader returns.
    #[default]
    Free,
    /// Left for the end of the process to take back: for a command that exits right
    /// after loading one document (`keygate generate`). Freeing a large document node
    /// by node takes about a sixth of its generation time; the exit frees it at once.
    LeaveToExit,
}

/// [`load_file`], with the parsed document treated as `tree` says.
///
/// # Errors
///
/// As [`load_file`].
pub fn load_file_with(path: &Path, tree: ParsedTree) -> Result<Api, Error> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|err| Error::file(&source, format!("cannot read the file: {err}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|err| not_utf8(&source, err.as_bytes(), err.utf8_error()))?;
    load_str_with(&source, &text, tree)
}

/// The error for bytes that are not UTF-8, with the line and column of the first bad byte.
fn not_utf8(source: &str, bytes: &[u8], error: std::str::Utf8Error) -> Error {
    let at = error.valid_up_to();
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Error {
            line: Some(1),
            column: Some(1),
            ..Error::file(
                source,
                "the file is UTF-16 (it starts with a UTF-16 byte-order mark); keygate reads \
                 UTF-8, so convert it first",
            )
        };
    }
    // Everything before `at` is valid UTF-8, so it can be counted in characters.
    let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    let (line, column) = line_and_column(before);
    Error {
        line: Some(line),
        column: Some(column),
        ..Error::file(source, format!("not UTF-8 text at byte {at}"))
    }
}

/// The 1-based line and column (in characters) just after `before`.
fn line_and_column(before: &str) -> (usize, usize) {
    let line = before.matches('\n').count() + 1;
    let last_line = before.rsplit('\n').next().unwrap_or_default();
    (line, last_line.chars().count() + 1)
}

/// Loads a document from text; `source` names it in messages ([`Api::source`] and
/// [`Error::file`]).
///
/// # Errors
///
/// When the text is not YAML or JSON (with line and column), is not a supported version,
/// or breaks a rule keygate relies on (an undefined scheme, an external `$ref`, a path
/// template no matcher can express, ...): the error names the JSON pointer.
///
/// Sizes are not limited: 10,000 alternatives in one requirement or a 1 MB scheme name
/// load, in time linear in the input. Nesting is, at 128 levels, and so is what YAML
/// aliases may expand to; past either the text is refused as YAML or JSON.
pub fn load_str(source: &str, text: &str) -> Result<Api, Error> {
    load_str_with(source, text, ParsedTree::Free)
}

fn load_str_with(source: &str, text: &str, tree: ParsedTree) -> Result<Api, Error> {
    let root = parse(source, text)?;
    let api = lower(source, &root);
    if tree == ParsedTree::LeaveToExit {
        std::mem::forget(root);
    }
    api
}

/// The IR of a parsed document.
fn lower(source: &str, root: &Value) -> Result<Api, Error> {
    let Some(map) = as_map(root) else {
        return Err(match root {
            Value::Null => Error::file(source, "the document is empty"),
            _ => Error::at(
                source,
                "",
                format!(
                    "the document is a {}, not a map of OpenAPI fields",
                    kind(root)
                ),
            ),
        });
    };
    let version = spec_version(source, map)?;
    Document {
        source,
        root,
        map,
        version,
    }
    .lower()
}

/// Parses text into a tree: JSON when it starts with `{`, YAML otherwise.
fn parse(source: &str, text: &str) -> Result<Value, Error> {
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
    let estimate = flow_depth_estimate(text, true);
    let estimate = if estimate > CHEAP_FLOW_DEPTH {
        estimate
    } else {
        estimate.max(flow_depth_estimate(text, false))
    };
    if estimate > CHEAP_FLOW_DEPTH {
        if let Some(at) = deep_flow(text) {
            return Err(deep_flow_error(source, at));
        }
    }
    // A large document is parsed as pieces when it can be; any doubt parses it whole.
    let in_pieces = (text.len() >= pieces::SPLIT_FROM)
        .then(|| pieces::parse_in_pieces(text, pieces::PIECE_BYTES, pieces::threads()))
        .flatten();
    let mut value: Value = match in_pieces.map_or_else(|| yaml_serde::from_str(text), Ok) {
        Ok(value) => value,
        Err(err) => {
            // Past 128 levels by the estimate, the error may be the flow depth, which
            // the exact check places as it would have before parsing.
            if estimate > MAX_YAML_DEPTH && estimate <= CHEAP_FLOW_DEPTH {
                if let Some(at) = deep_flow(text) {
                    return Err(deep_flow_error(source, at));
                }
            }
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

/// A limit the YAML 1.2 fallback stopped at, with its place (1-based line and column).
struct YamlLimit {
    message: String,
    line: usize,
    column: usize,
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

/// Flow depth, by [`flow_depth_estimate`], up to which libyaml parses before the exact
/// check of [`deep_flow`] (which costs about half a parse). libyaml looks at every open
/// flow level for each token: 4 MB of sequences nested 250 deep take 2.4 s, about what
/// 100 levels (allowed anyway) take, 2.3 s; 1,000 levels take 9 s.
const CHEAP_FLOW_DEPTH: usize = 2 * MAX_YAML_DEPTH;

fn deep_flow_error(source: &str, (line, column): (usize, usize)) -> Error {
    Error {
        line: Some(line),
        column: Some(column),
        ..Error::file(
            source,
            format!(
                "not valid YAML: flow collections nested deeper than {MAX_YAML_DEPTH} levels \
                 (recursion limit exceeded)"
            ),
        )
    }
}

/// Where a flow collection (`[`, `{`) opens more than [`MAX_YAML_DEPTH`] levels deep.
/// libyaml looks at every open flow level for each token, so its time grows with the
/// square of the depth (100,000 levels take over a minute) before yaml_serde refuses the
/// depth; text estimated deeper than [`CHEAP_FLOW_DEPTH`] is checked first, text between
/// the two depths only when libyaml fails (real documents are never that deep).
fn deep_flow(text: &str) -> Option<(usize, usize)> {
    use yaml_rust2::scanner::{Scanner, Token, TokenType};
    let mut depth = 0usize;
    let mut scanner = Scanner::new(text.chars());
    for Token(mark, token) in &mut scanner {
        match token {
            TokenType::FlowSequenceStart | TokenType::FlowMappingStart => {
                depth += 1;
                if depth > MAX_YAML_DEPTH {
                    return Some((mark.line(), mark.col() + 1));
                }
            }
            TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    // The scanner holds tokens back while a `[` may still start a key, and gives up past
    // 255 levels; other errors are left to yaml_serde to report.
    let error = scanner.get_error()?;
    let mark = error.marker();
    (error.info() == "recursion limit exceeded").then(|| (mark.line(), mark.col() + 1))
}

/// The deepest run of `[`/`{` not yet closed, skipping comments, block scalars and
/// (with `quotes`) quoted scalars. Brackets inside plain scalars count too, so for
/// ordinary text this is at least the real flow depth; it only decides whether
/// [`deep_flow`] parses.
fn flow_depth_estimate(text: &str, quotes: bool) -> usize {
    /// The bytes [`flow_depth_estimate`] acts on; every other byte only sets `last`
    /// (blanks not even that).
    const FLOW_ESTIMATE_SPECIAL: [bool; 256] = {
        let mut table = [false; 256];
        let special = b"\n#\"'|>[{]}";
        let mut k = 0;
        while k < special.len() {
            table[special[k] as usize] = true;
            k += 1;
        }
        table
    };

    let bytes = text.as_bytes();
    let (mut depth, mut deepest) = (0usize, 0usize);
    // The last byte that is not a space, `\n` at the start of a line.
    let mut last = b'\n';
    // Where the current line starts (none for the first); its indentation is counted
    // only when a block scalar needs it.
    let mut line_start = None;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if !FLOW_ESTIMATE_SPECIAL[usize::from(byte)] {
            // Most bytes only become `last`, and spaces not even that: pass a whole run
            // of them at once.
            let start = i;
            i += bytes[i..]
                .iter()
                .position(|&b| FLOW_ESTIMATE_SPECIAL[usize::from(b)])
                .unwrap_or(bytes.len() - i);
            if let Some(&b) = bytes[start..i].iter().rev().find(|&&b| !is_blank(b)) {
                last = b;
            }
            continue;
        }
        let spaced = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r');
        i += 1;
        match byte {
            b'\n' => {
                last = b'\n';
                line_start = Some(i);
                continue;
            }
            b' ' | b'\t' | b'\r' => continue,
            b'#' if spaced => {
                i += bytes[i..].iter().take_while(|&&b| b != b'\n').count();
                continue;
            }
            b'"' | b'\''
                if quotes && matches!(last, b'\n' | b':' | b'-' | b'[' | b'{' | b',' | b'?') =>
            {
                while let Some(&next) = bytes.get(i) {
                    i += 1;
                    if byte == b'"' && next == b'\\' {
                        i += 1;
                    } else if next == byte {
                        // `''` inside single quotes is one quote.
                        if byte == b'\'' && bytes.get(i) == Some(&b'\'') {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            // A block scalar's indicator follows a blank (in `a-|b` it is text), and only
            // outside brackets: inside a flow collection there are no block scalars, so
            // `[a - |` must not hide the lines after it. (A bracket of a plain scalar
            // left open only makes the estimate count more.)
            b'|' | b'>' if spaced && depth == 0 && matches!(last, b'\n' | b':' | b'-' | b'?') => {
                // A block scalar: skip the lines indented deeper than this one.
                let line_indent = line_start.map_or(0, |start: usize| {
                    bytes[start..].iter().take_while(|&&b| b == b' ').count()
                });
                i += bytes[i..].iter().take_while(|&&b| b != b'\n').count();
                while bytes.get(i) == Some(&b'\n') {
                    let line = &bytes[i + 1..];
                    let indent = line.iter().take_while(|&&b| b == b' ').count();
                    let blank = matches!(line.get(indent), None | Some(b'\n' | b'\r'));
                    if !blank && indent <= line_indent {
                        break;
                    }
                    i += 1 + line.iter().take_while(|&&b| b != b'\n').count();
                }
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        last = byte;
    }
    deepest
}

/// A space, tab or carriage return: what [`flow_depth_estimate`] steps over.
fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r')
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

/// Deepest nesting the YAML 1.2 fallback builds; yaml_serde stops at the same depth.
const MAX_YAML_DEPTH: usize = 128;

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
fn yaml12_fallback(text: &str) -> Result<Value, Option<YamlLimit>> {
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

/// Drops the parser's own ` at line N column M` where it repeats the location the error
/// carries as fields. Any other location in the text (libyaml's context mark, as in
/// "while scanning a block scalar at line 4 column 9") stays.
fn strip_location(message: &str, line: usize, column: usize) -> String {
    message.replacen(&format!(" at line {line} column {column}"), "", 1)
}

/// Reads `swagger` / `openapi` and names the dialect.
fn spec_version(source: &str, map: &Mapping) -> Result<SpecVersion, Error> {
    const SUPPORTED: &str =
        "keygate reads `swagger: \"2.0\"`, `openapi: 3.0.x` and `openapi: 3.1.x`";
    if let Some(value) = map.get("openapi") {
        let text = scalar_text(value).unwrap_or_default();
        return if is_version(&text, "3.0") {
            Ok(SpecVersion::OpenApi30)
        } else if is_version(&text, "3.1") {
            Ok(SpecVersion::OpenApi31)
        } else {
            Err(Error::at(
                source,
                "/openapi",
                format!(
                    "unsupported version `openapi: {}`; {SUPPORTED}",
                    elide(&shown(value))
                ),
            ))
        };
    }
    if let Some(value) = map.get("swagger") {
        let text = scalar_text(value).unwrap_or_default();
        return if text == "2.0" || text == "2" {
            Ok(SpecVersion::Swagger2)
        } else {
            Err(Error::at(
                source,
                "/swagger",
                format!(
                    "unsupported version `swagger: {}`; {SUPPORTED}",
                    elide(&shown(value))
                ),
            ))
        };
    }
    Err(Error::at(
        source,
        "",
        format!("the document has neither `openapi` nor `swagger` at its root; {SUPPORTED}"),
    ))
}

/// Whether `text` is `base` or `base.<anything>` (`3.0`, `3.0.3`, `3.0.0-rc1`).
fn is_version(text: &str, base: &str) -> bool {
    text.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// One parsed document being lowered.
struct Document<'a> {
    source: &'a str,
    root: &'a Value,
    map: &'a Mapping,
    version: SpecVersion,
}

impl<'a> Document<'a> {
    fn lower(&self) -> Result<Api, Error> {
        let schemes = self.schemes()?;
        let index: HashMap<&str, usize> = schemes
            .iter()
            .enumerate()
            .map(|(i, scheme)| (scheme.name.as_str(), i))
            .collect();
        let root = match self.map.get("security") {
            Some(value) => Some(self.requirement(value, "/security".to_owned(), &index)?),
            None => None,
        };
        let operations = self.operations(&index, root.as_ref())?;
        Ok(Api {
            source: self.source.to_owned(),
            version: self.version,
            title: self.title(),
            base_path: self.base_path(),
            schemes,
            root,
            operations,
        })
    }

    fn error(&self, pointer: impl Into<String>, message: impl Into<String>) -> Error {
        Error::at(self.source, pointer, message)
    }

    fn title(&self) -> String {
        self.map
            .get("info")
            .and_then(as_map)
            .and_then(|info| info.get("title"))
            .and_then(scalar_text)
            .unwrap_or_default()
    }

    // ---- base path -------------------------------------------------------------

    fn base_path(&self) -> String {
        if self.version == SpecVersion::Swagger2 {
            let base = self.map.get("basePath").and_then(as_str).unwrap_or("");
            return normalize_base(base);
        }
        let first = match self.map.get("servers").map(untag) {
            Some(Value::Sequence(servers)) => servers.first(),
            _ => None,
        };
        first.map(server_base_path).unwrap_or_default()
    }

    // ---- $ref ------------------------------------------------------------------

    /// Follows `$ref` chains from `node` (found at `pointer`) to a node without one.
    /// Returns the node and its own pointer.
    fn follow_refs(&self, node: &'a Value, pointer: String) -> Result<(&'a Value, String), Error> {
        let mut node = node;
        let mut pointer = pointer;
        let mut trail: Vec<String> = Vec::new();
        while let Some(reference) = ref_of(node) {
            if trail.contains(&pointer) || trail.len() >= MAX_REF_HOPS {
                trail.push(pointer);
                return Err(self.ref_chain_error(&trail));
            }
            let (target, target_pointer) = self.deref(reference, &pointer)?;
            trail.push(std::mem::replace(&mut pointer, target_pointer));
            node = target;
        }
        Ok((node, pointer))
    }

    /// A `$ref` chain that comes back to a node it passed, or runs too long; `trail`
    /// holds the pointers it went through, the first being where it started.
    fn ref_chain_error(&self, trail: &[String]) -> Error {
        let first = trail.first().map(String::as_str).unwrap_or_default();
        let last = trail.last().map(String::as_str).unwrap_or_default();
        let problem = if trail.iter().filter(|seen| seen.as_str() == last).count() > 1 {
            "loops".to_owned()
        } else {
            format!("runs past {MAX_REF_HOPS} hops")
        };
        self.error(
            format!("{first}/$ref"),
            format!(
                "`$ref` chain {problem}: {}",
                trail
                    .iter()
                    .map(|at| elide(at))
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ),
        )
    }

    /// Resolves one `$ref` value found in the map at `owner`.
    fn deref(&self, reference: &Value, owner: &str) -> Result<(&'a Value, String), Error> {
        let at = format!("{owner}/$ref");
        let Some(reference) = as_str(reference) else {
            return Err(self.error(
                at,
                format!("`$ref` must be a string, found a {}", kind(reference)),
            ));
        };
        let shown = elide(reference);
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(self.error(
                at,
                format!(
                    "`$ref` `{shown}` points outside this document; external references \
                     are not supported (bundle the document into one file first)"
                ),
            ));
        };
        let tokens = fragment_tokens(fragment).ok_or_else(|| {
            self.error(
                &at,
                format!(
                    "`$ref` `{shown}` is not a JSON pointer; only `#/...` references \
                     into this document are supported"
                ),
            )
        })?;
        let target = lookup(self.root, &tokens).ok_or_else(|| {
            self.error(
                &at,
                format!("`$ref` `{shown}` points at nothing in this document"),
            )
        })?;
        let pointer: String = tokens
            .iter()
            .map(|token| format!("/{}", pointer_token(token)))
            .collect();
        // A reference to a node that holds it would contain itself.
        if owner.starts_with(&format!("{pointer}/")) {
            let shown_at = if pointer.is_empty() { "/" } else { &pointer };
            return Err(self.error(
                at,
                format!(
                    "`$ref` `{shown}` points at {shown_at}, which contains this `$ref`, so the \
                     reference loops"
                ),
            ));
        }
        Ok((target, pointer))
    }

    // ---- schemes ---------------------------------------------------------------

    /// The scheme definitions, in document order.
    fn schemes(&self) -> Result<Vec<Scheme>, Error> {
        let (definitions, base) = match self.version {
            SpecVersion::Swagger2 => (
                self.map.get("securityDefinitions"),
                "/securityDefinitions".to_owned(),
            ),
            _ => match self.map.get("components").map(untag) {
                None | Some(Value::Null) => (None, String::new()),
                Some(Value::Mapping(components)) => (
                    components.get("securitySchemes"),
                    "/components/securitySchemes".to_owned(),
                ),
                Some(other) => {
                    return Err(self.error(
                        "/components",
                        format!("`components` must be a map, found a {}", kind(other)),
                    ))
                }
            },
        };
        let definitions = match definitions.map(untag) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Mapping(definitions)) => definitions,
            Some(other) => {
                return Err(self.error(
                    base,
                    format!(
                        "security schemes must be a map of name to scheme, found a {}",
                        kind(other)
                    ),
                ))
            }
        };
        let mut schemes: Vec<Scheme> = Vec::new();
        let mut names: HashSet<String> = HashSet::new();
        for (key, value) in definitions {
            let name = key_text(key).ok_or_else(|| {
                self.error(
                    &base,
                    format!("a security scheme name is a {}, not text", kind(key)),
                )
            })?;
            let pointer = format!("{base}/{}", pointer_token(&name));
            if name == "$ref" {
                return Err(self.error(
                    pointer,
                    "the security scheme map itself cannot be a `$ref`; write the schemes out \
                     (each scheme may be a `$ref`)",
                ));
            }
            if !names.insert(name.clone()) {
                return Err(self.error(
                    pointer,
                    format!("security scheme `{}` is defined twice", elide(&name)),
                ));
            }
            let (node, at) = self.follow_refs(value, pointer.clone())?;
            let kind = self.scheme_kind(&name, node, &at)?;
            schemes.push(Scheme {
                name,
                kind,
                pointer,
            });
        }
        Ok(schemes)
    }

    /// Reads one scheme definition (already past any `$ref`) found at `at`.
    fn scheme_kind(&self, name: &str, node: &Value, at: &str) -> Result<SchemeKind, Error> {
        // The name only appears in messages from here on.
        let name = &*elide(name);
        let Some(map) = as_map(node) else {
            return Err(self.error(
                at,
                format!("security scheme `{name}` is a {}, not a map", kind(node)),
            ));
        };
        let Some(ty) = self.string_field(map, "type", at)? else {
            return Err(self.error(at, format!("security scheme `{name}` has no `type`")));
        };
        // Types are matched without case: `apikey` can only mean `apiKey`.
        Ok(match ty.to_ascii_lowercase().as_str() {
            "apikey" => self.api_key(name, map, at)?,
            "http" => self.http(name, map, at)?,
            "basic" => SchemeKind::HttpBasic,
            "oauth2" => SchemeKind::Hooked(HookedKind::OAuth2),
            "openidconnect" => SchemeKind::Hooked(HookedKind::OpenIdConnect),
            "mutualtls" => SchemeKind::Hooked(HookedKind::MutualTls),
            _ => {
                let expected = match self.version {
                    SpecVersion::Swagger2 => "apiKey, basic or oauth2",
                    _ => "apiKey, http, oauth2, openIdConnect or mutualTLS",
                };
                return Err(self.error(
                    format!("{at}/type"),
                    format!(
                        "security scheme `{name}` has type `{}`; expected {expected}",
                        elide(ty)
                    ),
                ));
            }
        })
    }

    fn api_key(&self, name: &str, map: &Mapping, at: &str) -> Result<SchemeKind, Error> {
        // Swagger 2.0 lists header and query only; cookie is accepted there too, since
        // its meaning is not in doubt.
        let accepted = "header, query or cookie";
        let location = match self.string_field(map, "in", at)? {
            None => {
                return Err(self.error(
                    at,
                    format!("apiKey scheme `{name}` has no `in` (expected {accepted})"),
                ))
            }
            Some(place) => match place.to_ascii_lowercase().as_str() {
                "header" => KeyLocation::Header,
                "query" => KeyLocation::Query,
                "cookie" => KeyLocation::Cookie,
                _ => {
                    return Err(self.error(
                        format!("{at}/in"),
                        format!(
                            "apiKey scheme `{name}` has `in: {}`; expected {accepted}",
                            elide(place)
                        ),
                    ))
                }
            },
        };
        let key_name = self.string_field(map, "name", at)?.unwrap_or("");
        if key_name.is_empty() {
            return Err(self.error(at, format!("apiKey scheme `{name}` has no `name`")));
        }
        Ok(SchemeKind::ApiKey {
            location,
            name: key_name.to_owned(),
        })
    }

    fn http(&self, name: &str, map: &Mapping, at: &str) -> Result<SchemeKind, Error> {
        let scheme = self.string_field(map, "scheme", at)?.unwrap_or("").trim();
        if scheme.is_empty() {
            return Err(self.error(at, format!("http scheme `{name}` has no `scheme`")));
        }
        // HTTP auth-scheme names are case-insensitive (RFC 9110 §11.1).
        Ok(match scheme.to_ascii_lowercase().as_str() {
            "bearer" => SchemeKind::HttpBearer,
            "basic" => SchemeKind::HttpBasic,
            other => SchemeKind::Hooked(HookedKind::Http(other.to_owned())),
        })
    }

    /// A string field of a security object: absent or null is `None`, anything but a
    /// string is an error (guessing here could open or close routes).
    fn string_field<'m>(
        &self,
        map: &'m Mapping,
        key: &str,
        at: &str,
    ) -> Result<Option<&'m str>, Error> {
        match map.get(key).map(untag) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.error(
                format!("{at}/{key}"),
                format!("`{key}` must be a string, found a {}", kind(other)),
            )),
        }
    }

    // ---- requirements ----------------------------------------------------------

    /// Reads a `security` list found at `pointer`.
    fn requirement(
        &self,
        node: &Value,
        pointer: String,
        index: &HashMap<&str, usize>,
    ) -> Result<Requirement, Error> {
        let Value::Sequence(list) = untag(node) else {
            return Err(self.error(
                pointer,
                format!(
                    "`security` must be a list of requirement maps, found a {}",
                    kind(node)
                ),
            ));
        };
        let mut alternatives = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            alternatives.push(self.alternative(item, &format!("{pointer}/{i}"), index)?);
        }
        Ok(Requirement {
            alternatives,
            pointer,
        })
    }

    /// Reads one requirement map (`{api_key: [], oauth: [read]}`) found at `at`.
    fn alternative(
        &self,
        node: &Value,
        at: &str,
        index: &HashMap<&str, usize>,
    ) -> Result<Alternative, Error> {
        let map = match untag(node) {
            Value::Mapping(map) => map,
            // A bare `- ` (null) is refused rather than read as `{}`: anonymous access
            // must be written out.
            other => {
                return Err(self.error(
                    at,
                    format!(
                        "a security requirement must be a map of scheme name to role list, \
                         found a {}",
                        kind(other)
                    ),
                ))
            }
        };
        let mut schemes = Vec::with_capacity(map.len());
        for (key, roles) in map {
            let name = key_text(key).ok_or_else(|| {
                self.error(
                    at,
                    format!(
                        "a security requirement key is a {}, not a scheme name",
                        kind(key)
                    ),
                )
            })?;
            let key_at = format!("{at}/{}", pointer_token(&name));
            let Some(&scheme) = index.get(name.as_str()) else {
                return Err(self.error(key_at, self.undefined_scheme(&name, index)));
            };
            let roles = self.roles(&name, roles, &key_at)?;
            schemes.push(SchemeUse { scheme, roles });
        }
        Ok(Alternative { schemes })
    }

    fn undefined_scheme(&self, name: &str, index: &HashMap<&str, usize>) -> String {
        /// Names listed before the rest are only counted.
        const LISTED: usize = 20;
        let name = elide(name);
        let mut defined: Vec<(&str, usize)> = index.iter().map(|(n, i)| (*n, *i)).collect();
        defined.sort_by_key(|&(_, i)| i);
        let mut listed: Vec<Cow<'_, str>> = defined
            .iter()
            .take(LISTED)
            .map(|&(n, _)| elide(n))
            .collect();
        if defined.len() > LISTED {
            listed.push(format!("and {} more", defined.len() - LISTED).into());
        }
        let defined = if listed.is_empty() {
            "none".to_owned()
        } else {
            listed.join(", ")
        };
        let mut message = format!(
            "security requirement names scheme `{name}`, which the document does not define \
             (defined: {defined})"
        );
        // A common slip in converted documents: 2.0 definitions under an `openapi: 3` header.
        if self.version != SpecVersion::Swagger2 && self.map.contains_key("securityDefinitions") {
            message.push_str(
                "; note: `securityDefinitions` is Swagger 2.0, OpenAPI 3 reads \
                 `components.securitySchemes`",
            );
        }
        message
    }

    /// Reads a role list; null counts as empty.
    fn roles(&self, scheme: &str, node: &Value, at: &str) -> Result<Vec<String>, Error> {
        let scheme = elide(scheme);
        let list = match untag(node) {
            Value::Null => return Ok(Vec::new()),
            Value::Sequence(list) => list,
            other => {
                return Err(self.error(
                    at,
                    format!(
                        "the roles of scheme `{scheme}` must be a list of strings, found a {}",
                        kind(other)
                    ),
                ))
            }
        };
        let mut roles = Vec::with_capacity(list.len());
        for (i, role) in list.iter().enumerate() {
            let role = scalar_text(role).ok_or_else(|| {
                self.error(
                    format!("{at}/{i}"),
                    format!(
                        "a role of scheme `{scheme}` is a {}, not a string",
                        kind(role)
                    ),
                )
            })?;
            roles.push(role);
        }
        Ok(roles)
    }

    // ---- operations --------------------------------------------------------------

    fn operations(
        &self,
        index: &HashMap<&str, usize>,
        root: Option<&Requirement>,
    ) -> Result<Vec<Operation>, Error> {
        let paths = match self.map.get("paths").map(untag) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Mapping(paths)) => paths,
            Some(other) => {
                return Err(self.error(
                    "/paths",
                    format!(
                        "`paths` must be a map of path template to path item, found a {}",
                        kind(other)
                    ),
                ))
            }
        };
        let mut operations = Vec::new();
        // (shape, method) -> the template that documents it first.
        let mut routes: HashMap<(String, Method), String> = HashMap::new();
        for (key, item) in paths {
            let template = key_text(key).ok_or_else(|| {
                self.error(
                    "/paths",
                    format!("a path key is a {}, not a path template", kind(key)),
                )
            })?;
            // The Paths Object allows `x-` extensions beside the templates.
            if template.starts_with("x-") {
                continue;
            }
            let item_at = format!("/paths/{}", pointer_token(&template));
            if template == "$ref" {
                return Err(self.error(
                    &item_at,
                    "`paths` itself cannot be a `$ref`; write the path items out (each path \
                     item may be a `$ref`)",
                ));
            }
            if let Some(problem) = unmatchable(&template) {
                return Err(self.error(
                    &item_at,
                    format!(
                        "path template `{}` contains {problem}, which a request path never \
                         holds, so the route could never match",
                        elide(&template)
                    ),
                ));
            }
            let shape = PathTemplate::parse(&template)
                .map_err(|message| {
                    self.error(&item_at, message.replace(&template, &elide(&template)))
                })?
                .shape();
            for (method, node, node_at) in self.path_item(item, &item_at)? {
                let pointer = format!("{item_at}/{}", method.key());
                self.check_route(&mut routes, &shape, method, &template, &pointer)?;
                let requirement = self.effective(node, &node_at, index, root)?;
                operations.push(build_operation(
                    method,
                    &template,
                    node,
                    requirement,
                    pointer,
                ));
            }
        }
        Ok(operations)
    }

    /// Refuses a second template of the same shape documenting the same method: a
    /// request could not tell which operation it is.
    fn check_route(
        &self,
        routes: &mut HashMap<(String, Method), String>,
        shape: &str,
        method: Method,
        template: &str,
        pointer: &str,
    ) -> Result<(), Error> {
        match routes.get(&(shape.to_owned(), method)) {
            Some(first) if first != template => Err(self.error(
                pointer,
                format!(
                    "`{}` is the same route as `{}`, which already documents {} \
                     (the templates differ only in parameter names)",
                    elide(template),
                    elide(first),
                    method.as_str()
                ),
            )),
            Some(_) => Ok(()),
            None => {
                routes.insert((shape.to_owned(), method), template.to_owned());
                Ok(())
            }
        }
    }

    /// The operations of a path item found at `at`, in document order, each with the
    /// pointer of the node that holds it. A `$ref` splices in the referenced item's
    /// operations where the key stands.
    fn path_item(
        &self,
        item: &'a Value,
        at: &str,
    ) -> Result<Vec<(Method, &'a Value, String)>, Error> {
        let mut found = Vec::new();
        self.collect_operations(item, at, &mut Vec::new(), &mut found)?;
        // Both the item and its `$ref` target may hold the same method; the specification
        // leaves that undefined, and guessing could open a route, so refuse.
        for (i, (method, _, node_at)) in found.iter().enumerate() {
            if let Some((_, _, first_at)) = found.iter().take(i).find(|(m, _, _)| m == method) {
                return Err(self.error(
                    node_at,
                    format!(
                        "the path item documents {} twice (also at {first_at}), through `$ref`; \
                         keep one",
                        method.as_str()
                    ),
                ));
            }
        }
        Ok(found)
    }

    fn collect_operations(
        &self,
        item: &'a Value,
        at: &str,
        trail: &mut Vec<String>,
        found: &mut Vec<(Method, &'a Value, String)>,
    ) -> Result<(), Error> {
        let map = match untag(item) {
            Value::Null => return Ok(()),
            Value::Mapping(map) => map,
            other => {
                return Err(self.error(
                    at,
                    format!("a path item must be a map, found a {}", kind(other)),
                ))
            }
        };
        for (key, value) in map {
            let Some(key) = as_str(key) else { continue };
            if key == "$ref" {
                if trail.iter().any(|seen| seen == at) || trail.len() >= MAX_REF_HOPS {
                    trail.push(at.to_owned());
                    return Err(self.ref_chain_error(trail));
                }
                let (target, target_at) = self.deref(value, at)?;
                trail.push(at.to_owned());
                self.collect_operations(target, &target_at, trail, found)?;
                trail.pop();
            } else if let Some(method) = method_of(key) {
                found.push((method, value, format!("{at}/{key}")));
            }
        }
        Ok(())
    }

    /// docs/semantics.md §1.1: own `security` (even `[]`), else root, else public.
    fn effective(
        &self,
        node: &Value,
        at: &str,
        index: &HashMap<&str, usize>,
        root: Option<&Requirement>,
    ) -> Result<(Requirement, RequirementSource), Error> {
        let map = match untag(node) {
            // `get:` with nothing after it documents the method and says nothing more.
            Value::Null => None,
            Value::Mapping(map) => Some(map),
            other => {
                return Err(self.error(
                    at,
                    format!("an operation must be a map, found a {}", kind(other)),
                ))
            }
        };
        if let Some(own) = map.and_then(|map| map.get("security")) {
            let requirement = self.requirement(own, format!("{at}/security"), index)?;
            return Ok((requirement, RequirementSource::Operation));
        }
        Ok(match root {
            Some(root) => (root.clone(), RequirementSource::Root),
            None => (
                Requirement {
                    alternatives: Vec::new(),
                    pointer: String::new(),
                },
                RequirementSource::Absent,
            ),
        })
    }
}

/// Builds an operation; `node` was checked by [`Document::effective`].
fn build_operation(
    method: Method,
    template: &str,
    node: &Value,
    (requirement, requirement_source): (Requirement, RequirementSource),
    pointer: String,
) -> Operation {
    let map = as_map(node);
    let field = |key: &str| map.and_then(|map| map.get(key));
    let tags = match field("tags").map(untag) {
        Some(Value::Sequence(tags)) => tags.iter().filter_map(scalar_text).collect(),
        _ => Vec::new(),
    };
    Operation {
        method,
        path: template.to_owned(),
        operation_id: field("operationId").and_then(scalar_text),
        tags,
        summary: field("summary").and_then(scalar_text),
        requirement,
        requirement_source,
        pointer,
    }
}

// ---- base path helpers -------------------------------------------------------------

/// The path part of a 3.x server object's URL, variables substituted, normalized.
fn server_base_path(server: &Value) -> String {
    let Some(server) = as_map(server) else {
        return String::new();
    };
    let Some(url) = server.get("url").and_then(as_str) else {
        return String::new();
    };
    let variables = server.get("variables").and_then(as_map);
    normalize_base(url_path(&substitute_variables(url, variables)))
}

/// Replaces `{name}` with the variable's `default`; an unknown variable or one without
/// a default becomes empty text, so the rest of the URL still yields a path.
fn substitute_variables(url: &str, variables: Option<&Mapping>) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some((before, after)) = rest.split_once('{') {
        let Some((name, tail)) = after.split_once('}') else {
            break;
        };
        out.push_str(before);
        let default = variables
            .and_then(|vars| vars.get(name))
            .and_then(as_map)
            .and_then(|var| var.get("default"))
            .and_then(scalar_text);
        out.push_str(default.as_deref().unwrap_or(""));
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// The path of a URL: after the host for `scheme://host/...` and `//host/...`, the
/// whole text for a relative URL. Query and fragment are dropped.
fn url_path(url: &str) -> &str {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let authority_and_path = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .or_else(|| url.strip_prefix("//"));
    match authority_and_path {
        Some(rest) => rest
            .find('/')
            .and_then(|slash| rest.get(slash..))
            .unwrap_or(""),
        None => url,
    }
}

/// `/v1/` -> `/v1`, `v1` -> `/v1`, `./v1` -> `/v1`, `/a//b` -> `/a/b`, `/` -> ``.
fn normalize_base(path: &str) -> String {
    let mut path = path.trim();
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    if path == "." {
        path = "";
    }
    // Runs of `/` (left where a variable had no default) mean one separator.
    let mut out = String::with_capacity(path.len() + 1);
    for segment in path.split('/').filter(|segment| !segment.is_empty()) {
        out.push('/');
        out.push_str(segment);
    }
    out
}

// ---- tree helpers ----------------------------------------------------------------

/// Looks through YAML tags (`!foo value`): keygate reads the value.
fn untag(value: &Value) -> &Value {
    let mut value = value;
    while let Value::Tagged(tagged) = value {
        value = &tagged.value;
    }
    value
}

fn as_map(value: &Value) -> Option<&Mapping> {
    match untag(value) {
        Value::Mapping(map) => Some(map),
        _ => None,
    }
}

fn as_str(value: &Value) -> Option<&str> {
    match untag(value) {
        Value::String(text) => Some(text),
        _ => None,
    }
}

/// Text of a scalar: strings as they are, numbers and booleans as YAML writes them.
fn scalar_text(value: &Value) -> Option<String> {
    match untag(value) {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A map key as text (YAML reads `200:` or `true:` as non-strings).
fn key_text(key: &Value) -> Option<String> {
    match untag(key) {
        Value::Null => Some("null".to_owned()),
        other => scalar_text(other),
    }
}

/// The value of `$ref` when `node` is a map holding one.
fn ref_of(node: &Value) -> Option<&Value> {
    as_map(node).and_then(|map| map.get("$ref"))
}

fn method_of(key: &str) -> Option<Method> {
    Method::ALL.into_iter().find(|method| method.key() == key)
}

/// A short name for the kind of a node, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "map",
        Value::Tagged(tagged) => kind(&tagged.value),
    }
}

/// What in a path template keeps every request path from matching it: `?` and `#` end
/// the path of a URI, and a space or an ASCII control character never reaches a server raw.
fn unmatchable(template: &str) -> Option<String> {
    let c = template
        .chars()
        .find(|&c| matches!(c, '?' | '#' | ' ') || c.is_ascii_control())?;
    Some(match c {
        '?' | '#' => format!("`{c}`"),
        ' ' => "a space".to_owned(),
        _ => format!("the character {}", c.escape_unicode()),
    })
}

/// A scalar shown in a message (`3.2.0`), or its kind.
fn shown(value: &Value) -> String {
    scalar_text(value).unwrap_or_else(|| format!("<{}>", kind(value)))
}

/// Splits a URI fragment holding a JSON pointer (`/components/x~1y`) into unescaped
/// tokens (RFC 6901 §6: percent-decode, then `~1` -> `/`, `~0` -> `~`). `None` when the
/// fragment is not a pointer.
fn fragment_tokens(fragment: &str) -> Option<Vec<String>> {
    let decoded = percent_decode(fragment)?;
    if decoded.is_empty() {
        return Some(Vec::new());
    }
    let rest = decoded.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|token| token.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Percent-decodes; a `%` not followed by two hex digits stays as written. `None` when
/// the bytes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = match bytes.get(i + 1..i + 3) {
            Some(&[high, low]) => hex_value(high).zip(hex_value(low)),
            _ => None,
        };
        match (bytes.get(i), hex) {
            (Some(b'%'), Some((high, low))) => {
                out.push(high << 4 | low);
                i += 3;
            }
            (Some(&byte), _) => {
                out.push(byte);
                i += 1;
            }
            (None, _) => break,
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// Walks unescaped pointer tokens from `root`.
fn lookup<'v>(root: &'v Value, tokens: &[String]) -> Option<&'v Value> {
    let mut node = root;
    for token in tokens {
        node = match untag(node) {
            Value::Mapping(map) => map.get(token.as_str()).or_else(|| {
                // Keys YAML read as numbers or booleans (`200:`) still match their text.
                map.iter()
                    .find(|(key, _)| key_text(key).as_deref() == Some(token.as_str()))
                    .map(|(_, value)| value)
            })?,
            Value::Sequence(list) => list.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a case expects: a rendering of the loaded document, or words the error's
    /// `Display` must contain.
    enum Expect {
        Api(&'static str),
        Error(&'static [&'static str]),
    }
    use Expect::{Api as Loads, Error as Fails};

    /// Renders the parts of an `Api` the cases look at, one line each.
    fn render(api: &Api) -> String {
        let mut out = format!(
            "{:?} title={:?} base={:?}\n",
            api.version, api.title, api.base_path
        );
        for scheme in &api.schemes {
            out.push_str(&format!(
                "scheme {} = {} at {}\n",
                scheme.name,
                scheme.kind.label(),
                scheme.pointer
            ));
        }
        if let Some(root) = &api.root {
            out.push_str(&format!("root {}\n", render_requirement(api, root)));
        }
        for op in &api.operations {
            out.push_str(&format!(
                "{} {} id={} tags={:?} summary={:?} at {} <- {:?} {}\n",
                op.method.as_str(),
                op.path,
                op.operation_id.as_deref().unwrap_or("-"),
                op.tags,
                op.summary.as_deref().unwrap_or("-"),
                op.pointer,
                op.requirement_source,
                render_requirement(api, &op.requirement),
            ));
        }
        out
    }

    /// `a + b[read] | {}` at `pointer`; `public` for no alternatives.
    fn render_requirement(api: &Api, requirement: &Requirement) -> String {
        let alternatives: Vec<String> = requirement
            .alternatives
            .iter()
            .map(|alternative| {
                if alternative.is_anonymous() {
                    return "{}".to_owned();
                }
                let uses: Vec<String> = alternative
                    .schemes
                    .iter()
                    .map(|used| {
                        let name = &api.schemes[used.scheme].name;
                        if used.roles.is_empty() {
                            name.clone()
                        } else {
                            format!("{name}[{}]", used.roles.join(","))
                        }
                    })
                    .collect();
                uses.join(" + ")
            })
            .collect();
        let body = if alternatives.is_empty() {
            "public".to_owned()
        } else {
            alternatives.join(" | ")
        };
        format!("{body} @{:?}", requirement.pointer)
    }

    fn normalize(text: &str) -> String {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Runs every case and reports all failures together.
    fn check(cases: &[(&str, &str, Expect)]) {
        let mut failures = Vec::new();
        for (name, doc, expect) in cases {
            let result = load_str("doc.yaml", doc);
            match (expect, result) {
                (Loads(want), Ok(api)) => {
                    let got = render(&api);
                    if normalize(&got) != normalize(want) {
                        failures.push(format!("{name}: got\n{got}\nwant\n{want}"));
                    }
                }
                (Loads(_), Err(err)) => failures.push(format!("{name}: unexpected error: {err}")),
                (Fails(words), Ok(api)) => failures.push(format!(
                    "{name}: expected an error with {words:?}, loaded\n{}",
                    render(&api)
                )),
                (Fails(words), Err(err)) => {
                    let shown = err.to_string();
                    for word in *words {
                        if !shown.contains(word) {
                            failures.push(format!("{name}: error `{shown}` lacks `{word}`"));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    }

    const PETS: &str = r##"
openapi: 3.0.3
info: {title: Pets}
servers: [{url: "https://api.example.com/v1/"}]
components:
  securitySchemes:
    api_key: {type: apiKey, in: header, name: X-API-Key}
    bearer: {type: http, scheme: Bearer}
    basic: {type: http, scheme: basic}
    digest: {type: http, scheme: Digest}
    oauth: {type: oauth2, flows: {}}
    oidc: {type: openIdConnect, openIdConnectUrl: "https://x"}
    cookie: {type: apiKey, in: cookie, name: sid}
    q: {type: apiKey, in: query, name: key}
security:
  - api_key: []
  - bearer: []
    oauth: [read, write]
paths:
  /pets:
    parameters: []
    summary: ignored
    x-extra: 1
    post:
      operationId: createPet
      tags: [pets, 3, {a: b}]
      summary: Make one
      security: []
    get:
      operationId: listPets
  /pets/{id}:
    get:
      security:
        - {}
        - q: ~
        - cookie: [admin]
          basic: []
"##;

    const PETS_EXPECTED: &str = r##"
OpenApi30 title="Pets" base="/v1"
scheme api_key = apiKey (header X-API-Key) at /components/securitySchemes/api_key
scheme bearer = http bearer at /components/securitySchemes/bearer
scheme basic = http basic at /components/securitySchemes/basic
scheme digest = http digest (hook) at /components/securitySchemes/digest
scheme oauth = oauth2 (hook) at /components/securitySchemes/oauth
scheme oidc = openIdConnect (hook) at /components/securitySchemes/oidc
scheme cookie = apiKey (cookie sid) at /components/securitySchemes/cookie
scheme q = apiKey (query key) at /components/securitySchemes/q
root api_key | bearer + oauth[read,write] @"/security"
POST /pets id=createPet tags=["pets", "3"] summary="Make one" at /paths/~1pets/post <- Operation public @"/paths/~1pets/post/security"
GET /pets id=listPets tags=[] summary="-" at /paths/~1pets/get <- Root api_key | bearer + oauth[read,write] @"/security"
GET /pets/{id} id=- tags=[] summary="-" at /paths/~1pets~1{id}/get <- Operation {} | q | cookie[admin] + basic @"/paths/~1pets~1{id}/get/security"
"##;

    #[test]
    fn lowers_documents() {
        check(&[
            ("pets", PETS, Loads(PETS_EXPECTED)),
            (
                "swagger 2.0 with basePath, number version, basic",
                r##"
swagger: 2.0
info: {title: Old}
basePath: /api/v2/
securityDefinitions:
  key: {type: apiKey, in: query, name: api_key}
  b: {type: basic}
  c: {type: apiKey, in: cookie, name: sid}
paths:
  /things:
    get: {security: [{key: []}, {b: []}]}
"##,
                Loads(
                    r##"
Swagger2 title="Old" base="/api/v2"
scheme key = apiKey (query api_key) at /securityDefinitions/key
scheme b = http basic at /securityDefinitions/b
scheme c = apiKey (cookie sid) at /securityDefinitions/c
GET /things id=- tags=[] summary="-" at /paths/~1things/get <- Operation key | b @"/paths/~1things/get/security"
"##,
                ),
            ),
            (
                "json input, 3.1, mutualTLS, absent security",
                r##"  {"openapi": "3.1.0", "info": {"title": "J"},
  "components": {"securitySchemes": {"m": {"type": "mutualTLS"}}},
  "paths": {"/a": {"delete": {}, "put": {"operationId": 7}}}}"##,
                Loads(
                    r##"
OpenApi31 title="J" base=""
scheme m = mutualTLS (hook) at /components/securitySchemes/m
DELETE /a id=- tags=[] summary="-" at /paths/~1a/delete <- Absent public @""
PUT /a id=7 tags=[] summary="-" at /paths/~1a/put <- Absent public @""
"##,
                ),
            ),
            (
                "numeric 3.0 version, root-only, root [] is public",
                "openapi: 3.0\nsecurity: []\npaths:\n  /a:\n    get: {}\n",
                Loads(
                    r##"
OpenApi30 title="" base=""
root public @"/security"
GET /a id=- tags=[] summary="-" at /paths/~1a/get <- Root public @"/security"
"##,
                ),
            ),
            (
                "3.1 type arrays, $ref inside examples, webhooks, x- keys, unknown keys",
                r##"
openapi: 3.1.0
x-top: {$ref: "elsewhere.yaml"}
webhooks:
  newPet: {post: {security: [{nope: []}]}}
components:
  schemas:
    Pet:
      type: [object, "null"]
      properties: {id: {$ref: "other.yaml#/Id"}}
      examples: [{$ref: "#/nowhere"}]
  examples:
    e: {value: {$ref: "./x.json"}}
  securitySchemes:
    k: {type: apiKey, in: header, name: K, x-note: {$ref: "ext.yaml"}}
paths:
  x-paths-extension: {get: 1}
  /pets:
    get:
      responses:
        "200":
          content:
            application/json:
              schema: {type: [array, "null"], items: {$ref: "ext.yaml#/Pet"}}
              example: {$ref: "#/not/a/thing"}
      security: [{k: []}]
"##,
                Loads(
                    r##"
OpenApi31 title="" base=""
scheme k = apiKey (header K) at /components/securitySchemes/k
GET /pets id=- tags=[] summary="-" at /paths/~1pets/get <- Operation k @"/paths/~1pets/get/security"
"##,
                ),
            ),
            (
                "document order of methods and schemes within an alternative",
                r##"
openapi: 3.0.0
components:
  securitySchemes:
    a: {type: http, scheme: bearer}
    b: {type: http, scheme: basic}
paths:
  /z:
    patch: {security: [{b: [], a: []}, {b: [], a: []}]}
    get: {}
    head: {}
  /a:
    trace: {}
"##,
                Loads(
                    r##"
OpenApi30 title="" base=""
scheme a = http bearer at /components/securitySchemes/a
scheme b = http basic at /components/securitySchemes/b
PATCH /z id=- tags=[] summary="-" at /paths/~1z/patch <- Operation b + a | b + a @"/paths/~1z/patch/security"
GET /z id=- tags=[] summary="-" at /paths/~1z/get <- Absent public @""
HEAD /z id=- tags=[] summary="-" at /paths/~1z/head <- Absent public @""
TRACE /a id=- tags=[] summary="-" at /paths/~1a/trace <- Absent public @""
"##,
                ),
            ),
            (
                "scheme and path item $ref, escaped pointers, percent-encoding",
                r##"
openapi: 3.0.1
x-shared:
  "a/b~c": {type: apiKey, in: header, name: X-Shared}
  item:
    get: {security: [{alias: []}]}
components:
  securitySchemes:
    direct: {$ref: "#/x-shared/a~1b~0c"}
    alias: {$ref: "#/components/securitySchemes/direct"}
    pct: {$ref: "#/x-shared/a~1b%7Ec"}
paths:
  /one:
    $ref: "#/x-shared/item"
  /two/{x}:
    post: {}
    $ref: "#/paths/~1one"
"##,
                Loads(
                    r##"
OpenApi30 title="" base=""
scheme direct = apiKey (header X-Shared) at /components/securitySchemes/direct
scheme alias = apiKey (header X-Shared) at /components/securitySchemes/alias
scheme pct = apiKey (header X-Shared) at /components/securitySchemes/pct
GET /one id=- tags=[] summary="-" at /paths/~1one/get <- Operation alias @"/x-shared/item/get/security"
POST /two/{x} id=- tags=[] summary="-" at /paths/~1two~1{x}/post <- Absent public @""
GET /two/{x} id=- tags=[] summary="-" at /paths/~1two~1{x}/get <- Operation alias @"/x-shared/item/get/security"
"##,
                ),
            ),
            (
                "same shape, different methods; partial-segment templates",
                r##"
openapi: 3.0.0
paths:
  /documents/{document_id}: {get: {}}
  /documents/{inbox_id}: {delete: {}}
  /pulls/{index}.diff: {get: {}}
  /pulls/{index}.patch: {get: {}}
  /v2/{name}:cancel: {post: {}}
"##,
                Loads(
                    r##"
OpenApi30 title="" base=""
GET /documents/{document_id} id=- tags=[] summary="-" at /paths/~1documents~1{document_id}/get <- Absent public @""
DELETE /documents/{inbox_id} id=- tags=[] summary="-" at /paths/~1documents~1{inbox_id}/delete <- Absent public @""
GET /pulls/{index}.diff id=- tags=[] summary="-" at /paths/~1pulls~1{index}.diff/get <- Absent public @""
GET /pulls/{index}.patch id=- tags=[] summary="-" at /paths/~1pulls~1{index}.patch/get <- Absent public @""
POST /v2/{name}:cancel id=- tags=[] summary="-" at /paths/~1v2~1{name}:cancel/post <- Absent public @""
"##,
                ),
            ),
            (
                "no paths, no components, BOM",
                "\u{feff}openapi: 3.1.1\ninfo: {title: 12}\n",
                Loads("OpenApi31 title=\"12\" base=\"\""),
            ),
        ]);
    }

    fn base_of(servers: &str) -> String {
        let doc = format!("openapi: 3.0.0\nservers: {servers}\npaths: {{}}\n");
        match load_str("doc.yaml", &doc) {
            Ok(api) => api.base_path,
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn base_paths() {
        let cases = [
            ("[]", ""),
            ("[{url: /}]", ""),
            ("[{url: /v1}]", "/v1"),
            ("[{url: v1/}]", "/v1"),
            ("[{url: ./v1}]", "/v1"),
            ("[{url: 'https://api.example.com'}]", ""),
            ("[{url: 'https://api.example.com/'}]", ""),
            ("[{url: 'https://api.example.com/a/b/?x=1#f'}]", "/a/b"),
            ("[{url: '//cdn.example.com/v3'}]", "/v3"),
            ("[{url: '/v1', description: first}, {url: '/v2'}]", "/v1"),
            (
                "[{url: '{scheme}://{host}:{port}/{base}/x', variables: {scheme: {default: https}, host: {default: h}, port: {default: 443}, base: {default: api}}}]",
                "/api/x",
            ),
            // A variable without a default becomes empty; the rest still gives a path.
            ("[{url: 'https://h/{version}/api', variables: {version: {enum: [v1]}}}]", "/api"),
            ("[{url: 'https://h/{unknown}'}]", ""),
            ("[{url: 'https://h/a{b'}]", "/a{b"),
            ("[{description: no url}]", ""),
            ("[7]", ""),
        ];
        let mut failures = Vec::new();
        for (servers, want) in cases {
            let got = base_of(servers);
            if got != want {
                failures.push(format!("{servers}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        check(&[
            (
                "undefined scheme",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {type: http, scheme: bearer}, b: {type: http, scheme: basic}}}\npaths:\n  /pets:\n    get:\n      security: [{a: []}, {api_key: []}]\n",
                Fails(&[
                    "doc.yaml: at /paths/~1pets/get/security/1/api_key:",
                    "security requirement names scheme `api_key`, which the document does not define (defined: a, b)",
                ]),
            ),
            (
                "undefined scheme at the root, none defined",
                "openapi: 3.0.0\nsecurity: [{k: []}]\npaths: {}\n",
                Fails(&["at /security/0/k:", "(defined: none)"]),
            ),
            (
                "2.0 definitions under openapi 3 get a hint",
                "openapi: 3.0.0\nsecurityDefinitions: {k: {type: apiKey, in: header, name: K}}\nsecurity: [{k: []}]\n",
                Fails(&["at /security/0/k:", "`securityDefinitions` is Swagger 2.0"]),
            ),
            (
                "external scheme $ref",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {$ref: 'common.yaml#/K'}}}\n",
                Fails(&[
                    "at /components/securitySchemes/k/$ref:",
                    "`common.yaml#/K`",
                    "external references are not supported",
                    "bundle",
                ]),
            ),
            (
                "external path item $ref",
                "openapi: 3.0.0\npaths:\n  /a: {$ref: 'paths/a.yaml'}\n",
                Fails(&["at /paths/~1a/$ref:", "`paths/a.yaml`", "external references"]),
            ),
            (
                "cyclic scheme $ref",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {$ref: '#/components/securitySchemes/b'}, b: {$ref: '#/components/securitySchemes/a'}}}\n",
                Fails(&[
                    "at /components/securitySchemes/a/$ref:",
                    "loops",
                    "/components/securitySchemes/a -> /components/securitySchemes/b -> /components/securitySchemes/a",
                ]),
            ),
            (
                "self $ref",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {$ref: '#/components/securitySchemes/a'}}}\n",
                Fails(&["at /components/securitySchemes/a/$ref:", "loops"]),
            ),
            (
                "cyclic path item $ref",
                "openapi: 3.0.0\nx-a: {$ref: '#/x-b'}\nx-b: {$ref: '#/x-a'}\npaths:\n  /a: {$ref: '#/x-a'}\n",
                Fails(&["/$ref:", "loops", "/paths/~1a -> /x-a -> /x-b -> /x-a"]),
            ),
            (
                "dangling $ref",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {$ref: '#/components/securitySchemes/zz'}}}\n",
                Fails(&["at /components/securitySchemes/a/$ref:", "points at nothing"]),
            ),
            (
                "anchor $ref",
                "openapi: 3.1.0\ncomponents: {securitySchemes: {a: {$ref: '#key'}}}\n",
                Fails(&["at /components/securitySchemes/a/$ref:", "not a JSON pointer"]),
            ),
            (
                "non-string $ref",
                "openapi: 3.1.0\ncomponents: {securitySchemes: {a: {$ref: 3}}}\n",
                Fails(&["at /components/securitySchemes/a/$ref:", "must be a string"]),
            ),
            (
                "in: body",
                "swagger: '2.0'\nsecurityDefinitions:\n  k: {type: apiKey, in: body, name: key}\n",
                Fails(&["at /securityDefinitions/k/in:", "`in: body`", "header, query or cookie"]),
            ),
            (
                "no in",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, name: key}}}\n",
                Fails(&["at /components/securitySchemes/k:", "has no `in`"]),
            ),
            (
                "missing name",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, in: header}}}\n",
                Fails(&["at /components/securitySchemes/k:", "apiKey scheme `k` has no `name`"]),
            ),
            (
                "empty name",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, in: header, name: ''}}}\n",
                Fails(&["at /components/securitySchemes/k:", "has no `name`"]),
            ),
            (
                "name not a string",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, in: header, name: [a]}}}\n",
                Fails(&["at /components/securitySchemes/k/name:", "must be a string, found a list"]),
            ),
            (
                "scheme name with a slash is escaped in the pointer",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {'a/b': {type: apiKey, in: header}}}\n",
                Fails(&["at /components/securitySchemes/a~1b:", "`a/b` has no `name`"]),
            ),
            (
                "http without scheme",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {h: {type: http}}}\n",
                Fails(&["at /components/securitySchemes/h:", "http scheme `h` has no `scheme`"]),
            ),
            (
                "unknown type",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {h: {type: magic}}}\n",
                Fails(&["at /components/securitySchemes/h/type:", "`magic`", "apiKey, http"]),
            ),
            (
                "no type",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {h: {in: header}}}\n",
                Fails(&["at /components/securitySchemes/h:", "has no `type`"]),
            ),
            (
                "scheme not a map",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {h: bearer}}\n",
                Fails(&["at /components/securitySchemes/h:", "is a string, not a map"]),
            ),
            (
                "schemes not a map",
                "openapi: 3.0.0\ncomponents: {securitySchemes: [a]}\n",
                Fails(&["at /components/securitySchemes:", "found a list"]),
            ),
            (
                "security not a list",
                "openapi: 3.0.0\nsecurity: {k: []}\n",
                Fails(&["at /security:", "must be a list of requirement maps, found a map"]),
            ),
            (
                "null security",
                "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      security:\n",
                Fails(&["at /paths/~1a/get/security:", "found a null"]),
            ),
            (
                "requirement not a map",
                "openapi: 3.0.0\nsecurity: [k]\n",
                Fails(&["at /security/0:", "must be a map of scheme name to role list, found a string"]),
            ),
            (
                "roles not a list",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: http, scheme: bearer}}}\nsecurity: [{k: read}]\n",
                Fails(&["at /security/0/k:", "roles of scheme `k` must be a list of strings"]),
            ),
            (
                "role not a string",
                "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: http, scheme: bearer}}}\nsecurity: [{k: [read, {a: 1}]}]\n",
                Fails(&["at /security/0/k/1:", "is a map, not a string"]),
            ),
            (
                "same route, same method",
                "openapi: 3.0.0\npaths:\n  /documents/{document_id}: {get: {}}\n  /documents/{inbox_id}: {post: {}, get: {}}\n",
                Fails(&[
                    "at /paths/~1documents~1{inbox_id}/get:",
                    "`/documents/{inbox_id}` is the same route as `/documents/{document_id}`, which already documents GET",
                ]),
            ),
            (
                "bad template",
                "openapi: 3.0.0\npaths:\n  /a/{x}{y}: {get: {}}\n",
                Fails(&["at /paths/~1a~1{x}{y}:", "two parameters with nothing between them"]),
            ),
            (
                "template without leading slash",
                "openapi: 3.0.0\npaths:\n  pets: {get: {}}\n",
                Fails(&["at /paths/pets:", "does not start with `/`"]),
            ),
            (
                "operation not a map",
                "openapi: 3.0.0\npaths:\n  /a: {get: [1]}\n",
                Fails(&["at /paths/~1a/get:", "an operation must be a map, found a list"]),
            ),
            (
                "path item not a map",
                "openapi: 3.0.0\npaths:\n  /a: 5\n",
                Fails(&["at /paths/~1a:", "a path item must be a map, found a number"]),
            ),
            (
                "paths not a map",
                "openapi: 3.0.0\npaths: [a]\n",
                Fails(&["at /paths:", "found a list"]),
            ),
            (
                "method both local and through $ref",
                "openapi: 3.0.0\nx-i: {get: {}}\npaths:\n  /a: {get: {}, $ref: '#/x-i'}\n",
                Fails(&["at /x-i/get:", "documents GET twice (also at /paths/~1a/get)"]),
            ),
            (
                "unsupported openapi version",
                "openapi: 3.2.0\n",
                Fails(&["at /openapi:", "`openapi: 3.2.0`", "3.0.x", "3.1.x", "2.0"]),
            ),
            (
                "unsupported swagger version",
                "swagger: '1.2'\n",
                Fails(&["at /swagger:", "`swagger: 1.2`"]),
            ),
            (
                "no version",
                "info: {title: x}\npaths: {}\n",
                Fails(&["doc.yaml: at /:", "neither `openapi` nor `swagger`"]),
            ),
            (
                "empty",
                " \n\t\n",
                Fails(&["doc.yaml: the document is empty"]),
            ),
            (
                "only a comment",
                "# nothing here\n",
                Fails(&["doc.yaml: the document is empty"]),
            ),
            (
                "root is a list",
                "- openapi: 3.0.0\n",
                Fails(&["the document is a list, not a map"]),
            ),
            (
                "bad YAML reports line and column",
                "openapi: 3.0.0\npaths:\n  /a:\n    get: {security: [}\n",
                Fails(&["doc.yaml:4:", "not valid YAML:"]),
            ),
            (
                "duplicate YAML key",
                "openapi: 3.0.0\nsecurity: []\nsecurity: [{}]\n",
                Fails(&["not valid YAML:", "duplicate entry with key \"security\""]),
            ),
            (
                "bad JSON reports line and column",
                "{\"openapi\": \"3.0.0\",\n  \"paths\": {,}}",
                Fails(&["doc.yaml:2:13: not valid JSON:"]),
            ),
        ]);
    }

    #[test]
    fn long_ref_chains_stop() {
        let mut doc = String::from("openapi: 3.0.0\nx-hops:\n");
        for hop in 0..40 {
            doc.push_str(&format!("  h{hop}: {{$ref: '#/x-hops/h{}'}}\n", hop + 1));
        }
        doc.push_str("  h40: {type: http, scheme: bearer}\n");
        doc.push_str("components: {securitySchemes: {k: {$ref: '#/x-hops/h0'}}}\n");
        let err = load_str("d", &doc).unwrap_err().to_string();
        assert!(
            err.contains("at /components/securitySchemes/k/$ref:"),
            "{err}"
        );
        assert!(err.contains("runs past 32 hops"), "{err}");
    }

    #[test]
    fn yaml_location_is_one_based() {
        // `]` is on line 2, column 11, both counted from 1.
        let err = load_str("d", "openapi: 3.0.0\nsecurity: ]\n").unwrap_err();
        assert_eq!((err.line, err.column), (Some(2), Some(11)), "{err}");
        assert!(!err.message.contains(" at line "), "{err}");
    }

    #[test]
    fn load_file_reports_bad_bytes_and_missing_files() {
        let dir = std::env::temp_dir().join(format!("keygate-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.yaml");
        std::fs::write(&bad, b"openapi: 3.0.0\ninfo: {title: \xff}\n").unwrap();
        let err = load_file(&bad).unwrap_err();
        assert!(
            err.to_string().contains("not UTF-8 text at byte 29"),
            "{err}"
        );
        let good = dir.join("good.json");
        std::fs::write(
            &good,
            br##"{"swagger": "2.0", "paths": {"/a": {"get": {}}}}"##,
        )
        .unwrap();
        let api = load_file(&good).unwrap();
        assert_eq!(api.source, good.display().to_string());
        assert_eq!(api.operations.len(), 1);
        let err = load_file(&dir.join("missing.yaml")).unwrap_err();
        assert!(err.to_string().contains("cannot read the file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn merge_keys_are_applied() {
        let doc = r##"
openapi: 3.0.0
components:
  securitySchemes:
    k: {type: http, scheme: bearer}
x-base: &base
  security: [{k: []}]
paths:
  /a:
    get:
      <<: *base
      operationId: a
"##;
        let api = load_str("d", doc).unwrap();
        let op = &api.operations[0];
        assert_eq!(op.requirement_source, RequirementSource::Operation);
        assert_eq!(op.requirement.alternatives.len(), 1);
    }

    #[test]
    fn merge_keys_spelled_through_escapes_are_applied() {
        let doc = |key: &str| {
            format!(
                "openapi: 3.0.0\ncomponents:\n  securitySchemes:\n    k: {{type: http, scheme: bearer}}\n\
                 x-base: &base\n  security: [{{k: []}}]\npaths:\n  /a:\n    get:\n      {key}: *base\n\
                 \x20     operationId: a\n"
            )
        };
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
            // A key over two lines must be an explicit one.
            "? \"<\\\n        <\"\n      ",
        ] {
            let text = doc(key);
            assert!(may_hold_merge_key(&text), "{key}");
            let api = load_str("d", &text).unwrap_or_else(|e| panic!("{key}: {e}"));
            let op = &api.operations[0];
            assert_eq!(op.requirement_source, RequirementSource::Operation, "{key}");
        }
        // Without any spelling of `<<`, the key stays what it was written as.
        let api = load_str("d", &doc("\"< <\"")).unwrap();
        assert!(!may_hold_merge_key(&doc("\"< <\"")));
        assert_eq!(
            api.operations[0].requirement_source,
            RequirementSource::Absent
        );
    }

    /// A tab as the only content of a block scalar's first line: libyaml refuses it, so this
    /// document goes through the YAML 1.2 fallback.
    const FALLBACK: &str = concat!(
        "openapi: 3.0.0\n",
        "info:\n",
        "  title: T\n",
        "  description: |-\n",
        "    \t\n",
        "    a\n",
        "x-base: &base\n",
        "  security: [{k: [read, 2]}, {}]\n",
        "components:\n",
        "  securitySchemes:\n",
        "    k: {type: !!str apiKey, in: header, name: &name X-Key}\n",
        "    alias: {type: apiKey, in: query, name: *name}\n",
        "paths:\n",
        "  /a:\n",
        "    get:\n",
        "      <<: *base\n",
        "      operationId: a\n",
        "    put: {security: []}\n",
    );

    #[test]
    fn the_yaml_fallback_reads_what_yaml_serde_reads() {
        assert!(yaml_serde::from_str::<Value>(FALLBACK).is_err());
        let fallback = load_str("doc.yaml", FALLBACK).unwrap();
        let plain = load_str("doc.yaml", &FALLBACK.replace("    \t\n", "")).unwrap();
        assert_eq!(render(&fallback), render(&plain));
        assert!(render(&plain).contains("GET /a id=a"), "{}", render(&plain));
    }

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

    #[test]
    fn flow_deeper_than_128_is_refused_by_name_below_and_above_the_cheap_depth() {
        for depth in [129, 200, CHEAP_FLOW_DEPTH + 1, 3 * MAX_YAML_DEPTH] {
            let text = format!(
                "openapi: 3.0.0\nx: {}{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            let error = load_str("deep.yaml", &text).expect_err("too deep");
            assert!(
                error
                    .message
                    .contains("flow collections nested deeper than 128 levels"),
                "{depth}: {error}"
            );
            assert_eq!(error.line, Some(2), "{depth}: {error}");
        }
        // 126 levels under `x` (128 with the root map and `x: [`'s own) still load.
        let text = format!(
            "openapi: 3.0.0\nx: {}{}\n",
            "[".repeat(127),
            "]".repeat(127)
        );
        assert!(load_str("deep.yaml", &text).is_ok());
    }

    #[test]
    fn a_bar_that_starts_no_block_scalar_does_not_hide_the_lines_after_it() {
        // `a-|b` is a plain scalar, and inside a flow collection `- |` is no block
        // scalar either: the brackets below them count.
        for first in ["k: [a-|b,", "k: [a - |,"] {
            let text = format!("{first}\n  {}{}]\n", "[".repeat(300), "]".repeat(300));
            assert!(
                flow_depth_estimate(&text, false) > CHEAP_FLOW_DEPTH,
                "{first}"
            );
            let text = format!("openapi: 3.0.0\n{text}");
            let error = load_str("bar.yaml", &text).expect_err("deep");
            assert!(
                error
                    .message
                    .contains("flow collections nested deeper than 128 levels"),
                "{first}: {error}"
            );
        }
    }

    #[test]
    fn flow_depth_estimates_read_runs_of_plain_bytes_like_single_bytes() {
        // (text, with quotes, without): the byte before a quote, `#` or `|` decides.
        for (text, quoted, unquoted) in [
            ("a: x # [[[[\nb: [1]\n", 1, 1),
            ("a: x#[[\n", 2, 2),
            ("a: 'x [[' \n", 0, 2),
            ("a: x'[[' \n", 2, 2),
            ("a:   \t 'x [[' [\n", 1, 3),
            ("a: |\n  [[\nb: [\n", 1, 1),
            ("a: b|\n  [[\n", 2, 2),
            // The first line's indentation is taken as none.
            ("  a: |\n  [[\n", 0, 0),
            ("a:\n  b: |\n  [[\n", 2, 2),
        ] {
            assert_eq!(
                (
                    flow_depth_estimate(text, true),
                    flow_depth_estimate(text, false)
                ),
                (quoted, unquoted),
                "{text:?}"
            );
        }
    }

    #[test]
    fn flow_depth_estimates_bound_the_real_depth() {
        for (text, real) in [
            ("a: [[{b: [1]}]]\n", 4),
            ("a: '[[[['\nb: [[1]]\n", 2),
            ("a: \"]]]\"\nb: [[[1]]]\n", 3),
            ("a: |\n  ]]]]\n  \"\nb: [[1]]\n", 2),
            ("a: [1, 'it''s ]]', [[2]]] # ]]]\n", 3),
        ] {
            let estimate = flow_depth_estimate(text, true).max(flow_depth_estimate(text, false));
            assert!(estimate >= real, "{text:?}: estimate {estimate} < {real}");
        }
        assert_eq!(
            deep_flow(&format!("a: {}", "[".repeat(129))),
            Some((1, 132))
        );
        assert_eq!(
            deep_flow(&format!("a: {}{}", "[".repeat(128), "]".repeat(128))),
            None
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(
            fragment_tokens("/a~1b/c~0d/%7E01"),
            Some(vec!["a/b".into(), "c~d".into(), "~1".into()])
        );
        assert_eq!(fragment_tokens(""), Some(vec![]));
        assert_eq!(fragment_tokens("x"), None);
        assert_eq!(percent_decode("%zz%4"), Some("%zz%4".to_owned()));
        assert_eq!(percent_decode("%+1"), Some("%+1".to_owned()));
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(strip_location("bad at line 3 column 4", 3, 4), "bad");
        assert_eq!(
            strip_location("bad at line 3 column 4, while x at line 2 column 1", 3, 4),
            "bad, while x at line 2 column 1"
        );
        assert_eq!(strip_location("bad", 3, 4), "bad");
    }
}
