//! `/api/admin/stats`: one BatchGetItem of counters and expiry buckets, one small Query.

use axum::Json;
use axum::extract::State;
use portal_domain::time::now;
use portal_web::auth::RequireAdminOrStaff;
use portal_web::{ApiResult, AppState};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// `{ users, sessions, apiKeys, oauthClients }` counts.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    users: UserCounts,
    sessions: SessionCounts,
    api_keys: KeyCounts,
    oauth_clients: ClientCounts,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UserCounts {
    total: i64,
    admins: i64,
    staff: i64,
    banned: i64,
    regular: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SessionCounts {
    total: i64,
    active: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct KeyCounts {
    total: i64,
    enabled: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ClientCounts {
    total: i64,
    disabled: i64,
}

/// Exact counts, read in O(1).
#[utoipa::path(
    get,
    path = "/api/admin/stats",
    security(("signedIn" = [])),
    responses((status = 200, description = "The counts", body = Stats))
)]
pub async fn show(
    State(state): State<AppState>,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let s = state.db.stats().read(now()).await?;
    Ok(Json(json!({
        "users": {
            "total": s.users,
            "admins": s.admins,
            "staff": s.staff,
            "banned": s.banned,
            "regular": s.users - s.admins - s.staff,
        },
        "sessions": { "total": s.sessions_total, "active": s.sessions_active },
        "apiKeys": { "total": s.api_keys, "enabled": s.api_keys_enabled },
        "oauthClients": { "total": s.oauth_clients, "disabled": s.oauth_disabled },
    })))
}
