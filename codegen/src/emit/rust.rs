//! The Rust module's items, as tokens: the tables, `layer()`, `guard()`, the scheme
//! names, per requirement an extractor enum generic over the operation (its impl one
//! `kg::extractor!` line into `keygate::__private`), and per operation a type alias: an
//! app compiles impls per requirement, not per operation.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, ToTokens as _};

use super::names::{Case, NameSpace};
use crate::describe::{alternative_text, requirement_text};
use crate::ir::{Api, HookedKind, KeyLocation, Requirement, SchemeKind};

/// Names chosen for one scheme: variant (`ApiKey`), field (`api_key`), constant (`API_KEY`).
struct SchemeNames {
    variant: String,
    field: Ident,
    constant: Ident,
}

/// The items inside the generated module, handed to `emit` one token stream each, in
/// output order.
pub(crate) fn items(api: &Api, emit: &mut impl FnMut(TokenStream)) {
    let names = scheme_names(api);
    // Identical requirements share one table.
    let mut tables: Vec<&Requirement> = Vec::new();
    let root = api.root.as_ref().map(|root| table(&mut tables, root));
    let operation_tables: Vec<usize> = api
        .operations
        .iter()
        .map(|op| table(&mut tables, &op.requirement))
        .collect();

    emit(quote!(
        use ::keygate::__private as kg;
    ));
    emit(spec(api, root, &operation_tables));
    for (index, requirement) in tables.iter().enumerate() {
        let doc = format!(" {}.", doc_text(&requirement_text(api, requirement)));
        let name = table_name(index);
        let alternatives = requirement.alternatives.iter().map(|alternative| {
            let uses = alternative.schemes.iter().map(|used| {
                let scheme = Literal::usize_unsuffixed(used.scheme);
                let roles = used.roles.iter().map(|role| Literal::string(role));
                match used.roles.is_empty() {
                    true => quote!(#scheme),
                    false => quote!(#scheme(#(#roles),*)),
                }
            });
            quote!([#(#uses),*])
        });
        emit(quote! {
            #[doc = #doc]
            const #name: kg::Requirement = kg::requirement![#(#alternatives),*];
        });
    }
    emit(quote! {
        /// The layer that enforces every documented operation over a whole `Router`.
        /// Routes the document does not describe are refused with 404 by default;
        /// `.undocumented(..)` chooses otherwise. Configure it further with
        /// `.base_path(..)`, `.realm(..)` and `.hook(scheme::NAME, hook)`.
        pub fn layer(verifier: impl kg::Verifier) -> kg::AuthLayer {
            kg::AuthLayer::new(&SPEC, verifier)
        }
    });
    emit(quote! {
        /// A guard for the per-operation extractors, for apps that add it as
        /// `Extension(guard)` instead of using [`layer`].
        pub fn guard(verifier: impl kg::Verifier) -> kg::Guard {
            kg::Guard::new(&SPEC, verifier)
        }
    });
    let constants = api.schemes.iter().zip(&names).map(|(scheme, names)| {
        let doc = format!(
            " The scheme `{}`: {}.",
            doc_text(&scheme.name),
            doc_text(&scheme.kind.label())
        );
        let (constant, value) = (&names.constant, Literal::string(&scheme.name));
        quote!(#[doc = #doc] pub const #constant: &str = #value;)
    });
    emit(quote! {
        /// Scheme names, for `.hook(..)` and `Authenticated::principal_for(..)`.
        pub mod scheme { #(#constants)* }
    });
    extractors(emit, api, &names, &operation_tables);
}

fn table<'a>(tables: &mut Vec<&'a Requirement>, requirement: &'a Requirement) -> usize {
    let same = |t: &&Requirement| t.alternatives == requirement.alternatives;
    tables.iter().position(same).unwrap_or_else(|| {
        tables.push(requirement);
        tables.len() - 1
    })
}

fn table_name(index: usize) -> Ident {
    format_ident!("R{index}")
}

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

fn scheme_names(api: &Api) -> Vec<SchemeNames> {
    let mut variants = NameSpace::new(Case::UpperCamel, "Scheme", &["Anonymous", "Public"]);
    let mut fields = NameSpace::new(Case::Snake, "scheme", &[]);
    let mut constants = NameSpace::new(Case::ShoutySnake, "SCHEME", &[]);
    let claim = |space: &mut NameSpace, name| ident(&space.claim(name));
    api.schemes
        .iter()
        .map(|scheme| SchemeNames {
            variant: variants.claim(&scheme.name),
            field: claim(&mut fields, &scheme.name),
            constant: claim(&mut constants, &scheme.name),
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

/// Text safe inside a line comment: one line (a line break would end the comment), and
/// no line separators or bidirectional-override characters (rustc denies them there).
pub(crate) fn comment_text(text: &str) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    text.chars()
        .map(|c| if unsafe_char(c) { ' ' } else { c })
        .collect()
}

fn spec(api: &Api, root: Option<usize>, operation_tables: &[usize]) -> TokenStream {
    let doc = format!(
        " The security tables of {}: {} schemes, {} operations.",
        doc_text(&api.title),
        api.schemes.len(),
        api.operations.len()
    );
    let (title, base_path) = (Literal::string(&api.title), Literal::string(&api.base_path));
    let schemes = api.schemes.iter().map(|scheme| {
        let name = Literal::string(&scheme.name);
        match &scheme.kind {
            SchemeKind::ApiKey {
                location,
                name: key,
            } => {
                let location = ident(match location {
                    KeyLocation::Header => "Header",
                    KeyLocation::Query => "Query",
                    KeyLocation::Cookie => "Cookie",
                });
                let key = Literal::string(key);
                quote!(kg::api_key(#name, kg::#location, #key))
            }
            SchemeKind::HttpBearer => quote!(kg::bearer(#name)),
            SchemeKind::HttpBasic => quote!(kg::basic(#name)),
            SchemeKind::Hooked(hooked) => {
                let kind = Literal::string(match hooked {
                    HookedKind::OAuth2 => "oauth2",
                    HookedKind::OpenIdConnect => "openIdConnect",
                    HookedKind::MutualTls => "mutualTLS",
                    HookedKind::Http(scheme) => scheme,
                });
                quote!(kg::hooked(#name, #kind))
            }
        }
    });
    let root = match root {
        Some(index) => table_name(index).into_token_stream(),
        None => quote!(kg::requirement![]),
    };
    let operations = api
        .operations
        .iter()
        .zip(operation_tables)
        .map(|(op, &table)| {
            let (method, path) = (op.method.as_str(), Literal::string(&op.path));
            let id = match &op.operation_id {
                Some(id) => {
                    let id = Literal::string(id);
                    quote!(Some(#id))
                }
                None => quote!(None),
            };
            let table = table_name(table);
            quote!(kg::op(#method, #path, #id, #table))
        });
    quote! {
        #[doc = #doc]
        pub static SPEC: kg::Spec = kg::Spec {
            title: #title,
            base_path: #base_path,
            schemes: &[#(#schemes),*],
            root: #root,
            operations: &[#(#operations),*],
        };
    }
}

/// One variant of an extractor enum, and the alternative it stands for (`None`:
/// anonymous or public).
struct Variant {
    name: Ident,
    doc: String,
    /// (field, doc); empty for a variant without fields.
    fields: Vec<(Ident, String)>,
    position: Option<usize>,
}

/// The type name of each operation, in order: its `operationId`, or its method and path
/// where it has none, made a distinct UpperCamelCase name; and the name space holding
/// them, for the enum names claimed after.
pub(crate) fn operation_names(api: &Api) -> (Vec<String>, NameSpace) {
    // `KeygateState` and `OPERATION` are the generic parameters of the enums and impls.
    let mut types = NameSpace::new(Case::UpperCamel, "Op", &["KeygateState", "OPERATION"]);
    let names = (api.operations.iter())
        .map(|op| match &op.operation_id {
            Some(id) => types.claim(id),
            None => types.claim(&format!("{} {}", op.method.key(), op.path)),
        })
        .collect();
    (names, types)
}

/// Per operation a type alias, named after it, for the extractor enum of its
/// requirement with the operation's index. Requirements that differ only in roles share
/// one enum (and one set of impls), however many operations use it.
fn extractors(
    emit: &mut impl FnMut(TokenStream),
    api: &Api,
    names: &[SchemeNames],
    tables: &[usize],
) {
    // Operation names first, so they do not depend on the enums' names.
    let (aliases, mut types) = operation_names(api);
    let aliases: Vec<Ident> = aliases.iter().map(|alias| ident(alias)).collect();
    // Per table: its words and its enum's index in `enums`; per enum: (roles removed
    // from its requirement, name).
    let mut by_table: Vec<Option<(String, usize)>> = Vec::new();
    by_table.resize_with(tables.iter().max().map_or(0, |&max| max + 1), || None);
    let mut enums: Vec<(Requirement, Ident)> = Vec::new();
    for (index, ((op, &table), alias)) in
        api.operations.iter().zip(tables).zip(&aliases).enumerate()
    {
        let Some(slot) = by_table.get_mut(table) else {
            continue;
        };
        let (requires, shape) = slot.get_or_insert_with(|| {
            let mut bare = op.requirement.clone();
            (bare.alternatives.iter_mut().flat_map(|a| &mut a.schemes))
                .for_each(|u| u.roles.clear());
            let requires = doc_text(&requirement_text(api, &op.requirement));
            let same = |(known, _): &(Requirement, Ident)| known.alternatives == bare.alternatives;
            let shape = enums.iter().position(same).unwrap_or_else(|| {
                let variants = variants(api, names, &bare);
                let joined: Vec<String> = variants.iter().map(|v| v.name.to_string()).collect();
                let name = ident(&types.claim(&joined.join("Or")));
                let doc = format!(
                    " Extractor of the operations whose requirement is {} (roles aside): \
                     each one's alias, such as `{alias}`, gives it the operation's index.",
                    doc_text(&requirement_text(api, &bare)),
                );
                extractor(emit, &name, &doc, &variants);
                enums.push((bare, name));
                enums.len() - 1
            });
            (requires, shape)
        });
        let Some((_, name)) = enums.get(*shape) else {
            continue;
        };
        let doc = format!(
            " Extractor for `{}` (`{} {}`). Requires: {}.",
            doc_text(&op.display_name()),
            op.method.as_str(),
            doc_text(&op.path),
            requires
        );
        let index = Literal::usize_unsuffixed(index);
        emit(quote!(#[doc = #doc] pub type #alias = #name<#index>;));
    }
}

/// An extractor enum and its `kg::extractor!` line.
fn extractor(emit: &mut impl FnMut(TokenStream), name: &Ident, doc: &str, variants: &[Variant]) {
    let declarations = variants.iter().map(|variant| {
        let (name, doc) = (&variant.name, &variant.doc);
        let fields = (variant.fields.iter())
            .map(|(field, doc)| quote!(#[doc = #doc] #field: kg::Principal,));
        match variant.fields.is_empty() {
            true => quote!(#[doc = #doc] #name,),
            false => quote!(#[doc = #doc] #name { #(#fields)* },),
        }
    });
    emit(quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum #name<const OPERATION: usize> { #(#declarations)* }
    });
    let arms = variants.iter().map(|variant| {
        let alternative = match variant.position {
            Some(position) => {
                let position = Literal::usize_unsuffixed(position);
                quote!(Some(#position))
            }
            None => quote!(None),
        };
        let (name, fields) = (&variant.name, variant.fields.iter().map(|(field, _)| field));
        match variant.fields.is_empty() {
            true => quote!(#alternative => #name),
            false => quote!(#alternative => #name { #(#fields),* }),
        }
    });
    emit(quote!(kg::extractor!(SPEC, #name { #(#arms),* });));
}

/// The variants of an extractor enum for `requirement`, in alternative order.
fn variants(api: &Api, names: &[SchemeNames], requirement: &Requirement) -> Vec<Variant> {
    let mut variant_names = NameSpace::new(Case::UpperCamel, "Alternative", &[]);
    let mut variants = Vec::new();
    for (position, alternative) in requirement.alternatives.iter().enumerate() {
        if alternative.is_anonymous() {
            // One variant for `{}`, however often it is listed.
            if variants.iter().all(|v: &Variant| v.position.is_some()) {
                variants.push(Variant {
                    name: ident(&variant_names.claim("Anonymous")),
                    doc: " No credential was presented; the requirement allows anonymous calls."
                        .to_owned(),
                    fields: Vec::new(),
                    position: None,
                });
            }
            continue;
        }
        let used: Vec<_> = alternative
            .schemes
            .iter()
            .filter_map(|used| Some((api.schemes.get(used.scheme)?, names.get(used.scheme)?)))
            .collect();
        let joined: Vec<&str> = used.iter().map(|(_, n)| n.variant.as_str()).collect();
        let fields = used
            .iter()
            .map(|(scheme, n)| {
                let doc = format!(
                    " The principal verified by scheme `{}`.",
                    doc_text(&scheme.name)
                );
                (n.field.clone(), doc)
            })
            .collect();
        variants.push(Variant {
            name: ident(&variant_names.claim(&joined.join("And"))),
            doc: format!(
                " Granted through {}.",
                doc_text(&alternative_text(api, alternative))
            ),
            fields,
            position: Some(position),
        });
    }
    if requirement.is_public() {
        variants.push(Variant {
            name: ident("Public"),
            doc: " The operation is public (`security: []` or no requirement at all).".to_owned(),
            fields: Vec::new(),
            position: None,
        });
    }
    variants
}
