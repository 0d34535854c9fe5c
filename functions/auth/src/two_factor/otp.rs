use super::backup_codes::*;
use super::challenge::*;
use super::common::*;
use super::totp::*;

#[utoipa::path(
    post, path = "/two-factor/send-otp",
    request_body(content = Option<crate::wire::SendOtp>, content_type = "application/json", description = "Optional"),
    responses(
        (status = 200, description = "A code was mailed to the account's address", body = crate::wire::Status),
        (status = 401, description = "`INVALID_TWO_FACTOR_COOKIE`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn send_otp(
    State(state): State<AuthState>,
    session: Option<SessionUser>,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    if !body.value.is_null() {
        let mut f = Fields::of("body", &body.value, true);
        f.optional_bool("trustDevice");
        f.finish()?;
    }
    let prover = prover(&state, session, &headers).await?;
    if let Some(limited) = mail_code(&state, &prover).await? {
        return Ok(limited);
    }
    Ok(json_response(&Status::TRUE))
}

/// Mails a fresh code to the prover's address (its hash stored for the prover's key):
/// `Some(429)` when that address had too many mails.
pub(super) async fn mail_code(state: &AuthState, prover: &Prover) -> AuthResult<Option<Response>> {
    let user = prover.user();
    // Mails to one address are limited like every other mail.
    if let Err(limited) =
        crate::limits::limit_email(&state.app, "/two-factor/send-otp", &user.email).await
    {
        return Ok(Some(limited));
    }
    let answer = random_digits(6);
    state
        .app
        .db
        .two_factor()
        .store_mailed_code(
            &prover.mail_key(),
            &user.id,
            &stored_hash(state, &user.id, &answer),
            (&iso(now()), unix_now()),
            MAILED_CODE_SECS,
        )
        .await?;
    let mail = Mail {
        to: user.email.clone(),
        from: state.mail.from.clone(),
        subject: "Your sign-in code".into(),
        text: format!(
            "Your Portal sign-in code is {answer}.\n\nIt works once, for three minutes. If you did not try to sign in, change your password.\n"
        ),
        kind: MailKind::TwoFactorCode,
        url: String::new(),
        created_at: iso(now()),
    };
    if let Err(err) = state.mailer.send(&mail).await {
        tracing::error!(error = %err, "two-factor code not sent");
        return Err(AuthError::with_message(
            StatusCode::SERVICE_UNAVAILABLE,
            "MAIL_NOT_SENT",
            "The code could not be sent; try again shortly",
        ));
    }
    Ok(None)
}

#[utoipa::path(
    post, path = "/two-factor/verify-otp",
    request_body = crate::wire::VerifyCode,
    responses(
        (status = 200, description = "Passed: a pending sign-in gets its session cookie", body = crate::wire::Signed),
        (status = 400, description = "`OTP_HAS_EXPIRED`, `TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`INVALID_CODE`, `INVALID_TWO_FACTOR_COOKIE`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn verify_otp(
    State(state): State<AuthState>,
    session: Option<SessionUser>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let (answer, trust, _) = code_fields(&body.json_only()?)?;
    let prover = prover(&state, session, &headers).await?;
    let user = prover.user().clone();
    let store = state.app.db.two_factor();
    // Tries count against the sign-in's challenge, whatever codes were sent for it; the
    // lock and the count do not depend on each other.
    let (two_factor, counted) = tokio::join!(store.get(&user.id), count_attempt(&state, &prover));
    check_lock(two_factor?.as_ref())?;
    counted?;
    let hashes = code_hashes(&state, &user.id, answer.trim());
    let tried = store
        .try_mailed_code(&prover.mail_key(), &hashes, unix_now())
        .await?;
    match tried {
        Ok(true) => {}
        Ok(false) => return Err(failed(&state, &user, "INVALID_CODE").await),
        Err(Attempt::Exhausted) => {
            return Err(code(
                StatusCode::BAD_REQUEST,
                "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
            ));
        }
        Err(_) => return Err(code(StatusCode::BAD_REQUEST, "OTP_HAS_EXPIRED")),
    }
    let mut changed = None;
    if let Prover::Session(me) = &prover
        && !me.user.two_factor_enabled
    {
        changed = Some(turn_on(&state, me, &client, "otp").await?);
    }
    passed(&state, prover, &client, ("otp", trust), changed).await
}
