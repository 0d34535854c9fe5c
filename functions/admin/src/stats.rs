//! `/api/admin/stats`: one BatchGetItem of counters and expiry buckets, one small Query.

use axum::Json;
use axum::extract::State;
use portal_domain::time::now;
use portal_web::caller::RequireAdminOrStaff;
use portal_web::{ApiResult, AppState};
use serde::Serialize;
use utoipa::ToSchema;

/// `{ users, sessions, apiKeys, oauthClients }` counts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub users: UserCounts,
    pub sessions: SessionCounts,
    pub api_keys: KeyCounts,
    pub oauth_clients: ClientCounts,
}

#[derive(Serialize, ToSchema)]
pub struct UserCounts {
    pub total: i64,
    pub admins: i64,
    pub staff: i64,
    pub banned: i64,
    pub regular: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SessionCounts {
    pub total: i64,
    pub active: i64,
}

#[derive(Serialize, ToSchema)]
pub struct KeyCounts {
    pub total: i64,
    pub enabled: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ClientCounts {
    pub total: i64,
    pub disabled: i64,
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
) -> ApiResult<Json<Stats>> {
    let s = state.db.stats().read(now()).await?;
    Ok(Json(Stats {
        users: UserCounts {
            total: s.users,
            admins: s.admins,
            staff: s.staff,
            banned: s.banned,
            regular: s.users - s.admins - s.staff,
        },
        sessions: SessionCounts {
            total: s.sessions_total,
            active: s.sessions_active,
        },
        api_keys: KeyCounts {
            total: s.api_keys,
            enabled: s.api_keys_enabled,
        },
        oauth_clients: ClientCounts {
            total: s.oauth_clients,
            disabled: s.oauth_disabled,
        },
    }))
}
