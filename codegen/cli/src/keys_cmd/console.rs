//! `keygate console`: the admin API and its web console over a key database, served on
//! 127.0.0.1, with a link that logs the browser in once as the OS user at the terminal.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use keygate::keys::KeyStore;
use keygate::spec::{Location, Operation, Requirement, Scheme, SchemeKind};
use keygate::Spec;
use keygate_codegen::ir::{HookedKind, KeyLocation};
use secrecy::ExposeSecret;

use super::failure::Failure;
use super::target::{Db, Target};

/// `keygate console`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConsoleArgs {
    /// The key database: an SQLite file or a PostgreSQL URL
    /// (`postgres://user:password@host/database`).
    #[arg(
        long,
        env = "KEYGATE_DB",
        default_value = "keygate.db",
        value_name = "PATH|URL"
    )]
    db: String,
    /// The PostgreSQL schema of keygate's tables.
    #[arg(
        long,
        env = "KEYGATE_PG_SCHEMA",
        default_value = "keygate",
        value_name = "NAME"
    )]
    schema: String,
    /// The app's OpenAPI document: new keys' permissions offer its operations, and the
    /// names keys are given are checked against it.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// The port on 127.0.0.1 (0: any free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// Serves until the process is stopped.
pub(crate) fn run(args: ConsoleArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("keygate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let target = Target::new(&args.db, &args.schema);
    match runtime.block_on(serve(&target, &args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(&target.shown()),
    }
}

async fn serve(target: &Target, args: &ConsoleArgs) -> Result<(), Failure> {
    let spec = match &args.spec {
        Some(path) => {
            let api =
                keygate_codegen::load_file(path).map_err(|e| Failure::Other(e.to_string()))?;
            leak_spec(&api)
        }
        None => &EMPTY,
    };
    match target.open(false).await? {
        Db::Sqlite(store) => serve_store(Arc::new(store), spec, args.port, target).await,
        Db::Postgres(store) => serve_store(Arc::new(store), spec, args.port, target).await,
    }
}

async fn serve_store<S: KeyStore>(
    store: Arc<S>,
    spec: &'static Spec,
    port: u16,
    target: &Target,
) -> Result<(), Failure> {
    let admin = keygate::admin::Admin::new(store, spec);
    let operator = super::records::actor().name().to_owned();
    let token = admin
        .one_time_login(&operator)
        .ok_or_else(|| Failure::Other("no randomness for a login link".to_owned()))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| Failure::Other(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::Other(format!("no local address: {e}")))?;
    println!(
        "keygate console for {} at http://{address}/console/\n\
         Open this link to log in (it works once, within 10 minutes):\n\
         http://{address}/console/login#token={}",
        target.shown(),
        token.expose_secret()
    );
    // The link goes out now, whoever reads the output.
    let _ = std::io::stdout().flush();
    axum::serve(listener, admin.into_router())
        .await
        .map_err(|e| Failure::Other(format!("serving: {e}")))
}

/// The document's schemes and operations as the runtime's tables, for the admin API's
/// name checks and operation list (requirements play no part there). Leaked: the
/// process serves them until it ends.
fn leak_spec(api: &keygate_codegen::Api) -> &'static Spec {
    fn leak(text: &str) -> &'static str {
        Box::leak(text.to_owned().into_boxed_str())
    }
    let schemes: Vec<Scheme> = api
        .schemes
        .iter()
        .map(|scheme| Scheme {
            name: leak(&scheme.name),
            kind: match &scheme.kind {
                keygate_codegen::ir::SchemeKind::ApiKey { location, name } => SchemeKind::ApiKey {
                    location: match location {
                        KeyLocation::Header => Location::Header,
                        KeyLocation::Query => Location::Query,
                        KeyLocation::Cookie => Location::Cookie,
                    },
                    name: leak(name),
                },
                keygate_codegen::ir::SchemeKind::HttpBearer => SchemeKind::HttpBearer,
                keygate_codegen::ir::SchemeKind::HttpBasic => SchemeKind::HttpBasic,
                keygate_codegen::ir::SchemeKind::Hooked(kind) => SchemeKind::Hooked {
                    kind: match kind {
                        HookedKind::OAuth2 => "oauth2",
                        HookedKind::OpenIdConnect => "openIdConnect",
                        HookedKind::MutualTls => "mutualTLS",
                        HookedKind::Http(scheme) => leak(scheme),
                    },
                },
            },
        })
        .collect();
    let operations: Vec<Operation> = api
        .operations
        .iter()
        .map(|op| Operation {
            method: op.method.as_str(),
            path: leak(&op.path),
            operation_id: op.operation_id.as_deref().map(leak),
            requirement: Requirement::PUBLIC,
        })
        .collect();
    Box::leak(Box::new(Spec {
        title: leak(&api.title),
        base_path: leak(&api.base_path),
        schemes: Box::leak(schemes.into_boxed_slice()),
        root: Requirement::PUBLIC,
        operations: Box::leak(operations.into_boxed_slice()),
    }))
}

/// Without `--spec`: no operations of an app (the admin API's own names still check).
static EMPTY: Spec = Spec {
    title: "",
    base_path: "",
    schemes: &[],
    root: Requirement::PUBLIC,
    operations: &[],
};
