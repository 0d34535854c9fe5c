//! Password reset (request, link redirect, reset) and `/change-password`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use portal_shared::cookies::percent_encode;
use portal_shared::crypto::{Verified, hash_password, random_alphanumeric, verify_password};
use portal_shared::mail::{Mail, MailKind};
use portal_shared::time::{iso, now, parse_iso};
use serde_json::{Value, json};
use std::collections::HashMap;
use time::Duration;

use crate::error::{AuthError, AuthResult};
use crate::guard::{RequestMeta, SessionUser, absolute, is_allowed_redirect, limit_email};
use crate::input::{Body, Fields};
use crate::session::start_session;
use crate::sign::password_error;
use crate::views::{json_response, redirect, set_session, user_json, with_param};
use crate::{AuthState, BASE_PATH};

const RESET_KIND: &str = "reset-password";
const RESET_TTL: Duration = Duration::hours(1);

/// `POST /request-password-reset {email, redirectTo?}`: the same answer whether or not the
/// e-mail has an account.
pub async fn request_reset(State(state): State<AuthState>, body: Body) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let email = f.email("email");
    let redirect_to = f.optional_string("redirectTo");
    f.finish()?;
    let Some(email) = email.map(|e| e.to_lowercase()) else {
        return Err(AuthError::validation(
            "[body.email] Invalid email address".into(),
        ));
    };
    if let Some(url) = &redirect_to
        && !is_allowed_redirect(&state.app.config, url)
    {
        return Err(AuthError::code(
            StatusCode::FORBIDDEN,
            "INVALID_REDIRECT_URL",
        ));
    }
    if let Err(limited) = limit_email(&state.app, "/request-password-reset", &email).await {
        return Ok(limited);
    }
    if let Some((user, _)) = state.app.db.users().find_by_email(&email).await? {
        let token = random_alphanumeric(24);
        let at = now();
        state
            .app
            .db
            .tokens()
            .issue(&token, RESET_KIND, &user.id, &iso(at), &iso(at + RESET_TTL))
            .await?;
        let callback = redirect_to.unwrap_or_else(|| "/".into());
        let url = format!(
            "{}{BASE_PATH}/reset-password/{token}?callbackURL={}",
            state.app.config.base_url.as_str().trim_end_matches('/'),
            percent_encode(&callback)
        );
        let mail = Mail {
            to: user.email.clone(),
            from: state.app.config.mail_from.clone(),
            subject: "Reset your password".into(),
            text: format!(
                "Hello {},\n\nSomeone asked to reset the password of your Portal account. To choose a new one, open:\n\n{url}\n\nThe link works once, for one hour. If it was not you, ignore this mail.\n",
                user.name
            ),
            kind: MailKind::ResetPassword,
            url,
            created_at: iso(at),
        };
        if let Err(err) = state.mailer.send(&mail).await {
            tracing::error!(error = %err, "password reset mail not sent");
        }
    }
    Ok(json_response(json!({
        "status": true,
        "message": "If this email exists in our system, check your email for the reset link",
    })))
}

/// `GET /reset-password/:token?callbackURL=`: the link in the mail; sends the browser to
/// the front end's reset page with the token, or with `error=INVALID_TOKEN`.
pub async fn reset_redirect(
    State(state): State<AuthState>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    let Some(callback) = query.get("callbackURL") else {
        return Err(AuthError::validation(
            "[query.callbackURL] Invalid input: expected string, received undefined".into(),
        ));
    };
    if !is_allowed_redirect(&state.app.config, callback) {
        return Err(AuthError::code(
            StatusCode::FORBIDDEN,
            "INVALID_CALLBACK_URL",
        ));
    }
    let target = absolute(&state.app.config, callback);
    let valid = state.app.db.tokens().peek(&token).await?.is_some_and(|t| {
        t.kind == RESET_KIND && parse_iso(&t.expires_at).is_some_and(|e| e > now())
    });
    Ok(if valid {
        redirect(&with_param(&target, "token", &token))
    } else {
        redirect(&with_param(&target, "error", "INVALID_TOKEN"))
    })
}

/// `POST /reset-password {newPassword, token}`: single use; the user's sessions end.
pub async fn reset(
    State(state): State<AuthState>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let new_password = f.string("newPassword");
    let token = f
        .optional_string("token")
        .or_else(|| query.get("token").cloned());
    f.finish()?;
    let Some(new_password) = new_password else {
        return Err(AuthError::validation(
            "[body.newPassword] Invalid input: expected string, received undefined".into(),
        ));
    };
    if let Some(err) = password_error(&new_password) {
        return Err(err);
    }
    let invalid = || AuthError::code(StatusCode::BAD_REQUEST, "INVALID_TOKEN");
    let token = token.ok_or_else(invalid)?;
    let taken = state
        .app
        .db
        .tokens()
        .consume(&token)
        .await?
        .ok_or_else(invalid)?;
    if taken.kind != RESET_KIND || parse_iso(&taken.expires_at).is_none_or(|e| e <= now()) {
        return Err(invalid());
    }
    let hash = hash_password(new_password).await;
    state
        .app
        .db
        .users()
        .set_password(&taken.user_id, &hash, &iso(now()))
        .await?;
    // Deliberate difference: whoever held a session of this account loses it.
    state
        .app
        .db
        .sessions()
        .delete_all_for_user(&taken.user_id, None)
        .await?;
    Ok(json_response(json!({ "status": true })))
}

/// `POST /change-password {currentPassword, newPassword, revokeOtherSessions?}`
pub async fn change(
    State(state): State<AuthState>,
    user: SessionUser,
    meta: RequestMeta,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let current = f.string("currentPassword");
    let new_password = f.string("newPassword");
    let revoke_others = f.optional_bool("revokeOtherSessions").unwrap_or(false);
    f.finish()?;
    let (Some(current), Some(new_password)) = (current, new_password) else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    if let Some(err) = password_error(&new_password) {
        return Err(err);
    }
    let me = &user.identity.user;
    let credential = state
        .app
        .db
        .users()
        .with_credential(&me.id)
        .await?
        .and_then(|(_, c)| c)
        .ok_or_else(|| AuthError::code(StatusCode::BAD_REQUEST, "CREDENTIAL_ACCOUNT_NOT_FOUND"))?;
    if verify_password(current, Some(credential.password_hash)).await == Verified::No {
        return Err(AuthError::code(StatusCode::BAD_REQUEST, "INVALID_PASSWORD"));
    }
    let hash = hash_password(new_password).await;
    state
        .app
        .db
        .users()
        .set_password(&me.id, &hash, &iso(now()))
        .await?;
    if !revoke_others {
        return Ok(json_response(
            json!({ "token": Value::Null, "user": user_json(me) }),
        ));
    }
    state
        .app
        .db
        .sessions()
        .delete_all_for_user(&me.id, None)
        .await?;
    let remember = user.session().remember;
    let (_, token) = start_session(&state.app, me, remember, &meta).await?;
    let response = json_response(json!({ "token": token, "user": user_json(me) }));
    Ok(set_session(response, &state.app.cookies, &token, remember))
}
