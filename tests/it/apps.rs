//! The apps under test: a handler for every documented route that answers 200 with the
//! guard's decision (`<operation> <variant> <principal ids>`, in the body and in the
//! `x-decision` header so HEAD shows it too), and the keys they accept.

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use keygate::{Authenticated, Principal, StaticKeys};
use keygate_tests::{edge_names, petstore};

/// `api_key`, no roles: principal `api_key#1`.
pub(crate) const KEY: &str = "pk-plain-1111";
/// `api_key` with the role `writer`: principal `api_key#2`.
pub(crate) const WRITER_KEY: &str = "pk-writer-2222";
/// `app_id`: principal `app_id#1`.
pub(crate) const APP: &str = "app-id-3333";
/// `query_key` (`?api_key=`): principal `query_key#1`. Holds a space and a `+`, so
/// it only verifies when percent-decoding and `+`-as-space both happen.
pub(crate) const QUERY_SECRET: &str = "q key+4444";
/// [`QUERY_SECRET`] as it travels in a query.
pub(crate) const QUERY_SECRET_ENCODED: &str = "q+key%2B4444";
/// `session` cookie: principal `session#1`.
pub(crate) const SESSION_SECRET: &str = "sess-5555";
/// `bearer` token: principal `bearer#1`.
pub(crate) const TOKEN: &str = "tok-6666";
/// `basic`: the pair `alice:s3cret-7777`; principal `alice`.
pub(crate) const BASIC_SECRET: &str = "s3cret-7777";
/// base64 of `alice:s3cret-7777`.
pub(crate) const BASIC_ALICE: &str = "YWxpY2U6czNjcmV0LTc3Nzc=";
/// base64 of `alice:nope-0000`: a known id with a wrong secret.
pub(crate) const BASIC_ALICE_WRONG: &str = "YWxpY2U6bm9wZS0wMDAw";
/// `Cookie` value carrying [`SESSION_SECRET`].
pub(crate) const SESSION_COOKIE: &str = "session=sess-5555";
/// `Authorization` value carrying [`TOKEN`].
pub(crate) const BEARER_TOKEN: &str = "Bearer tok-6666";
/// `Authorization` value carrying alice's pair.
pub(crate) const BASIC_PAIR: &str = "Basic YWxpY2U6czNjcmV0LTc3Nzc=";
/// A key no verifier knows.
pub(crate) const UNKNOWN_KEY: &str = "unknown-8888";
/// [`KEY`] with its last character changed.
pub(crate) const WRONG_KEY: &str = "pk-plain-1112";
/// [`KEY`] with its last character non-ASCII: not readable as header text.
pub(crate) const MALFORMED_KEY: &str = "pk-plain-111\u{e9}";

/// edge_names `type` (header `Authorization`): principal `type#1`.
pub(crate) const EDGE_TYPE_KEY: &str = "edge-type-9999";
/// edge_names `bearerAuth` (header `Authorization`): principal `bearerAuth#1`.
pub(crate) const EDGE_BEARER_AUTH_2_KEY: &str = "edge-bearer2-1010";
/// edge_names `userApiKey (request header)` and `(query parameter)`: `auth-token`.
pub(crate) const EDGE_USER_KEY: &str = "edge-user-1212";

/// Every secret the tests present, right or wrong: no response may contain one.
pub(crate) const SECRETS: &[&str] = &[
    KEY,
    WRITER_KEY,
    APP,
    QUERY_SECRET,
    QUERY_SECRET_ENCODED,
    SESSION_SECRET,
    TOKEN,
    BASIC_SECRET,
    BASIC_ALICE,
    BASIC_ALICE_WRONG,
    "nope-0000",
    UNKNOWN_KEY,
    WRONG_KEY,
    MALFORMED_KEY,
    EDGE_TYPE_KEY,
    EDGE_BEARER_AUTH_2_KEY,
    EDGE_USER_KEY,
    "expired-key",
    "revoked-key",
    "limited-key",
    "store-down",
    "partner-token",
];

pub(crate) fn petstore_keys() -> StaticKeys {
    use petstore::scheme::*;
    StaticKeys::new()
        .key(API_KEY, KEY)
        .key_with_roles(API_KEY, WRITER_KEY, ["writer"])
        .key(APP_ID, APP)
        .key(QUERY_KEY, QUERY_SECRET)
        .key(SESSION, SESSION_SECRET)
        .key(BEARER, TOKEN)
        .basic(BASIC, "alice", BASIC_SECRET)
}

pub(crate) fn edge_keys() -> StaticKeys {
    use edge_names::scheme::*;
    StaticKeys::new()
        .key(TYPE, EDGE_TYPE_KEY)
        // The whole `Authorization` value of alice's Basic pair, as a `type` key:
        // `2fa` AND `type` then verify one header each on their own (type#2).
        .key(TYPE, &format!("Basic {BASIC_ALICE}"))
        .key(BEARER_AUTH_2, EDGE_BEARER_AUTH_2_KEY)
        .key(USER_API_KEY_QUERY_PARAMETER, EDGE_USER_KEY)
        .key(USER_API_KEY_REQUEST_HEADER, EDGE_USER_KEY)
        .basic(SCHEME_2FA, "alice", BASIC_SECRET)
}

/// Every petstore route under `prefix`, each handler taking its operation's extractor;
/// anything else falls back to [`describe`].
pub(crate) fn petstore_routes(prefix: &str) -> Router {
    let at = |path: &str| format!("{prefix}{path}");
    Router::new()
        .route(
            &at("/pets"),
            get(list_pets).post(create_pet).patch(describe),
        )
        .route(&at("/pets/{pet_id}"), get(show_pet).delete(delete_pet))
        .route(&at("/pets/{pet_id}/photo"), put(upload_pet_photo))
        .route(&at("/stats"), get(get_stats))
        .route(&at("/health"), get(health))
        .route(&at("/me"), get(who_am_i))
        .route(&at("/export"), post(export_pets))
        .fallback(describe)
}

/// The edge_names routes: `GET /api/list-pets` through its extractor, the rest through
/// [`describe`].
pub(crate) fn edge_routes() -> Router {
    Router::new()
        .route("/api/list-pets", get(edge_list_pets).post(describe))
        .fallback(describe)
}

fn decided(label: &str, principals: &[&Principal]) -> Response {
    let mut text = label.to_owned();
    for principal in principals {
        text.push(' ');
        text.push_str(principal.id());
    }
    ([("x-decision", text.clone())], text).into_response()
}

/// For routes without a generated extractor: `<operationId, else path template, else
/// "undocumented"> <alternativeN or "anonymous"> <principal ids>`.
pub(crate) async fn describe(auth: Authenticated) -> Response {
    let operation = auth
        .operation()
        .map_or("undocumented", |op| op.operation_id.unwrap_or(op.path));
    let how = match auth.alternative() {
        Some(index) => format!("alternative{index}"),
        None => "anonymous".to_owned(),
    };
    let principals: Vec<&Principal> = auth.principals().map(|(_, p)| p).collect();
    decided(&format!("{operation} {how}"), &principals)
}

async fn list_pets(op: petstore::ListPets) -> Response {
    match op {
        petstore::ListPets::ApiKey { api_key } => decided("listPets ApiKey", &[&api_key]),
        petstore::ListPets::Anonymous => decided("listPets Anonymous", &[]),
    }
}

async fn create_pet(op: petstore::CreatePet) -> Response {
    let petstore::CreatePet::ApiKey { api_key } = op;
    decided("createPet ApiKey", &[&api_key])
}

async fn show_pet(op: petstore::ShowPetById) -> Response {
    match op {
        petstore::ShowPetById::QueryKey { query_key } => {
            decided("showPetById QueryKey", &[&query_key])
        }
        petstore::ShowPetById::Session { session } => decided("showPetById Session", &[&session]),
    }
}

async fn delete_pet(op: petstore::DeletePet) -> Response {
    let petstore::DeletePet::ApiKeyAndAppId { api_key, app_id } = op;
    decided("deletePet ApiKeyAndAppId", &[&api_key, &app_id])
}

async fn upload_pet_photo(op: petstore::UploadPetPhoto) -> Response {
    match op {
        petstore::UploadPetPhoto::ApiKeyAndAppId { api_key, app_id } => {
            decided("uploadPetPhoto ApiKeyAndAppId", &[&api_key, &app_id])
        }
        petstore::UploadPetPhoto::ApiKeyAndSession { api_key, session } => {
            decided("uploadPetPhoto ApiKeyAndSession", &[&api_key, &session])
        }
    }
}

async fn get_stats(op: petstore::GetStats) -> Response {
    let petstore::GetStats::ApiKey { api_key } = op;
    decided("getStats ApiKey", &[&api_key])
}

async fn health(op: petstore::Health) -> Response {
    let petstore::Health::Public = op;
    decided("health Public", &[])
}

async fn who_am_i(op: petstore::WhoAmI) -> Response {
    match op {
        petstore::WhoAmI::Bearer { bearer } => decided("whoAmI Bearer", &[&bearer]),
        petstore::WhoAmI::Basic { basic } => decided("whoAmI Basic", &[&basic]),
    }
}

async fn export_pets(op: petstore::ExportPets) -> Response {
    let petstore::ExportPets::PartnerOauth { partner_oauth } = op;
    decided("exportPets PartnerOauth", &[&partner_oauth])
}

async fn edge_list_pets(op: edge_names::ListPets) -> Response {
    match op {
        edge_names::ListPets::BearerAuth { bearer_auth } => {
            decided("list_pets BearerAuth", &[&bearer_auth])
        }
        edge_names::ListPets::BearerAuth2 { bearer_auth_2 } => {
            decided("list_pets BearerAuth2", &[&bearer_auth_2])
        }
        edge_names::ListPets::Type { type_ } => decided("list_pets Type", &[&type_]),
    }
}
