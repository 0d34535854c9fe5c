//! Proving a password: the signed-in user's again before a sensitive change
//! (change-password, two-factor's settings), and the per-account count of wrong passwords
//! that every entry point shares with sign-in (by e-mail and by username). Apart from the
//! sign-in flow, which needs two-factor's challenge, so that two-factor can use it without
//! an import circle.

use axum::http::StatusCode;
use portal_domain::crypto::{Verified, verify_password};
use portal_domain::store::users::Credential;

use crate::error::{AuthError, AuthResult};
use crate::state::AuthState;

/// The signed-in user's password, proven again (change-password, two-factor's settings):
/// 400 `INVALID_PASSWORD` when wrong, `CREDENTIAL_ACCOUNT_NOT_FOUND` when there is none.
pub async fn check_current_password(
    state: &AuthState,
    user_id: &str,
    password: String,
) -> AuthResult<()> {
    let credential = state
        .app
        .db
        .users()
        .with_credential(user_id)
        .await?
        .and_then(|(_, c)| c)
        .ok_or_else(|| AuthError::code(StatusCode::BAD_REQUEST, "CREDENTIAL_ACCOUNT_NOT_FOUND"))?;
    refuse_while_spent(state, &credential)?;
    if verify_password(password, Some(credential.password_hash)).await == Verified::No {
        count_wrong_password(state, user_id).await?;
        return Err(AuthError::code(StatusCode::BAD_REQUEST, "INVALID_PASSWORD"));
    }
    Ok(())
}

fn now_ms() -> i64 {
    (portal_domain::time::now().unix_timestamp_nanos() / 1_000_000) as i64
}

/// 429 `TOO_MANY_PASSWORD_ATTEMPTS` while the account's wrong passwords are spent (the
/// password is then not even checked, so a right guess teaches nothing).
pub fn refuse_while_spent(state: &AuthState, credential: &Credential) -> AuthResult<()> {
    let limits = &state.app.config.rate_limits;
    let rule = limits.password_failures;
    match credential.locked_for(rule.max, rule.window_secs, now_ms()) {
        Some(wait) if limits.enabled => Err(AuthError::password_tries_spent(wait)),
        _ => Ok(()),
    }
}

/// Counts a wrong password against the account.
pub async fn count_wrong_password(state: &AuthState, user_id: &str) -> AuthResult<()> {
    let limits = &state.app.config.rate_limits;
    if limits.enabled {
        state
            .app
            .db
            .users()
            .record_password_failure(user_id, now_ms(), limits.password_failures.window_secs)
            .await?;
    }
    Ok(())
}
