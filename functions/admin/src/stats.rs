//! `/api/admin/stats`: one BatchGetItem of counters and expiry buckets, one small Query.

use axum::Json;
use axum::extract::State;
use portal_shared::auth::RequireAdminOrStaff;
use portal_shared::time::now;
use portal_shared::{ApiResult, AppState};
use serde_json::{Value, json};

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
