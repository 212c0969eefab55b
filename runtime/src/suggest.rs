//! "Did you mean": the scheme names of a document closest to a name it does not define.

// Re-exported: the keys module finds the did-you-mean here, with `scheme_hint`.
pub(crate) use crate::close_names::close_names;
use crate::spec::{SchemeKind, Spec};

/// Why `name` is not a scheme of `spec`, with what it most likely meant: a scheme whose
/// header, query or cookie name it is, or the nearest scheme names.
pub(crate) fn unknown_scheme(spec: &Spec, name: &str) -> String {
    describe(spec, name).0
}

/// Whether `name`, not a scheme of `spec`, looks like a mistake for one of its schemes
/// rather than a scheme of another document.
pub(crate) fn looks_mistaken(spec: &Spec, name: &str) -> bool {
    describe(spec, name).1
}

fn describe(spec: &Spec, name: &str) -> (String, bool) {
    let known: Vec<&str> = spec.schemes.iter().map(|s| s.name).collect();
    let hint = scheme_hint(spec, name);
    let clause = hint
        .as_deref()
        .map(|h| format!("; {h}"))
        .unwrap_or_default();
    let text = format!("the document defines no scheme `{name}`{clause} (its schemes: {known:?})");
    (text, hint.is_some())
}

/// What `name`, not a scheme of `spec`, most likely meant, as a clause: the scheme whose
/// header, query or cookie name it is, or the nearest scheme names.
pub(crate) fn scheme_hint(spec: &Spec, name: &str) -> Option<String> {
    let known: Vec<&str> = spec.schemes.iter().map(|s| s.name).collect();
    let reads_it = spec.schemes.iter().find(|scheme| match scheme.kind {
        SchemeKind::ApiKey { name: key, .. } => key.eq_ignore_ascii_case(name),
        _ => false,
    });
    match reads_it {
        Some(scheme) => Some(format!(
            "`{name}` is where scheme `{}` reads its key: name the scheme",
            scheme.name
        )),
        None => match close_names(name, &known).as_slice() {
            [] => None,
            close => Some(format!("did you mean `{}`?", close.join("` or `"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Location, Requirement, Scheme};

    static SPEC: Spec = Spec {
        title: "t",
        base_path: "",
        schemes: &[
            Scheme {
                name: "api_key",
                kind: SchemeKind::ApiKey {
                    location: Location::Header,
                    name: "X-API-Key",
                },
            },
            Scheme {
                name: "bearer",
                kind: SchemeKind::HttpBearer,
            },
        ],
        root: Requirement { alternatives: &[] },
        operations: &[],
    };

    #[test]
    fn a_header_name_points_at_its_scheme_and_typos_at_the_nearest() {
        let header = unknown_scheme(&SPEC, "X-Api-Key");
        assert!(
            header.contains("scheme `api_key` reads its key"),
            "{header}"
        );
        let typo = unknown_scheme(&SPEC, "apikey");
        assert!(typo.contains("did you mean `api_key`?"), "{typo}");
        let far = unknown_scheme(&SPEC, "session");
        assert!(!far.contains("did you mean"), "{far}");
        assert!(far.contains("\"api_key\", \"bearer\""), "{far}");
        assert!(looks_mistaken(&SPEC, "X-Api-Key") && looks_mistaken(&SPEC, "apikey"));
        assert!(!looks_mistaken(&SPEC, "session"));
    }
}
