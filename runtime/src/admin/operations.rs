//! `GET /operations`: the app document's operations, named as keys' permissions name
//! them, for clients that build permissions (the console's "custom" key type).

use axum::response::Response;
use http::StatusCode;
use serde_json::json;

use super::context::{json, AdminState};
use super::generated as api;
use crate::keys::KeyStore;

pub(crate) async fn list<S: KeyStore>(
    state: AdminState<S>,
    _auth: api::ListAppOperations,
) -> Response {
    let app = state.0.specs[0];
    let items: Vec<_> = app
        .operations
        .iter()
        .map(|op| {
            let name = op
                .operation_id
                .map_or_else(|| format!("{} {}", op.method, op.path), str::to_owned);
            json!({
                "name": name,
                "method": op.method,
                "path": op.path,
                "operation_id": op.operation_id,
            })
        })
        .collect();
    json(
        StatusCode::OK,
        &json!({ "title": app.title, "items": items }),
        None,
    )
}
