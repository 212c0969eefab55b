//! The admin router: the routes of `specs/admin.yaml`, guarded by the layer generated from
//! it over a `Keyring` of the same store (and the console's sessions), the console beside
//! them, with the request id around them all.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use super::console::{self, Console};
use super::context::Shared;
use super::generated;
use super::request_id::request_id;
use super::{keys, operations, owners};
use crate::keys::KeyStore;
use crate::Verifier;

/// Every route of `specs/admin.yaml`, guarded, and the console beside them.
pub(crate) fn router<S: KeyStore>(
    shared: Shared<S>,
    verifier: impl Verifier,
    console: Console<S>,
) -> Router {
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
        .route("/operations", get(operations::list::<S>))
        // Last, so that it guards every route above.
        .layer(generated::layer(verifier))
        .with_state(Arc::new(shared))
        // The console's pages and login, which the guard above does not cover.
        .merge(console::router(console))
        .layer(axum::middleware::from_fn(request_id))
}
