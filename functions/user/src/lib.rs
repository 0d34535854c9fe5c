//! `user`: the signed-in user's own profile and sessions (`/api/user/*`, requireAuth).

mod me;
mod sessions;

use axum::Router;
use axum::routing::{delete, get};
use portal_shared::AppState;

/// The configuration this function reads: sessions and cookies.
pub const NEEDS: portal_shared::config::Needs = portal_shared::config::Needs {
    auth: true,
    mail: false,
    sentry: false,
    prosody: false,
};

/// Every route of the group.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/user/me", get(me::show).patch(me::update))
        .route("/api/user/sessions", get(sessions::list))
        .route("/api/user/sessions/{id}", delete(sessions::revoke))
        .with_state(state)
}
