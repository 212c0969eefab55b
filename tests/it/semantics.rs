//! SEMANTICS.md §1–§5, row by row, against real servers on 127.0.0.1.
//!
//! Every case goes through [`check`]: status, `WWW-Authenticate` lines, content type,
//! body, and that no presented secret comes back anywhere in the response.

use axum::http::request::Parts;
use axum::{Extension, Router};
use keygate::spec::{Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse};
use keygate::{hook_fn, AuthLayer, Principal, Spec, Undocumented, Verdict, Verifier, VerifyError, VerifyRequest};
use keygate_tests::{edge_names, petstore};
use serde_json::{json, Value};

use crate::apps::*;
use crate::support::{spawn, Reply, Server};

// ---------------------------------------------------------------------------------
// Expectations

/// A scheme as §5 shows it: in `accepted` and as a challenge.
#[derive(Debug, Clone, Copy)]
struct Shown {
    scheme: &'static str,
    location: &'static str,
    name: &'static str,
    word: Word,
}

#[derive(Debug, Clone, Copy)]
enum Word {
    ApiKey,
    Bearer,
    Basic,
}

impl Shown {
    fn challenge(&self, realm: &str) -> String {
        match self.word {
            Word::ApiKey => format!(
                r#"APIKey realm="{realm}", in="{}", name="{}""#,
                self.location, self.name
            ),
            Word::Bearer => format!(r#"Bearer realm="{realm}""#),
            Word::Basic => format!(r#"Basic realm="{realm}""#),
        }
    }
}

const fn api_key(scheme: &'static str, location: &'static str, name: &'static str) -> Shown {
    Shown {
        scheme,
        location,
        name,
        word: Word::ApiKey,
    }
}

const fn http(scheme: &'static str, word: Word) -> Shown {
    Shown {
        scheme,
        location: "header",
        name: "Authorization",
        word,
    }
}

const API_KEY: Shown = api_key("api_key", "header", "X-API-Key");
const APP_ID: Shown = api_key("app_id", "header", "X-App-Id");
const QUERY_KEY: Shown = api_key("query_key", "query", "api_key");
const SESSION: Shown = api_key("session", "cookie", "session");
const BEARER: Shown = http("bearer", Word::Bearer);
const BASIC: Shown = http("basic", Word::Basic);
/// oauth2: the runtime challenges it as Bearer.
const PARTNER_OAUTH: Shown = http("partner_oauth", Word::Bearer);

const EDGE_USER_QUERY: Shown = api_key("userApiKey (query parameter)", "query", "auth-token");
const EDGE_USER_HEADER: Shown = api_key("userApiKey (request header)", "header", "auth-token");
const EDGE_BEARER_AUTH: Shown = api_key("BearerAuth", "header", "Authorization");
const EDGE_BEARER_AUTH_2: Shown = api_key("bearerAuth", "header", "Authorization");
const EDGE_TYPE: Shown = api_key("type", "header", "Authorization");
const EDGE_2FA: Shown = http("2fa", Word::Basic);

const DETAIL_INVALID: &str = "A valid credential is required for this operation.";
const DETAIL_FORBIDDEN: &str = "The credential is valid but does not grant this operation.";
const DETAIL_UNAVAILABLE: &str = "The credential could not be checked right now. Try again later.";
const DETAIL_UNDOCUMENTED: &str = "This route is not in the API document.";
/// The one 500 body: the fix for an app wired wrong goes to the log (hygiene.rs).
const DETAIL_SERVER_ERROR: &str = "The server could not decide this request.";
const DETAIL_METHOD_UNDOCUMENTED: &str = "This method is not in the API document for this path.";

const X_API_KEY: &str = "X-API-Key";
const X_APP_ID: &str = "X-App-Id";
const AUTHORIZATION: &str = "Authorization";
const COOKIE: &str = "Cookie";

#[derive(Debug)]
struct Expect {
    status: u16,
    challenges: Vec<String>,
    body: Body,
}

#[derive(Debug)]
enum Body {
    /// 200 from a handler: its decision line.
    Decision(&'static str),
    /// problem+json; `accepted` is absent when `None`.
    Problem {
        detail: Detail,
        accepted: Option<Value>,
    },
}

#[derive(Debug)]
enum Detail {
    Exact(&'static str),
    Contains(&'static str),
    /// §3 fixes no text (e.g. for an ambiguous credential): any non-empty string.
    Any,
}

fn granted(decision: &'static str) -> Expect {
    Expect {
        status: 200,
        challenges: Vec::new(),
        body: Body::Decision(decision),
    }
}

fn accepted(alternatives: &[&[Shown]]) -> Value {
    let list = |alternative: &[Shown]| -> Value {
        alternative
            .iter()
            .map(|s| json!({"scheme": s.scheme, "in": s.location, "name": s.name}))
            .collect()
    };
    alternatives.iter().map(|a| list(a)).collect()
}

/// 401 in realm `api`: one challenge per scheme of the requirement, first use first.
fn unauthorized(alternatives: &[&[Shown]]) -> Expect {
    unauthorized_in("api", alternatives)
}

fn unauthorized_in(realm: &str, alternatives: &[&[Shown]]) -> Expect {
    let mut schemes: Vec<&str> = Vec::new();
    let mut challenges = Vec::new();
    for shown in alternatives.iter().flat_map(|a| a.iter()) {
        if !schemes.contains(&shown.scheme) {
            schemes.push(shown.scheme);
            challenges.push(shown.challenge(realm));
        }
    }
    Expect {
        status: 401,
        challenges,
        body: Body::Problem {
            detail: Detail::Exact(DETAIL_INVALID),
            accepted: Some(accepted(alternatives)),
        },
    }
}

fn forbidden(alternatives: &[&[Shown]]) -> Expect {
    Expect {
        status: 403,
        challenges: Vec::new(),
        body: Body::Problem {
            detail: Detail::Exact(DETAIL_FORBIDDEN),
            accepted: Some(accepted(alternatives)),
        },
    }
}

/// A problem without `accepted` or challenges (404, 500, 503).
fn problem(status: u16, detail: Detail) -> Expect {
    Expect {
        status,
        challenges: Vec::new(),
        body: Body::Problem {
            detail,
            accepted: None,
        },
    }
}

impl Expect {
    fn detail(mut self, expected: Detail) -> Expect {
        if let Body::Problem { detail, .. } = &mut self.body {
            *detail = expected;
        }
        self
    }
}

fn title(status: u16) -> &'static str {
    match status {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => panic!("no problem title for {status}"),
    }
}

fn assert_no_secret(reply: &Reply, case: &str) {
    for secret in SECRETS {
        assert!(
            !reply.body.contains(secret),
            "{case}: body echoes {secret:?}"
        );
        for (name, value) in &reply.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            assert!(
                !value.contains(secret),
                "{case}: header {name} echoes {secret:?}"
            );
        }
    }
}

/// Sends one request and asserts the whole answer.
async fn check(
    app: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    expect: Expect,
) -> Reply {
    let reply = app.send(method, path, headers).await;
    let case = format!("{method} {path} {headers:?}");
    assert_eq!(
        reply.status, expect.status,
        "{case}: status; body {:?}",
        reply.body
    );
    assert_eq!(
        reply.www_authenticate, expect.challenges,
        "{case}: WWW-Authenticate"
    );
    assert_no_secret(&reply, &case);
    // HEAD answers carry headers only.
    let head = method == "HEAD";
    match expect.body {
        Body::Decision(decision) => {
            let seen = reply.headers.get("x-decision").map(|v| v.to_str().unwrap());
            assert_eq!(seen, Some(decision), "{case}: decision");
            if !head {
                assert_eq!(reply.body, decision, "{case}: body");
            }
        }
        Body::Problem { detail, accepted } => {
            assert_eq!(
                reply.content_type.as_deref(),
                Some("application/problem+json"),
                "{case}: content type"
            );
            if head {
                assert_eq!(reply.body, "", "{case}: HEAD body");
                return reply;
            }
            let json = reply
                .json
                .as_ref()
                .unwrap_or_else(|| panic!("{case}: not JSON: {}", reply.body));
            let mut keys: Vec<&str> = json
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            let mut expected_keys = vec!["detail", "status", "title", "type"];
            if accepted.is_some() {
                expected_keys.insert(0, "accepted");
            }
            assert_eq!(keys, expected_keys, "{case}: problem members");
            assert_eq!(json["type"], "about:blank", "{case}: type");
            assert_eq!(json["title"], title(expect.status), "{case}: title");
            assert_eq!(json["status"], expect.status, "{case}: status member");
            let text = json["detail"]
                .as_str()
                .unwrap_or_else(|| panic!("{case}: detail"));
            match detail {
                Detail::Exact(wanted) => assert_eq!(text, wanted, "{case}: detail"),
                Detail::Contains(part) => assert!(text.contains(part), "{case}: detail {text:?}"),
                Detail::Any => assert!(!text.is_empty(), "{case}: empty detail"),
            }
            assert_eq!(json.get("accepted"), accepted.as_ref(), "{case}: accepted");
        }
    }
    reply
}

// ---------------------------------------------------------------------------------
// Apps

async fn petstore_with(layer: AuthLayer) -> Server {
    spawn(petstore_routes("/v1").layer(layer)).await
}

async fn petstore_app() -> Server {
    petstore_with(petstore::layer(petstore_keys())).await
}

async fn edge_app() -> Server {
    spawn(edge_routes().layer(edge_names::layer(edge_keys()))).await
}

/// A hand-written spec behind a layer; every route answers through [`describe`]. Its
/// schemes reuse petstore's names, so [`petstore_keys`] verifies them.
async fn hand_written(spec: &'static Spec) -> Server {
    spawn(
        Router::new()
            .fallback(describe)
            .layer(AuthLayer::new(spec, petstore_keys())),
    )
    .await
}

const HEADER_KEY: Scheme = Scheme {
    name: "api_key",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-API-Key",
    },
};
const HEADER_APP_ID: Scheme = Scheme {
    name: "app_id",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-App-Id",
    },
};
const QUERY_API_KEY: Scheme = Scheme {
    name: "query_key",
    kind: SchemeKind::ApiKey {
        location: Location::Query,
        name: "api_key",
    },
};
const COOKIE_SESSION: Scheme = Scheme {
    name: "session",
    kind: SchemeKind::ApiKey {
        location: Location::Cookie,
        name: "session",
    },
};
const HTTP_BEARER: Scheme = Scheme {
    name: "bearer",
    kind: SchemeKind::HttpBearer,
};

const fn uses(scheme: usize, roles: &'static [&'static str]) -> SchemeUse {
    SchemeUse { scheme, roles }
}

/// No `security` anywhere.
static NO_REQUIREMENT: Spec = Spec {
    title: "no requirement",
    base_path: "",
    schemes: &[HEADER_KEY],
    root: Requirement::PUBLIC,
    operations: &[Operation {
        method: "GET",
        path: "/things",
        operation_id: Some("listThings"),
        requirement: Requirement::PUBLIC,
    }],
};

/// Role lists under AND and OR, for the 403-or-401 rule.
static ROLES: Spec = Spec {
    title: "roles",
    base_path: "",
    schemes: &[HEADER_KEY, HEADER_APP_ID],
    root: Requirement::PUBLIC,
    operations: &[
        Operation {
            method: "GET",
            path: "/writer-and-app",
            operation_id: Some("writerAndApp"),
            requirement: Requirement {
                alternatives: &[Alternative {
                    schemes: &[uses(0, &["writer"]), uses(1, &[])],
                }],
            },
        },
        Operation {
            method: "GET",
            path: "/admin-or-app",
            operation_id: Some("adminOrApp"),
            requirement: Requirement {
                alternatives: &[
                    Alternative {
                        schemes: &[uses(0, &["admin"])],
                    },
                    Alternative {
                        schemes: &[uses(1, &[])],
                    },
                ],
            },
        },
    ],
};

/// Any one of four places, or `{}`: an empty value anywhere must stay anonymous.
static OPTIONAL: Spec = Spec {
    title: "optional",
    base_path: "",
    schemes: &[HEADER_KEY, QUERY_API_KEY, COOKIE_SESSION, HTTP_BEARER],
    root: Requirement::PUBLIC,
    operations: &[Operation {
        method: "GET",
        path: "/optional",
        operation_id: Some("optional"),
        requirement: Requirement {
            alternatives: &[
                Alternative {
                    schemes: &[uses(0, &[])],
                },
                Alternative {
                    schemes: &[uses(1, &[])],
                },
                Alternative {
                    schemes: &[uses(2, &[])],
                },
                Alternative {
                    schemes: &[uses(3, &[])],
                },
                Alternative { schemes: &[] },
            ],
        },
    }],
};

const OPTIONAL_ACCEPTED: &[&[Shown]] = &[&[API_KEY], &[QUERY_KEY], &[SESSION], &[BEARER], &[]];

/// An oauth2 scheme, or `{}`, with no hook registered.
static OPTIONAL_OAUTH: Spec = Spec {
    title: "optional oauth",
    base_path: "",
    schemes: &[Scheme {
        name: "partner_oauth",
        kind: SchemeKind::Hooked { kind: "oauth2" },
    }],
    root: Requirement::PUBLIC,
    operations: &[Operation {
        method: "GET",
        path: "/optional-oauth",
        operation_id: Some("optionalOauth"),
        requirement: Requirement {
            alternatives: &[Alternative { schemes: &[uses(0, &[])] }, Alternative { schemes: &[] }],
        },
    }],
};

/// Answers by the presented secret, for the verdicts `StaticKeys` never gives.
struct Scripted;

impl Verifier for Scripted {
    async fn verify(&self, request: VerifyRequest<'_>) -> Result<Verdict, VerifyError> {
        let deleting = request.operation.operation_id == Some("deletePet");
        Ok(match request.credential.secret() {
            KEY => Verdict::Granted(Principal::new("key")),
            APP => Verdict::Granted(Principal::new("app")),
            "expired-key" => Verdict::Expired,
            "revoked-key" => Verdict::Revoked,
            // A genuine key whose permissions leave out this one operation.
            "limited-key" if deleting => Verdict::Forbidden(Principal::new("limited")),
            "limited-key" => Verdict::Granted(Principal::new("limited")),
            "store-down" => return Err(VerifyError::new("key store unreachable")),
            _ => Verdict::Invalid,
        })
    }
}

/// The app's oauth2 check for `partner_oauth`.
fn partner_hook(parts: &Parts, scheme: &Scheme) -> Result<Verdict, VerifyError> {
    let Some(value) = parts.headers.get("authorization") else {
        return Ok(Verdict::Absent);
    };
    let principal = |who: &str| Principal::new(format!("{}:{who}", scheme.name));
    Ok(match value.to_str().unwrap_or_default() {
        "Bearer partner-token" => {
            Verdict::Granted(principal("exporter").with_roles(["pets:export"]))
        }
        "Bearer partner-token-noscope" => Verdict::Granted(principal("reader")),
        "Bearer store-down" => return Err(VerifyError::new("introspection unreachable")),
        _ => Verdict::Invalid,
    })
}

// ---------------------------------------------------------------------------------
// §1 Which requirement applies

#[tokio::test]
async fn s1_operation_security_overrides_root() {
    let app = petstore_app().await;
    // whoAmI names bearer OR basic: the root's api_key no longer opens it.
    check(&app, "GET", "/v1/me", &[(X_API_KEY, KEY)], unauthorized(&[&[BEARER], &[BASIC]])).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, BEARER_TOKEN)], granted("whoAmI Bearer bearer#1")).await;
}

#[tokio::test]
async fn s1_empty_list_overriding_root_makes_operation_public() {
    let app = petstore_app().await;
    check(&app, "GET", "/v1/health", &[], granted("health Public")).await;
    check(&app, "GET", "/v1/health", &[(X_API_KEY, UNKNOWN_KEY)], granted("health Public")).await;
}

#[tokio::test]
async fn s1_operation_without_security_inherits_root() {
    let app = petstore_app().await;
    check(&app, "GET", "/v1/stats", &[], unauthorized(&[&[API_KEY]])).await;
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, KEY)], granted("getStats ApiKey api_key#1")).await;
}

#[tokio::test]
async fn s1_anonymous_alternative_admits_requests_without_credentials() {
    let app = petstore_app().await;
    check(&app, "GET", "/v1/pets", &[], granted("listPets Anonymous")).await;
    check(&app, "GET", "/v1/pets", &[(X_API_KEY, KEY)], granted("listPets ApiKey api_key#1")).await;
}

#[tokio::test]
async fn s1_roles_of_a_non_oauth_scheme_are_enforced() {
    let app = petstore_app().await;
    check(&app, "POST", "/v1/pets", &[(X_API_KEY, WRITER_KEY)], granted("createPet ApiKey api_key#2")).await;
    check(&app, "POST", "/v1/pets", &[(X_API_KEY, KEY)], forbidden(&[&[API_KEY]])).await;
}

#[tokio::test]
async fn s1_no_requirement_at_all_is_public() {
    let app = hand_written(&NO_REQUIREMENT).await;
    check(&app, "GET", "/things", &[], granted("listThings anonymous")).await;
    check(&app, "GET", "/things", &[(X_API_KEY, UNKNOWN_KEY)], granted("listThings anonymous")).await;
    check(&app, "DELETE", "/elsewhere", &[], problem(404, Detail::Exact(DETAIL_UNDOCUMENTED))).await;
}

// ---------------------------------------------------------------------------------
// §2 Finding the operation

#[tokio::test]
async fn s2_base_path_is_removed_before_matching() {
    let app = petstore_app().await;
    // Only `/pets` (listPets) admits anonymous calls; the root would not.
    check(&app, "GET", "/v1/pets", &[], granted("listPets Anonymous")).await;
    check(&app, "GET", "/v1/pets/7?api_key=q+key%2B4444", &[], granted("showPetById QueryKey query_key#1")).await;
}

#[tokio::test]
async fn s2_request_without_the_base_path_that_matches_as_it_stands_is_that_operation() {
    let app = spawn(petstore_routes("").layer(petstore::layer(petstore_keys()))).await;
    check(&app, "GET", "/pets", &[], granted("listPets Anonymous")).await;
    check(&app, "GET", "/stats", &[], unauthorized(&[&[API_KEY]])).await;
    check(&app, "DELETE", "/pets/1", &[(X_API_KEY, KEY)], unauthorized(&[&[API_KEY, APP_ID]])).await;
    check(&app, "DELETE", "/pets/1", &[(X_API_KEY, KEY), (X_APP_ID, APP)], granted("deletePet ApiKeyAndAppId api_key#1 app_id#1")).await;
    // The base path ends at a segment boundary; `/v10/pets` is no documented path.
    check(&app, "GET", "/v10/pets", &[], problem(404, Detail::Exact(DETAIL_UNDOCUMENTED))).await;
}

#[tokio::test]
async fn s2_base_path_is_removed_from_the_original_uri_under_router_nest() {
    // The layer sits inside `nest("/v1", ..)`, which cuts `/v1` off the request URI.
    let inner = petstore_routes("").layer(petstore::layer(petstore_keys()));
    let app = spawn(Router::new().nest("/v1", inner)).await;
    check(&app, "GET", "/v1/pets", &[], granted("listPets Anonymous")).await;
    check(&app, "GET", "/v1/stats", &[], unauthorized(&[&[API_KEY]])).await;
}

#[tokio::test]
async fn s2_nesting_never_changes_the_operation() {
    let shapes = [
        // The guard told there is no base path, nested under the document's own.
        Router::new().nest("/v1", petstore_routes("").layer(petstore::layer(petstore_keys()).base_path(""))),
        // Nested under a prefix the document does not know.
        Router::new().nest("/api/v1", petstore_routes("").layer(petstore::layer(petstore_keys()))),
        Router::new().nest("/api", petstore_routes("/v1").layer(petstore::layer(petstore_keys()))),
        // The layer outside the nest, told the prefix.
        Router::new().nest("/api", petstore_routes("")).layer(petstore::layer(petstore_keys()).base_path("api")),
    ];
    let prefixes = ["/v1", "/api/v1", "/api/v1", "/api"];
    for (router, prefix) in shapes.into_iter().zip(prefixes) {
        let app = spawn(router).await;
        let at = |path: &str| format!("{prefix}{path}");
        check(&app, "GET", &at("/pets"), &[], granted("listPets Anonymous")).await;
        check(&app, "GET", &at("/stats"), &[], unauthorized(&[&[API_KEY]])).await;
        check(&app, "PUT", &at("/pets/1/photo"), &[(X_API_KEY, KEY)], unauthorized(&[&[API_KEY, APP_ID], &[API_KEY, SESSION]])).await;
        check(&app, "PUT", &at("/pets//photo"), &[(X_API_KEY, KEY)], unauthorized(&[&[API_KEY, APP_ID], &[API_KEY, SESSION]])).await;
        check(&app, "DELETE", &at("/pets/1"), &[(X_API_KEY, KEY), (X_APP_ID, APP)], granted("deletePet ApiKeyAndAppId api_key#1 app_id#1")).await;
    }
}

#[tokio::test]
async fn s2_head_falls_back_to_get_requirement() {
    let app = petstore_app().await;
    check(&app, "HEAD", "/v1/pets/1?api_key=q+key%2B4444", &[], granted("showPetById QueryKey query_key#1")).await;
    check(&app, "HEAD", "/v1/pets/1", &[], unauthorized(&[&[QUERY_KEY], &[SESSION]])).await;
    // listPets admits anonymous HEAD; the root requirement would not.
    check(&app, "HEAD", "/v1/pets", &[], granted("listPets Anonymous")).await;
}

#[tokio::test]
async fn s2_undocumented_routes_are_refused_by_default() {
    let app = petstore_app().await;
    let not_found = || problem(404, Detail::Exact(DETAIL_UNDOCUMENTED));
    check(&app, "GET", "/v1/nowhere", &[(X_API_KEY, KEY)], not_found()).await;
    check(&app, "GET", "/v1/health/", &[], not_found()).await;
    check(&app, "GET", "/v10/pets", &[(X_API_KEY, KEY)], not_found()).await;
    check(&app, "GET", "/v1/pets", &[], granted("listPets Anonymous")).await;
    check(&app, "GET", "/v1/stats", &[], unauthorized(&[&[API_KEY]])).await;
}

#[tokio::test]
async fn s2_documented_path_with_undocumented_method_is_405_with_allow() {
    let app = petstore_app().await;
    let not_allowed = || problem(405, Detail::Exact(DETAIL_METHOD_UNDOCUMENTED));
    let reply = check(&app, "PATCH", "/v1/pets", &[(X_API_KEY, WRITER_KEY)], not_allowed()).await;
    assert_eq!(reply.headers.get("allow").map(|v| v.to_str().unwrap()), Some("GET, HEAD, POST"));
    let reply = check(&app, "POST", "/v1/pets/7", &[], not_allowed()).await;
    assert_eq!(reply.headers.get("allow").map(|v| v.to_str().unwrap()), Some("DELETE, GET, HEAD"));
}

#[tokio::test]
async fn s2_opt_in_undocumented_routes_get_the_root_requirement() {
    let app = petstore_with(petstore::layer(petstore_keys()).undocumented(Undocumented::RootRequirement)).await;
    check(&app, "GET", "/v1/nowhere", &[], unauthorized(&[&[API_KEY]])).await;
    check(&app, "GET", "/v1/nowhere", &[(X_API_KEY, KEY)], granted("undocumented alternative0 api_key#1")).await;
    check(&app, "GET", "/v1/health/", &[], unauthorized(&[&[API_KEY]])).await;
}

#[tokio::test]
async fn s2_opt_in_undocumented_routes_let_through() {
    let app = petstore_with(petstore::layer(petstore_keys()).undocumented(Undocumented::Allow)).await;
    check(&app, "GET", "/v1/nowhere", &[], granted("undocumented anonymous")).await;
    check(&app, "GET", "/elsewhere", &[], granted("undocumented anonymous")).await;
}

/// Under either opt-in, an undocumented method on a documented path must also meet
/// every operation documented on that path: an `any()` route or a method fallback may
/// run any of their handlers.
#[tokio::test]
async fn s2_opt_in_undocumented_method_meets_every_operation_on_the_path() {
    for (undocumented, decision) in [
        (Undocumented::RootRequirement, "undocumented alternative0 api_key#2"),
        (Undocumented::Allow, "undocumented anonymous"),
    ] {
        let app = petstore_with(petstore::layer(petstore_keys()).undocumented(undocumented)).await;
        // GET /pets admits anonymous calls, POST /pets needs the writer role.
        check(&app, "PATCH", "/v1/pets", &[], unauthorized(&[&[API_KEY]])).await;
        check(&app, "PATCH", "/v1/pets", &[(X_API_KEY, KEY)], forbidden(&[&[API_KEY]])).await;
        check(&app, "PATCH", "/v1/pets", &[(X_API_KEY, WRITER_KEY)], granted(decision)).await;
    }
}

#[tokio::test]
async fn s2_base_path_override_serves_documented_paths_at_root() {
    let app = spawn(petstore_routes("").layer(petstore::layer(petstore_keys()).base_path(""))).await;
    check(&app, "GET", "/pets", &[], granted("listPets Anonymous")).await;
    check(&app, "GET", "/me", &[(X_API_KEY, KEY)], unauthorized(&[&[BEARER], &[BASIC]])).await;
    check(&app, "GET", "/v1/pets", &[], problem(404, Detail::Exact(DETAIL_UNDOCUMENTED))).await;
}

// ---------------------------------------------------------------------------------
// §3 Reading a credential

#[tokio::test]
async fn s3_header_name_is_case_insensitive_and_value_trimmed() {
    let app = petstore_app().await;
    let stats = || granted("getStats ApiKey api_key#1");
    check(&app, "GET", "/v1/stats", &[("x-api-key", KEY)], stats()).await;
    check(&app, "GET", "/v1/stats", &[("X-API-KEY", KEY)], stats()).await;
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, &format!("  {KEY} \t "))], stats()).await;
}

#[tokio::test]
async fn s3_query_is_percent_decoded_with_plus_as_space_and_name_exact() {
    let app = petstore_app().await;
    let shown = || granted("showPetById QueryKey query_key#1");
    let refused = || unauthorized(&[&[QUERY_KEY], &[SESSION]]);
    check(&app, "GET", "/v1/pets/1?api_key=q+key%2B4444", &[], shown()).await;
    check(&app, "GET", "/v1/pets/1?api_key=q%20key%2B4444", &[], shown()).await;
    check(&app, "GET", "/v1/pets/1?a=1&api_key=q+key%2B4444&b=", &[], shown()).await;
    // `+` is a space, so an undecoded `+` is not the key's `+`.
    check(&app, "GET", "/v1/pets/1?api_key=q+key+4444", &[], refused()).await;
    check(&app, "GET", "/v1/pets/1?API_KEY=q+key%2B4444", &[], refused()).await;
    check(&app, "GET", "/v1/pets/1?api_keys=q+key%2B4444", &[], refused()).await;
}

#[tokio::test]
async fn s3_cookie_is_read_from_every_cookie_line_by_exact_name() {
    let app = petstore_app().await;
    let session = || granted("showPetById Session session#1");
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, "theme=dark"), (COOKIE, SESSION_COOKIE)], session()).await;
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, SESSION_COOKIE), (COOKIE, "theme=dark")], session()).await;
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, "theme=dark; session=sess-5555; lang=en")], session()).await;
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, "SESSION=sess-5555")], unauthorized(&[&[QUERY_KEY], &[SESSION]])).await;
}

#[tokio::test]
async fn s3_cookie_line_with_a_non_ascii_byte_is_still_read() {
    // Browsers send raw UTF-8 in cookie values. A line that is not ASCII must not
    // hide the cookies it carries: the credential is presented, once or more.
    let app = petstore_app().await;
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, "theme=caf\u{e9}; session=sess-5555")], granted("showPetById Session session#1")).await;
    // Two `session` values, one of them in a non-ASCII line: never pick the other.
    let show = unauthorized(&[&[QUERY_KEY], &[SESSION]]).detail(Detail::Any);
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, SESSION_COOKIE), (COOKIE, "session=sess-5555\u{e9}")], show).await;
    // A presented, unreadable session is a failed credential, so `{}` refuses (§4.2),
    // as it does for the same bytes in a header.
    let optional = hand_written(&OPTIONAL).await;
    check(&optional, "GET", "/optional", &[(X_API_KEY, MALFORMED_KEY)], unauthorized(OPTIONAL_ACCEPTED)).await;
    check(&optional, "GET", "/optional", &[(COOKIE, "session=sess-5555\u{e9}")], unauthorized(OPTIONAL_ACCEPTED)).await;
}

#[tokio::test]
async fn s3_bearer_scheme_word_is_case_insensitive() {
    let app = petstore_app().await;
    let bearer = || granted("whoAmI Bearer bearer#1");
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "bEaReR tok-6666")], bearer()).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "BEARER tok-6666")], bearer()).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "Token tok-6666")], unauthorized(&[&[BEARER], &[BASIC]])).await;
}

#[tokio::test]
async fn s3_basic_credential_is_the_id_secret_pair() {
    let app = petstore_app().await;
    let refused = || unauthorized(&[&[BEARER], &[BASIC]]);
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, BASIC_PAIR)], granted("whoAmI Basic alice")).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, &format!("basic {BASIC_ALICE}"))], granted("whoAmI Basic alice")).await;
    // alice with a wrong secret; bob (base64 `bob:s3cret-7777`) with alice's secret.
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, &format!("Basic {BASIC_ALICE_WRONG}"))], refused()).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "Basic Ym9iOnMzY3JldC03Nzc3")], refused()).await;
}

#[tokio::test]
async fn s3_empty_value_counts_as_absent() {
    let app = hand_written(&OPTIONAL).await;
    let anonymous = || granted("optional anonymous");
    // With `{}`, a presented-and-failed credential would be 401; an empty one is absent.
    check(&app, "GET", "/optional", &[(X_API_KEY, "")], anonymous()).await;
    check(&app, "GET", "/optional", &[(X_API_KEY, "   ")], anonymous()).await;
    check(&app, "GET", "/optional?api_key=", &[], anonymous()).await;
    check(&app, "GET", "/optional", &[(COOKIE, "session=")], anonymous()).await;
    check(&app, "GET", "/optional", &[(AUTHORIZATION, "Bearer ")], anonymous()).await;
    // Controls: the same places with a bad value are refused.
    check(&app, "GET", "/optional", &[(X_API_KEY, UNKNOWN_KEY)], unauthorized(OPTIONAL_ACCEPTED)).await;
    check(&app, "GET", "/optional?api_key=unknown-8888", &[], unauthorized(OPTIONAL_ACCEPTED)).await;
    check(&app, "GET", "/optional", &[(COOKIE, "session=unknown-8888")], unauthorized(OPTIONAL_ACCEPTED)).await;
    check(&app, "GET", "/optional", &[(AUTHORIZATION, "Bearer unknown-8888")], unauthorized(OPTIONAL_ACCEPTED)).await;
}

#[tokio::test]
async fn s4_anonymous_alternative_does_not_ignore_a_token_for_a_hookless_scheme() {
    let app = hand_written(&OPTIONAL_OAUTH).await;
    let refused = || unauthorized(&[&[PARTNER_OAUTH], &[]]);
    check(&app, "GET", "/optional-oauth", &[], granted("optionalOauth anonymous")).await;
    // Without its hook the scheme cannot verify, and a token sent for it is not ignored.
    check(&app, "GET", "/optional-oauth", &[(AUTHORIZATION, "Bearer some-token")], refused()).await;
}

#[tokio::test]
async fn s3_two_values_for_one_scheme_are_ambiguous_401() {
    let app = petstore_app().await;
    // Each value verifies alone; twice, the scheme fails instead of picking one. §3
    // fixes no detail text for this.
    let stats = || unauthorized(&[&[API_KEY]]).detail(Detail::Contains("more than once"));
    let show = || unauthorized(&[&[QUERY_KEY], &[SESSION]]).detail(Detail::Any);
    let me = || unauthorized(&[&[BEARER], &[BASIC]]).detail(Detail::Any);
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, KEY), (X_API_KEY, KEY)], stats()).await;
    check(&app, "GET", "/v1/pets/1?api_key=q+key%2B4444&api_key=q+key%2B4444", &[], show()).await;
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, SESSION_COOKIE), (COOKIE, SESSION_COOKIE)], show()).await;
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, "session=sess-5555; session=sess-5555")], show()).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, BEARER_TOKEN), (AUTHORIZATION, BEARER_TOKEN)], me()).await;
    // Two Authorization lines of different schemes: neither scheme picks its line.
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, BEARER_TOKEN), (AUTHORIZATION, BASIC_PAIR)], me()).await;
    // An ambiguous key is presented, so `{}` does not admit it anonymously.
    let list = unauthorized(&[&[API_KEY], &[]]).detail(Detail::Any);
    check(&app, "GET", "/v1/pets", &[(X_API_KEY, KEY), (X_API_KEY, KEY)], list).await;
}

#[tokio::test]
async fn s3_schemes_reading_the_same_header_each_verify_it() {
    let app = edge_app().await;
    check(&app, "GET", "/api/list-pets", &[(AUTHORIZATION, EDGE_TYPE_KEY)], granted("list_pets Type type#1")).await;
    check(&app, "GET", "/api/list-pets", &[(AUTHORIZATION, EDGE_BEARER_AUTH_2_KEY)], granted("list_pets BearerAuth2 bearerAuth#1")).await;
    let three = &[&[EDGE_BEARER_AUTH][..], &[EDGE_BEARER_AUTH_2], &[EDGE_TYPE]];
    check(&app, "GET", "/api/list-pets", &[(AUTHORIZATION, UNKNOWN_KEY)], unauthorized(three)).await;
    // `2fa` (Basic) AND `type` (an apiKey named Authorization) read the one header.
    check(&app, "POST", "/api/list-pets", &[(AUTHORIZATION, BASIC_PAIR)], granted("listPets alternative0 alice type#2")).await;
    check(&app, "POST", "/api/list-pets", &[(AUTHORIZATION, EDGE_TYPE_KEY)], unauthorized(&[&[EDGE_2FA, EDGE_TYPE]])).await;
}

#[tokio::test]
async fn s3_credential_for_a_scheme_outside_the_requirement_is_ignored() {
    let app = petstore_app().await;
    let bad_bearer = (AUTHORIZATION, "Bearer unknown-8888");
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, KEY), bad_bearer], granted("getStats ApiKey api_key#1")).await;
    // Bad credentials of other schemes do not make listPets' `{}` refuse.
    check(&app, "GET", "/v1/pets", &[(COOKIE, "session=unknown-8888"), (X_APP_ID, UNKNOWN_KEY)], granted("listPets Anonymous")).await;
    check(&app, "GET", "/v1/pets?api_key=unknown-8888", &[bad_bearer], granted("listPets Anonymous")).await;
}

// ---------------------------------------------------------------------------------
// §4 Deciding

#[tokio::test]
async fn s4_and_needs_every_scheme_of_the_alternative() {
    let app = petstore_app().await;
    let refused = || unauthorized(&[&[API_KEY, APP_ID]]);
    check(&app, "DELETE", "/v1/pets/1", &[(X_API_KEY, KEY), (X_APP_ID, APP)], granted("deletePet ApiKeyAndAppId api_key#1 app_id#1")).await;
    check(&app, "DELETE", "/v1/pets/1", &[(X_API_KEY, KEY)], refused()).await;
    check(&app, "DELETE", "/v1/pets/1", &[(X_APP_ID, APP)], refused()).await;
    check(&app, "DELETE", "/v1/pets/1", &[(X_API_KEY, KEY), (X_APP_ID, UNKNOWN_KEY)], refused()).await;
}

#[tokio::test]
async fn s4_or_accepts_any_alternative() {
    let app = petstore_app().await;
    check(&app, "GET", "/v1/pets/1?api_key=q+key%2B4444", &[], granted("showPetById QueryKey query_key#1")).await;
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, SESSION_COOKIE)], granted("showPetById Session session#1")).await;
    // A failed first alternative does not stop the second.
    check(&app, "GET", "/v1/pets/1?api_key=unknown-8888", &[(COOKIE, SESSION_COOKIE)], granted("showPetById Session session#1")).await;
    check(&app, "GET", "/v1/pets/1", &[], unauthorized(&[&[QUERY_KEY], &[SESSION]])).await;
}

#[tokio::test]
async fn s4_or_of_ands_sharing_a_scheme() {
    let app = petstore_app().await;
    let path = "/v1/pets/1/photo";
    let refused = || unauthorized(&[&[API_KEY, APP_ID], &[API_KEY, SESSION]]);
    check(&app, "PUT", path, &[(X_API_KEY, KEY), (X_APP_ID, APP)], granted("uploadPetPhoto ApiKeyAndAppId api_key#1 app_id#1")).await;
    check(&app, "PUT", path, &[(X_API_KEY, KEY), (COOKIE, SESSION_COOKIE)], granted("uploadPetPhoto ApiKeyAndSession api_key#1 session#1")).await;
    check(&app, "PUT", path, &[(X_API_KEY, KEY), (X_APP_ID, UNKNOWN_KEY), (COOKIE, SESSION_COOKIE)], granted("uploadPetPhoto ApiKeyAndSession api_key#1 session#1")).await;
    check(&app, "PUT", path, &[(X_API_KEY, KEY)], refused()).await;
    check(&app, "PUT", path, &[(X_APP_ID, APP), (COOKIE, SESSION_COOKIE)], refused()).await;
    check(&app, "PUT", path, &[(X_API_KEY, UNKNOWN_KEY), (X_APP_ID, APP), (COOKIE, SESSION_COOKIE)], refused()).await;
}

#[tokio::test]
async fn s4_anonymous_alternative_unless_a_credential_failed() {
    let app = petstore_app().await;
    check(&app, "GET", "/v1/pets", &[], granted("listPets Anonymous")).await;
    check(&app, "GET", "/v1/pets", &[(X_API_KEY, WRITER_KEY)], granted("listPets ApiKey api_key#2")).await;
    // A bad key is reported, not quietly ignored.
    check(&app, "GET", "/v1/pets", &[(X_API_KEY, UNKNOWN_KEY)], unauthorized(&[&[API_KEY], &[]])).await;
}

#[tokio::test]
async fn s4_403_only_when_an_alternative_verified_but_lacked_a_role_or_permission() {
    let app = petstore_app().await;
    check(&app, "POST", "/v1/pets", &[(X_API_KEY, KEY)], forbidden(&[&[API_KEY]])).await;
    check(&app, "POST", "/v1/pets", &[(X_API_KEY, UNKNOWN_KEY)], unauthorized(&[&[API_KEY]])).await;
    check(&app, "POST", "/v1/pets", &[], unauthorized(&[&[API_KEY]])).await;

    let roles = hand_written(&ROLES).await;
    let both = &[&[API_KEY, APP_ID][..]];
    check(&roles, "GET", "/writer-and-app", &[(X_API_KEY, KEY), (X_APP_ID, APP)], forbidden(both)).await;
    // The role is missing, but so is app_id: not every credential verified.
    check(&roles, "GET", "/writer-and-app", &[(X_API_KEY, KEY)], unauthorized(both)).await;
    check(&roles, "GET", "/writer-and-app", &[(X_API_KEY, WRITER_KEY), (X_APP_ID, APP)], granted("writerAndApp alternative0 api_key#2 app_id#1")).await;
    let either = &[&[API_KEY][..], &[APP_ID]];
    check(&roles, "GET", "/admin-or-app", &[(X_API_KEY, KEY)], forbidden(either)).await;
    check(&roles, "GET", "/admin-or-app", &[(X_API_KEY, KEY), (X_APP_ID, UNKNOWN_KEY)], forbidden(either)).await;
    check(&roles, "GET", "/admin-or-app", &[(X_API_KEY, KEY), (X_APP_ID, APP)], granted("adminOrApp alternative1 app_id#1")).await;

    // A verifier's per-operation permission refusal is a 403 too.
    let scripted = petstore_with(petstore::layer(Scripted)).await;
    check(&scripted, "DELETE", "/v1/pets/1", &[(X_API_KEY, "limited-key"), (X_APP_ID, APP)], forbidden(&[&[API_KEY, APP_ID]])).await;
    check(&scripted, "GET", "/v1/stats", &[(X_API_KEY, "limited-key")], granted("getStats ApiKey limited")).await;
}

#[tokio::test]
async fn s4_first_alternative_in_document_order_wins() {
    let app = petstore_app().await;
    check(&app, "GET", "/v1/pets/1?api_key=q+key%2B4444", &[(COOKIE, SESSION_COOKIE)], granted("showPetById QueryKey query_key#1")).await;
    check(&app, "PUT", "/v1/pets/1/photo", &[(X_API_KEY, KEY), (X_APP_ID, APP), (COOKIE, SESSION_COOKIE)], granted("uploadPetPhoto ApiKeyAndAppId api_key#1 app_id#1")).await;
    let edge = edge_app().await;
    check(&edge, "GET", "/api/self?auth-token=edge-user-1212", &[("auth-token", EDGE_USER_KEY)], granted("self alternative0 userApiKey (query parameter)#1")).await;
}

#[tokio::test]
async fn s4_scheme_needing_a_hook_never_passes_without_one() {
    let app = petstore_app().await;
    let refused = || unauthorized(&[&[PARTNER_OAUTH]]);
    check(&app, "POST", "/v1/export", &[], refused()).await;
    check(&app, "POST", "/v1/export", &[(AUTHORIZATION, "Bearer partner-token")], refused()).await;
    check(&app, "POST", "/v1/export", &[(AUTHORIZATION, BEARER_TOKEN)], refused()).await;
}

#[tokio::test]
async fn s4_hook_verifies_its_scheme_and_its_roles_are_enforced() {
    let layer = petstore::layer(petstore_keys()).hook(petstore::scheme::PARTNER_OAUTH, hook_fn(partner_hook));
    let app = petstore_with(layer).await;
    let export = |token| [(AUTHORIZATION, token)];
    check(&app, "POST", "/v1/export", &export("Bearer partner-token"), granted("exportPets PartnerOauth partner_oauth:exporter")).await;
    check(&app, "POST", "/v1/export", &export("Bearer partner-token-noscope"), forbidden(&[&[PARTNER_OAUTH]])).await;
    check(&app, "POST", "/v1/export", &[], unauthorized(&[&[PARTNER_OAUTH]])).await;
    check(&app, "POST", "/v1/export", &export("Bearer unknown-8888"), unauthorized(&[&[PARTNER_OAUTH]])).await;
    check(&app, "POST", "/v1/export", &export("Bearer store-down"), problem(503, Detail::Exact(DETAIL_UNAVAILABLE))).await;
}

#[tokio::test]
async fn s4_failing_verifier_gives_503_never_a_pass() {
    let app = petstore_with(petstore::layer(Scripted)).await;
    let unavailable = || problem(503, Detail::Exact(DETAIL_UNAVAILABLE));
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, "store-down")], unavailable()).await;
    // `{}` does not turn an undecided key into an anonymous call.
    check(&app, "GET", "/v1/pets", &[(X_API_KEY, "store-down")], unavailable()).await;
    check(&app, "DELETE", "/v1/pets/1", &[(X_API_KEY, "store-down"), (X_APP_ID, APP)], unavailable()).await;
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, KEY)], granted("getStats ApiKey key")).await;
}

// ---------------------------------------------------------------------------------
// §5 The refusal

#[tokio::test]
async fn s5_unauthorized_body_and_challenges_are_exact() {
    let app = petstore_app().await;
    let reply = check(&app, "GET", "/v1/stats", &[], unauthorized(&[&[API_KEY]])).await;
    assert_eq!(reply.www_authenticate, [r#"APIKey realm="api", in="header", name="X-API-Key""#]);
    assert_eq!(
        reply.body,
        r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"A valid credential is required for this operation.","accepted":[[{"scheme":"api_key","in":"header","name":"X-API-Key"}]]}"#
    );
    let reply = check(&app, "PUT", "/v1/pets/1/photo", &[], unauthorized(&[&[API_KEY, APP_ID], &[API_KEY, SESSION]])).await;
    assert_eq!(
        reply.www_authenticate,
        [
            r#"APIKey realm="api", in="header", name="X-API-Key""#,
            r#"APIKey realm="api", in="header", name="X-App-Id""#,
            r#"APIKey realm="api", in="cookie", name="session""#,
        ]
    );
    let reply = check(&app, "GET", "/v1/me", &[], unauthorized(&[&[BEARER], &[BASIC]])).await;
    assert_eq!(reply.www_authenticate, [r#"Bearer realm="api""#, r#"Basic realm="api""#]);
}

#[tokio::test]
async fn s5_realm_option_appears_in_every_challenge() {
    let app = petstore_with(petstore::layer(petstore_keys()).realm("petstore")).await;
    let reply = check(&app, "GET", "/v1/me", &[], unauthorized_in("petstore", &[&[BEARER], &[BASIC]])).await;
    assert_eq!(reply.www_authenticate, [r#"Bearer realm="petstore""#, r#"Basic realm="petstore""#]);
    check(&app, "GET", "/v1/pets/1", &[], unauthorized_in("petstore", &[&[QUERY_KEY], &[SESSION]])).await;
}

/// Headers other than `date`, and the body: what must match byte for byte.
fn answer(reply: &Reply) -> (u16, Vec<(String, Vec<u8>)>, String) {
    let headers = reply
        .headers
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    (reply.status, headers, reply.body.clone())
}

#[tokio::test]
async fn s5_unknown_wrong_and_malformed_credentials_get_identical_answers() {
    let app = petstore_app().await;
    let stats = || unauthorized(&[&[API_KEY]]);
    let unknown = check(&app, "GET", "/v1/stats", &[(X_API_KEY, UNKNOWN_KEY)], stats()).await;
    let wrong = check(&app, "GET", "/v1/stats", &[(X_API_KEY, WRONG_KEY)], stats()).await;
    let malformed = check(&app, "GET", "/v1/stats", &[(X_API_KEY, MALFORMED_KEY)], stats()).await;
    assert_eq!(answer(&unknown), answer(&wrong), "unknown vs wrong key");
    assert_eq!(answer(&unknown), answer(&malformed), "unknown vs malformed key");

    let me = || unauthorized(&[&[BEARER], &[BASIC]]);
    let unknown = check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "Bearer unknown-8888")], me()).await;
    let wrong = check(&app, "GET", "/v1/me", &[(AUTHORIZATION, &format!("Basic {BASIC_ALICE_WRONG}"))], me()).await;
    // Not base64, and base64 of `alice` without a colon.
    let not_base64 = check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "Basic !!!")], me()).await;
    let no_colon = check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "Basic YWxpY2U=")], me()).await;
    assert_eq!(answer(&unknown), answer(&wrong), "unknown token vs wrong secret");
    assert_eq!(answer(&unknown), answer(&not_base64), "unknown token vs malformed pair");
    assert_eq!(answer(&unknown), answer(&no_colon), "unknown token vs pair without colon");
}

#[tokio::test]
async fn s5_refusals_never_echo_the_presented_credential() {
    // `check` scans every body and header for every secret; these put each wrong
    // secret in each place a credential can travel.
    let app = petstore_app().await;
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, WRONG_KEY)], unauthorized(&[&[API_KEY]])).await;
    check(&app, "GET", "/v1/pets/1?api_key=pk-plain-1112", &[(COOKIE, "session=unknown-8888")], unauthorized(&[&[QUERY_KEY], &[SESSION]])).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "Bearer pk-plain-1112")], unauthorized(&[&[BEARER], &[BASIC]])).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, &format!("Basic {BASIC_ALICE_WRONG}"))], unauthorized(&[&[BEARER], &[BASIC]])).await;
    check(&app, "POST", "/v1/pets", &[(X_API_KEY, KEY)], forbidden(&[&[API_KEY]])).await;
}

#[tokio::test]
async fn s5_odd_credentials_never_cause_a_5xx() {
    let app = petstore_app().await;
    let me = || unauthorized(&[&[BEARER], &[BASIC]]);
    let show = || unauthorized(&[&[QUERY_KEY], &[SESSION]]);
    // base64 of the bytes FF FE (not UTF-8); a non-ASCII token; a bare scheme word.
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "Basic //4=")], me()).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "Bearer tok-666\u{e9}")], me()).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, "Basic")], me()).await;
    check(&app, "GET", "/v1/pets/1?api_key=%FF%FE", &[], show()).await;
    check(&app, "GET", "/v1/pets/1?api_key=%", &[], show()).await;
    check(&app, "GET", "/v1/pets/1", &[(COOKIE, "session; =; ;;")], show()).await;
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, &"k".repeat(8000))], unauthorized(&[&[API_KEY]])).await;
}

#[tokio::test]
async fn s5_expired_and_revoked_keys_may_be_named() {
    let app = petstore_with(petstore::layer(Scripted)).await;
    let stats = || unauthorized(&[&[API_KEY]]);
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, "expired-key")], stats().detail(Detail::Contains("expired"))).await;
    check(&app, "GET", "/v1/stats", &[(X_API_KEY, "revoked-key")], stats().detail(Detail::Contains("revoked"))).await;
}

// ---------------------------------------------------------------------------------
// Per-operation extractors without the layer

#[tokio::test]
async fn extractors_with_a_guard_extension_decide_like_the_layer() {
    let app = spawn(petstore_routes("/v1").layer(Extension(petstore::guard(petstore_keys())))).await;
    check(&app, "DELETE", "/v1/pets/1", &[(X_API_KEY, KEY), (X_APP_ID, APP)], granted("deletePet ApiKeyAndAppId api_key#1 app_id#1")).await;
    check(&app, "DELETE", "/v1/pets/1", &[(X_API_KEY, KEY)], unauthorized(&[&[API_KEY, APP_ID]])).await;
    check(&app, "POST", "/v1/pets", &[(X_API_KEY, KEY)], forbidden(&[&[API_KEY]])).await;
    check(&app, "GET", "/v1/pets", &[], granted("listPets Anonymous")).await;
    check(&app, "GET", "/v1/pets", &[(X_API_KEY, UNKNOWN_KEY)], unauthorized(&[&[API_KEY], &[]])).await;
    check(&app, "GET", "/v1/me", &[(AUTHORIZATION, BASIC_PAIR)], granted("whoAmI Basic alice")).await;
    check(&app, "GET", "/v1/pets/1", &[], unauthorized(&[&[QUERY_KEY], &[SESSION]])).await;
    // `Authenticated` on an undocumented route asks the same guard: refused.
    check(&app, "GET", "/v1/nowhere", &[], problem(404, Detail::Exact(DETAIL_UNDOCUMENTED))).await;
}

#[tokio::test]
async fn extractor_without_layer_or_guard_is_a_500_never_a_pass() {
    let app = spawn(petstore_routes("/v1")).await;
    let misconfigured = || problem(500, Detail::Exact(DETAIL_SERVER_ERROR));
    check(&app, "DELETE", "/v1/pets/1", &[(X_API_KEY, KEY), (X_APP_ID, APP)], misconfigured()).await;
    check(&app, "GET", "/v1/pets", &[], misconfigured()).await;
    check(&app, "GET", "/v1/health", &[], misconfigured()).await;
    check(&app, "GET", "/v1/nowhere", &[(X_API_KEY, KEY)], misconfigured()).await;
}

/// A verifier or hook naming a scheme the document lacks would refuse every request: the
/// layer is not built, and the message says what was most likely meant.
#[test]
fn a_scheme_name_the_document_lacks_stops_the_layer_at_startup() {
    let message = |build: fn()| {
        let panic = std::panic::catch_unwind(build).expect_err("the layer was built");
        panic.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    let header = message(|| drop(petstore::layer(keygate::StaticKeys::new().key("X-API-Key", "k"))));
    assert!(header.contains("`X-API-Key` is where scheme `api_key` reads its key"), "{header}");
    let typo = message(|| drop(petstore::layer(keygate::StaticKeys::new().key("apikey", "k"))));
    assert!(typo.contains("did you mean `api_key`?"), "{typo}");
    let routed = message(|| {
        let keys = keygate::ForScheme::new("app-id", keygate::StaticKeys::new(), keygate::StaticKeys::new());
        drop(petstore::layer(keys));
    });
    assert!(routed.contains("did you mean `app_id`?"), "{routed}");
    let hook = message(|| drop(petstore::layer(keygate::StaticKeys::new()).hook("partner-oauth", hook_fn(|_, _| Ok(Verdict::Absent)))));
    assert!(hook.contains("did you mean `partner_oauth`?"), "{hook}");
    // Names the document has pass.
    drop(petstore::layer(keygate::StaticKeys::new().key(petstore::scheme::API_KEY, "k")));
}

#[tokio::test]
async fn extractor_with_a_guard_for_another_spec_is_a_500() {
    let app = spawn(petstore_routes("/v1").layer(Extension(edge_names::guard(edge_keys())))).await;
    check(&app, "GET", "/v1/pets", &[], problem(500, Detail::Exact(DETAIL_SERVER_ERROR))).await;
}

// ---------------------------------------------------------------------------------
// edge_names: Swagger 2.0, `basePath: /api/`, hard scheme names

#[tokio::test]
async fn edge_names_layer_enforces_its_swagger_document() {
    let app = edge_app().await;
    let user = || unauthorized(&[&[EDGE_USER_QUERY], &[EDGE_USER_HEADER]]);
    check(&app, "GET", "/api/self?auth-token=edge-user-1212", &[], granted("self alternative0 userApiKey (query parameter)#1")).await;
    check(&app, "GET", "/api/self", &[("auth-token", EDGE_USER_KEY)], granted("self alternative1 userApiKey (request header)#1")).await;
    check(&app, "GET", "/api/self", &[], user()).await;
    check(&app, "GET", "/api/files/report.pdf", &[("Auth-Token", EDGE_USER_KEY)], granted("/files/{name}.{ext} alternative1 userApiKey (request header)#1")).await;
    check(&app, "GET", "/api/files/report.pdf", &[], user()).await;
    check(&app, "GET", "/api/ping", &[], granted("KeygateState anonymous")).await;
    // Without `/api`, a documented path as it stands: that operation.
    check(&app, "GET", "/ping", &[], granted("KeygateState anonymous")).await;
    check(&app, "GET", "/nowhere", &[], problem(404, Detail::Exact(DETAIL_UNDOCUMENTED))).await;
}
