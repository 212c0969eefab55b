//! The guard against an independent reference of how apps route a document
//! (docs/semantics.md §2): for the documents of `specs/` and a sample of the shared
//! corpus, real servers built the ways the README shows (the layer inside or around the
//! router, routes with or without the base path, nested, the undocumented opt-ins,
//! `any()` and catch-all routes) answer raw HTTP/1.1 requests made from every template.
//! Each reference handler names the operation it ran; the request must have met that
//! operation's requirement.
//!
//! Every document runs as written and with a requirement of its own for every operation
//! (`with_distinct_requirements`): real documents give most operations the same
//! requirement, which would hide the guard picking the wrong one. The requests of each
//! shape are a fixed sample of every combination, so the test stays within seconds.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::Router;
use keygate::spec::Spec;
use keygate::{AuthLayer, AuthService, Undocumented};
use keygate_tests::routing_reference::{
    reference_router, spec_from_api, with_distinct_requirements, Policy, Ran, ReferenceKeys,
    RouteShape, Sent, Template, X_OPERATION, X_TIED,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Documents of the shared corpus, chosen for text around parameters (`.diff`,
/// `:cancel`, `.{format}`, `{base}...{head}`), both with and without a root
/// `security`, and the quirks whose operations share a route (after `#`, or templates
/// that differ only in parameter names).
const CORPUS_SAMPLE: &[&str] = &[
    "quirks/amazonaws.com__ec2-instance-connect__2018-04-02.yaml",
    "quirks/amazonaws.com__lambda__2015-03-31.yaml",
    "quirks/amazonaws.com__s3__2006-03-01.yaml",
    "quirks/googleapis.com__cloudbuild__v1.yaml",
    "quirks/hubapi.com__files__v3.yaml",
    "real/gitea.io__main__1.16.0+dev-138-gdb1e3d02a.yaml",
    "real/googleapis.com__bigtableadmin__v2.yaml",
    "real/tomtom.com__maps__1.0.0.yaml",
    "real/github.com__api.github.com__1.1.4.yaml",
    "real/spinitron.com__main__1.0.0.yaml",
    "real/getsandbox.com__main__v1.yaml",
    "real/apis.guru__main__2.0.2.yaml",
    "real/api2pdf.com__main__1.0.0.yaml",
    "real/c19qrserver.local__main__1.1.yaml",
    "real/cenit.io__main__v1.yaml",
    "real/mercure.local__main__0.3.2.yaml",
    "real/wheretocredit.com__main__1.0.yaml",
    "real/adyen.com__HopService__6.yaml",
    "real/fungenerators.com__shakespeare__1.5.yaml",
    "real/rbaskets.in__main__1.0.0.yaml",
    "real/pendo.io__main__1.0.0.yaml",
];

/// At least this many corpus documents must run, not be skipped.
const CORPUS_MINIMUM: usize = 12;
/// Templates per document; large documents are sampled, templates with text around
/// parameters or sharing a route with another template first.
const TEMPLATES_PER_DOCUMENT: usize = 24;
/// Requests per shape, sampled from every combination of path, method and credentials:
/// the document as written goes through a few shapes (its requirements test the
/// decision, which the shape does not change), the variant with distinct requirements
/// through every shape (it shows which operation the guard chose).
const AS_WRITTEN_REQUESTS: usize = 120;
/// See [`AS_WRITTEN_REQUESTS`].
const DISTINCT_REQUESTS: usize = 150;
/// The shapes the document as written goes through.
const AS_WRITTEN_SHAPES: [Shape; 3] = [Shape::Inside, Shape::Around, Shape::InsideRootRequirement];
/// Requests in flight at once.
const IN_FLIGHT: usize = 16;
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// `specs/*.yaml`, then the corpus sample; each with whether it is from the corpus.
fn documents() -> Vec<(PathBuf, bool)> {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let mut own: Vec<PathBuf> = std::fs::read_dir(&specs)
        .unwrap_or_else(|e| panic!("{}: {e}", specs.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    own.sort();
    let corpus = keygate_tests::corpus_dir();
    own.into_iter()
        .map(|path| (path, false))
        .chain(CORPUS_SAMPLE.iter().map(|name| (corpus.join(name), true)))
        .collect()
}

/// How an app is put together around the reference routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `routes.layer(layer)`, routes under the base path.
    Inside,
    /// `layer.around(routes)`, served with `into_make_service()`.
    Around,
    /// Routes at the document's paths, without the base path; the layer unchanged.
    WithoutBasePath,
    /// `Router::new().nest("/v1", routes.layer(layer.base_path("")))`, routes without
    /// the base path.
    NestedV1,
    /// `Router::new().nest("/api", routes.layer(layer))`, routes under the base path.
    NestedApi,
    /// [`Shape::Inside`] under `Undocumented::RootRequirement`.
    InsideRootRequirement,
    /// [`Shape::Inside`] under `Undocumented::Allow`.
    InsideAllow,
    /// One `any()` route per path, under `Undocumented::Allow`.
    AnyAllow,
    /// Trailing parameters as `{*rest}` catch-alls, under `Undocumented::Allow`.
    CatchAllAllow,
    /// The same under the default: a catch-all route can also take paths that another
    /// template names.
    CatchAll,
}

const SHAPES: [Shape; 10] = [
    Shape::Inside,
    Shape::Around,
    Shape::WithoutBasePath,
    Shape::NestedV1,
    Shape::NestedApi,
    Shape::InsideRootRequirement,
    Shape::InsideAllow,
    Shape::AnyAllow,
    Shape::CatchAllAllow,
    Shape::CatchAll,
];

impl Shape {
    fn policy(self) -> Policy {
        match self {
            Shape::InsideRootRequirement => Policy::RootRequirement,
            Shape::InsideAllow | Shape::AnyAllow | Shape::CatchAllAllow => Policy::Allow,
            _ => Policy::Refuse,
        }
    }

    /// Whether the routes carry the base path.
    fn routes_with_base(self) -> bool {
        !matches!(self, Shape::WithoutBasePath | Shape::NestedV1)
    }

    /// What the paths the app serves start with.
    fn request_prefixes(self, base: &str) -> Vec<String> {
        match self {
            Shape::WithoutBasePath => vec![String::new(), base.to_owned()],
            Shape::NestedV1 => vec!["/v1".to_owned()],
            Shape::NestedApi => vec![format!("/api{base}")],
            _ => vec![base.to_owned()],
        }
    }
}

/// The layer with a policy for undocumented routes; `None` where the runtime has none.
fn with_policy(layer: AuthLayer, policy: Policy) -> Option<AuthLayer> {
    Some(match policy {
        Policy::Refuse => layer,
        Policy::RootRequirement => layer.undocumented(Undocumented::RootRequirement),
        Policy::Allow => layer.undocumented(Undocumented::Allow),
    })
}

/// An app ready to serve.
enum App {
    Router(Router),
    Around(AuthService<Router>),
}

/// The app of a shape, or why there is none.
fn app(spec: &'static Spec, keys: &ReferenceKeys, shape: Shape) -> Result<App, String> {
    let route_shape = RouteShape {
        prefix: if shape.routes_with_base() {
            spec.base_path.to_owned()
        } else {
            String::new()
        },
        any_method: shape == Shape::AnyAllow,
        catch_all: matches!(shape, Shape::CatchAllAllow | Shape::CatchAll),
    };
    let routes = reference_router(spec, &route_shape)?;
    let layer = with_policy(AuthLayer::new(spec, keys.verifier()), shape.policy())
        .ok_or("no such policy in this runtime")?;
    let nest = |prefix: &'static str, inner: Router| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Router::new().nest(prefix, inner)
        }))
        .map_err(|_| format!("axum refused to nest the routes at {prefix}"))
    };
    Ok(match shape {
        Shape::Around => App::Around(layer.around(routes)),
        Shape::NestedV1 => App::Router(nest("/v1", routes.layer(layer.base_path("")))?),
        Shape::NestedApi => App::Router(nest("/api", routes.layer(layer))?),
        _ => App::Router(routes.layer(layer)),
    })
}

/// Serves the app on a loopback port until the handle is aborted.
async fn serve(app: App) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let task = match app {
        App::Router(router) => tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        }),
        App::Around(service) => tokio::spawn(async move {
            axum::serve(listener, service.into_make_service())
                .await
                .expect("serve");
        }),
    };
    (address, task)
}

/// One request: its method, exact target, and the credentials it carries.
#[derive(Debug, Clone)]
struct Probe {
    method: &'static str,
    /// The path, without the query.
    path: String,
    sent: Sent,
    /// What the credentials are, for messages.
    carries: String,
}

impl Probe {
    fn target(&self) -> String {
        format!("{}{}", self.path, self.sent.query_string())
    }

    fn bytes(&self) -> Vec<u8> {
        let mut request = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n",
            self.method,
            self.target()
        );
        for line in self.sent.header_lines() {
            request.push_str(&line);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        request.into_bytes()
    }
}

/// What came back: the status and the reference handler's headers.
#[derive(Debug)]
struct Answer {
    status: u16,
    ran: Option<Ran>,
}

/// Writes the request as it is and reads until the server closes the connection.
async fn send(address: SocketAddr, request: Vec<u8>) -> Answer {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(&request).await.expect("write the request");
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes)).await;
    assert!(read.is_ok(), "the server did not close the connection");
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.strip_prefix("HTTP/1.1 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let ran = Ran::from_headers(header(X_OPERATION).as_deref(), header(X_TIED).as_deref());
    Answer { status, ran }
}

/// The credential sets for requests to a route: none; each scheme of the requirements
/// that route's operations and the root may apply, alone; all of them; a wrong key; and
/// the schemes of other operations (nearest first), which pass only where the guard
/// applied another operation's requirement.
fn credential_sets(
    spec: &'static Spec,
    keys: &ReferenceKeys,
    route_operations: &[usize],
) -> Vec<(String, Vec<(usize, bool)>)> {
    let mut interest: Vec<usize> = Vec::new();
    let requirements = route_operations
        .iter()
        .map(|&index| spec.operations[index].requirement)
        .chain([spec.root]);
    for requirement in requirements {
        for scheme in requirement.scheme_indices() {
            if keys.sendable(scheme) && !interest.contains(&scheme) {
                interest.push(scheme);
            }
        }
    }
    interest.truncate(6);
    let name = |scheme: usize| spec.schemes[scheme].name;
    let mut sets = vec![("none".to_owned(), Vec::new())];
    for &scheme in &interest {
        sets.push((format!("valid {}", name(scheme)), vec![(scheme, true)]));
    }
    if interest.len() > 1 {
        let all = interest.iter().map(|&s| (s, true)).collect();
        sets.push(("every scheme valid".to_owned(), all));
    }
    if let Some(&first) = interest.first() {
        sets.push((format!("a wrong {}", name(first)), vec![(first, false)]));
    }
    let near = route_operations.first().copied().unwrap_or(0);
    let mut others: Vec<usize> = (0..spec.schemes.len())
        .filter(|s| keys.sendable(*s) && !interest.contains(s))
        .collect();
    others.sort_by_key(|s| s.abs_diff(near));
    others.truncate(40);
    if !others.is_empty() {
        let label = format!("{} other schemes valid", others.len());
        sets.push((label, others.into_iter().map(|s| (s, true)).collect()));
    }
    sets
}

/// The templates a document's requests are made from, each with the operations on its
/// route (templates that share its route key): the same for both variants.
struct Plan {
    templates: Vec<(Template, Vec<usize>)>,
}

impl Plan {
    /// All templates of a small document; of a large one, those with text around
    /// parameters or sharing a route first, then others spread evenly.
    fn new(spec: &Spec) -> Plan {
        let mut keys: Vec<String> = Vec::new();
        let mut templates: Vec<(&str, Template)> = Vec::new();
        for op in spec.operations {
            let parsed = Template::parse(op.path);
            keys.push(
                parsed
                    .as_ref()
                    .map_or_else(String::new, Template::route_key),
            );
            if let Some(template) = parsed {
                if !templates.iter().any(|(path, _)| *path == op.path) {
                    templates.push((op.path, template));
                }
            }
        }
        let mut per_key: HashMap<String, usize> = HashMap::new();
        for (_, template) in &templates {
            *per_key.entry(template.route_key()).or_default() += 1;
        }
        let templates: Vec<Template> = templates.into_iter().map(|(_, t)| t).collect();
        let chosen = if templates.len() <= TEMPLATES_PER_DOCUMENT {
            templates
        } else {
            let (mut chosen, rest): (Vec<Template>, Vec<Template>) =
                templates.into_iter().partition(|t| {
                    t.has_text_around() || per_key.get(&t.route_key()).is_some_and(|&n| n > 1)
                });
            chosen.truncate(TEMPLATES_PER_DOCUMENT / 2);
            let room = TEMPLATES_PER_DOCUMENT - chosen.len();
            let step = rest.len().div_ceil(room).max(1);
            chosen.extend(rest.into_iter().step_by(step).take(room));
            chosen
        };
        let templates = chosen
            .into_iter()
            .map(|template| {
                let key = template.route_key();
                let on_route = (0..keys.len()).filter(|&i| keys[i] == key).collect();
                (template, on_route)
            })
            .collect();
        Plan { templates }
    }

    /// The requests for one shape, sampled: `count` in all, three quarters with a
    /// method documented on their template's route (only those can reach a handler in
    /// most shapes), the rest with other methods.
    fn probes(
        &self,
        spec: &'static Spec,
        keys: &ReferenceKeys,
        shape: Shape,
        seed: &str,
        count: usize,
    ) -> Vec<Probe> {
        let mut documented_probes = Vec::new();
        let mut other_probes = Vec::new();
        for (template, on_route) in &self.templates {
            let documented = |method: &str| {
                on_route.iter().any(|&index| {
                    let documented = spec.operations[index].method;
                    documented == method || (method == "HEAD" && documented == "GET")
                })
            };
            let sets = credential_sets(spec, keys, on_route);
            for prefix in shape.request_prefixes(spec.base_path) {
                for path in template.request_paths() {
                    for method in METHODS {
                        let into = if documented(method) {
                            &mut documented_probes
                        } else {
                            &mut other_probes
                        };
                        for (carries, credentials) in &sets {
                            into.push(Probe {
                                method,
                                path: format!("{prefix}{path}"),
                                sent: keys.send(credentials),
                                carries: carries.clone(),
                            });
                        }
                    }
                }
            }
        }
        let documented_share = (count * 3 / 4).min(documented_probes.len());
        let mut probes = shuffled(documented_probes, seed, documented_share);
        probes.extend(shuffled(other_probes, seed, count - documented_share));
        probes
    }
}

/// The first `count` after a fixed shuffle (xorshift): a run's sample is the same
/// every time.
fn shuffled(mut probes: Vec<Probe>, seed: &str, count: usize) -> Vec<Probe> {
    let mut state = seed.bytes().fold(0x9e37_79b9_7f4a_7c15_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    for at in (1..probes.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let other = (state % (at as u64 + 1)) as usize;
        probes.swap(at, other);
    }
    probes.truncate(count);
    probes
}

/// Counts over requests.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    requests: usize,
    /// A reference handler ran an operation.
    reached: usize,
    /// ... with some credential sent.
    reached_with_credentials: usize,
    /// 401, 403, 404 or 405.
    refused: usize,
    /// The handler ran and found no documented operation, under the default policy.
    undocumented_through: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.requests += other.requests;
        self.reached += other.reached;
        self.reached_with_credentials += other.reached_with_credentials;
        self.refused += other.refused;
        self.undocumented_through += other.undocumented_through;
    }
}

/// Sends the probes to one app and checks each answer; what broke goes to `failures`.
async fn check_shape(
    label: &str,
    address: SocketAddr,
    keys: ReferenceKeys,
    spec: &'static Spec,
    probes: Vec<Probe>,
    policy: Policy,
    failures: &mut Vec<String>,
) -> Counts {
    let mut counts = Counts::default();
    let mut in_flight = JoinSet::new();
    let mut pending = probes.into_iter();
    loop {
        while in_flight.len() < IN_FLIGHT {
            let Some(probe) = pending.next() else { break };
            in_flight.spawn(async move {
                let answer = send(address, probe.bytes()).await;
                (probe, answer)
            });
        }
        let Some(done) = in_flight.join_next().await else {
            break;
        };
        let (probe, answer) = done.expect("request task");
        counts.requests += 1;
        let request = format!(
            "{label}: {} {} with {}",
            probe.method,
            probe.target(),
            probe.carries
        );
        if answer.status == 0 || answer.status >= 500 {
            failures.push(format!("{request}: answered {}", answer.status));
        }
        if matches!(answer.status, 401 | 403 | 404 | 405) {
            counts.refused += 1;
        }
        match answer.ran {
            Some(Ran::Operation { tied, .. }) => {
                counts.reached += 1;
                if !probe.sent.is_empty() {
                    counts.reached_with_credentials += 1;
                }
                // The handler may serve any of the tied operations (§2.2): each applies.
                for index in tied {
                    if !keys.meets_operation(index, &probe.sent) {
                        let op = &spec.operations[index];
                        failures.push(format!(
                            "{request}: the handler of {} {} (operation {index}) ran, and the \
                             request does not meet its requirement",
                            op.method, op.path
                        ));
                    }
                }
            }
            Some(Ran::Undocumented) if policy == Policy::Refuse => {
                counts.undocumented_through += 1;
            }
            _ => {}
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_handler_runs_for_a_request_that_misses_its_operations_requirement() {
    let started = Instant::now();
    let mut totals = Counts::default();
    let mut failures: Vec<String> = Vec::new();
    let mut corpus_ran = 0;
    for (path, from_corpus) in documents() {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let api = match keygate_codegen::load_file(&path) {
            Ok(api) => api,
            Err(e) => {
                eprintln!("differential: {name}: skipped, it does not load: {e}");
                continue;
            }
        };
        let document_started = Instant::now();
        let as_written = spec_from_api(&api);
        let plan = Plan::new(as_written);
        let variants = [
            (
                "as written",
                as_written,
                &AS_WRITTEN_SHAPES[..],
                AS_WRITTEN_REQUESTS,
            ),
            (
                "distinct",
                with_distinct_requirements(as_written),
                &SHAPES[..],
                DISTINCT_REQUESTS,
            ),
        ];
        let mut counts = Counts::default();
        let mut skipped = None;
        'variants: for (variant, spec, shapes, count) in variants {
            let keys = ReferenceKeys::new(spec);
            for &shape in shapes {
                if shape == Shape::WithoutBasePath && spec.base_path.is_empty() {
                    continue;
                }
                let app = match app(spec, &keys, shape) {
                    Ok(app) => app,
                    Err(reason) if shape == Shape::Inside => {
                        skipped = Some(reason);
                        break 'variants;
                    }
                    Err(reason) => {
                        eprintln!("differential: {name}: {shape:?} skipped: {reason}");
                        continue;
                    }
                };
                let (address, server) = serve(app).await;
                let label = format!("{name} ({variant}, {shape:?})");
                let probes = plan.probes(spec, &keys, shape, &label, count);
                let policy = shape.policy();
                let shape_counts =
                    check_shape(&label, address, keys, spec, probes, policy, &mut failures).await;
                counts.add(shape_counts);
                server.abort();
            }
        }
        if let Some(reason) = skipped {
            eprintln!("differential: {name}: skipped, axum cannot route it: {reason}");
            continue;
        }
        corpus_ran += usize::from(from_corpus);
        eprintln!(
            "differential: {name}: {} requests, {} reached a handler ({} with credentials), \
             {} refused, {} undocumented let through ({} ms)",
            counts.requests,
            counts.reached,
            counts.reached_with_credentials,
            counts.refused,
            counts.undocumented_through,
            document_started.elapsed().as_millis()
        );
        totals.add(counts);
    }
    eprintln!(
        "differential: {} requests, {} reached a handler ({} with credentials), {} refused, \
         in {:.1} s",
        totals.requests,
        totals.reached,
        totals.reached_with_credentials,
        totals.refused,
        started.elapsed().as_secs_f64()
    );
    let shown = failures.len().min(60);
    assert!(
        failures.is_empty(),
        "{} requests broke the invariant or the server; the first {shown}:\n{}",
        failures.len(),
        failures[..shown].join("\n")
    );
    assert!(
        corpus_ran >= CORPUS_MINIMUM,
        "only {corpus_ran} corpus documents ran"
    );
    // The comparison proves something only if handlers ran with and without
    // credentials, and the guard refused some requests.
    assert!(totals.reached_with_credentials >= 1_500, "{totals:?}");
    assert!(
        totals.reached - totals.reached_with_credentials >= 100,
        "{totals:?}"
    );
    assert!(totals.refused >= 10_000, "{totals:?}");
}
