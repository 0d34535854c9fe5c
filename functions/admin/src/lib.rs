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
use portal_web::routes::RouteList;
use utoipa_axum::router::OpenApiRouter;

/// The configuration this function reads: sessions and cookies, and the community services
/// (moderating service accounts; deleting or banning a user acts on theirs).
pub const NEEDS: portal_domain::config::Needs = portal_domain::config::Needs {
    auth: true,
    mail: false,
    tunnel: false,
    services: true,
};

/// Every route of the group.
fn route_list() -> impl RouteList<AppState> {
    portal_web::route_list![AppState;
        [users::list],
        [users::show, users::update, users::remove],
        [sessions::list],
        [sessions::show, sessions::revoke],
        [api_keys::list],
        [api_keys::show, api_keys::remove],
        [oauth_clients::list, oauth_clients::create],
        [oauth_clients::show, oauth_clients::update, oauth_clients::remove],
        [stats::show],
        [audit_log::list],
        [service_accounts::xmpp::list],
        [
            service_accounts::xmpp::show,
            service_accounts::xmpp::update,
            service_accounts::xmpp::remove
        ],
        [service_accounts::irc::list],
        [
            service_accounts::irc::show,
            service_accounts::irc::update,
            service_accounts::irc::remove
        ],
        [service_accounts::mailcow::list],
        [
            service_accounts::mailcow::show,
            service_accounts::mailcow::update,
            service_accounts::mailcow::remove
        ],
        [service_accounts::mediawiki::list],
        [
            service_accounts::mediawiki::show,
            service_accounts::mediawiki::update,
            service_accounts::mediawiki::remove
        ],
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
