//! The admin HTTP API (`keygate::admin`) end to end: a real server on 127.0.0.1 with the
//! router nested at `/admin` over a store (an SQLite file, a `MemoryStore`, and in
//! `postgres.rs` a `PostgresStore`), guarded
//! by the module generated from `specs/admin.yaml` over that same store. Every endpoint
//! is called with an admin key, a read-only admin key, a key without the role and no key;
//! bad input is named by JSON pointer and changes nothing; a stale `If-Match` is 412 and
//! changes nothing; no secret leaves except in the answers of create and rotate.

use std::sync::Arc;

use axum::Router;
use keygate::keys::{
    secret_part, AuditEntry, AuditQuery, KeyFilter, KeyRecord, KeyStore, MemoryStore, NewKey,
    Permissions, SqliteStore,
};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tracing::Dispatch;

use crate::hygiene::Capture;
use crate::support::{spawn, Reply, Server, TempDir};

/// A key as a client holds it.
#[derive(Debug, Clone)]
struct Key {
    id: String,
    full: String,
}

impl Key {
    fn bearer(&self) -> String {
        format!("Bearer {}", self.full)
    }
}

async fn issue<S: KeyStore>(store: &S, spec: NewKey) -> Key {
    let issued = store.create(spec).await.expect("create");
    Key {
        id: issued.record.id.clone(),
        full: issued.expose_key().to_owned(),
    }
}

/// A server with the admin API over `store`, three keys, and a target key of owner
/// `team`.
struct Lab<S> {
    server: Server,
    store: Arc<S>,
    admin: Key,
    reader: Key,
    plain: Key,
    target: Key,
    /// Every full key issued so far, to look for where it must not be.
    secrets: Vec<String>,
    /// Every answer but those of create and rotate.
    texts: Vec<String>,
}

impl<S: KeyStore> Lab<S> {
    async fn start(store: Arc<S>) -> Lab<S> {
        let admin = issue(
            &*store,
            NewKey::new("admin")
                .roles([keygate::admin::ADMIN_ROLE])
                .permissions(Permissions::full()),
        )
        .await;
        let reader = issue(
            &*store,
            NewKey::new("auditor")
                .roles([keygate::admin::ADMIN_ROLE])
                .permissions(Permissions::read_only()),
        )
        .await;
        let plain = issue(&*store, NewKey::new("app").permissions(Permissions::full())).await;
        let target = issue(&*store, NewKey::new("svc").owner("team")).await;
        let app = Router::new().nest(
            "/admin",
            keygate::admin::router(Arc::clone(&store), &keygate_tests::petstore::SPEC),
        );
        let server = spawn(app).await;
        let secrets = [&admin, &reader, &plain, &target]
            .iter()
            .map(|k| k.full.clone())
            .collect();
        Lab {
            server,
            store,
            admin,
            reader,
            plain,
            target,
            secrets,
            texts: Vec::new(),
        }
    }

    /// Sends a request as `key` (none: no `Authorization`), with `X-Request-Id`.
    async fn call(
        &mut self,
        key: Option<&Key>,
        method: &str,
        path: &str,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let auth = key.map(Key::bearer);
        let mut headers: Vec<(&str, &str)> = vec![("X-Request-Id", "req-admin-test")];
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        headers.extend_from_slice(extra);
        let path = format!("/admin{path}");
        let reply = match body {
            Some(body) => self.server.send_body(method, &path, &headers, body).await,
            None => self.server.send(method, &path, &headers).await,
        };
        assert_eq!(
            reply.headers.get("x-request-id").map(|v| v.as_bytes()),
            Some(&b"req-admin-test"[..]),
            "{method} {path}: the request id comes back"
        );
        reply
    }

    /// The store's keys (their versions: uses aside) and audit log, to compare before
    /// and after.
    async fn snapshot(&self) -> (Vec<(String, String)>, Vec<AuditEntry>) {
        let keys = self
            .store
            .list_all(KeyFilter::default())
            .await
            .expect("keys");
        let keys = keys
            .iter()
            .map(|r: &KeyRecord| (r.id.clone(), r.etag()))
            .collect();
        let audit = self
            .store
            .audit(AuditQuery::new().limit(1000))
            .await
            .expect("audit")
            .entries;
        (keys, audit)
    }
}

/// Every operation of the document against the target key and owner `team`.
fn operations(target: &str) -> Vec<(&'static str, String, Option<&'static str>)> {
    let key = |suffix: &str| format!("/keys/{target}{suffix}");
    vec![
        ("GET", "/keys".into(), None),
        ("POST", "/keys".into(), Some(r#"{"name": "new"}"#)),
        ("GET", key(""), None),
        ("PATCH", key(""), Some(r#"{"name": "renamed"}"#)),
        ("POST", key("/disable"), None),
        ("POST", key("/enable"), None),
        ("POST", key("/rotate"), Some(r#"{"grace": "1h"}"#)),
        ("POST", key("/revoke"), None),
        ("DELETE", key(""), None),
        ("GET", "/owners".into(), None),
        ("GET", "/owners/team".into(), None),
        ("POST", "/owners/team/disable".into(), None),
        ("POST", "/owners/team/enable".into(), None),
        ("POST", "/owners/team/invalidate".into(), None),
        ("DELETE", "/owners/team".into(), None),
        ("GET", "/audit".into(), None),
    ]
}

/// What an admin key gets, in the order of [`operations`].
const ADMIN_STATUSES: [u16; 16] = [
    200, 201, 200, 200, 200, 200, 200, 200, 204, 200, 200, 200, 200, 200, 204, 200,
];

fn problem(reply: &Reply) -> &Value {
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/problem+json"),
        "{}",
        reply.body
    );
    reply.json.as_ref().expect("a JSON problem")
}

/// Every endpoint with no key (401), a key without the role (403), a read-only admin key
/// (GETs 200, changes 403) and an admin key (2xx); the refused calls change nothing.
async fn every_endpoint_with_each_kind_of_key<S: KeyStore>(lab: &mut Lab<S>) {
    let ops = operations(&lab.target.id.clone());
    let before = lab.snapshot().await;
    let (reader, plain) = (lab.reader.clone(), lab.plain.clone());
    for (method, path, body) in &ops {
        let none = lab.call(None, method, path, *body, &[]).await;
        assert_eq!(
            none.status, 401,
            "{method} {path} without a key: {}",
            none.body
        );
        // The admin key, or the console's session cookie (with its CSRF header on changes).
        let mut challenges = vec![
            r#"Bearer realm="api""#,
            r#"APIKey realm="api", in="cookie", name="keygate_console""#,
        ];
        if *method != "GET" {
            challenges.push(r#"APIKey realm="api", in="header", name="X-Keygate-CSRF""#);
        }
        assert_eq!(none.www_authenticate, challenges);
        problem(&none);
        let refused = lab.call(Some(&plain), method, path, *body, &[]).await;
        assert_eq!(
            refused.status, 403,
            "{method} {path}, no role: {}",
            refused.body
        );
        problem(&refused);
        let read = lab.call(Some(&reader), method, path, *body, &[]).await;
        let expected = if *method == "GET" { 200 } else { 403 };
        assert_eq!(
            read.status, expected,
            "{method} {path}, read-only: {}",
            read.body
        );
        for reply in [none, refused, read] {
            lab.texts.push(reply.body);
        }
    }
    assert_eq!(
        lab.snapshot().await,
        before,
        "the refused calls changed nothing"
    );

    let admin = lab.admin.clone();
    for ((method, path, body), status) in ops.iter().zip(ADMIN_STATUSES) {
        let reply = lab.call(Some(&admin), method, path, *body, &[]).await;
        assert_eq!(
            reply.status, status,
            "{method} {path}, admin: {}",
            reply.body
        );
        let issues_a_key = *method == "POST" && (path == "/keys" || path.ends_with("/rotate"));
        // A key answers with its creator: the admin key for the one it creates, the app
        // for the target the lab made through the store (kept by every later change).
        let key_json = match reply.json.as_ref() {
            Some(json) if issues_a_key => Some(&json["key"]),
            Some(json) if path.starts_with("/keys/") && status == 200 => Some(json),
            _ => None,
        };
        if let Some(key) = key_json {
            let creator = if path == "/keys" {
                json!({ "kind": "admin_key", "name": admin.id })
            } else {
                json!({ "kind": "app", "name": "app" })
            };
            assert_eq!(key["created_by"], creator, "{method} {path}: {key}");
        }
        if issues_a_key {
            let json = reply.json.as_ref().expect("JSON");
            let secret = json["secret"].as_str().expect("the full key");
            assert!(secret.starts_with("kg_"), "{secret}");
            lab.secrets.push(secret.to_owned());
        } else {
            lab.texts.push(reply.body.clone());
        }
        let reads_one =
            status == 200 && (path.starts_with("/keys/") || path.starts_with("/owners/"));
        if reads_one || status == 201 {
            assert!(reply.headers.get("etag").is_some(), "{method} {path}: ETag");
        }
        if status != 204 {
            assert_eq!(
                reply.content_type.as_deref(),
                Some("application/json"),
                "{method} {path}"
            );
        }
    }
    // The changes were made as the admin key, with the request id.
    let audit = lab
        .call(Some(&admin), "GET", "/audit?limit=200", None, &[])
        .await;
    let items = audit.json.as_ref().expect("JSON")["items"]
        .as_array()
        .expect("items")
        .clone();
    let by_admin: Vec<&Value> = items
        .iter()
        .filter(|e| e["actor"] == admin.id.as_str())
        .collect();
    // Every change but disabling the owner that `stale_versions_are_refused` disabled.
    assert_eq!(
        by_admin.len(),
        11,
        "{} entries by the admin key",
        by_admin.len()
    );
    for entry in by_admin {
        assert_eq!(entry["actor_kind"], "admin_key", "{entry}");
        assert_eq!(entry["request_id"], "req-admin-test", "{entry}");
    }
    lab.texts.push(audit.body);
    assert!(
        lab.store.get(&lab.target.id).await.expect("get").is_none(),
        "deleted"
    );
}

/// Malformed requests: each answered 400 with the offending field's pointer; none
/// changes the store or the audit log.
async fn bad_input_is_named_and_changes_nothing<S: KeyStore>(lab: &mut Lab<S>) {
    let t = lab.target.id.clone();
    let big = format!(
        r#"{{"name": "x", "metadata": {{"a": "{}"}}}}"#,
        "x".repeat(5000)
    );
    let cases: Vec<(&str, String, Option<String>, &str)> = vec![
        ("POST", "/keys".into(), Some(r#"{"name": 5}"#.into()), "/name"),
        ("POST", "/keys".into(), Some(r#"{"colour": "red", "name": "x"}"#.into()), "/colour"),
        ("POST", "/keys".into(), Some(r#"{}"#.into()), "/name"),
        ("POST", "/keys".into(), Some("not json".into()), ""),
        ("POST", "/keys".into(), Some("[1]".into()), ""),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "permissions": {"default_methods": ["GET"], "per_operation": {"getPet": ["GET"]}}}"#.into()), "/permissions/per_operation/getPet"),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "permissions": {"default_methods": ["get"]}}"#.into()), "/permissions/default_methods/0"),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "permissions": {}}"#.into()), "/permissions/default_methods"),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "schemes": ["apikey"]}"#.into()), "/schemes/0"),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "expires_at": "next tuesday"}"#.into()), "/expires_at"),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}"#.into()), "/expires_at"),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "expires_in": "soon"}"#.into()), "/expires_in"),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "expires_in": "1d", "expires_at": "2999-01-01T00:00:00Z"}"#.into()), "/expires_in"),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "metadata": [1]}"#.into()), "/metadata"),
        ("POST", "/keys".into(), Some(big), "/metadata"),
        ("POST", "/keys".into(), Some(r#"{"name": "x", "roles": "admin"}"#.into()), "/roles"),
        ("PATCH", format!("/keys/{t}"), Some("{}".into()), ""),
        ("PATCH", format!("/keys/{t}"), Some(r#"{"name": null}"#.into()), "/name"),
        ("PATCH", format!("/keys/{t}"), Some(r#"{"owner": "other"}"#.into()), "/owner"),
        ("PATCH", format!("/keys/{t}"), Some(r#"{"expires_at": "2001-01-01T00:00:00Z"}"#.into()), "/expires_at"),
        ("PATCH", format!("/keys/{t}"), Some(r#"{"permissions": {"default_methods": ["GET"], "per_operation": {"deletePets": []}}}"#.into()), "/permissions/per_operation/deletePets"),
        ("POST", format!("/keys/{t}/rotate"), Some(r#"{"grace": "1 week"}"#.into()), "/grace"),
        ("GET", "/keys?cursor=not-a-cursor".into(), None, "cursor"),
        ("GET", "/keys?limit=0".into(), None, "limit"),
        ("GET", "/keys?limit=abc".into(), None, "limit"),
        ("GET", "/keys?limit=201".into(), None, "limit"),
        ("GET", "/keys?status=on".into(), None, "status"),
        ("GET", "/keys?expiring_before=soon".into(), None, "expiring_before"),
        ("GET", "/keys?order=desc".into(), None, "order"),
        ("GET", format!("/keys?name_contains={}", "x".repeat(201)), None, "name_contains"),
        ("GET", "/keys?cursor=newest.5.abc".into(), None, "cursor"),
        ("GET", "/keys?order=newest&cursor=5.abc".into(), None, "cursor"),
        ("GET", "/owners?limit=-1".into(), None, "limit"),
        ("GET", "/audit?cursor=x".into(), None, "cursor"),
        ("GET", "/audit?since=yesterday".into(), None, "since"),
    ];
    let before = lab.snapshot().await;
    let admin = lab.admin.clone();
    for (method, path, body, pointer) in &cases {
        let reply = lab
            .call(Some(&admin), method, path, body.as_deref(), &[])
            .await;
        assert_eq!(
            reply.status, 400,
            "{method} {path} {body:?}: {}",
            reply.body
        );
        let json = problem(&reply);
        assert_eq!(json["status"], 400);
        let pointers: Vec<&str> = json["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["pointer"].as_str().expect("pointer"))
            .collect();
        assert_eq!(
            pointers,
            [*pointer],
            "{method} {path} {body:?}: {}",
            reply.body
        );
        lab.texts.push(reply.body);
    }
    // A did-you-mean for a near miss.
    let near = lab
        .call(Some(&admin), "POST", "/keys", Some(r#"{"name": "x", "permissions": {"default_methods": [], "per_operation": {"listPet": ["GET"]}}}"#), &[])
        .await;
    assert!(
        near.body.contains("did you mean `listPets`?"),
        "{}",
        near.body
    );
    assert_eq!(
        lab.snapshot().await,
        before,
        "invalid requests changed nothing"
    );
    // Unknown keys and owners.
    for (method, path) in [
        ("GET", "/keys/nosuchkey"),
        ("POST", "/keys/nosuchkey/disable"),
        ("GET", "/owners/nobody"),
        ("POST", "/owners/nobody/disable"),
    ] {
        let reply = lab.call(Some(&admin), method, path, None, &[]).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
        problem(&reply);
    }
    assert_eq!(lab.snapshot().await, before, "404s changed nothing");
}

/// A change under a stale `If-Match` is 412 and changes nothing; under the current
/// `ETag` it applies, and the `ETag` moves.
async fn stale_versions_are_refused<S: KeyStore>(lab: &mut Lab<S>) {
    let admin = lab.admin.clone();
    let path = format!("/keys/{}", lab.target.id);
    let read = lab.call(Some(&admin), "GET", &path, None, &[]).await;
    let etag = read
        .headers
        .get("etag")
        .expect("ETag")
        .to_str()
        .expect("text")
        .to_owned();
    let renamed = lab
        .call(
            Some(&admin),
            "PATCH",
            &path,
            Some(r#"{"name": "first"}"#),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let newer = renamed
        .headers
        .get("etag")
        .expect("ETag")
        .to_str()
        .expect("text")
        .to_owned();
    assert_ne!(newer, etag);
    let before = lab.snapshot().await;
    for (method, suffix, body) in [
        ("PATCH", "", Some(r#"{"name": "lost"}"#)),
        ("DELETE", "", None),
        ("POST", "/disable", None),
        ("POST", "/rotate", None),
    ] {
        let stale = lab
            .call(
                Some(&admin),
                method,
                &format!("{path}{suffix}"),
                body,
                &[("If-Match", &etag)],
            )
            .await;
        assert_eq!(stale.status, 412, "{method} {suffix}: {}", stale.body);
        problem(&stale);
        lab.texts.push(stale.body);
    }
    let owner = lab
        .call(Some(&admin), "GET", "/owners/team", None, &[])
        .await;
    let owner_tag = owner
        .headers
        .get("etag")
        .expect("ETag")
        .to_str()
        .expect("text")
        .to_owned();
    let stale = lab
        .call(
            Some(&admin),
            "POST",
            "/owners/team/disable",
            None,
            &[("If-Match", "\"0123456789abcdef\"")],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let detail = problem(&stale)["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("owner `team` changed"), "{detail}");
    lab.texts.push(stale.body);
    assert_eq!(
        lab.snapshot().await,
        before,
        "stale versions changed nothing"
    );
    let disabled = lab
        .call(
            Some(&admin),
            "POST",
            "/owners/team/disable",
            None,
            &[("If-Match", &owner_tag)],
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(disabled.json.as_ref().expect("JSON")["enabled"], false);
    let key = lab.call(Some(&admin), "GET", &path, None, &[]).await;
    assert_eq!(
        key.json.as_ref().expect("JSON")["status_reason"],
        "owner disabled"
    );
    lab.texts
        .extend([read.body, renamed.body, owner.body, disabled.body, key.body]);
}

/// The full keys and their secret parts appear in no answer but those that issue them,
/// and in no audit entry.
async fn no_secret_leaves<S: KeyStore>(lab: &mut Lab<S>) -> Vec<String> {
    let (_, audit) = lab.snapshot().await;
    let mut texts = lab.texts.clone();
    texts.push(format!("{audit:?}"));
    assert!(texts.len() > 100, "{} texts", texts.len());
    let forms = forms(&lab.secrets);
    for text in &texts {
        for form in &forms {
            assert!(!text.contains(form.as_str()), "a secret in {text}");
        }
    }
    forms
}

/// Each full key and its secret part.
fn forms(secrets: &[String]) -> Vec<String> {
    secrets
        .iter()
        .flat_map(|full| [full.clone(), secret_part(full).expose_secret().to_owned()])
        .collect()
}

/// The whole scenario over `store`, which must be empty; every form of every secret it
/// issued, to look for in logs.
pub(crate) async fn scenario<S: KeyStore>(store: Arc<S>) -> Vec<String> {
    let mut lab = Lab::start(store).await;
    bad_input_is_named_and_changes_nothing(&mut lab).await;
    stale_versions_are_refused(&mut lab).await;
    let mut lab2 = Lab::start(Arc::clone(&lab.store)).await;
    every_endpoint_with_each_kind_of_key(&mut lab2).await;
    lab.secrets.extend(lab2.secrets.clone());
    lab.texts.extend(lab2.texts.clone());
    no_secret_leaves(&mut lab).await
}

#[tokio::test]
async fn the_admin_api_over_a_memory_store() {
    scenario(Arc::new(MemoryStore::new())).await;
}

/// Over a real SQLite file, with every `tracing` event captured: no secret in the log.
#[test]
fn the_admin_api_over_an_sqlite_file_leaks_no_secret_to_the_log() {
    let capture = Capture::default();
    let dispatch = Dispatch::new(capture.clone());
    let _second = Dispatch::new(Capture::default());
    let for_workers = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            std::mem::forget(tracing::dispatcher::set_default(&for_workers));
        })
        .build()
        .expect("a runtime");
    let dir = TempDir::new("admin-api");
    let forms = tracing::dispatcher::with_default(&dispatch, || {
        runtime.block_on(async {
            tracing::callsite::rebuild_interest_cache();
            let store = SqliteStore::open_or_create(dir.file("keys.db")).expect("open");
            scenario(Arc::new(store)).await
        })
    });
    drop(runtime);
    let log = capture.text();
    assert!(
        log.contains("method not permitted for this key"),
        "the capture saw the keyring:\n{log}"
    );
    for form in &forms {
        assert!(!log.contains(form.as_str()), "a secret in the log");
    }
}

/// The router answers wherever it is nested; an admin key's per-operation permissions
/// narrow what it may change like any key's; an `X-Request-Id` that is not sane is
/// replaced by one the router makes, which the audit entry carries.
#[tokio::test]
async fn permissions_narrow_an_admin_key_and_the_router_nests_anywhere() {
    let store = Arc::new(MemoryStore::new());
    let disabler = issue(
        &*store,
        NewKey::new("disabler")
            .roles([keygate::admin::ADMIN_ROLE])
            .permissions(Permissions::read_only().with_operation("disableKey", ["POST"])),
    )
    .await;
    let target = issue(&*store, NewKey::new("svc")).await;
    let app = Router::new().nest(
        "/ops/keygate",
        keygate::admin::router(Arc::clone(&store), &keygate_tests::petstore::SPEC),
    );
    let server = spawn(app).await;
    let auth = disabler.bearer();
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Request-Id", "not sane!"),
    ];
    let path = |suffix: &str| format!("/ops/keygate/keys/{}{suffix}", target.id);
    let revoke = server.send("POST", &path("/revoke"), &headers).await;
    assert_eq!(revoke.status, 403, "{}", revoke.body);
    let disable = server.send("POST", &path("/disable"), &headers).await;
    assert_eq!(disable.status, 200, "{}", disable.body);
    let made = disable.headers.get("x-request-id").expect("a request id");
    let made = made.to_str().expect("text").to_owned();
    assert!(made.starts_with("kg-") && made.len() > 10, "{made}");
    let entries = store
        .audit(AuditQuery::new().target(target.id.as_str()))
        .await
        .expect("audit");
    let last = entries.entries.first().expect("the disable");
    assert_eq!(last.request_id.as_deref(), Some(made.as_str()));
    assert_eq!(last.actor, disabler.id);
    let elsewhere = server
        .send("GET", &format!("/keys/{}", target.id), &headers)
        .await;
    assert_eq!(elsewhere.status, 404, "only under the prefix");
}
