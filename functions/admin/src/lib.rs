//! `admin`: user, session, API key and OAuth client management and the dashboard stats
//! (`/api/admin/*`, requireAdminOrStaff; some actions admin only).

mod api_keys;
mod audit_log;
mod oauth_clients;
mod service_accounts;
mod sessions;
mod stats;
mod users;

use axum::Router;
use portal_web::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The configuration this function reads: sessions and cookies, and the community services
/// (moderating service accounts; deleting or banning a user acts on theirs).
pub const NEEDS: portal_domain::config::Needs = portal_domain::config::Needs {
    auth: true,
    mail: false,
    tunnel: false,
    services: true,
};

/// Every route of the group, with its documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users::list))
        .routes(routes!(users::show, users::update, users::remove))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::show, sessions::revoke))
        .routes(routes!(api_keys::list))
        .routes(routes!(api_keys::show, api_keys::remove))
        .routes(routes!(oauth_clients::list, oauth_clients::create))
        .routes(routes!(oauth_clients::show, oauth_clients::update))
        .routes(routes!(stats::show))
        .routes(routes!(audit_log::list))
        .routes(routes!(service_accounts::xmpp::list))
        .routes(routes!(
            service_accounts::xmpp::show,
            service_accounts::xmpp::update,
            service_accounts::xmpp::remove
        ))
        .routes(routes!(service_accounts::irc::list))
        .routes(routes!(
            service_accounts::irc::show,
            service_accounts::irc::update,
            service_accounts::irc::remove
        ))
        .routes(routes!(service_accounts::mailcow::list))
        .routes(routes!(
            service_accounts::mailcow::show,
            service_accounts::mailcow::update,
            service_accounts::mailcow::remove
        ))
        .routes(routes!(service_accounts::mediawiki::list))
        .routes(routes!(
            service_accounts::mediawiki::show,
            service_accounts::mediawiki::update,
            service_accounts::mediawiki::remove
        ))
}

/// The group's router.
pub fn router(state: AppState) -> Router {
    Router::from(routes()).with_state(state)
}
