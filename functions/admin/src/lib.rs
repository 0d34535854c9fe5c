//! `admin`: user, session, API key and OAuth client management and the dashboard stats
//! (`/api/admin/*`, requireAdminOrStaff; some actions admin only).

mod api_keys;
mod oauth_clients;
mod sessions;
mod stats;
mod users;

use axum::Router;
use axum::routing::get;
use portal_shared::AppState;

/// The configuration this function reads: sessions and cookies, and Prosody (deleting a user deprovisions their accounts).
pub const NEEDS: portal_shared::config::Needs = portal_shared::config::Needs {
    auth: true,
    mail: false,
    sentry: false,
    prosody: true,
};

/// Every route of the group.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/admin/users", get(users::list))
        .route(
            "/api/admin/users/{id}",
            get(users::show).patch(users::update).delete(users::remove),
        )
        .route("/api/admin/sessions", get(sessions::list))
        .route(
            "/api/admin/sessions/{id}",
            get(sessions::show).delete(sessions::revoke),
        )
        .route("/api/admin/api-keys", get(api_keys::list))
        .route(
            "/api/admin/api-keys/{id}",
            get(api_keys::show).delete(api_keys::remove),
        )
        .route(
            "/api/admin/oauth-clients",
            get(oauth_clients::list).post(oauth_clients::create),
        )
        .route(
            "/api/admin/oauth-clients/{id}",
            get(oauth_clients::show).patch(oauth_clients::update),
        )
        .route("/api/admin/stats", get(stats::show))
        .with_state(state)
}

/// The shared staff rule (see `portal_shared::moderation`), as this API answers it.
pub(crate) fn may_manage(
    actor: &portal_shared::model::User,
    target_role: portal_shared::model::Role,
) -> Result<(), portal_shared::ApiError> {
    use portal_shared::moderation::{Actor, Refused};
    if portal_shared::moderation::may_manage(Actor::Member(actor), target_role) {
        Ok(())
    } else {
        Err(Refused::NeedsAdmin.into())
    }
}
