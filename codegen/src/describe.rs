//! The IR in words, one line each: requirements, alternatives and scheme names, as the
//! `check` table, the diagnostics, the reports and the generated doc comments show them.

use crate::ir::{Alternative, Api, Requirement};
use crate::text::printable;

/// A requirement in one line: `public`, `api_key`, `api_key AND app_id`,
/// `api_key OR (session AND csrf[admin])`; with `{}` among the alternatives,
/// `optional: api_key`, or `anonymous` when `{}` is the only one.
pub fn requirement_text(api: &Api, requirement: &Requirement) -> String {
    if requirement.is_public() {
        return "public".to_owned();
    }
    let credentialed: Vec<&Alternative> = requirement
        .alternatives
        .iter()
        .filter(|alternative| !alternative.is_anonymous())
        .collect();
    let body = match credentialed.as_slice() {
        [] => return "anonymous".to_owned(),
        [only] => alternative_text(api, only),
        many => many
            .iter()
            .map(|alternative| {
                let text = alternative_text(api, alternative);
                if alternative.schemes.len() > 1 {
                    format!("({text})")
                } else {
                    text
                }
            })
            .collect::<Vec<_>>()
            .join(" OR "),
    };
    if requirement.allows_anonymous() {
        format!("optional: {body}")
    } else {
        body
    }
}

/// One alternative: `api_key AND csrf[admin, write]`; `anonymous` for `{}`.
pub(crate) fn alternative_text(api: &Api, alternative: &Alternative) -> String {
    if alternative.is_anonymous() {
        return "anonymous".to_owned();
    }
    alternative
        .schemes
        .iter()
        .map(|scheme_use| {
            let name = printable(&scheme_name(api, scheme_use.scheme)).into_owned();
            if scheme_use.roles.is_empty() {
                name
            } else {
                format!("{name}[{}]", printable(&scheme_use.roles.join(", ")))
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The name of scheme `index`, or `#index` for an index the document does not define
/// (only hand-built IR can hold one).
pub(crate) fn scheme_name(api: &Api, index: usize) -> String {
    api.schemes
        .get(index)
        .map_or_else(|| format!("#{index}"), |scheme| scheme.name.clone())
}
