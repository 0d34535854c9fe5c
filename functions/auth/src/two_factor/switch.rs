//! Turning two-factor on (a password, then the first code) and off.

use super::backup_codes::backup_codes;
use super::challenge::*;
use super::common::*;
use super::otp::mail_code;
use super::totp::totp_uri;

#[utoipa::path(
    post, path = "/two-factor/enable", security(("signedIn" = [])),
    request_body = crate::wire::EnableTwoFactor,
    responses(
        (status = 200, description = "`totp`: the URI and backup codes; `otp`: a code is mailed to the account's address. Either is on once its first code is verified", body = crate::wire::TwoFactorEnabled),
        (status = 400, description = "`INVALID_PASSWORD`, `TOTP_ALREADY_ENABLED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn enable(
    State(state): State<AuthState>,
    me: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let password = f.string("password");
    let method = f.optional_string("method");
    let issuer = f.optional_string("issuer");
    if method.as_deref().is_some_and(|m| m != "otp" && m != "totp") {
        f.issue("method", "Invalid option: expected one of \"otp\"|\"totp\"");
    }
    f.finish()?;
    let password = password.ok_or_else(|| AuthError::validation("[body] Invalid input".into()))?;
    check_current_password(&state, &me.user.id, password).await?;
    if method.as_deref() == Some("otp") {
        // On only when the code mailed to the account's address comes back (verify-otp):
        // a password alone never turns a second factor on, nor passes one.
        if let Some(limited) = mail_code(&state, &Prover::Session(me)).await? {
            return Ok(limited);
        }
        return Ok(json_response(&TwoFactorEnabled {
            method: "otp".into(),
            totp_uri: None,
            backup_codes: None,
        }));
    }
    let secret = random_alphanumeric(32);
    let (codes, hashes) = backup_codes(&state, &me.user.id);
    let sealed = state.app.keyring.seal(&secret);
    if !state
        .app
        .db
        .two_factor()
        .begin(&me.user.id, &sealed, hashes)
        .await?
    {
        return Err(code(StatusCode::BAD_REQUEST, "TOTP_ALREADY_ENABLED"));
    }
    Ok(json_response(&TwoFactorEnabled {
        method: "totp".into(),
        totp_uri: Some(totp_uri(&state, &me.user, &secret, issuer.as_deref())),
        backup_codes: Some(codes),
    }))
}

#[utoipa::path(
    post, path = "/two-factor/disable", security(("signedIn" = [])),
    request_body = crate::wire::PasswordOnly,
    responses(
        (status = 200, description = "Off; every other session ended", body = crate::wire::Status),
        (status = 400, description = "`INVALID_PASSWORD`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn disable(
    State(state): State<AuthState>,
    me: SessionUser,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let password = password_field(&body.json_only()?)?;
    check_current_password(&state, &me.user.id, password).await?;
    let (session, token) = successor(&state, &me, &client);
    let rotate = Rotate {
        old: &me.session,
        new: &session,
    };
    let store = state.app.db.two_factor();
    let event = Event::now(
        &origin_of(&state, &me, &client),
        "two_factor.disabled",
        Some(&me.user.id),
        None,
    );
    let user = match store
        .disable(&me.user.id, rotate, &iso(now()), &event)
        .await?
    {
        None => return Err(AuthError::unauthorized()),
        Some(Ok(user)) => user,
        Some(Err(c)) => return Err(conflict(c)),
    };
    remove_other_sessions(&state, &user, &session.id).await?;
    let response = json_response(&Status::TRUE);
    let mut response = started_session(response, &state.app.cookies, &token, me.session.remember);
    // Every trusted device ended with the generation; this one forgets its cookie.
    if let Some(trust) = state.app.cookies.verified(&headers, TRUST_DEVICE) {
        store.take_trusted_device(&trust, &user, unix_now()).await?;
        append_cookies(&mut response, vec![state.app.cookies.expired(TRUST_DEVICE)]);
    }
    Ok(response)
}
