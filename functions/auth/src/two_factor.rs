//! BetterAuth's `twoFactor` plugin (TOTP, e-mailed codes, backup codes) on the wire, with
//! the store's stronger rules (`portal_domain::store::two_factor`): sealed secret, hashed
//! single-use backup codes, codes accepted once, failures counted per user, and turning
//! two-factor on or off ends the user's other sessions.
//!
//! Sign-in: a user with two-factor on gets `{twoFactorRedirect: true, twoFactorMethods}` and
//! a signed `two_factor` cookie (10 minutes) instead of a session, unless the request carries
//! a live `trust_device` cookie of theirs; a `/two-factor/verify-*` call with that cookie
//! then creates the session.

use crate::mail::{Mail, MailKind};
use crate::totp;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portal_domain::crypto::{random_alphanumeric, random_digits};
use portal_domain::model::{Session, User};
use portal_domain::store::audit::{Event, Origin};
use portal_domain::store::two_factor::{Attempt, Challenge, Rotate, TwoFactor};
use portal_domain::store::users::Conflict;
use portal_domain::time::{iso, now};
use portal_web::cookies::{TRUST_DEVICE, TWO_FACTOR};
use serde_json::json;

use crate::AuthState;
use crate::error::{AuthError, AuthResult};
use crate::extract::{RequestMeta, SessionUser};
use crate::input::{Body, Fields};
use crate::reauth::check_current_password;
use crate::session::{new_session, start_session};
use crate::views::{append_cookies, json_response, started_session};
use crate::wire::{
    BackupCodes, SignInAnswer, Signed, Status, TotpUri, TwoFactorEnabled, TwoFactorRedirect,
};

/// How long a sign-in challenge, a trusted device and an e-mailed code live (the plugin's
/// defaults; Portal's code period is 3 minutes).
const CHALLENGE_SECS: i64 = 600;
const TRUST_SECS: i64 = 30 * 24 * 3600;
const MAILED_CODE_SECS: i64 = 180;
const BACKUP_CODES: usize = 10;

fn code(status: StatusCode, code: &'static str) -> AuthError {
    AuthError::code(status, code)
}

fn unix_now() -> i64 {
    now().unix_timestamp()
}

/// Who proves the second factor: a signed-in session (setting up or re-checking), or a
/// pending sign-in (the `two_factor` cookie).
pub enum Prover {
    Session(SessionUser),
    SignIn {
        identifier: String,
        challenge: Challenge,
        user: User,
    },
}

impl Prover {
    fn user(&self) -> &User {
        match self {
            Prover::Session(s) => &s.user,
            Prover::SignIn { user, .. } => user,
        }
    }

    /// The key an e-mailed code is stored under.
    fn mail_key(&self) -> String {
        match self {
            Prover::Session(s) => format!("{}!{}", s.user.id, s.session.id),
            Prover::SignIn { identifier, .. } => format!("challenge!{identifier}"),
        }
    }
}

fn invalid_cookie() -> AuthError {
    code(StatusCode::UNAUTHORIZED, "INVALID_TWO_FACTOR_COOKIE")
}

async fn prover(
    state: &AuthState,
    session: Option<SessionUser>,
    headers: &HeaderMap,
) -> AuthResult<Prover> {
    if let Some(session) = session {
        return Ok(Prover::Session(session));
    }
    let app = &state.app;
    let identifier = app
        .cookies
        .verified(headers, TWO_FACTOR)
        .ok_or_else(invalid_cookie)?;
    let challenge = app
        .db
        .two_factor()
        .challenge(&identifier, unix_now())
        .await?
        .ok_or_else(invalid_cookie)?;
    let user = app
        .db
        .users()
        .get(&challenge.user_id)
        .await?
        .filter(|u| u.two_factor_enabled && !u.is_banned_at(now()))
        .ok_or_else(invalid_cookie)?;
    Ok(Prover::SignIn {
        identifier,
        challenge,
        user,
    })
}

/// 429 while the user's second factor is locked after repeated failures.
fn check_lock(two_factor: Option<&TwoFactor>) -> AuthResult<()> {
    if two_factor.is_some_and(|t| t.locked_until > unix_now()) {
        return Err(code(
            StatusCode::TOO_MANY_REQUESTS,
            "ACCOUNT_TEMPORARILY_LOCKED",
        ));
    }
    Ok(())
}

/// Counts one code against a pending sign-in (5 per challenge).
async fn count_attempt(state: &AuthState, prover: &Prover) -> AuthResult<()> {
    let Prover::SignIn { identifier, .. } = prover else {
        return Ok(());
    };
    match state
        .app
        .db
        .two_factor()
        .attempt_challenge(identifier, unix_now())
        .await?
    {
        Attempt::Counted(_) => Ok(()),
        Attempt::Missing => Err(invalid_cookie()),
        Attempt::Exhausted => Err(code(
            StatusCode::BAD_REQUEST,
            "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
        )),
    }
}

/// The prover's second factor, if `usable` (else 400 `missing`), not locked, with this try
/// counted against a pending sign-in.
async fn second_factor(
    state: &AuthState,
    prover: &Prover,
    missing: &'static str,
    usable: impl Fn(&TwoFactor) -> bool,
) -> AuthResult<TwoFactor> {
    let two_factor = state
        .app
        .db
        .two_factor()
        .get(&prover.user().id)
        .await?
        .filter(|t| t.has_secret() && usable(t))
        .ok_or_else(|| code(StatusCode::BAD_REQUEST, missing))?;
    check_lock(Some(&two_factor))?;
    count_attempt(state, prover).await?;
    Ok(two_factor)
}

async fn failed(state: &AuthState, user: &User, answer: &'static str) -> AuthError {
    if let Err(err) = state
        .app
        .db
        .two_factor()
        .record_failure(&user.id, unix_now())
        .await
    {
        return err.into();
    }
    code(StatusCode::UNAUTHORIZED, answer)
}

fn password_field(body: &Body) -> AuthResult<String> {
    let mut f = Fields::of("body", &body.value, false);
    let password = f.string("password");
    f.finish()?;
    password.ok_or_else(|| AuthError::validation("[body] Invalid input".into()))
}

/// The keyed hashes a code (backup or e-mailed) of `user_id` is stored and looked up as:
/// HMAC-SHA-256 under a key derived from each accepted auth secret, current first, so a
/// table dump allows no offline guessing and a rotation keeps codes working.
fn code_hashes(state: &AuthState, user_id: &str, code: &str) -> Vec<String> {
    state
        .app
        .keyring
        .derived_macs("portal two-factor codes", &format!("{user_id}:{code}"))
}

/// The hash a code is stored as (under the current secret).
fn stored_hash(state: &AuthState, user_id: &str, code: &str) -> String {
    code_hashes(state, user_id, code).swap_remove(0)
}

/// Ten backup codes (`xxxxx-xxxxx`) and their keyed hashes.
fn backup_codes(state: &AuthState, user_id: &str) -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..BACKUP_CODES)
        .map(|_| {
            let raw = random_alphanumeric(10);
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    let hashes = codes
        .iter()
        .map(|c| stored_hash(state, user_id, c))
        .collect();
    (codes, hashes)
}

fn totp_uri(state: &AuthState, user: &User, secret: &str, issuer: Option<&str>) -> String {
    let issuer = issuer.unwrap_or(&state.auth.two_factor_issuer);
    totp::uri(issuer, &user.email, secret.as_bytes())
}

fn conflict(conflict: Conflict) -> AuthError {
    AuthError::from(portal_domain::store::StoreError::Dynamo(format!(
        "a two-factor change was refused by a claim: {conflict:?}"
    )))
}

/// The audit origin of a signed-in caller's request.
fn origin_of(state: &AuthState, me: &SessionUser, meta: &RequestMeta) -> Origin {
    meta.origin(&state.app.config).as_user(&me.user.id)
}

/// A fresh session to stand in the caller's place when two-factor is turned on or off
/// (BetterAuth re-issues the cookie on both): the old token stops on its next use.
fn successor(state: &AuthState, me: &SessionUser, meta: &RequestMeta) -> (Session, String) {
    new_session(&state.app, &me.user, me.session.remember, meta)
}

/// Turns two-factor on once a code was checked for the caller's session: other sessions
/// end and the caller's is replaced (the new one marked as having passed), recorded with
/// `method` (`totp` or `otp`). The user and the new session's token.
async fn turn_on(
    state: &AuthState,
    me: &SessionUser,
    meta: &RequestMeta,
    method: &str,
) -> AuthResult<(User, String)> {
    let (session, token) = successor(state, me, meta);
    let rotate = Rotate {
        old: &me.session,
        new: &session,
    };
    let details = json!({ "method": method });
    let event = Event::now(
        &origin_of(state, me, meta),
        "two_factor.enabled",
        Some(&me.user.id),
        Some(details),
    );
    match state
        .app
        .db
        .two_factor()
        .enable(&me.user.id, rotate, method == "totp", &iso(now()), &event)
        .await?
    {
        None => Err(AuthError::unauthorized()),
        Some(Ok(user)) => {
            remove_other_sessions(state, &user, &session.id).await?;
            Ok((user, token))
        }
        Some(Err(c)) => Err(conflict(c)),
    }
}

/// The generation already ended the other sessions; this removes them.
async fn remove_other_sessions(state: &AuthState, user: &User, keep: &str) -> AuthResult<()> {
    state
        .app
        .db
        .sessions()
        .delete_all_for_user(&user.id, Some(keep))
        .await?;
    Ok(())
}

/// The answer to a second factor proven: a pending sign-in gets its session (marked as
/// having passed), and, with `trustDevice`, a trusted-device cookie; a signed-in caller
/// gets its own session back, or the one that replaced it (`turned_on`).
async fn passed(
    state: &AuthState,
    prover: Prover,
    meta: &RequestMeta,
    (method, trust_device): (&str, bool),
    turned_on: Option<(User, String)>,
) -> AuthResult<Response> {
    let app = &state.app;
    match prover {
        Prover::Session(me) => Ok(match turned_on {
            Some((user, token)) => {
                let response = json_response(&Signed::new(Some(token.clone()), &user));
                started_session(response, &app.cookies, &token, me.session.remember)
            }
            None => json_response(&Signed::new(Some(me.token.clone()), &me.user)),
        }),
        Prover::SignIn {
            identifier,
            challenge,
            user,
        } => {
            if !app.db.two_factor().close_challenge(&identifier).await? {
                return Err(invalid_cookie());
            }
            let origin = meta.origin(&app.config).as_user(&user.id);
            let details = json!({ "secondFactor": method });
            let event = Event::now(&origin, "sign_in.succeeded", Some(&user.id), Some(details));
            // The session and the trusted device do not depend on each other.
            let trust = trust_device.then(|| random_alphanumeric(32));
            let store = app.db.two_factor();
            let trusting = async {
                match &trust {
                    Some(id) => {
                        let at = (iso(now()), unix_now());
                        store
                            .trust_device(id, &user, (&at.0, at.1), TRUST_SECS)
                            .await
                    }
                    None => Ok(()),
                }
            };
            let (started, trusted) = tokio::join!(
                start_session(app, &user, challenge.remember, true, meta, Some(&event)),
                trusting
            );
            let (_, token) = started?;
            trusted?;
            let response = json_response(&Signed::new(Some(token.clone()), &user));
            let mut response = started_session(response, &app.cookies, &token, challenge.remember);
            let mut cookies = vec![app.cookies.expired(TWO_FACTOR)];
            if let Some(id) = &trust {
                cookies.push(app.cookies.signed_cookie(TRUST_DEVICE, id, TRUST_SECS));
            }
            append_cookies(&mut response, cookies);
            Ok(response)
        }
    }
}

/// What the sign-in handlers do for a user with two-factor on, after the password: `None`
/// when this device is trusted (its trust renewed in `cookies`; sign in as usual),
/// otherwise the challenge answer.
pub async fn challenge_sign_in(
    state: &AuthState,
    user: &User,
    remember: bool,
    headers: &HeaderMap,
    cookies: &mut Vec<String>,
) -> AuthResult<Option<Response>> {
    let app = &state.app;
    let store = app.db.two_factor();
    let at = (iso(now()), unix_now());
    if let Some(trust) = app.cookies.verified(headers, TRUST_DEVICE) {
        if store.take_trusted_device(&trust, user, at.1).await? {
            let renewed = random_alphanumeric(32);
            store
                .trust_device(&renewed, user, (&at.0, at.1), TRUST_SECS)
                .await?;
            cookies.push(
                app.cookies
                    .signed_cookie(TRUST_DEVICE, &renewed, TRUST_SECS),
            );
            return Ok(None);
        }
        cookies.push(app.cookies.expired(TRUST_DEVICE));
    }
    let identifier = random_alphanumeric(32);
    let (opened, two_factor) = tokio::join!(
        store.open_challenge(&identifier, user, remember, (&at.0, at.1), CHALLENGE_SECS),
        store.get(&user.id)
    );
    opened?;
    let mut methods = Vec::new();
    if two_factor?.is_some_and(|t| t.has_secret() && t.verified) {
        methods.push("totp");
    }
    methods.push("otp");
    let mut response = json_response(&SignInAnswer::TwoFactor(TwoFactorRedirect {
        two_factor_redirect: true,
        two_factor_methods: methods,
    }));
    cookies.extend(app.cookies.expired_cookies().into_iter().take(2));
    cookies.push(
        app.cookies
            .signed_cookie(TWO_FACTOR, &identifier, CHALLENGE_SECS),
    );
    append_cookies(&mut response, std::mem::take(cookies));
    Ok(Some(response))
}

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
    meta: RequestMeta,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let password = password_field(&body.json_only()?)?;
    check_current_password(&state, &me.user.id, password).await?;
    let (session, token) = successor(&state, &me, &meta);
    let rotate = Rotate {
        old: &me.session,
        new: &session,
    };
    let store = state.app.db.two_factor();
    let event = Event::now(
        &origin_of(&state, &me, &meta),
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

#[utoipa::path(
    post, path = "/two-factor/get-totp-uri", security(("signedIn" = [])),
    request_body = crate::wire::PasswordOnly,
    responses(
        (status = 200, description = "The authenticator URI", body = crate::wire::TotpUri),
        (status = 400, description = "`TOTP_NOT_ENABLED`, `INVALID_PASSWORD`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn get_totp_uri(
    State(state): State<AuthState>,
    me: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let password = password_field(&body.json_only()?)?;
    // The secret and the password check do not depend on each other: they go out together.
    let store = state.app.db.two_factor();
    let (two_factor, checked) = tokio::join!(
        store.get(&me.user.id),
        check_current_password(&state, &me.user.id, password)
    );
    let two_factor = two_factor?
        .filter(TwoFactor::has_secret)
        .ok_or_else(|| code(StatusCode::BAD_REQUEST, "TOTP_NOT_ENABLED"))?;
    checked?;
    let secret = state
        .app
        .keyring
        .open(&two_factor.secret)
        .ok_or_else(|| AuthError::internal("the TOTP secret does not open"))?;
    Ok(json_response(&TotpUri {
        totp_uri: totp_uri(&state, &me.user, &secret, None),
    }))
}

/// `{code, trustDevice?}` of the verify endpoints.
fn code_fields(body: &Body) -> AuthResult<(String, bool, bool)> {
    let mut f = Fields::of("body", &body.value, false);
    let code = f.string("code");
    let trust = f.optional_bool("trustDevice").unwrap_or(false);
    let disable_session = f.optional_bool("disableSession").unwrap_or(false);
    f.finish()?;
    let code = code.ok_or_else(|| AuthError::validation("[body] Invalid input".into()))?;
    Ok((code, trust, disable_session))
}

#[utoipa::path(
    post, path = "/two-factor/verify-totp",
    request_body = crate::wire::VerifyCode,
    responses(
        (status = 200, description = "Passed: a pending sign-in gets its session cookie", body = crate::wire::Signed),
        (status = 401, description = "`INVALID_CODE`, `INVALID_TWO_FACTOR_COOKIE`", body = portal_web::openapi::AuthErrorBody),
        (status = 400, description = "`TOTP_NOT_ENABLED`, `TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`", body = portal_web::openapi::AuthErrorBody),
        (status = 429, description = "`ACCOUNT_TEMPORARILY_LOCKED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn verify_totp(
    State(state): State<AuthState>,
    session: Option<SessionUser>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let (answer, trust, _) = code_fields(&body.json_only()?)?;
    let prover = prover(&state, session, &headers).await?;
    let user = prover.user().clone();
    let store = state.app.db.two_factor();
    // Setting up (signed in), an unverified secret is the one being proven.
    let setting_up = matches!(prover, Prover::Session(_));
    let two_factor = second_factor(&state, &prover, "TOTP_NOT_ENABLED", |t| {
        t.verified || setting_up
    })
    .await?;
    let secret = state
        .app
        .keyring
        .open(&two_factor.secret)
        .ok_or_else(|| AuthError::internal("the TOTP secret does not open"))?;
    let step = totp::matching_step(secret.as_bytes(), answer.trim(), unix_now());
    // A code is accepted once: its step must be later than the last one used.
    let fresh = match step {
        Some(step) => store.use_step(&user.id, step).await?,
        None => false,
    };
    if !fresh {
        return Err(failed(&state, &user, "INVALID_CODE").await);
    }
    let mut changed = None;
    if let Prover::Session(me) = &prover
        && (!two_factor.verified || !me.user.two_factor_enabled)
    {
        changed = Some(turn_on(&state, me, &meta, "totp").await?);
    }
    passed(&state, prover, &meta, ("totp", trust), changed).await
}

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
async fn mail_code(state: &AuthState, prover: &Prover) -> AuthResult<Option<Response>> {
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
    meta: RequestMeta,
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
        changed = Some(turn_on(&state, me, &meta, "otp").await?);
    }
    passed(&state, prover, &meta, ("otp", trust), changed).await
}

#[utoipa::path(
    post, path = "/two-factor/verify-backup-code",
    request_body = crate::wire::VerifyBackupCode,
    responses(
        (status = 200, description = "Passed (the code is used up): a pending sign-in gets its session cookie", body = crate::wire::Signed),
        (status = 401, description = "`INVALID_BACKUP_CODE`, `INVALID_TWO_FACTOR_COOKIE`", body = portal_web::openapi::AuthErrorBody),
        (status = 400, description = "`BACKUP_CODES_NOT_ENABLED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn verify_backup_code(
    State(state): State<AuthState>,
    session: Option<SessionUser>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let (answer, trust, disable_session) = code_fields(&body.json_only()?)?;
    let prover = prover(&state, session, &headers).await?;
    let user = prover.user().clone();
    let store = state.app.db.two_factor();
    second_factor(&state, &prover, "BACKUP_CODES_NOT_ENABLED", |_| true).await?;
    let hashes = code_hashes(&state, &user.id, answer.trim());
    if !store.use_backup_code(&user.id, &hashes).await? {
        return Err(failed(&state, &user, "INVALID_BACKUP_CODE").await);
    }
    if disable_session && let Prover::SignIn { .. } = prover {
        return Ok(json_response(&Signed::new(None, &user)));
    }
    passed(&state, prover, &meta, ("backup_code", trust), None).await
}

#[utoipa::path(
    post, path = "/two-factor/generate-backup-codes", security(("signedIn" = [])),
    request_body = crate::wire::PasswordOnly,
    responses(
        (status = 200, description = "New codes; the old ones stop working", body = crate::wire::BackupCodes),
        (status = 400, description = "`TWO_FACTOR_NOT_ENABLED`, `INVALID_PASSWORD`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn generate_backup_codes(
    State(state): State<AuthState>,
    me: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let password = password_field(&body.json_only()?)?;
    if !me.user.two_factor_enabled {
        return Err(code(StatusCode::BAD_REQUEST, "TWO_FACTOR_NOT_ENABLED"));
    }
    check_current_password(&state, &me.user.id, password).await?;
    let (codes, hashes) = backup_codes(&state, &me.user.id);
    if !state
        .app
        .db
        .two_factor()
        .replace_backup_codes(&me.user.id, hashes)
        .await?
    {
        return Err(code(StatusCode::BAD_REQUEST, "TWO_FACTOR_NOT_ENABLED"));
    }
    Ok(json_response(&BackupCodes {
        status: true,
        backup_codes: codes,
    }))
}
