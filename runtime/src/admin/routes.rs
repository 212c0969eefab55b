//! The admin router: the routes of `specs/admin.yaml`, guarded by the layer generated from
//! it over a `Keyring` of the same store, with the request id around them.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use super::context::Shared;
use super::generated;
use super::request_id::request_id;
use super::{keys, owners};
use crate::keys::{KeyStore, Keyring};

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
