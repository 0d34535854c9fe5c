//! The plugin's session endpoints: list and revoke another user's sessions, impersonate a
//! user and stop.
//!
//! Where we differ from the plugin (see DECISIONS): a listed session's `token` is its id,
//! never the secret (staff would otherwise hold every user's sign-in), and
//! `revoke-user-session` takes either; an impersonation session stays in the user's own
//! session list, so they see it and can end it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::model::{Power, Session, User};
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::time::{iso, now};
use portal_services::moderation::{may_impersonate, revoke_session, revoke_sessions_of};
use portal_web::caller::token::{SESSION_TOKEN_LEN, session_id};
use portal_web::caller::{Credential, Via, identity};
use portal_web::cookies::SESSION_MAX_AGE;
use portal_web::http::RequestClient;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{IMPERSONATION_SECONDS, SignedIn, refusal, user_id_field};
use crate::admin::users::user_id_of;
use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::session::new_session;
use crate::state::AuthState;
use crate::views::{append_cookies, json_response, set_session, started_session};
use crate::wire::{AuthSession, SessionAndUser, Success};

/// The cookie that keeps the admin's own session while they impersonate someone.
const ADMIN_SESSION: &str = "admin_session";

/// `{sessions}`.
#[derive(Serialize, ToSchema)]
pub struct SessionsBody {
    pub sessions: Vec<AuthSession>,
}

fn origin(state: &AuthState, client: &portal_domain::model::Client, by: &str) -> Provenance {
    Provenance::request(&state.app.config, client).as_user(by)
}

/// `POST /admin/list-user-sessions {userId}`: the user's live sessions. `token` holds the
/// session's id (give it to `revoke-user-session`), never the secret.
#[utoipa::path(
    post, path = "/admin/list-user-sessions", security(("signedIn" = [])),
    request_body(content = Object, description = "`{userId}`"),
    responses(
        (status = 200, description = "The user's live sessions", body = SessionsBody),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn list(
    State(state): State<AuthState>,
    caller: SignedIn,
    body: Body,
) -> AuthResult<Response> {
    let user_id = user_id_of(body)?;
    caller.holding(
        &state.app,
        Power::ListSessions,
        "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS",
    )?;
    let (users, sessions) = (state.app.db.users(), state.app.db.sessions());
    let (user, held) = futures::try_join!(users.get(&user_id), sessions.list_for_user(&user_id))?;
    let at = now();
    let generation = user.map_or(i64::MAX, |u| u.generations.sessions);
    let sessions = held
        .iter()
        .filter(|s| !s.is_expired_at(at) && s.generation >= generation)
        .map(|s| AuthSession::of(s, &s.id))
        .collect();
    Ok(json_response(&SessionsBody { sessions }))
}

/// The id of the session `given` names: a session token, or the id `list-user-sessions`
/// shows in its place.
fn named_session(given: &str) -> String {
    if given.len() == SESSION_TOKEN_LEN {
        session_id(given)
    } else {
        given.to_string()
    }
}

/// `POST /admin/revoke-user-session {sessionToken}`: ends it at once (an unknown one:
/// nothing happens, as in BetterAuth).
#[utoipa::path(
    post, path = "/admin/revoke-user-session", security(("signedIn" = [])),
    request_body(content = Object, description = "`{sessionToken}`: a session token, or a session id as `list-user-sessions` shows it"),
    responses(
        (status = 200, description = "Ended", body = Success),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AuthState>,
    caller: SignedIn,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let token = f.string("sessionToken");
    f.finish()?;
    let token = token.unwrap_or_default();
    const NOT_ALLOWED: &str = "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS";
    let actor = caller.holding(&state.app, Power::RevokeSessions, NOT_ALLOWED)?;
    let origin = origin(&state, &client, caller.user_id());
    revoke_session(&state.app.db, actor, &origin, &named_session(&token))
        .await?
        .map_err(|r| refusal(r, NOT_ALLOWED))?;
    Ok(json_response(&Success { success: true }))
}

/// `POST /admin/revoke-user-sessions {userId}`: every session of the user ends at once.
#[utoipa::path(
    post, path = "/admin/revoke-user-sessions", security(("signedIn" = [])),
    request_body(content = Object, description = "`{userId}`"),
    responses(
        (status = 200, description = "Every session of the user ended", body = Success),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn revoke_all(
    State(state): State<AuthState>,
    caller: SignedIn,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let user_id = user_id_of(body)?;
    const NOT_ALLOWED: &str = "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS";
    let actor = caller.holding(&state.app, Power::RevokeSessions, NOT_ALLOWED)?;
    let origin = origin(&state, &client, caller.user_id());
    revoke_sessions_of(&state.app.db, actor, &origin, &user_id, now())
        .await?
        .map_err(|r| refusal(r, NOT_ALLOWED))?;
    Ok(json_response(&Success { success: true }))
}

/// `{session, user}` of a session started or given back here.
fn session_and_user(session: &Session, token: &str, user: &User) -> SessionAndUser {
    SessionAndUser::of(session, token, user)
}

/// `POST /admin/impersonate-user {userId}`: signs the admin in as the user for one hour at
/// most (a browser-session cookie; never refreshed), keeping the admin's own session in
/// the signed `admin_session` cookie. Admins only, never as an admin, never as a banned
/// user; recorded in the audit log; the session carries `impersonatedBy` and shows in the
/// user's own session list.
#[utoipa::path(
    post, path = "/admin/impersonate-user", security(("signedIn" = [])),
    request_body(content = Object, description = "`{userId}`"),
    responses(
        (status = 200, description = "Signed in as the user (the session cookie is theirs now)", body = SessionAndUser),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS`, `YOU_CANNOT_IMPERSONATE_ADMINS`, `BANNED_USER`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn impersonate(
    State(state): State<AuthState>,
    admin: SessionUser,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let user_id = user_id_field(&mut f, "userId");
    f.finish()?;
    let user_id = user_id.unwrap_or_default();
    const NOT_ALLOWED: &str = "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS";
    let caller = SignedIn(portal_web::caller::Identity {
        user: admin.user.clone(),
        user_version: 0,
        via: Via::Session(admin.session.clone()),
    });
    let actor = caller.holding(&state.app, Power::Impersonate, NOT_ALLOWED)?;
    let target = state
        .app
        .db
        .users()
        .get(&user_id)
        .await?
        .ok_or_else(|| AuthError::code(StatusCode::NOT_FOUND, "USER_NOT_FOUND"))?;
    may_impersonate(actor, &target).map_err(|r| refusal(r, NOT_ALLOWED))?;
    let at = now();
    if target.is_banned_at(at) {
        return Err(AuthError::banned(&state.auth));
    }
    let (mut session, token) = new_session(&state.app, &target, false, &client);
    session.impersonated_by = Some(admin.user.id.clone());
    session.expires_at = iso(at + time::Duration::seconds(IMPERSONATION_SECONDS));
    let event = Event::new(
        &origin(&state, &client, &admin.user.id),
        "user.impersonated",
        Some(&target.id),
        Some(json!({ "sessionId": session.id, "expiresAt": session.expires_at })),
        at,
    );
    let session = state
        .app
        .db
        .sessions()
        .create_audited(session, Some(&event))
        .await?;
    let jar = &state.app.cookies;
    // `<token>:<"true" when the admin's session is not remembered>`, as the plugin keeps it.
    let keep = jar.signed_cookie(
        ADMIN_SESSION,
        &format!(
            "{}:{}",
            admin.token,
            if admin.session.remember { "" } else { "true" }
        ),
        SESSION_MAX_AGE,
    );
    let mut response = json_response(&session_and_user(&session, &token, &target));
    append_cookies(&mut response, vec![keep]);
    Ok(started_session(response, jar, &token, false))
}

/// `POST /admin/stop-impersonating`: ends the impersonation session and gives the admin
/// their own session back.
#[utoipa::path(
    post, path = "/admin/stop-impersonating", security(("signedIn" = [])),
    responses(
        (status = 200, description = "The admin's own session again", body = SessionAndUser),
        (status = 400, description = "`You are not impersonating anyone`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn stop(
    State(state): State<AuthState>,
    user: SessionUser,
    headers: axum::http::HeaderMap,
) -> AuthResult<Response> {
    let Some(admin_id) = user.session.impersonated_by.clone() else {
        return Err(AuthError::message_only(
            StatusCode::BAD_REQUEST,
            "You are not impersonating anyone",
        ));
    };
    let jar = &state.app.cookies;
    let lost = || AuthError::internal("the admin session of an impersonation is gone");
    let kept = jar.verified(&headers, ADMIN_SESSION).ok_or_else(lost)?;
    let (admin_token, dont_remember) = kept.split_once(':').unwrap_or((kept.as_str(), ""));
    let credential = Credential::Session {
        token: admin_token.to_string(),
        signed: true,
        cookie: true,
    };
    let (session, admin) = match identity::read(&state.app, Some(&credential)).await? {
        Ok(portal_web::caller::Identity {
            user,
            via: Via::Session(session),
            ..
        }) if user.id == admin_id => (session, user),
        _ => return Err(lost()),
    };
    state
        .app
        .db
        .sessions()
        .delete(&user.session.id, Some(&user.user.id))
        .await?;
    let response = json_response(&session_and_user(&session, admin_token, &admin));
    let mut response = set_session(response, jar, admin_token, dont_remember.is_empty());
    append_cookies(&mut response, vec![jar.expired(ADMIN_SESSION)]);
    Ok(response)
}
