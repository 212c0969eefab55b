//! The admin router: the routes of `specs/admin.yaml`, guarded by the layer generated from
//! it over a `Keyring` of the same store, with the request id around them.

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::header::{HeaderName, HeaderValue};

use super::context::{RequestId, Shared};
use super::generated;
use super::{keys, owners};
use crate::keys::{KeyStore, Keyring};

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

async fn request_id(mut request: Request, next: Next) -> Response {
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

/// Every route of `specs/admin.yaml`, guarded.
pub(crate) fn router<S: KeyStore>(shared: Shared<S>, keyring: Keyring<S>) -> Router {
    Router::new()
        .route("/keys", get(keys::list::<S>).post(keys::create::<S>))
        .route(
            "/keys/{id}",
            get(keys::show::<S>)
                .patch(keys::update::<S>)
                .delete(keys::delete::<S>),
        )
        .route("/keys/{id}/disable", post(keys::disable::<S>))
        .route("/keys/{id}/enable", post(keys::enable::<S>))
        .route("/keys/{id}/revoke", post(keys::revoke::<S>))
        .route("/keys/{id}/rotate", post(keys::rotate::<S>))
        .route("/owners", get(owners::list::<S>))
        .route(
            "/owners/{id}",
            get(owners::show::<S>).delete(owners::delete::<S>),
        )
        .route("/owners/{id}/disable", post(owners::disable::<S>))
        .route("/owners/{id}/enable", post(owners::enable::<S>))
        .route("/owners/{id}/invalidate", post(owners::invalidate::<S>))
        .route("/audit", get(owners::audit::<S>))
        // Last, so that it guards every route above.
        .layer(generated::layer(keyring))
        .layer(axum::middleware::from_fn(request_id))
        .with_state(Arc::new(shared))
}
