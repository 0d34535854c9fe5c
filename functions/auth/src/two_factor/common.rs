//! What the two-factor routes share: their imports, lifetimes and small helpers.

pub(super) use crate::mail::{Mail, MailKind};
pub(super) use axum::extract::State;
pub(super) use axum::http::{HeaderMap, StatusCode};
pub(super) use axum::response::Response;
pub(super) use portal_domain::crypto::{random_alphanumeric, random_digits};
pub(super) use portal_domain::model::{Session, User};
pub(super) use portal_domain::store::audit::{Event, Provenance};
pub(super) use portal_domain::store::two_factor::{Attempt, Challenge, Rotate, TwoFactor};
pub(super) use portal_domain::store::users::Conflict;
pub(super) use portal_domain::time::{iso, now};
pub(super) use portal_web::cookies::{TRUST_DEVICE, TWO_FACTOR};
pub(super) use serde_json::json;

pub(super) use crate::error::{AuthError, AuthResult};
pub(super) use crate::extract::SessionUser;
pub(super) use crate::input::{Body, Fields};
pub(super) use crate::reauth::check_current_password;
pub(super) use crate::session::{new_session, start_session};
pub(super) use crate::state::AuthState;
pub(super) use crate::views::{append_cookies, json_response, started_session};
pub(super) use crate::wire::{
    BackupCodes, SignInAnswer, Signed, Status, TotpUri, TwoFactorEnabled, TwoFactorRedirect,
};

pub(super) use portal_domain::model::Client;
pub(super) use portal_web::http::RequestClient;

/// How long a sign-in challenge, a trusted device and an e-mailed code live (the plugin's
/// defaults; Portal's code period is 3 minutes).
pub(super) const CHALLENGE_SECS: i64 = 600;
pub(super) const TRUST_SECS: i64 = 30 * 24 * 3600;
pub(super) const MAILED_CODE_SECS: i64 = 180;
pub(super) const BACKUP_CODES: usize = 10;

pub(super) fn code(status: StatusCode, code: &'static str) -> AuthError {
    AuthError::code(status, code)
}

pub(super) fn unix_now() -> i64 {
    now().unix_timestamp()
}

pub(super) fn password_field(body: &Body) -> AuthResult<String> {
    let mut f = Fields::of("body", &body.value, false);
    let password = f.string("password");
    f.finish()?;
    password.ok_or_else(|| AuthError::validation("[body] Invalid input".into()))
}

pub(super) fn conflict(conflict: Conflict) -> AuthError {
    AuthError::from(portal_domain::store::StoreError::Dynamo(format!(
        "a two-factor change was refused by a claim: {conflict:?}"
    )))
}

/// The audit origin of a signed-in caller's request.
pub(super) fn origin_of(state: &AuthState, me: &SessionUser, client: &Client) -> Provenance {
    Provenance::request(&state.app.config, client).as_user(&me.user.id)
}
