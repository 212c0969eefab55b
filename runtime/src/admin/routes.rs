//! The admin router: the routes of `specs/admin.yaml`, guarded by the layer generated from
//! it over a `Keyring` of the same store, the request id around them, and what every
//! handler shares (the store, the documents names are checked against, the clock).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, ETAG};
use http::StatusCode;
use serde_json::Value;

use super::body::Rules;
use super::etag::header_value;
use super::generated;
use super::problem::Problem;
use super::views;
use super::{keys, owners};
use crate::keys::{Actor, Clock, KeyRecord, KeyStore, Keyring};
use crate::spec::Spec;
use crate::Principal;

/// What every handler shares.
pub(crate) struct Shared<S> {
    pub(crate) store: Arc<S>,
    /// The app's document first (its names are suggested), then the admin API's.
    pub(crate) specs: [&'static Spec; 2],
    pub(crate) clock: Arc<dyn Clock>,
}

/// The state handlers take.
pub(crate) type AdminState<S> = State<Arc<Shared<S>>>;

impl<S: KeyStore> Shared<S> {
    pub(crate) fn rules(&self) -> Rules<'_> {
        Rules {
            specs: &self.specs,
            now: self.clock.now(),
        }
    }

    /// A key as JSON, with why its owner stops it (one owner read).
    pub(crate) async fn key_view(&self, record: &KeyRecord) -> Result<Value, Problem> {
        let owner = match &record.owner {
            Some(id) => self
                .store
                .get_owner(id)
                .await
                .map_err(|e| Problem::from_store(&e))?,
            None => None,
        };
        Ok(views::key(
            record,
            record.owner_stops(owner.as_ref()),
            self.clock.now(),
        ))
    }
}

/// The id of the request: the client's `X-Request-Id` when it is sane, else one made
/// here. It goes into the audit entry of every change and back in the answer.
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

/// The actor of a change: the admin key that made it, with the request id.
pub(crate) fn actor(admin_key: &Principal, request: &RequestId) -> Actor {
    Actor::admin_key(admin_key.id()).with_request_id(&*request.0)
}

/// The principal of the granted admin key.
pub(crate) fn admin_key<const N: usize>(auth: generated::AdminKey<N>) -> Principal {
    let generated::AdminKey::AdminKey { admin_key } = auth;
    admin_key
}

/// A JSON answer, with the `ETag` of what it shows when it is one key or owner.
pub(crate) fn json(status: StatusCode, body: &Value, etag: Option<&str>) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(tag) = etag {
        headers.insert(ETAG, header_value(tag));
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
