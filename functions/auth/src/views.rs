//! JSON as BetterAuth shows users, sessions and API keys, and the responses that set or
//! clear the session cookies.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use portal_domain::model::{ApiKey, Session, User};
use portal_web::cookies::CookieJar;
use serde_json::{Value, json};

pub fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "emailVerified": user.email_verified,
        "image": user.image,
        "username": user.username,
        "displayUsername": user.display_username,
        "twoFactorEnabled": user.two_factor_enabled,
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
        "role": user.role.as_str(),
        "banned": user.banned,
        "banReason": user.ban_reason,
        "banExpires": user.ban_expires,
    })
}

pub fn session_json(session: &Session, token: &str) -> Value {
    let mut value = json!({
        "id": session.id,
        "token": token,
        "userId": session.user_id,
        "expiresAt": session.expires_at,
        "createdAt": session.created_at,
        "updatedAt": session.updated_at,
        "ipAddress": session.ip_address,
        "userAgent": session.user_agent,
    });
    if let Some(by) = &session.impersonated_by {
        value["impersonatedBy"] = json!(by);
    }
    value
}

/// An API key row as the api-key plugin returns it (never the hash; `key` only on create).
pub fn api_key_json(key: &ApiKey, plaintext: Option<&str>) -> Value {
    let metadata = key
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .unwrap_or(Value::Null);
    let mut value = json!({
        "id": key.id,
        "configId": key.config_id,
        "name": key.name,
        "start": key.start,
        "prefix": key.prefix,
        "referenceId": key.user_id,
        "userId": key.user_id,
        "enabled": key.enabled,
        "rateLimitEnabled": key.rate_limit_enabled,
        "rateLimitTimeWindow": key.rate_limit_time_window,
        "rateLimitMax": key.rate_limit_max,
        "requestCount": key.request_count,
        "remaining": key.remaining,
        "refillAmount": Value::Null,
        "refillInterval": Value::Null,
        "lastRefillAt": Value::Null,
        "lastRequest": key.last_request,
        "expiresAt": key.expires_at,
        "createdAt": key.created_at,
        "updatedAt": key.updated_at,
        "metadata": metadata,
        "permissions": Value::Null,
    });
    if let Some(k) = plaintext {
        value["key"] = json!(k);
    }
    value
}

pub fn json_response(value: Value) -> Response {
    Json(value).into_response()
}

pub fn append_cookies(response: &mut Response, cookies: Vec<String>) {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
}

/// Left on a response that started a session, for multi-session tracking
/// (`multi_session::track`).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub remember: bool,
}

/// [`set_session`] for a session just started: multi-session tracking remembers it.
pub fn started_session(
    response: Response,
    jar: &CookieJar,
    token: &str,
    remember: bool,
) -> Response {
    let mut response = set_session(response, jar, token, remember);
    response.extensions_mut().insert(NewSession {
        token: token.to_string(),
        remember,
    });
    response
}

/// Sets the session cookie(s) and BetterAuth's bearer-plugin `set-auth-token` header.
pub fn set_session(
    mut response: Response,
    jar: &CookieJar,
    token: &str,
    remember: bool,
) -> Response {
    append_cookies(&mut response, jar.session_cookies(token, remember));
    if let Ok(value) = HeaderValue::from_str(&jar.signed(token)) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("set-auth-token"), value);
        response.headers_mut().insert(
            HeaderName::from_static("access-control-expose-headers"),
            HeaderValue::from_static("set-auth-token"),
        );
    }
    response
}

/// The three expiring cookies.
pub fn clear_session(mut response: Response, jar: &CookieJar) -> Response {
    append_cookies(&mut response, jar.expired_cookies());
    response
}

/// BetterAuth's redirects: 302, empty body, JSON content type, `Location`.
pub fn redirect(location: &str) -> Response {
    let mut response = (
        StatusCode::FOUND,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// `url` with `name=value` appended to its query.
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}{name}={}",
        portal_web::cookies::percent_encode(value)
    )
}
