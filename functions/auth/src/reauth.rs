//! Proving the signed-in user's password again before a sensitive change (change-password,
//! two-factor's settings). Apart from the sign-in flow, which needs two-factor's challenge,
//! so that two-factor can use it without an import circle.

use axum::http::StatusCode;
use portal_shared::crypto::{Verified, verify_password};

use crate::AuthState;
use crate::error::{AuthError, AuthResult};

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
    if verify_password(password, Some(credential.password_hash)).await == Verified::No {
        return Err(AuthError::code(StatusCode::BAD_REQUEST, "INVALID_PASSWORD"));
    }
    Ok(())
}
