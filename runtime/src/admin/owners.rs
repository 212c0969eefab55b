//! The owner operations: list, show, delete, disable, enable, invalidate. An unknown
//! owner is 404 (the store would create it). Every change is made as the admin key, with
//! the request id, and under the client's `If-Match` checked by the store in the
//! change's own transaction.

use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, RawQuery};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

use super::context::{actor, admin_key, answer, json, path_id, AdminState, RequestId, Shared};
use super::etag::IfMatch;
use super::generated as api;
use super::problem::Problem;
use super::query;
use super::views;
use crate::keys::{KeyStore, OwnerChange, OwnerSummary};
use crate::Principal;

/// The owner, or 404.
async fn summary<S: KeyStore>(shared: &Shared<S>, id: &str) -> Result<OwnerSummary, Problem> {
    let found = shared
        .store
        .owner_summary(id)
        .await
        .map_err(|e| Problem::from_store(&e))?;
    found.ok_or_else(|| Problem::not_found(format!("no owner with id `{id}`")))
}

/// `GET /owners`.
pub(crate) async fn list<S: KeyStore>(
    state: AdminState<S>,
    _auth: api::ListOwners,
    RawQuery(raw): RawQuery,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let query = query::owners(raw.as_deref()).map_err(Problem::invalid)?;
            let page = shared
                .store
                .list_owners(query)
                .await
                .map_err(|e| Problem::from_store(&e))?;
            let items = page.owners.iter().map(views::owner).collect();
            Ok(json(StatusCode::OK, &views::page(items, page.next), None))
        }
        .await,
    )
}

/// `GET /owners/{id}`.
pub(crate) async fn show<S: KeyStore>(
    state: AdminState<S>,
    _auth: api::GetOwner,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let found = summary(shared, &path_id(path)?).await?;
            Ok(json(
                StatusCode::OK,
                &views::owner(&found),
                Some(&found.owner.etag()),
            ))
        }
        .await,
    )
}

/// Applies `what` to an existing owner under the request's `If-Match`: one tag goes to the
/// store with the change, which checks it atomically; for several, the one the owner is
/// at now.
async fn change<S: KeyStore>(
    state: AdminState<S>,
    admin: Principal,
    request: RequestId,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    what: OwnerChange,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let id = path_id(path)?;
            let before = summary(shared, &id).await?;
            let what = match IfMatch::read(&headers) {
                IfMatch::Absent | IfMatch::Any => what,
                IfMatch::Tags(tags) if tags.len() == 1 => what.if_match(tags[0].clone()),
                IfMatch::Tags(tags) => {
                    let current = before.owner.etag();
                    if !tags.contains(&current) {
                        return Err(Problem::changed(&format!("owner `{id}`")));
                    }
                    what.if_match(current)
                }
            };
            let by = actor(&admin, &request);
            let done = shared
                .store
                .change_owner(&by, &id, what)
                .await
                .map_err(|e| Problem::from_store(&e))?;
            let Some(owner) = done.owner else {
                return Ok(StatusCode::NO_CONTENT.into_response());
            };
            // Enabling, disabling and invalidating leave its keys as they were.
            let after = OwnerSummary {
                owner,
                keys: before.keys,
            };
            Ok(json(
                StatusCode::OK,
                &views::owner(&after),
                Some(&after.owner.etag()),
            ))
        }
        .await,
    )
}

/// `DELETE /owners/{id}`: the owner and every key it holds.
pub(crate) async fn delete<S: KeyStore>(
    state: AdminState<S>,
    auth: api::DeleteOwner,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    change(
        state,
        admin_key(auth),
        request,
        path,
        headers,
        OwnerChange::Delete,
    )
    .await
}

/// `POST /owners/{id}/disable`.
pub(crate) async fn disable<S: KeyStore>(
    state: AdminState<S>,
    auth: api::DisableOwner,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    change(
        state,
        admin_key(auth),
        request,
        path,
        headers,
        OwnerChange::Disable,
    )
    .await
}

/// `POST /owners/{id}/enable`.
pub(crate) async fn enable<S: KeyStore>(
    state: AdminState<S>,
    auth: api::EnableOwner,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    change(
        state,
        admin_key(auth),
        request,
        path,
        headers,
        OwnerChange::Enable,
    )
    .await
}

/// `POST /owners/{id}/invalidate`: its epoch moves on, every key it holds now stops.
pub(crate) async fn invalidate<S: KeyStore>(
    state: AdminState<S>,
    auth: api::InvalidateOwnerKeys,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    change(
        state,
        admin_key(auth),
        request,
        path,
        headers,
        OwnerChange::BumpEpoch,
    )
    .await
}

/// `GET /audit`, newest first.
pub(crate) async fn audit<S: KeyStore>(
    state: AdminState<S>,
    _auth: api::ListAudit,
    RawQuery(raw): RawQuery,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let query = query::audit(raw.as_deref()).map_err(Problem::invalid)?;
            let page = shared
                .store
                .audit(query)
                .await
                .map_err(|e| Problem::from_store(&e))?;
            let items = page.entries.iter().map(views::audit_entry).collect();
            let next = page.next.map(|seq| seq.to_string());
            Ok(json(StatusCode::OK, &views::page(items, next), None))
        }
        .await,
    )
}
