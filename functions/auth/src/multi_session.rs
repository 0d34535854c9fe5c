//! BetterAuth's `multiSession` plugin: one browser signed in to several accounts. Every
//! new session also sets `<session cookie>_multi-<token>` (signed); the browser switches
//! between them with `/multi-session/set-active`, lists them with
//! `/multi-session/list-device-sessions` and ends one with `/multi-session/revoke`.
//!
//! As the plugin: a new session of an account the browser already holds replaces the old
//! one (which is deleted), at most `PORTAL_MULTI_SESSION_MAX` (default 5) are kept, and
//! sign-out ends them all.

use axum::extract::{Request, State};
use axum::http::header::COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portal_web::AppState;
use portal_web::caller::token::{session_id, session_user_id};
use portal_web::caller::{Credential, Identity, Via, identity};

use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::state::AuthState;
use crate::views::{NewSession, append_cookies, clear_session, json_response, set_session};
use crate::wire::{SessionAndUser, Status};

/// After every auth response that started a session: the browser's earlier session of the
/// same account is ended and forgotten, and the new one is remembered (while the browser
/// holds fewer than the maximum).
pub async fn track(State(state): State<AuthState>, req: Request, next: Next) -> Response {
    let mut cookies = HeaderMap::new();
    for value in req.headers().get_all(COOKIE) {
        cookies.append(COOKIE, value.clone());
    }
    let mut response = next.run(req).await;
    let Some(new) = response.extensions().get::<NewSession>().cloned() else {
        return response;
    };
    let jar = &state.app.cookies;
    let held = jar.multi_sessions(&cookies);
    let name = jar.multi_session_name(&new.token);
    if held.iter().any(|(n, _)| *n == name) {
        return response;
    }
    let owner = session_user_id(&new.token);
    let (replaced, kept): (Vec<_>, Vec<_>) = held
        .into_iter()
        .partition(|(_, token)| owner.is_some() && session_user_id(token) == owner);
    if let Err(err) = delete_sessions(&state.app, &replaced).await {
        return AuthError::from(err).into_response();
    }
    let mut set: Vec<String> = replaced.iter().map(|(n, _)| jar.expired_named(n)).collect();
    if kept.len() < state.auth.multi_session_max {
        set.push(jar.multi_session_cookie(&new.token, new.remember));
    }
    append_cookies(&mut response, set);
    response
}

/// Deletes the sessions of `held` (`(cookie, token)` pairs), all at once.
async fn delete_sessions(
    app: &AppState,
    held: &[(String, String)],
) -> Result<(), portal_domain::store::StoreError> {
    let ids: Vec<String> = held.iter().map(|(_, token)| session_id(token)).collect();
    let sessions = app.db.sessions();
    futures::future::try_join_all(ids.iter().map(|id| sessions.delete(id, None))).await?;
    Ok(())
}

/// The live sessions behind the browser's multi-session cookies.
async fn held_sessions(
    state: &AuthState,
    headers: &HeaderMap,
) -> AuthResult<Vec<(String, String, Identity)>> {
    let held = state.app.cookies.multi_sessions(headers);
    let reads = held.into_iter().map(|(name, token)| async move {
        let credential = Credential::Session {
            token: token.clone(),
            signed: true,
            cookie: true,
        };
        let identity = identity::read(&state.app, Some(&credential)).await?;
        Ok::<_, portal_domain::store::StoreError>(identity.ok().map(|i| (name, token, i)))
    });
    let found = futures::future::try_join_all(reads).await?;
    Ok(found.into_iter().flatten().collect())
}

fn session_and_user(token: &str, identity: &Identity) -> Option<SessionAndUser> {
    match &identity.via {
        Via::Session(session) => Some(SessionAndUser::of(session, token, &identity.user)),
        Via::ApiKey(_) => None,
    }
}

#[utoipa::path(
    get, path = "/multi-session/list-device-sessions",
    responses((status = 200, description = "The browser's live sessions, one per account", body = Vec<crate::wire::SessionAndUser>))
)]
pub async fn list_device_sessions(
    State(state): State<AuthState>,
    headers: HeaderMap,
) -> AuthResult<Response> {
    let mut seen = std::collections::HashSet::new();
    let list: Vec<_> = held_sessions(&state, &headers)
        .await?
        .into_iter()
        .filter(|(_, _, identity)| seen.insert(identity.user.id.clone()))
        .filter_map(|(_, token, identity)| session_and_user(&token, &identity))
        .collect();
    Ok(json_response(&list))
}

fn session_token_field(body: &Body) -> AuthResult<String> {
    let mut f = Fields::of("body", &body.value, false);
    let token = f.string("sessionToken");
    f.finish()?;
    token.ok_or_else(|| AuthError::validation("[body] Invalid input".into()))
}

fn invalid_token() -> AuthError {
    AuthError::code(StatusCode::UNAUTHORIZED, "INVALID_SESSION_TOKEN")
}

/// The browser's multi-session cookie for `asked` (the plugin looks it up by the lower-cased
/// token): its name and the token it holds.
fn held_cookie(state: &AuthState, headers: &HeaderMap, asked: &str) -> Option<(String, String)> {
    let name = state.app.cookies.multi_session_name(asked);
    state
        .app
        .cookies
        .multi_sessions(headers)
        .into_iter()
        .find(|(n, _)| *n == name)
}

#[utoipa::path(
    post, path = "/multi-session/set-active", request_body = crate::wire::SessionTokenBody,
    responses(
        (status = 200, description = "That account's session is the browser's session now", body = crate::wire::SessionAndUser),
        (status = 401, description = "`INVALID_SESSION_TOKEN`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn set_active(
    State(state): State<AuthState>,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let asked = session_token_field(&body.json_only()?)?;
    let (name, token) = held_cookie(&state, &headers, &asked).ok_or_else(invalid_token)?;
    let credential = Credential::Session {
        token: token.clone(),
        signed: true,
        cookie: true,
    };
    let identity = identity::read(&state.app, Some(&credential)).await?;
    let Some(identity) = identity.ok().filter(|i| matches!(i.via, Via::Session(_))) else {
        let mut refused = invalid_token().into_response();
        append_cookies(&mut refused, vec![state.app.cookies.expired_named(&name)]);
        return Ok(refused);
    };
    let remember = match &identity.via {
        Via::Session(session) => session.remember,
        Via::ApiKey(_) => true,
    };
    let response = json_response(&session_and_user(&token, &identity));
    Ok(set_session(response, &state.app.cookies, &token, remember))
}

#[utoipa::path(
    post, path = "/multi-session/revoke", security(("signedIn" = [])), request_body = crate::wire::SessionTokenBody,
    responses(
        (status = 200, description = "Ended; if it was the active one, the next account's session is active", body = crate::wire::Status),
        (status = 401, description = "`INVALID_SESSION_TOKEN`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AuthState>,
    me: SessionUser,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let asked = session_token_field(&body.json_only()?)?;
    let (name, token) = held_cookie(&state, &headers, &asked).ok_or_else(invalid_token)?;
    state
        .app
        .db
        .sessions()
        .delete(&session_id(&token), None)
        .await?;
    let jar = &state.app.cookies;
    let mut response = json_response(&Status::TRUE);
    append_cookies(&mut response, vec![jar.expired_named(&name)]);
    if token != me.token {
        return Ok(response);
    }
    // The active session ended: the next one the browser holds takes its place.
    let next = held_sessions(&state, &headers)
        .await?
        .into_iter()
        .find(|(_, t, _)| *t != token);
    Ok(match next {
        Some((
            _,
            next_token,
            Identity {
                via: Via::Session(s),
                ..
            },
        )) => set_session(response, jar, &next_token, s.remember),
        _ => clear_session(response, jar),
    })
}

/// Sign-out's part: every account the browser holds is signed out with it. Returns the
/// Set-Cookies that forget them (to send even when the deletes failed) and the deletes'
/// outcome.
pub async fn end_all(state: &AuthState, headers: &HeaderMap) -> (Vec<String>, AuthResult<()>) {
    let held = state.app.cookies.multi_sessions(headers);
    let ended = delete_sessions(&state.app, &held)
        .await
        .map_err(AuthError::from);
    let forget = held
        .iter()
        .map(|(name, _)| state.app.cookies.expired_named(name))
        .collect();
    (forget, ended)
}
