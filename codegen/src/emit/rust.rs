//! The Rust module: tables for the runtime plus one thin typed extractor per operation.
//!
//! The items are written as formatted text, laid out the way rustfmt lays them out, so a
//! multi-megabyte module never goes through a token tree, a parser and a formatter. Only
//! the layout decisions rustfmt makes for these few shapes are modelled (line width 100,
//! one-line struct literals up to 18 columns of fields, one-line arrays up to 60, short
//! literals packed several to a line); `tests/it/snapshots.rs` checks them with rustfmt.

use std::fmt::Write as _;

use super::names::{Case, NameSpace};
use crate::ir::{Alternative, Api, HookedKind, KeyLocation, Requirement, SchemeKind, SchemeUse};

/// rustfmt's `max_width`.
const MAX_WIDTH: usize = 100;
/// rustfmt's `struct_lit_width`: widest field list a struct literal keeps on one line.
const STRUCT_LIT_WIDTH: usize = 18;
/// rustfmt's `array_width`: widest element list an array keeps on one line.
const ARRAY_WIDTH: usize = 60;
/// rustfmt's `short_array_element_width_threshold`: arrays of elements this short pack
/// several to a line instead of one per line.
const SHORT_ELEMENT: usize = 10;

/// Names chosen for one scheme.
struct SchemeNames {
    /// UpperCamel, for variant names (`ApiKey`).
    variant: String,
    /// snake_case, for principal fields (`api_key`).
    field: String,
    /// SHOUTY, for the `scheme` constants (`API_KEY`).
    constant: String,
}

/// The generated items (before the module template wraps them), formatted for a place
/// indented by `base` spaces.
pub(crate) fn items(api: &Api, base: usize) -> String {
    let names = scheme_names(api);
    // Identical requirements share one table.
    let mut tables: Vec<&Requirement> = Vec::new();
    let root_table = api.root.as_ref().map(|root| table_index(&mut tables, root));
    let operation_tables: Vec<usize> = api
        .operations
        .iter()
        .map(|op| table_index(&mut tables, &op.requirement))
        .collect();

    // About what the extractors take; a guess that saves regrowing a large buffer.
    let mut w = Writer {
        out: String::with_capacity(2048 + api.operations.len() * 2048),
        base,
    };
    w.spec(api, root_table, &operation_tables);
    for (index, requirement) in tables.iter().enumerate() {
        w.blank();
        w.requirement_table(index, requirement);
    }
    w.blank();
    w.functions();
    w.blank();
    w.scheme_constants(api, &names);
    extractors(&mut w, api, &names, &operation_tables);
    w.out
}

fn table_index<'a>(tables: &mut Vec<&'a Requirement>, requirement: &'a Requirement) -> usize {
    match tables
        .iter()
        .position(|t| t.alternatives == requirement.alternatives)
    {
        Some(index) => index,
        None => {
            tables.push(requirement);
            tables.len() - 1
        }
    }
}

fn scheme_names(api: &Api) -> Vec<SchemeNames> {
    let mut variants = NameSpace::new(Case::UpperCamel, "Scheme", &["Anonymous", "Public"]);
    let mut fields = NameSpace::new(Case::Snake, "scheme", &[]);
    let mut constants = NameSpace::new(Case::ShoutySnake, "SCHEME", &[]);
    api.schemes
        .iter()
        .map(|scheme| SchemeNames {
            variant: variants.claim(&scheme.name),
            field: fields.claim(&scheme.name),
            constant: constants.claim(&scheme.name),
        })
        .collect()
}

/// Text safe inside a doc comment: `comment_text`, and no backticks or brackets that
/// rustdoc would parse.
pub(crate) fn doc_text(text: &str) -> String {
    comment_text(text)
        .chars()
        .map(|c| match c {
            '`' => '\'',
            '[' => '(',
            ']' => ')',
            c => c,
        })
        .collect()
}

/// Text safe inside a line comment: one line (control characters and line and
/// paragraph separators become spaces: a line break would end the comment and turn the
/// rest into code), and no bidirectional-override characters (rustc denies them in
/// comments).
pub(crate) fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() || is_separator_or_bidi(c) => ' ',
            c => c,
        })
        .collect()
}

/// Unicode's line and paragraph separators, and the bidirectional embedding, override
/// and isolate characters of rustc's `text_direction_codepoint_in_comment` lint.
fn is_separator_or_bidi(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The requirement in the words of the `check` table, safe for a doc comment.
fn describe(api: &Api, requirement: &Requirement) -> String {
    doc_text(&crate::describe::requirement_text(api, requirement))
}

/// A Rust string literal for `text`, escaped as `proc_macro2::Literal::string` does.
pub(crate) fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            // `\0` followed by a digit would read as an octal escape to clippy.
            '\0' if chars
                .as_str()
                .starts_with(|next: char| next.is_ascii_digit()) =>
            {
                out.push_str("\\x00");
            }
            '\0' => out.push_str("\\0"),
            '\'' => out.push('\''),
            c => out.extend(c.escape_debug()),
        }
    }
    out.push('"');
    out
}

/// Columns `text` takes on screen, as rustfmt counts them: East Asian wide characters
/// take two, combining marks none.
pub(crate) fn width(text: &str) -> usize {
    if text.is_ascii() {
        return text.len();
    }
    text.chars()
        .map(|c| match u32::from(c) {
            0x300..=0x36f | 0x200b..=0x200f | 0xfe00..=0xfe0f => 0,
            0x1100..=0x115f
            | 0x2e80..=0x303e
            | 0x3041..=0x33ff
            | 0x3400..=0x4dbf
            | 0x4e00..=0x9fff
            | 0xa000..=0xa4cf
            | 0xac00..=0xd7a3
            | 0xf900..=0xfaff
            | 0xfe30..=0xfe4f
            | 0xff00..=0xff60
            | 0xffe0..=0xffe6
            | 0x1f300..=0x1f64f
            | 0x1f900..=0x1f9ff
            | 0x20000..=0x3fffd => 2,
            _ => 1,
        })
        .sum()
}

/// Formatted text under construction; `base` is the indentation of the items.
struct Writer {
    out: String,
    base: usize,
}

impl Writer {
    /// The column where text indented `level` spaces inside the items starts.
    fn col(&self, level: usize) -> usize {
        self.base + level
    }

    fn indent(&mut self, level: usize) {
        let col = self.col(level);
        self.out.extend(std::iter::repeat_n(' ', col));
    }

    /// One line, from pieces.
    fn line(&mut self, level: usize, parts: &[&str]) {
        self.indent(level);
        for part in parts {
            self.out.push_str(part);
        }
        self.out.push('\n');
    }

    fn blank(&mut self) {
        self.out.push('\n');
    }

    /// A `///` line; trailing spaces dropped, as rustfmt and prettyplease do.
    fn doc(&mut self, level: usize, text: &str) {
        self.line(level, &["///", text.trim_end_matches(' ')]);
    }

    /// Whether a line starting at `level` with this much text fits.
    fn fits(&self, level: usize, text_width: usize) -> bool {
        self.col(level) + text_width <= MAX_WIDTH
    }

    // ---- SPEC ------------------------------------------------------------------

    fn spec(&mut self, api: &Api, root_table: Option<usize>, operation_tables: &[usize]) {
        self.doc(
            0,
            &format!(
                " The security tables of {}: {} schemes, {} operations.",
                doc_text(&api.title),
                api.schemes.len(),
                api.operations.len()
            ),
        );
        self.line(0, &["#[allow(dead_code, unreachable_pub)]"]);
        self.line(0, &["pub static SPEC: ::keygate::Spec = ::keygate::Spec {"]);
        self.line(4, &["title: ", &literal(&api.title), ","]);
        self.line(4, &["base_path: ", &literal(&api.base_path), ","]);
        self.struct_array(
            4,
            "schemes",
            "::keygate::spec::Scheme",
            &api.schemes,
            |_| None,
            |w, level, scheme| {
                w.line(level, &["name: ", &literal(&scheme.name), ","]);
                w.scheme_kind(level, &scheme.kind);
            },
        );
        match root_table {
            Some(index) => self.line(4, &["root: REQUIREMENT_", &index.to_string(), ","]),
            None => self.line(4, &["root: ::keygate::spec::Requirement::PUBLIC,"]),
        }
        let operations: Vec<_> = api.operations.iter().zip(operation_tables).collect();
        self.struct_array(
            4,
            "operations",
            "::keygate::spec::Operation",
            &operations,
            |_| None,
            |w, level, (op, table)| {
                w.line(level, &["method: \"", op.method.as_str(), "\","]);
                w.line(level, &["path: ", &literal(&op.path), ","]);
                match &op.operation_id {
                    Some(id) => {
                        const OPEN: &str = "operation_id: ::core::option::Option::Some(";
                        let id = literal(id);
                        if w.fits(level, OPEN.len() + width(&id) + 2) {
                            w.line(level, &[OPEN, &id, "),"]);
                        } else {
                            w.line(level, &[OPEN]);
                            w.line(level + 4, &[&id, ","]);
                            w.line(level, &["),"]);
                        }
                    }
                    None => w.line(level, &["operation_id: ::core::option::Option::None,"]),
                }
                w.line(
                    level,
                    &["requirement: REQUIREMENT_", &table.to_string(), ","],
                );
            },
        );
        self.line(0, &["};"]);
    }

    fn scheme_kind(&mut self, level: usize, kind: &SchemeKind) {
        match kind {
            SchemeKind::ApiKey { location, name } => {
                let location = match location {
                    KeyLocation::Header => "Header",
                    KeyLocation::Query => "Query",
                    KeyLocation::Cookie => "Cookie",
                };
                self.line(level, &["kind: ::keygate::spec::SchemeKind::ApiKey {"]);
                self.line(
                    level + 4,
                    &["location: ::keygate::spec::Location::", location, ","],
                );
                self.line(level + 4, &["name: ", &literal(name), ","]);
                self.line(level, &["},"]);
            }
            SchemeKind::HttpBearer => {
                self.line(level, &["kind: ::keygate::spec::SchemeKind::HttpBearer,"]);
            }
            SchemeKind::HttpBasic => {
                self.line(level, &["kind: ::keygate::spec::SchemeKind::HttpBasic,"]);
            }
            SchemeKind::Hooked(hooked) => {
                const OPEN: &str = "kind: ::keygate::spec::SchemeKind::Hooked {";
                let kind = literal(match hooked {
                    HookedKind::OAuth2 => "oauth2",
                    HookedKind::OpenIdConnect => "openIdConnect",
                    HookedKind::MutualTls => "mutualTLS",
                    HookedKind::Http(scheme) => scheme.as_str(),
                });
                let fields = "kind: ".len() + width(&kind);
                if fields <= STRUCT_LIT_WIDTH && self.fits(level, OPEN.len() + fields + 4) {
                    self.line(level, &[OPEN, " kind: ", &kind, " },"]);
                } else {
                    self.line(level, &[OPEN]);
                    self.line(level + 4, &["kind: ", &kind, ","]);
                    self.line(level, &["},"]);
                }
            }
        }
    }

    /// The field `name: &[..],` holding struct literals of type `path`, at `level`.
    /// `one_line` gives an element's fields when they fit on one line; `fields` writes
    /// an element's fields at the level it is given. A lone element that spans lines
    /// hugs the brackets (`&[Path {` .. `}]`), as rustfmt overflows it.
    fn struct_array<T>(
        &mut self,
        level: usize,
        name: &str,
        path: &str,
        items: &[T],
        one_line: impl Fn(&T) -> Option<&'static str>,
        mut fields: impl FnMut(&mut Writer, usize, &T),
    ) {
        match items {
            [] => self.line(level, &[name, ": &[],"]),
            [item] => match one_line(item) {
                Some(body) => self.line(level, &[name, ": &[", path, " { ", body, " }],"]),
                None => {
                    self.line(level, &[name, ": &[", path, " {"]);
                    fields(self, level + 4, item);
                    self.line(level, &["}],"]);
                }
            },
            _ => {
                self.line(level, &[name, ": &["]);
                for item in items {
                    match one_line(item) {
                        Some(body) => self.line(level + 4, &[path, " { ", body, " },"]),
                        None => {
                            self.line(level + 4, &[path, " {"]);
                            fields(self, level + 8, item);
                            self.line(level + 4, &["},"]);
                        }
                    }
                }
                self.line(level, &["],"]);
            }
        }
    }

    // ---- requirement tables ----------------------------------------------------

    fn requirement_table(&mut self, index: usize, requirement: &Requirement) {
        let head = format!("const REQUIREMENT_{index}: ::keygate::spec::Requirement =");
        if requirement.alternatives.is_empty() {
            // Too wide for one line; the short literal moves to the next.
            self.line(0, &[&head]);
            self.line(4, &["::keygate::spec::Requirement { alternatives: &[] };"]);
            return;
        }
        self.line(0, &[&head, " ::keygate::spec::Requirement {"]);
        self.struct_array(
            4,
            "alternatives",
            "::keygate::spec::Alternative",
            &requirement.alternatives,
            |alternative: &Alternative| alternative.is_anonymous().then_some("schemes: &[]"),
            |w, level, alternative| {
                w.struct_array(
                    level,
                    "schemes",
                    "::keygate::spec::SchemeUse",
                    &alternative.schemes,
                    |_| None,
                    |w, level, used: &SchemeUse| {
                        w.line(level, &["scheme: ", &used.scheme.to_string(), ","]);
                        w.roles(level, &used.roles);
                    },
                );
            },
        );
        self.line(0, &["};"]);
    }

    /// `roles: &[..],`: on one line when it fits, else short literals packed to the
    /// line width, else one per line.
    fn roles(&mut self, level: usize, roles: &[String]) {
        const OPEN: &str = "roles: &[";
        let literals: Vec<String> = roles.iter().map(|role| literal(role)).collect();
        let widths: Vec<usize> = literals.iter().map(|l| width(l)).collect();
        let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        let one_line = match literals.len() {
            0 => true,
            1 => self.fits(level, OPEN.len() + total + 2),
            _ => total <= ARRAY_WIDTH && self.fits(level, OPEN.len() + total + 2),
        };
        if one_line {
            self.indent(level);
            self.out.push_str(OPEN);
            for (i, literal) in literals.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.out.push_str(literal);
            }
            self.out.push_str("],\n");
            return;
        }
        self.line(level, &[OPEN]);
        if literals.iter().all(|l| l.len() <= SHORT_ELEMENT) {
            // Each element with its comma; a space between elements; one column short
            // of the width, as rustfmt packs them.
            let room = (MAX_WIDTH - 1).saturating_sub(self.col(level + 4));
            let mut used = 0;
            for (literal, width) in literals.iter().zip(&widths) {
                if used > 0 && used + 1 + width + 1 > room {
                    self.out.push('\n');
                    used = 0;
                }
                if used == 0 {
                    self.indent(level + 4);
                } else {
                    self.out.push(' ');
                    used += 1;
                }
                self.out.push_str(literal);
                self.out.push(',');
                used += width + 1;
            }
            self.out.push('\n');
        } else {
            for literal in &literals {
                self.line(level + 4, &[literal, ","]);
            }
        }
        self.line(level, &["],"]);
    }

    // ---- functions and scheme names ----------------------------------------------

    fn functions(&mut self) {
        for line in [
            "/// The layer that enforces every documented operation over a whole `Router`.",
            "/// Routes the document does not describe are refused with 404 by default;",
            "/// `.undocumented(..)` chooses otherwise. Configure it further with",
            "/// `.base_path(..)`, `.realm(..)` and `.hook(scheme::NAME, hook)`.",
            "#[allow(dead_code, unreachable_pub)]",
            "pub fn layer(verifier: impl ::keygate::Verifier) -> ::keygate::AuthLayer {",
            "    ::keygate::AuthLayer::new(&SPEC, verifier)",
            "}",
            "",
            "/// A guard for the per-operation extractors, for apps that add it as",
            "/// `Extension(guard)` instead of using [`layer`].",
            "#[allow(dead_code, unreachable_pub)]",
            "pub fn guard(verifier: impl ::keygate::Verifier) -> ::keygate::Guard {",
            "    ::keygate::Guard::new(&SPEC, verifier)",
            "}",
        ] {
            if line.is_empty() {
                self.blank();
            } else {
                self.line(0, &[line]);
            }
        }
    }

    fn scheme_constants(&mut self, api: &Api, names: &[SchemeNames]) {
        self.doc(
            0,
            " Scheme names, for `.hook(..)` and `Authenticated::principal_for(..)`.",
        );
        self.line(0, &["#[allow(dead_code, unreachable_pub)]"]);
        if api.schemes.is_empty() {
            self.line(0, &["pub mod scheme {}"]);
            return;
        }
        self.line(0, &["pub mod scheme {"]);
        for (scheme, names) in api.schemes.iter().zip(names) {
            self.doc(
                4,
                &format!(
                    " The scheme `{}`: {}.",
                    doc_text(&scheme.name),
                    doc_text(&scheme.kind.label())
                ),
            );
            let head = format!("pub const {}: &str =", names.constant);
            let value = literal(&scheme.name);
            if self.fits(4, width(&head) + 1 + width(&value) + 1) {
                self.line(4, &[&head, " ", &value, ";"]);
            } else {
                self.line(4, &[&head]);
                self.line(8, &[&value, ";"]);
            }
        }
        self.line(0, &["}"]);
    }
}

/// One variant of an extractor enum and the match arm that builds it.
struct Variant {
    name: String,
    doc: String,
    /// (field name, field doc); empty for a variant without fields.
    fields: Vec<(String, String)>,
    /// The alternative's position, or `None` for the arm on `None`.
    position: Option<usize>,
}

fn extractors(w: &mut Writer, api: &Api, names: &[SchemeNames], operation_tables: &[usize]) {
    // `KeygateState` is the generic parameter of the impls below.
    let mut types = NameSpace::new(Case::UpperCamel, "Op", &["KeygateState"]);
    // Operations that share a requirement table share its words and variants: work out
    // each table's once.
    let tables = operation_tables.iter().max().map_or(0, |&max| max + 1);
    let mut shared: Vec<Option<(String, Vec<Variant>)>> = Vec::new();
    shared.resize_with(tables, || None);
    for ((index, op), &table) in api.operations.iter().enumerate().zip(operation_tables) {
        let raw = match &op.operation_id {
            Some(id) => id.clone(),
            None => format!("{} {}", op.method.key(), op.path),
        };
        let ident = types.claim(&raw);
        let Some(slot) = shared.get_mut(table) else {
            continue;
        };
        let (requires, variants) = slot.get_or_insert_with(|| {
            (
                describe(api, &op.requirement),
                variants(api, names, &op.requirement),
            )
        });
        w.blank();
        w.doc(
            0,
            &format!(
                " Extractor for `{}` (`{} {}`). Requires: {}.",
                doc_text(&op.display_name()),
                op.method.as_str(),
                doc_text(&op.path),
                requires
            ),
        );
        extractor(w, &ident, index, variants);
    }
}

/// The variants of an extractor enum for `requirement`, in alternative order.
fn variants(api: &Api, names: &[SchemeNames], requirement: &Requirement) -> Vec<Variant> {
    let mut variant_names = NameSpace::new(Case::UpperCamel, "Alternative", &[]);
    let mut variants = Vec::new();
    let mut anonymous_seen = false;
    for (position, alternative) in requirement.alternatives.iter().enumerate() {
        if alternative.is_anonymous() {
            if anonymous_seen {
                continue;
            }
            anonymous_seen = true;
            variants.push(Variant {
                name: variant_names.claim("Anonymous"),
                doc: " No credential was presented; the requirement allows anonymous calls."
                    .to_owned(),
                fields: Vec::new(),
                position: None,
            });
            continue;
        }
        let joined: Vec<&str> = alternative
            .schemes
            .iter()
            .filter_map(|used| names.get(used.scheme).map(|n| n.variant.as_str()))
            .collect();
        let fields = alternative
            .schemes
            .iter()
            .filter_map(|used| {
                let scheme = api.schemes.get(used.scheme)?;
                let scheme_names = names.get(used.scheme)?;
                Some((
                    scheme_names.field.clone(),
                    format!(
                        " The principal verified by scheme `{}`.",
                        doc_text(&scheme.name)
                    ),
                ))
            })
            .collect();
        variants.push(Variant {
            name: variant_names.claim(&joined.join("And")),
            doc: format!(
                " Granted through {}.",
                doc_text(&crate::describe::alternative_text(api, alternative))
            ),
            fields,
            position: Some(position),
        });
    }
    if requirement.is_public() {
        variants.push(Variant {
            name: "Public".to_owned(),
            doc: " The operation is public (`security: []` or no requirement at all).".to_owned(),
            fields: Vec::new(),
            position: None,
        });
    }
    variants
}

fn extractor(w: &mut Writer, ident: &str, index: usize, variants: &[Variant]) {
    w.line(0, &["#[derive(Debug, Clone, PartialEq, Eq)]"]);
    w.line(0, &["#[allow("]);
    for lint in [
        "dead_code,",
        "unreachable_pub,",
        "clippy::large_enum_variant,",
        "clippy::enum_variant_names",
    ] {
        w.line(4, &[lint]);
    }
    w.line(0, &[")]"]);
    if w.fits(0, "pub enum ".len() + ident.len() + 2) {
        w.line(0, &["pub enum ", ident, " {"]);
    } else {
        w.line(0, &["pub enum ", ident]);
        w.line(0, &["{"]);
    }
    for variant in variants {
        w.doc(4, &variant.doc);
        if variant.fields.is_empty() {
            w.line(4, &[&variant.name, ","]);
            continue;
        }
        w.line(4, &[&variant.name, " {"]);
        for (field, doc) in &variant.fields {
            w.doc(8, doc);
            if w.fits(8, field.len() + ": ::keygate::Principal,".len()) {
                w.line(8, &[field, ": ::keygate::Principal,"]);
            } else {
                w.line(8, &[field, ":"]);
                w.line(12, &["::keygate::Principal,"]);
            }
        }
        w.line(4, &["},"]);
    }
    w.line(0, &["}"]);
    w.blank();

    const IMPL: &str =
        "impl<KeygateState> ::keygate::axum::extract::FromRequestParts<KeygateState>";
    if w.fits(0, IMPL.len() + " for ".len() + ident.len()) {
        w.line(0, &[IMPL, " for ", ident]);
    } else {
        w.line(0, &[IMPL]);
        w.line(4, &["for ", ident]);
    }
    let mut head = String::new();
    let _ = write!(
        head,
        "let (alternative, principals) = ::keygate::authorize_operation(parts, &SPEC, {index})"
    );
    for (level, line) in [
        (0, "where"),
        (
            4,
            "KeygateState: ::core::marker::Send + ::core::marker::Sync,",
        ),
        (0, "{"),
        (4, "type Rejection = ::keygate::Rejection;"),
        (4, "async fn from_request_parts("),
        (8, "parts: &mut ::keygate::axum::http::request::Parts,"),
        (8, "_state: &KeygateState,"),
        (4, ") -> ::core::result::Result<Self, Self::Rejection> {"),
        (8, &head),
        (12, ".await?"),
        (12, ".into_parts();"),
    ] {
        w.line(level, &[line]);
    }
    if variants.iter().all(|v| v.fields.is_empty()) {
        w.line(8, &["let _ = principals;"]);
    }
    w.line(8, &["::core::result::Result::Ok(match alternative {"]);
    for variant in variants {
        let Some(position) = variant.position else {
            const ARM: &str = "::core::option::Option::None => Self::";
            if w.fits(12, ARM.len() + variant.name.len() + 1) {
                w.line(12, &[ARM, &variant.name, ","]);
            } else {
                w.line(12, &["::core::option::Option::None => {"]);
                w.line(16, &["Self::", &variant.name]);
                w.line(12, &["}"]);
            }
            continue;
        };
        w.line(
            12,
            &[
                "::core::option::Option::Some(",
                &position.to_string(),
                ") => {",
            ],
        );
        let bindings = variant
            .fields
            .iter()
            .map(|(field, _)| field.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        const CALL: &str = "::keygate::principals(principals)?;";
        if w.fits(
            16,
            "let [".len() + bindings.len() + "] = ".len() + CALL.len(),
        ) {
            w.line(16, &["let [", &bindings, "] = ", CALL]);
        } else {
            w.line(16, &["let [", &bindings, "] ="]);
            w.line(20, &[CALL]);
        }
        let one_line = "Self::".len() + variant.name.len() + " { ".len() + bindings.len() + 2;
        if bindings.len() <= STRUCT_LIT_WIDTH && w.fits(16, one_line) {
            w.line(16, &["Self::", &variant.name, " { ", &bindings, " }"]);
        } else {
            w.line(16, &["Self::", &variant.name, " {"]);
            for (field, _) in &variant.fields {
                w.line(20, &[field, ","]);
            }
            w.line(16, &["}"]);
        }
        w.line(12, &["}"]);
    }
    for (level, line) in [
        (
            12,
            "_ => return ::core::result::Result::Err(::keygate::Rejection::internal()),",
        ),
        (8, "})"),
        (4, "}"),
        (0, "}"),
    ] {
        w.line(level, &[line]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped_like_proc_macro2() {
        for text in [
            "plain",
            "quote \" and backslash \\",
            "apostrophe ' stays",
            "nul \0 then \x001 digit",
            "tab\tnewline\ncr\r",
            "control \u{7} \u{1b} and del \u{7f}",
            "wide 漢字 and combining e\u{301}",
            "line separator \u{2028} bidi \u{202e}",
            "emoji 🦀",
        ] {
            assert_eq!(
                literal(text),
                proc_macro2::Literal::string(text).to_string(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn widths_count_columns() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("漢字"), 4);
        assert_eq!(width("e\u{301}"), 1);
    }
}
