//! `/sign-up/email`, `/sign-in/email`, `/sign-out`.

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portal_domain::crypto::{PasswordLength, check_password_length, hash_password, new_id};
use portal_domain::model::{Role, User};
use portal_domain::store::audit::Event;
use portal_domain::store::audit::Provenance;
use portal_domain::store::users::CreateUserError;
use portal_domain::time::{iso, now};
use portal_web::caller::Credential;
use portal_web::caller::token::session_id;
use portal_web::http::RequestClient;

use crate::credentials::{Attempt, finish_sign_in};
use crate::email::send_verification_mail;
use crate::error::{AuthError, AuthResult};
use crate::input::{Body, Fields, is_email};
use crate::limits::{AddressCount, count_credential_use};
use crate::origin::check_url_fields;
use crate::profile::{SERVER_ONLY_USER_FIELDS, check_profile};
use crate::session::new_session;
use crate::state::AuthState;
use crate::username;
use crate::views::{append_cookies, clear_session, json_response, redirect, started_session};
use crate::wire::{Signed, Success};

pub fn password_error(password: &str) -> Option<AuthError> {
    match check_password_length(password) {
        PasswordLength::Ok => None,
        PasswordLength::TooShort => Some(AuthError::code(
            StatusCode::BAD_REQUEST,
            "PASSWORD_TOO_SHORT",
        )),
        PasswordLength::TooLong => Some(AuthError::code(
            StatusCode::BAD_REQUEST,
            "PASSWORD_TOO_LONG",
        )),
    }
}

#[utoipa::path(
    post, path = "/sign-up/email", request_body(content((crate::wire::SignUp = "application/json"), (crate::wire::SignUp = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Signed up (and in, with the session cookie, unless e-mail verification comes first)", body = crate::wire::Signed),
        (status = 422, description = "`USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn sign_up(
    State(state): State<AuthState>,
    RequestClient(client): RequestClient,
    address: Option<Extension<AddressCount>>,
    body: Body,
) -> AuthResult<Response> {
    let mut f = Fields::of("body", &body.value, false);
    let name = f.string("name");
    let email = f.email("email");
    let password = f.string("password");
    if password.as_deref() == Some("") {
        f.issue(
            "password",
            "Too small: expected string to have >=1 characters",
        );
    }
    let image = f.optional_string("image");
    let callback = f.optional_string("callbackURL");
    let remember = f.optional_bool("rememberMe").unwrap_or(true);
    let username = f.optional_string("username");
    let display_username = f.optional_string("displayUsername");
    let forbidden_field = SERVER_ONLY_USER_FIELDS.iter().any(|field| f.has(field));
    check_profile(&mut f, name.as_deref(), image.as_deref());
    if state.auth.require_username && username.is_none() && display_username.is_none() {
        f.issue(
            "username",
            "Invalid input: expected string, received undefined",
        );
    }
    f.finish()?;
    let handle = username::requested(username.as_deref(), display_username.as_deref())?;
    let (Some(name), Some(email), Some(password)) = (name, email, password) else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    if forbidden_field {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "FIELD_NOT_ALLOWED",
        ));
    }
    if let Some(err) = password_error(&password) {
        return Err(err);
    }
    check_url_fields(&state.app.config, &body.value)?;
    let email = email.to_lowercase();
    let users = state.app.db.users();
    // The per-address and per-e-mail counts and the lookup go out together; refused, the
    // read is dropped.
    let username_owner = async {
        match &handle {
            Some(handle) => users.username_owner(&handle.username).await,
            None => Ok(None),
        }
    };
    let (limited, found, username_owner) = tokio::join!(
        count_credential_use(&state.app, address.as_deref(), "/sign-up/email", &email),
        users.find_by_email(&email),
        username_owner
    );
    if let Err(limited) = limited {
        return Ok(limited);
    }
    if username_owner?.is_some() {
        return Err(username::taken());
    }
    if found?.is_some() {
        return Err(AuthError::code(
            StatusCode::UNPROCESSABLE_ENTITY,
            "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
        ));
    }
    let hash = hash_password(password).await;
    let at = iso(now());
    let mut user = User::new(
        new_id(),
        name.trim().to_string(),
        email,
        false,
        Role::User,
        &at,
    );
    user.image = image;
    if let Some(handle) = handle {
        user.username = Some(handle.username);
        user.display_username = Some(handle.display);
    }
    // Signed in at once unless e-mails must be verified first; the session is written in
    // the same transaction as the user.
    let signed_in = (!state.auth.require_email_verification)
        .then(|| new_session(&state.app, &user, remember, &client));
    let session = signed_in.as_ref().map(|(session, _)| session);
    let origin = Provenance::request(&state.app.config, &client).as_user(&user.id);
    let event = Event::now(&origin, "sign_up", Some(&user.id), None);
    let user = match users
        .create_signed_in(user, Some(hash), session, Some(&event))
        .await
    {
        Ok(user) => user,
        Err(CreateUserError::EmailTaken) => {
            return Err(AuthError::code(
                StatusCode::UNPROCESSABLE_ENTITY,
                "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
            ));
        }
        Err(CreateUserError::UsernameTaken) => return Err(username::taken()),
        Err(CreateUserError::Store(err)) => return Err(err.into()),
    };
    portal_web::http::identified(&user.id);
    if state.auth.send_verification_on_sign_up {
        send_verification_mail(&state, &user.email, callback.as_deref()).await;
    }
    let Some((_, token)) = signed_in else {
        return Ok(json_response(&Signed::new(None, &user)));
    };
    let response = json_response(&Signed::new(Some(token.clone()), &user));
    Ok(started_session(
        response,
        &state.app.cookies,
        &token,
        remember,
    ))
}

#[utoipa::path(
    post, path = "/sign-in/email", request_body(content((crate::wire::SignIn = "application/json"), (crate::wire::SignIn = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Signed in: the session cookie is set", body = crate::wire::SignedIn),
        (status = 401, description = "`INVALID_EMAIL_OR_PASSWORD`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn sign_in(
    State(state): State<AuthState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    address: Option<Extension<AddressCount>>,
    body: Body,
) -> AuthResult<Response> {
    let mut f = Fields::of("body", &body.value, false);
    let email = f.string("email");
    let password = f.string("password");
    let callback = f.optional_string("callbackURL");
    let remember = f.optional_bool("rememberMe").unwrap_or(true);
    f.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    if !is_email(&email) {
        return Err(AuthError::code(StatusCode::BAD_REQUEST, "INVALID_EMAIL"));
    }
    check_url_fields(&state.app.config, &body.value)?;
    let email = email.to_lowercase();
    // The per-address and per-e-mail counts and the lookup go out together; refused, the
    // read is dropped.
    let users = state.app.db.users();
    let (limited, found) = tokio::join!(
        count_credential_use(&state.app, address.as_deref(), "/sign-in/email", &email),
        users.find_by_email(&email)
    );
    if let Err(limited) = limited {
        return Ok(limited);
    }
    let attempt = Attempt {
        password,
        callback,
        remember,
        failure: "INVALID_EMAIL_OR_PASSWORD",
        via: "email",
        identifier: email,
    };
    finish_sign_in(&state, &client, &headers, found?, attempt).await
}

#[utoipa::path(
    post, path = "/sign-out", request_body(content = crate::wire::Ignored, content_type = "application/json", description = "Optional, and not read"),
    responses((status = 200, description = "Signed out: the cookies expire (also when not signed in)", body = crate::wire::Success))
)]
pub async fn sign_out(State(state): State<AuthState>, headers: HeaderMap) -> AuthResult<Response> {
    let (forget, ended) = sign_out_browser(&state, &headers).await;
    ended?;
    let mut response = json_response(&Success { success: true });
    append_cookies(&mut response, forget);
    Ok(clear_session(response, &state.app.cookies).into_response())
}

/// Ends the active session and every other account's the browser holds (multi-session),
/// together; the Set-Cookies that forget the others, and the outcome.
async fn sign_out_browser(state: &AuthState, headers: &HeaderMap) -> (Vec<String>, AuthResult<()>) {
    let (ended, (forget, others)) = tokio::join!(
        end_presented_session(state, headers),
        crate::multi_session::end_all(state, headers)
    );
    (forget, ended.and(others))
}

/// Deletes the session the request's cookie (or bearer token) names, if any.
async fn end_presented_session(state: &AuthState, headers: &HeaderMap) -> AuthResult<()> {
    if let Some(Credential::Session { token, .. }) = Credential::parse(&state.app.cookies, headers)
    {
        state
            .app
            .db
            .sessions()
            .delete(&session_id(&token), None)
            .await?;
    }
    Ok(())
}

/// Portal's way out of a cookie whose session or user is gone: sign-out, then a 302 to the
/// front end's sign-in page (`PORTAL_SIGN_IN_URL`). A storage failure still redirects
/// (with the cookies expired) so the browser never loops; the session then ends by expiry.
#[utoipa::path(
    get, path = "/clear-stale-session",
    responses((status = 302, description = "Cookies expired; `Location` is the sign-in page"))
)]
pub async fn clear_stale_session(State(state): State<AuthState>, headers: HeaderMap) -> Response {
    let (forget, ended) = sign_out_browser(&state, &headers).await;
    if let Err(err) = ended {
        tracing::warn!(status = %err.status, "clear-stale-session could not delete the sessions");
    }
    let mut response = redirect(state.auth.sign_in_url.as_str());
    append_cookies(&mut response, forget);
    clear_session(response, &state.app.cookies)
}
