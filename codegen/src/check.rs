//! Diagnostics over a loaded document: things that load and generate fine but are
//! probably not what the author meant, or leak keys. Reads only the IR; the loader
//! reports the errors, so everything here is a warning.

use crate::error::elide;
use crate::ir::{Api, KeyLocation, SchemeKind};

mod diagnostic;
mod hooks;
mod requirements;
mod routes;
#[cfg(test)]
mod tests;

pub use diagnostic::{locate, Diagnostic, Severity};
use hooks::{hook_only, hook_uses};
use requirements::{distinct_requirements, duplicate_alternatives, roles_must_be_empty};
use routes::shared_routes;

/// Every diagnostic for `api`: first those about scheme definitions (in definition
/// order), then those about requirements (root first, then operations in document
/// order). Each requirement is looked at once, however many operations inherit it.
pub fn check(api: &Api) -> Vec<Diagnostic> {
    let requirements = distinct_requirements(api);
    let mut used = vec![false; api.schemes.len()];
    for requirement in &requirements {
        for alternative in &requirement.alternatives {
            for scheme_use in &alternative.schemes {
                if let Some(flag) = used.get_mut(scheme_use.scheme) {
                    *flag = true;
                }
            }
        }
    }

    let hook_uses = hook_uses(api);
    let mut out = Vec::new();
    for (index, scheme) in api.schemes.iter().enumerate() {
        let is_used = used.get(index).copied().unwrap_or(false);
        if let SchemeKind::ApiKey { location, name } = &scheme.kind {
            if *location == KeyLocation::Query && is_used {
                out.push(Diagnostic::warning(
                    &scheme.pointer,
                    "query-key",
                    format!(
                        "scheme `{}` takes the key from the query parameter `{}`; keys in \
                         URLs leak into server and proxy logs, browser history and Referer \
                         headers. Send it in a header instead (`in: header`), and rotate keys \
                         that were sent this way",
                        elide(&scheme.name),
                        elide(name)
                    ),
                ));
            }
        }
        if !is_used {
            out.push(Diagnostic::warning(
                &scheme.pointer,
                "unused-scheme",
                format!(
                    "scheme `{}` ({}) is defined but no operation and no root `security` \
                     uses it; keygate never reads it. Reference it in a `security` list, or \
                     remove it",
                    elide(&scheme.name),
                    elide(&scheme.kind.label())
                ),
            ));
        }
        if let Some(usage) = hook_uses.get(index) {
            out.extend(hook_only(scheme, usage));
        }
    }

    for requirement in &requirements {
        roles_must_be_empty(api, requirement, &mut out);
        duplicate_alternatives(api, requirement, &mut out);
    }
    shared_routes(api, &mut out);
    out
}
