//! BetterAuth's origin (CSRF) check of state-changing requests, and its check of the URL
//! fields a body or a link may carry (resolved first, see `portal_web::origins`).

use axum::extract::{Request, State};
use axum::http::header::COOKIE;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portal_domain::config::Config;
use portal_web::AppState;
use portal_web::origins::{OriginRefusal, check_request_origin, resolve_redirect};
use url::Url;

use crate::error::AuthError;
use crate::state::BASE_PATH;

/// A client-given redirect or callback URL, resolved (see [`resolve_redirect`]); refused
/// with 403 `code`.
pub fn redirect_target(config: &Config, raw: &str, code: &'static str) -> Result<Url, AuthError> {
    resolve_redirect(config, raw).ok_or_else(|| AuthError::code(StatusCode::FORBIDDEN, code))
}

/// BetterAuth's check of the URL fields of a body: `callbackURL`, `errorCallbackURL`,
/// `newUserCallbackURL` (403 `INVALID_CALLBACK_URL`) and `redirectTo` (403
/// `INVALID_REDIRECT_URL`), wherever a body carries them.
pub fn check_url_fields(config: &Config, body: &serde_json::Value) -> Result<(), AuthError> {
    for (field, code) in [
        ("callbackURL", "INVALID_CALLBACK_URL"),
        ("errorCallbackURL", "INVALID_CALLBACK_URL"),
        ("newUserCallbackURL", "INVALID_CALLBACK_URL"),
        ("redirectTo", "INVALID_REDIRECT_URL"),
    ] {
        if let Some(raw) = body.get(field).and_then(serde_json::Value::as_str) {
            redirect_target(config, raw, code)?;
        }
    }
    Ok(())
}

fn forbidden(code: &'static str) -> Response {
    AuthError::code(StatusCode::FORBIDDEN, code).into_response()
}

/// BetterAuth's origin check: state-changing requests that carry cookies (and sign-in /
/// sign-up from a browser fetch) must come from a trusted origin.
pub async fn origin_check(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let full = req.uri().path();
    let path = full.strip_prefix(BASE_PATH).unwrap_or(full);
    let credential_path = path.starts_with("/sign-in/") || path.starts_with("/sign-up/");
    let fetch_metadata = ["sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest"]
        .iter()
        .any(|h| headers.contains_key(*h));
    let has_cookie = headers.contains_key(COOKIE);
    let needs_origin = has_cookie || (credential_path && fetch_metadata);
    if !needs_origin {
        return next.run(req).await;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if credential_path
        && header("sec-fetch-site") == Some("cross-site")
        && header("sec-fetch-mode") == Some("navigate")
    {
        return forbidden("CROSS_SITE_NAVIGATION_LOGIN_BLOCKED");
    }
    match check_request_origin(&state.config, headers) {
        Err(OriginRefusal::Missing) => forbidden("MISSING_OR_NULL_ORIGIN"),
        Err(OriginRefusal::Untrusted) => forbidden("INVALID_ORIGIN"),
        Ok(()) => next.run(req).await,
    }
}
