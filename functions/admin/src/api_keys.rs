//! `/api/admin/api-keys`: everyone's keys (never the key or its hash), with their owner.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use portal_shared::auth::RequireAdminOrStaff;
use portal_shared::model::{ApiKey, User};
use portal_shared::validation::{FromQuery, Paging, PathId, QueryReader, ValidQuery};
use portal_shared::{ApiError, ApiResult, AppState};
use serde_json::{Value, json};

use crate::may_manage;
use portal_shared::http::listed;

pub const KEY_NOT_FOUND: &str = "API key not found";

fn key_view(key: &ApiKey, owner: Option<&User>) -> Value {
    json!({
        "id": key.id,
        "userId": key.user_id,
        "name": key.name,
        "enabled": key.enabled,
        "lastUsedAt": key.last_request,
        "createdAt": key.created_at,
        "user": owner.map(|u| json!({ "id": u.id, "email": u.email, "name": u.name })),
    })
}

pub struct KeyQuery {
    user_id: Option<String>,
    enabled: Option<bool>,
    paging: Paging,
}

impl FromQuery for KeyQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        Self {
            user_id: q.string("userId", portal_shared::validation::MAX_ID_LEN),
            enabled: q.bool("enabled"),
            paging: Paging::read(q, 100),
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<KeyQuery>,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let page = state
        .db
        .api_keys()
        .list_page(
            query.user_id.as_deref(),
            query.enabled,
            &query.paging.request(&state.sealer)?,
        )
        .await?;
    let owner_ids: Vec<String> = page.items.iter().map(|k| k.user_id.clone()).collect();
    let owners: HashMap<String, User> = state
        .db
        .users()
        .get_many(&owner_ids)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    let keys: Vec<Value> = page
        .items
        .iter()
        .map(|k| key_view(k, owners.get(&k.user_id)))
        .collect();
    Ok(Json(listed(
        &state.sealer,
        "apiKeys",
        keys,
        page.next.as_ref(),
    )))
}

pub async fn show(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let key = state
        .db
        .api_keys()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(KEY_NOT_FOUND))?;
    let owner = state.db.users().get(&key.user_id).await?;
    Ok(Json(json!({ "apiKey": key_view(&key, owner.as_ref()) })))
}

/// The key stops working at once. Staff may delete only regular users' keys.
pub async fn remove(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let key = state
        .db
        .api_keys()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(KEY_NOT_FOUND))?;
    if let Some(owner) = state.db.users().get(&key.user_id).await? {
        may_manage(&actor.user, owner.role)?;
    }
    if !state.db.api_keys().delete(id.as_str(), None).await? {
        return Err(ApiError::not_found(KEY_NOT_FOUND));
    }
    Ok(Json(json!({ "ok": true })))
}
