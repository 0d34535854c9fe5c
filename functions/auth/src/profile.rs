//! `/update-user`, and the profile rules every body that names a user follows.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portal_shared::model::{MAX_NAME_CHARS, is_valid_image, is_valid_name};
use portal_shared::time::{iso, now};
use serde_json::json;

use crate::AuthState;
use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::views::{json_response, set_session};

/// Fields only the server sets (the admin plugin's `input: false`).
pub const SERVER_ONLY_USER_FIELDS: [&str; 6] = [
    "role",
    "banned",
    "banReason",
    "banExpires",
    "emailVerified",
    "id",
];

/// The shared profile rules (`portal_shared::model`), in BetterAuth's wording.
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

/// `POST /update-user {name?, image?}`
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
    if name.is_none() && image.is_none() {
        return Err(AuthError::message_only(
            StatusCode::BAD_REQUEST,
            "No fields to update",
        ));
    }
    let updated = state
        .app
        .db
        .users()
        .update(&user.user.id, &iso(now()), |u| {
            if let Some(name) = &name {
                u.name = name.trim().to_string();
            }
            if let Some(image) = &image {
                u.image = image.clone();
            }
        })
        .await?;
    if updated.is_none() {
        return Err(AuthError::unauthorized());
    }
    let response = json_response(json!({ "status": true }));
    Ok(set_session(
        response,
        &state.app.cookies,
        &user.token,
        user.session.remember,
    ))
}
