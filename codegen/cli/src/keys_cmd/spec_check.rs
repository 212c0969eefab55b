//! `--spec`: the operations and schemes a key names, checked against an OpenAPI document
//! and stored under the names the runtime looks them up by.

use std::path::Path;

use keygate::keys::operation_key;
use keygate_codegen::ir::{KeyLocation, Operation, SchemeKind};
use keygate_codegen::Api;

use super::failure::Failure;
use super::parse::{self, OpOverride};

/// Checks `ops` and `schemes` against the document at `spec` when given, printing a note
/// for each operation stored under another name and the warnings; without `spec`, warns
/// that they are stored unchecked. `query_schemes`: the schemes the key will be usable
/// with (empty: every one), to warn about query strings; `None` when they do not change.
/// The `ops` from index `removed_from` on came from `--remove-op`, and are named so.
/// Answers `ops` under the names to store.
pub(super) fn resolve_ops(
    spec: Option<&Path>,
    ops: &[OpOverride],
    removed_from: usize,
    schemes: &[String],
    query_schemes: Option<&[String]>,
) -> Result<Vec<OpOverride>, Failure> {
    let Some(spec) = spec else {
        if let Some(warning) = unchecked_warning(ops, removed_from, schemes) {
            eprintln!("warning: {warning}");
        }
        return Ok(ops.to_vec());
    };
    let api = keygate_codegen::load_file(spec).map_err(|e| Failure::Other(e.to_string()))?;
    let mut checked = check_names(&api, ops, removed_from, schemes).map_err(Failure::Other)?;
    if let Some(query_schemes) = query_schemes {
        checked
            .warnings
            .extend(query_string_warnings(&api, query_schemes));
    }
    for (i, (given, stored)) in ops.iter().zip(&checked.ops).enumerate() {
        if given.name != stored.name {
            let flag = op_flag(i, removed_from);
            eprintln!(
                "note: {flag} `{}` is stored as `{}`",
                given.name, stored.name
            );
        }
    }
    for warning in &checked.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(checked.ops)
}

/// The flag that gave the `i`th operation.
fn op_flag(i: usize, removed_from: usize) -> &'static str {
    if i < removed_from {
        "--op"
    } else {
        "--remove-op"
    }
}

/// What `--spec` makes of the key's names: the operations under the names the runtime
/// looks them up by, and what to warn about.
#[derive(Debug, PartialEq, Eq)]
struct Checked {
    ops: Vec<OpOverride>,
    warnings: Vec<String>,
}

/// The operation of `api` that `name` names: by operationId, by `METHOD /path`, or by
/// its generated type name (`type_names`, one per operation).
fn find_operation<'a>(api: &'a Api, type_names: &[String], name: &str) -> Option<&'a Operation> {
    let by_id = api
        .operations
        .iter()
        .find(|op| op.operation_id.as_deref() == Some(name));
    if by_id.is_some() {
        return by_id;
    }
    if let Some((method, path)) = parse::method_and_path(name) {
        return api
            .operations
            .iter()
            .find(|op| op.method.as_str() == method && op.path == path);
    }
    api.operations
        .iter()
        .zip(type_names)
        .find(|(_, type_name)| type_name.as_str() == name)
        .map(|(op, _)| op)
}

/// The name a key's permissions give `op`, as the runtime looks it up.
fn key_of(op: &Operation) -> String {
    operation_key(op.method.as_str(), &op.path, op.operation_id.as_deref()).into_owned()
}

/// Checks a new key's operations and schemes against `--spec`, and warns when the key
/// is usable in a query string.
#[cfg(test)]
fn check_against_spec(
    api: &Api,
    ops: &[OpOverride],
    schemes: &[String],
) -> Result<Checked, String> {
    let mut checked = check_names(api, ops, ops.len(), schemes)?;
    checked.warnings.extend(query_string_warnings(api, schemes));
    Ok(checked)
}

/// Checks operations and schemes against `--spec`. Returns the operations under their
/// canonical names, and warnings; an error names each unknown operation or scheme with
/// the closest known names.
fn check_names(
    api: &Api,
    ops: &[OpOverride],
    removed_from: usize,
    schemes: &[String],
) -> Result<Checked, String> {
    let type_names = keygate_codegen::operation_type_names(api);
    let keys: Vec<String> = api.operations.iter().map(key_of).collect();
    let known_ops: Vec<&str> = keys.iter().map(String::as_str).collect();
    // Near misses may be of any name an operation answers to; the type name of one with
    // an id is that id in another case, which `close_names` already ignores.
    let mut near: Vec<&str> = known_ops.clone();
    let without_id = api.operations.iter().zip(&type_names);
    near.extend(
        without_id
            .filter(|(op, _)| op.operation_id.is_none())
            .map(|(_, type_name)| type_name.as_str()),
    );
    let scheme_names: Vec<&str> = api.schemes.iter().map(|s| s.name.as_str()).collect();
    let mut errors = Vec::new();
    let mut found = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match find_operation(api, &type_names, &op.name) {
            Some(operation) => found.push((op, operation)),
            None => errors.push(unknown_name(
                api,
                op_flag(i, removed_from),
                "operation",
                &op.name,
                &known_ops,
                &near,
            )),
        }
    }
    for scheme in schemes {
        if !scheme_names.contains(&scheme.as_str()) {
            errors.push(unknown_name(
                api,
                "--scheme",
                "security scheme",
                scheme,
                &scheme_names,
                &scheme_names,
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\nkeygate: "));
    }
    let mut warnings = Vec::new();
    let mut resolved = Vec::new();
    for (op, operation) in found {
        let key = key_of(operation);
        let method = operation.method.as_str();
        if !op.methods.is_empty() && !op.methods.contains("*") && !op.methods.contains(method) {
            warnings.push(format!(
                "--op {}: the operation is {method} {}, so this key cannot call it",
                op.name, operation.path
            ));
        }
        resolved.push(OpOverride {
            name: key,
            methods: op.methods.clone(),
        });
    }
    Ok(Checked {
        ops: resolved,
        warnings,
    })
}

/// A warning per query-string scheme that operations use and the key may be sent with
/// (`schemes` empty: every scheme), as `check` warns about the document.
fn query_string_warnings(api: &Api, schemes: &[String]) -> Vec<String> {
    let mut used = vec![false; api.schemes.len()];
    let requirements = api
        .root
        .iter()
        .chain(api.operations.iter().map(|op| &op.requirement));
    for requirement in requirements {
        for scheme_use in requirement.alternatives.iter().flat_map(|a| &a.schemes) {
            if let Some(flag) = used.get_mut(scheme_use.scheme) {
                *flag = true;
            }
        }
    }
    api.schemes
        .iter()
        .zip(used)
        .filter(|(scheme, used)| *used && (schemes.is_empty() || schemes.contains(&scheme.name)))
        .filter_map(|(scheme, _)| match &scheme.kind {
            SchemeKind::ApiKey {
                location: KeyLocation::Query,
                name,
            } => Some(format!(
                "this key is usable in the query string: scheme `{}` reads it from the query \
                 parameter `{name}`, and URLs leak into server and proxy logs, browser history \
                 and Referer headers; to keep it out, give --scheme with the schemes it needs",
                scheme.name
            )),
            _ => None,
        })
        .collect()
}

/// The warning for names stored without `--spec`, if any were given.
fn unchecked_warning(
    ops: &[OpOverride],
    removed_from: usize,
    schemes: &[String],
) -> Option<String> {
    let mut names: Vec<String> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| format!("{} `{}`", op_flag(i, removed_from), op.name))
        .collect();
    names.extend(schemes.iter().map(|s| format!("--scheme `{s}`")));
    if names.is_empty() {
        return None;
    }
    Some(format!(
        "without --spec these names are stored unchecked: {}. A name the document lacks \
         (a typo, a generated type name such as `GetSpotsetsId`) never matches, so the key \
         does less than meant. Operations go by their operationId, or `METHOD /path` when they \
         have none. Pass --spec FILE to check them, and have the app call \
         Keyring::check_names at startup",
        names.join(", ")
    ))
}

/// Why `name` is refused: what `api` lacks, the `near` names it most likely meant, and
/// the `known` names.
fn unknown_name(
    api: &Api,
    flag: &str,
    what: &str,
    name: &str,
    known: &[&str],
    near: &[&str],
) -> String {
    const SHOWN: usize = 20;
    let mut message = format!("{flag} `{name}`: {} has no {what} `{name}`", api.source);
    let close = keygate::close_names(name, near);
    if !close.is_empty() {
        let close: Vec<String> = close.iter().map(|n| format!("`{n}`")).collect();
        message.push_str(&format!("; did you mean {}?", close.join(" or ")));
    }
    if known.is_empty() {
        message.push_str(&format!(" (it defines no {what} names)"));
    } else {
        let mut list = known
            .iter()
            .take(SHOWN)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if known.len() > SHOWN {
            list.push_str(&format!(", and {} more", known.len() - SHOWN));
        }
        message.push_str(&format!(" (known: {list})"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETSTORE: &str = r#"
openapi: 3.0.3
info: { title: pets, version: "1" }
components:
  securitySchemes:
    api_key: { type: apiKey, in: header, name: X-API-Key }
    bearer: { type: http, scheme: bearer }
    query: { type: apiKey, in: query, name: key }
    unused_query: { type: apiKey, in: query, name: other }
security: [{ api_key: [] }]
paths:
  /pets:
    get: { operationId: listPets, responses: { "200": { description: ok } } }
    post: { operationId: createPet, responses: { "200": { description: ok } } }
  /pets/{id}:
    delete: { operationId: deletePet, responses: { "200": { description: ok } } }
    get:
      security: [{ query: [] }]
      responses: { "200": { description: ok } }
"#;

    #[test]
    fn spec_check_names_unknown_ids_and_suggests() {
        let api = keygate_codegen::load_str("pets.yaml", PETSTORE).expect("load");
        let op = |text: &str| parse::parse_op(text).expect("op");
        let checked =
            check_against_spec(&api, &[op("createPet=POST")], &["api_key".into()]).expect("ok");
        assert_eq!(checked.ops, [op("createPet=POST")]);
        assert_eq!(checked.warnings, Vec::<String>::new());
        let error = check_against_spec(&api, &[op("creatPet=POST")], &[]).unwrap_err();
        assert!(error.contains("`creatPet`"), "{error}");
        assert!(error.contains("did you mean `createPet`"), "{error}");
        assert!(
            error.contains("known: listPets, createPet, deletePet, GET /pets/{id}"),
            "{error}"
        );
        let error = check_against_spec(&api, &[], &["apikey".into()]).unwrap_err();
        assert!(error.contains("no security scheme `apikey`"), "{error}");
        assert!(error.contains("`api_key`"), "{error}");
        let header_only = ["api_key".to_owned()];
        let warnings = check_against_spec(&api, &[op("createPet=GET")], &header_only)
            .expect("ok")
            .warnings;
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("POST /pets"), "{}", warnings[0]);
        // Denying an operation outright is deliberate: no warning.
        assert_eq!(
            check_against_spec(&api, &[op("createPet=")], &header_only).map(|c| c.warnings),
            Ok(vec![])
        );
    }

    /// An operation is found by its id, its `METHOD /path` or its generated type name,
    /// and stored under its id, or `METHOD /path` when it has none.
    #[test]
    fn spec_check_stores_the_name_the_runtime_looks_up() {
        let api = keygate_codegen::load_str("pets.yaml", PETSTORE).expect("load");
        let stored = |text: &str| {
            let given = parse::parse_op(text).expect("op");
            check_against_spec(&api, &[given], &[])
                .map(|c| c.ops.into_iter().map(|o| o.name).collect::<Vec<_>>())
        };
        assert_eq!(
            stored("GetPetsId=GET"),
            Ok(vec!["GET /pets/{id}".to_owned()])
        );
        assert_eq!(
            stored("get /pets/{id}=GET"),
            Ok(vec!["GET /pets/{id}".to_owned()])
        );
        assert_eq!(stored("POST /pets=POST"), Ok(vec!["createPet".to_owned()]));
        assert_eq!(stored("ListPets=GET"), Ok(vec!["listPets".to_owned()]));
        let error = stored("GetPetId=GET").unwrap_err();
        assert!(error.contains("did you mean `GetPetsId`"), "{error}");
        let error = stored("GET /pets/{petId}=GET").unwrap_err();
        assert!(
            error.contains("no operation `GET /pets/{petId}`"),
            "{error}"
        );
        assert!(error.contains("did you mean `GET /pets/{id}`"), "{error}");
    }

    #[test]
    fn query_string_schemes_are_named_unless_the_key_avoids_them() {
        let api = keygate_codegen::load_str("pets.yaml", PETSTORE).expect("load");
        let warnings = |schemes: &[&str]| {
            let schemes: Vec<String> = schemes.iter().map(|s| (*s).to_owned()).collect();
            check_against_spec(&api, &[], &schemes)
                .expect("ok")
                .warnings
        };
        let all = warnings(&[]);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].contains("scheme `query` reads it from the query parameter `key`"),
            "{}",
            all[0]
        );
        assert_eq!(warnings(&["query"]).len(), 1);
        assert_eq!(warnings(&["api_key"]), Vec::<String>::new());
        // A query scheme no operation uses takes no key.
        assert_eq!(warnings(&["unused_query"]), Vec::<String>::new());
    }

    #[test]
    fn names_without_a_spec_are_named_in_a_warning() {
        let op = |text: &str| parse::parse_op(text).expect("op");
        assert_eq!(unchecked_warning(&[], 0, &[]), None);
        let warning =
            unchecked_warning(&[op("GetSpotsetsId=GET")], 1, &["apikey".into()]).expect("warned");
        assert!(
            warning.contains("unchecked: --op `GetSpotsetsId`, --scheme `apikey`"),
            "{warning}"
        );
        assert!(warning.contains("--spec"), "{warning}");
        let removal = unchecked_warning(&[op("x=")], 0, &[]).expect("warned");
        assert!(removal.contains("unchecked: --remove-op `x`"), "{removal}");
    }
}
