//! Who calls a BetterAuth endpoint (a session, or a session or API key) and from where.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use portal_domain::model::{Session, User};
use portal_web::AppState;
use portal_web::caller::{Credential, Identity, Outcome, Via, identify, record_key_use};

use crate::error::AuthError;

/// A session (not an API key) of a non-banned user, with the token it was presented as;
/// BetterAuth's `sessionMiddleware` (401 `UNAUTHORIZED`).
#[derive(Clone)]
pub struct SessionUser {
    pub user: User,
    pub session: Session,
    pub token: String,
}

/// Any identity (session or API key), BetterAuth's session lookup with api-key sessions.
#[derive(Debug, Clone)]
pub struct AnyUser {
    pub identity: Identity,
}

/// The request's credential and what it names (read once per request: the limit layer may
/// have read it already); an API key's use is recorded.
#[derive(Debug, Clone)]
pub struct Caller {
    pub credential: Option<Credential>,
    pub outcome: Outcome,
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let credential = Credential::of(parts, &state);
        let outcome = identify(parts, &state).await?;
        if let Ok(identity) = &outcome {
            record_key_use(&state, identity).await;
        }
        Ok(Self {
            credential,
            outcome,
        })
    }
}

async fn identity_and_token(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<(Identity, String)>, AuthError> {
    let Caller {
        credential,
        outcome,
    } = Caller::from_request_parts(parts, state).await?;
    Ok(outcome.ok().zip(credential.map(|c| c.secret().to_string())))
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
            Some((
                Identity {
                    user,
                    via: Via::Session(session),
                    ..
                },
                token,
            )) => Ok(Self {
                user,
                session,
                token,
            }),
            _ => Err(AuthError::unauthorized()),
        }
    }
}

/// `Option<SessionUser>`: the session if there is one (endpoints that also take a pending
/// two-factor sign-in).
impl<S> axum::extract::OptionalFromRequestParts<S> for SessionUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Self as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(me) => Ok(Some(me)),
            Err(err) if err.status == StatusCode::UNAUTHORIZED => Ok(None),
            Err(err) => Err(err),
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

pub use portal_web::http::user_agent;

/// 403 `IMPERSONATION_NOT_ALLOWED` on a session an admin opened in the user's place: what
/// would outlive the hour it lasts (a passkey, an API key) or cannot be undone (deleting the
/// account) stays the user's own to do. (Changing the password or the second factor asks
/// for the password, which the admin does not have.)
pub fn refuse_impersonation(session: &Session) -> Result<(), AuthError> {
    if session.impersonated_by.is_some() {
        Err(AuthError::with_message(
            StatusCode::FORBIDDEN,
            "IMPERSONATION_NOT_ALLOWED",
            "Not while impersonating: this stays the user's own to do",
        ))
    } else {
        Ok(())
    }
}
