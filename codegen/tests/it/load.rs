//! The loader through its public API (`load_str`, `load_file`): documents
//! of each dialect lowered to the IR, base paths, the errors for what it cannot read
//! (each with its place), merge keys and the YAML 1.2 fallback.

use keygate_codegen::ir::{Api, Requirement, RequirementSource};
use keygate_codegen::{load_file, load_str};
use keygate_tests::TempDir;

/// What a case expects: a rendering of the loaded document, or words the error's
/// `Display` must contain.
enum Expect {
    Api(&'static str),
    Error(&'static [&'static str]),
}
use Expect::{Api as Loads, Error as Fails};

/// Renders the parts of an `Api` the cases look at, one line each.
fn render(api: &Api) -> String {
    let mut out = format!(
        "{:?} title={:?} base={:?}\n",
        api.version, api.title, api.base_path
    );
    for scheme in &api.schemes {
        out.push_str(&format!(
            "scheme {} = {} at {}\n",
            scheme.name,
            scheme.kind.label(),
            scheme.pointer
        ));
    }
    if let Some(root) = &api.root {
        out.push_str(&format!("root {}\n", render_requirement(api, root)));
    }
    for op in &api.operations {
        out.push_str(&format!(
            "{} {} id={} tags={:?} summary={:?} at {} <- {:?} {}\n",
            op.method.as_str(),
            op.path,
            op.operation_id.as_deref().unwrap_or("-"),
            op.tags,
            op.summary.as_deref().unwrap_or("-"),
            op.pointer,
            op.requirement_source,
            render_requirement(api, &op.requirement),
        ));
    }
    out
}

/// `a + b[read] | {}` at `pointer`; `public` for no alternatives.
fn render_requirement(api: &Api, requirement: &Requirement) -> String {
    let alternatives: Vec<String> = requirement
        .alternatives
        .iter()
        .map(|alternative| {
            if alternative.is_anonymous() {
                return "{}".to_owned();
            }
            let uses: Vec<String> = alternative
                .schemes
                .iter()
                .map(|used| {
                    let name = &api.schemes[used.scheme].name;
                    if used.roles.is_empty() {
                        name.clone()
                    } else {
                        format!("{name}[{}]", used.roles.join(","))
                    }
                })
                .collect();
            uses.join(" + ")
        })
        .collect();
    let body = if alternatives.is_empty() {
        "public".to_owned()
    } else {
        alternatives.join(" | ")
    };
    format!("{body} @{:?}", requirement.pointer)
}

fn normalize(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs every case and reports all failures together.
fn check(cases: &[(&str, &str, Expect)]) {
    let mut failures = Vec::new();
    for (name, doc, expect) in cases {
        let result = load_str("doc.yaml", doc);
        match (expect, result) {
            (Loads(want), Ok(api)) => {
                let got = render(&api);
                if normalize(&got) != normalize(want) {
                    failures.push(format!("{name}: got\n{got}\nwant\n{want}"));
                }
            }
            (Loads(_), Err(err)) => failures.push(format!("{name}: unexpected error: {err}")),
            (Fails(words), Ok(api)) => failures.push(format!(
                "{name}: expected an error with {words:?}, loaded\n{}",
                render(&api)
            )),
            (Fails(words), Err(err)) => {
                let shown = err.to_string();
                for word in *words {
                    if !shown.contains(word) {
                        failures.push(format!("{name}: error `{shown}` lacks `{word}`"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

const PETS: &str = r##"
openapi: 3.0.3
info: {title: Pets}
servers: [{url: "https://api.example.com/v1/"}]
components:
  securitySchemes:
    api_key: {type: apiKey, in: header, name: X-API-Key}
    bearer: {type: http, scheme: Bearer}
    basic: {type: http, scheme: basic}
    digest: {type: http, scheme: Digest}
    oauth: {type: oauth2, flows: {}}
    oidc: {type: openIdConnect, openIdConnectUrl: "https://x"}
    cookie: {type: apiKey, in: cookie, name: sid}
    q: {type: apiKey, in: query, name: key}
security:
  - api_key: []
  - bearer: []
    oauth: [read, write]
paths:
  /pets:
    parameters: []
    summary: ignored
    x-extra: 1
    post:
      operationId: createPet
      tags: [pets, 3, {a: b}]
      summary: Make one
      security: []
    get:
      operationId: listPets
  /pets/{id}:
    get:
      security:
        - {}
        - q: ~
        - cookie: [admin]
          basic: []
"##;

const PETS_EXPECTED: &str = r##"
OpenApi30 title="Pets" base="/v1"
scheme api_key = apiKey (header X-API-Key) at /components/securitySchemes/api_key
scheme bearer = http bearer at /components/securitySchemes/bearer
scheme basic = http basic at /components/securitySchemes/basic
scheme digest = http digest (hook) at /components/securitySchemes/digest
scheme oauth = oauth2 (hook) at /components/securitySchemes/oauth
scheme oidc = openIdConnect (hook) at /components/securitySchemes/oidc
scheme cookie = apiKey (cookie sid) at /components/securitySchemes/cookie
scheme q = apiKey (query key) at /components/securitySchemes/q
root api_key | bearer + oauth[read,write] @"/security"
POST /pets id=createPet tags=["pets", "3"] summary="Make one" at /paths/~1pets/post <- Operation public @"/paths/~1pets/post/security"
GET /pets id=listPets tags=[] summary="-" at /paths/~1pets/get <- Root api_key | bearer + oauth[read,write] @"/security"
GET /pets/{id} id=- tags=[] summary="-" at /paths/~1pets~1{id}/get <- Operation {} | q | cookie[admin] + basic @"/paths/~1pets~1{id}/get/security"
"##;

#[test]
fn lowers_documents() {
    check(&[
        ("pets", PETS, Loads(PETS_EXPECTED)),
        (
            "swagger 2.0 with basePath, number version, basic",
            r##"
swagger: 2.0
info: {title: Old}
basePath: /api/v2/
securityDefinitions:
  key: {type: apiKey, in: query, name: api_key}
  b: {type: basic}
  c: {type: apiKey, in: cookie, name: sid}
paths:
  /things:
    get: {security: [{key: []}, {b: []}]}
"##,
            Loads(
                r##"
Swagger2 title="Old" base="/api/v2"
scheme key = apiKey (query api_key) at /securityDefinitions/key
scheme b = http basic at /securityDefinitions/b
scheme c = apiKey (cookie sid) at /securityDefinitions/c
GET /things id=- tags=[] summary="-" at /paths/~1things/get <- Operation key | b @"/paths/~1things/get/security"
"##,
            ),
        ),
        (
            "json input, 3.1, mutualTLS, absent security",
            r##"  {"openapi": "3.1.0", "info": {"title": "J"},
  "components": {"securitySchemes": {"m": {"type": "mutualTLS"}}},
  "paths": {"/a": {"delete": {}, "put": {"operationId": 7}}}}"##,
            Loads(
                r##"
OpenApi31 title="J" base=""
scheme m = mutualTLS (hook) at /components/securitySchemes/m
DELETE /a id=- tags=[] summary="-" at /paths/~1a/delete <- Absent public @""
PUT /a id=7 tags=[] summary="-" at /paths/~1a/put <- Absent public @""
"##,
            ),
        ),
        (
            "numeric 3.0 version, root-only, root [] is public",
            "openapi: 3.0\nsecurity: []\npaths:\n  /a:\n    get: {}\n",
            Loads(
                r##"
OpenApi30 title="" base=""
root public @"/security"
GET /a id=- tags=[] summary="-" at /paths/~1a/get <- Root public @"/security"
"##,
            ),
        ),
        (
            "3.1 type arrays, $ref inside examples, webhooks, x- keys, unknown keys",
            r##"
openapi: 3.1.0
x-top: {$ref: "elsewhere.yaml"}
webhooks:
  newPet: {post: {security: [{nope: []}]}}
components:
  schemas:
    Pet:
      type: [object, "null"]
      properties: {id: {$ref: "other.yaml#/Id"}}
      examples: [{$ref: "#/nowhere"}]
  examples:
    e: {value: {$ref: "./x.json"}}
  securitySchemes:
    k: {type: apiKey, in: header, name: K, x-note: {$ref: "ext.yaml"}}
paths:
  x-paths-extension: {get: 1}
  /pets:
    get:
      responses:
        "200":
          content:
            application/json:
              schema: {type: [array, "null"], items: {$ref: "ext.yaml#/Pet"}}
              example: {$ref: "#/not/a/thing"}
      security: [{k: []}]
"##,
            Loads(
                r##"
OpenApi31 title="" base=""
scheme k = apiKey (header K) at /components/securitySchemes/k
GET /pets id=- tags=[] summary="-" at /paths/~1pets/get <- Operation k @"/paths/~1pets/get/security"
"##,
            ),
        ),
        (
            "document order of methods and schemes within an alternative",
            r##"
openapi: 3.0.0
components:
  securitySchemes:
    a: {type: http, scheme: bearer}
    b: {type: http, scheme: basic}
paths:
  /z:
    patch: {security: [{b: [], a: []}, {b: [], a: []}]}
    get: {}
    head: {}
  /a:
    trace: {}
"##,
            Loads(
                r##"
OpenApi30 title="" base=""
scheme a = http bearer at /components/securitySchemes/a
scheme b = http basic at /components/securitySchemes/b
PATCH /z id=- tags=[] summary="-" at /paths/~1z/patch <- Operation b + a | b + a @"/paths/~1z/patch/security"
GET /z id=- tags=[] summary="-" at /paths/~1z/get <- Absent public @""
HEAD /z id=- tags=[] summary="-" at /paths/~1z/head <- Absent public @""
TRACE /a id=- tags=[] summary="-" at /paths/~1a/trace <- Absent public @""
"##,
            ),
        ),
        (
            "scheme and path item $ref, escaped pointers, percent-encoding",
            r##"
openapi: 3.0.1
x-shared:
  "a/b~c": {type: apiKey, in: header, name: X-Shared}
  item:
    get: {security: [{alias: []}]}
components:
  securitySchemes:
    direct: {$ref: "#/x-shared/a~1b~0c"}
    alias: {$ref: "#/components/securitySchemes/direct"}
    pct: {$ref: "#/x-shared/a~1b%7Ec"}
paths:
  /one:
    $ref: "#/x-shared/item"
  /two/{x}:
    post: {}
    $ref: "#/paths/~1one"
"##,
            Loads(
                r##"
OpenApi30 title="" base=""
scheme direct = apiKey (header X-Shared) at /components/securitySchemes/direct
scheme alias = apiKey (header X-Shared) at /components/securitySchemes/alias
scheme pct = apiKey (header X-Shared) at /components/securitySchemes/pct
GET /one id=- tags=[] summary="-" at /paths/~1one/get <- Operation alias @"/x-shared/item/get/security"
POST /two/{x} id=- tags=[] summary="-" at /paths/~1two~1{x}/post <- Absent public @""
GET /two/{x} id=- tags=[] summary="-" at /paths/~1two~1{x}/get <- Operation alias @"/x-shared/item/get/security"
"##,
            ),
        ),
        (
            "same shape, different methods; partial-segment templates",
            r##"
openapi: 3.0.0
paths:
  /documents/{document_id}: {get: {}}
  /documents/{inbox_id}: {delete: {}}
  /pulls/{index}.diff: {get: {}}
  /pulls/{index}.patch: {get: {}}
  /v2/{name}:cancel: {post: {}}
"##,
            Loads(
                r##"
OpenApi30 title="" base=""
GET /documents/{document_id} id=- tags=[] summary="-" at /paths/~1documents~1{document_id}/get <- Absent public @""
DELETE /documents/{inbox_id} id=- tags=[] summary="-" at /paths/~1documents~1{inbox_id}/delete <- Absent public @""
GET /pulls/{index}.diff id=- tags=[] summary="-" at /paths/~1pulls~1{index}.diff/get <- Absent public @""
GET /pulls/{index}.patch id=- tags=[] summary="-" at /paths/~1pulls~1{index}.patch/get <- Absent public @""
POST /v2/{name}:cancel id=- tags=[] summary="-" at /paths/~1v2~1{name}:cancel/post <- Absent public @""
"##,
            ),
        ),
        (
            "no paths, no components, BOM",
            "\u{feff}openapi: 3.1.1\ninfo: {title: 12}\n",
            Loads("OpenApi31 title=\"12\" base=\"\""),
        ),
    ]);
}

fn base_of(servers: &str) -> String {
    let doc = format!("openapi: 3.0.0\nservers: {servers}\npaths: {{}}\n");
    match load_str("doc.yaml", &doc) {
        Ok(api) => api.base_path,
        Err(err) => format!("error: {err}"),
    }
}

#[test]
fn base_paths() {
    let cases = [
        ("[]", ""),
        ("[{url: /}]", ""),
        ("[{url: /v1}]", "/v1"),
        ("[{url: v1/}]", "/v1"),
        ("[{url: ./v1}]", "/v1"),
        ("[{url: 'https://api.example.com'}]", ""),
        ("[{url: 'https://api.example.com/'}]", ""),
        ("[{url: 'https://api.example.com/a/b/?x=1#f'}]", "/a/b"),
        ("[{url: '//cdn.example.com/v3'}]", "/v3"),
        ("[{url: '/v1', description: first}, {url: '/v2'}]", "/v1"),
        (
            "[{url: '{scheme}://{host}:{port}/{base}/x', variables: {scheme: {default: https}, host: {default: h}, port: {default: 443}, base: {default: api}}}]",
            "/api/x",
        ),
        // A variable without a default becomes empty; the rest still gives a path.
        ("[{url: 'https://h/{version}/api', variables: {version: {enum: [v1]}}}]", "/api"),
        ("[{url: 'https://h/{unknown}'}]", ""),
        ("[{url: 'https://h/a{b'}]", "/a{b"),
        ("[{description: no url}]", ""),
        ("[7]", ""),
    ];
    let mut failures = Vec::new();
    for (servers, want) in cases {
        let got = base_of(servers);
        if got != want {
            failures.push(format!("{servers}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn refuses_what_it_cannot_read() {
    check(&[
        (
            "undefined scheme",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {type: http, scheme: bearer}, b: {type: http, scheme: basic}}}\npaths:\n  /pets:\n    get:\n      security: [{a: []}, {api_key: []}]\n",
            Fails(&[
                "doc.yaml:6:28: at /paths/~1pets/get/security/1/api_key:",
                "security requirement names scheme `api_key`, which the document does not define (defined: a, b)",
            ]),
        ),
        (
            "undefined scheme, a typo of a defined one",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {api_key: {type: apiKey, in: header, name: X-API-Key}, bearer: {type: http, scheme: bearer}}}\nsecurity: [{apikey: []}]\npaths: {}\n",
            Fails(&["at /security/0/apikey:", "does not define; did you mean `api_key`? (defined: api_key, bearer)"]),
        ),
        (
            "undefined scheme, the header a scheme reads",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {api_key: {type: apiKey, in: header, name: X-API-Key}}}\npaths: {/a: {get: {security: [{x-api-key: []}]}}}\n",
            Fails(&["at /paths/~1a/get/security/0/x-api-key:", "does not define; `x-api-key` is where scheme `api_key` reads its key (apiKey (header X-API-Key)): name the scheme"]),
        ),
        (
            "undefined scheme, nothing close",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {api_key: {type: apiKey, in: header, name: X-API-Key}}}\nsecurity: [{session: []}]\npaths: {}\n",
            Fails(&["which the document does not define (defined: api_key)"]),
        ),
        (
            "a header name no request can carry",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, in: header, name: 'RapidAPI.com API Key'}}}\nsecurity: [{k: []}]\npaths: {}\n",
            Fails(&["doc.yaml:2:62: at /components/securitySchemes/k/name:", "apiKey scheme `k` reads the header `RapidAPI.com API Key`, which no request can carry as an HTTP field name (it contains ' '", "could never pass; fix the `name` (`name: k` if that is the header)"]),
        ),
        (
            "a header name with a line break, through a $ref, shown escaped",
            "openapi: 3.0.0\ncomponents:\n  securitySchemes: {k: {$ref: '#/x-schemes/k'}}\nx-schemes: {k: {type: apiKey, in: header, name: \"X-Key\\r\\nX-Admin: 1\"}}\npaths: {}\n",
            Fails(&["at /x-schemes/k/name:", "reads the header `X-Key\\r\\nX-Admin: 1`", "(it contains '\\r'"]),
        ),
        (
            "a cookie name no request can carry",
            "swagger: '2.0'\nsecurityDefinitions: {c: {type: apiKey, in: cookie, name: 'sid; path=/'}}\npaths: {}\n",
            Fails(&["at /securityDefinitions/c/name:", "reads the cookie `sid; path=/`, which no request can carry as a cookie name (it contains `;`, which separates cookies)"]),
        ),
        (
            "undefined scheme at the root, none defined",
            "openapi: 3.0.0\nsecurity: [{k: []}]\npaths: {}\n",
            Fails(&["at /security/0/k:", "(defined: none)"]),
        ),
        (
            "2.0 definitions under openapi 3 get a hint",
            "openapi: 3.0.0\nsecurityDefinitions: {k: {type: apiKey, in: header, name: K}}\nsecurity: [{k: []}]\n",
            Fails(&["at /security/0/k:", "`securityDefinitions` is Swagger 2.0"]),
        ),
        (
            "external scheme $ref",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {$ref: 'common.yaml#/K'}}}\n",
            Fails(&[
                "at /components/securitySchemes/k/$ref:",
                "`common.yaml#/K`",
                "external references are not supported",
                "bundle",
            ]),
        ),
        (
            "external path item $ref",
            "openapi: 3.0.0\npaths:\n  /a: {$ref: 'paths/a.yaml'}\n",
            Fails(&["at /paths/~1a/$ref:", "`paths/a.yaml`", "external references"]),
        ),
        (
            "cyclic scheme $ref",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {$ref: '#/components/securitySchemes/b'}, b: {$ref: '#/components/securitySchemes/a'}}}\n",
            Fails(&[
                "at /components/securitySchemes/a/$ref:",
                "loops",
                "/components/securitySchemes/a -> /components/securitySchemes/b -> /components/securitySchemes/a",
            ]),
        ),
        (
            "self $ref",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {$ref: '#/components/securitySchemes/a'}}}\n",
            Fails(&["at /components/securitySchemes/a/$ref:", "loops"]),
        ),
        (
            "cyclic path item $ref",
            "openapi: 3.0.0\nx-a: {$ref: '#/x-b'}\nx-b: {$ref: '#/x-a'}\npaths:\n  /a: {$ref: '#/x-a'}\n",
            Fails(&["/$ref:", "loops", "/paths/~1a -> /x-a -> /x-b -> /x-a"]),
        ),
        (
            "dangling $ref",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {a: {$ref: '#/components/securitySchemes/zz'}}}\n",
            Fails(&["at /components/securitySchemes/a/$ref:", "points at nothing"]),
        ),
        (
            "anchor $ref",
            "openapi: 3.1.0\ncomponents: {securitySchemes: {a: {$ref: '#key'}}}\n",
            Fails(&["at /components/securitySchemes/a/$ref:", "not a JSON pointer"]),
        ),
        (
            "non-string $ref",
            "openapi: 3.1.0\ncomponents: {securitySchemes: {a: {$ref: 3}}}\n",
            Fails(&["at /components/securitySchemes/a/$ref:", "must be a string"]),
        ),
        (
            "in: body",
            "swagger: '2.0'\nsecurityDefinitions:\n  k: {type: apiKey, in: body, name: key}\n",
            Fails(&["at /securityDefinitions/k/in:", "`in: body`", "header, query or cookie"]),
        ),
        (
            "no in",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, name: key}}}\n",
            Fails(&["at /components/securitySchemes/k:", "has no `in`"]),
        ),
        (
            "missing name",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, in: header}}}\n",
            Fails(&["at /components/securitySchemes/k:", "apiKey scheme `k` has no `name`"]),
        ),
        (
            "empty name",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, in: header, name: ''}}}\n",
            Fails(&["at /components/securitySchemes/k:", "has no `name`"]),
        ),
        (
            "name not a string",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: apiKey, in: header, name: [a]}}}\n",
            Fails(&["at /components/securitySchemes/k/name:", "must be a string, found a list"]),
        ),
        (
            "scheme name with a slash is escaped in the pointer",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {'a/b': {type: apiKey, in: header}}}\n",
            Fails(&["at /components/securitySchemes/a~1b:", "`a/b` has no `name`"]),
        ),
        (
            "http without scheme",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {h: {type: http}}}\n",
            Fails(&["at /components/securitySchemes/h:", "http scheme `h` has no `scheme`"]),
        ),
        (
            "unknown type",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {h: {type: magic}}}\n",
            Fails(&["at /components/securitySchemes/h/type:", "`magic`", "apiKey, http"]),
        ),
        (
            "no type",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {h: {in: header}}}\n",
            Fails(&["at /components/securitySchemes/h:", "has no `type`"]),
        ),
        (
            "scheme not a map",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {h: bearer}}\n",
            Fails(&["at /components/securitySchemes/h:", "is a string, not a map"]),
        ),
        (
            "schemes not a map",
            "openapi: 3.0.0\ncomponents: {securitySchemes: [a]}\n",
            Fails(&["at /components/securitySchemes:", "found a list"]),
        ),
        (
            "security not a list",
            "openapi: 3.0.0\nsecurity: {k: []}\n",
            Fails(&["at /security:", "must be a list of requirement maps, found a map"]),
        ),
        (
            "null security",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      security:\n",
            Fails(&["at /paths/~1a/get/security:", "found a null"]),
        ),
        (
            "requirement not a map",
            "openapi: 3.0.0\nsecurity: [k]\n",
            Fails(&["at /security/0:", "must be a map of scheme name to role list, found a string"]),
        ),
        (
            "roles not a list",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: http, scheme: bearer}}}\nsecurity: [{k: read}]\n",
            Fails(&["at /security/0/k:", "roles of scheme `k` must be a list of strings"]),
        ),
        (
            "role not a string",
            "openapi: 3.0.0\ncomponents: {securitySchemes: {k: {type: http, scheme: bearer}}}\nsecurity: [{k: [read, {a: 1}]}]\n",
            Fails(&["at /security/0/k/1:", "is a map, not a string"]),
        ),
        (
            "bad template",
            "openapi: 3.0.0\npaths:\n  /a/{x}{y}: {get: {}}\n",
            Fails(&["at /paths/~1a~1{x}{y}:", "two parameters with nothing between them"]),
        ),
        (
            "template without leading slash",
            "openapi: 3.0.0\npaths:\n  pets: {get: {}}\n",
            Fails(&["at /paths/pets:", "does not start with `/`"]),
        ),
        (
            "operation not a map",
            "openapi: 3.0.0\npaths:\n  /a: {get: [1]}\n",
            Fails(&["at /paths/~1a/get:", "an operation must be a map, found a list"]),
        ),
        (
            "path item not a map",
            "openapi: 3.0.0\npaths:\n  /a: 5\n",
            Fails(&["at /paths/~1a:", "a path item must be a map, found a number"]),
        ),
        (
            "paths not a map",
            "openapi: 3.0.0\npaths: [a]\n",
            Fails(&["at /paths:", "found a list"]),
        ),
        (
            "method both local and through $ref",
            "openapi: 3.0.0\nx-i: {get: {}}\npaths:\n  /a: {get: {}, $ref: '#/x-i'}\n",
            Fails(&["at /x-i/get:", "documents GET twice (also at /paths/~1a/get)"]),
        ),
        (
            "unsupported openapi version",
            "openapi: 3.2.0\n",
            Fails(&["at /openapi:", "`openapi: 3.2.0`", "3.0.x", "3.1.x", "2.0"]),
        ),
        (
            "unsupported swagger version",
            "swagger: '1.2'\n",
            Fails(&["at /swagger:", "`swagger: 1.2`"]),
        ),
        (
            "no version",
            "info: {title: x}\npaths: {}\n",
            Fails(&["doc.yaml:1:1: at /:", "neither `openapi` nor `swagger`"]),
        ),
        (
            "empty",
            " \n\t\n",
            Fails(&["doc.yaml: the document is empty"]),
        ),
        (
            "only a comment",
            "# nothing here\n",
            Fails(&["doc.yaml: the document is empty"]),
        ),
        (
            "root is a list",
            "- openapi: 3.0.0\n",
            Fails(&["the document is a list, not a map"]),
        ),
        (
            "bad YAML reports line and column",
            "openapi: 3.0.0\npaths:\n  /a:\n    get: {security: [}\n",
            Fails(&["doc.yaml:4:", "not valid YAML:"]),
        ),
        (
            "duplicate YAML key",
            "openapi: 3.0.0\nsecurity: []\nsecurity: [{}]\n",
            Fails(&["not valid YAML:", "duplicate entry with key \"security\""]),
        ),
        (
            "bad JSON reports line and column",
            "{\"openapi\": \"3.0.0\",\n  \"paths\": {,}}",
            Fails(&["doc.yaml:2:13: not valid JSON:"]),
        ),
    ]);
}

#[test]
fn long_ref_chains_stop() {
    let mut doc = String::from("openapi: 3.0.0\nx-hops:\n");
    for hop in 0..40 {
        doc.push_str(&format!("  h{hop}: {{$ref: '#/x-hops/h{}'}}\n", hop + 1));
    }
    doc.push_str("  h40: {type: http, scheme: bearer}\n");
    doc.push_str("components: {securitySchemes: {k: {$ref: '#/x-hops/h0'}}}\n");
    let err = load_str("d", &doc).unwrap_err().to_string();
    assert!(
        err.contains("at /components/securitySchemes/k/$ref:"),
        "{err}"
    );
    assert!(err.contains("runs past 32 hops"), "{err}");
}

#[test]
fn yaml_location_is_one_based() {
    // `]` is on line 2, column 11, both counted from 1.
    let err = load_str("d", "openapi: 3.0.0\nsecurity: ]\n").unwrap_err();
    assert_eq!((err.line, err.column), (Some(2), Some(11)), "{err}");
    assert!(!err.message.contains(" at line "), "{err}");
}

#[test]
fn load_file_reports_bad_bytes_and_missing_files() {
    let dir = TempDir::new("load");
    let bad = dir.file("bad.yaml");
    std::fs::write(&bad, b"openapi: 3.0.0\ninfo: {title: \xff}\n").unwrap();
    let err = load_file(&bad).unwrap_err();
    assert!(
        err.to_string().contains("not UTF-8 text at byte 29"),
        "{err}"
    );
    let good = dir.file("good.json");
    std::fs::write(
        &good,
        br##"{"swagger": "2.0", "paths": {"/a": {"get": {}}}}"##,
    )
    .unwrap();
    let api = load_file(&good).unwrap();
    assert_eq!(api.source, good.display().to_string());
    assert_eq!(api.operations.len(), 1);
    let err = load_file(&dir.file("missing.yaml")).unwrap_err();
    assert!(err.to_string().contains("cannot read the file"), "{err}");
    let io = std::error::Error::source(&err).and_then(|e| e.downcast_ref::<std::io::Error>());
    assert_eq!(
        io.map(std::io::Error::kind),
        Some(std::io::ErrorKind::NotFound)
    );
}

#[test]
fn merge_keys_are_applied() {
    let doc = r##"
openapi: 3.0.0
components:
  securitySchemes:
    k: {type: http, scheme: bearer}
x-base: &base
  security: [{k: []}]
paths:
  /a:
    get:
      <<: *base
      operationId: a
"##;
    let api = load_str("d", doc).unwrap();
    let op = &api.operations[0];
    assert_eq!(op.requirement_source, RequirementSource::Operation);
    assert_eq!(op.requirement.alternatives.len(), 1);
}

#[test]
fn merge_keys_spelled_through_escapes_are_applied() {
    let doc = |key: &str| {
        format!(
            "openapi: 3.0.0\ncomponents:\n  securitySchemes:\n    k: {{type: http, scheme: bearer}}\n\
             x-base: &base\n  security: [{{k: []}}]\npaths:\n  /a:\n    get:\n      {key}: *base\n\
             \x20     operationId: a\n"
        )
    };
    for key in [
        "<<",
        "\"<<\"",
        "'<<'",
        "\"\\x3c<\"",
        "\"<\\x3C\"",
        "\"\\u003c<\"",
        "\"<\\u003C\"",
        "\"\\U0000003c<\"",
        "\"<\\U0000003C\"",
        // A key over two lines must be an explicit one.
        "? \"<\\\n        <\"\n      ",
    ] {
        let text = doc(key);
        let api = load_str("d", &text).unwrap_or_else(|e| panic!("{key}: {e}"));
        let op = &api.operations[0];
        assert_eq!(op.requirement_source, RequirementSource::Operation, "{key}");
    }
    // Without any spelling of `<<`, the key stays what it was written as.
    let api = load_str("d", &doc("\"< <\"")).unwrap();
    assert_eq!(
        api.operations[0].requirement_source,
        RequirementSource::Absent
    );
}

/// A tab as the only content of a block scalar's first line: libyaml refuses it, so this
/// document goes through the YAML 1.2 fallback.
const FALLBACK: &str = concat!(
    "openapi: 3.0.0\n",
    "info:\n",
    "  title: T\n",
    "  description: |-\n",
    "    \t\n",
    "    a\n",
    "x-base: &base\n",
    "  security: [{k: [read, 2]}, {}]\n",
    "components:\n",
    "  securitySchemes:\n",
    "    k: {type: !!str apiKey, in: header, name: &name X-Key}\n",
    "    alias: {type: apiKey, in: query, name: *name}\n",
    "paths:\n",
    "  /a:\n",
    "    get:\n",
    "      <<: *base\n",
    "      operationId: a\n",
    "    put: {security: []}\n",
);

#[test]
fn the_yaml_fallback_reads_what_yaml_serde_reads() {
    assert!(yaml_serde::from_str::<yaml_serde::Value>(FALLBACK).is_err());
    let fallback = load_str("doc.yaml", FALLBACK).unwrap();
    let plain = load_str("doc.yaml", &FALLBACK.replace("    \t\n", "")).unwrap();
    assert_eq!(render(&fallback), render(&plain));
    assert!(render(&plain).contains("GET /a id=a"), "{}", render(&plain));
}
