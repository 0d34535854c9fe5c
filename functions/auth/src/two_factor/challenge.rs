use super::common::*;

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
    pub(super) fn user(&self) -> &User {
        match self {
            Prover::Session(s) => &s.user,
            Prover::SignIn { user, .. } => user,
        }
    }

    /// The key an e-mailed code is stored under.
    pub(super) fn mail_key(&self) -> String {
        match self {
            Prover::Session(s) => format!("{}!{}", s.user.id, s.session.id),
            Prover::SignIn { identifier, .. } => format!("challenge!{identifier}"),
        }
    }
}

pub(super) fn invalid_cookie() -> AuthError {
    code(StatusCode::UNAUTHORIZED, "INVALID_TWO_FACTOR_COOKIE")
}

pub(super) async fn prover(
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
pub(super) fn check_lock(two_factor: Option<&TwoFactor>) -> AuthResult<()> {
    if two_factor.is_some_and(|t| t.locked_until > unix_now()) {
        return Err(code(
            StatusCode::TOO_MANY_REQUESTS,
            "ACCOUNT_TEMPORARILY_LOCKED",
        ));
    }
    Ok(())
}

/// Counts one code against a pending sign-in (5 per challenge).
pub(super) async fn count_attempt(state: &AuthState, prover: &Prover) -> AuthResult<()> {
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
pub(super) async fn second_factor(
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

pub(super) async fn failed(state: &AuthState, user: &User, answer: &'static str) -> AuthError {
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

/// A fresh session to stand in the caller's place when two-factor is turned on or off
/// (BetterAuth re-issues the cookie on both): the old token stops on its next use.
pub(super) fn successor(state: &AuthState, me: &SessionUser, client: &Client) -> (Session, String) {
    new_session(&state.app, &me.user, me.session.remember, client)
}

/// Turns two-factor on once a code was checked for the caller's session: other sessions
/// end and the caller's is replaced (the new one marked as having passed), recorded with
/// `method` (`totp` or `otp`). The user and the new session's token.
pub(super) async fn turn_on(
    state: &AuthState,
    me: &SessionUser,
    client: &Client,
    method: &str,
) -> AuthResult<(User, String)> {
    let (session, token) = successor(state, me, client);
    let rotate = Rotate {
        old: &me.session,
        new: &session,
    };
    let details = json!({ "method": method });
    let event = Event::now(
        &origin_of(state, me, client),
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
pub(super) async fn remove_other_sessions(
    state: &AuthState,
    user: &User,
    keep: &str,
) -> AuthResult<()> {
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
pub(super) async fn passed(
    state: &AuthState,
    prover: Prover,
    client: &Client,
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
            let origin = Provenance::request(&app.config, client).as_user(&user.id);
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
                start_session(app, &user, challenge.remember, true, client, Some(&event)),
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
