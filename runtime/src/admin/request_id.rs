//! Request ids: the client's `X-Request-Id` when it is sane, else one made here; it goes
//! into the audit entry of every change and back in the answer.

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{HeaderName, HeaderValue};

/// The id of the request, in its extensions.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) Arc<str>);

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Letters, digits and `._:-`, at most 128 of them: what a log line can carry as is.
fn sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 12];
    // Without randomness the id is still unique enough per process to follow a log.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("kg-{hex}")
}

/// Middleware: gives the request its [`RequestId`] and echoes it in the answer.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| sane(id))
        .map(str::to_owned);
    let id: Arc<str> = given.unwrap_or_else(new_request_id).into();
    request.extensions_mut().insert(RequestId(Arc::clone(&id)));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}
