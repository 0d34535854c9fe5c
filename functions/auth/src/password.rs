//! Password reset (request, link redirect, reset) and `/change-password`.

use crate::mail::{Mail, MailKind};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::crypto::{hash_password, random_alphanumeric};
use portal_domain::store::StoreError;
use portal_domain::store::audit::Event;
use portal_domain::store::audit::Provenance;
use portal_domain::store::tokens::OneTimeToken;
use portal_domain::store::users::Conflict;
use portal_domain::time::{iso, now, parse_iso};
use portal_web::cookies::percent_encode;
use portal_web::http::RequestClient;
use portal_web::http::RequestProvenance;
use serde_json::json;
use std::collections::HashMap;
use time::Duration;

use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::limits::{MailRequest, mail_request};
use crate::origin::redirect_target;
use crate::reauth::check_current_password;
use crate::session::start_session;
use crate::sign::password_error;
use crate::state::AuthState;
use crate::views::{json_response, redirect, started_session, with_param};
use crate::wire::{ResetRequested, Signed, Status};

const RESET_KIND: &str = "reset-password";
const RESET_TTL: Duration = Duration::hours(1);

/// `POST /request-password-reset {email, redirectTo?}`: the same answer whether or not the
/// e-mail has an account.
#[utoipa::path(
    post, path = "/request-password-reset",
    request_body = crate::wire::RequestReset,
    responses((status = 200, description = "A link is mailed if the address is known (the same answer either way)", body = crate::wire::ResetRequested))
)]
pub async fn request_reset(State(state): State<AuthState>, body: Body) -> AuthResult<Response> {
    let MailRequest {
        email,
        link: redirect_to,
    } = match mail_request(&state.app, body, "redirectTo", "/request-password-reset").await? {
        Ok(request) => request,
        Err(limited) => return Ok(limited),
    };
    if let Some((user, _)) = state.app.db.users().find_by_email(&email).await? {
        let token = random_alphanumeric(24);
        let at = now();
        state
            .app
            .db
            .tokens()
            .issue(&token, RESET_KIND, &user, &iso(at), &iso(at + RESET_TTL))
            .await?;
        let callback = redirect_to.unwrap_or_else(|| "/".into());
        let url = state.link(&format!(
            "/reset-password/{token}?callbackURL={}",
            percent_encode(&callback)
        ));
        let mail = Mail {
            to: user.email.clone(),
            from: state.mail.from.clone(),
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
    Ok(json_response(&ResetRequested {
        status: true,
        message: "If this email exists in our system, check your email for the reset link".into(),
    }))
}

/// A reset token that has not expired (the user's generation is checked apart).
fn is_live(token: &OneTimeToken) -> bool {
    token.kind == RESET_KIND && parse_iso(&token.expires_at).is_some_and(|e| e > now())
}

/// `GET /reset-password/:token?callbackURL=`: the link in the mail; sends the browser to
/// the front end's reset page with the token, or with `error=INVALID_TOKEN`.
#[utoipa::path(
    get, path = "/reset-password/{token}",
    params(("token" = String, Path), ("callbackURL" = String, Query, description = "Where the front end's reset page is (relative or trusted)")),
    responses(
        (status = 302, description = "To `callbackURL?token=…`, or `callbackURL?error=INVALID_TOKEN`"),
        (status = 403, description = "`INVALID_CALLBACK_URL`: not relative and not on a trusted origin", body = portal_web::openapi::AuthErrorBody),
    )
)]
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
    // The token only ever goes to a URL on one of our origins.
    let target = redirect_target(&state.app.config, callback, "INVALID_CALLBACK_URL")?;
    let valid = match state.app.db.tokens().peek(&token).await? {
        Some(t) if is_live(&t) => state
            .app
            .db
            .users()
            .get(&t.user_id)
            .await?
            .is_some_and(|u| u.generations.reset_tokens == t.generation),
        _ => false,
    };
    Ok(if valid {
        redirect(&with_param(target.as_str(), "token", &token))
    } else {
        redirect(&with_param(target.as_str(), "error", "INVALID_TOKEN"))
    })
}

/// `POST /reset-password {newPassword, token}`: single use; the user's sessions end.
#[utoipa::path(
    post, path = "/reset-password",
    params(("token" = Option<String>, Query)),
    request_body = crate::wire::ResetPassword,
    responses((status = 200, description = "The password is set; the link is used up; every session ends", body = crate::wire::Status))
)]
pub async fn reset(
    State(state): State<AuthState>,
    RequestProvenance(origin): RequestProvenance,
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
    // Read, not taken yet: a reset that fails (the table unavailable) leaves the link usable.
    // It still works once only: the write below requires the token's generation and raises it.
    let taken = state
        .app
        .db
        .tokens()
        .peek(&token)
        .await?
        .filter(is_live)
        .ok_or_else(invalid)?;
    let hash = hash_password(new_password).await;
    // One write: the password, the mailbox proven, and every credential of whoever held
    // the account before revoked (its sessions always; its API keys when the address was
    // not verified, since no proven owner made them), and other reset links void.
    let mut was_verified = true;
    let event = Event::now(&origin, "password.reset", Some(&taken.user_id), None);
    let reset = state
        .app
        .db
        .users()
        .change_password(
            &taken.user_id,
            &hash,
            &iso(now()),
            |u| {
                if u.generations.reset_tokens != taken.generation {
                    return Err(ResetRefused::Superseded);
                }
                was_verified = u.email_verified;
                u.email_verified = true;
                u.generations.sessions += 1;
                u.generations.reset_tokens += 1;
                if !was_verified {
                    u.generations.api_keys += 1;
                }
                Ok(())
            },
            Some(&event),
        )
        .await?;
    match reset {
        Some(Ok(_)) => {}
        None | Some(Err(ResetRefused::Superseded)) => return Err(invalid()),
        Some(Err(ResetRefused::Conflict(conflict))) => {
            return Err(AuthError::from(StoreError::Dynamo(format!(
                "a password reset was refused by a claim: {conflict:?}"
            ))));
        }
    }
    // Cleanup of what the generations already revoked, the used link included.
    let db = &state.app.db;
    let keys = async {
        if was_verified {
            Ok(0)
        } else {
            db.api_keys().delete_all_for_user(&taken.user_id).await
        }
    };
    let (sessions, tokens) = (db.sessions(), db.tokens());
    futures::try_join!(
        tokens.consume(&token),
        sessions.delete_all_for_user(&taken.user_id, None),
        keys
    )?;
    Ok(json_response(&Status::TRUE))
}

/// Why a reset did not apply.
enum ResetRefused {
    /// The password was reset or changed since the link was sent.
    Superseded,
    /// Cannot happen: a reset changes neither the role nor the username.
    Conflict(Conflict),
}

impl From<Conflict> for ResetRefused {
    fn from(conflict: Conflict) -> Self {
        ResetRefused::Conflict(conflict)
    }
}

/// `POST /change-password {currentPassword, newPassword, revokeOtherSessions?}`
#[utoipa::path(
    post, path = "/change-password", security(("signedIn" = [])),
    request_body = crate::wire::ChangePassword,
    responses((status = 200, description = "Changed", body = crate::wire::Signed))
)]
pub async fn change(
    State(state): State<AuthState>,
    user: SessionUser,
    RequestClient(client): RequestClient,
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
    let me = &user.user;
    check_current_password(&state, &me.id, current).await?;
    let hash = hash_password(new_password).await;
    // The password and the revocations it brings in one write: outstanding reset links
    // stop working, and with `revokeOtherSessions` every session made before.
    let origin = Provenance::request(&state.app.config, &client).as_user(&me.id);
    let details = json!({ "revokedOtherSessions": revoke_others });
    let event = Event::now(&origin, "password.changed", Some(&me.id), Some(details));
    let changed = state
        .app
        .db
        .users()
        .change_password(
            &me.id,
            &hash,
            &iso(now()),
            |u| {
                u.generations.reset_tokens += 1;
                if revoke_others {
                    u.generations.sessions += 1;
                }
                Ok::<(), Conflict>(())
            },
            Some(&event),
        )
        .await?
        .and_then(Result::ok)
        .ok_or_else(AuthError::unauthorized)?;
    if !revoke_others {
        return Ok(json_response(&Signed::new(None, &changed)));
    }
    state
        .app
        .db
        .sessions()
        .delete_all_for_user(&me.id, None)
        .await?;
    let remember = user.session.remember;
    // The new session stands where the old one did, second factor included.
    let passed = user.session.two_factor_verified;
    let (_, token) = start_session(&state.app, &changed, remember, passed, &client, None).await?;
    let response = json_response(&Signed::new(Some(token.clone()), &changed));
    Ok(started_session(
        response,
        &state.app.cookies,
        &token,
        remember,
    ))
}
