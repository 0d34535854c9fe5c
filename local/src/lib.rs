//! The local gateway: every function's router merged into one axum server, as API
//! Gateway presents them to a browser, over an embedded (or external) DynamoDB.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use clap::Parser;
use portal_engine::{EmbeddedDynamo, Storage};
use portal_shared::store::Db;
use portal_shared::time::now;
use portal_shared::{AppState, Config, http};

/// Every route group. A new function is one more `.merge(...)` line here.
pub async fn gateway(state: AppState) -> Router {
    let routes = Router::new()
        .merge(portal_auth::build(state.clone()).await)
        .merge(portal_user::router(state.clone()))
        .merge(portal_admin_api::router(state.clone()))
        .merge(portal_integrations::router(state.clone()))
        .merge(portal_monitoring::router(state.clone()));
    http::finish(routes, &state.config)
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "portal-local",
    about = "Run the whole Portal API on this machine"
)]
pub struct Args {
    /// Port to listen on (127.0.0.1). 0 picks a free one.
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    /// Keep nothing: the embedded store lives in memory.
    #[arg(long)]
    pub memory: bool,
    /// Where the embedded store keeps its data.
    #[arg(long, env = "PORTAL_DATA_DIR", default_value = ".portal")]
    pub data_dir: PathBuf,
    /// Port of the embedded engine (0: any free one). Fix it to share the store with
    /// functions run by `cargo lambda watch` (see README).
    #[arg(long, env = "PORTAL_DYNAMODB_PORT", default_value_t = 0)]
    pub dynamodb_port: u16,
    /// Use this DynamoDB endpoint instead of the embedded engine.
    #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB")]
    pub dynamodb_endpoint: Option<String>,
}

/// What a started gateway is serving on (the engine stops when this is dropped).
pub struct Running {
    pub addr: SocketAddr,
    pub router: Router,
    pub dynamodb: String,
    _engine: Option<EmbeddedDynamo>,
}

/// Opens the store (starting the embedded engine unless an endpoint is given), creates
/// the table on first start, and builds the gateway.
pub async fn prepare(args: &Args) -> Result<(Running, tokio::net::TcpListener), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let (engine, endpoint, described) = match &args.dynamodb_endpoint {
        Some(endpoint) => (None, endpoint.clone(), format!("external at {endpoint}")),
        None => {
            let storage = if args.memory {
                Storage::Memory
            } else {
                Storage::File(args.data_dir.join("dynamodb.sqlite"))
            };
            let described = match &storage {
                Storage::Memory => "embedded, in memory".to_string(),
                Storage::File(path) => format!("embedded, data in {}", path.display()),
            };
            let engine = EmbeddedDynamo::start_on(storage, args.dynamodb_port)?;
            let endpoint = engine.endpoint().to_string();
            let described = format!("{described}, served at {endpoint}");
            (Some(engine), endpoint, described)
        }
    };
    let db = Db::local(&endpoint, &config.table_name);
    let created = db
        .ensure_table()
        .await
        .map_err(|e| format!("cannot prepare table {}: {e}", config.table_name))?;
    if created {
        tracing::info!(table = %config.table_name, "table created");
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    if let (Ok(email), Ok(password)) = (
        std::env::var("PORTAL_ADMIN_EMAIL"),
        std::env::var("PORTAL_ADMIN_PASSWORD"),
    ) {
        let admin = portal_shared::moderation::ensure_admin(&db, &email, &password, now())
            .await
            .map_err(|e| format!("cannot bootstrap the admin: {e}"))?;
        tracing::info!(
            id = %admin.user.id,
            took_over = admin.took_over,
            sessions_ended = admin.sessions_ended,
            api_keys_deleted = admin.api_keys_deleted,
            "admin account ready"
        );
    }
    let router = gateway(AppState::new(config, db)).await;
    Ok((
        Running {
            addr,
            router,
            dynamodb: described,
            _engine: engine,
        },
        listener,
    ))
}
