//! The ways a user signs in (BetterAuth's accounts): the password (`credential`) and the
//! accounts linked at other providers (Discord, Mailcow). `/list-accounts`,
//! `/unlink-account` (never the last way in), `/link-social` and `/oauth2/link` (start a
//! linking authorization), `/get-access-token` and `/refresh-token` (the provider's tokens,
//! refreshed at the provider), `/account-info` (what the provider says now).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::linked_accounts::LinkedAccount as Linked;
use portal_domain::store::users::Credential;
use portal_domain::time::{iso, now, parse_iso};
use portal_web::http::RequestClient;
use serde_json::{Value, json};

use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::session::require_fresh;
use crate::social::sign_in::{read, start};
use crate::social::{Kind, LinkTo, Provider, Tokens, profile_and_raw, provider, refresh};
use crate::state::AuthState;
use crate::views::json_response;
use crate::wire::{
    AccountInfo, LinkedAccount, ProviderAccessToken, ProviderTokens, ProviderUser, Status,
};

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

fn linked_view(account: &Linked) -> LinkedAccount {
    LinkedAccount {
        id: account.id.clone(),
        provider_id: account.provider_id.clone(),
        account_id: account.account_id.clone(),
        user_id: account.user_id.clone(),
        scopes: account.scopes.clone(),
        created_at: account.created_at.clone(),
        updated_at: account.updated_at.clone(),
    }
}

/// The caller's password (if any) and linked accounts, read together.
async fn held(state: &AuthState, user_id: &str) -> AuthResult<(Option<Credential>, Vec<Linked>)> {
    let (users, linked) = (state.app.db.users(), state.app.db.linked_accounts());
    let (credential, linked) =
        futures::try_join!(users.credential(user_id), linked.of_user(user_id))?;
    Ok((credential, linked))
}

/// `GET /list-accounts`: how the caller signs in.
#[utoipa::path(
    get, path = "/list-accounts", security(("signedIn" = [])),
    responses(
        (status = 200, description = "The caller's accounts: `credential` when they have a password, and each linked provider account", body = Vec<LinkedAccount>),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn list(State(state): State<AuthState>, user: SessionUser) -> AuthResult<Response> {
    let (credential, linked) = held(&state, &user.user.id).await?;
    let mut all: Vec<LinkedAccount> = credential
        .iter()
        .map(|c| credential_account(&user.user.id, c))
        .collect();
    all.extend(linked.iter().map(linked_view));
    Ok(json_response(&all))
}

fn account_not_found() -> AuthError {
    AuthError::code(StatusCode::BAD_REQUEST, "ACCOUNT_NOT_FOUND")
}

/// `POST /unlink-account {providerId, accountId?}` (a fresh session): removes a linked
/// account, never the last way the caller signs in.
#[utoipa::path(
    post, path = "/unlink-account", security(("signedIn" = [])),
    request_body(content = Object, description = "`{providerId, accountId?}`"),
    responses(
        (status = 200, description = "`{status: true}`", body = crate::wire::Status),
        (status = 400, description = "`FAILED_TO_UNLINK_LAST_ACCOUNT`, `ACCOUNT_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`SESSION_NOT_FRESH`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn unlink(
    State(state): State<AuthState>,
    user: SessionUser,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?.value;
    let mut f = Fields::of("body", &body, false);
    let provider_id = f.string("providerId");
    let account_id = f.optional_string("accountId");
    f.finish()?;
    let Some(provider_id) = provider_id else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    require_fresh(&user.session)?;
    let (credential, linked) = held(&state, &user.user.id).await?;
    if linked.len() + usize::from(credential.is_some()) <= 1 {
        return Err(AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "FAILED_TO_UNLINK_LAST_ACCOUNT",
            "You cannot unlink your last account",
        ));
    }
    let found = linked.into_iter().find(|a| {
        a.provider_id == provider_id && account_id.as_ref().is_none_or(|id| &a.account_id == id)
    });
    let Some(account) = found else {
        return Err(account_not_found());
    };
    let origin = Provenance::request(&state.app.config, &client).as_user(&user.user.id);
    let event = Event::now(
        &origin,
        "account.unlinked",
        Some(&user.user.id),
        Some(json!({ "provider": account.provider_id, "accountId": account.account_id })),
    );
    if !state
        .app
        .db
        .linked_accounts()
        .unlink(&account, Some(&event))
        .await?
    {
        return Err(account_not_found());
    }
    Ok(json_response(&Status::TRUE))
}

fn link_to(user: &SessionUser) -> LinkTo {
    LinkTo {
        user_id: user.user.id.clone(),
        email: user.user.email.clone(),
    }
}

/// `POST /link-social {provider, callbackURL?, errorCallbackURL?, scopes?, disableRedirect?}`:
/// links a provider account to the caller (the provider must have verified the same
/// e-mail address).
#[utoipa::path(
    post, path = "/link-social", security(("signedIn" = [])),
    request_body(content = Object, description = "`{provider: \"discord\", callbackURL?, errorCallbackURL?, scopes?, disableRedirect?}`"),
    responses(
        (status = 200, description = "`{url, redirect}`: the provider's authorization URL", body = crate::wire::RedirectTo),
        (status = 404, description = "`PROVIDER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn link_social(
    State(state): State<AuthState>,
    user: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?.value;
    let asked = read(&state, &body, "provider")?;
    start(&state, &asked, Kind::Social, Some(link_to(&user))).await
}

/// `POST /oauth2/link {providerId, callbackURL, errorCallbackURL?, scopes?}` (the
/// genericOAuth plugin): links a Mailcow account to the caller.
#[utoipa::path(
    post, path = "/oauth2/link", security(("signedIn" = [])),
    request_body(content = Object, description = "`{providerId: \"mailcow\", callbackURL, errorCallbackURL?, scopes?}`"),
    responses(
        (status = 200, description = "`{url, redirect: true}`", body = crate::wire::RedirectTo),
        (status = 404, description = "`PROVIDER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn link_generic(
    State(state): State<AuthState>,
    user: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?.value;
    let asked = read(&state, &body, "providerId")?;
    start(&state, &asked, Kind::Generic, Some(link_to(&user))).await
}

/// The caller's account at `provider_id` (`account_id` when given), and the provider.
async fn provider_account<'a>(
    state: &'a AuthState,
    user: &SessionUser,
    body: &Value,
) -> AuthResult<(Provider<'a>, Linked)> {
    let mut f = Fields::of("body", body, false);
    let provider_id = f.string("providerId");
    let account_id = f.optional_string("accountId");
    f.finish()?;
    let Some(provider_id) = provider_id else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    let Some(provider) = provider(state, &provider_id) else {
        return Err(AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "PROVIDER_NOT_SUPPORTED",
            format!("Provider {provider_id} is not supported."),
        ));
    };
    // Which account: by its key when the caller names it, else the user's one at that
    // provider (their index partition); its secrets are then read by key, strongly
    // consistent (an index copy may lag a refresh just written).
    let store = state.app.db.linked_accounts();
    let account_id = match account_id {
        Some(id) => id,
        None => store
            .of_user(&user.user.id)
            .await?
            .into_iter()
            .find(|a| a.provider_id == provider_id)
            .map(|a| a.account_id)
            .ok_or_else(account_not_found)?,
    };
    let account = current(state, &user.user.id, &provider_id, &account_id).await?;
    Ok((provider, account))
}

/// The linked account `account_id` at `provider_id` as stored now, if it is `user_id`'s.
async fn current(
    state: &AuthState,
    user_id: &str,
    provider_id: &str,
    account_id: &str,
) -> AuthResult<Linked> {
    state
        .app
        .db
        .linked_accounts()
        .get(provider_id, account_id)
        .await?
        .filter(|a| a.user_id == user_id)
        .ok_or_else(account_not_found)
}

/// Stores `tokens` (just refreshed) on `account`, sealed; the refresh token kept when the
/// provider sent no new one.
async fn store_refreshed(
    state: &AuthState,
    mut account: Linked,
    tokens: &Tokens,
) -> AuthResult<Linked> {
    let keyring = &state.app.keyring;
    account.access_token_sealed = Some(keyring.seal(&tokens.access_token));
    if let Some(refresh) = &tokens.refresh_token {
        account.refresh_token_sealed = Some(keyring.seal(refresh));
    }
    if let Some(id_token) = &tokens.id_token {
        account.id_token_sealed = Some(keyring.seal(id_token));
    }
    account.access_token_expires_at = tokens.access_token_expires_at.clone();
    if !tokens.scopes.is_empty() {
        account.scopes = tokens.scopes.clone();
    }
    account.updated_at = iso(now());
    state.app.db.linked_accounts().save(&account).await?;
    Ok(account)
}

fn open(state: &AuthState, sealed: &Option<String>) -> Option<String> {
    sealed.as_deref().and_then(|s| state.app.keyring.open(s))
}

/// A usable access token of `account`: refreshed at the provider when it expires within
/// five seconds and a refresh token is held.
async fn usable(state: &AuthState, provider: Provider<'_>, account: Linked) -> AuthResult<Linked> {
    let expiring = account
        .access_token_expires_at
        .as_deref()
        .and_then(parse_iso)
        .is_some_and(|at| at - now() < time::Duration::seconds(5));
    let Some(refresh_token) = open(state, &account.refresh_token_sealed).filter(|_| expiring)
    else {
        return Ok(account);
    };
    match refresh(provider, &refresh_token).await {
        Ok(tokens) => store_refreshed(state, account, &tokens).await,
        Err(failure) => {
            tracing::warn!(provider = provider.id, reason = %failure.0, "refresh failed");
            Err(AuthError::with_message(
                StatusCode::BAD_REQUEST,
                "FAILED_TO_GET_ACCESS_TOKEN",
                "Failed to get a valid access token",
            ))
        }
    }
}

/// `POST /get-access-token {providerId, accountId?}`: the caller's access token at the
/// provider, refreshed first when it is about to expire.
#[utoipa::path(
    post, path = "/get-access-token", security(("signedIn" = [])),
    request_body(content = Object, description = "`{providerId, accountId?}`"),
    responses(
        (status = 200, description = "`{accessToken, accessTokenExpiresAt, scopes, idToken?}`", body = crate::wire::ProviderAccessToken),
        (status = 400, description = "`PROVIDER_NOT_SUPPORTED`, `ACCOUNT_NOT_FOUND`, `FAILED_TO_GET_ACCESS_TOKEN`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn get_access_token(
    State(state): State<AuthState>,
    user: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?.value;
    let (provider, account) = provider_account(&state, &user, &body).await?;
    let account = usable(&state, provider, account).await?;
    Ok(crate::views::no_store(json_response(
        &ProviderAccessToken {
            access_token: open(&state, &account.access_token_sealed),
            access_token_expires_at: account.access_token_expires_at.clone(),
            id_token: open(&state, &account.id_token_sealed),
            scopes: account.scopes,
        },
    )))
}

/// `POST /refresh-token {providerId, accountId?}`: new tokens from the provider now.
#[utoipa::path(
    post, path = "/refresh-token", security(("signedIn" = [])),
    request_body(content = Object, description = "`{providerId, accountId?}`"),
    responses(
        (status = 200, description = "`{accessToken, refreshToken, accessTokenExpiresAt, refreshTokenExpiresAt, scope, idToken, providerId, accountId}`", body = crate::wire::ProviderTokens),
        (status = 400, description = "`PROVIDER_NOT_SUPPORTED`, `ACCOUNT_NOT_FOUND`, `REFRESH_TOKEN_NOT_FOUND`, `FAILED_TO_REFRESH_ACCESS_TOKEN`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn refresh_token(
    State(state): State<AuthState>,
    user: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?.value;
    let (provider, account) = provider_account(&state, &user, &body).await?;
    let Some(refresh_token) = open(&state, &account.refresh_token_sealed) else {
        return Err(AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "REFRESH_TOKEN_NOT_FOUND",
            "Refresh token not found",
        ));
    };
    let tokens = refresh(provider, &refresh_token).await.map_err(|failure| {
        tracing::warn!(provider = provider.id, reason = %failure.0, "refresh failed");
        AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "FAILED_TO_REFRESH_ACCESS_TOKEN",
            "Failed to refresh access token",
        )
    })?;
    let account = store_refreshed(&state, account, &tokens).await?;
    Ok(crate::views::no_store(json_response(&ProviderTokens {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token.unwrap_or(refresh_token),
        access_token_expires_at: account.access_token_expires_at.clone(),
        refresh_token_expires_at: account.refresh_token_expires_at.clone(),
        scope: account.scopes.join(","),
        id_token: open(&state, &account.id_token_sealed),
        provider_id: account.provider_id,
        account_id: account.account_id,
    })))
}

/// `GET /account-info?accountId=`: what the provider of one of the caller's accounts says
/// about them now (`accountId`: the provider's id of the account, or its `id` from
/// `/list-accounts`). The password has no provider to ask: 400 `PROVIDER_NOT_CONFIGURED`.
#[utoipa::path(
    get, path = "/account-info", security(("signedIn" = [])),
    params(("accountId" = String, Query, description = "The provider's id of the account (or its `id` from `/list-accounts`)")),
    responses(
        (status = 200, description = "`{user: {id, name, email, image, emailVerified}, data}`", body = crate::wire::AccountInfo),
        (status = 400, description = "`ACCOUNT_NOT_FOUND`, `PROVIDER_NOT_CONFIGURED`, or no `accountId`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
        (status = 502, description = "`PROVIDER_UNAVAILABLE`: the provider did not answer", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn info(
    State(state): State<AuthState>,
    user: SessionUser,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    let Some(asked) = query.get("accountId") else {
        return Err(AuthError::validation(
            "[query.accountId] Invalid input: expected string, received undefined".into(),
        ));
    };
    let (credential, linked) = held(&state, &user.user.id).await?;
    let linked = linked
        .into_iter()
        .find(|a| &a.account_id == asked || &a.id == asked);
    let Some(account) = linked else {
        let is_password = credential.is_some()
            && (asked == &credential_id(&user.user.id) || asked == &user.user.id);
        if !is_password {
            return Err(account_not_found());
        }
        return Err(AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "PROVIDER_NOT_CONFIGURED",
            "Account is not associated with a configured social provider.",
        ));
    };
    let Some(provider) = provider(&state, &account.provider_id) else {
        return Err(AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "PROVIDER_NOT_CONFIGURED",
            format!(
                "Provider account provider is {} but it is not configured",
                account.provider_id
            ),
        ));
    };
    let account = current(
        &state,
        &user.user.id,
        &account.provider_id,
        &account.account_id,
    )
    .await?;
    let account = usable(&state, provider, account).await?;
    let Some(access_token) = open(&state, &account.access_token_sealed) else {
        return Err(AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "ACCESS_TOKEN_NOT_FOUND",
            "Access token not found",
        ));
    };
    let (profile, raw) = profile_and_raw(provider, &access_token)
        .await
        .map_err(|failure| {
            tracing::warn!(provider = provider.id, reason = %failure.0, "profile read failed");
            AuthError::with_message(
                StatusCode::BAD_GATEWAY,
                "PROVIDER_UNAVAILABLE",
                "The provider did not answer",
            )
        })?;
    Ok(json_response(&AccountInfo {
        user: ProviderUser {
            id: profile.id,
            name: profile.name,
            email: profile.email,
            image: profile.image,
            email_verified: profile.email_verified,
        },
        data: raw,
    }))
}
