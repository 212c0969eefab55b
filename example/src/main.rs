//! A petstore guarded by keygate. Run it with `cargo run -p petstore-example`; it prints
//! demo keys and curl lines that show 200, 401 and 403.

use axum::routing::get;
use axum::Router;
use keygate::{hook_fn, Authenticated, Principal, StaticKeys, Verdict};

/// The module generated from `specs/petstore.yaml` by `build.rs`.
mod api {
    keygate::include_generated!("petstore");
}

const READER_KEY: &str = "demo-reader-key";
const WRITER_KEY: &str = "demo-writer-key";
const APP_ID: &str = "demo-app";

fn keys() -> StaticKeys {
    StaticKeys::new()
        .principal(api::scheme::API_KEY, READER_KEY, Principal::new("reader"))
        .principal(
            api::scheme::API_KEY,
            WRITER_KEY,
            Principal::new("writer").with_roles(["writer"]),
        )
        .key(api::scheme::APP_ID, APP_ID)
        .key(api::scheme::QUERY_KEY, READER_KEY)
        .key(api::scheme::SESSION, "demo-session")
        .key(api::scheme::BEARER, "demo-token")
        .basic(api::scheme::BASIC, "demo-id", "demo-secret")
}

async fn list_pets(auth: api::ListPets) -> String {
    match auth {
        api::ListPets::ApiKey { api_key } => format!("all pets, for {}\n", api_key.id()),
        api::ListPets::Anonymous => "public pets only\n".to_owned(),
    }
}

async fn create_pet(api::CreatePet::ApiKey { api_key }: api::CreatePet) -> String {
    format!("pet created by {}\n", api_key.id())
}

async fn show_pet(auth: Authenticated) -> String {
    let who = auth.principal().map_or("nobody", |p| p.id());
    format!("pet, shown to {who}\n")
}

async fn delete_pet(auth: api::DeletePet) -> String {
    let api::DeletePet::ApiKeyAndAppId { api_key, app_id } = auth;
    format!("pet deleted by {} via app {}\n", api_key.id(), app_id.id())
}

async fn ok(auth: Authenticated) -> String {
    format!(
        "ok: {}\n",
        auth.operation_id().unwrap_or("undocumented route")
    )
}

fn app() -> Router {
    let layer = api::layer(keys()).hook(
        api::scheme::PARTNER_OAUTH,
        // A real app checks the token with its OAuth server; this demo trusts one value.
        hook_fn(|parts, _scheme| {
            let token = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            Ok(match token {
                Some("Bearer partner-token") => {
                    Verdict::Granted(Principal::new("partner").with_roles(["pets:export"]))
                }
                Some(_) => Verdict::Invalid,
                None => Verdict::Absent,
            })
        }),
    );
    Router::new()
        .route("/v1/pets", get(list_pets).post(create_pet))
        .route("/v1/pets/{pet_id}", get(show_pet).delete(delete_pet))
        .route("/v1/pets/{pet_id}/photo", axum::routing::put(ok))
        .route("/v1/stats", get(ok))
        .route("/v1/health", get(ok))
        .route("/v1/me", get(ok))
        .route("/v1/export", axum::routing::post(ok))
        .layer(layer)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("petstore guarded by keygate on {base}\n");
    println!("demo keys: reader {READER_KEY}, writer {WRITER_KEY}, app id {APP_ID}\n");
    println!("# 200: a valid key");
    println!("curl -i -H 'X-API-Key: {READER_KEY}' {base}/v1/stats");
    println!("# 200: optional key, anonymous");
    println!("curl -i {base}/v1/pets");
    println!("# 401: no key");
    println!("curl -i {base}/v1/stats");
    println!("# 401: only one half of an AND");
    println!("curl -i -X DELETE -H 'X-API-Key: {READER_KEY}' {base}/v1/pets/1");
    println!("# 200: both halves");
    println!(
        "curl -i -X DELETE -H 'X-API-Key: {READER_KEY}' -H 'X-App-Id: {APP_ID}' {base}/v1/pets/1"
    );
    println!("# 403: a valid key without the `writer` role");
    println!("curl -i -X POST -H 'X-API-Key: {READER_KEY}' {base}/v1/pets");
    println!("# 200: the writer key");
    println!("curl -i -X POST -H 'X-API-Key: {WRITER_KEY}' {base}/v1/pets");
    axum::serve(listener, app()).await
}
