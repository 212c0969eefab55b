//! The key operations: list, create, show, update, delete, disable, enable, revoke,
//! rotate. Every change is made as the admin key, with the request id, and under the
//! client's `If-Match` checked by the store in the change's own transaction.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, RawQuery};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;

use super::body;
use super::context::{actor, admin_key, answer, json, path_id, AdminState, RequestId, Shared};
use super::etag::IfMatch;
use super::generated as api;
use super::problem::Problem;
use super::query;
use super::views;
use crate::keys::{Actor, KeyChange, KeyChanged, KeyStore};

/// Applies `change` under the request's `If-Match`: one tag goes to the store with the
/// change, which checks it atomically; for several, the one the key is at now.
async fn change<S: KeyStore>(
    shared: &Shared<S>,
    by: &Actor,
    id: &str,
    change: KeyChange,
    if_match: IfMatch,
) -> Result<KeyChanged, Problem> {
    let change = match if_match {
        IfMatch::Absent | IfMatch::Any => change,
        IfMatch::Tags(tags) if tags.len() == 1 => change.if_match(tags[0].clone()),
        IfMatch::Tags(tags) => {
            let record = shared
                .store
                .get(id)
                .await
                .map_err(|e| Problem::from_store(&e))?;
            let record =
                record.ok_or_else(|| Problem::not_found(format!("no key with id `{id}`")))?;
            let current = record.etag();
            if !tags.contains(&current) {
                return Err(Problem::changed(&format!("key `{id}`")));
            }
            change.if_match(current)
        }
    };
    shared
        .store
        .change_key(by, id, change)
        .await
        .map_err(|e| Problem::from_store(&e))
}

/// The key a change answers with, and its `ETag`.
async fn changed_key<S: KeyStore>(
    shared: &Shared<S>,
    changed: KeyChanged,
) -> Result<Response, Problem> {
    let Some(record) = changed.record else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let view = shared.key_view(&record).await?;
    Ok(json(StatusCode::OK, &view, Some(&record.etag())))
}

/// `GET /keys`.
pub(crate) async fn list<S: KeyStore>(
    state: AdminState<S>,
    _auth: api::ListKeys,
    RawQuery(raw): RawQuery,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let query = query::keys(raw.as_deref()).map_err(Problem::invalid)?;
            let page = shared
                .store
                .list(query)
                .await
                .map_err(|e| Problem::from_store(&e))?;
            // One read per owner on the page, for why it stops its keys.
            let mut owners = BTreeMap::new();
            for owner in page.keys.iter().filter_map(|r| r.owner.as_deref()) {
                if !owners.contains_key(owner) {
                    let found = shared
                        .store
                        .get_owner(owner)
                        .await
                        .map_err(|e| Problem::from_store(&e))?;
                    owners.insert(owner.to_owned(), found);
                }
            }
            let now = shared.clock.now();
            let items = page
                .keys
                .iter()
                .map(|r| {
                    let owner = r
                        .owner
                        .as_ref()
                        .and_then(|o| owners.get(o))
                        .and_then(Option::as_ref);
                    views::key(r, r.owner_stops(owner), now)
                })
                .collect();
            let next = page.next.map(|c| c.to_string());
            Ok(json(StatusCode::OK, &views::page(items, next), None))
        }
        .await,
    )
}

/// `POST /keys`: the full key is in this answer only.
pub(crate) async fn create<S: KeyStore>(
    state: AdminState<S>,
    auth: api::CreateKey,
    Extension(request): Extension<RequestId>,
    bytes: Bytes,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let spec = body::new_key(&bytes, &shared.rules()).map_err(Problem::invalid)?;
            let by = actor(&admin_key(auth), &request);
            let issued = shared
                .store
                .create_by(&by, spec)
                .await
                .map_err(|e| Problem::from_store(&e))?;
            let view = shared.key_view(&issued.record).await?;
            let body = views::issued(view, issued.expose_key());
            Ok(json(
                StatusCode::CREATED,
                &body,
                Some(&issued.record.etag()),
            ))
        }
        .await,
    )
}

/// `GET /keys/{id}`.
pub(crate) async fn show<S: KeyStore>(
    state: AdminState<S>,
    _auth: api::GetKey,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let id = path_id(path)?;
            let record = shared
                .store
                .get(&id)
                .await
                .map_err(|e| Problem::from_store(&e))?;
            let record =
                record.ok_or_else(|| Problem::not_found(format!("no key with id `{id}`")))?;
            let view = shared.key_view(&record).await?;
            Ok(json(StatusCode::OK, &view, Some(&record.etag())))
        }
        .await,
    )
}

/// `PATCH /keys/{id}`.
pub(crate) async fn update<S: KeyStore>(
    state: AdminState<S>,
    auth: api::UpdateKey,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let id = path_id(path)?;
            let update = body::key_update(&bytes, &shared.rules()).map_err(Problem::invalid)?;
            let by = actor(&admin_key(auth), &request);
            let done = change(
                shared,
                &by,
                &id,
                KeyChange::Update(update),
                IfMatch::read(&headers),
            )
            .await?;
            changed_key(shared, done).await
        }
        .await,
    )
}

/// A change without a body (delete, disable, enable, revoke).
async fn simple<S: KeyStore, const N: usize>(
    state: AdminState<S>,
    auth: api::AdminKeyOrConsoleSessionAndConsoleCsrf<N>,
    request: RequestId,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    what: KeyChange,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let id = path_id(path)?;
            let by = actor(&admin_key(auth), &request);
            let done = change(shared, &by, &id, what, IfMatch::read(&headers)).await?;
            changed_key(shared, done).await
        }
        .await,
    )
}

/// `DELETE /keys/{id}`.
pub(crate) async fn delete<S: KeyStore>(
    state: AdminState<S>,
    auth: api::DeleteKey,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    simple(state, auth, request, path, headers, KeyChange::Delete).await
}

/// `POST /keys/{id}/disable`.
pub(crate) async fn disable<S: KeyStore>(
    state: AdminState<S>,
    auth: api::DisableKey,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    simple(state, auth, request, path, headers, KeyChange::Disable).await
}

/// `POST /keys/{id}/enable`.
pub(crate) async fn enable<S: KeyStore>(
    state: AdminState<S>,
    auth: api::EnableKey,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    simple(state, auth, request, path, headers, KeyChange::Enable).await
}

/// `POST /keys/{id}/revoke`.
pub(crate) async fn revoke<S: KeyStore>(
    state: AdminState<S>,
    auth: api::RevokeKey,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    simple(state, auth, request, path, headers, KeyChange::Revoke).await
}

/// `POST /keys/{id}/rotate`: the new full key is in this answer only.
pub(crate) async fn rotate<S: KeyStore>(
    state: AdminState<S>,
    auth: api::RotateKey,
    Extension(request): Extension<RequestId>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let shared = &*state.0;
    answer(
        async {
            let id = path_id(path)?;
            let grace = body::rotation(&bytes).map_err(Problem::invalid)?;
            let by = actor(&admin_key(auth), &request);
            let rotation = KeyChange::Rotate { grace };
            let done = change(shared, &by, &id, rotation, IfMatch::read(&headers)).await?;
            let record = done
                .record
                .ok_or_else(|| Problem::not_found(format!("no key with id `{id}`")))?;
            let full = done
                .key
                .ok_or_else(|| Problem::not_found(format!("no key with id `{id}`")))?;
            let view = shared.key_view(&record).await?;
            let body = views::issued(view, full.expose_secret());
            Ok(json(StatusCode::OK, &body, Some(&record.etag())))
        }
        .await,
    )
}
