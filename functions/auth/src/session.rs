//! Sessions: `/get-session` (with sliding refresh), listing and revoking, `/update-user`,
//! `/ok`, `/error`.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portal_domain::model::Client;
use portal_domain::model::{Session, User};
use portal_domain::store::StoreError;
use portal_domain::store::audit::Event;
use portal_domain::store::audit::Provenance;
use portal_domain::store::sessions::LIFETIME as EXPIRES_IN;
use portal_domain::time::{iso, now, parse_iso};
use portal_web::AppState;
use portal_web::caller::token::{key_user_id, new_session as new_session_for, session_id};
use portal_web::caller::{Credential, Refusal, Via};
use portal_web::http::RequestClient;
use serde_json::json;
use std::collections::HashMap;
use time::Duration;

use crate::error::{AuthError, AuthResult};
use crate::extract::{Caller, SessionUser, user_agent};
use crate::input::{Body, Fields};
use crate::state::AuthState;
use crate::views::{clear_session, json_response, no_store, set_session};
use crate::wire::{AuthSession, AuthUser, SessionAndUser, Status};

const UPDATE_AGE: Duration = Duration::days(1);

/// Creates a session for `user` (`second_factor`: it passed two-factor, or stands for one
/// that did); returns it and its token.
pub async fn start_session(
    app: &AppState,
    user: &User,
    remember: bool,
    second_factor: bool,
    client: &Client,
    audit: Option<&Event>,
) -> Result<(Session, String), StoreError> {
    let (mut session, token) = new_session(app, user, remember, client);
    session.two_factor_verified = second_factor;
    let session = app.db.sessions().create_audited(session, audit).await?;
    portal_web::http::identified(&user.id);
    Ok((session, token))
}

/// How long after signing in a session counts as fresh (BetterAuth's `freshAge`): what
/// deleting the account without the password, or adding a passkey, asks for.
pub const FRESH_AGE: time::Duration = time::Duration::days(1);

/// Whether `session` started within [`FRESH_AGE`].
pub fn is_fresh(session: &Session) -> bool {
    portal_domain::time::parse_iso(&session.created_at).is_some_and(|at| now() - at < FRESH_AGE)
}

/// 403 `SESSION_NOT_FRESH` unless `session` is fresh (the plugin's `freshSessionMiddleware`).
pub fn require_fresh(session: &Session) -> AuthResult<()> {
    if is_fresh(session) {
        Ok(())
    } else {
        Err(AuthError::code(StatusCode::FORBIDDEN, "SESSION_NOT_FRESH"))
    }
}

/// A new session for `user` and its token, not stored yet.
pub fn new_session(
    app: &AppState,
    user: &User,
    remember: bool,
    client: &Client,
) -> (Session, String) {
    let from = Client {
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    new_session_for(&app.keyring, user, remember, &from, now())
}

/// `GET /get-session`: `{session, user}` or `null`.
#[utoipa::path(
    get, path = "/get-session",
    params(
        ("disableCookieCache" = Option<String>, Query, description = "Accepted and ignored (no cookie cache)"),
        ("disableRefresh" = Option<String>, Query, description = "`true`: do not extend the session"),
    ),
    responses((status = 200, description = "The session and its user, or `null` when not signed in", body = Option<crate::wire::SessionAndUser>))
)]
pub async fn get_session(
    State(state): State<AuthState>,
    Query(query): Query<HashMap<String, String>>,
    caller: Caller,
    headers: HeaderMap,
) -> AuthResult<Response> {
    let app = &state.app;
    let had_cookie = app
        .cookies
        .read(&headers, portal_web::cookies::SESSION_TOKEN)
        .is_some();
    let raw = caller.credential.as_ref().map(|c| c.secret().to_string());
    let is_key = matches!(caller.credential, Some(Credential::ApiKey(_)));
    if let Some(Credential::ApiKey(k)) = &caller.credential
        && key_user_id(k).is_none()
    {
        return Err(AuthError::code(StatusCode::FORBIDDEN, "INVALID_API_KEY"));
    }
    let response = match caller.outcome {
        Ok(identity) => match identity.via {
            Via::Session(mut session) => {
                let token = raw.unwrap_or_default();
                let at = now();
                let refresh_due = parse_iso(&session.expires_at)
                    .is_some_and(|exp| exp - EXPIRES_IN + UPDATE_AGE <= at);
                let dont_remember = !session.remember || app.cookies.dont_remember(&headers);
                let wants_refresh = query.get("disableRefresh").map(String::as_str) != Some("true");
                if refresh_due && !dont_remember && wants_refresh {
                    let (expires_at, updated_at) = (iso(at + EXPIRES_IN), iso(at));
                    app.db
                        .sessions()
                        .extend(&session, &expires_at, &updated_at)
                        .await?;
                    session.expires_at = expires_at;
                    session.updated_at = updated_at;
                    let body = json_response(&SessionAndUser::of(&session, &token, &identity.user));
                    set_session(body, &app.cookies, &token, true)
                } else {
                    json_response(&SessionAndUser::of(&session, &token, &identity.user))
                }
            }
            Via::ApiKey(key) => {
                let expires = key
                    .expires_at
                    .clone()
                    .unwrap_or_else(|| iso(now() + EXPIRES_IN));
                json_response(&SessionAndUser {
                    session: AuthSession {
                        id: key.id.clone(),
                        token: raw.unwrap_or_default(),
                        user_id: key.user_id.clone(),
                        expires_at: expires,
                        created_at: key.created_at.clone(),
                        updated_at: key.updated_at.clone(),
                        ip_address: String::new(),
                        user_agent: user_agent(&headers),
                        impersonated_by: None,
                    },
                    user: AuthUser::from(&identity.user),
                })
            }
        },
        Err(Refusal::KeyDisabled) => {
            return Err(AuthError::code(StatusCode::UNAUTHORIZED, "KEY_DISABLED"));
        }
        Err(Refusal::KeyExpired) => {
            return Err(AuthError::code(StatusCode::UNAUTHORIZED, "KEY_EXPIRED"));
        }
        Err(Refusal::Missing) if is_key => {
            return Err(AuthError::code(StatusCode::UNAUTHORIZED, "INVALID_API_KEY"));
        }
        Err(Refusal::SessionExpired(id)) => {
            app.db.sessions().delete(&id, None).await?;
            clear_session(json_response(&None::<SessionAndUser>), &app.cookies)
        }
        Err(Refusal::Missing | Refusal::Banned) if had_cookie && raw.is_some() => {
            clear_session(json_response(&None::<SessionAndUser>), &app.cookies)
        }
        Err(_) => json_response(&None::<SessionAndUser>),
    };
    Ok(no_store(response))
}

/// `POST /get-session` needs `deferSessionRefresh`, which Portal does not enable.
#[utoipa::path(
    post, path = "/get-session",
    responses((status = 405, description = "`METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED`", body = portal_web::openapi::AuthErrorBody))
)]
pub async fn get_session_post() -> AuthError {
    AuthError::code(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED",
    )
}

/// `GET /list-sessions`: the caller's live sessions, tokens included (unsealed).
#[utoipa::path(
    get, path = "/list-sessions", security(("signedIn" = [])),
    responses((status = 200, description = "The caller's live sessions", body = Vec<crate::wire::AuthSession>))
)]
pub async fn list_sessions(
    State(state): State<AuthState>,
    user: SessionUser,
) -> AuthResult<Response> {
    let at = now();
    let sessions: Vec<AuthSession> = state
        .app
        .db
        .sessions()
        .list_for_user(&user.user.id)
        .await?
        .into_iter()
        .filter(|s| !s.is_expired_at(at))
        .filter(|s| s.generation >= user.user.generations.sessions)
        .filter_map(|s| {
            let token = state.app.keyring.open(&s.sealed_token)?;
            Some(AuthSession::of(&s, &token))
        })
        .collect();
    Ok(no_store(json_response(&sessions)))
}

/// `POST /revoke-session {token}`: only the caller's own; unknown tokens are a no-op.
#[utoipa::path(
    post, path = "/revoke-session", security(("signedIn" = [])),
    request_body = crate::wire::RevokeSession,
    responses((status = 200, description = "Ended (a token that is not the caller's: nothing happens)", body = crate::wire::Status))
)]
pub async fn revoke_session(
    State(state): State<AuthState>,
    user: SessionUser,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let token = f.string("token");
    f.finish()?;
    if let Some(token) = token {
        let origin = Provenance::request(&state.app.config, &client).as_user(&user.user.id);
        state
            .app
            .db
            .sessions()
            .revoke(&session_id(&token), Some(&user.user.id), &origin)
            .await?;
    }
    Ok(json_response(&Status::TRUE))
}

/// `POST /revoke-sessions`: every session of the caller, this one included.
#[utoipa::path(
    post, path = "/revoke-sessions", security(("signedIn" = [])),
    request_body(content = Option<crate::wire::Empty>, content_type = "application/json"),
    responses((status = 200, description = "Every session of the caller ended", body = crate::wire::Status))
)]
pub async fn revoke_sessions(
    State(state): State<AuthState>,
    user: SessionUser,
    RequestClient(client): RequestClient,
) -> AuthResult<Response> {
    revoke(&state.app, &user.user.id, None, &client).await?;
    Ok(json_response(&Status::TRUE))
}

/// Ends every session of `user_id` but `keep` at once (by the user's session generation),
/// then deletes them.
async fn revoke(
    app: &AppState,
    user_id: &str,
    keep: Option<&str>,
    client: &Client,
) -> AuthResult<()> {
    let origin = Provenance::request(&app.config, client).as_user(user_id);
    let details = json!({ "keptCurrent": keep.is_some() });
    let event = Event::now(&origin, "sessions.revoked", Some(user_id), Some(details));
    app.db
        .users()
        .revoke_sessions(user_id, &iso(now()), keep, Some(&event))
        .await?
        .ok_or_else(AuthError::unauthorized)?;
    app.db.sessions().delete_all_for_user(user_id, keep).await?;
    Ok(())
}

/// `POST /revoke-other-sessions`
#[utoipa::path(
    post, path = "/revoke-other-sessions", security(("signedIn" = [])),
    request_body(content = Option<crate::wire::Empty>, content_type = "application/json"),
    responses((status = 200, description = "Every other session of the caller ended", body = crate::wire::Status))
)]
pub async fn revoke_other_sessions(
    State(state): State<AuthState>,
    user: SessionUser,
    RequestClient(client): RequestClient,
) -> AuthResult<Response> {
    revoke(&state.app, &user.user.id, Some(&user.session.id), &client).await?;
    Ok(json_response(&Status::TRUE))
}

/// `POST /update-session {…}`: BetterAuth updates the session fields a configuration adds
/// for input; Portal's add none (the admin plugin's `impersonatedBy` is not input), so a
/// body naming it is 400 `FIELD_NOT_ALLOWED` and any other is 400 `No fields to update`,
/// after the body (an object) and the session (401) are checked in BetterAuth's order.
#[utoipa::path(
    post, path = "/update-session", security(("signedIn" = [])),
    request_body(content = Object, description = "Session fields to set (Portal's sessions have none that may be set)"),
    responses(
        (status = 400, description = "`No fields to update`, `FIELD_NOT_ALLOWED`, or `VALIDATION_ERROR`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn update_session(
    user: Result<SessionUser, AuthError>,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    if !body.value.is_object() {
        let received = portal_domain::issue::type_name(Some(&body.value));
        return Err(AuthError::validation(format!(
            "[body] Invalid input: expected record, received {received}"
        )));
    }
    user?;
    let names_impersonator = body
        .value
        .get("impersonatedBy")
        .is_some_and(|v| !v.is_null() && v != &json!(false) && v != &json!(""));
    if names_impersonator {
        return Err(AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "FIELD_NOT_ALLOWED",
            "impersonatedBy is not allowed to be set",
        ));
    }
    Err(AuthError::message_only(
        StatusCode::BAD_REQUEST,
        "No fields to update",
    ))
}
