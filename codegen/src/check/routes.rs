//! `shared-route`: operations one request cannot tell apart.

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use crate::error::elide;
use crate::ir::{Api, Method, Operation};
use crate::template::{route_of, PathTemplate};

/// Operations that one request cannot tell apart: the same method on templates that
/// differ only after `#` or in parameter names. Each request must meet them all
/// (docs/semantics.md §2.2), which the author should know.
pub(super) fn shared_routes(api: &Api, out: &mut Vec<Diagnostic>) {
    let mut by_route: HashMap<(Method, String), Vec<&Operation>> = HashMap::new();
    let mut order = Vec::new();
    for op in &api.operations {
        // The loader has parsed every template already.
        let Ok(template) = PathTemplate::parse(&op.path) else {
            continue;
        };
        let key = (op.method, template.shape());
        let sharing = by_route.entry(key.clone()).or_default();
        if sharing.len() == 1 {
            order.push(key);
        }
        sharing.push(op);
    }
    for key in order {
        let sharing = &by_route[&key];
        let [first, second, ..] = sharing.as_slice() else {
            continue;
        };
        const SHOWN: usize = 4;
        let mut names: Vec<String> = (sharing.iter().take(SHOWN))
            .map(|op| format!("`{}`", elide(&op.display_name())))
            .collect();
        if sharing.len() > SHOWN {
            names.push(format!("{} more", sharing.len() - SHOWN));
        }
        let same = sharing
            .iter()
            .all(|op| op.requirement.alternatives == first.requirement.alternatives);
        let effect = if same {
            "they share one requirement, so nothing changes at request time"
        } else {
            "their requirements differ, so each request must meet every one of them"
        };
        out.push(Diagnostic::warning(
            &second.pointer,
            "shared-route",
            format!(
                "{} operations share the route `{} {}` ({}): a request path holds neither \
                 what follows `#` nor parameter names, so keygate cannot tell them apart; \
                 {effect}",
                sharing.len(),
                first.method.as_str(),
                elide(route_of(&first.path)),
                names.join(", "),
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::doc;
    use crate::check::check;
    use crate::load::load_str;

    #[test]
    fn a_shared_route_says_whether_the_requirements_differ() {
        let text = doc(
            "openapi: 3.0.3",
            "
paths:
  '/#Target=Read': {post: {security: [{api_key: []}]}}
  '/#Target=Write': {post: {security: [{session: []}]}}
",
        );
        let api = load_str("doc.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
        let shared: Vec<String> = (check(&api).iter())
            .filter(|d| d.code == "shared-route")
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shared,
            [
                "warning[shared-route]: at /paths/~1#Target=Write/post: 2 operations share the \
              route `POST /` (`POST /#Target=Read`, `POST /#Target=Write`): a request path \
              holds neither what follows `#` nor parameter names, so keygate cannot tell them \
              apart; their requirements differ, so each request must meet every one of them"
            ]
        );
    }
}
