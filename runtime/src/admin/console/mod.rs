//! The web console (`/console` under the admin API): static pages embedded in the crate,
//! and the login that exchanges an admin key for a session cookie. The pages call the
//! admin API itself with that cookie (the `console_session` scheme, with the
//! `console_csrf` header on changes); see docs/console.md.

pub(crate) mod session;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    COOKIE as COOKIE_HEADER, LOCATION, REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::{HeaderMap, StatusCode, Uri};
use secrecy::SecretString;
use serde_json::json;

use self::session::{csrf_token, Session, Sessions, Who, COOKIE, SESSION_TTL};
use super::problem::{FieldError, Problem};
use super::time::rfc3339;
use super::ADMIN_ROLE;
use crate::digest::sha256;
use crate::keys::{Clock, KeyFormat, KeyRecord, KeyStore, Keyring};
use crate::verifier::{Credential, OperationRef, Principal, Verdict, Verifier, VerifyRequest};

/// The console's files, embedded (all of them stay under 100 KB: a test checks).
pub(crate) const ASSETS: [(&str, &str, &str); 8] = [
    (
        "/console/",
        "text/html; charset=utf-8",
        include_str!("assets/keys.html"),
    ),
    (
        "/console/login",
        "text/html; charset=utf-8",
        include_str!("assets/login.html"),
    ),
    (
        "/console/new",
        "text/html; charset=utf-8",
        include_str!("assets/new.html"),
    ),
    (
        "/console/key",
        "text/html; charset=utf-8",
        include_str!("assets/key.html"),
    ),
    (
        "/console/owners",
        "text/html; charset=utf-8",
        include_str!("assets/owners.html"),
    ),
    (
        "/console/audit",
        "text/html; charset=utf-8",
        include_str!("assets/audit.html"),
    ),
    (
        "/console/console.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    ),
    (
        "/console/console.css",
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    ),
];

/// No script but the console's own file, nothing from another origin, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the console's handlers share.
pub(crate) struct Console<S> {
    pub(crate) sessions: Arc<Sessions<S>>,
    pub(crate) store: Arc<S>,
    pub(crate) keyring: Arc<Keyring<S>>,
    pub(crate) format: KeyFormat,
    pub(crate) clock: Arc<dyn Clock>,
    /// Whether the cookie is `Secure` whatever the request says.
    pub(crate) secure_cookies: bool,
}

type ConsoleState<S> = State<Arc<Console<S>>>;

/// The console's routes; not behind the admin API's guard (the pages are public, the
/// session routes check the key or the cookie themselves).
pub(crate) fn router<S: KeyStore>(console: Console<S>) -> Router {
    let mut router = Router::new().route("/console", get(to_console));
    for (path, content_type, body) in ASSETS {
        router = router.route(path, get(move || async move { asset(content_type, body) }));
    }
    router
        .route(
            "/console/session",
            get(show_session::<S>).post(login::<S>).delete(logout::<S>),
        )
        .with_state(Arc::new(console))
}

/// The security headers of every console answer.
fn harden(headers: &mut HeaderMap) {
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
}

fn hardened(mut response: Response) -> Response {
    harden(response.headers_mut());
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    hardened(response)
}

/// `/console` to `/console/`, relative so that it works wherever the router is nested.
async fn to_console() -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_static("console/"));
    hardened(response)
}

/// The cookie's value, when the request carries exactly one.
fn cookie_value(headers: &HeaderMap) -> Option<SecretString> {
    let mut found = None;
    for header in headers.get_all(COOKIE_HEADER) {
        let text = header.to_str().ok()?;
        for pair in text.split(';') {
            if let Some(value) = pair
                .trim()
                .strip_prefix(COOKIE)
                .and_then(|v| v.strip_prefix('='))
            {
                if found.is_some() {
                    return None;
                }
                found = Some(SecretString::from(value.to_owned()));
            }
        }
    }
    found
}

/// Where the admin router is mounted (`/admin`), from the original and the nested path.
fn mount_path(original: &Uri, uri: &Uri) -> String {
    let prefix = original
        .path()
        .strip_suffix(uri.path())
        .unwrap_or("")
        .trim_end_matches('/');
    if prefix.is_empty() {
        "/".to_owned()
    } else {
        prefix.to_owned()
    }
}

/// Whether the request came over TLS, as far as the server can tell.
fn over_tls(headers: &HeaderMap, uri: &Uri) -> bool {
    uri.scheme_str() == Some("https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(value: &str, path: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// What the console knows of its session: who it acts as, whether that may change
/// things, and the CSRF token for changes (derived from the session's cookie value).
fn session_view(record: Option<&KeyRecord>, session: &Session, cookie: &str) -> serde_json::Value {
    let (id, name, can_change) = match (record, &session.who) {
        (Some(record), _) => (
            Some(record.id.as_str()),
            record.name.clone(),
            record.roles.contains(ADMIN_ROLE)
                && record
                    .permissions
                    .allows("POST", "/keys", Some("createKey")),
        ),
        (None, Who::Operator(operator)) => {
            (None, format!("{} (keygate console)", operator.id()), true)
        }
        (None, Who::Key { .. }) => (None, String::new(), false),
    };
    json!({
        "key": { "id": id, "name": name },
        "can_change": can_change,
        "csrf_token": csrf_token(cookie),
        "expires_at": rfc3339(session.expires_at),
    })
}

fn json_answer(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    hardened(response)
}

fn refused(problem: Problem) -> Response {
    hardened(problem.into_response())
}

/// The session the cookie names, with its admin key as it is now.
async fn current<S: KeyStore>(
    console: &Console<S>,
    headers: &HeaderMap,
) -> Result<(SecretString, Session, Option<Arc<KeyRecord>>), Response> {
    use secrecy::ExposeSecret;
    let now = console.clock.now();
    let logged_out = || refused(Problem::unauthorized("not logged in, or the session ended"));
    let cookie = cookie_value(headers).ok_or_else(logged_out)?;
    let found = console.sessions.get(cookie.expose_secret(), now).await;
    let session = found
        .map_err(|e| refused(Problem::from_store(&e)))?
        .ok_or_else(logged_out)?;
    match console.sessions.acting(&session, now).await {
        Ok(Ok(record)) => Ok((cookie, session, record)),
        Ok(Err(_)) => match console.sessions.remove(cookie.expose_secret()).await {
            Ok(()) => Err(logged_out()),
            Err(e) => Err(refused(Problem::from_store(&e))),
        },
        Err(e) => Err(refused(Problem::from_store(&e))),
    }
}

async fn show_session<S: KeyStore>(
    State(console): ConsoleState<S>,
    headers: HeaderMap,
) -> Response {
    match current(&console, &headers).await {
        Ok((cookie, session, record)) => {
            use secrecy::ExposeSecret;
            let view = session_view(record.as_deref(), &session, cookie.expose_secret());
            json_answer(StatusCode::OK, &view)
        }
        Err(response) => response,
    }
}

/// Logs in: `{"key": "<admin key>"}` as JSON (which a cross-site form cannot send).
async fn login<S: KeyStore>(
    State(console): ConsoleState<S>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return refused(Problem::invalid(vec![FieldError::new(
            "Content-Type",
            "send the key as JSON: {\"key\": \"kg_...\"}",
        )]));
    }
    let body = serde_json::from_slice::<serde_json::Value>(&body).ok();
    let field = |name: &str| {
        body.as_ref()
            .and_then(|v| v.get(name))
            .and_then(|k| k.as_str())
            .map(|k| SecretString::from(k.to_owned()))
    };
    let now = console.clock.now();
    if let Some(token) = field("token") {
        use secrecy::ExposeSecret;
        let Some(name) = console.sessions.local.redeem(token.expose_secret(), now) else {
            return refused(Problem::unauthorized(
                "this login link was used already or has expired: start keygate console again",
            ));
        };
        let operator = Principal::new(name).with_roles([ADMIN_ROLE]);
        return start_session(
            &console,
            Who::Operator(operator),
            None,
            &original,
            &uri,
            &headers,
        )
        .await;
    }
    let Some(key) = field("key") else {
        return refused(Problem::invalid(vec![FieldError::new(
            "/key",
            "the admin key, a string",
        )]));
    };
    use secrecy::ExposeSecret;
    let key_text = key.expose_secret().trim();
    let Some(scheme) = super::spec()
        .schemes
        .iter()
        .find(|s| s.name == session::ADMIN_KEY_SCHEME)
    else {
        return refused(Problem::unauthorized("no admin key scheme"));
    };
    let credential = Credential::Bearer(SecretString::from(key_text.to_owned()));
    let question = VerifyRequest::new(
        scheme,
        &credential,
        OperationRef {
            method: "GET",
            path: "/keys",
            operation_id: Some("listKeys"),
        },
    );
    let not_admin = || {
        refused(Problem::forbidden(
            "this key does not hold the role keygate:admin: log in with an admin key",
        ))
    };
    let principal = match console.keyring.verify(question).await {
        Ok(Verdict::Granted(p)) if p.has_role(ADMIN_ROLE) => p,
        Ok(Verdict::Granted(_) | Verdict::Forbidden(_)) => return not_admin(),
        Ok(_) => {
            return refused(Problem::unauthorized(
                "unknown, expired, revoked or disabled key",
            ))
        }
        Err(_) => return refused(Problem::unavailable()),
    };
    let Ok((_, secret)) = console.format.split(key_text) else {
        return refused(Problem::unauthorized(
            "unknown, expired, revoked or disabled key",
        ));
    };
    let record = match console.store.get(principal.id()).await {
        Ok(Some(record)) => record,
        Ok(None) => return refused(Problem::unauthorized("the key is gone")),
        Err(e) => return refused(Problem::from_store(&e)),
    };
    let who = Who::Key {
        id: record.id.clone(),
        secret_digest: sha256(secret),
    };
    start_session(&console, who, Some(&record), &original, &uri, &headers).await
}

/// A new session for `who`, ending the one this browser had, and its cookie.
async fn start_session<S: KeyStore>(
    console: &Console<S>,
    who: Who,
    record: Option<&KeyRecord>,
    original: &Uri,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    use secrecy::ExposeSecret;
    if let Some(old) = cookie_value(headers) {
        if let Err(e) = console.sessions.remove(old.expose_secret()).await {
            return refused(Problem::from_store(&e));
        }
    }
    let (cookie, session) = match console.sessions.create(who, console.clock.now()).await {
        Ok(made) => made,
        Err(e) => return refused(Problem::from_store(&e)),
    };
    let view = session_view(record, &session, &cookie);
    let mut response = json_answer(StatusCode::OK, &view);
    let secure = console.secure_cookies || over_tls(headers, original);
    if let Some(value) = set_cookie(&cookie, &mount_path(original, uri), SESSION_TTL, secure) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// Logs out, with the session's CSRF token.
async fn logout<S: KeyStore>(
    State(console): ConsoleState<S>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    use secrecy::ExposeSecret;
    let (cookie, session, _) = match current(&console, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let token = headers
        .get("x-keygate-csrf")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !session::csrf_matches(&session, token) {
        return refused(Problem::forbidden("missing or wrong CSRF token"));
    }
    if let Err(e) = console.sessions.remove(cookie.expose_secret()).await {
        return refused(Problem::from_store(&e));
    }
    let mut response = hardened(StatusCode::NO_CONTENT.into_response());
    let secure = console.secure_cookies || over_tls(&headers, &original);
    if let Some(value) = set_cookie("", &mount_path(&original, &uri), 0, secure) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assets_stay_small() {
        let total: usize = ASSETS.iter().map(|(_, _, body)| body.len()).sum();
        assert!(total <= 100 * 1024, "the console's files are {total} bytes");
    }

    #[test]
    fn pages_load_no_inline_script() {
        for (path, content_type, body) in ASSETS {
            if content_type.starts_with("text/html") {
                for script in body.split("<script").skip(1) {
                    let tag = &script[..script.find('>').unwrap_or(script.len())];
                    assert!(tag.contains("src=\"console.js\""), "{path}: inline script");
                    assert!(
                        script[tag.len() + 1..].starts_with("</script>"),
                        "{path}: script body"
                    );
                }
                let handler = body.split(" on").skip(1).any(|rest| {
                    let name = rest.bytes().take_while(u8::is_ascii_lowercase).count();
                    name > 0 && rest.as_bytes().get(name) == Some(&b'=')
                });
                assert!(!handler, "{path}: an inline event handler");
                assert!(!body.contains("style="), "{path}: inline style");
            }
        }
    }

    #[test]
    fn the_cookie_is_read_once() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE_HEADER,
            HeaderValue::from_static("a=1; keygate_console=abc; b=2"),
        );
        let value =
            cookie_value(&headers).map(|s| secrecy::ExposeSecret::expose_secret(&s).to_owned());
        assert_eq!(value.as_deref(), Some("abc"));
        headers.append(
            COOKIE_HEADER,
            HeaderValue::from_static("keygate_console=def"),
        );
        assert!(
            cookie_value(&headers).is_none(),
            "two session cookies name none"
        );
        let mut other = HeaderMap::new();
        other.insert(
            COOKIE_HEADER,
            HeaderValue::from_static("keygate_consoleX=abc"),
        );
        assert!(cookie_value(&other).is_none());
    }

    #[test]
    fn the_cookie_path_is_where_the_router_is_mounted() {
        let uri = |s: &'static str| Uri::from_static(s);
        assert_eq!(
            mount_path(&uri("/admin/console/session"), &uri("/console/session")),
            "/admin"
        );
        assert_eq!(
            mount_path(&uri("/console/session"), &uri("/console/session")),
            "/"
        );
        assert_eq!(
            mount_path(&uri("/a/b/console/session"), &uri("/console/session")),
            "/a/b"
        );
    }
}
