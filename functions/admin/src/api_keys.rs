//! `/api/admin/api-keys`: everyone's keys (never the key or its hash), with their owner.

use portal_web::views::{DONE, Done, next_cursor};
use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use portal_domain::model::{ApiKey, User};
use portal_domain::store::audit::Event;
use portal_web::caller::RequireAdminOrStaff;
use portal_web::http::RequestProvenance;
use portal_web::openapi::{ErrorEnvelope, Id};
use portal_web::validation::{FromQuery, Paging, PathId, QueryReader, ValidQuery};
use portal_web::{ApiError, ApiResult, AppState};
use serde::Serialize;
use utoipa::ToSchema;

pub const KEY_NOT_FOUND: &str = "API key not found";

/// An API key as staff see it: never the key, never its hash.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    id: String,
    user_id: String,
    name: Option<String>,
    /// The key's first characters (BetterAuth's `start`), to recognise it by.
    start: Option<String>,
    prefix: Option<String>,
    enabled: bool,
    last_used_at: Option<String>,
    /// The same, under BetterAuth's name for it.
    last_request: Option<String>,
    expires_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// The owner (`null` if the user is gone).
    user: Option<Owner>,
}

/// Who owns a key.
#[derive(Serialize, ToSchema)]
pub struct Owner {
    id: String,
    email: String,
    name: String,
}

fn key_view(key: &ApiKey, owner: Option<&User>) -> KeyView {
    KeyView {
        id: key.id.clone(),
        user_id: key.user_id.clone(),
        name: key.name.clone(),
        start: key.start.clone(),
        prefix: key.prefix.clone(),
        enabled: key.enabled,
        last_used_at: key.last_request.clone(),
        last_request: key.last_request.clone(),
        expires_at: key.expires_at.clone(),
        created_at: key.created_at.clone(),
        updated_at: key.updated_at.clone(),
        user: owner.map(|u| Owner {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
        }),
    }
}

/// `{ apiKeys, nextCursor? }`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyList {
    pub api_keys: Vec<KeyView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `{ apiKey }`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyBody {
    pub api_key: KeyView,
}

pub struct KeyQuery {
    user_id: Option<String>,
    enabled: Option<bool>,
    paging: Paging,
}

impl FromQuery for KeyQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        Self {
            user_id: q.string("userId", portal_web::validation::MAX_ID_LEN),
            enabled: q.bool("enabled"),
            paging: Paging::read(q, 100),
        }
    }
}

/// Everyone's API keys (or one user's), newest first, with their owner.
#[utoipa::path(
    get,
    path = "/api/admin/api-keys",
    security(("signedIn" = [])),
    params(
        ("userId" = Option<String>, Query, max_length = 128),
        ("enabled" = Option<bool>, Query),
        portal_web::openapi::Paging,
    ),
    responses((status = 200, description = "A page of keys", body = KeyList))
)]
pub async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<KeyQuery>,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<KeyList>> {
    let page = state
        .db
        .api_keys()
        .list_page(
            query.user_id.as_deref(),
            query.enabled,
            &query.paging.request(&state.keyring)?,
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
    let keys: Vec<KeyView> = page
        .items
        .iter()
        .map(|k| key_view(k, owners.get(&k.user_id)))
        .collect();
    Ok(Json(KeyList {
        api_keys: keys,
        next_cursor: next_cursor(&state.keyring, page.next.as_ref()),
    }))
}

/// One API key.
#[utoipa::path(
    get,
    path = "/api/admin/api-keys/{id}",
    security(("signedIn" = [])),
    params(Id),
    responses(
        (status = 200, description = "The key", body = KeyBody),
        (status = 404, description = "`API key not found`", body = ErrorEnvelope),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<KeyBody>> {
    let key = state
        .db
        .api_keys()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(KEY_NOT_FOUND))?;
    let owner = state.db.users().get(&key.user_id).await?;
    Ok(Json(KeyBody {
        api_key: key_view(&key, owner.as_ref()),
    }))
}

/// The key stops working at once. Staff may delete only regular users' keys.
/// Deletes an API key; it stops working at once.
#[utoipa::path(
    delete,
    path = "/api/admin/api-keys/{id}",
    security(("signedIn" = [])),
    params(Id),
    responses(
        (status = 200, description = "Deleted", body = portal_web::views::Done),
        (status = 404, description = "`API key not found`", body = ErrorEnvelope),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
    RequestProvenance(origin): RequestProvenance,
) -> ApiResult<Json<Done>> {
    let key = state
        .db
        .api_keys()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(KEY_NOT_FOUND))?;
    if let Some(owner) = state.db.users().get(&key.user_id).await? {
        actor.may_manage(&state.config, owner.role)?;
    }
    let origin = origin.as_user(&actor.user.id);
    let deleted = state
        .db
        .api_keys()
        .delete_audited(id.as_str(), None, |key| {
            Some(Event::of_key(&origin, "api_key.deleted", key))
        })
        .await?;
    if !deleted {
        return Err(ApiError::not_found(KEY_NOT_FOUND));
    }
    Ok(Json(DONE))
}
