//! The answers that set or clear the session cookies (the bodies are `wire` types).

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use portal_web::cookies::CookieJar;
use serde::Serialize;

/// `Cache-Control: no-store` and `Pragma: no-cache`: an answer that carries a token or a
/// session (get-session, every token of the OpenID Connect provider, a provider's tokens).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    headers.insert(
        axum::http::header::PRAGMA,
        HeaderValue::from_static("no-cache"),
    );
    response
}

/// `body` as the JSON answer.
pub fn json_response<T: Serialize>(body: &T) -> Response {
    Json(body).into_response()
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
#[derive(Clone)]
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
