//! Owner self-service (`keygate::self_service`) over real HTTP on 127.0.0.1, on a real
//! SQLite file: each owner sees and changes only its own keys, within the app's policy,
//! and only creating and rotating answer with a secret.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Router;
use keygate::keys::{Actor, ActorKind, AuditAction, AuditQuery, KeyStore, NewKey, SqliteStore};
use keygate::self_service::{self, OwnerPolicy, SessionOwner};
use serde_json::{json, Value};

use crate::support::TempDir;

/// The app's session, as the test stands it in: the `X-User` header.
struct User(String);

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<User, StatusCode> {
        let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok());
        user.map(|u| User(u.to_owned()))
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}

impl SessionOwner for User {
    fn owner_id(&self) -> &str {
        &self.0
    }
}

/// An app serving the self-service routes under `/account/keys`, and a client for it
/// that keeps every answer, so the test can look for secrets in all of them.
struct App {
    base: String,
    client: reqwest::Client,
    store: Arc<SqliteStore>,
    answers: Vec<(String, String)>,
    _dir: TempDir,
}

struct Answer {
    status: u16,
    content_type: String,
    json: Value,
}

impl App {
    async fn start(policy: OwnerPolicy) -> App {
        let dir = TempDir::new("self-service");
        let store = Arc::new(SqliteStore::open_or_create(dir.file("keys.db")).expect("store"));
        let routes = self_service::router::<User, _, ()>(Arc::clone(&store), policy);
        let app = Router::new().nest("/account/keys", routes);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        App {
            base,
            client,
            store,
            answers: Vec::new(),
            _dir: dir,
        }
    }

    async fn call(
        &mut self,
        user: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method.clone(), format!("{}/account/keys{path}", self.base))
            .header("x-request-id", "req-7");
        if let Some(user) = user {
            request = request.header("x-user", user);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default();
        let text = response.text().await.expect("body");
        self.answers
            .push((format!("{method} {path}"), text.clone()));
        Answer {
            status,
            content_type,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    async fn create(&mut self, user: &str, body: Value) -> Answer {
        self.call(Some(user), "POST", "", Some(&body.to_string()))
            .await
    }

    async fn keys_of(&self, owner: &str) -> usize {
        let filter = keygate::keys::KeyFilter::default().owner(owner);
        self.store.list_all(filter).await.expect("list").len()
    }

    /// Every answer that holds `secret`, by request.
    fn answers_holding(&self, secret: &str) -> Vec<&str> {
        self.answers
            .iter()
            .filter(|(_, body)| body.contains(secret))
            .map(|(request, _)| request.as_str())
            .collect()
    }
}

fn pointers(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, 400, "{}", answer.json);
    assert_eq!(answer.content_type, "application/problem+json");
    answer.json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["pointer"].as_str().expect("pointer").to_owned())
        .collect()
}

#[tokio::test]
async fn an_owner_sees_and_changes_only_its_own_keys() {
    let mut app = App::start(OwnerPolicy::new()).await;
    let created = app.create("alice", json!({ "name": "laptop" })).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let secret = created.json["secret"].as_str().expect("secret").to_owned();
    let id = created.json["key"]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        created.json["key"]["methods"],
        json!(["GET", "HEAD", "OPTIONS"])
    );
    assert!(
        created.json["key"]["expires_at"].is_string(),
        "the policy's lifetime applies"
    );

    let listed = app.call(Some("alice"), "GET", "", None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json["items"][0]["id"], json!(id));
    assert_eq!(listed.json["items"][0]["status"], json!("active"));
    assert_eq!(
        app.call(Some("bob"), "GET", "", None).await.json["items"],
        json!([])
    );

    // Another owner's key is not found, whatever the route, and stays as it was.
    for (method, path) in [("GET", ""), ("POST", "/rotate"), ("POST", "/revoke")] {
        let answer = app
            .call(Some("bob"), method, &format!("/{id}{path}"), None)
            .await;
        assert_eq!(answer.status, 404, "{method} {path}");
        assert_eq!(answer.content_type, "application/problem+json");
        // The answer a missing key gets, word for word: the two cannot be told apart.
        let missing = app
            .call(Some("bob"), method, &format!("/nosuchkey{path}"), None)
            .await;
        let as_missing = missing.json.to_string().replace("nosuchkey", &id);
        assert_eq!(answer.json.to_string(), as_missing, "{method} {path}");
    }
    let record = app.store.get(&id).await.expect("get").expect("the key");
    assert_eq!(record.status.as_str(), "active");

    let rotated = app
        .call(
            Some("alice"),
            "POST",
            &format!("/{id}/rotate"),
            Some(r#"{"grace": "1h"}"#),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    let new_secret = rotated.json["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new_secret, secret);
    let revoked = app
        .call(Some("alice"), "POST", &format!("/{id}/revoke"), None)
        .await;
    assert_eq!(revoked.json["status"], json!("revoked"));

    // Without a session the app's extractor answers.
    assert_eq!(app.call(None, "GET", "", None).await.status, 401);

    // Secrets only in the answers of creating and rotating.
    assert_eq!(app.answers_holding(&secret), ["POST "]);
    assert_eq!(
        app.answers_holding(&new_secret),
        [format!("POST /{id}/rotate")]
    );

    // Audited as the owner, with the request's id.
    let log = app
        .store
        .audit(AuditQuery::new())
        .await
        .expect("audit")
        .entries;
    let seen: Vec<_> = log
        .iter()
        .map(|e| {
            (
                e.actor_kind,
                e.actor.as_str(),
                e.action,
                e.request_id.as_deref(),
            )
        })
        .collect();
    let by_alice = (ActorKind::Owner, "alice");
    assert_eq!(
        seen,
        [
            AuditAction::Revoke,
            AuditAction::Rotate,
            AuditAction::Create
        ]
        .map(|action| (by_alice.0, by_alice.1, action, Some("req-7")))
    );
    assert_eq!(
        record.created_by,
        Some(Actor::new(ActorKind::Owner, "alice"))
    );

    // An owner never learns who else made its keys: an admin key's id stays with admins.
    let by_admin = app
        .store
        .create_by(
            &Actor::admin_key("adminkey0001"),
            NewKey::new("issued").owner("alice"),
        )
        .await
        .expect("create as an admin key")
        .record;
    let shown = app
        .call(Some("alice"), "GET", &format!("/{}", by_admin.id), None)
        .await;
    assert_eq!(shown.status, 200, "{}", shown.json);
    let listed = app.call(Some("alice"), "GET", "", None).await;
    for answer in [&shown.json, &listed.json] {
        let text = answer.to_string();
        assert!(!text.contains("adminkey0001"), "{text}");
        assert!(!text.contains("created_by"), "{text}");
    }
}

#[tokio::test]
async fn what_exceeds_the_policy_is_named_and_creates_nothing() {
    let policy = OwnerPolicy::new()
        .max_lifetime(Some(Duration::from_secs(30 * 86_400)))
        .max_grace(Duration::from_secs(60));
    let mut app = App::start(policy).await;
    let asked = json!({
        "name": "ci",
        "methods": ["GET", "DELETE"],
        "roles": ["admin"],
        "expires_in": "31d",
    });
    let refused = app.create("alice", asked).await;
    assert_eq!(pointers(&refused), ["/methods", "/roles", "/expires_in"]);
    // The body's shape is checked before the policy: an unknown field is named alone.
    let unknown = json!({ "name": "ci", "owner": "bob", "roles": ["admin"] });
    assert_eq!(pointers(&app.create("alice", unknown).await), ["/owner"]);
    assert_eq!(
        pointers(&app.create("alice", json!({ "name": 7 })).await),
        ["/name"]
    );
    assert_eq!(
        pointers(
            &app.call(Some("alice"), "GET", "?limit=0&cursor=x", None)
                .await
        ),
        ["limit", "cursor"]
    );
    assert_eq!(app.keys_of("alice").await, 0);
    assert_eq!(
        app.store
            .audit(AuditQuery::new())
            .await
            .expect("audit")
            .entries
            .len(),
        0
    );

    let created = app
        .create("alice", json!({ "name": "ci", "expires_in": "30d" }))
        .await;
    let id = created.json["key"]["id"].as_str().expect("id").to_owned();
    let rotate = format!("/{id}/rotate");
    let refused = app
        .call(Some("alice"), "POST", &rotate, Some(r#"{"grace": "2m"}"#))
        .await;
    assert_eq!(pointers(&refused), ["/grace"]);
}

#[tokio::test]
async fn an_owner_holds_at_most_its_quota_of_live_keys_and_none_when_disabled() {
    let mut app = App::start(OwnerPolicy::new().max_keys(2)).await;
    let first = app.create("alice", json!({ "name": "a" })).await;
    assert_eq!(
        app.create("alice", json!({ "name": "b" })).await.status,
        201
    );
    let over = app.create("alice", json!({ "name": "c" })).await;
    assert_eq!(over.status, 403);
    assert_eq!(
        over.json["detail"],
        json!("an owner may hold 2 live keys at most")
    );
    assert_eq!(app.keys_of("alice").await, 2);

    let id = first.json["key"]["id"].as_str().expect("id").to_owned();
    app.call(Some("alice"), "POST", &format!("/{id}/revoke"), None)
        .await;
    assert_eq!(
        app.create("alice", json!({ "name": "c" })).await.status,
        201,
        "a revoked key frees its place"
    );

    app.store.disable_owner("bob").await.expect("disable bob");
    let refused = app.create("bob", json!({ "name": "x" })).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json["detail"], json!("the owner is disabled"));
}
