//! `monitoring`: the Sentry tunnel (`/api/monitoring`) and the health check (`/api/health`).

mod health;
mod monitoring;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use portal_shared::AppState;

pub use monitoring::SentryTunnel;

/// The configuration this function reads: Sentry only: it authenticates nobody.
pub const NEEDS: portal_shared::config::Needs = portal_shared::config::Needs {
    auth: false,
    mail: false,
    sentry: true,
    prosody: false,
};

/// Every route of the group.
pub fn router(state: AppState) -> Router {
    let tunnel = SentryTunnel::from_config(&state.config);
    let body_cap = state.config.sentry.tunnel_max_bytes;
    Router::new()
        .route(
            "/api/monitoring",
            get(monitoring::status)
                .post(monitoring::forward)
                .with_state(monitoring::TunnelState {
                    app: state.clone(),
                    tunnel,
                })
                .layer(DefaultBodyLimit::max(body_cap)),
        )
        .route("/api/health", get(health::check).with_state(state))
}
