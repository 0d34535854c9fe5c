//! BetterAuth's `twoFactor` plugin (TOTP, e-mailed codes, backup codes) on the wire, with
//! the store's stronger rules (`portal_domain::store::two_factor`): sealed secret, hashed
//! single-use backup codes, codes accepted once, failures counted per user, and turning
//! two-factor on or off ends the user's other sessions.
//!
//! Sign-in: a user with two-factor on gets `{twoFactorRedirect: true, twoFactorMethods}` and
//! a signed `two_factor` cookie (10 minutes) instead of a session, unless the request carries
//! a live `trust_device` cookie of theirs; a `/two-factor/verify-*` call with that cookie
//! then creates the session.

//!
//! The folder: [`challenge`] (the pending sign-in and what passing a second factor does),
//! [`totp`] (authenticator apps: the algorithm and its routes), [`otp`] (e-mailed codes),
//! [`backup_codes`]; here, turning two-factor on and off and what they share. The store's
//! repository is `portal_domain::store::two_factor`.

mod backup_codes;
mod challenge;
mod otp;
pub mod totp;

pub use backup_codes::*;
pub use challenge::challenge_sign_in;
use challenge::*;
pub use otp::*;
use portal_domain::model::Client;
use portal_web::http::RequestClient;
pub use totp::*;

use crate::mail::{Mail, MailKind};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portal_domain::crypto::{random_alphanumeric, random_digits};
use portal_domain::model::{Session, User};
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::two_factor::{Attempt, Challenge, Rotate, TwoFactor};
use portal_domain::store::users::Conflict;
use portal_domain::time::{iso, now};
use portal_web::cookies::{TRUST_DEVICE, TWO_FACTOR};
use serde_json::json;

use crate::AuthState;
use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::reauth::check_current_password;
use crate::session::{new_session, start_session};
use crate::views::{append_cookies, json_response, started_session};
use crate::wire::{
    BackupCodes, SignInAnswer, Signed, Status, TotpUri, TwoFactorEnabled, TwoFactorRedirect,
};

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

#[utoipa::path(
    post, path = "/two-factor/enable", security(("signedIn" = [])),
    request_body = crate::wire::EnableTwoFactor,
    responses(
        (status = 200, description = "`totp`: the URI and backup codes; `otp`: a code is mailed to the account's address. Either is on once its first code is verified", body = crate::wire::TwoFactorEnabled),
        (status = 400, description = "`INVALID_PASSWORD`, `TOTP_ALREADY_ENABLED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn enable(
    State(state): State<AuthState>,
    me: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let password = f.string("password");
    let method = f.optional_string("method");
    let issuer = f.optional_string("issuer");
    if method.as_deref().is_some_and(|m| m != "otp" && m != "totp") {
        f.issue("method", "Invalid option: expected one of \"otp\"|\"totp\"");
    }
    f.finish()?;
    let password = password.ok_or_else(|| AuthError::validation("[body] Invalid input".into()))?;
    check_current_password(&state, &me.user.id, password).await?;
    if method.as_deref() == Some("otp") {
        // On only when the code mailed to the account's address comes back (verify-otp):
        // a password alone never turns a second factor on, nor passes one.
        if let Some(limited) = mail_code(&state, &Prover::Session(me)).await? {
            return Ok(limited);
        }
        return Ok(json_response(&TwoFactorEnabled {
            method: "otp".into(),
            totp_uri: None,
            backup_codes: None,
        }));
    }
    let secret = random_alphanumeric(32);
    let (codes, hashes) = backup_codes(&state, &me.user.id);
    let sealed = state.app.keyring.seal(&secret);
    if !state
        .app
        .db
        .two_factor()
        .begin(&me.user.id, &sealed, hashes)
        .await?
    {
        return Err(code(StatusCode::BAD_REQUEST, "TOTP_ALREADY_ENABLED"));
    }
    Ok(json_response(&TwoFactorEnabled {
        method: "totp".into(),
        totp_uri: Some(totp_uri(&state, &me.user, &secret, issuer.as_deref())),
        backup_codes: Some(codes),
    }))
}

#[utoipa::path(
    post, path = "/two-factor/disable", security(("signedIn" = [])),
    request_body = crate::wire::PasswordOnly,
    responses(
        (status = 200, description = "Off; every other session ended", body = crate::wire::Status),
        (status = 400, description = "`INVALID_PASSWORD`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn disable(
    State(state): State<AuthState>,
    me: SessionUser,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let password = password_field(&body.json_only()?)?;
    check_current_password(&state, &me.user.id, password).await?;
    let (session, token) = successor(&state, &me, &client);
    let rotate = Rotate {
        old: &me.session,
        new: &session,
    };
    let store = state.app.db.two_factor();
    let event = Event::now(
        &origin_of(&state, &me, &client),
        "two_factor.disabled",
        Some(&me.user.id),
        None,
    );
    let user = match store
        .disable(&me.user.id, rotate, &iso(now()), &event)
        .await?
    {
        None => return Err(AuthError::unauthorized()),
        Some(Ok(user)) => user,
        Some(Err(c)) => return Err(conflict(c)),
    };
    remove_other_sessions(&state, &user, &session.id).await?;
    let response = json_response(&Status::TRUE);
    let mut response = started_session(response, &state.app.cookies, &token, me.session.remember);
    // Every trusted device ended with the generation; this one forgets its cookie.
    if let Some(trust) = state.app.cookies.verified(&headers, TRUST_DEVICE) {
        store.take_trusted_device(&trust, &user, unix_now()).await?;
        append_cookies(&mut response, vec![state.app.cookies.expired(TRUST_DEVICE)]);
    }
    Ok(response)
}
