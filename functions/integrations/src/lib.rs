//! `integrations`: the registry and the caller's accounts on community services
//! (`/api/integrations/*`, requireAuth; an account's owner or an admin may read, change
//! or delete it), mailbox extras, wiki figures, and the chat bridge's identity look-up
//! (`/api/bridge/*`).

mod accounts;
mod bodies;
mod bridge;
mod mailcow;
mod wiki;

use axum::Json;
use axum::Router;
use axum::extract::State;
use portal_web::AppState;
use portal_web::caller::RequireAuth;
use portal_web::routes::RouteList;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

/// The configuration this function reads: sessions and cookies, and the community
/// services (Prosody, Atheme, Mailcow, MediaWiki, the bridge's token).
pub const NEEDS: portal_domain::config::Needs = portal_domain::config::Needs {
    auth: true,
    mail: false,
    tunnel: false,
    services: true,
};

/// Every route of the group.
fn route_list() -> impl RouteList<AppState> {
    portal_web::route_list![AppState;
        [list],
        [accounts::list, accounts::create],
        [accounts::show, accounts::update, accounts::remove],
        [accounts::reset_password],
        [mailcow::app_passwords, mailcow::create_app_password],
        [mailcow::delete_app_password],
        [mailcow::aliases, mailcow::create_alias],
        [mailcow::delete_alias],
        [mailcow::usage],
        [wiki::user_stats],
        [bridge::identity],
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

/// One integration of the registry.
#[derive(Serialize, ToSchema)]
struct IntegrationView {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    /// Configured completely, so usable.
    enabled: bool,
    icon: Option<&'static str>,
}

/// `{ ok: true, integrations }`.
#[derive(Serialize, ToSchema)]
struct IntegrationList {
    ok: bool,
    integrations: Vec<IntegrationView>,
}

/// Every integration Portal knows, enabled or not.
#[utoipa::path(
    get,
    path = "/api/integrations",
    security(("signedIn" = [])),
    responses((status = 200, description = "The registry", body = IntegrationList))
)]
async fn list(State(state): State<AppState>, RequireAuth(_): RequireAuth) -> Json<IntegrationList> {
    let integrations = state
        .integrations
        .all()
        .map(|i| {
            let about = i.catalogue();
            IntegrationView {
                id: about.id,
                name: about.name,
                description: about.description,
                enabled: i.enabled(),
                icon: about.icon,
            }
        })
        .collect();
    Json(IntegrationList {
        ok: true,
        integrations,
    })
}
