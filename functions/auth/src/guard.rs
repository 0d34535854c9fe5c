//! Origin (CSRF) checks, callback-URL checks, and the auth rate limiter, as BetterAuth
//! applies them, plus the session guard of BetterAuth's protected endpoints.

use axum::body::Body as AxumBody;
use axum::extract::{FromRef, FromRequestParts, MatchedPath, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portal_shared::AppState;
use portal_shared::auth::{Identity, Via, presented, resolve};
use portal_shared::config::{Config, Rule};
use portal_shared::http::{VerbatimBody, client_ip, rate_limit_subject};
use portal_shared::origins::{OriginRefusal, check_request_origin, resolve_redirect};
use portal_shared::rate_limit::{self, Bucket};
use portal_shared::store::rate_limits::RateDecision;
use url::Url;

use crate::BASE_PATH;
use crate::error::AuthError;

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

/// Which rule a path is counted under.
pub fn rule_for(config: &Config, path: &str) -> Rule {
    let limits = &config.rate_limits;
    if ["/sign-in", "/sign-up", "/change-password", "/change-email"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        limits.credentials
    } else if path.starts_with("/request-password-reset")
        || path.starts_with("/send-verification-email")
        || path.starts_with("/forget-password")
    {
        limits.mail
    } else {
        limits.auth_default
    }
}

/// BetterAuth's 429: text/plain JSON message, `X-Retry-After`, plus our standard headers.
pub fn too_many(decision: &RateDecision) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        )],
        AxumBody::from(r#"{"message":"Too many requests. Please try again later."}"#),
    )
        .into_response();
    rate_limit::apply_headers(response.headers_mut(), decision);
    response.extensions_mut().insert(VerbatimBody);
    response
}

/// Per IP and path, before routing; the answer carries the `X-RateLimit-*` headers.
pub async fn rate_limit_by_ip(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let full = parts.uri.path();
    let path = full.strip_prefix(BASE_PATH).unwrap_or(full).to_string();
    // Counted per route template: a raw path can carry a secret (a reset token), and a
    // table key never holds one.
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str())
        .unwrap_or(full);
    let route = route.strip_prefix(BASE_PATH).unwrap_or(route);
    let ip = client_ip(&parts).map_or_else(|| "unknown".to_string(), rate_limit_subject);
    let bucket = Bucket::new(
        format!("auth|ip|{ip}|{route}"),
        rule_for(&state.config, &path),
    );
    let decision = match rate_limit::check(&state, &[bucket]).await {
        Ok(decision) => decision,
        Err(err) => return AuthError::from(err).into_response(),
    };
    if let Some(d) = decision.filter(|d| !d.allowed) {
        return too_many(&d);
    }
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(d) = decision {
        rate_limit::apply_headers(response.headers_mut(), &d);
    }
    response
}

/// Counts a request against the e-mail it targets (sign-in, sign-up, reset, verification).
pub async fn limit_email(state: &AppState, path: &str, email: &str) -> Result<(), Response> {
    let bucket = Bucket::new(
        format!("auth|email|{}|{path}", email.to_ascii_lowercase()),
        rule_for(&state.config, path),
    );
    match rate_limit::check(state, &[bucket]).await {
        Ok(Some(d)) if !d.allowed => Err(too_many(&d)),
        Ok(_) => Ok(()),
        Err(err) => Err(AuthError::from(err).into_response()),
    }
}

/// A session (not an API key) of a non-banned user, with the token it was presented as;
/// BetterAuth's `sessionMiddleware` (401 `UNAUTHORIZED`).
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub identity: Identity,
    pub token: String,
}

impl SessionUser {
    pub fn session(&self) -> &portal_shared::model::Session {
        match &self.identity.via {
            Via::Session(s) => s,
            Via::ApiKey(_) => unreachable!("SessionUser only holds sessions"),
        }
    }
}

/// Any identity (session or API key), BetterAuth's session lookup with api-key sessions.
#[derive(Debug, Clone)]
pub struct AnyUser {
    pub identity: Identity,
}

async fn identity_and_token(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<(Identity, String)>, AuthError> {
    let presented = presented(state, &parts.headers);
    let token = match &presented {
        Some(portal_shared::auth::Presented::SessionToken(t)) => t.clone(),
        Some(portal_shared::auth::Presented::ApiKey(k)) => k.clone(),
        None => return Ok(None),
    };
    Ok(resolve(state, presented).await?.ok().map(|i| (i, token)))
}

impl<S> FromRequestParts<S> for SessionUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        match identity_and_token(parts, &state).await? {
            Some((identity, token)) if matches!(identity.via, Via::Session(_)) => {
                Ok(Self { identity, token })
            }
            _ => Err(AuthError::unauthorized()),
        }
    }
}

impl<S> FromRequestParts<S> for AnyUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        match identity_and_token(parts, &state).await? {
            Some((identity, _)) => Ok(Self { identity }),
            None => Err(AuthError::code(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED_SESSION",
            )),
        }
    }
}

/// Where a request comes from, as stored on the sessions it creates.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: String,
    pub user_agent: String,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ip: client_ip(parts)
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            user_agent: user_agent(&parts.headers),
        })
    }
}

pub fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(512)
        .collect()
}
