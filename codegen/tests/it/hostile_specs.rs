//! Hostile documents through the entry points the `keygate` CLI uses (`load_file`,
//! then `generate_module`): malformed syntax, broken security sections, `$ref` loops,
//! nesting and sizes meant to exhaust the stack, the heap or the clock. Each case must end
//! in an error that names what is wrong and where, or, where the loader promises it, load
//! and generate; never a panic, a stack overflow or a hang.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use keygate_codegen::{check, generate_module, load_file, report, Error, Templates};

/// How long one case may take, load and generation together. The slowest case (10,000
/// alternatives) needs a few seconds in a debug build.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// The stack each case runs on: what a test thread gets by default, a quarter of a main
/// thread's. A loader that recursed with the input would overflow it and abort the run.
const STACK: usize = 2 << 20;

/// Where an error must point.
#[derive(Debug, Clone, Copy, PartialEq)]
enum At {
    /// The whole file (empty): no pointer, no line.
    File,
    /// A JSON pointer, exactly, and the line and column of its node.
    Pointer(&'static str),
    /// A line and column from the parser; no pointer.
    Line(usize, usize),
    /// A line without a column (serde_json reports column 0 for some errors).
    LineOnly(usize),
}

enum Expect {
    /// An error whose `Display` contains the text, at this place.
    Fails(&'static str, At),
    /// Loads with this many operations, the first with this many alternatives, and
    /// generates.
    Loads(usize, usize),
}
use Expect::{Fails, Loads};

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    expect: Expect,
}

fn case(name: &'static str, text: impl Into<String>, expect: Expect) -> Case {
    Case {
        name,
        bytes: text.into().into_bytes(),
        expect,
    }
}

/// `n` copies of `text`.
fn times(text: &str, n: usize) -> String {
    text.repeat(n)
}

const SCHEMES: &str = "components:\n  securitySchemes:\n    k: {type: apiKey, in: header, name: X-Key}\n    b: {type: http, scheme: bearer}\n";

// One case per line reads as a table; rustfmt would spread each over several.
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let deep = 10_000;
    let mega = "k".repeat(1 << 20);
    let mut cases = vec![
        // ---- YAML that does not parse
        case("yaml: unclosed flow sequence", "openapi: 3.0.0\nsecurity: [{k: []}\npaths: {}\n", Fails("while parsing a flow sequence at line 2 column 11", At::Line(3, 1))),
        case("yaml: bad indentation", "openapi: 3.0.0\npaths:\n  /a:\n    get: {}\n   post: {}\n", Fails("not valid YAML", At::Line(5, 4))),
        case("yaml: tab indentation", "openapi: 3.0.0\npaths:\n\t/a: {}\n", Fails("not valid YAML", At::Line(3, 1))),
        case("yaml: unterminated quote", "openapi: '3.0.0\ninfo: {}\n", Fails("not valid YAML", At::Line(3, 1))),
        case("yaml: undefined alias", "openapi: 3.0.0\nsecurity: *nope\n", Fails("unknown anchor", At::Line(2, 11))),
        case("yaml: mapping in a plain scalar", "openapi: 3.0.0\ninfo: title: x\n", Fails("mapping values are not allowed", At::Line(2, 12))),
        case("yaml: two documents", "openapi: 3.0.0\npaths: {}\n---\nopenapi: 3.1.0\n", Fails("more than one YAML document", At::Line(3, 1))),
        case("yaml: NUL byte", "openapi: 3.0.0\ninfo: {title: \"a\0b\"}\n", Fails("control characters are not allowed", At::Line(2, 17))),
        case("yaml: duplicate root key", "openapi: 3.0.0\nsecurity: []\nsecurity: [{}]\n", Fails("duplicate entry with key \"security\"", At::Line(3, 1))),
        case("yaml: duplicate scheme key", format!("openapi: 3.0.0\n{SCHEMES}    k: {{type: http, scheme: basic}}\n"), Fails("duplicate entry with key \"k\"", At::Line(6, 5))),
        case("yaml: bad merge key", "openapi: 3.0.0\nx-base:\n  <<: 5\n", Fails("bad YAML merge key", At::Pointer("/x-base/<<"))),
        case("yaml: alias bomb", alias_bomb(), Fails("aliases (`*name`) expand to more than 262144 nodes", At::Line(7, 16))),
        // ---- JSON that does not parse
        case("json: trailing comma", "{\"openapi\": \"3.0.0\",}", Fails("not valid JSON: trailing comma", At::Line(1, 21))),
        case("json: missing value", "{\"openapi\": \"3.0.0\",\n  \"paths\": {,}}", Fails("not valid JSON", At::Line(2, 13))),
        case("json: unterminated string", "{\"openapi\": \"3.0.0", Fails("EOF while parsing a string", At::Line(1, 18))),
        case("json: single quotes", "{'openapi': '3.0.0'}", Fails("key must be a string", At::Line(1, 2))),
        case("json: comment", "{\"openapi\": \"3.0.0\" /* c */}", Fails("expected `,` or `}`", At::Line(1, 21))),
        case("json: trailing characters", "{\"openapi\": \"3.0.0\"} {}", Fails("trailing characters", At::Line(1, 22))),
        case("json: duplicate key", "{\"openapi\": \"3.0.0\",\n \"openapi\": \"3.1.0\"}", Fails("duplicate entry with key \"openapi\"", At::Line(2, 10))),
        case("json: NaN", "{\"openapi\": \"3.0.0\", \"x\": NaN}", Fails("expected value", At::Line(1, 27))),
        case("json: bad escape", "{\"openapi\": \"3.0.0\\q\"}", Fails("invalid escape", At::Line(1, 20))),
        case("json: raw newline in a string", "{\"openapi\": \"3.0\n.0\"}", Fails("control character", At::LineOnly(2))),
        // ---- nesting meant to overflow the stack
        case("deep: 10,000 YAML flow sequences", format!("openapi: 3.0.0\nx: {}{}\n", times("[", deep), times("]", deep)), Fails("nested deeper than 128 levels", At::Line(2, 259))),
        case("deep: 10,000 YAML flow maps", format!("openapi: 3.0.0\nx: {}1{}\n", times("{a: ", deep), times("}", deep)), Fails("nested deeper than 128 levels", At::Line(2, 516))),
        case("deep: 100,000 YAML flow sequences in JSON style", format!("openapi: 3.0.0\nx: {}{}\n", times("[", 10 * deep), times("]", 10 * deep)), Fails("nested deeper than 128 levels", At::Line(2, 259))),
        case("deep: 10,000 YAML flow maps behind a block scalar", format!("openapi: 3.0.0\ndescription: |\n  \"]]]]\nx: {}1{}\n", times("{a: ", deep), times("}", deep)), Fails("nested deeper than 128 levels", At::Line(4, 516))),
        case("deep: 10,000 YAML block sequences", format!("openapi: 3.0.0\nx:\n{}1\n", times("- ", deep)), Fails("recursion limit exceeded", At::Line(3, 255))),
        case("deep: 2,000 YAML block maps", block_maps(2_000), Fails("recursion limit exceeded", At::Line(130, 129))),
        case("deep: 10,000 JSON arrays", format!("{{\"openapi\": \"3.0.0\", \"x\": {}{}}}", times("[", deep), times("]", deep)), Fails("recursion limit exceeded", At::Line(1, 153))),
        case("deep: 10,000 JSON objects", format!("{{\"openapi\": \"3.0.0\", \"x\": {}1{}}}", times("{\"a\": ", deep), times("}", deep)), Fails("recursion limit exceeded", At::Line(1, 783))),
        case("deep: a self-containing YAML anchor", "openapi: 3.0.0\nx: &a [*a]\n", Fails("not valid YAML", At::Line(2, 4))),
        // ---- not an OpenAPI document
        case("empty file", "", Fails("the document is empty", At::File)),
        case("only whitespace and a comment", " \n\n# nothing\n", Fails("the document is empty", At::File)),
        case("top-level scalar", "just text\n", Fails("the document is a string, not a map", At::Pointer(""))),
        case("top-level number (JSON)", "42", Fails("the document is a number, not a map", At::Pointer(""))),
        case("top-level YAML list", "- openapi: 3.0.0\n", Fails("the document is a list, not a map", At::Pointer(""))),
        case("top-level JSON array", "[{\"openapi\": \"3.0.0\"}]", Fails("the document is a list, not a map", At::Pointer(""))),
        case("no openapi or swagger", "info: {title: x}\npaths: {}\n", Fails("neither `openapi` nor `swagger`", At::Pointer(""))),
        case("openapi 4.0", "openapi: 4.0.0\npaths: {}\n", Fails("unsupported version `openapi: 4.0.0`", At::Pointer("/openapi"))),
        case("swagger 1.2", "swagger: '1.2'\n", Fails("unsupported version `swagger: 1.2`", At::Pointer("/swagger"))),
        case("openapi as a list", "openapi: [3, 0]\n", Fails("unsupported version `openapi: <list>`", At::Pointer("/openapi"))),
        case("openapi 3 with an empty version", "openapi: ''\n", Fails("unsupported version `openapi: `", At::Pointer("/openapi"))),
        // ---- security requirements
        case("undefined scheme at the root", format!("openapi: 3.0.0\n{SCHEMES}security: [{{nope: []}}]\n"), Fails("names scheme `nope`, which the document does not define (defined: k, b)", At::Pointer("/security/0/nope"))),
        case("undefined scheme in an operation", format!("openapi: 3.0.0\n{SCHEMES}paths:\n  /a:\n    get:\n      security: [{{k: []}}, {{k: [], ghost: []}}]\n"), Fails("names scheme `ghost`", At::Pointer("/paths/~1a/get/security/1/ghost"))),
        case("undefined scheme in Swagger 2.0", "swagger: '2.0'\nsecurityDefinitions: {k: {type: basic}}\npaths: {/a: {get: {security: [{x: []}]}}}\n", Fails("names scheme `x`", At::Pointer("/paths/~1a/get/security/0/x"))),
        case("security as a map", "openapi: 3.0.0\nsecurity: {k: []}\n", Fails("`security` must be a list of requirement maps, found a map", At::Pointer("/security"))),
        case("operation security as a string", format!("openapi: 3.0.0\n{SCHEMES}paths: {{/a: {{get: {{security: k}}}}}}\n"), Fails("found a string", At::Pointer("/paths/~1a/get/security"))),
        case("requirement entry a string", format!("openapi: 3.0.0\n{SCHEMES}security: [k]\n"), Fails("a security requirement must be a map of scheme name to role list, found a string", At::Pointer("/security/0"))),
        case("requirement entry null", format!("openapi: 3.0.0\n{SCHEMES}security: [{{k: []}}, ~]\n"), Fails("found a null", At::Pointer("/security/1"))),
        case("requirement key a list", format!("openapi: 3.0.0\n{SCHEMES}security: [{{? [k]: []}}]\n"), Fails("a security requirement key is a list, not a scheme name", At::Pointer("/security/0"))),
        case("roles a string", format!("openapi: 3.0.0\n{SCHEMES}security: [{{k: admin}}]\n"), Fails("the roles of scheme `k` must be a list of strings, found a string", At::Pointer("/security/0/k"))),
        case("roles a map", format!("openapi: 3.0.0\n{SCHEMES}security: [{{k: {{admin: true}}}}]\n"), Fails("found a map", At::Pointer("/security/0/k"))),
        case("a role that is a list", format!("openapi: 3.1.0\n{SCHEMES}security: [{{k: [read, [write]]}}]\n"), Fails("a role of scheme `k` is a list, not a string", At::Pointer("/security/0/k/1"))),
        // ---- security schemes
        case("apiKey in: body", "swagger: '2.0'\nsecurityDefinitions:\n  k: {type: apiKey, in: body, name: key}\n", Fails("apiKey scheme `k` has `in: body`; expected header, query or cookie", At::Pointer("/securityDefinitions/k/in"))),
        case("apiKey without name", "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, in: header}}}\n", Fails("apiKey scheme `k` has no `name`", At::Pointer("/components/securitySchemes/k"))),
        case("apiKey name a list", "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, in: header, name: [a]}}}\n", Fails("`name` must be a string, found a list", At::Pointer("/components/securitySchemes/k/name"))),
        case("unknown scheme type", "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: magic}}}\n", Fails("security scheme `k` has type `magic`; expected apiKey, http", At::Pointer("/components/securitySchemes/k/type"))),
        case("scheme without type", "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {in: header, name: K}}}\n", Fails("security scheme `k` has no `type`", At::Pointer("/components/securitySchemes/k"))),
        case("http without scheme", "openapi: 3.0.0\ncomponents: {securitySchemes: {h: {type: http}}}\n", Fails("http scheme `h` has no `scheme`", At::Pointer("/components/securitySchemes/h"))),
        case("http with a blank scheme", "openapi: 3.0.0\ncomponents: {securitySchemes: {h: {type: http, scheme: '  '}}}\n", Fails("http scheme `h` has no `scheme`", At::Pointer("/components/securitySchemes/h"))),
        case("scheme a string", "openapi: 3.0.0\ncomponents: {securitySchemes: {h: bearer}}\n", Fails("security scheme `h` is a string, not a map", At::Pointer("/components/securitySchemes/h"))),
        case("securitySchemes a list", "openapi: 3.0.0\ncomponents: {securitySchemes: [k]}\n", Fails("security schemes must be a map of name to scheme, found a list", At::Pointer("/components/securitySchemes"))),
        case("components a string", "openapi: 3.0.0\ncomponents: none\n", Fails("`components` must be a map, found a string", At::Pointer("/components"))),
        // ---- $ref
        case("$ref: a scheme to itself", "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {$ref: '#/components/securitySchemes/a'}}}\n", Fails("`$ref` chain loops", At::Pointer("/components/securitySchemes/a/$ref"))),
        case("$ref: two schemes in a loop", "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {$ref: '#/components/securitySchemes/b'}, b: {$ref: '#/components/securitySchemes/a'}}}\n", Fails("/components/securitySchemes/a -> /components/securitySchemes/b -> /components/securitySchemes/a", At::Pointer("/components/securitySchemes/a/$ref"))),
        case("$ref: a scheme to its own map", "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {$ref: '#/components/securitySchemes'}}}\n", Fails("points at /components/securitySchemes, which contains this `$ref`", At::Pointer("/components/securitySchemes/a/$ref"))),
        case("$ref: the security scheme map itself", "openapi: 3.0.0\nx-schemes: {k: {type: http, scheme: bearer}}\ncomponents: {securitySchemes: {$ref: '#/x-schemes'}}\n", Fails("the security scheme map itself cannot be a `$ref`", At::Pointer("/components/securitySchemes/$ref"))),
        case("$ref: path items in a loop", "openapi: 3.0.0\nx-a: {$ref: '#/x-b'}\nx-b: {$ref: '#/x-a'}\npaths:\n  /a: {$ref: '#/x-a'}\n", Fails("/paths/~1a -> /x-a -> /x-b -> /x-a", At::Pointer("/paths/~1a/$ref"))),
        case("$ref: a path item to the whole document", "openapi: 3.0.0\npaths:\n  /a: {$ref: '#'}\n", Fails("`$ref` `#` points at /, which contains this `$ref`, so the reference loops", At::Pointer("/paths/~1a/$ref"))),
        case("$ref: a path item to `paths`", "openapi: 3.0.0\npaths:\n  /a: {$ref: '#/paths'}\n", Fails("points at /paths, which contains this `$ref`", At::Pointer("/paths/~1a/$ref"))),
        case("$ref: paths itself", "openapi: 3.0.0\nx-paths: {/a: {get: {}}}\npaths: {$ref: '#/x-paths'}\n", Fails("`paths` itself cannot be a `$ref`", At::Pointer("/paths/$ref"))),
        case("$ref: external scheme", "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {$ref: 'other.yaml#/x'}}}\n", Fails("`other.yaml#/x` points outside this document; external references are not supported", At::Pointer("/components/securitySchemes/k/$ref"))),
        case("$ref: external path item", "openapi: 3.0.0\npaths:\n  /a: {$ref: 'paths.yaml#/a'}\n", Fails("external references are not supported", At::Pointer("/paths/~1a/$ref"))),
        case("$ref: dangling", "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {$ref: '#/components/securitySchemes/zz'}}}\n", Fails("points at nothing in this document", At::Pointer("/components/securitySchemes/k/$ref"))),
        case("$ref: a number", "openapi: 3.1.0\ncomponents: {securitySchemes: {k: {$ref: 7}}}\n", Fails("`$ref` must be a string, found a number", At::Pointer("/components/securitySchemes/k/$ref"))),
        case("$ref: 40 hops", ref_chain(40), Fails("runs past 32 hops", At::Pointer("/components/securitySchemes/k/$ref"))),
        // ---- path templates the router cannot express
        case("template: {a}{b}", "openapi: 3.0.0\npaths: {'/x/{a}{b}': {get: {}}}\n", Fails("two parameters with nothing between them", At::Pointer("/paths/~1x~1{a}{b}"))),
        case("template: unclosed {", "openapi: 3.0.0\npaths: {'/x/{a': {get: {}}}\n", Fails("has an unclosed `{`", At::Pointer("/paths/~1x~1{a"))),
        case("template: stray }", "openapi: 3.0.0\npaths: {'/x/a}': {get: {}}}\n", Fails("has a `}` with no `{`", At::Pointer("/paths/~1x~1a}"))),
        case("template: empty {}", "openapi: 3.0.0\npaths: {'/x/{}': {get: {}}}\n", Fails("has a parameter with no name", At::Pointer("/paths/~1x~1{}"))),
        case("template: nested braces", "openapi: 3.0.0\npaths: {'/x/{{a}}': {get: {}}}\n", Fails("nests `{` inside a parameter", At::Pointer("/paths/~1x~1{{a}}"))),
        case("template: a query string", "openapi: 3.0.0\npaths: {'/x?admin=1': {get: {}}}\n", Fails("contains `?`, which a request path never holds", At::Pointer("/paths/~1x?admin=1"))),
        case("template: a fragment names the operation", "openapi: 3.0.0\npaths: {'/x#y': {get: {}}, '/x': {get: {}}}\n", Loads(2, 0)),
        case("template: a query string before a fragment", "openapi: 3.0.0\npaths: {'/x?a#y': {get: {}}}\n", Fails("contains `?`", At::Pointer("/paths/~1x?a#y"))),
        case("template: a space", "openapi: 3.0.0\npaths: {'/x y': {get: {}}}\n", Fails("contains a space", At::Pointer("/paths/~1x y"))),
        case("template: no leading slash", "openapi: 3.0.0\npaths: {pets: {get: {}}}\n", Fails("does not start with `/`", At::Pointer("/paths/pets"))),
        case("template: same route twice", "openapi: 3.0.0\npaths:\n  /d/{a}: {get: {}}\n  /d/{b}: {get: {}}\n", Loads(2, 0)),
        case("operation a list", "openapi: 3.0.0\npaths: {/a: {get: [1]}}\n", Fails("an operation must be a map, found a list", At::Pointer("/paths/~1a/get"))),
        // ---- text that lands in the module's comments: one line, nothing rustc denies
        case("title with a line break", format!("openapi: 3.0.0\ninfo: {{title: \"t\\nfn broken() {{\"}}\n{SCHEMES}security: [{{k: []}}]\npaths: {{/a: {{get: {{}}}}}}\n"), Loads(1, 1)),
        case("title with a tab, CR and line separator", format!("openapi: 3.0.0\ninfo: {{title: \"a\\tb\\rc\\Ld\\Pe\"}}\n{SCHEMES}security: [{{k: []}}]\npaths: {{/a: {{get: {{}}}}}}\n"), Loads(1, 1)),
        case("title with a bidi override", format!("openapi: 3.0.0\ninfo: {{title: \"a\u{202e}b\u{2066}c\"}}\n{SCHEMES}security: [{{k: []}}]\npaths: {{/a: {{get: {{}}}}}}\n"), Loads(1, 1)),
        case("operationId with a line break", format!("openapi: 3.0.0\n{SCHEMES}paths: {{/a: {{get: {{operationId: \"x\\n}}\", security: [{{k: []}}]}}}}}}\n"), Loads(1, 1)),
        case("scheme name with a line break", "openapi: 3.0.0\ncomponents: {securitySchemes: {\"k\\n]\": {type: apiKey, in: header, name: X-Key}}}\nsecurity: [{\"k\\n]\": []}]\npaths: {/a: {get: {}}}\n", Loads(1, 1)),
        case("path with a paragraph separator", format!("openapi: 3.0.0\n{SCHEMES}security: [{{k: []}}]\npaths: {{\"/a\\Pb\": {{get: {{}}}}}}\n"), Loads(1, 1)),
        // ---- size
        case("10,000 alternatives in one requirement", many_alternatives(10_000), Loads(1, 10_000)),
        case("a 1 MB scheme name", format!("openapi: 3.0.0\ncomponents: {{securitySchemes: {{{mega}: {{type: http, scheme: bearer}}}}}}\nsecurity: [{{{mega}: []}}]\npaths: {{/a: {{get: {{}}}}}}\n"), Loads(1, 1)),
        case("a 1 MB header name", format!("openapi: 3.0.0\ncomponents: {{securitySchemes: {{k: {{type: apiKey, in: header, name: {mega}}}}}}}\nsecurity: [{{k: []}}]\npaths: {{/a: {{get: {{}}}}}}\n"), Loads(1, 1)),
        case("a 1 MB undefined scheme name", format!("openapi: 3.0.0\nsecurity: [{{{mega}: []}}]\n"), Fails("names scheme `kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk… (1048576 bytes)`", At::Pointer(leak(format!("/security/0/{mega}"))))),
        case("a 1 MB unknown type", format!("openapi: 3.0.0\ncomponents: {{securitySchemes: {{k: {{type: {mega}}}}}}}\n"), Fails("has type `kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk… (1048576 bytes)`", At::Pointer("/components/securitySchemes/k/type"))),
        case("a 1 MB external $ref", format!("openapi: 3.0.0\npaths: {{/a: {{$ref: 'x{mega}'}}}}\n"), Fails("points outside this document", At::Pointer("/paths/~1a/$ref"))),
        // ---- encodings
        case("UTF-8 BOM before a located error", "\u{feff}openapi: 3.0.0\nsecurity: [{k: []}]\n", Fails("names scheme `k`", At::Pointer("/security/0/k"))),
        case("UTF-8 BOM before bad JSON", "\u{feff}{\"openapi\": \"3.0.0\",\n  \"paths\": {,}}", Fails("not valid JSON", At::Line(2, 13))),
    ];
    cases.push(Case {
        name: "not UTF-8",
        bytes: b"openapi: 3.0.0\ninfo: {title: caf\xe9}\n".to_vec(),
        expect: Fails("not UTF-8 text at byte 32", At::Line(2, 18)),
    });
    cases.push(Case {
        name: "UTF-16 with a byte-order mark",
        bytes: [0xff, 0xfe]
            .into_iter()
            .chain("openapi: 3.0.0\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
        expect: Fails("the file is UTF-16", At::Line(1, 1)),
    });
    cases
}

/// Nine anchors, each a list of nine aliases of the one before: 9^9 nodes if expanded.
fn alias_bomb() -> String {
    let mut text =
        String::from("openapi: 3.0.0\nx-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        let aliases = vec![format!("*a{p}"); 9].join(", ");
        text.push_str(&format!("x-{i}: &a{i} [{aliases}]\n"));
    }
    text
}

/// Block maps nested `depth` deep, one more space of indentation each.
fn block_maps(depth: usize) -> String {
    let mut text = String::from("openapi: 3.0.0\nx:\n");
    for level in 1..=depth {
        text.push_str(&" ".repeat(level));
        text.push_str("a:\n");
    }
    text
}

/// A scheme reached through `hops` `$ref`s.
fn ref_chain(hops: usize) -> String {
    let mut text = String::from("openapi: 3.0.0\nx-hops:\n");
    for hop in 0..hops {
        text.push_str(&format!("  h{hop}: {{$ref: '#/x-hops/h{}'}}\n", hop + 1));
    }
    text.push_str(&format!("  h{hops}: {{type: http, scheme: bearer}}\n"));
    text.push_str("components: {securitySchemes: {k: {$ref: '#/x-hops/h0'}}}\n");
    text
}

/// One operation whose requirement has `n` alternatives, each naming a role of its own.
fn many_alternatives(n: usize) -> String {
    let mut text = format!("openapi: 3.1.0\n{SCHEMES}paths:\n  /a:\n    get:\n      security:\n");
    for i in 0..n {
        text.push_str(&format!("        - {{k: [r{i}], b: []}}\n"));
    }
    text
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// What one case did.
enum Outcome {
    Loaded {
        /// Whether `check` had anything to say (it always lists the operations).
        checked: bool,
        operations: usize,
        alternatives: usize,
        module: Result<String, Error>,
    },
    Failed(Error),
    Panicked,
}

/// Loads, and when that works checks and generates, as the CLI's commands do.
fn attempt(path: &Path) -> Outcome {
    let run = || match load_file(path) {
        Ok(api) => Outcome::Loaded {
            checked: !check(&api).is_empty() || !report::render_table(&api).is_empty(),
            operations: api.operations.len(),
            alternatives: api
                .operations
                .first()
                .map_or(0, |op| op.requirement.alternatives.len()),
            module: generate_module(&api, &Templates::builtin()),
        },
        Err(error) => Outcome::Failed(error),
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or(Outcome::Panicked)
}

/// Runs every file on a few worker threads with a test thread's stack. Each result comes
/// back with its time; a case that has not finished by the deadline is reported as hung.
fn run_all(paths: Vec<PathBuf>) -> Vec<Result<(Outcome, Duration), String>> {
    let count = paths.len();
    let paths = Arc::new(paths);
    let next = Arc::new(AtomicUsize::new(0));
    let (done, results) = mpsc::channel();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    for _ in 0..workers {
        let (paths, next, done) = (Arc::clone(&paths), Arc::clone(&next), done.clone());
        std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(path) = paths.get(index) else { break };
                let started = Instant::now();
                let outcome = attempt(path);
                let _ = done.send((index, outcome, started.elapsed()));
            })
            .expect("start a worker");
    }
    drop(done);
    let mut out: Vec<Result<(Outcome, Duration), String>> = (0..count)
        .map(|_| Err(format!("not finished after {TIME_LIMIT:?}")))
        .collect();
    let deadline = Instant::now() + TIME_LIMIT;
    for _ in 0..count {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((index, outcome, elapsed)) = results.recv_timeout(left) else {
            break;
        };
        out[index] = Ok((outcome, elapsed));
    }
    out
}

/// Why the case's result is not what it expects, if it is not.
fn judge(case: &Case, file: &str, outcome: Outcome) -> Option<String> {
    match (&case.expect, outcome) {
        (Fails(text, at), Outcome::Failed(error)) => {
            let shown = error.to_string();
            let mut wrong = Vec::new();
            if error.file != file {
                wrong.push(format!("file {:?}, want {file:?}", error.file));
            }
            if !shown.contains(text) {
                wrong.push(format!("the message lacks {text:?}"));
            }
            let got = (error.pointer.as_deref(), error.line, error.column);
            let want = match *at {
                At::File => (None, None, None),
                // The line and column of the pointer's node, wherever the text has it.
                At::Pointer(pointer) => (
                    Some(pointer),
                    error.line.or(Some(0)),
                    error.column.or(Some(0)),
                ),
                At::Line(line, column) => (None, Some(line), Some(column)),
                At::LineOnly(line) => (None, Some(line), None),
            };
            if got != want {
                wrong.push(format!("located at {}, want {}", place(got), place(want)));
            }
            // A message is one readable line, whatever the document holds.
            if shown.len() > 1024 || shown.contains('\n') {
                wrong.push(format!(
                    "the message is {} bytes or spans lines",
                    shown.len()
                ));
            }
            (!wrong.is_empty()).then(|| format!("{}: {}", wrong.join("; "), short(&shown)))
        }
        (_, Outcome::Panicked) => Some("panicked".to_owned()),
        (Fails(text, _), Outcome::Loaded { .. }) => {
            Some(format!("loaded; expected an error with {text:?}"))
        }
        (Loads(..), Outcome::Failed(error)) => {
            Some(format!("expected to load: {}", short(&error.to_string())))
        }
        (
            Loads(want_operations, want_alternatives),
            Outcome::Loaded {
                checked,
                operations,
                alternatives,
                module,
            },
        ) => match module {
            _ if !checked => Some("`check` printed nothing".to_owned()),
            _ if (operations, alternatives) != (*want_operations, *want_alternatives) => {
                Some(format!(
                    "loaded {operations} operations, the first with {alternatives} \
                     alternatives; want {want_operations} and {want_alternatives}"
                ))
            }
            Err(error) => Some(format!(
                "loaded, but generation failed: {}",
                short(&error.to_string())
            )),
            Ok(module) if !module.contains("pub fn layer") => {
                Some("the module has no `layer()`".to_owned())
            }
            // syn parses these, but a control character in a comment or string breaks
            // the build, and rustc denies bidirectional overrides in comments.
            Ok(module)
                if module
                    .chars()
                    .any(|c| (c.is_control() && c != '\n') || bidi(c)) =>
            {
                Some("the module holds a raw control or bidirectional character".to_owned())
            }
            Ok(_) => None,
        },
    }
}

/// The characters of rustc's `text_direction_codepoint_in_comment` lint, and the line
/// and paragraph separators.
fn bidi(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn place((pointer, line, column): (Option<&str>, Option<usize>, Option<usize>)) -> String {
    format!(
        "pointer {:?} line {line:?} column {column:?}",
        pointer.map(short)
    )
}

fn short(text: &str) -> String {
    let end = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
    text[..end].to_owned()
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keygate-hostile-specs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch dir");
    dir
}

fn file_for(dir: &Path, index: usize, case: &Case) -> PathBuf {
    let json = matches!(
        case.bytes.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    );
    dir.join(format!(
        "case-{index:02}.{}",
        if json { "json" } else { "yaml" }
    ))
}

#[test]
fn hostile_specs_end_in_located_errors() {
    let dir = scratch_dir();
    let cases = cases();
    let paths: Vec<PathBuf> = cases
        .iter()
        .enumerate()
        .map(|(index, case)| {
            let path = file_for(&dir, index, case);
            std::fs::write(&path, &case.bytes).expect("write the case");
            path
        })
        .collect();
    let files: Vec<String> = paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let mut failures = Vec::new();
    let mut errors = 0;
    for ((case, file), result) in cases.iter().zip(&files).zip(run_all(paths)) {
        match result {
            Ok((outcome, elapsed)) => {
                errors += usize::from(matches!(outcome, Outcome::Failed(_)));
                if let Some(why) = judge(case, file, outcome) {
                    failures.push(format!("{}: {why}", case.name));
                }
                if elapsed > TIME_LIMIT / 4 {
                    failures.push(format!("{}: took {elapsed:?}", case.name));
                }
            }
            Err(why) => failures.push(format!("{}: {why}", case.name)),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    let n = cases.len();
    assert!(n >= 40, "only {n} cases");
    eprintln!(
        "hostile specs: {n} cases ({errors} errors, {} loads), all located",
        n - errors
    );
}
