//! `user`: the signed-in user's own profile and sessions (`/api/user/*`, requireAuth).

mod me;
mod security_events;
mod sessions;

use axum::Router;
use portal_web::AppState;
use portal_web::routes::RouteList;
use utoipa_axum::router::OpenApiRouter;

/// The configuration this function reads: sessions and cookies.
pub const NEEDS: portal_domain::config::Needs = portal_domain::config::Needs {
    auth: true,
    mail: false,
    tunnel: false,
    services: false,
};

/// Every route of the group.
fn route_list() -> impl RouteList<AppState> {
    portal_web::route_list![AppState;
        [me::show, me::update],
        [sessions::list],
        [sessions::revoke],
        [security_events::list],
    ]
}

/// The routes with their documentation (the OpenAPI document's part of this group).
pub fn routes() -> OpenApiRouter<AppState> {
    route_list().documented(std::convert::identity)
}

/// The group's router.
pub fn router(state: AppState) -> Router {
    route_list()
        .served(std::convert::identity)
        .with_state(state)
}
