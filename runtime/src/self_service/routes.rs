//! The self-service handlers: each acts for the owner the app's extractor names, and only
//! on that owner's keys.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use secrecy::ExposeSecret;
use serde_json::json;

use super::policy::OwnerPolicy;
use super::wire::{owner_key_request, OwnerKeyView};
use super::SessionOwner;
use crate::admin::body::rotation;
use crate::admin::problem::{FieldError, Problem};
use crate::admin::request_id::RequestId;
use crate::keys::{
    Actor, ActorKind, Clock, KeyChange, KeyCursor, KeyFilter, KeyQuery, KeyRecord, KeyState,
    KeyStore, StoreError, SystemClock, DEFAULT_PAGE_SIZE,
};

/// The largest page an owner may ask for.
const MAX_OWNER_PAGE: usize = 200;

pub(crate) struct Routes<S> {
    store: Arc<S>,
    policy: OwnerPolicy,
}

impl<S: KeyStore> Routes<S> {
    pub(crate) fn new(store: Arc<S>, policy: OwnerPolicy) -> Routes<S> {
        Routes { store, policy }
    }

    pub(crate) async fn list(
        &self,
        owner: impl SessionOwner,
        RawQuery(query): RawQuery,
    ) -> Response {
        let query = match page_query(owner.owner_id(), query.as_deref().unwrap_or("")) {
            Ok(query) => query,
            Err(errors) => return Problem::invalid(errors).into_response(),
        };
        match self.store.list(query).await {
            Ok(page) => {
                let now = SystemClock.now();
                let items: Vec<_> = page.keys.iter().map(|k| OwnerKeyView::of(k, now)).collect();
                let next = page.next.map(|c| c.to_string());
                Json(json!({ "items": items, "next_cursor": next })).into_response()
            }
            Err(e) => Problem::from_store(&e).into_response(),
        }
    }

    pub(crate) async fn create(
        &self,
        owner: impl SessionOwner,
        Extension(request): Extension<RequestId>,
        body: Bytes,
    ) -> Response {
        let owner_id = owner.owner_id();
        let spec = match owner_key_request(&body)
            .and_then(|request| self.policy.new_key(owner_id, request))
        {
            Ok(spec) => spec,
            Err(errors) => return Problem::invalid(errors).into_response(),
        };
        match self.refusal_to_create(owner_id).await {
            Ok(None) => {}
            Ok(Some(refusal)) => return refusal.into_response(),
            Err(e) => return Problem::from_store(&e).into_response(),
        }
        match self.store.create_by(&actor(owner_id, &request), spec).await {
            Ok(issued) => issued_response(StatusCode::CREATED, &issued.record, issued.expose_key()),
            Err(e) => Problem::from_store(&e).into_response(),
        }
    }

    pub(crate) async fn show(&self, owner: impl SessionOwner, Path(id): Path<String>) -> Response {
        match self.owned(owner.owner_id(), &id).await {
            Ok(record) => Json(OwnerKeyView::of(&record, SystemClock.now())).into_response(),
            Err(problem) => problem.into_response(),
        }
    }

    pub(crate) async fn rotate(
        &self,
        owner: impl SessionOwner,
        Path(id): Path<String>,
        Extension(request): Extension<RequestId>,
        body: Bytes,
    ) -> Response {
        let grace = match rotation(&body).and_then(|g| self.policy.grace(g)) {
            Ok(grace) => grace,
            Err(errors) => return Problem::invalid(errors).into_response(),
        };
        let owner_id = owner.owner_id();
        if let Err(problem) = self.owned(owner_id, &id).await {
            return problem.into_response();
        }
        let change = KeyChange::Rotate { grace };
        match self
            .store
            .change_key(&actor(owner_id, &request), &id, change)
            .await
        {
            Ok(changed) => match (changed.record, changed.key) {
                (Some(record), Some(key)) => {
                    issued_response(StatusCode::OK, &record, key.expose_secret())
                }
                _ => no_key(&id).into_response(),
            },
            Err(e) => Problem::from_store(&e).into_response(),
        }
    }

    pub(crate) async fn revoke(
        &self,
        owner: impl SessionOwner,
        Path(id): Path<String>,
        Extension(request): Extension<RequestId>,
    ) -> Response {
        let owner_id = owner.owner_id();
        if let Err(problem) = self.owned(owner_id, &id).await {
            return problem.into_response();
        }
        match self
            .store
            .change_key(&actor(owner_id, &request), &id, KeyChange::Revoke)
            .await
        {
            Ok(changed) => match changed.record {
                Some(record) => Json(OwnerKeyView::of(&record, SystemClock.now())).into_response(),
                None => no_key(&id).into_response(),
            },
            Err(e) => Problem::from_store(&e).into_response(),
        }
    }

    /// The key `id` if `owner` holds it; another owner's key is not found, like a missing
    /// one, so ids of others' keys cannot be probed. (A key's owner never changes.)
    async fn owned(&self, owner: &str, id: &str) -> Result<KeyRecord, Problem> {
        match self.store.get(id).await {
            Ok(Some(record)) if record.owner.as_deref() == Some(owner) => Ok((*record).clone()),
            Ok(_) => Err(no_key(id)),
            Err(e) => Err(Problem::from_store(&e)),
        }
    }

    /// Why `owner` may not create a key now: disabled, or at its limit of live keys.
    /// Concurrent creates may pass the count together; the limit is a quota, not a bound
    /// the store enforces.
    async fn refusal_to_create(&self, owner: &str) -> Result<Option<Problem>, StoreError> {
        if let Some(known) = self.store.get_owner(owner).await? {
            if !known.enabled {
                return Ok(Some(Problem::forbidden("the owner is disabled")));
            }
        }
        let limit = self.policy.max_keys;
        let mut live = 0;
        for state in [KeyState::Active, KeyState::Disabled] {
            let filter = KeyFilter::default().owner(owner).state(state);
            let query = KeyQuery::new(filter).limit(limit.saturating_add(1));
            live += self.store.list(query).await?.keys.len();
        }
        Ok((live >= limit)
            .then(|| Problem::forbidden(format!("an owner may hold {limit} live keys at most"))))
    }
}

/// The answer for a key the owner does not hold: the store's own for a missing key, so
/// the two cannot be told apart.
fn no_key(id: &str) -> Problem {
    Problem::from_store(&StoreError::NotFound(id.to_owned()))
}

/// A created or rotated key with its secret: the only answers that hold one.
fn issued_response(status: StatusCode, record: &KeyRecord, key: &str) -> Response {
    let body = json!({ "key": OwnerKeyView::of(record, SystemClock.now()), "secret": key });
    (status, Json(body)).into_response()
}

/// The owner as the audit log's actor, with the request's id.
fn actor(owner: &str, request: &RequestId) -> Actor {
    Actor::new(ActorKind::Owner, owner).with_request_id(&*request.0)
}

/// The list query of an owner's keys: `cursor` and `limit` from the query string, each
/// error named by its parameter.
fn page_query(owner: &str, query: &str) -> Result<KeyQuery, Vec<FieldError>> {
    let mut page = KeyQuery::new(KeyFilter::default().owner(owner)).limit(DEFAULT_PAGE_SIZE);
    let mut errors = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "cursor" => match value.parse::<KeyCursor>() {
                Ok(cursor) => page.after = Some(cursor),
                Err(_) => errors.push(FieldError::new("cursor", "not a cursor this API gave")),
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_OWNER_PAGE).contains(&n) => page.limit = n,
                _ => errors.push(FieldError::new(
                    "limit",
                    format!("a number from 1 to {MAX_OWNER_PAGE}"),
                )),
            },
            other => errors.push(FieldError::new(other, "unknown parameter")),
        }
    }
    if errors.is_empty() {
        Ok(page)
    } else {
        Err(errors)
    }
}
