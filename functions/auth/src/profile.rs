//! `/update-user`, and the profile rules every body that names a user follows.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::model::{MAX_NAME_CHARS, is_valid_image, is_valid_name};
use portal_domain::time::{iso, now};

use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::origin::check_url_fields;
use crate::state::AuthState;
use crate::username;
use crate::views::{json_response, set_session};
use crate::wire::Status;
use portal_domain::store::StoreError;
use portal_domain::store::users::Conflict;

/// Fields only the server sets (the admin plugin's `input: false`).
pub const SERVER_ONLY_USER_FIELDS: [&str; 6] = [
    "role",
    "banned",
    "banReason",
    "banExpires",
    "emailVerified",
    "id",
];

/// The shared profile rules (`portal_domain::model`), in BetterAuth's wording.
pub fn check_profile(f: &mut Fields, name: Option<&str>, image: Option<&str>) {
    if name.is_some_and(|n| !is_valid_name(n)) {
        f.issue(
            "name",
            &format!(
                "Too big or too small: expected string to have 1 to {MAX_NAME_CHARS} characters"
            ),
        );
    }
    if image.is_some_and(|url| !is_valid_image(url)) {
        f.issue("image", "Invalid URL");
    }
}

/// Why `/update-user` wrote nothing.
enum UpdateRefused {
    Immutable,
    Conflict(Conflict),
}

impl From<Conflict> for UpdateRefused {
    fn from(conflict: Conflict) -> Self {
        UpdateRefused::Conflict(conflict)
    }
}

/// `POST /update-user {name?, image?, username?, displayUsername?}`
#[utoipa::path(
    post, path = "/update-user", security(("signedIn" = [])),
    request_body = crate::wire::UpdateUser,
    responses((status = 200, description = "Updated", body = crate::wire::Status))
)]
pub async fn update_user(
    State(state): State<AuthState>,
    user: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let name = f.optional_string("name");
    let image = f.nullable_string("image");
    let username = f.optional_string("username");
    let display_username = f.optional_string("displayUsername");
    let has_email = f.has("email");
    let forbidden = SERVER_ONLY_USER_FIELDS.iter().any(|field| f.has(field));
    check_profile(
        &mut f,
        name.as_deref(),
        image.as_ref().and_then(Option::as_deref),
    );
    f.finish()?;
    if has_email {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "EMAIL_CAN_NOT_BE_UPDATED",
        ));
    }
    if forbidden {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "FIELD_NOT_ALLOWED",
        ));
    }
    // A display name alone respells the username already held (the sign-up rule, where it
    // stands for the username, applies only while there is none).
    let current = user.user.username.as_deref();
    let username = username
        .as_deref()
        .or(current.filter(|_| display_username.is_some()));
    let handle = username::requested(username, display_username.as_deref())?;
    if let (Some(handle), Some(current)) = (&handle, &user.user.username)
        && handle.username != *current
    {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "USERNAME_IS_IMMUTABLE",
        ));
    }
    if name.is_none() && image.is_none() && handle.is_none() {
        return Err(AuthError::message_only(
            StatusCode::BAD_REQUEST,
            "No fields to update",
        ));
    }
    let updated = state
        .app
        .db
        .users()
        .modify(&user.user.id, &iso(now()), |u| {
            if let Some(name) = &name {
                u.name = name.trim().to_string();
            }
            if let Some(image) = &image {
                u.image = image.clone();
            }
            if let Some(handle) = &handle {
                // Checked again on the fresh copy: a username set meanwhile stays.
                if u.username.as_ref().is_some_and(|c| *c != handle.username) {
                    return Err(UpdateRefused::Immutable);
                }
                u.username = Some(handle.username.clone());
                u.display_username = Some(handle.display.clone());
            }
            Ok(())
        })
        .await?;
    match updated {
        None => return Err(AuthError::unauthorized()),
        Some(Ok(_)) => {}
        Some(Err(UpdateRefused::Immutable)) => {
            return Err(AuthError::code(
                StatusCode::BAD_REQUEST,
                "USERNAME_IS_IMMUTABLE",
            ));
        }
        Some(Err(UpdateRefused::Conflict(Conflict::UsernameTaken))) => {
            return Err(username::taken());
        }
        // Neither can come of a profile update: it changes no role and no address.
        Some(Err(UpdateRefused::Conflict(Conflict::LastAdmin | Conflict::EmailTaken))) => {
            return Err(AuthError::from(StoreError::Dynamo(
                "a profile update touched the admin roster or the e-mail claim".into(),
            )));
        }
    }
    let response = json_response(&Status::TRUE);
    Ok(set_session(
        response,
        &state.app.cookies,
        &user.token,
        user.session.remember,
    ))
}

/// `POST /change-email {newEmail, callbackURL?}`: Portal keeps BetterAuth's e-mail change
/// off (`user.changeEmail.enabled: false`), so a well-formed request from a signed-in user
/// is answered 400 `CHANGE_EMAIL_DISABLED`, after the body (400) and the session (401) are
/// checked in BetterAuth's order. Staff and admins change addresses in the admin API.
#[utoipa::path(
    post, path = "/change-email", security(("signedIn" = [])),
    request_body = crate::wire::ChangeEmail,
    responses(
        (status = 400, description = "`CHANGE_EMAIL_DISABLED`, or `VALIDATION_ERROR`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn change_email(
    State(state): State<AuthState>,
    user: Result<SessionUser, AuthError>,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    f.email("newEmail");
    f.optional_string("callbackURL");
    f.finish()?;
    // The URL is resolved and checked as everywhere a body names one (BetterAuth's origin
    // check runs before the endpoint).
    check_url_fields(&state.app.config, &body.value)?;
    user?;
    Err(AuthError::code(
        StatusCode::BAD_REQUEST,
        "CHANGE_EMAIL_DISABLED",
    ))
}
