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
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The configuration this function reads: sessions and cookies, and the community
/// services (Prosody, Atheme, Mailcow, MediaWiki, the bridge's token).
pub const NEEDS: portal_domain::config::Needs = portal_domain::config::Needs {
    auth: true,
    mail: false,
    tunnel: false,
    services: true,
};

/// Every route of the group, with its documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(accounts::list, accounts::create))
        .routes(routes!(accounts::show, accounts::update, accounts::remove))
        .routes(routes!(accounts::reset_password))
        .routes(routes!(
            mailcow::app_passwords,
            mailcow::create_app_password
        ))
        .routes(routes!(mailcow::delete_app_password))
        .routes(routes!(mailcow::aliases, mailcow::create_alias))
        .routes(routes!(mailcow::delete_alias))
        .routes(routes!(mailcow::usage))
        .routes(routes!(wiki::user_stats))
        .routes(routes!(bridge::identity))
}

/// The group's router.
pub fn router(state: AppState) -> Router {
    Router::from(routes()).with_state(state)
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
