//! Owner self-service: routes an app mounts behind its own login, so that each owner (a
//! user, a team, an account) lists, creates, rotates and revokes its own keys, within an
//! [`OwnerPolicy`] the app sets. Feature `admin`.
//!
//! The app says who the owner is: its own extractor (reading its session cookie, say)
//! implements [`SessionOwner`]. A request the extractor refuses gets the extractor's own
//! answer; a key of another owner is answered 404, as if it did not exist.
//!
//! ```no_run
//! use axum::extract::FromRequestParts;
//! use axum::http::{request::Parts, StatusCode};
//! use keygate::self_service::{self, OwnerPolicy, SessionOwner};
//!
//! /// The signed-in user, from the app's own session.
//! struct User(String);
//!
//! impl<S: Send + Sync> FromRequestParts<S> for User {
//!     type Rejection = StatusCode;
//!     async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<User, StatusCode> {
//!         // The app's session lookup goes here.
//!         let id = parts.headers.get("x-user").and_then(|v| v.to_str().ok());
//!         id.map(|id| User(id.to_owned())).ok_or(StatusCode::UNAUTHORIZED)
//!     }
//! }
//!
//! impl SessionOwner for User {
//!     fn owner_id(&self) -> &str {
//!         &self.0
//!     }
//! }
//!
//! # fn app(keyring: keygate::Keyring<keygate::MemoryStore>) -> axum::Router {
//! let policy = OwnerPolicy::new().max_keys(5);
//! axum::Router::new().nest("/account/keys", self_service::router::<User, _, _>(keyring.store().clone(), policy))
//! # }
//! ```
//!
//! | route | does |
//! |---|---|
//! | `GET /` | the owner's keys, a page at a time (`cursor`, `limit`) |
//! | `POST /` | a new key within the policy; the answer holds its secret, once |
//! | `GET /{id}` | one of the owner's keys |
//! | `POST /{id}/rotate` | a new secret (`{"grace": "1h"}` keeps the old one that long) |
//! | `POST /{id}/revoke` | stops the key for good |
//!
//! Changes are audited as the actor `owner` named by the owner id, with the request's
//! `X-Request-Id` (one is made when it sends none usable), which the answer echoes.

mod policy;
mod routes;
mod wire;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::routing::{get, post};
use axum::Router;

use crate::admin::request_id::request_id;
use crate::keys::KeyStore;

pub use policy::OwnerPolicy;

/// What the app's extractor yields: the id of the owner the request acts for.
pub trait SessionOwner {
    /// The owner id its keys are filed under.
    fn owner_id(&self) -> &str;
}

/// The self-service routes over `store` (shared with the app's keyring:
/// [`Keyring::store`](crate::keys::Keyring::store)), for the owner extractor `O`, under
/// `policy`.
/// Nest it where the app likes; it answers only for the routes above.
pub fn router<O, S, AppState>(store: Arc<S>, policy: OwnerPolicy) -> Router<AppState>
where
    O: FromRequestParts<AppState> + SessionOwner + Send + 'static,
    S: KeyStore,
    AppState: Clone + Send + Sync + 'static,
{
    let routes = Arc::new(routes::Routes::new(store, policy));
    Router::new()
        .route(
            "/",
            get({
                let r = Arc::clone(&routes);
                move |owner: O, query| async move { r.list(owner, query).await }
            })
            .post({
                let r = Arc::clone(&routes);
                move |owner: O, request, body| async move { r.create(owner, request, body).await }
            }),
        )
        .route(
            "/{id}",
            get({
                let r = Arc::clone(&routes);
                move |owner: O, id| async move { r.show(owner, id).await }
            }),
        )
        .route(
            "/{id}/rotate",
            post({
                let r = Arc::clone(&routes);
                move |owner: O, id, request, body| async move {
                    r.rotate(owner, id, request, body).await
                }
            }),
        )
        .route(
            "/{id}/revoke",
            post({
                let r = Arc::clone(&routes);
                move |owner: O, id, request| async move { r.revoke(owner, id, request).await }
            }),
        )
        .layer(axum::middleware::from_fn(request_id))
}
