//! Lowers Swagger 2.0, OpenAPI 3.0.x and 3.1.x documents (YAML or JSON) into the IR.
//!
//! The document is parsed into a generic [`serde_yaml::Value`] tree and only the parts
//! keygate uses are walked: the version, `info.title`, the base path, the security
//! schemes, the root `security` and the operations under `paths`. A typed OpenAPI model
//! would reject real documents over parts keygate never reads (3.1 type arrays, odd
//! schemas, examples holding `$ref` keys), so everything else is left unread.
//! Mappings keep insertion order, so document order survives.

use std::collections::HashMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::error::{pointer_token, Error};
use crate::ir::{
    Alternative, Api, HookedKind, KeyLocation, Method, Operation, Requirement,
    RequirementSource, Scheme, SchemeKind, SchemeUse, SpecVersion,
};
use crate::template::PathTemplate;

/// Longest `$ref` chain followed before giving up (also stops cycles the trail misses).
const MAX_REF_HOPS: usize = 32;

/// Loads a document from a file (YAML or JSON, chosen by content: a first
/// non-whitespace character `{` means JSON, anything else YAML).
pub fn load_file(path: &Path) -> Result<Api, Error> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|err| Error::file(&source, format!("cannot read the file: {err}")))?;
    let text = String::from_utf8(bytes).map_err(|err| {
        let at = err.utf8_error().valid_up_to();
        Error::file(&source, format!("not UTF-8 text at byte {at}"))
    })?;
    load_str(&source, &text)
}

/// Loads a document from text; `source` names it in messages ([`Api::source`] and
/// [`Error::file`]).
pub fn load_str(source: &str, text: &str) -> Result<Api, Error> {
    let root = parse(source, text)?;
    let Some(map) = as_map(&root) else {
        let message = match root {
            Value::Null => "the document is empty".to_owned(),
            _ => format!(
                "the document is a {}, not a map of OpenAPI fields",
                kind(&root)
            ),
        };
        return Err(Error::file(source, message));
    };
    let version = spec_version(source, map)?;
    Document {
        source,
        root: &root,
        map,
        version,
    }
    .lower()
}

/// Parses text into a tree: JSON when it starts with `{`, YAML otherwise.
fn parse(source: &str, text: &str) -> Result<Value, Error> {
    // A byte-order mark is not content; serde_json would reject it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match text.trim_start().chars().next() {
        None => Err(Error::file(source, "the document is empty")),
        Some('{') => serde_json::from_str(text).map_err(|err| {
            let message = format!("not valid JSON: {}", strip_location(&err.to_string()));
            Error {
                line: Some(err.line()).filter(|&line| line > 0),
                column: Some(err.column()).filter(|&column| column > 0),
                ..Error::file(source, message)
            }
        }),
        Some(_) => parse_yaml(source, text),
    }
}

fn parse_yaml(source: &str, text: &str) -> Result<Value, Error> {
    let mut value: Value = serde_yaml::from_str(text).map_err(|err| {
        let location = err.location();
        let message = format!("not valid YAML: {}", strip_location(&err.to_string()));
        Error {
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            ..Error::file(source, message)
        }
    })?;
    // YAML 1.1 merge keys (`<<: *base`) are part of what the author wrote; serde_yaml
    // keeps them as plain keys unless asked.
    value
        .apply_merge()
        .map_err(|err| Error::file(source, format!("bad YAML merge key (`<<`): {err}")))?;
    Ok(value)
}

/// Drops the parser's own " at line N column M" tail: the error carries them as fields.
fn strip_location(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => &message[..at],
        _ => message,
    }
}

/// Reads `swagger` / `openapi` and names the dialect.
fn spec_version(source: &str, map: &Mapping) -> Result<SpecVersion, Error> {
    const SUPPORTED: &str = "keygate reads `swagger: \"2.0\"`, `openapi: 3.0.x` and `openapi: 3.1.x`";
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
                format!("unsupported version `openapi: {}`; {SUPPORTED}", shown(value)),
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
                format!("unsupported version `swagger: {}`; {SUPPORTED}", shown(value)),
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
    root: &'a Value,
    map: &'a Mapping,
    version: SpecVersion,
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
            base_path: self.base_path(),
            schemes,
            root,
            operations,
        })
    }

    fn error(&self, pointer: impl Into<String>, message: impl Into<String>) -> Error {
        Error::at(self.source, pointer, message)
    }

    fn title(&self) -> String {
        as_map(self.map.get("info").unwrap_or(&Value::Null))
            .and_then(|info| info.get("title"))
            .and_then(scalar_text)
            .unwrap_or_default()
    }

    // ---- base path -------------------------------------------------------------

    fn base_path(&self) -> String {
        if self.version == SpecVersion::Swagger2 {
            let base = self.map.get("basePath").and_then(as_str).unwrap_or("");
            return normalize_base(base);
        }
        let first = match self.map.get("servers").map(untag) {
            Some(Value::Sequence(servers)) => servers.first(),
            _ => None,
        };
        first.map(server_base_path).unwrap_or_default()
    }

    // ---- $ref ------------------------------------------------------------------

    /// Follows `$ref` chains from `node` (found at `pointer`) to a node without one.
    /// Returns the node and its own pointer.
    fn follow_refs(&self, node: &'a Value, pointer: String) -> Result<(&'a Value, String), Error> {
        let mut node = node;
        let mut pointer = pointer;
        let mut trail: Vec<String> = Vec::new();
        while let Some(reference) = ref_of(node) {
            if trail.contains(&pointer) || trail.len() >= MAX_REF_HOPS {
                trail.push(pointer);
                let first = trail.first().cloned().unwrap_or_default();
                return Err(self.error(
                    format!("{first}/$ref"),
                    format!("`$ref` chain never ends: {}", trail.join(" -> ")),
                ));
            }
            let (target, target_pointer) = self.deref(reference, &pointer)?;
            trail.push(std::mem::replace(&mut pointer, target_pointer));
            node = target;
        }
        Ok((node, pointer))
    }

    /// Resolves one `$ref` value found in the map at `owner`.
    fn deref(&self, reference: &Value, owner: &str) -> Result<(&'a Value, String), Error> {
        let at = format!("{owner}/$ref");
        let Some(reference) = as_str(reference) else {
            return Err(self.error(
                at,
                format!("`$ref` must be a string, found a {}", kind(reference)),
            ));
        };
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(self.error(
                at,
                format!(
                    "`$ref` `{reference}` points outside this document; external references \
                     are not supported (bundle the document into one file first)"
                ),
            ));
        };
        let tokens = fragment_tokens(fragment).ok_or_else(|| {
            self.error(
                &at,
                format!(
                    "`$ref` `{reference}` is not a JSON pointer; only `#/...` references \
                     into this document are supported"
                ),
            )
        })?;
        let target = lookup(self.root, &tokens).ok_or_else(|| {
            self.error(
                &at,
                format!("`$ref` `{reference}` points at nothing in this document"),
            )
        })?;
        let pointer: String = tokens
            .iter()
            .map(|token| format!("/{}", pointer_token(token)))
            .collect();
        Ok((target, pointer))
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
                    format!("security schemes must be a map of name to scheme, found a {}", kind(other)),
                ))
            }
        };
        let mut schemes: Vec<Scheme> = Vec::new();
        for (key, value) in definitions {
            let name = key_text(key).ok_or_else(|| {
                self.error(&base, format!("a security scheme name is a {}, not text", kind(key)))
            })?;
            let pointer = format!("{base}/{}", pointer_token(&name));
            if schemes.iter().any(|scheme| scheme.name == name) {
                return Err(self.error(pointer, format!("security scheme `{name}` is defined twice")));
            }
            let (node, at) = self.follow_refs(value, pointer.clone())?;
            let kind = self.scheme_kind(&name, node, &at)?;
            schemes.push(Scheme {
                name,
                kind,
                pointer,
            });
        }
        Ok(schemes)
    }

    /// Reads one scheme definition (already past any `$ref`) found at `at`.
    fn scheme_kind(&self, name: &str, node: &Value, at: &str) -> Result<SchemeKind, Error> {
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
                    format!("security scheme `{name}` has type `{ty}`; expected {expected}"),
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
                            "apiKey scheme `{name}` has `in: {place}`; expected {accepted}"
                        ),
                    ))
                }
            },
        };
        let key_name = self.string_field(map, "name", at)?.unwrap_or("");
        if key_name.is_empty() {
            return Err(self.error(at, format!("apiKey scheme `{name}` has no `name`")));
        }
        Ok(SchemeKind::ApiKey {
            location,
            name: key_name.to_owned(),
        })
    }

    fn http(&self, name: &str, map: &Mapping, at: &str) -> Result<SchemeKind, Error> {
        let scheme = self.string_field(map, "scheme", at)?.unwrap_or("");
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
                    format!("a security requirement key is a {}, not a scheme name", kind(key)),
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
        let mut defined: Vec<(&str, usize)> = index.iter().map(|(n, i)| (*n, *i)).collect();
        defined.sort_by_key(|&(_, i)| i);
        let defined: Vec<&str> = defined.into_iter().map(|(n, _)| n).collect();
        let defined = if defined.is_empty() {
            "none".to_owned()
        } else {
            defined.join(", ")
        };
        let mut message = format!(
            "security requirement names scheme `{name}`, which the document does not define \
             (defined: {defined})"
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

    /// Reads a role list; null counts as empty.
    fn roles(&self, scheme: &str, node: &Value, at: &str) -> Result<Vec<String>, Error> {
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
                    format!("a role of scheme `{scheme}` is a {}, not a string", kind(role)),
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
                    format!("`paths` must be a map of path template to path item, found a {}", kind(other)),
                ))
            }
        };
        let mut operations = Vec::new();
        // (shape, method) -> the template that documents it first.
        let mut routes: HashMap<(String, Method), String> = HashMap::new();
        for (key, item) in paths {
            let template = key_text(key).ok_or_else(|| {
                self.error("/paths", format!("a path key is a {}, not a path template", kind(key)))
            })?;
            // The Paths Object allows `x-` extensions beside the templates.
            if template.starts_with("x-") {
                continue;
            }
            let item_at = format!("/paths/{}", pointer_token(&template));
            let shape = PathTemplate::parse(&template)
                .map_err(|message| self.error(&item_at, message))?
                .shape();
            for (method, node, node_at) in self.path_item(item, &item_at)? {
                let pointer = format!("{item_at}/{}", method.key());
                self.check_route(&mut routes, &shape, method, &template, &pointer)?;
                let requirement = self.effective(node, &node_at, index, root)?;
                operations.push(self.operation(method, &template, node, requirement, pointer));
            }
        }
        Ok(operations)
    }

    /// Refuses a second template of the same shape documenting the same method: a
    /// request could not tell which operation it is.
    fn check_route(
        &self,
        routes: &mut HashMap<(String, Method), String>,
        shape: &str,
        method: Method,
        template: &str,
        pointer: &str,
    ) -> Result<(), Error> {
        match routes.get(&(shape.to_owned(), method)) {
            Some(first) if first != template => Err(self.error(
                pointer,
                format!(
                    "`{template}` is the same route as `{first}`, which already documents {} \
                     (the templates differ only in parameter names)",
                    method.as_str()
                ),
            )),
            Some(_) => Ok(()),
            None => {
                routes.insert((shape.to_owned(), method), template.to_owned());
                Ok(())
            }
        }
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
            if let Some((_, _, first_at)) = found[..i].iter().find(|(m, _, _)| m == method) {
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
                if trail.iter().any(|seen| seen == at) || trail.len() >= MAX_REF_HOPS {
                    trail.push(at.to_owned());
                    return Err(self.error(
                        format!("{at}/$ref"),
                        format!("`$ref` chain never ends: {}", trail.join(" -> ")),
                    ));
                }
                let (target, target_at) = self.deref(value, at)?;
                trail.push(at.to_owned());
                self.collect_operations(target, &target_at, trail, found)?;
                trail.pop();
            } else if let Some(method) = method_of(key) {
                found.push((method, value, format!("{at}/{key}")));
            }
        }
        Ok(())
    }

    /// SEMANTICS §1.1: own `security` (even `[]`), else root, else public.
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

    /// Builds the operation; `node` was checked by [`Document::effective`].
    fn operation(
        &self,
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
}

// ---- base path helpers -------------------------------------------------------------

/// The path part of a 3.x server object's URL, variables substituted, normalized.
fn server_base_path(server: &Value) -> String {
    let Some(server) = as_map(server) else {
        return String::new();
    };
    let Some(url) = server.get("url").and_then(as_str) else {
        return String::new();
    };
    let variables = server.get("variables").and_then(as_map);
    normalize_base(url_path(&substitute_variables(url, variables)))
}

/// Replaces `{name}` with the variable's `default`; an unknown variable or one without
/// a default becomes empty text, so the rest of the URL still yields a path.
fn substitute_variables(url: &str, variables: Option<&Mapping>) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..open + close];
        let default = variables
            .and_then(|vars| vars.get(name))
            .and_then(as_map)
            .and_then(|var| var.get("default"))
            .and_then(scalar_text);
        out.push_str(default.as_deref().unwrap_or(""));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// The path of a URL: after the host for `scheme://host/...` and `//host/...`, the
/// whole text for a relative URL. Query and fragment are dropped.
fn url_path(url: &str) -> &str {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let after_host = |rest: &'_ str| -> usize { rest.find('/').unwrap_or(rest.len()) };
    if let Some(start) = url.find("://").map(|i| i + 3) {
        let rest = &url[start..];
        return &rest[after_host(rest)..];
    }
    if let Some(rest) = url.strip_prefix("//") {
        return &rest[after_host(rest)..];
    }
    url
}

/// `/v1/` -> `/v1`, `v1` -> `/v1`, `./v1` -> `/v1`, `/` -> ``.
fn normalize_base(path: &str) -> String {
    let mut path = path.trim();
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    if path == "." {
        path = "";
    }
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        String::new()
    } else if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

// ---- tree helpers ----------------------------------------------------------------

/// Looks through YAML tags (`!foo value`): keygate reads the value.
fn untag(value: &Value) -> &Value {
    let mut value = value;
    while let Value::Tagged(tagged) = value {
        value = &tagged.value;
    }
    value
}

fn as_map(value: &Value) -> Option<&Mapping> {
    match untag(value) {
        Value::Mapping(map) => Some(map),
        _ => None,
    }
}

fn as_str(value: &Value) -> Option<&str> {
    match untag(value) {
        Value::String(text) => Some(text),
        _ => None,
    }
}

/// Text of a scalar: strings as they are, numbers and booleans as YAML writes them.
fn scalar_text(value: &Value) -> Option<String> {
    match untag(value) {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A map key as text (YAML reads `200:` or `true:` as non-strings).
fn key_text(key: &Value) -> Option<String> {
    match untag(key) {
        Value::Null => Some("null".to_owned()),
        other => scalar_text(other),
    }
}

/// The value of `$ref` when `node` is a map holding one.
fn ref_of(node: &Value) -> Option<&Value> {
    as_map(node).and_then(|map| map.get("$ref"))
}

fn method_of(key: &str) -> Option<Method> {
    Method::ALL.into_iter().find(|method| method.key() == key)
}

/// A short name for the kind of a node, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "map",
        Value::Tagged(tagged) => kind(&tagged.value),
    }
}

/// A scalar shown in a message (`3.2.0`), or its kind.
fn shown(value: &Value) -> String {
    scalar_text(value).unwrap_or_else(|| format!("<{}>", kind(value)))
}

/// Splits a URI fragment holding a JSON pointer (`/components/x~1y`) into unescaped
/// tokens (RFC 6901 §6: percent-decode, then `~1` -> `/`, `~0` -> `~`). `None` when the
/// fragment is not a pointer.
fn fragment_tokens(fragment: &str) -> Option<Vec<String>> {
    let decoded = percent_decode(fragment)?;
    if decoded.is_empty() {
        return Some(Vec::new());
    }
    let rest = decoded.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|token| token.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Percent-decodes; a `%` not followed by two hex digits stays as written. `None` when
/// the bytes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = match bytes.get(i + 1..i + 3) {
            Some(&[high, low]) => hex_value(high).zip(hex_value(low)),
            _ => None,
        };
        match (bytes.get(i), hex) {
            (Some(b'%'), Some((high, low))) => {
                out.push(high << 4 | low);
                i += 3;
            }
            (Some(&byte), _) => {
                out.push(byte);
                i += 1;
            }
            (None, _) => break,
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|value| u8::try_from(value).ok())
}

/// Walks unescaped pointer tokens from `root`.
fn lookup<'v>(root: &'v Value, tokens: &[String]) -> Option<&'v Value> {
    let mut node = root;
    for token in tokens {
        node = match untag(node) {
            Value::Mapping(map) => map.get(token.as_str()).or_else(|| {
                // Keys YAML read as numbers or booleans (`200:`) still match their text.
                map.iter()
                    .find(|(key, _)| key_text(key).as_deref() == Some(token.as_str()))
                    .map(|(_, value)| value)
            })?,
            Value::Sequence(list) => list.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}
