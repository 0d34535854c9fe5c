//! The api-key plugin's endpoints for the signed-in user: create, list, get, update,
//! delete. Keys are shown once, on creation; only their hash is stored.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::model::ApiKey;
use portal_domain::store::audit::Event;
use portal_domain::time::{iso, now};
use portal_web::caller::Via;
use portal_web::caller::token::{DEFAULT_KEY_PREFIX, key_hash, key_id, new_api_key};
use portal_web::http::RequestProvenance;
use serde_json::Value;
use time::Duration;

use crate::error::{AuthError, AuthResult};
use crate::extract::AnyUser;
use crate::input::{Body, Fields};
use crate::state::AuthState;
use crate::views::json_response;
use crate::wire::{AuthApiKey, KeyList, Success};

const SERVER_ONLY: [&str; 9] = [
    "remaining",
    "refillAmount",
    "refillInterval",
    "rateLimitTimeWindow",
    "rateLimitMax",
    "rateLimitEnabled",
    "permissions",
    "userId",
    "organizationId",
];
const MAX_NAME: usize = 32;
const MAX_PREFIX: usize = 32;
/// Metadata is stored on the key item (400 KB at most in DynamoDB): keep it small.
const MAX_METADATA_BYTES: usize = 4096;
const MIN_EXPIRES_IN: f64 = 86_400.0;
const MAX_EXPIRES_IN: f64 = 365.0 * 86_400.0;

fn owner(user: &AnyUser) -> AuthResult<&str> {
    // Keys manage keys only through a session, as BetterAuth requires.
    match &user.identity.via {
        Via::Session(_) => Ok(&user.identity.user.id),
        Via::ApiKey(_) => Err(AuthError::code(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_SESSION",
        )),
    }
}

fn check_name(name: &Option<String>) -> AuthResult<()> {
    match name {
        Some(n) if n.is_empty() || n.chars().count() > MAX_NAME => Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "INVALID_NAME_LENGTH",
        )),
        _ => Ok(()),
    }
}

fn expiry(expires_in: Option<Option<f64>>) -> AuthResult<Option<Option<String>>> {
    match expires_in {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(secs)) if secs < MIN_EXPIRES_IN => Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "EXPIRES_IN_IS_TOO_SMALL",
        )),
        Some(Some(secs)) if secs > MAX_EXPIRES_IN => Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "EXPIRES_IN_IS_TOO_LARGE",
        )),
        Some(Some(secs)) => Ok(Some(Some(iso(now() + Duration::seconds(secs as i64))))),
    }
}

fn metadata(f: &Fields) -> AuthResult<Option<String>> {
    match f.raw("metadata") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => {
            let json = Value::Object(map.clone()).to_string();
            if json.len() > MAX_METADATA_BYTES {
                return Err(AuthError::code(
                    StatusCode::BAD_REQUEST,
                    "METADATA_TOO_LARGE",
                ));
            }
            Ok(Some(json))
        }
        Some(_) => Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "INVALID_METADATA_TYPE",
        )),
    }
}

/// `POST /api-key/create {name?, expiresIn?, prefix?, metadata?}`
#[utoipa::path(
    post, path = "/api-key/create", security(("signedIn" = [])),
    request_body(content = Option<crate::wire::CreateKey>, content_type = "application/json", description = "Every field is optional; no body is an unnamed key"),
    responses((status = 200, description = "The key, with `key` shown this once", body = crate::wire::AuthApiKey))
)]
pub async fn create(
    State(state): State<AuthState>,
    user: Result<AnyUser, AuthError>,
    RequestProvenance(origin): RequestProvenance,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, true);
    let name = f.optional_string("name");
    let prefix = f.optional_string("prefix");
    let expires_in = f.optional_number("expiresIn");
    f.optional_string("configId");
    let server_only = SERVER_ONLY.iter().any(|field| f.has(field));
    let metadata = metadata(&f);
    f.finish()?;
    if server_only {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "SERVER_ONLY_PROPERTY",
        ));
    }
    let user = user?;
    if let portal_web::caller::Via::Session(session) = &user.identity.via {
        crate::extract::refuse_impersonation(session)?;
    }
    let user_id = owner(&user)?.to_string();
    check_name(&name)?;
    if let Some(p) = &prefix
        && (p.is_empty()
            || p.len() > MAX_PREFIX
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "INVALID_PREFIX_LENGTH",
        ));
    }
    let metadata = metadata?;
    let expires_at = expiry(expires_in)?.flatten();
    let prefix = prefix.unwrap_or_else(|| DEFAULT_KEY_PREFIX.to_string());
    let raw = new_api_key(&prefix, &user_id);
    let at = iso(now());
    let limits = state.app.config.rate_limits.per_api_key;
    let key = ApiKey {
        id: key_id(&raw),
        config_id: "default".into(),
        name,
        start: Some(raw.chars().take(6).collect()),
        prefix: Some(prefix),
        key_hash: key_hash(&raw),
        user_id,
        enabled: true,
        rate_limit_enabled: state.app.config.rate_limits.enabled,
        rate_limit_time_window: (limits.window_secs * 1000) as i64,
        rate_limit_max: i64::from(limits.max),
        request_count: 0,
        remaining: None,
        last_request: None,
        expires_at,
        created_at: at.clone(),
        updated_at: at,
        metadata,
        generation: user.identity.user.generations.api_keys,
    };
    let event = Event::of_key(&origin.as_user(&key.user_id), "api_key.created", &key);
    let key = state
        .app
        .db
        .api_keys()
        .create_audited(key, Some(&event))
        .await?;
    Ok(json_response(&AuthApiKey::of(&key, Some(&raw))))
}

/// `GET /api-key/list?limit=&offset=`
#[utoipa::path(
    get, path = "/api-key/list", security(("signedIn" = [])),
    params(("limit" = Option<u32>, Query), ("offset" = Option<u32>, Query)),
    responses((status = 200, description = "The caller's keys (never the key)", body = crate::wire::KeyList))
)]
pub async fn list(
    State(state): State<AuthState>,
    user: AnyUser,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    let user_id = owner(&user)?;
    let live = user.identity.user.generations.api_keys;
    let keys: Vec<ApiKey> = state
        .app
        .db
        .api_keys()
        .list_for_user(user_id)
        .await?
        .into_iter()
        .filter(|k| k.generation >= live)
        .collect();
    let total = keys.len();
    let number = |name: &str| -> AuthResult<Option<usize>> {
        match query.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<usize>().map(Some).map_err(|_| {
                AuthError::validation(format!(
                    "[query.{name}] Invalid input: expected number, received NaN"
                ))
            }),
        }
    };
    let (limit, offset) = (number("limit")?, number("offset")?);
    Ok(json_response(&KeyList {
        api_keys: keys
            .iter()
            .skip(offset.unwrap_or(0))
            .take(limit.unwrap_or(usize::MAX))
            .map(|k| AuthApiKey::of(k, None))
            .collect(),
        total: total as u64,
        limit: limit.map(|l| l as u64),
        offset: offset.map(|o| o as u64),
    }))
}

async fn own_key(state: &AuthState, user_id: &str, id: &str) -> AuthResult<ApiKey> {
    state
        .app
        .db
        .api_keys()
        .get(id)
        .await?
        .filter(|k| k.user_id == user_id)
        .ok_or_else(|| AuthError::code(StatusCode::NOT_FOUND, "KEY_NOT_FOUND"))
}

/// `GET /api-key/get?id=`
#[utoipa::path(
    get, path = "/api-key/get", security(("signedIn" = [])),
    params(("id" = String, Query)),
    responses(
        (status = 200, description = "The key (never the key itself)", body = crate::wire::AuthApiKey),
        (status = 404, description = "`KEY_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn get(
    State(state): State<AuthState>,
    user: AnyUser,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    let user_id = owner(&user)?;
    let Some(id) = query.get("id") else {
        return Err(AuthError::validation(
            "[query.id] Invalid input: expected string, received undefined".into(),
        ));
    };
    let key = own_key(&state, user_id, id).await?;
    Ok(json_response(&AuthApiKey::of(&key, None)))
}

/// `POST /api-key/update {keyId, name?, enabled?, expiresIn?, metadata?}`
#[utoipa::path(
    post, path = "/api-key/update", security(("signedIn" = [])),
    request_body = crate::wire::UpdateKey,
    responses(
        (status = 200, description = "The changed key", body = crate::wire::AuthApiKey),
        (status = 404, description = "`KEY_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn update(
    State(state): State<AuthState>,
    user: AnyUser,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let key_id = f.string("keyId");
    let name = f.optional_string("name");
    let enabled = f.optional_bool("enabled");
    let expires_in = f.optional_number("expiresIn");
    let server_only = SERVER_ONLY
        .iter()
        .filter(|k| **k != "userId")
        .any(|field| f.has(field));
    let has_metadata = f.has("metadata");
    let metadata = metadata(&f);
    f.finish()?;
    if server_only {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "SERVER_ONLY_PROPERTY",
        ));
    }
    let user_id = owner(&user)?;
    let Some(key_id) = key_id else {
        return Err(AuthError::validation(
            "[body.keyId] Invalid input: expected string, received undefined".into(),
        ));
    };
    let old = own_key(&state, user_id, &key_id).await?;
    let mut key = old.clone();
    if name.is_none() && enabled.is_none() && expires_in.is_none() && !has_metadata {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "NO_VALUES_TO_UPDATE",
        ));
    }
    check_name(&name)?;
    if let Some(n) = name {
        key.name = Some(n);
    }
    if let Some(e) = enabled {
        key.enabled = e;
    }
    if let Some(expires) = expiry(expires_in)? {
        key.expires_at = expires;
    }
    if has_metadata {
        key.metadata = metadata?;
    }
    key.updated_at = iso(now());
    if !state.app.db.api_keys().save(&old, &key).await? {
        // Changed or deleted by another request meanwhile.
        return Err(AuthError::code(StatusCode::NOT_FOUND, "KEY_NOT_FOUND"));
    }
    Ok(json_response(&AuthApiKey::of(&key, None)))
}

/// `POST /api-key/delete {keyId}`
#[utoipa::path(
    post, path = "/api-key/delete", security(("signedIn" = [])),
    request_body = crate::wire::DeleteKey,
    responses(
        (status = 200, description = "Deleted", body = crate::wire::Success),
        (status = 404, description = "`KEY_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AuthState>,
    user: AnyUser,
    RequestProvenance(origin): RequestProvenance,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let key_id = f.string("keyId");
    f.finish()?;
    let user_id = owner(&user)?;
    let Some(key_id) = key_id else {
        return Err(AuthError::validation(
            "[body.keyId] Invalid input: expected string, received undefined".into(),
        ));
    };
    let origin = origin.as_user(user_id);
    if state
        .app
        .db
        .api_keys()
        .delete_audited(&key_id, Some(user_id), |key| {
            Some(Event::of_key(&origin, "api_key.deleted", key))
        })
        .await?
    {
        Ok(json_response(&Success { success: true }))
    } else {
        Err(AuthError::code(StatusCode::NOT_FOUND, "KEY_NOT_FOUND"))
    }
}
