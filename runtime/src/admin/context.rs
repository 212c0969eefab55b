//! What the admin handlers share: the store and the rules names are checked against,
//! the request id, the admin key's actor, JSON answers with their `ETag`.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::{HeaderValue, CONTENT_TYPE, ETAG};
use http::StatusCode;
use serde_json::Value;

use super::body::Rules;
use super::etag::header_value;
use super::generated;
use super::problem::Problem;
pub(crate) use super::request_id::RequestId;
use super::views;
use crate::keys::{Actor, Clock, KeyRecord, KeyStore};
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

/// The actor of a change: the admin key that made it (or, through `keygate console`'s
/// one-time login, the CLI's OS user), with the request id.
pub(crate) fn actor(admin_key: &Principal, request: &RequestId) -> Actor {
    let actor = if admin_key.is_key() {
        Actor::admin_key(admin_key.id())
    } else {
        Actor::cli(admin_key.id())
    };
    actor.with_request_id(&*request.0)
}

/// The principal of the granted admin key: sent as such, or behind a console session
/// (which acts as its admin key).
pub(crate) fn admin_key(auth: impl AdminAuth) -> Principal {
    auth.admin_key()
}

/// What each generated extractor of the admin API grants: the admin key's principal.
pub(crate) trait AdminAuth {
    fn admin_key(self) -> Principal;
}

impl<const N: usize> AdminAuth for generated::AdminKeyOrConsoleSession<N> {
    fn admin_key(self) -> Principal {
        match self {
            generated::AdminKeyOrConsoleSession::AdminKey { admin_key } => admin_key,
            generated::AdminKeyOrConsoleSession::ConsoleSession { console_session } => {
                console_session
            }
        }
    }
}

impl<const N: usize> AdminAuth for generated::AdminKeyOrConsoleSessionAndConsoleCsrf<N> {
    fn admin_key(self) -> Principal {
        match self {
            generated::AdminKeyOrConsoleSessionAndConsoleCsrf::AdminKey { admin_key } => admin_key,
            generated::AdminKeyOrConsoleSessionAndConsoleCsrf::ConsoleSessionAndConsoleCsrf {
                console_session,
                ..
            } => console_session,
        }
    }
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

/// The id in the path; a path no key or owner can have names none.
pub(crate) fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    path.map(|Path(id)| id)
        .map_err(|_| Problem::not_found("no such key or owner"))
}

/// The answer, or the problem.
pub(crate) fn answer(result: Result<Response, Problem>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}
