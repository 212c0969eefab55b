//! A petstore guarded by keygate, with its keys in an SQLite file managed by the
//! `keygate keys` CLI. Run it with `cargo run -p petstore-example`; it prints the
//! commands that create keys and the curl lines that use them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use keygate::keys::{CachedStore, KeyQuery, KeyStore, Keyring, SqliteStore};
use keygate::{hook_fn, Authenticated, ForScheme, Principal, StaticKeys, Verdict};

/// The module generated from `specs/petstore.yaml` by `build.rs`.
mod api {
    keygate::include_generated!("petstore");
}

/// The registered client app allowed to delete pets (the `X-App-Id` half of an AND).
const APP_ID: &str = "demo-app";

/// The example's verifier: the registered app id for the `app_id` scheme, keys from the
/// store for every other scheme.
type Keys = ForScheme<StaticKeys, Keyring<CachedStore<SqliteStore>>>;

/// Keys from `keyring`, and the one registered app id ([`APP_ID`]).
fn keys(keyring: Keyring<CachedStore<SqliteStore>>) -> Keys {
    ForScheme::new(
        api::scheme::APP_ID,
        StaticKeys::new().key(api::scheme::APP_ID, APP_ID),
        keyring,
    )
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

async fn show_pet(auth: api::ShowPetById) -> String {
    let who = match auth {
        api::ShowPetById::QueryKey { query_key } => query_key,
        api::ShowPetById::Session { session } => session,
    };
    format!("pet, shown to {}\n", who.id())
}

async fn delete_pet(auth: api::DeletePet) -> String {
    let api::DeletePet::ApiKeyAndAppId { api_key, app_id } = auth;
    format!("pet deleted by {} via app {}\n", api_key.id(), app_id.id())
}

async fn upload_photo(auth: api::UploadPetPhoto) -> String {
    let (api_key, via) = match auth {
        api::UploadPetPhoto::ApiKeyAndAppId { api_key, app_id } => {
            (api_key, format!("app {}", app_id.id()))
        }
        api::UploadPetPhoto::ApiKeyAndSession { api_key, session } => {
            (api_key, format!("session {}", session.id()))
        }
    };
    format!("ok: uploadPetPhoto, by {} via {via}\n", api_key.id())
}

async fn stats(api::GetStats::ApiKey { api_key }: api::GetStats) -> String {
    format!("ok: getStats, for {}\n", api_key.id())
}

/// Public (`security: []`): the untyped view is enough here.
async fn health(auth: Authenticated) -> String {
    format!("ok: {}\n", auth.operation_id().unwrap_or("health"))
}

async fn who_am_i(auth: api::WhoAmI) -> String {
    let (who, how) = match auth {
        api::WhoAmI::Bearer { bearer } => (bearer, "a bearer token"),
        api::WhoAmI::Basic { basic } => (basic, "HTTP Basic"),
    };
    format!("ok: whoAmI, {} with {how}\n", who.id())
}

async fn export(api::ExportPets::PartnerOauth { partner_oauth }: api::ExportPets) -> String {
    format!("ok: exportPets, for {}\n", partner_oauth.id())
}

fn app(keys: Keys) -> Router {
    let layer = api::layer(keys).hook(
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
        .route("/v1/pets/{pet_id}/photo", axum::routing::put(upload_photo))
        .route("/v1/stats", get(stats))
        .route("/v1/health", get(health))
        .route("/v1/me", get(who_am_i))
        .route("/v1/export", axum::routing::post(export))
        // Added last: routes added after `.layer(..)` would not be guarded.
        .layer(layer)
}

/// The admin API at `/admin`, over the keyring's own store and guarded by keygate's own
/// enforcement: admin keys are keys of that store with the role `keygate:admin`. Nested
/// after the app's layer, which would refuse `/admin` as undocumented.
fn with_admin(app: Router, store: Arc<CachedStore<SqliteStore>>) -> Router {
    app.nest("/admin", keygate::admin::router(store, &api::SPEC))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = PathBuf::from(std::env::var_os("KEYGATE_DB").unwrap_or_else(|| "keygate.db".into()));
    let store = SqliteStore::open_or_create(&db)
        .map_err(|e| format!("cannot open the key database {}: {e}", db.display()))?;
    // One row says whether there are keys; a count would read every one of them.
    let first = store.list(KeyQuery::default().limit(1)).await?;
    let holds = if first.keys.is_empty() {
        "no keys yet"
    } else {
        "`keygate keys list` shows its keys"
    };
    // Revocations made by the CLI (another process) reach the cache within 100 ms.
    let store = CachedStore::new(store).watch_other_writers(Duration::from_millis(100));
    let store = Arc::new(store);
    let keyring = Keyring::from_arc(Arc::clone(&store));
    // Keys naming operations or schemes the document lacks (a typo in `--op`, or a
    // document that changed) would be refused there: say so before serving.
    let names = keyring.check_names(&api::SPEC).await?;
    if !names.is_clean() {
        eprintln!("{names}");
    }
    let keys = keys(keyring);
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("petstore guarded by keygate on {base}");
    println!("keys: {} ({holds})\n", db.display());
    println!("# create keys (the secret is printed once):");
    println!(
        "keygate keys --db {} create --name reader --read-only",
        db.display()
    );
    println!(
        "keygate keys --db {} create --name writer --full --roles writer",
        db.display()
    );
    println!("# then, with READER and WRITER set to those keys:");
    println!("curl -i -H \"X-API-Key: $READER\" {base}/v1/stats          # 200");
    println!("curl -i -X POST -H \"X-API-Key: $READER\" {base}/v1/pets   # 403: read-only");
    println!("curl -i -X POST -H \"X-API-Key: $WRITER\" {base}/v1/pets   # 200");
    println!("curl -i {base}/v1/stats                                   # 401: no key");
    println!(
        "curl -i -X DELETE -H \"X-API-Key: $WRITER\" -H 'X-App-Id: {APP_ID}' {base}/v1/pets/1  # 200"
    );
    println!("# revoke, and the next request is refused:");
    println!("keygate keys --db {} revoke <KEY ID>", db.display());
    println!("# the admin API, with ADMIN set to a key from:");
    println!(
        "keygate keys --db {} create --name admin --full --roles keygate:admin",
        db.display()
    );
    println!("curl -s -H \"Authorization: Bearer $ADMIN\" {base}/admin/keys");
    axum::serve(listener, with_admin(app(keys), store)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use keygate::keys::{NewKey, Permissions};
    use keygate::{CredentialRef, OperationRef, Verifier, VerifyRequest};
    use keygate_tests::TempDir;
    use secrecy::ExposeSecret;

    use super::*;

    fn scheme(name: &str) -> &'static keygate::spec::Scheme {
        let index = api::SPEC.scheme_index(name).expect("scheme in the spec");
        &api::SPEC.schemes[index]
    }

    const LIST_PETS: OperationRef<'static> = OperationRef {
        method: "GET",
        path: "/v1/pets",
        operation_id: Some("listPets"),
    };

    /// The example's verifier sends app ids to the fixed list and keys to the store.
    #[tokio::test]
    async fn each_scheme_goes_to_its_verifier() {
        let dir = TempDir::new("example");
        let store = SqliteStore::open_or_create(dir.file("keys.db")).expect("open");
        let issued = store.create(NewKey::new("reader")).await.expect("create");
        let keys = keys(Keyring::new(CachedStore::new(store)));
        let key = issued.key.expose_secret();
        let ask =
            |name, secret| VerifyRequest::new(scheme(name), CredentialRef::key(secret), LIST_PETS);

        let granted = keys.verify(ask(api::scheme::API_KEY, key)).await;
        assert!(matches!(granted, Ok(Verdict::Granted(_))), "{granted:?}");
        let app = keys.verify(ask(api::scheme::APP_ID, APP_ID)).await;
        assert!(matches!(app, Ok(Verdict::Granted(_))), "{app:?}");
        // A store key is no app id, and the app id is no store key.
        let crossed = keys.verify(ask(api::scheme::APP_ID, key)).await;
        assert!(matches!(crossed, Ok(Verdict::Invalid)), "{crossed:?}");
        let crossed = keys.verify(ask(api::scheme::API_KEY, APP_ID)).await;
        assert!(matches!(crossed, Ok(Verdict::Invalid)), "{crossed:?}");
    }

    /// Sends one HTTP/1.1 request to `addr` and returns the status and the body.
    async fn send(addr: std::net::SocketAddr, head: String) -> (u16, String) {
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).expect("connect");
            let request = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).expect("write");
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("read");
            let status = response
                .split(' ')
                .nth(1)
                .and_then(|code| code.parse().ok())
                .expect("a status line");
            let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
            (status, body.to_owned())
        })
        .await
        .expect("the request task")
    }

    /// The example's app over `store`, on a loopback port.
    async fn serve(store: SqliteStore) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let store = Arc::new(CachedStore::new(store));
        let app = with_admin(app(keys(Keyring::from_arc(Arc::clone(&store)))), store);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        (addr, server)
    }

    /// Each protected handler takes its operation's typed extractor and gets the
    /// principals of the alternative that won.
    #[tokio::test]
    async fn handlers_get_the_principals_of_their_operation() {
        let dir = TempDir::new("example-handlers");
        let store = SqliteStore::open_or_create(dir.file("keys.db")).expect("open");
        let issued = store
            .create(NewKey::new("writer").permissions(Permissions::full()))
            .await
            .expect("create");
        let id = issued.record.id.clone();
        let key = issued.key.expose_secret().to_owned();
        let (addr, server) = serve(store).await;

        let cases = [
            (
                format!("GET /v1/pets/1?api_key={key} HTTP/1.1"),
                format!("pet, shown to {id}\n"),
            ),
            (
                format!("GET /v1/pets/1 HTTP/1.1\r\nCookie: session={key}"),
                format!("pet, shown to {id}\n"),
            ),
            (
                format!(
                    "PUT /v1/pets/1/photo HTTP/1.1\r\nX-API-Key: {key}\r\nX-App-Id: {APP_ID}\r\nContent-Length: 0"
                ),
                // `StaticKeys` names a principal by scheme and place, never by its value.
                format!("ok: uploadPetPhoto, by {id} via app app_id#1\n"),
            ),
            (
                format!("GET /v1/stats HTTP/1.1\r\nX-API-Key: {key}"),
                format!("ok: getStats, for {id}\n"),
            ),
            (
                format!("GET /v1/me HTTP/1.1\r\nAuthorization: Bearer {key}"),
                format!("ok: whoAmI, {id} with a bearer token\n"),
            ),
            (
                "POST /v1/export HTTP/1.1\r\nAuthorization: Bearer partner-token\r\nContent-Length: 0"
                    .to_owned(),
                "ok: exportPets, for partner\n".to_owned(),
            ),
            ("GET /v1/health HTTP/1.1".to_owned(), "ok: health\n".to_owned()),
        ];
        for (head, expected) in cases {
            let line = head.lines().next().unwrap_or_default().replace(&key, "KEY");
            let (status, body) = send(addr, head).await;
            assert_eq!((status, body.as_str()), (200, expected.as_str()), "{line}");
        }
        let (status, _) = send(addr, "GET /v1/stats HTTP/1.1".to_owned()).await;
        assert_eq!(status, 401, "GET /v1/stats without a key");
        server.abort();
    }

    /// The admin API answers at `/admin` over the app's store, to admin keys only, while
    /// the app's routes stay guarded by their own layer.
    #[tokio::test]
    async fn the_admin_api_is_mounted_at_admin() {
        let dir = TempDir::new("example-admin");
        let store = SqliteStore::open_or_create(dir.file("keys.db")).expect("open");
        let admin = store
            .create(
                NewKey::new("admin")
                    .roles([keygate::admin::ADMIN_ROLE])
                    .permissions(Permissions::full()),
            )
            .await
            .expect("create");
        let reader = store.create(NewKey::new("reader")).await.expect("create");
        let (addr, server) = serve(store).await;
        let bearer = |key: &str| format!("GET /admin/keys HTTP/1.1\r\nAuthorization: Bearer {key}");
        let (status, body) = send(addr, bearer(admin.key.expose_secret())).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&reader.record.id), "{body}");
        let (status, _) = send(addr, bearer(reader.key.expose_secret())).await;
        assert_eq!(status, 403, "a key without the role");
        let (status, _) = send(addr, "GET /admin/keys HTTP/1.1".to_owned()).await;
        assert_eq!(status, 401, "no key");
        let stats = format!(
            "GET /v1/stats HTTP/1.1\r\nX-API-Key: {}",
            reader.key.expose_secret()
        );
        assert_eq!(send(addr, stats).await.0, 200, "the app's routes");
        server.abort();
    }

    /// `PUT /v1/pets//photo`: axum runs the upload handler with an empty id, so the
    /// layer must hold it to `uploadPetPhoto` (a key AND an app id or a session), and a
    /// key denied that operation must not pass either.
    #[tokio::test]
    async fn an_empty_pet_id_is_still_the_upload_operation() {
        let dir = TempDir::new("example-empty-id");
        let store = SqliteStore::open_or_create(dir.file("keys.db")).expect("open");
        let full = store
            .create(NewKey::new("full").permissions(Permissions::full()))
            .await
            .expect("create");
        let denied = store
            .create(NewKey::new("denied").permissions(
                Permissions::full().with_operation("uploadPetPhoto", Vec::<&str>::new()),
            ))
            .await
            .expect("create");
        let (addr, server) = serve(store).await;
        let full = full.key.expose_secret().to_owned();
        let denied = denied.key.expose_secret().to_owned();
        for target in ["/v1/pets//photo", "/v1/pets/1/photo"] {
            let put =
                |headers: String| format!("PUT {target} HTTP/1.1\r\n{headers}Content-Length: 0");
            let (status, _) = send(addr, put(format!("X-API-Key: {full}\r\n"))).await;
            assert_eq!(status, 401, "PUT {target} with only a key");
            let with_app = |key: &str| format!("X-API-Key: {key}\r\nX-App-Id: {APP_ID}\r\n");
            let (status, _) = send(addr, put(with_app(&full))).await;
            assert_eq!(status, 200, "PUT {target} with a key and the app id");
            let (status, _) = send(addr, put(with_app(&denied))).await;
            assert_eq!(status, 403, "PUT {target} with a key denied the operation");
        }
        server.abort();
    }
}
