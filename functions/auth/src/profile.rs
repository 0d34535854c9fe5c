//! `/update-user`, and the profile rules every body that names a user follows.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use portal_domain::avatar::{Avatar, is_data_url, parse_data_url};
use portal_domain::model::{MAX_NAME_CHARS, is_valid_image, is_valid_name};
use portal_domain::store::audit::Provenance;
use portal_domain::time::{iso, now};
use portal_services::moderation::{Refused, delete_account};
use portal_web::http::RequestClient;

use crate::error::{AuthError, AuthResult};
use crate::extract::{SessionUser, refuse_impersonation};
use crate::input::{Body, Fields};
use crate::origin::check_url_fields;
use crate::reauth::check_current_password;
use crate::state::AuthState;
use crate::username;
use crate::views::{clear_session, json_response, set_session};
use crate::wire::{Deleted, Status};
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
    // A picture sent as a data URL (Portal's avatar card) is decoded and checked, kept
    // in its own item, and named by the URL that serves it.
    let mut image = image;
    let mut avatar = None;
    if let Some(Some(raw)) = &image
        && is_data_url(raw)
    {
        match parse_data_url(raw) {
            Ok(picture) => {
                image = Some(Some(avatar_url(&state, &user.user.id, &picture)));
                avatar = Some(picture);
            }
            Err(problem) => f.issue("image", problem.message()),
        }
    }
    let url_to_check = image
        .as_ref()
        .and_then(Option::as_deref)
        .filter(|raw| !is_data_url(raw));
    check_profile(&mut f, name.as_deref(), url_to_check);
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
        .modify_with_avatar(
            &user.user.id,
            &iso(now()),
            |u| {
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
            },
            avatar.as_ref(),
        )
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

/// The URL that serves `user_id`'s picture, naming its version (a new picture, a new URL).
fn avatar_url(state: &AuthState, user_id: &str, avatar: &Avatar) -> String {
    state.link(&format!("/avatar/{user_id}?v={}", avatar.version()))
}

/// `GET /avatar/{userId}`: a user's picture, as `/update-user` stored it (Portal's own
/// path beside BetterAuth's; public, as an `<img>` asks for it). Served as the image it
/// was checked to be, never sniffed, with no script allowed; cached for a year (a new
/// picture has a new `?v=`).
#[utoipa::path(
    get, path = "/avatar/{userId}",
    params(("userId" = String, Path), ("v" = Option<String>, Query, description = "The picture's version (cache busting)")),
    responses(
        (status = 200, description = "The picture", content_type = "image/png"),
        (status = 404, description = "`NOT_FOUND`: no picture", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn avatar(
    State(state): State<AuthState>,
    axum::extract::Path(user_id): axum::extract::Path<String>,
) -> AuthResult<Response> {
    use axum::http::header;
    let Some(picture) = state.app.db.avatar(&user_id).await? else {
        return Err(AuthError::with_message(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "No picture",
        ));
    };
    Ok((
        [
            (header::CONTENT_TYPE, picture.mime),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".into(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".into(),
            ),
            (header::ETAG, format!("\"{}\"", picture.version)),
        ],
        picture.bytes,
    )
        .into_response())
}

/// `POST /delete-user {password?, token?, callbackURL?}`: the caller deletes their own
/// account (Portal enables it), proven by the password or by a session started within the
/// day. Their accounts on the services are removed there first, as Portal's `beforeDelete`
/// does: a service that fails stops it with 502 and nothing of theirs is deleted. The last
/// admin who can act is kept (403 `LAST_ADMIN`). No deletion tokens are mailed (Portal
/// sends none), so a `token` is never one of ours (404 `INVALID_TOKEN`).
#[utoipa::path(
    post, path = "/delete-user", security(("signedIn" = [])),
    request_body = crate::wire::DeleteUser,
    responses(
        (status = 200, description = "Deleted; the session cookies are cleared", body = crate::wire::Deleted),
        (status = 400, description = "`INVALID_PASSWORD`, `CREDENTIAL_ACCOUNT_NOT_FOUND`, `SESSION_EXPIRED`, `VALIDATION_ERROR`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`LAST_ADMIN`, `INVALID_CALLBACK_URL`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`INVALID_TOKEN`", body = portal_web::openapi::AuthErrorBody),
        (status = 502, description = "A service could not remove the user's account there", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn delete_user(
    State(state): State<AuthState>,
    user: Result<SessionUser, AuthError>,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, true);
    f.optional_string("callbackURL");
    let password = f.optional_string("password");
    let token = f.optional_string("token");
    f.finish()?;
    check_url_fields(&state.app.config, &body.value)?;
    let user = user?;
    refuse_impersonation(&user.session)?;
    let id = user.user.id.clone();
    match password {
        Some(password) if !password.is_empty() => {
            check_current_password(&state, &id, password).await?;
        }
        _ => {
            if token.is_some_and(|t| !t.is_empty()) {
                return Err(AuthError::code(StatusCode::NOT_FOUND, "INVALID_TOKEN"));
            }
            if !crate::session::is_fresh(&user.session) {
                return Err(AuthError::code(StatusCode::BAD_REQUEST, "SESSION_EXPIRED"));
            }
        }
    }
    let origin = Provenance::request(&state.app.config, &client).as_user(&id);
    let users = state.app.db.users();
    let (me, roster) = futures::try_join!(users.get(&id), users.acting_admins())?;
    let me = me.ok_or_else(AuthError::unauthorized)?;
    match delete_account(
        &state.app.db,
        &state.app.integrations,
        &origin,
        &me,
        roster.len(),
    )
    .await?
    {
        Ok(()) => {}
        Err(Refused::LastAdmin) => {
            return Err(AuthError::code(StatusCode::FORBIDDEN, "LAST_ADMIN"));
        }
        Err(_) => return Err(AuthError::unauthorized()),
    }
    let response = json_response(&Deleted {
        success: true,
        message: "User deleted",
    });
    Ok(clear_session(response, &state.app.cookies))
}
