//! The ways a user signs in (BetterAuth's accounts): `/list-accounts` and `/account-info`.
//! Portal's security cards read the `credential` entry (the password). Accounts at other
//! providers (Discord, Mailcow) come with social sign-in.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::store::users::Credential;

use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::state::AuthState;
use crate::views::json_response;
use crate::wire::LinkedAccount;

/// The password's account id: BetterAuth's credential account, one per user.
fn credential_id(user_id: &str) -> String {
    format!("{user_id}-credential")
}

fn credential_account(user_id: &str, credential: &Credential) -> LinkedAccount {
    LinkedAccount {
        id: credential_id(user_id),
        provider_id: "credential".into(),
        account_id: user_id.to_string(),
        user_id: user_id.to_string(),
        scopes: Vec::new(),
        created_at: credential.created_at.clone(),
        updated_at: credential.updated_at.clone(),
    }
}

/// The caller's accounts.
async fn accounts_of(state: &AuthState, user_id: &str) -> AuthResult<Vec<LinkedAccount>> {
    let credential = state.app.db.users().credential(user_id).await?;
    Ok(credential
        .iter()
        .map(|c| credential_account(user_id, c))
        .collect())
}

/// `GET /list-accounts`: how the caller signs in.
#[utoipa::path(
    get, path = "/list-accounts", security(("signedIn" = [])),
    responses(
        (status = 200, description = "The caller's accounts (`credential` when they have a password)", body = Vec<LinkedAccount>),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn list(State(state): State<AuthState>, user: SessionUser) -> AuthResult<Response> {
    Ok(json_response(&accounts_of(&state, &user.user.id).await?))
}

/// `GET /account-info?accountId=`: what the provider of one of the caller's accounts says
/// about them. The password has no provider to ask: 400 `PROVIDER_NOT_CONFIGURED`, as in
/// BetterAuth.
#[utoipa::path(
    get, path = "/account-info", security(("signedIn" = [])),
    params(("accountId" = String, Query, description = "An `id` from `/list-accounts`")),
    responses(
        (status = 400, description = "`ACCOUNT_NOT_FOUND`, `PROVIDER_NOT_CONFIGURED`, or no `accountId`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn info(
    State(state): State<AuthState>,
    user: SessionUser,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    let Some(account_id) = query.get("accountId") else {
        return Err(AuthError::validation(
            "[query.accountId] Invalid input: expected string, received undefined".into(),
        ));
    };
    let accounts = accounts_of(&state, &user.user.id).await?;
    if !accounts.iter().any(|a| &a.id == account_id) {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "ACCOUNT_NOT_FOUND",
        ));
    }
    Err(AuthError::with_message(
        StatusCode::BAD_REQUEST,
        "PROVIDER_NOT_CONFIGURED",
        "Account is not associated with a configured social provider.",
    ))
}
