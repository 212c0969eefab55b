//! The checks of each distinct requirement: `roles-must-be-empty` and
//! `duplicate-alternative`.

use std::collections::{HashMap, HashSet};

use super::diagnostic::Diagnostic;
use crate::describe::alternative_text;
use crate::error::{elide, pointer_token};
use crate::ir::{Api, HookedKind, Requirement, SchemeKind, SpecVersion};

/// The root requirement and every operation's own one, each once (operations that
/// inherit the root, or share a `$ref`'d path item, share its pointer).
pub(super) fn distinct_requirements(api: &Api) -> Vec<&Requirement> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    let all = api
        .root
        .iter()
        .chain(api.operations.iter().map(|op| &op.requirement));
    for requirement in all {
        // An absent requirement has no pointer and nothing to check.
        if requirement.pointer.is_empty() && requirement.alternatives.is_empty() {
            continue;
        }
        if seen.insert(requirement.pointer.as_str()) {
            out.push(requirement);
        }
    }
    out
}

/// (c) Non-empty role lists where the dialect says they MUST be empty.
pub(super) fn roles_must_be_empty(api: &Api, requirement: &Requirement, out: &mut Vec<Diagnostic>) {
    if !api.version.requires_empty_roles() {
        return;
    }
    let dialect = match api.version {
        SpecVersion::Swagger2 => "Swagger 2.0",
        _ => "OpenAPI 3.0",
    };
    for (i, alternative) in requirement.alternatives.iter().enumerate() {
        for scheme_use in &alternative.schemes {
            if scheme_use.roles.is_empty() {
                continue;
            }
            let Some(scheme) = api.schemes.get(scheme_use.scheme) else {
                continue;
            };
            if matches!(
                scheme.kind,
                SchemeKind::Hooked(HookedKind::OAuth2 | HookedKind::OpenIdConnect)
            ) {
                continue;
            }
            out.push(Diagnostic::warning(
                format!(
                    "{}/{i}/{}",
                    requirement.pointer,
                    pointer_token(&scheme.name)
                ),
                "roles-must-be-empty",
                format!(
                    "scheme `{}` ({}) lists roles [{}], but {dialect} says the role list of a \
                     scheme other than oauth2/openIdConnect MUST be empty. keygate enforces it \
                     anyway: the principal must hold every listed role. Other tools may ignore \
                     the roles; empty the list, or move the document to OpenAPI 3.1, which \
                     allows them",
                    elide(&scheme.name),
                    elide(&scheme.kind.label()),
                    elide(&scheme_use.roles.join(", "))
                ),
            ));
        }
    }
}

/// (d) The same alternative (scheme set and roles, order-insensitive) listed twice.
pub(super) fn duplicate_alternatives(
    api: &Api,
    requirement: &Requirement,
    out: &mut Vec<Diagnostic>,
) {
    // Canonical form of an alternative: sorted (scheme, sorted roles) pairs.
    let mut first_at: HashMap<Vec<(usize, Vec<&str>)>, usize> = HashMap::new();
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    for (i, alternative) in requirement.alternatives.iter().enumerate() {
        let mut key: Vec<(usize, Vec<&str>)> = alternative
            .schemes
            .iter()
            .map(|scheme_use| {
                let mut roles: Vec<&str> = scheme_use.roles.iter().map(String::as_str).collect();
                roles.sort_unstable();
                roles.dedup();
                (scheme_use.scheme, roles)
            })
            .collect();
        key.sort_unstable();
        key.dedup();
        match first_at.get(&key) {
            Some(&first) => repeats.push((first, i)),
            None => {
                first_at.insert(key, i);
            }
        }
    }
    if repeats.is_empty() {
        return;
    }
    let listed: Vec<String> = repeats
        .iter()
        .map(|&(first, again)| {
            let text = requirement
                .alternatives
                .get(again)
                .map(|alternative| alternative_text(api, alternative))
                .unwrap_or_default();
            format!("alternative {again} repeats alternative {first} (`{text}`)")
        })
        .collect();
    out.push(Diagnostic::warning(
        &requirement.pointer,
        "duplicate-alternative",
        format!(
            "{}; a repeated alternative accepts nobody new and is probably a copy-paste slip \
             (a scheme or role meant to differ). Remove it or fix it",
            listed.join("; ")
        ),
    ));
}
