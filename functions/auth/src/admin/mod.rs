//! BetterAuth's admin plugin (`/admin/*`) as Portal configures it: roles `user`, `staff`
//! and `admin`, a ban of 7 days for "Violation of terms of service" unless told otherwise,
//! one-hour impersonation. Every decision is `portal_services::moderation`'s, the rules
//! `/api/admin/*` and the CLI go through (who may do what: `Role::grants`; staff act on
//! regular users only; the last admin kept; the second factor for staff; the audit
//! record): this module only reads BetterAuth's bodies and answers with its codes.

pub mod permission;
pub mod sessions;
pub mod users;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use portal_domain::model::Power;
use portal_services::moderation::{Actor, Identity, Refused};
use portal_web::AppState;
use serde_json::Value;

use crate::error::AuthError;
use crate::extract::Caller;
use crate::input::Fields;

/// Portal's `defaultBanReason`.
pub const DEFAULT_BAN_REASON: &str = "Violation of terms of service";
/// Portal's `defaultBanExpiresIn`: one week, in seconds.
pub const DEFAULT_BAN_SECONDS: i64 = 7 * 24 * 3600;
/// How long an impersonation lasts (BetterAuth's `impersonationSessionDuration`).
pub const IMPERSONATION_SECONDS: i64 = 3600;

/// The caller of an admin endpoint: signed in (a session, or an API key), else 401
/// `UNAUTHORIZED` (BetterAuth's `adminMiddleware`).
pub struct SignedIn(pub Identity);

impl<S> FromRequestParts<S> for SignedIn
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await?.outcome {
            Ok(identity) => Ok(Self(identity)),
            Err(_) => Err(AuthError::unauthorized()),
        }
    }
}

impl SignedIn {
    /// The caller as a moderator holding `power`, else 403 with the endpoint's
    /// `not_allowed` code (or the second-factor refusal).
    pub fn holding(
        &self,
        state: &AppState,
        power: Power,
        not_allowed: &'static str,
    ) -> Result<Actor<'_>, AuthError> {
        self.0
            .require_power(&state.config, power)
            .map(Actor::Member)
            .map_err(|refused| refusal(refused, not_allowed))
    }

    pub fn user_id(&self) -> &str {
        &self.0.user.id
    }
}

/// A moderation refusal as the plugin words it; `not_allowed` is the endpoint's own
/// `YOU_ARE_NOT_ALLOWED_TO_...` code.
pub fn refusal(refused: Refused, not_allowed: &'static str) -> AuthError {
    match refused {
        Refused::NotFound => AuthError::code(StatusCode::NOT_FOUND, "USER_NOT_FOUND"),
        Refused::NeedsAdmin | Refused::NeedsModerator => {
            AuthError::code(StatusCode::FORBIDDEN, not_allowed)
        }
        Refused::SecondFactorRequired => {
            AuthError::code(StatusCode::FORBIDDEN, "TWO_FACTOR_REQUIRED")
        }
        Refused::LastAdmin => AuthError::code(StatusCode::FORBIDDEN, "LAST_ADMIN"),
        Refused::UsernameTaken => {
            AuthError::code(StatusCode::BAD_REQUEST, "USERNAME_IS_ALREADY_TAKEN")
        }
        Refused::EmailTaken => AuthError::code(
            StatusCode::BAD_REQUEST,
            "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
        ),
        Refused::ImpersonatingAdmin => {
            AuthError::code(StatusCode::FORBIDDEN, "YOU_CANNOT_IMPERSONATE_ADMINS")
        }
    }
}

/// A body's `userId` (zod's `z.coerce.string()`: a number is taken as its digits).
pub fn user_id_field(f: &mut Fields<'_>, name: &str) -> Option<String> {
    match f.raw(name) {
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => f.string(name),
    }
}
