//! The flow-depth guard: flow collections (`[`, `{`) nested past [`MAX_YAML_DEPTH`]
//! levels are refused by name before libyaml, whose time grows with the square of the
//! flow depth, spends seconds or minutes on them.

use super::MAX_YAML_DEPTH;
use crate::error::Error;

/// Flow depth, by [`flow_depth_estimate`], up to which libyaml parses before the exact
/// check of [`deep_flow`] (which costs about half a parse). libyaml looks at every open
/// flow level for each token: 4 MB of sequences nested 250 deep take 2.4 s, about what
/// 100 levels (allowed anyway) take, 2.3 s; 1,000 levels take 9 s.
const CHEAP_FLOW_DEPTH: usize = 2 * MAX_YAML_DEPTH;

/// What a byte scan estimated of one text's flow depth ([`flow_depth_estimate`]).
pub(super) struct FlowDepth {
    estimate: usize,
}

impl FlowDepth {
    /// Scans `text` before libyaml sees it: text estimated deeper than
    /// [`CHEAP_FLOW_DEPTH`] gets the exact check now, and is refused if it fails.
    pub(super) fn check_before_parse(source: &str, text: &str) -> Result<FlowDepth, Error> {
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
        Ok(FlowDepth { estimate })
    }

    /// After libyaml refused `text`: past 128 levels by the estimate, the error may be
    /// the flow depth, which the exact check places as it would have before parsing.
    pub(super) fn check_after_failure(&self, source: &str, text: &str) -> Result<(), Error> {
        if self.estimate > MAX_YAML_DEPTH && self.estimate <= CHEAP_FLOW_DEPTH {
            if let Some(at) = deep_flow(text) {
                return Err(deep_flow_error(source, at));
            }
        }
        Ok(())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_str;

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
}
