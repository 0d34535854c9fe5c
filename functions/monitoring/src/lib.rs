//! `monitoring`: the Sentry tunnel (`/api/monitoring`) and the health check (`/api/health`).

mod health;
mod monitoring;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use portal_web::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt as _;
use utoipa_axum::routes;

pub use monitoring::SentryTunnel;

/// The configuration this function reads: Sentry only: it authenticates nobody.
pub const NEEDS: portal_domain::config::Needs = portal_domain::config::Needs {
    auth: false,
    mail: false,
    tunnel: true,
    services: false,
};

/// Every route of the group, with its documentation. `body_cap` bounds a tunnelled envelope.
pub fn routes(body_cap: usize) -> OpenApiRouter<monitoring::TunnelState> {
    OpenApiRouter::new()
        .routes(
            routes!(monitoring::status, monitoring::forward).layer(DefaultBodyLimit::max(body_cap)),
        )
        .routes(routes!(health::check))
        .routes(routes!(document))
}

/// The group's router.
pub fn router(state: AppState) -> Router {
    let tunnel = SentryTunnel::from_config(&state.config);
    let body_cap = state
        .config
        .tunnel
        .as_ref()
        .map_or(state.config.max_body_bytes, |t| t.max_bytes);
    Router::from(routes(body_cap)).with_state(monitoring::TunnelState { app: state, tunnel })
}

/// The published OpenAPI document (`docs/openapi.json`, kept current by
/// `scripts/openapi --check` in CI), embedded at build time: no secret, no per-request work.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// This API's OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
async fn document() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        OPENAPI_JSON,
    )
        .into_response()
}
