//! `integrations`: the registry and the caller's accounts on community services
//! (`/api/integrations/*`, requireAuth; an account's owner or an admin may read, change
//! or delete it).

mod accounts;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use portal_shared::AppState;
use portal_shared::auth::RequireAuth;
use serde_json::{Value, json};

/// The configuration this function reads: sessions and cookies, and Prosody.
pub const NEEDS: portal_shared::config::Needs = portal_shared::config::Needs {
    auth: true,
    mail: false,
    sentry: false,
    prosody: true,
};

/// Every route of the group.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/integrations", get(list))
        .route(
            "/api/integrations/{integration}/accounts",
            get(accounts::list).post(accounts::create),
        )
        .route(
            "/api/integrations/{integration}/accounts/{id}",
            get(accounts::show)
                .patch(accounts::update)
                .delete(accounts::remove),
        )
        .with_state(state)
}

/// `GET /api/integrations`
async fn list(State(state): State<AppState>, RequireAuth(_): RequireAuth) -> Json<Value> {
    let integrations: Vec<Value> = state
        .integrations
        .all()
        .map(|i| json!({ "id": i.id(), "name": i.name(), "description": i.description(), "enabled": i.enabled(), "icon": i.icon() }))
        .collect();
    Json(json!({ "ok": true, "integrations": integrations }))
}
