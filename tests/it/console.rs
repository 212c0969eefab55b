//! The web console's login and session (`keygate::admin`, `/console`) over HTTP on a real
//! server: the login refuses what is not a working admin key; the cookie's flags; the
//! session works as its admin key on the admin API, with the CSRF token of its own
//! session on changes; revoking, disabling or rotating the key ends it; logout needs the
//! token. Sessions live in the key store: two instances over one SQLite file (and one
//! PostgreSQL schema, from `postgres.rs`) share them, a restart keeps them, a logout on one
//! ends them on all. The browser side is `.ci/console.sh`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use keygate::keys::{
    Actor, Clock, KeyChange, KeyStore, ManualClock, MemoryStore, NewKey, Permissions, SqliteStore,
    UnixSeconds,
};
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{spawn, Reply, Server, TempDir};

struct Key {
    id: String,
    full: String,
}

async fn issue<S: KeyStore + ?Sized>(store: &S, spec: NewKey) -> Key {
    let issued = store.create(spec).await.expect("create");
    Key {
        id: issued.record.id.clone(),
        full: issued.expose_key().to_owned(),
    }
}

async fn admin<S: KeyStore + ?Sized>(store: &S, name: &str, permissions: Permissions) -> Key {
    let spec = NewKey::new(name)
        .roles([keygate::admin::ADMIN_ROLE])
        .permissions(permissions);
    issue(store, spec).await
}

/// A logged-in console: its cookie and CSRF token.
pub(crate) struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    fn cookie(&self) -> (&'static str, &str) {
        ("Cookie", &self.cookie)
    }

    /// The cookie's value, without its name.
    fn value(&self) -> &str {
        self.cookie
            .strip_prefix("keygate_console=")
            .expect("the session cookie")
    }
}

async fn log_in(server: &Server, key: &str, extra: &[(&str, &str)]) -> Reply {
    let body = serde_json::json!({ "key": key }).to_string();
    server
        .send_body("POST", "/admin/console/session", extra, &body)
        .await
}

async fn session(server: &Server, key: &Key) -> Session {
    let reply = log_in(server, &key.full, &[]).await;
    assert_eq!(reply.status, 200, "login: {}", reply.body);
    assert!(!reply.body.contains(&key.full), "the key came back");
    let set = reply.headers["set-cookie"].to_str().expect("ascii");
    let cookie = set.split(';').next().expect("pair").to_owned();
    let json = reply.json.expect("json");
    Session {
        cookie,
        csrf: json["csrf_token"].as_str().expect("token").to_owned(),
    }
}

async fn list(server: &Server, session: &Session) -> u16 {
    server
        .send("GET", "/admin/keys", &[session.cookie()])
        .await
        .status
}

async fn create(server: &Server, session: &Session, csrf: Option<&str>) -> Reply {
    let mut headers = vec![session.cookie()];
    if let Some(token) = csrf {
        headers.push(("X-Keygate-CSRF", token));
    }
    server
        .send_body(
            "POST",
            "/admin/keys",
            &headers,
            r#"{"name": "made-in-console"}"#,
        )
        .await
}

#[tokio::test]
async fn a_console_session_acts_as_its_admin_key_read_again_on_every_request() {
    let store = Arc::new(MemoryStore::new());
    let boss = admin(&*store, "boss", Permissions::full()).await;
    let second = admin(&*store, "second", Permissions::full()).await;
    let reader = admin(&*store, "reader", Permissions::read_only()).await;
    let plain = issue(&*store, NewKey::new("app").permissions(Permissions::full())).await;
    let app = Router::new().nest(
        "/admin",
        keygate::admin::router(Arc::clone(&store), &keygate_tests::petstore::SPEC),
    );
    let server = spawn(app).await;

    // The pages and their headers.
    let page = server.send("GET", "/admin/console/login", &[]).await;
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(page.headers["x-frame-options"], "DENY");
    // The key, owners and audit pages, each with the same headers.
    for (path, name) in [
        ("/admin/console/key?id=x", "key"),
        ("/admin/console/owners", "owners"),
        ("/admin/console/audit", "audit"),
    ] {
        let page = server.send("GET", path, &[]).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.body.contains(&format!(r#"data-page="{name}""#)),
            "{path}"
        );
        assert_eq!(page.headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(page.headers["content-security-policy"], csp, "{path}");
    }
    // `/console` leads to `/console/`, the keys page (the client follows the redirect).
    let to = server.send("GET", "/admin/console", &[]).await;
    assert_eq!(to.status, 200);
    assert!(to.body.contains(r#"data-page="keys""#), "{}", to.body);

    // What the login refuses, with no cookie.
    let form = server
        .send(
            "POST",
            "/admin/console/session",
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(form.status, 400, "{}", form.body);
    let no_role = log_in(&server, &plain.full, &[]).await;
    assert_eq!(no_role.status, 403);
    assert!(no_role.body.contains("keygate:admin"), "{}", no_role.body);
    let wrong = format!("{}x", &boss.full[..boss.full.len() - 1]);
    for refused in [
        log_in(&server, &wrong, &[]).await,
        log_in(&server, "kg_nope", &[]).await,
    ] {
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert!(!refused.headers.contains_key("set-cookie"));
    }
    assert!(!no_role.headers.contains_key("set-cookie"));

    // The cookie's flags, and Secure behind a TLS proxy.
    let reply = log_in(&server, &boss.full, &[]).await;
    let set = reply.headers["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    for flag in [
        "; Path=/admin",
        "; Max-Age=28800",
        "; HttpOnly",
        "; SameSite=Strict",
    ] {
        assert!(set.contains(flag), "{set} lacks {flag}");
    }
    assert!(!set.contains("Secure"), "{set}");
    let tls = log_in(&server, &boss.full, &[("X-Forwarded-Proto", "https")]).await;
    assert!(tls.headers["set-cookie"]
        .to_str()
        .expect("ascii")
        .ends_with("; Secure"));

    // The session reads; changes need its own CSRF token, and are the admin key's.
    let one = session(&server, &boss).await;
    let two = session(&server, &second).await;
    assert_eq!(list(&server, &one).await, 200);
    assert_eq!(create(&server, &one, None).await.status, 401);
    assert_eq!(create(&server, &one, Some("0123")).await.status, 401);
    assert_eq!(
        create(&server, &one, Some(&two.csrf)).await.status,
        401,
        "another session's token"
    );
    let made = create(&server, &one, Some(&one.csrf)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let made_id = made.json.expect("json")["key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let audit = server
        .send(
            "GET",
            &format!("/admin/audit?target={made_id}"),
            &[("Authorization", &format!("Bearer {}", boss.full))],
        )
        .await;
    let entries = audit.json.expect("json");
    assert_eq!(entries["items"][0]["actor"], Value::from(boss.id.clone()));
    assert_eq!(entries["items"][0]["actor_kind"], "admin_key");

    // A read-only admin key's session reads and changes nothing, with the right token.
    let read = session(&server, &reader).await;
    assert_eq!(list(&server, &read).await, 200);
    assert_eq!(create(&server, &read, Some(&read.csrf)).await.status, 403);
    let info = server
        .send("GET", "/admin/console/session", &[read.cookie()])
        .await;
    assert_eq!(info.json.expect("json")["can_change"], false);

    // Logging out takes the token, then ends the session.
    let out = server
        .send("DELETE", "/admin/console/session", &[read.cookie()])
        .await;
    assert_eq!(out.status, 403);
    let out = server
        .send(
            "DELETE",
            "/admin/console/session",
            &[read.cookie(), ("X-Keygate-CSRF", &read.csrf)],
        )
        .await;
    assert_eq!(out.status, 204);
    assert_eq!(list(&server, &read).await, 401);

    // Disabling the admin key ends its session; so does rotating it.
    let by = Actor::app("test");
    store
        .change_key(&by, &second.id, KeyChange::Disable)
        .await
        .expect("disable");
    assert_eq!(list(&server, &two).await, 401);
    store
        .change_key(&by, &second.id, KeyChange::Enable)
        .await
        .expect("enable");
    assert_eq!(
        list(&server, &two).await,
        401,
        "an ended session stays ended"
    );
    let rotated = store
        .change_key(
            &by,
            &boss.id,
            KeyChange::Rotate {
                grace: Duration::ZERO,
            },
        )
        .await
        .expect("rotate");
    assert_eq!(list(&server, &one).await, 401);
    let new_key = rotated.key.expect("new key");
    let again = Key {
        id: boss.id.clone(),
        full: new_key.expose_secret().to_owned(),
    };
    let three = session(&server, &again).await;
    assert_eq!(list(&server, &three).await, 200);
    store
        .change_key(&by, &boss.id, KeyChange::Revoke)
        .await
        .expect("revoke");
    assert_eq!(list(&server, &three).await, 401);
    let gone = server
        .send("GET", "/admin/console/session", &[three.cookie()])
        .await;
    assert_eq!(gone.status, 401);
}

#[tokio::test]
async fn a_one_time_login_works_once_and_is_audited_as_the_operator() {
    let store = Arc::new(MemoryStore::new());
    let admin = keygate::admin::Admin::new(Arc::clone(&store), &keygate_tests::petstore::SPEC);
    let token = admin.one_time_login("alice").expect("token");
    let server = spawn(admin.into_router()).await;
    let body = serde_json::json!({ "token": token.expose_secret() }).to_string();

    let reply = server
        .send_body("POST", "/console/session", &[], &body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let set = reply.headers["set-cookie"].to_str().expect("ascii");
    assert!(set.contains("; Path=/;"), "{set}");
    let json = reply.json.expect("json");
    assert_eq!(json["key"]["name"], "alice (keygate console)");
    assert_eq!(json["can_change"], true);
    let session = Session {
        cookie: set.split(';').next().expect("pair").to_owned(),
        csrf: json["csrf_token"].as_str().expect("token").to_owned(),
    };

    // The link works once.
    let again = server
        .send_body("POST", "/console/session", &[], &body)
        .await;
    assert_eq!(again.status, 401);
    assert!(again.body.contains("used already"), "{}", again.body);
    assert!(!again.headers.contains_key("set-cookie"));

    // The operator's changes are the CLI's, by its OS user.
    let refused = server
        .send_body(
            "POST",
            "/keys",
            &[session.cookie()],
            r#"{"name": "no-token"}"#,
        )
        .await;
    assert_eq!(refused.status, 401);
    let made = server
        .send_body(
            "POST",
            "/keys",
            &[session.cookie(), ("X-Keygate-CSRF", &session.csrf)],
            r#"{"name": "by-operator"}"#,
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json.expect("json")["key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let audit = server
        .send("GET", &format!("/audit?target={id}"), &[session.cookie()])
        .await;
    let entry = &audit.json.expect("json")["items"][0];
    assert_eq!(
        (entry["actor_kind"].as_str(), entry["actor"].as_str()),
        (Some("cli"), Some("alice"))
    );
}

/// One instance of an app: the admin router over its own handle of the shared store.
fn instance<S: KeyStore>(store: &Arc<S>, clock: &ManualClock) -> Router {
    let admin = keygate::admin::Admin::new(Arc::clone(store), &keygate_tests::petstore::SPEC)
        .clock(clock.clone());
    Router::new().nest("/admin", admin.into_router())
}

/// Waits until the key's last use, as `store` reads it, is `at`.
async fn wait_for_use<S: KeyStore>(store: &S, id: &str, at: UnixSeconds) {
    for _ in 0..500 {
        let record = store.get(id).await.expect("get").expect("the key");
        if record.last_used_at == Some(at) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the session's request was not recorded as a use of its admin key");
}

/// Two instances (`stores[0]` and `stores[1]`, handles of one store) and a restarted one
/// (`stores[2]`, routed only later): a login on A works on B, with the same CSRF token,
/// for a read and a change; its requests are uses of the admin key; a restart keeps it; a
/// logout on B ends it on every instance; a session expires after 8 hours everywhere.
/// The session left behind (expired, not pruned yet) comes back, for a look at the rows.
pub(crate) async fn across_instances<S: KeyStore>(
    stores: [Arc<S>; 3],
    clock: &ManualClock,
) -> Session {
    let boss = admin(&*stores[0], "boss", Permissions::full()).await;
    let a = spawn(instance(&stores[0], clock)).await;
    let b = spawn(instance(&stores[1], clock)).await;
    let one = session(&a, &boss).await;

    let info = b
        .send("GET", "/admin/console/session", &[one.cookie()])
        .await;
    assert_eq!(info.status, 200, "{}", info.body);
    let info = info.json.expect("json");
    assert_eq!(info["csrf_token"].as_str(), Some(one.csrf.as_str()));
    assert_eq!(info["key"]["id"].as_str(), Some(boss.id.as_str()));
    assert_eq!(list(&b, &one).await, 200);
    assert_eq!(create(&b, &one, None).await.status, 401);
    let made = create(&b, &one, Some(&one.csrf)).await;
    assert_eq!(made.status, 201, "{}", made.body);

    // A request with the session is a use of its admin key (the login was one too, so
    // the clock moves past the keyring's once-a-minute bound first).
    clock.advance(Duration::from_secs(120));
    assert_eq!(list(&b, &one).await, 200);
    wait_for_use(&*stores[1], &boss.id, clock.now()).await;

    // A restart: a new router over a new handle knows the session.
    let restarted = spawn(instance(&stores[2], clock)).await;
    assert_eq!(list(&restarted, &one).await, 200);

    // Logging out on B ends the session on A and on the restarted one at once.
    let out = b
        .send(
            "DELETE",
            "/admin/console/session",
            &[one.cookie(), ("X-Keygate-CSRF", &one.csrf)],
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.body);
    assert_eq!(list(&a, &one).await, 401);
    assert_eq!(list(&restarted, &one).await, 401);
    let gone = a
        .send("GET", "/admin/console/session", &[one.cookie()])
        .await;
    assert_eq!(gone.status, 401);

    // Eight hours on, a session is refused everywhere, though nothing pruned it.
    let two = session(&a, &boss).await;
    clock.advance(Duration::from_secs(8 * 3600 - 1));
    assert_eq!(list(&b, &two).await, 200);
    clock.advance(Duration::from_secs(1));
    assert_eq!(list(&b, &two).await, 401);
    assert_eq!(list(&a, &two).await, 401);
    two
}

/// A `console_sessions` row: the cookie's digest, the key id, the secret's and the CSRF
/// token's digests.
type SessionRow = (Vec<u8>, String, Vec<u8>, Vec<u8>);

#[tokio::test]
async fn console_sessions_work_across_instances_sharing_an_sqlite_file() {
    let dir = TempDir::new("console-instances");
    let path = dir.file("keys.db");
    let clock = ManualClock::new(1_704_067_200);
    let open = || {
        let store = SqliteStore::open_or_create(&path).expect("open");
        Arc::new(store.with_clock(clock.clone()))
    };
    let left = across_instances([open(), open(), open()], &clock).await;

    // The one row left: digests only, the lookup key SHA-256 of the cookie's value;
    // neither the cookie's value nor the CSRF token anywhere in the file.
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let mut stmt = conn
        .prepare("SELECT id_sha256, key_id, secret_sha256, csrf_sha256 FROM console_sessions")
        .expect("select");
    let rows: Vec<SessionRow> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(rows.len(), 1, "the logged-out session is gone");
    let (id, _, secret, csrf) = &rows[0];
    assert_eq!(id[..], Sha256::digest(left.value().as_bytes())[..]);
    assert_eq!(csrf[..], Sha256::digest(left.csrf.as_bytes())[..]);
    assert_eq!(secret.len(), 32);
    drop(stmt);
    drop(conn);
    for file in ["keys.db", "keys.db-wal"] {
        let bytes = std::fs::read(dir.file(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(left.value()),
            "{file} holds the cookie's value"
        );
        assert!(!text.contains(&left.csrf), "{file} holds the CSRF token");
    }
}
