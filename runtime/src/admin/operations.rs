//! `GET /operations`: the app document's operations, named as keys' permissions name
//! them, and the names of its security schemes, for clients that build permissions and
//! scheme lists (the console's "custom" key type and its scheme checkboxes).

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
    let schemes: Vec<_> = app.schemes.iter().map(|s| s.name).collect();
    json(
        StatusCode::OK,
        &json!({ "title": app.title, "schemes": schemes, "items": items }),
        None,
    )
}
