//! `hook-only`: schemes only an app-registered hook can verify, with what the operations
//! naming them do without it.

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use crate::error::elide;
use crate::ir::{Api, Requirement, Scheme};

/// What the operations naming one hooked scheme do without its hook (for `hook-only`).
#[derive(Debug, Default, Clone)]
pub(super) struct HookUse {
    /// Whether the root `security` names the scheme.
    root: bool,
    /// The operations that name it, and the first of them (`GET /pets`).
    operations: usize,
    first: Option<String>,
    /// Of those: refused outright, open to anonymous requests only, left with other
    /// alternatives.
    refused: usize,
    anonymous_only: usize,
    others_left: usize,
}

/// What happens to a requirement without the hook of a scheme it names.
#[derive(Debug, Clone, Copy)]
enum WithoutHook {
    Refused,
    AnonymousOnly,
    OthersLeft,
}

/// Per scheme, how the root and the operations use it if it needs a hook. Each distinct
/// requirement is looked at once, however many operations share it.
pub(super) fn hook_uses(api: &Api) -> Vec<HookUse> {
    let mut uses = vec![HookUse::default(); api.schemes.len()];
    let mut seen: HashMap<&str, Vec<(usize, WithoutHook)>> = HashMap::new();
    if let Some(root) = &api.root {
        for (scheme, _) in without_hooks(api, root) {
            uses[scheme].root = true;
        }
    }
    for op in &api.operations {
        let requirement = &op.requirement;
        if requirement.is_public() {
            continue;
        }
        let found = seen
            .entry(requirement.pointer.as_str())
            .or_insert_with(|| without_hooks(api, requirement));
        for &(scheme, outcome) in found.iter() {
            let usage = &mut uses[scheme];
            usage.operations += 1;
            usage
                .first
                .get_or_insert_with(|| format!("{} {}", op.method.as_str(), elide(&op.path)));
            match outcome {
                WithoutHook::Refused => usage.refused += 1,
                WithoutHook::AnonymousOnly => usage.anonymous_only += 1,
                WithoutHook::OthersLeft => usage.others_left += 1,
            }
        }
    }
    uses
}

/// The hooked schemes `requirement` names, each with what the requirement does when
/// that scheme's hook is missing.
fn without_hooks(api: &Api, requirement: &Requirement) -> Vec<(usize, WithoutHook)> {
    let mut credentialed = 0usize;
    // Per hooked scheme: the alternatives naming it.
    let mut naming: Vec<(usize, usize)> = Vec::new();
    for alternative in &requirement.alternatives {
        if alternative.is_anonymous() {
            continue;
        }
        credentialed += 1;
        let mut named: Vec<usize> = Vec::new();
        for scheme_use in &alternative.schemes {
            let hooked = api
                .schemes
                .get(scheme_use.scheme)
                .is_some_and(|scheme| scheme.kind.needs_hook());
            if hooked && !named.contains(&scheme_use.scheme) {
                named.push(scheme_use.scheme);
            }
        }
        for scheme in named {
            match naming.iter_mut().find(|(s, _)| *s == scheme) {
                Some((_, count)) => *count += 1,
                None => naming.push((scheme, 1)),
            }
        }
    }
    naming
        .into_iter()
        .map(|(scheme, count)| {
            let outcome = if count < credentialed {
                WithoutHook::OthersLeft
            } else if requirement.allows_anonymous() {
                WithoutHook::AnonymousOnly
            } else {
                WithoutHook::Refused
            };
            (scheme, outcome)
        })
        .collect()
}

/// (e) A scheme only an app-registered hook can verify: one warning per scheme, saying
/// what the operations naming it do without the hook.
pub(super) fn hook_only(scheme: &Scheme, usage: &HookUse) -> Option<Diagnostic> {
    if usage.operations == 0 && !usage.root {
        return None;
    }
    let name = elide(&scheme.name);
    let kind = scheme.kind.label();
    // The label's "(hook)" would repeat what the message says.
    let kind = kind.trim_end_matches(" (hook)");
    // (count, what one operation does, what several do)
    let effects = [
        (
            usage.refused,
            "refuses every request",
            "refuse every request",
        ),
        (
            usage.anonymous_only,
            "lets only anonymous requests through",
            "let only anonymous requests through",
        ),
        (
            usage.others_left,
            "accepts only its other alternatives",
            "accept only their other alternatives",
        ),
    ];
    let effects: Vec<_> = effects.iter().filter(|(n, _, _)| *n > 0).collect();
    let root = if usage.root {
        " (and the root `security`)"
    } else {
        ""
    };
    let first = usage.first.as_deref().unwrap_or_default();
    let who = match (usage.operations, effects.as_slice()) {
        (0, _) => "The root `security` names it (no operation inherits it).".to_owned(),
        (1, [(_, one, _)]) => {
            format!("1 operation names it{root}, {first}; without the hook it {one}.")
        }
        (n, [(_, _, many)]) => format!(
            "{n} operations name it{root}, the first {first}; without the hook all of them \
             {many}."
        ),
        (n, mixed) => {
            let parts: Vec<String> = mixed
                .iter()
                .map(|(count, one, many)| {
                    format!("{count} {}", if *count == 1 { one } else { many })
                })
                .collect();
            format!(
                "{n} operations name it{root}, the first {first}; without the hook {}.",
                parts.join(", ")
            )
        }
    };
    Some(Diagnostic::warning(
        &scheme.pointer,
        "hook-only",
        format!(
            "scheme `{name}` ({kind}) passes only when the app registers a hook for it on the \
             generated layer or guard (`.hook({:?}, ..)`): keygate cannot verify it itself. \
             {who}",
            scheme.name
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::tests::doc;
    use crate::check::{check, Diagnostic};
    use crate::load::load_str;

    #[test]
    fn hook_only_is_one_warning_per_scheme_with_what_operations_do() {
        // 300 operations name `oauth`: one warning for it, not one per requirement.
        let mut body = String::from("security: [{oauth: []}]\npaths:\n");
        for i in 0..300 {
            let own = match i % 3 {
                0 => "",
                1 => "security: [{oauth: []}, {}]",
                _ => "security: [{oauth: [], api_key: []}, {session: []}]",
            };
            body.push_str(&format!("  /r{i}: {{get: {{{own}}}}}\n"));
        }
        body.push_str("  /s: {get: {security: [{oidc: []}]}}\n");
        let api =
            load_str("doc.yaml", &doc("openapi: 3.0.3", &body)).unwrap_or_else(|e| panic!("{e}"));
        let hooks: Vec<Diagnostic> = check(&api)
            .into_iter()
            .filter(|d| d.code == "hook-only")
            .collect();
        let pointers: Vec<&str> = hooks.iter().map(|d| d.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/components/securitySchemes/oauth",
                "/components/securitySchemes/oidc"
            ]
        );
        let oauth = &hooks[0].message;
        for expected in [
            "scheme `oauth` (oauth2) passes only when the app registers a hook",
            "300 operations name it (and the root `security`), the first GET /r0; without the \
             hook 100 refuse every request, 100 let only anonymous requests through, 100 \
             accept only their other alternatives.",
        ] {
            assert!(oauth.contains(expected), "missing {expected:?} in {oauth}");
        }
        assert!(
            hooks[1].message.contains(
                "1 operation names it, GET /s; without the hook it refuses every request."
            ),
            "{}",
            hooks[1].message
        );
    }
}
