//! Lowering: the parsed tree to the IR (`crate::ir`). Only what security depends on is
//! read (the version, `info.title`, the base path, the security schemes, the root
//! `security` and the operations under `paths`); docs/semantics.md §1 is applied here,
//! so each operation carries its effective requirement.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use yaml_serde::{Mapping, Value};

use super::refs::Refs;
use super::tree::{as_map, as_str, key_text, kind, scalar_text, shown, untag};
use crate::close_names::close_names;
use crate::error::{elide, pointer_token, Error};
use crate::ir::{
    Alternative, Api, HookedKind, KeyLocation, Method, Operation, Requirement, RequirementSource,
    Scheme, SchemeKind, SchemeUse, SpecVersion,
};
use crate::template::{route_of, PathTemplate};

mod base_path;
mod key_name;

use base_path::{base_path, server_url};
use key_name::{cookie_name_problem, header_name_problem};

/// The IR of a parsed document.
pub(super) fn lower(source: &str, root: &Value) -> Result<Api, Error> {
    let Some(map) = as_map(root) else {
        return Err(match root {
            Value::Null => Error::file(source, "the document is empty"),
            _ => Error::at(
                source,
                "",
                format!(
                    "the document is a {}, not a map of OpenAPI fields",
                    kind(root)
                ),
            ),
        });
    };
    let version = spec_version(source, map)?;
    Document {
        source,
        map,
        version,
        refs: Refs::new(source, root),
    }
    .lower()
}

/// Reads `swagger` / `openapi` and names the dialect.
fn spec_version(source: &str, map: &Mapping) -> Result<SpecVersion, Error> {
    const SUPPORTED: &str =
        "keygate reads `swagger: \"2.0\"`, `openapi: 3.0.x` and `openapi: 3.1.x`";
    if let Some(value) = map.get("openapi") {
        let text = scalar_text(value).unwrap_or_default();
        return if is_version(&text, "3.0") {
            Ok(SpecVersion::OpenApi30)
        } else if is_version(&text, "3.1") {
            Ok(SpecVersion::OpenApi31)
        } else {
            Err(Error::at(
                source,
                "/openapi",
                format!(
                    "unsupported version `openapi: {}`; {SUPPORTED}",
                    elide(&shown(value))
                ),
            ))
        };
    }
    if let Some(value) = map.get("swagger") {
        let text = scalar_text(value).unwrap_or_default();
        return if text == "2.0" || text == "2" {
            Ok(SpecVersion::Swagger2)
        } else {
            Err(Error::at(
                source,
                "/swagger",
                format!(
                    "unsupported version `swagger: {}`; {SUPPORTED}",
                    elide(&shown(value))
                ),
            ))
        };
    }
    Err(Error::at(
        source,
        "",
        format!("the document has neither `openapi` nor `swagger` at its root; {SUPPORTED}"),
    ))
}

/// Whether `text` is `base` or `base.<anything>` (`3.0`, `3.0.3`, `3.0.0-rc1`).
fn is_version(text: &str, base: &str) -> bool {
    text.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// One parsed document being lowered.
struct Document<'a> {
    source: &'a str,
    map: &'a Mapping,
    version: SpecVersion,
    refs: Refs<'a>,
}

impl<'a> Document<'a> {
    fn lower(&self) -> Result<Api, Error> {
        let schemes = self.schemes()?;
        let index: HashMap<&str, usize> = schemes
            .iter()
            .enumerate()
            .map(|(i, scheme)| (scheme.name.as_str(), i))
            .collect();
        let root = match self.map.get("security") {
            Some(value) => Some(self.requirement(value, "/security".to_owned(), &index)?),
            None => None,
        };
        let operations = self.operations(&index, root.as_ref())?;
        Ok(Api {
            source: self.source.to_owned(),
            version: self.version,
            title: self.title(),
            base_path: base_path(self.version, self.map),
            server_url: server_url(self.version, self.map),
            schemes,
            root,
            operations,
        })
    }

    fn error(&self, pointer: impl Into<String>, message: impl Into<String>) -> Error {
        Error::at(self.source, pointer, message)
    }

    fn title(&self) -> String {
        self.map
            .get("info")
            .and_then(as_map)
            .and_then(|info| info.get("title"))
            .and_then(scalar_text)
            .unwrap_or_default()
    }

    // ---- schemes ---------------------------------------------------------------

    /// The scheme definitions, in document order.
    fn schemes(&self) -> Result<Vec<Scheme>, Error> {
        let (definitions, base) = match self.version {
            SpecVersion::Swagger2 => (
                self.map.get("securityDefinitions"),
                "/securityDefinitions".to_owned(),
            ),
            _ => match self.map.get("components").map(untag) {
                None | Some(Value::Null) => (None, String::new()),
                Some(Value::Mapping(components)) => (
                    components.get("securitySchemes"),
                    "/components/securitySchemes".to_owned(),
                ),
                Some(other) => {
                    return Err(self.error(
                        "/components",
                        format!("`components` must be a map, found a {}", kind(other)),
                    ))
                }
            },
        };
        let definitions = match definitions.map(untag) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Mapping(definitions)) => definitions,
            Some(other) => {
                return Err(self.error(
                    base,
                    format!(
                        "security schemes must be a map of name to scheme, found a {}",
                        kind(other)
                    ),
                ))
            }
        };
        let mut schemes: Vec<Scheme> = Vec::new();
        let mut names: HashSet<String> = HashSet::new();
        for (key, value) in definitions {
            let name = key_text(key).ok_or_else(|| {
                self.error(
                    &base,
                    format!("a security scheme name is a {}, not text", kind(key)),
                )
            })?;
            let pointer = format!("{base}/{}", pointer_token(&name));
            if name == "$ref" {
                return Err(self.error(
                    pointer,
                    "the security scheme map itself cannot be a `$ref`; write the schemes out \
                     (each scheme may be a `$ref`)",
                ));
            }
            if !names.insert(name.clone()) {
                return Err(self.error(
                    pointer,
                    format!("security scheme `{}` is defined twice", elide(&name)),
                ));
            }
            let (node, at) = self.refs.follow(value, pointer.clone())?;
            let kind = self.scheme_kind(&name, node, &at)?;
            let description = as_map(node)
                .and_then(|map| map.get("description"))
                .and_then(scalar_text);
            schemes.push(Scheme {
                name,
                kind,
                description,
                pointer,
            });
        }
        Ok(schemes)
    }

    /// Reads one scheme definition (already past any `$ref`) found at `at`.
    fn scheme_kind(&self, name: &str, node: &Value, at: &str) -> Result<SchemeKind, Error> {
        // The name only appears in messages from here on.
        let name = &*elide(name);
        let Some(map) = as_map(node) else {
            return Err(self.error(
                at,
                format!("security scheme `{name}` is a {}, not a map", kind(node)),
            ));
        };
        let Some(ty) = self.string_field(map, "type", at)? else {
            return Err(self.error(at, format!("security scheme `{name}` has no `type`")));
        };
        // Types are matched without case: `apikey` can only mean `apiKey`.
        Ok(match ty.to_ascii_lowercase().as_str() {
            "apikey" => self.api_key(name, map, at)?,
            "http" => self.http(name, map, at)?,
            "basic" => SchemeKind::HttpBasic,
            "oauth2" => SchemeKind::Hooked(HookedKind::OAuth2),
            "openidconnect" => SchemeKind::Hooked(HookedKind::OpenIdConnect),
            "mutualtls" => SchemeKind::Hooked(HookedKind::MutualTls),
            _ => {
                let expected = match self.version {
                    SpecVersion::Swagger2 => "apiKey, basic or oauth2",
                    _ => "apiKey, http, oauth2, openIdConnect or mutualTLS",
                };
                return Err(self.error(
                    format!("{at}/type"),
                    format!(
                        "security scheme `{name}` has type `{}`; expected {expected}",
                        elide(ty)
                    ),
                ));
            }
        })
    }

    fn api_key(&self, name: &str, map: &Mapping, at: &str) -> Result<SchemeKind, Error> {
        // Swagger 2.0 lists header and query only; cookie is accepted there too, since
        // its meaning is not in doubt.
        let accepted = "header, query or cookie";
        let location = match self.string_field(map, "in", at)? {
            None => {
                return Err(self.error(
                    at,
                    format!("apiKey scheme `{name}` has no `in` (expected {accepted})"),
                ))
            }
            Some(place) => match place.to_ascii_lowercase().as_str() {
                "header" => KeyLocation::Header,
                "query" => KeyLocation::Query,
                "cookie" => KeyLocation::Cookie,
                _ => {
                    return Err(self.error(
                        format!("{at}/in"),
                        format!(
                            "apiKey scheme `{name}` has `in: {}`; expected {accepted}",
                            elide(place)
                        ),
                    ))
                }
            },
        };
        let key_name = self.string_field(map, "name", at)?.unwrap_or("");
        if key_name.is_empty() {
            return Err(self.error(at, format!("apiKey scheme `{name}` has no `name`")));
        }
        let problem = match location {
            KeyLocation::Header => {
                header_name_problem(key_name).map(|p| ("header", "an HTTP field name", p))
            }
            KeyLocation::Cookie => {
                cookie_name_problem(key_name).map(|p| ("cookie", "a cookie name", p))
            }
            KeyLocation::Query => None,
        };
        if let Some((place, what, problem)) = problem {
            // Authors write a label in `name` and the real header as the scheme's key.
            let own_name_fits = match location {
                KeyLocation::Header => header_name_problem(name).is_none(),
                _ => cookie_name_problem(name).is_none(),
            };
            let fix = if own_name_fits {
                format!(
                    "fix the `name` (`name: {}` if that is the {place})",
                    elide(name)
                )
            } else {
                "fix the `name`".to_owned()
            };
            return Err(self.error(
                format!("{at}/name"),
                format!(
                    "apiKey scheme `{name}` reads the {place} `{}`, which no request can carry \
                     as {what} ({problem}), so the operations needing `{name}` could never \
                     pass; {fix}",
                    elide(key_name)
                ),
            ));
        }
        Ok(SchemeKind::ApiKey {
            location,
            name: key_name.to_owned(),
        })
    }

    fn http(&self, name: &str, map: &Mapping, at: &str) -> Result<SchemeKind, Error> {
        let scheme = self.string_field(map, "scheme", at)?.unwrap_or("").trim();
        if scheme.is_empty() {
            return Err(self.error(at, format!("http scheme `{name}` has no `scheme`")));
        }
        // HTTP auth-scheme names are case-insensitive (RFC 9110 §11.1).
        Ok(match scheme.to_ascii_lowercase().as_str() {
            "bearer" => SchemeKind::HttpBearer,
            "basic" => SchemeKind::HttpBasic,
            other => SchemeKind::Hooked(HookedKind::Http(other.to_owned())),
        })
    }

    /// A string field of a security object: absent or null is `None`, anything but a
    /// string is an error (guessing here could open or close routes).
    fn string_field<'m>(
        &self,
        map: &'m Mapping,
        key: &str,
        at: &str,
    ) -> Result<Option<&'m str>, Error> {
        match map.get(key).map(untag) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.error(
                format!("{at}/{key}"),
                format!("`{key}` must be a string, found a {}", kind(other)),
            )),
        }
    }

    // ---- requirements ----------------------------------------------------------

    /// Reads a `security` list found at `pointer`.
    fn requirement(
        &self,
        node: &Value,
        pointer: String,
        index: &HashMap<&str, usize>,
    ) -> Result<Requirement, Error> {
        let Value::Sequence(list) = untag(node) else {
            return Err(self.error(
                pointer,
                format!(
                    "`security` must be a list of requirement maps, found a {}",
                    kind(node)
                ),
            ));
        };
        let mut alternatives = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            alternatives.push(self.alternative(item, &format!("{pointer}/{i}"), index)?);
        }
        Ok(Requirement {
            alternatives,
            pointer,
        })
    }

    /// Reads one requirement map (`{api_key: [], oauth: [read]}`) found at `at`.
    fn alternative(
        &self,
        node: &Value,
        at: &str,
        index: &HashMap<&str, usize>,
    ) -> Result<Alternative, Error> {
        let map = match untag(node) {
            Value::Mapping(map) => map,
            // A bare `- ` (null) is refused rather than read as `{}`: anonymous access
            // must be written out.
            other => {
                return Err(self.error(
                    at,
                    format!(
                        "a security requirement must be a map of scheme name to role list, \
                         found a {}",
                        kind(other)
                    ),
                ))
            }
        };
        let mut schemes = Vec::with_capacity(map.len());
        for (key, roles) in map {
            let name = key_text(key).ok_or_else(|| {
                self.error(
                    at,
                    format!(
                        "a security requirement key is a {}, not a scheme name",
                        kind(key)
                    ),
                )
            })?;
            let key_at = format!("{at}/{}", pointer_token(&name));
            let Some(&scheme) = index.get(name.as_str()) else {
                return Err(self.error(key_at, self.undefined_scheme(&name, index)));
            };
            let roles = self.roles(&name, roles, &key_at)?;
            schemes.push(SchemeUse { scheme, roles });
        }
        Ok(Alternative { schemes })
    }

    fn undefined_scheme(&self, name: &str, index: &HashMap<&str, usize>) -> String {
        /// Names listed before the rest are only counted.
        const LISTED: usize = 20;
        let defined = defined_names(index);
        let mut listed: Vec<Cow<'_, str>> =
            defined.iter().take(LISTED).map(|&n| elide(n)).collect();
        if defined.len() > LISTED {
            listed.push(format!("and {} more", defined.len() - LISTED).into());
        }
        let listed = if listed.is_empty() {
            "none".to_owned()
        } else {
            listed.join(", ")
        };
        let mut message = format!(
            "security requirement names scheme `{}`, which the document does not define{} \
             (defined: {listed})",
            elide(name),
            self.meant_scheme(name, &defined)
        );
        // A common slip in converted documents: 2.0 definitions under an `openapi: 3` header.
        if self.version != SpecVersion::Swagger2 && self.map.contains_key("securityDefinitions") {
            message.push_str(
                "; note: `securityDefinitions` is Swagger 2.0, OpenAPI 3 reads \
                 `components.securitySchemes`",
            );
        }
        message
    }

    /// What an undefined scheme `name` was likely meant to be: `; did you mean `api_key`?`,
    /// or the scheme whose header, query or cookie name it is; empty when nothing is close.
    fn meant_scheme(&self, name: &str, defined: &[&str]) -> String {
        // The schemes loaded before any requirement was read; this is the error path only.
        let schemes = self.schemes().unwrap_or_default();
        let reads_it = schemes.iter().find(|scheme| match &scheme.kind {
            SchemeKind::ApiKey { name: key, .. } => key.eq_ignore_ascii_case(name),
            _ => false,
        });
        if let Some(scheme) = reads_it {
            return format!(
                "; `{}` is where scheme `{}` reads its key ({}): name the scheme",
                elide(name),
                elide(&scheme.name),
                elide(&scheme.kind.label())
            );
        }
        match close_names(name, defined).as_slice() {
            [] => String::new(),
            close => {
                let close: Vec<String> = close.iter().map(|n| format!("`{}`", elide(n))).collect();
                format!("; did you mean {}?", close.join(" or "))
            }
        }
    }

    /// Reads a role list; null counts as empty.
    fn roles(&self, scheme: &str, node: &Value, at: &str) -> Result<Vec<String>, Error> {
        let scheme = elide(scheme);
        let list = match untag(node) {
            Value::Null => return Ok(Vec::new()),
            Value::Sequence(list) => list,
            other => {
                return Err(self.error(
                    at,
                    format!(
                        "the roles of scheme `{scheme}` must be a list of strings, found a {}",
                        kind(other)
                    ),
                ))
            }
        };
        let mut roles = Vec::with_capacity(list.len());
        for (i, role) in list.iter().enumerate() {
            let role = scalar_text(role).ok_or_else(|| {
                self.error(
                    format!("{at}/{i}"),
                    format!(
                        "a role of scheme `{scheme}` is a {}, not a string",
                        kind(role)
                    ),
                )
            })?;
            roles.push(role);
        }
        Ok(roles)
    }

    // ---- operations --------------------------------------------------------------

    fn operations(
        &self,
        index: &HashMap<&str, usize>,
        root: Option<&Requirement>,
    ) -> Result<Vec<Operation>, Error> {
        let paths = match self.map.get("paths").map(untag) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Mapping(paths)) => paths,
            Some(other) => {
                return Err(self.error(
                    "/paths",
                    format!(
                        "`paths` must be a map of path template to path item, found a {}",
                        kind(other)
                    ),
                ))
            }
        };
        let mut operations = Vec::new();
        for (key, item) in paths {
            let template = key_text(key).ok_or_else(|| {
                self.error(
                    "/paths",
                    format!("a path key is a {}, not a path template", kind(key)),
                )
            })?;
            // The Paths Object allows `x-` extensions beside the templates.
            if template.starts_with("x-") {
                continue;
            }
            let item_at = format!("/paths/{}", pointer_token(&template));
            if template == "$ref" {
                return Err(self.error(
                    &item_at,
                    "`paths` itself cannot be a `$ref`; write the path items out (each path \
                     item may be a `$ref`)",
                ));
            }
            if let Some(problem) = unmatchable(&template) {
                return Err(self.error(
                    &item_at,
                    format!(
                        "path template `{}` contains {problem}, which a request path never \
                         holds, so the route could never match",
                        elide(&template)
                    ),
                ));
            }
            PathTemplate::parse(&template).map_err(|message| {
                self.error(&item_at, message.replace(&template, &elide(&template)))
            })?;
            for (method, node, node_at) in self.path_item(item, &item_at)? {
                let pointer = format!("{item_at}/{}", method.key());
                let requirement = self.effective(node, &node_at, index, root)?;
                operations.push(build_operation(
                    method,
                    &template,
                    node,
                    requirement,
                    pointer,
                ));
            }
        }
        Ok(operations)
    }

    /// The operations of a path item found at `at`, in document order, each with the
    /// pointer of the node that holds it. A `$ref` splices in the referenced item's
    /// operations where the key stands.
    fn path_item(
        &self,
        item: &'a Value,
        at: &str,
    ) -> Result<Vec<(Method, &'a Value, String)>, Error> {
        let mut found = Vec::new();
        self.collect_operations(item, at, &mut Vec::new(), &mut found)?;
        // Both the item and its `$ref` target may hold the same method; the specification
        // leaves that undefined, and guessing could open a route, so refuse.
        for (i, (method, _, node_at)) in found.iter().enumerate() {
            if let Some((_, _, first_at)) = found.iter().take(i).find(|(m, _, _)| m == method) {
                return Err(self.error(
                    node_at,
                    format!(
                        "the path item documents {} twice (also at {first_at}), through `$ref`; \
                         keep one",
                        method.as_str()
                    ),
                ));
            }
        }
        Ok(found)
    }

    fn collect_operations(
        &self,
        item: &'a Value,
        at: &str,
        trail: &mut Vec<String>,
        found: &mut Vec<(Method, &'a Value, String)>,
    ) -> Result<(), Error> {
        let map = match untag(item) {
            Value::Null => return Ok(()),
            Value::Mapping(map) => map,
            other => {
                return Err(self.error(
                    at,
                    format!("a path item must be a map, found a {}", kind(other)),
                ))
            }
        };
        for (key, value) in map {
            let Some(key) = as_str(key) else { continue };
            if key == "$ref" {
                self.refs.enter(trail, at)?;
                let (target, target_at) = self.refs.resolve(value, at)?;
                self.collect_operations(target, &target_at, trail, found)?;
                trail.pop();
            } else if let Some(method) = method_of(key) {
                found.push((method, value, format!("{at}/{key}")));
            }
        }
        Ok(())
    }

    /// docs/semantics.md §1.1: own `security` (even `[]`), else root, else public.
    fn effective(
        &self,
        node: &Value,
        at: &str,
        index: &HashMap<&str, usize>,
        root: Option<&Requirement>,
    ) -> Result<(Requirement, RequirementSource), Error> {
        let map = match untag(node) {
            // `get:` with nothing after it documents the method and says nothing more.
            Value::Null => None,
            Value::Mapping(map) => Some(map),
            other => {
                return Err(self.error(
                    at,
                    format!("an operation must be a map, found a {}", kind(other)),
                ))
            }
        };
        if let Some(own) = map.and_then(|map| map.get("security")) {
            let requirement = self.requirement(own, format!("{at}/security"), index)?;
            return Ok((requirement, RequirementSource::Operation));
        }
        Ok(match root {
            Some(root) => (root.clone(), RequirementSource::Root),
            None => (
                Requirement {
                    alternatives: Vec::new(),
                    pointer: String::new(),
                },
                RequirementSource::Absent,
            ),
        })
    }
}

/// The defined scheme names, in definition order.
fn defined_names<'i>(index: &HashMap<&'i str, usize>) -> Vec<&'i str> {
    let mut defined: Vec<(&str, usize)> = index.iter().map(|(n, i)| (*n, *i)).collect();
    defined.sort_by_key(|&(_, i)| i);
    defined.into_iter().map(|(n, _)| n).collect()
}

/// Builds an operation; `node` was checked by [`Document::effective`].
fn build_operation(
    method: Method,
    template: &str,
    node: &Value,
    (requirement, requirement_source): (Requirement, RequirementSource),
    pointer: String,
) -> Operation {
    let map = as_map(node);
    let field = |key: &str| map.and_then(|map| map.get(key));
    let tags = match field("tags").map(untag) {
        Some(Value::Sequence(tags)) => tags.iter().filter_map(scalar_text).collect(),
        _ => Vec::new(),
    };
    Operation {
        method,
        path: template.to_owned(),
        operation_id: field("operationId").and_then(scalar_text),
        tags,
        summary: field("summary").and_then(scalar_text),
        requirement,
        requirement_source,
        pointer,
    }
}

fn method_of(key: &str) -> Option<Method> {
    Method::ALL.into_iter().find(|method| method.key() == key)
}

/// What in a path template's route (the part before `#`) keeps every request path from
/// matching it: `?` ends the path of a URI, and a space or an ASCII control character
/// never reaches a server raw.
fn unmatchable(template: &str) -> Option<String> {
    let c = route_of(template)
        .chars()
        .find(|&c| matches!(c, '?' | ' ') || c.is_ascii_control())?;
    Some(match c {
        '?' => "`?`".to_owned(),
        ' ' => "a space".to_owned(),
        _ => format!("the character {}", c.escape_unicode()),
    })
}
