//! E-mail verification: a stateless HS256 JWT `{email, iat, exp}` signed with the auth
//! secret, mailed as `/api/auth/verify-email?token=...&callbackURL=...`.

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use crate::mail::{Mail, MailKind};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use data_encoding::BASE64URL_NOPAD;
use portal_domain::crypto::constant_time_eq;
use portal_domain::keyring::Keyring;
use portal_domain::store::audit::{self, Event};
use portal_domain::store::users::Conflict;
use portal_domain::time::{iso, now};
use portal_web::caller::{Credential, Identity, identity};
use portal_web::cookies::percent_encode;
use portal_web::http::RequestProvenance;
use serde_json::{Value, json};

use crate::error::{AuthError, AuthResult};
use crate::input::Body;
use crate::limits::{MailRequest, mail_request};
use crate::origin::redirect_target;
use crate::state::AuthState;
use crate::views::{json_response, redirect, with_param};
use crate::wire::{Status, Verified};

const TOKEN_TTL_SECS: i64 = 3600;
/// Unauthenticated requests take at least this long, whether or not a mail went out.
const MIN_ANONYMOUS_TIME: StdDuration = StdDuration::from_millis(500);

fn sign_jwt(keyring: &Keyring, claims: &Value) -> String {
    let header = BASE64URL_NOPAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = BASE64URL_NOPAD.encode(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let signature = keyring.mac(&signing_input);
    format!("{signing_input}.{signature}")
}

#[derive(Debug, PartialEq, Eq)]
enum JwtError {
    Invalid,
    Expired,
}

/// A link signed with an accepted secret (one mailed before a rotation stays good while
/// the previous secret is accepted).
fn verify_jwt(keyring: &Keyring, token: &str) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Invalid);
    };
    let header: Value = BASE64URL_NOPAD
        .decode(header.as_bytes())
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(JwtError::Invalid)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::Invalid);
    }
    let signing_input = format!("{}.{payload}", token.split('.').next().unwrap_or_default());
    if !keyring
        .macs(&signing_input)
        .any(|expected| constant_time_eq(signature, &expected))
    {
        return Err(JwtError::Invalid);
    }
    let claims: Value = BASE64URL_NOPAD
        .decode(payload.as_bytes())
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or(JwtError::Invalid)?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(JwtError::Invalid)?;
    if exp <= now().unix_timestamp() {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

/// Mails a verification link to `email` (failures are logged: the caller's answer does
/// not depend on the mail).
pub async fn send_verification_mail(state: &AuthState, email: &str, callback: Option<&str>) {
    let iat = now().unix_timestamp();
    let token = sign_jwt(
        &state.app.keyring,
        &json!({ "email": email, "iat": iat, "exp": iat + TOKEN_TTL_SECS }),
    );
    let url = state.link(&format!(
        "/verify-email?token={token}&callbackURL={}",
        percent_encode(callback.unwrap_or("/"))
    ));
    let mail = Mail {
        to: email.to_string(),
        from: state.mail.from.clone(),
        subject: "Verify your e-mail address".into(),
        text: format!(
            "Welcome to Portal.\n\nTo confirm that {email} is yours, open:\n\n{url}\n\nThe link works for one hour.\n"
        ),
        kind: MailKind::VerifyEmail,
        url,
        created_at: iso(now()),
    };
    if let Err(err) = state.mailer.send(&mail).await {
        tracing::error!(error = %err, "verification mail not sent");
    }
}

/// `POST /send-verification-email {email, callbackURL?}`
#[utoipa::path(
    post, path = "/send-verification-email",
    request_body = crate::wire::SendVerification,
    responses((status = 200, description = "Sent if there is something to verify", body = crate::wire::Status))
)]
pub async fn send_verification(
    State(state): State<AuthState>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let started = Instant::now();
    let MailRequest {
        email,
        link: callback,
    } = match mail_request(&state.app, body, "callbackURL", "/send-verification-email").await? {
        Ok(request) => request,
        Err(limited) => return Ok(limited),
    };
    let credential = Credential::parse(&state.app.cookies, &headers);
    let signed_in: Option<Identity> = identity::read(&state.app, credential.as_ref()).await?.ok();
    if let Some(identity) = signed_in {
        if identity.user.email != email {
            return Err(AuthError::code(StatusCode::BAD_REQUEST, "EMAIL_MISMATCH"));
        }
        if identity.user.email_verified {
            return Err(AuthError::code(
                StatusCode::BAD_REQUEST,
                "EMAIL_ALREADY_VERIFIED",
            ));
        }
        send_verification_mail(&state, &email, callback.as_deref()).await;
        return Ok(json_response(&Status::TRUE));
    }
    if let Some((user, _)) = state.app.db.users().find_by_email(&email).await?
        && !user.email_verified
    {
        send_verification_mail(&state, &email, callback.as_deref()).await;
    }
    // Same answer, same minimum time: nobody learns whether the address has an account.
    if let Some(rest) = MIN_ANONYMOUS_TIME.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    Ok(json_response(&Status::TRUE))
}

/// `GET /verify-email?token=&callbackURL=`
#[utoipa::path(
    get, path = "/verify-email",
    params(("token" = String, Query), ("callbackURL" = Option<String>, Query)),
    responses(
        (status = 200, description = "Verified", body = crate::wire::Verified),
        (status = 302, description = "With `callbackURL`: to it (with `?error=…` on a bad token)"),
        (status = 401, description = "`INVALID_TOKEN` or `TOKEN_EXPIRED`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`INVALID_CALLBACK_URL`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn verify(
    State(state): State<AuthState>,
    RequestProvenance(origin): RequestProvenance,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    let Some(token) = query.get("token") else {
        return Err(AuthError::validation(
            "[query.token] Invalid input: expected string, received undefined".into(),
        ));
    };
    let callback = match query.get("callbackURL") {
        Some(raw) => Some(redirect_target(
            &state.app.config,
            raw,
            "INVALID_CALLBACK_URL",
        )?),
        None => None,
    };
    let fail = |code: &'static str| -> AuthResult<Response> {
        match &callback {
            Some(target) => Ok(redirect(&with_param(target.as_str(), "error", code))),
            None => Err(AuthError::code(StatusCode::UNAUTHORIZED, code)),
        }
    };
    let verified = verify_jwt(&state.app.keyring, token);
    let claims = match verified {
        Ok(claims) => claims,
        Err(JwtError::Expired) => return fail("TOKEN_EXPIRED"),
        Err(JwtError::Invalid) => return fail("INVALID_TOKEN"),
    };
    let Some(email) = claims
        .get("email")
        .and_then(Value::as_str)
        .map(str::to_lowercase)
    else {
        return fail("INVALID_TOKEN");
    };
    let Some((user, _)) = state.app.db.users().find_by_email(&email).await? else {
        return fail("USER_NOT_FOUND");
    };
    if !user.email_verified {
        state
            .app
            .db
            .users()
            .modify_audited(
                &user.id,
                &iso(now()),
                |u| {
                    u.email_verified = true;
                    Ok::<(), Conflict>(())
                },
                |before, after| {
                    let changes = audit::user_changes(before, after)?;
                    Some(Event::now(
                        &origin,
                        "email.verified",
                        Some(&after.id),
                        Some(changes),
                    ))
                },
            )
            .await?;
    }
    Ok(match callback {
        Some(target) => redirect(target.as_str()),
        None => json_response(&Verified {
            status: true,
            user: None,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_round_trip_and_tampering() {
        let exp = now().unix_timestamp() + 60;
        let keys = Keyring::new("s3cret", None);
        let token = sign_jwt(&keys, &json!({"email": "a@b.co", "iat": 1, "exp": exp}));
        assert_eq!(verify_jwt(&keys, &token).unwrap()["email"], "a@b.co");
        let other = Keyring::new("other", None);
        assert_eq!(verify_jwt(&other, &token), Err(JwtError::Invalid));
        // After a rotation the link still verifies; a link of the new secret does not
        // verify where only the old one is known.
        let rotated = Keyring::new("other", Some("s3cret"));
        assert_eq!(verify_jwt(&rotated, &token).unwrap()["email"], "a@b.co");
        let fresh = sign_jwt(&rotated, &json!({"email": "a@b.co", "iat": 1, "exp": exp}));
        assert_eq!(verify_jwt(&keys, &fresh), Err(JwtError::Invalid));
        let expired = sign_jwt(&keys, &json!({"email": "a@b.co", "iat": 1, "exp": 2}));
        assert_eq!(verify_jwt(&keys, &expired), Err(JwtError::Expired));
        assert_eq!(verify_jwt(&keys, "a.b"), Err(JwtError::Invalid));
    }
}
