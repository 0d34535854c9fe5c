//! Origin (CSRF) checks, callback-URL checks, and the auth rate limiter, as BetterAuth
//! applies them, plus the session guard of BetterAuth's protected endpoints.

use axum::body::Body as AxumBody;
use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, ORIGIN, REFERER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portal_shared::AppState;
use portal_shared::auth::{Identity, Via, presented, resolve};
use portal_shared::config::{Config, Rule};
use portal_shared::http::{VerbatimBody, client_ip};
use portal_shared::rate_limit::{self, Bucket};
use portal_shared::store::rate_limits::RateDecision;
use url::Url;

use crate::BASE_PATH;
use crate::error::AuthError;

/// `scheme://host[:port]` of a URL, lower-case.
fn origin_of(raw: &str) -> Option<String> {
    let url = Url::parse(raw).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization().to_ascii_lowercase()),
        url::Origin::Opaque(_) => None,
    }
}

/// The base URL's origin, the configured trusted origins, with `*.` wildcards.
pub fn is_trusted_origin(config: &Config, origin: &str) -> bool {
    let Some(origin) = origin_of(origin) else {
        return false;
    };
    if origin_of(config.base_url.as_str()).as_deref() == Some(origin.as_str()) {
        return true;
    }
    let (scheme, host) = origin.split_once("://").unwrap_or(("", origin.as_str()));
    config.trusted_origins.iter().any(|pattern| {
        let pattern = pattern.to_ascii_lowercase();
        let (want_scheme, want_host) = match pattern.split_once("://") {
            Some((s, h)) => (Some(s), h),
            None => (None, pattern.as_str()),
        };
        if want_scheme.is_some_and(|s| s != scheme) {
            return false;
        }
        match want_host.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == want_host,
        }
    })
}

/// Relative (`/path`, not `//`, no encoded or back slashes) or on a trusted origin.
pub fn is_allowed_redirect(config: &Config, url: &str) -> bool {
    if url.starts_with('/') {
        let lower = url.to_ascii_lowercase();
        return !url.starts_with("//")
            && !url.contains('\\')
            && !lower.contains("%2f")
            && !lower.contains("%5c");
    }
    is_trusted_origin(config, url)
}

/// Resolves a callback URL against the base URL (relative ones land on our origin).
pub fn absolute(config: &Config, url: &str) -> String {
    config
        .base_url
        .join(url)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| url.to_string())
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
    let origin = headers
        .get(ORIGIN)
        .or_else(|| headers.get(REFERER))
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && *v != "null");
    match origin {
        None => forbidden("MISSING_OR_NULL_ORIGIN"),
        Some(origin) if !is_trusted_origin(&state.config, origin) => forbidden("INVALID_ORIGIN"),
        Some(_) => next.run(req).await,
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
    let ip = client_ip(&parts).map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let bucket = Bucket::new(
        format!("auth|ip|{ip}|{path}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut c = Config::for_tests("t");
        c.base_url = Url::parse("https://portal.example.org").unwrap();
        c.trusted_origins = vec![
            "https://*.atl.dev".into(),
            "http://localhost:5173".into(),
            "*.example.net".into(),
        ];
        c
    }

    #[test]
    fn trusted_origins() {
        let c = config();
        for ok in [
            "https://portal.example.org",
            "https://portal.example.org/some/page",
            "https://app.atl.dev",
            "http://localhost:5173",
            "http://x.example.net",
        ] {
            assert!(is_trusted_origin(&c, ok), "{ok}");
        }
        for bad in [
            "http://portal.example.org",
            "https://evil.org",
            "http://app.atl.dev",
            "https://atl.dev.evil.org",
            "null",
            "http://localhost:5174",
        ] {
            assert!(!is_trusted_origin(&c, bad), "{bad}");
        }
    }

    #[test]
    fn redirects() {
        let c = config();
        for ok in ["/dashboard", "/reset?x=1", "https://app.atl.dev/done"] {
            assert!(is_allowed_redirect(&c, ok), "{ok}");
        }
        for bad in [
            "//evil.org",
            "/%2F%2Fevil.org",
            "/\\evil.org",
            "https://evil.org/x",
            "javascript:alert(1)",
        ] {
            assert!(!is_allowed_redirect(&c, bad), "{bad}");
        }
    }
}
