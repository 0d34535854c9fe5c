//! The plugin's sign-in hooks: a sign-in (or sign-up) body carrying the login page's
//! signed request (`oauth_query`, added by the plugin's client from the page's address)
//! is checked first (400 `invalid_signature`), and when the call starts a session the
//! answer becomes `{redirect: true, url}`: the flow goes on to consent or to the client,
//! the session cookies set as usual.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portal_web::caller::token::{session_id, session_user_id};
use serde_json::{Value, json};

use super::authorize::{SignedIn, decide, verify_signed};
use crate::error::AuthError;
use crate::state::{AuthState, BASE_PATH};
use crate::views::NewSession;

/// The calls that start a session (or, for a provider's sign-in, an authorization that
/// ends in one: the request is kept with its state) and may carry the request.
const SIGN_IN_PATHS: [&str; 6] = [
    "/sign-in/email",
    "/sign-in/username",
    "/sign-up/email",
    "/passkey/verify-authentication",
    "/sign-in/social",
    "/sign-in/oauth2",
];

/// What a sign-in body may weigh here (a sign-up may carry a picture).
const BODY_LIMIT: usize = 1024 * 1024;

fn oauth_query(bytes: &[u8], form: bool) -> Option<String> {
    if form {
        return url::form_urlencoded::parse(bytes)
            .find(|(k, _)| k == "oauth_query")
            .map(|(_, v)| v.into_owned());
    }
    serde_json::from_slice::<Value>(bytes)
        .ok()?
        .get("oauth_query")?
        .as_str()
        .map(str::to_string)
}

pub async fn resume(State(state): State<AuthState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let path = path.strip_prefix(BASE_PATH).unwrap_or(path);
    if req.method() != Method::POST || !SIGN_IN_PATHS.contains(&path) {
        return next.run(req).await;
    }
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return AuthError::with_message(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "Request body too large",
        )
        .into_response();
    };
    let carried = oauth_query(&bytes, form).filter(|q| !q.is_empty());
    let req = Request::from_parts(parts, Body::from(bytes));
    let Some(raw) = carried else {
        return next.run(req).await;
    };
    let params = match verify_signed(&state, &raw) {
        Ok(params) => params,
        Err(refused) => return refused.into_response(),
    };
    let response = next.run(req).await;
    let Some(started) = response.extensions().get::<NewSession>().cloned() else {
        return response;
    };
    if !response.status().is_success() {
        return response;
    }
    // The session and its user (the token names them both): read together.
    let (sessions, users) = (state.app.db.sessions(), state.app.db.users());
    let user_id = session_user_id(&started.token)
        .unwrap_or_default()
        .to_string();
    let id = session_id(&started.token);
    let read = futures::try_join!(sessions.get(&id), users.get(&user_id));
    let found = match read {
        Ok((Some(session), Some(user))) if session.user_id == user.id => Some((user, session)),
        Ok(_) => None,
        Err(err) => return super::OAuthError::from(err).into_response(),
    };
    let Some((user, session)) = found else {
        return response;
    };
    let who = SignedIn {
        user: &user,
        session: &session,
    };
    // The sign-in just made answers `prompt=login`/`create` and any `max_age`.
    let mut params = params.answered("login").answered("create");
    params.remove("max_age");
    let url = match decide(&state, params, Some(who)).await {
        Ok(url) => url,
        Err(err) => return err.into_response(),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = json!({ "redirect": true, "url": url }).to_string();
    Response::from_parts(parts, Body::from(body))
}
