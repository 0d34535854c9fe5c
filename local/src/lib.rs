//! The local gateway: every function's router merged into one axum server, as API
//! Gateway presents them to a browser, over an embedded (or external) DynamoDB.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use clap::Parser;
use portal_domain::Config;
use portal_domain::store::Db;
use portal_domain::time::now;
use portal_engine::{EmbeddedDynamo, Storage};
use portal_web::{AppState, http};

/// Every route group. A new function is one more `.merge(...)` line here and in [`openapi`].
pub async fn gateway(state: AppState) -> Router {
    let config = state.config.clone();
    http::finish(routes(state).await, &config)
}

/// Every group's routes, merged, before [`http::finish`].
pub async fn routes(state: AppState) -> Router {
    Router::new()
        .merge(portal_auth::build(state.clone()).await)
        .merge(portal_user::router(state.clone()))
        .merge(portal_admin_api::router(state.clone()))
        .merge(portal_integrations::router(state.clone()))
        .merge(portal_monitoring::router(state.clone()))
        .route("/api/docs", axum::routing::get(reference_page))
}

/// The whole API's OpenAPI document, made from the same route lists the functions serve.
///
/// Two functions naming different schemas alike would silently publish one for both: that
/// stops here (and in the tests) with the name to change.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApi::default();
    for part in [
        portal_auth::routes().into_openapi(),
        portal_user::routes().into_openapi(),
        portal_admin_api::routes().into_openapi(),
        portal_integrations::routes().into_openapi(),
        portal_monitoring::routes(0).into_openapi(),
    ] {
        if let (Some(have), Some(new)) = (&doc.components, &part.components) {
            for (name, schema) in &new.schemas {
                let same = have.schemas.get(name).is_none_or(|known| known == schema);
                assert!(
                    same,
                    "two schemas are named {name}: rename one with #[schema(as = ...)]"
                );
            }
        }
        doc.merge(part);
    }
    portal_web::openapi::complete(doc)
}

/// The document as `docs/openapi.json` holds it (and the monitoring function serves it).
pub fn openapi_json() -> String {
    let doc = serde_json::to_value(openapi()).expect("the document serialises");
    let mut text = serde_json::to_string_pretty(&doc).expect("the document serialises");
    text.push('\n');
    text
}

/// A local convenience, not part of the deployed API: Redoc (pinned, integrity-checked,
/// fetched by the browser from jsDelivr) rendering `/api/openapi.json`.
async fn reference_page() -> axum::response::Html<&'static str> {
    axum::response::Html(REFERENCE_PAGE)
}

const REFERENCE_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portal API reference</title>
</head>
<body>
<noscript>The reference needs JavaScript; the document itself is at <a href="/api/openapi.json">/api/openapi.json</a>.</noscript>
<div id="reference"><p style="font-family:sans-serif;margin:2em">Loading the reference (Redoc, from cdn.jsdelivr.net)&hellip; The document itself is at <a href="/api/openapi.json">/api/openapi.json</a>.</p></div>
<script src="https://cdn.jsdelivr.net/npm/redoc@2.5.4/bundles/redoc.standalone.js"
        integrity="sha384-w447zOpYfw/1Tv/5AK9NfHTlQIqE3RVR6KY62jCyy9zNDgO64cMwGGP1Fj0zJVf5"
        crossorigin="anonymous"></script>
<script>
  if (window.Redoc) {
    Redoc.init("/api/openapi.json", { hideDownloadButton: false }, document.getElementById("reference"));
  }
</script>
</body>
</html>
"#;

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
        let operator =
            portal_domain::store::audit::Provenance::operator(config.audit_retention_days);
        let admin =
            portal_services::moderation::ensure_admin(&db, &operator, &email, &password, now())
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
