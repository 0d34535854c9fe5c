//! BetterAuth's `username` plugin as Portal configures it: `username`/`displayUsername` on
//! sign-up and `/update-user`, `/sign-in/username`, `/is-username-available`.
//!
//! Rules (`model::username_rule`): 3 to 30 characters, a letter first, then letters, digits,
//! `_` or `-`, stored lower-cased. Where we are stricter than the plugin:
//! - a username is unique by a claim item written in the same transaction as the user (two
//!   racing sign-ups with one username: exactly one wins);
//! - once set, its owner cannot change it (`USERNAME_IS_IMMUTABLE`); staff and admins can
//!   (`PATCH /api/admin/users/{id}`);
//! - `displayUsername` may differ from the username only in case (the plugin takes any
//!   string, so a display name could pose as another user's handle).

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portal_domain::model::{normalize_username, username_rule};
use portal_web::http::RequestClient;

use crate::credentials::{Attempt, finish_sign_in};
use crate::error::{AuthError, AuthResult};
use crate::input::{Body, Fields};
use crate::limits::{AddressCount, count_credential_use};
use crate::origin::check_url_fields;
use crate::state::AuthState;
use crate::views::json_response;
use crate::wire::Available;

/// A username and how to display it, both checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    /// Lower-cased.
    pub username: String,
    pub display: String,
}

/// The plugin's rule failure for `raw` (before lower-casing), with `status`: 400 where a
/// user is written (sign-up, update), 422 where one is looked up (sign-in, availability).
fn checked(raw: &str, status: StatusCode) -> AuthResult<String> {
    username_rule(raw)
        .map(|()| normalize_username(raw))
        .map_err(|problem| AuthError::code(status, problem.code()))
}

/// The handle a body asks for (`username`, `displayUsername`), as the plugin reads it on
/// sign-up and update: a display name alone stands for the username when it is a valid
/// one; a username alone is its own display name.
pub fn requested(username: Option<&str>, display: Option<&str>) -> AuthResult<Option<Handle>> {
    let raw = match (username, display) {
        (Some(username), _) => username,
        (None, Some(display)) if username_rule(display).is_ok() => display,
        (None, Some(_)) => {
            return Err(AuthError::code(
                StatusCode::BAD_REQUEST,
                "INVALID_DISPLAY_USERNAME",
            ));
        }
        (None, None) => return Ok(None),
    };
    let username = checked(raw, StatusCode::BAD_REQUEST)?;
    let display = display.unwrap_or(raw).to_string();
    if normalize_username(&display) != username {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "INVALID_DISPLAY_USERNAME",
        ));
    }
    Ok(Some(Handle { username, display }))
}

pub fn taken() -> AuthError {
    AuthError::code(StatusCode::BAD_REQUEST, "USERNAME_IS_ALREADY_TAKEN")
}

#[utoipa::path(
    post, path = "/sign-in/username", request_body(content((crate::wire::SignInUsername = "application/json"), (crate::wire::SignInUsername = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Signed in: the session cookie is set (or, with two-factor on, `{twoFactorRedirect: true}`)", body = crate::wire::SignedIn),
        (status = 401, description = "`INVALID_USERNAME_OR_PASSWORD`", body = portal_web::openapi::AuthErrorBody),
        (status = 422, description = "`USERNAME_TOO_SHORT`, `USERNAME_TOO_LONG`, `INVALID_USERNAME`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn sign_in_username(
    State(state): State<AuthState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    address: Option<Extension<AddressCount>>,
    body: Body,
) -> AuthResult<Response> {
    let mut f = Fields::of("body", &body.value, false);
    let username = f.string("username");
    let password = f.string("password");
    let callback = f.optional_string("callbackURL");
    let remember = f.optional_bool("rememberMe").unwrap_or(true);
    f.finish()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    if username.is_empty() || password.is_empty() {
        return Err(AuthError::code(
            StatusCode::UNAUTHORIZED,
            "INVALID_USERNAME_OR_PASSWORD",
        ));
    }
    let username = checked(&username, StatusCode::UNPROCESSABLE_ENTITY)?;
    check_url_fields(&state.app.config, &body.value)?;
    let users = state.app.db.users();
    // The counts (per address, per username) and the lookup go out together.
    let (limited, found) = tokio::join!(
        count_credential_use(
            &state.app,
            address.as_deref(),
            "/sign-in/username",
            &username
        ),
        users.find_by_username(&username)
    );
    if let Err(limited) = limited {
        return Ok(limited);
    }
    let attempt = Attempt {
        password,
        callback,
        remember,
        failure: "INVALID_USERNAME_OR_PASSWORD",
        via: "username",
        identifier: username,
    };
    finish_sign_in(&state, &client, &headers, found?, attempt).await
}

#[utoipa::path(
    post, path = "/is-username-available", request_body = crate::wire::UsernameOnly,
    responses(
        (status = 200, description = "Whether nobody holds it", body = crate::wire::Available),
        (status = 422, description = "`USERNAME_TOO_SHORT`, `USERNAME_TOO_LONG`, `INVALID_USERNAME`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn is_username_available(
    State(state): State<AuthState>,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let username = f.string("username");
    f.finish()?;
    let Some(username) = username else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    if username.is_empty() {
        return Err(AuthError::code(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_USERNAME",
        ));
    }
    let username = checked(&username, StatusCode::UNPROCESSABLE_ENTITY)?;
    let owner = state.app.db.users().username_owner(&username).await?;
    Ok(json_response(&Available {
        available: owner.is_none(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: AuthResult<Option<Handle>>) -> Option<&'static str> {
        result.err().and_then(|e| e.code)
    }

    #[test]
    fn the_requested_handle_follows_the_plugin_and_our_display_rule() {
        let handle = |u: &str, d: &str| {
            Some(Handle {
                username: u.into(),
                display: d.into(),
            })
        };
        assert_eq!(requested(None, None).unwrap(), None);
        assert_eq!(requested(Some("Ada"), None).unwrap(), handle("ada", "Ada"));
        assert_eq!(
            requested(Some("ada"), Some("ADA")).unwrap(),
            handle("ada", "ADA")
        );
        assert_eq!(requested(None, Some("Ada")).unwrap(), handle("ada", "Ada"));
        assert_eq!(
            code(requested(None, Some("Ada Lovelace"))),
            Some("INVALID_DISPLAY_USERNAME")
        );
        assert_eq!(
            code(requested(Some("ada"), Some("grace"))),
            Some("INVALID_DISPLAY_USERNAME")
        );
        assert_eq!(
            code(requested(Some("ab"), None)),
            Some("USERNAME_TOO_SHORT")
        );
        assert_eq!(code(requested(Some("1ab"), None)), Some("INVALID_USERNAME"));
    }
}
