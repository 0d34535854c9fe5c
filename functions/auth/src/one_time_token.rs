//! BetterAuth's one-time-token plugin as Portal enables it (defaults): a signed-in browser
//! asks for a token good for 3 minutes and one use, hands it to another place (a service's
//! page on another domain), and that place trades it for the same session. Tokens are
//! stored only as hashes; a revoked, expired or banned session is never handed out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::crypto::random_alphanumeric;
use portal_domain::store::tokens::SESSION_TOKEN;
use portal_domain::time::{iso, now, parse_iso};
use portal_web::caller::identity::judge;
use portal_web::caller::{Refusal, Via};
use time::Duration;

use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::state::AuthState;
use crate::views::{json_response, started_session};
use crate::wire::{AuthSession, AuthUser, OneTimeTokenBody, SessionAndUser};

/// Minutes a token lives (the plugin's `expiresIn` default).
const LIFETIME_MINUTES: i64 = 3;

fn invalid(message: &str) -> AuthError {
    AuthError::message_only(StatusCode::BAD_REQUEST, message)
}

/// `GET /one-time-token/generate`: a token for the caller's session.
#[utoipa::path(
    get, path = "/one-time-token/generate", security(("signedIn" = [])),
    responses(
        (status = 200, description = "`{token}`: 32 characters, good once within 3 minutes", body = OneTimeTokenBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn generate(State(state): State<AuthState>, user: SessionUser) -> AuthResult<Response> {
    let token = random_alphanumeric(32);
    let at = now();
    state
        .app
        .db
        .tokens()
        .issue_for_session(
            &token,
            &user.session,
            &iso(at),
            &iso(at + Duration::minutes(LIFETIME_MINUTES)),
        )
        .await?;
    Ok(json_response(&OneTimeTokenBody { token }))
}

/// `POST /one-time-token/verify {token}`: the token's session, its cookies set here.
#[utoipa::path(
    post, path = "/one-time-token/verify",
    request_body = OneTimeTokenBody,
    responses(
        (status = 200, description = "The session and its user; the session cookies are set", body = SessionAndUser),
        (status = 400, description = "`Invalid token`, `Session not found`, `Session expired`, or `VALIDATION_ERROR`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn verify(State(state): State<AuthState>, body: Body) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let token = f.string("token");
    f.finish()?;
    let token = token.unwrap_or_default();
    // Taken before anything else: a token works once, whatever follows.
    let Some(issued) = state.app.db.tokens().consume_for_session(&token).await? else {
        return Err(invalid("Invalid token"));
    };
    let live = parse_iso(&issued.expires_at).is_some_and(|until| until > now());
    let (true, Some(session_id), SESSION_TOKEN) = (live, &issued.session_id, issued.kind.as_str())
    else {
        return Err(invalid("Invalid token"));
    };
    let resolved = state
        .app
        .db
        .sessions()
        .resolve(session_id, &issued.user_id)
        .await?;
    let identity = match judge(resolved) {
        Ok(identity) => identity,
        Err(Refusal::SessionExpired(_)) => return Err(invalid("Session expired")),
        Err(_) => return Err(invalid("Session not found")),
    };
    let Via::Session(session) = &identity.via else {
        return Err(invalid("Session not found"));
    };
    let Some(session_token) = state.app.keyring.open(&session.sealed_token) else {
        return Err(invalid("Session not found"));
    };
    let answer = SessionAndUser {
        session: AuthSession::of(session, &session_token),
        user: AuthUser::from(&identity.user),
    };
    Ok(started_session(
        json_response(&answer),
        &state.app.cookies,
        &session_token,
        session.remember,
    ))
}
