//! `user`: the signed-in user's own profile and sessions (`/api/user/*`, requireAuth).

mod me;
mod security_events;
mod sessions;

use axum::Router;
use portal_web::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The configuration this function reads: sessions and cookies.
pub const NEEDS: portal_domain::config::Needs = portal_domain::config::Needs {
    auth: true,
    mail: false,
    tunnel: false,
    services: false,
};

/// Every route of the group, with its documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me::show, me::update))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::revoke))
        .routes(routes!(security_events::list))
}

/// The group's router.
pub fn router(state: AppState) -> Router {
    Router::from(routes()).with_state(state)
}
