//! The Rust module: tables for the runtime plus one thin typed extractor per operation.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::names::{Case, NameSpace};
use crate::ir::{Api, HookedKind, KeyLocation, Requirement, SchemeKind};

/// Names chosen for one scheme.
struct SchemeNames {
    /// UpperCamel, for variant names (`ApiKey`).
    variant: String,
    /// snake_case, for principal fields (`api_key`).
    field: String,
    /// SHOUTY, for the `scheme` constants (`API_KEY`).
    constant: String,
}

/// The generated items (before the module template wraps them).
pub(crate) fn items(api: &Api) -> TokenStream {
    let names = scheme_names(api);
    let schemes = api.schemes.iter().map(|scheme| {
        let name = &scheme.name;
        let kind = scheme_kind(&scheme.kind);
        quote! { ::keygate::spec::Scheme { name: #name, kind: #kind } }
    });

    // Identical requirements share one table.
    let mut tables: Vec<&Requirement> = Vec::new();
    let root_table = api.root.as_ref().map(|root| table_index(&mut tables, root));
    let operation_tables: Vec<usize> = api
        .operations
        .iter()
        .map(|op| table_index(&mut tables, &op.requirement))
        .collect();
    let table_items = tables.iter().enumerate().map(|(index, requirement)| {
        let ident = format_ident!("REQUIREMENT_{}", index);
        let alternatives = requirement.alternatives.iter().map(|alternative| {
            let uses = alternative.schemes.iter().map(|used| {
                let scheme = Literal::usize_unsuffixed(used.scheme);
                let roles = &used.roles;
                quote! { ::keygate::spec::SchemeUse { scheme: #scheme, roles: &[#(#roles),*] } }
            });
            quote! { ::keygate::spec::Alternative { schemes: &[#(#uses),*] } }
        });
        quote! {
            const #ident: ::keygate::spec::Requirement = ::keygate::spec::Requirement {
                alternatives: &[#(#alternatives),*],
            };
        }
    });
    let root = match root_table {
        Some(index) => {
            let ident = format_ident!("REQUIREMENT_{}", index);
            quote! { #ident }
        }
        None => quote! { ::keygate::spec::Requirement::PUBLIC },
    };
    let operations = api
        .operations
        .iter()
        .zip(&operation_tables)
        .map(|(op, table)| {
            let method = op.method.as_str();
            let path = &op.path;
            let id = match &op.operation_id {
                Some(id) => quote! { ::core::option::Option::Some(#id) },
                None => quote! { ::core::option::Option::None },
            };
            let requirement = format_ident!("REQUIREMENT_{}", *table);
            quote! {
                ::keygate::spec::Operation {
                    method: #method,
                    path: #path,
                    operation_id: #id,
                    requirement: #requirement,
                }
            }
        });

    let title = &api.title;
    let base_path = &api.base_path;
    let spec_doc = format!(
        " The security tables of {}: {} schemes, {} operations.",
        doc_text(&api.title),
        api.schemes.len(),
        api.operations.len()
    );
    let scheme_constants = api.schemes.iter().zip(&names).map(|(scheme, names)| {
        let ident = format_ident!("{}", names.constant);
        let doc = format!(
            " The scheme `{}`: {}.",
            doc_text(&scheme.name),
            doc_text(&scheme.kind.label())
        );
        let name = &scheme.name;
        quote! {
            #[doc = #doc]
            pub const #ident: &str = #name;
        }
    });
    let extractors = extractors(api, &names);

    quote! {
        #[doc = #spec_doc]
        #[allow(dead_code, unreachable_pub)]
        pub static SPEC: ::keygate::Spec = ::keygate::Spec {
            title: #title,
            base_path: #base_path,
            schemes: &[#(#schemes),*],
            root: #root,
            operations: &[#(#operations),*],
        };

        #(#table_items)*

        /// The layer that enforces every documented operation over a whole `Router`.
        /// Configure it further with `.deny_undocumented(true)`, `.base_path(..)`,
        /// `.realm(..)` and `.hook(scheme::NAME, hook)`.
        #[allow(dead_code, unreachable_pub)]
        pub fn layer(verifier: impl ::keygate::Verifier) -> ::keygate::AuthLayer {
            ::keygate::AuthLayer::new(&SPEC, verifier)
        }

        /// A guard for the per-operation extractors, for apps that add it as
        /// `Extension(guard)` instead of using [`layer`].
        #[allow(dead_code, unreachable_pub)]
        pub fn guard(verifier: impl ::keygate::Verifier) -> ::keygate::Guard {
            ::keygate::Guard::new(&SPEC, verifier)
        }

        /// Scheme names, for `.hook(..)` and `Authenticated::principal_for(..)`.
        #[allow(dead_code, unreachable_pub)]
        pub mod scheme {
            #(#scheme_constants)*
        }

        #(#extractors)*
    }
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

fn scheme_kind(kind: &SchemeKind) -> TokenStream {
    match kind {
        SchemeKind::ApiKey { location, name } => {
            let location = match location {
                KeyLocation::Header => quote! { Header },
                KeyLocation::Query => quote! { Query },
                KeyLocation::Cookie => quote! { Cookie },
            };
            quote! {
                ::keygate::spec::SchemeKind::ApiKey {
                    location: ::keygate::spec::Location::#location,
                    name: #name,
                }
            }
        }
        SchemeKind::HttpBearer => quote! { ::keygate::spec::SchemeKind::HttpBearer },
        SchemeKind::HttpBasic => quote! { ::keygate::spec::SchemeKind::HttpBasic },
        SchemeKind::Hooked(hooked) => {
            let kind = match hooked {
                HookedKind::OAuth2 => "oauth2",
                HookedKind::OpenIdConnect => "openIdConnect",
                HookedKind::MutualTls => "mutualTLS",
                HookedKind::Http(scheme) => scheme.as_str(),
            };
            quote! { ::keygate::spec::SchemeKind::Hooked { kind: #kind } }
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

/// Text safe inside a doc comment: no backticks or brackets that rustdoc would parse.
fn doc_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '`' => '\'',
            '[' => '(',
            ']' => ')',
            '\r' | '\n' | '\t' => ' ',
            c => c,
        })
        .collect()
}

/// The requirement in the words of the `check` table, safe for a doc comment.
fn describe(api: &Api, requirement: &Requirement) -> String {
    doc_text(&crate::report::requirement_text(api, requirement))
}

fn extractors(api: &Api, names: &[SchemeNames]) -> Vec<TokenStream> {
    // `KeygateState` is the generic parameter of the impls below.
    let mut types = NameSpace::new(Case::UpperCamel, "Op", &["KeygateState"]);
    let mut out = Vec::with_capacity(api.operations.len());
    for (index, op) in api.operations.iter().enumerate() {
        let raw = match &op.operation_id {
            Some(id) => id.clone(),
            None => format!("{} {}", op.method.key(), op.path),
        };
        let ident = format_ident!("{}", types.claim(&raw));
        let doc = format!(
            " Extractor for `{}` (`{} {}`). Requires: {}.",
            doc_text(&op.display_name()),
            op.method.as_str(),
            doc_text(&op.path),
            describe(api, &op.requirement)
        );

        let mut variant_names = NameSpace::new(Case::UpperCamel, "Alternative", &[]);
        let mut variants = Vec::new();
        let mut arms = Vec::new();
        let mut needs_principals = false;
        let mut anonymous_seen = false;
        for (position, alternative) in op.requirement.alternatives.iter().enumerate() {
            if alternative.is_anonymous() {
                if anonymous_seen {
                    continue;
                }
                anonymous_seen = true;
                let variant = format_ident!("{}", variant_names.claim("Anonymous"));
                variants.push(quote! {
                    /// No credential was presented; the requirement allows anonymous calls.
                    #variant
                });
                arms.push(quote! { ::core::option::Option::None => Self::#variant, });
                continue;
            }
            let joined: Vec<&str> = alternative
                .schemes
                .iter()
                .filter_map(|used| names.get(used.scheme).map(|n| n.variant.as_str()))
                .collect();
            let variant = format_ident!("{}", variant_names.claim(&joined.join("And")));
            let variant_doc = format!(
                " Granted through {}.",
                doc_text(&crate::report::alternative_text(api, alternative))
            );
            let mut fields = Vec::new();
            let mut bindings = Vec::new();
            for used in &alternative.schemes {
                let (Some(scheme), Some(scheme_names)) =
                    (api.schemes.get(used.scheme), names.get(used.scheme))
                else {
                    continue;
                };
                let field = format_ident!("{}", scheme_names.field);
                let field_doc = format!(
                    " The principal verified by scheme `{}`.",
                    doc_text(&scheme.name)
                );
                fields.push(quote! {
                    #[doc = #field_doc]
                    #field: ::keygate::Principal
                });
                bindings.push(field);
            }
            needs_principals = true;
            let position = Literal::usize_unsuffixed(position);
            variants.push(quote! {
                #[doc = #variant_doc]
                #variant { #(#fields),* }
            });
            arms.push(quote! {
                ::core::option::Option::Some(#position) => {
                    let [#(#bindings),*] = ::keygate::principals(principals)?;
                    Self::#variant { #(#bindings),* }
                }
            });
        }
        if op.requirement.is_public() {
            variants.push(quote! {
                /// The operation is public (`security: []` or no requirement at all).
                Public
            });
            arms.push(quote! { ::core::option::Option::None => Self::Public, });
        }
        let principals_binding = if needs_principals {
            quote! {}
        } else {
            quote! { let _ = principals; }
        };
        let index = Literal::usize_unsuffixed(index);
        out.push(quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq, Eq)]
            #[allow(dead_code, unreachable_pub, clippy::large_enum_variant, clippy::enum_variant_names)]
            pub enum #ident {
                #(#variants),*
            }

            impl<KeygateState> ::keygate::axum::extract::FromRequestParts<KeygateState> for #ident
            where
                KeygateState: ::core::marker::Send + ::core::marker::Sync,
            {
                type Rejection = ::keygate::Rejection;

                async fn from_request_parts(
                    parts: &mut ::keygate::axum::http::request::Parts,
                    _state: &KeygateState,
                ) -> ::core::result::Result<Self, Self::Rejection> {
                    let (alternative, principals) =
                        ::keygate::authorize_operation(parts, &SPEC, #index).await?.into_parts();
                    #principals_binding
                    ::core::result::Result::Ok(match alternative {
                        #(#arms)*
                        _ => return ::core::result::Result::Err(::keygate::Rejection::internal()),
                    })
                }
            }
        });
    }
    out
}
