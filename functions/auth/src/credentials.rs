//! The password check every sign-in shares (by e-mail or by username): the account as
//! looked up, the password verified (hashed even for an unknown account), refusals recorded,
//! two-factor's challenge, and the session with its record.

use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use portal_domain::crypto::{
    MAX_PASSWORD_LEN, Verified, hash_password, js_length, verify_password,
};
use portal_domain::model::Client;
use portal_domain::model::User;
use portal_domain::store::audit::Event;
use portal_domain::store::audit::Provenance;
use portal_domain::store::users::Credential;
use portal_domain::time::{iso, now};
use serde_json::json;

use crate::error::{AuthError, AuthResult};
use crate::origin::redirect_target;
use crate::session::start_session;
use crate::state::AuthState;
use crate::two_factor;
use crate::views::{append_cookies, json_response, started_session};
use crate::wire::{AuthUser, SignInAnswer, SignedIn};

/// What a password sign-in (by e-mail or username) asks for.
pub struct Attempt {
    pub password: String,
    pub callback: Option<String>,
    pub remember: bool,
    /// The 401 code for an unknown account or a wrong password (the same for both).
    pub failure: &'static str,
    /// `email` or `username`, for the audit log.
    pub via: &'static str,
    /// What identified the account (the e-mail or username as given): only its keyed hash
    /// reaches the audit log (a password typed into the wrong field must not).
    pub identifier: String,
}

/// Records a refused sign-in (no change to go with it): against the account when it
/// exists, else against nobody, with the same cost either way.
async fn record_refusal(
    state: &AuthState,
    client: &Client,
    user: Option<&User>,
    attempt: (&'static str, &str),
    reason: &'static str,
) -> AuthResult<()> {
    let (via, identifier) = attempt;
    let hash = state.app.keyring.mac(identifier);
    let details = json!({ "via": via, "reason": reason, "identifierHash": &hash[..16] });
    let origin = Provenance::request(&state.app.config, client);
    let target = user.map(|u| u.id.as_str());
    let event = Event::now(&origin, "sign_in.failed", target, Some(details));
    state.app.db.audit().append(&event).await?;
    Ok(())
}

/// The rest of a password sign-in once the account is looked up: the password checked
/// (hashed even for an unknown account), verification and ban refused, an old hash
/// upgraded, the session started and the cookie set.
pub async fn finish_sign_in(
    state: &AuthState,
    client: &Client,
    headers: &HeaderMap,
    found: Option<(User, Option<Credential>)>,
    attempt: Attempt,
) -> AuthResult<Response> {
    let Attempt {
        password,
        callback,
        remember,
        failure,
        via,
        identifier,
    } = attempt;
    let attempted = (via, identifier.as_str());
    if let Some((_, Some(credential))) = &found {
        crate::reauth::refuse_while_spent(state, credential)?;
    }
    let stored = found
        .as_ref()
        .and_then(|(_, c)| c.as_ref())
        .map(|c| c.password_hash.clone());
    // No stored password can be longer than the maximum: refuse without hashing.
    let verified = if js_length(&password) > MAX_PASSWORD_LEN {
        Verified::No
    } else {
        verify_password(password.clone(), stored).await
    };
    let known = found.as_ref().map(|(user, _)| user.clone());
    let Some((user, _)) = found.filter(|_| verified != Verified::No) else {
        // The record and the account's count do not depend on each other.
        let counting = async {
            match &known {
                Some(user) => crate::reauth::count_wrong_password(state, &user.id).await,
                None => Ok(()),
            }
        };
        let (recorded, counted) = tokio::join!(
            record_refusal(state, client, known.as_ref(), attempted, "credentials"),
            counting
        );
        recorded?;
        counted?;
        return Err(AuthError::code(StatusCode::UNAUTHORIZED, failure));
    };
    if state.auth.require_email_verification && !user.email_verified {
        record_refusal(state, client, Some(&user), attempted, "email_not_verified").await?;
        return Err(AuthError::code(StatusCode::FORBIDDEN, "EMAIL_NOT_VERIFIED"));
    }
    if user.is_banned_at(now()) {
        record_refusal(state, client, Some(&user), attempted, "banned").await?;
        return Err(AuthError::banned(&state.auth));
    }
    if verified == Verified::YesRehash {
        // A hash from the Node server (scrypt) or weaker parameters: replace it now.
        let hash = hash_password(password).await;
        state
            .app
            .db
            .users()
            .set_password(&user.id, &hash, &iso(now()))
            .await?;
        tracing::info!(user_id = %user.id, "password hash upgraded to argon2id");
    }
    // Two-factor on: no session yet, unless this device is trusted (then the session counts
    // as having passed the second factor).
    let mut cookies = Vec::new();
    let passed_second_factor = if user.two_factor_enabled {
        let challenged =
            two_factor::challenge_sign_in(state, &user, remember, headers, &mut cookies).await?;
        if let Some(challenge) = challenged {
            return Ok(challenge);
        }
        true
    } else {
        false
    };
    let origin = Provenance::request(&state.app.config, client).as_user(&user.id);
    let how = if passed_second_factor {
        json!({ "via": via, "secondFactor": "trusted_device" })
    } else {
        json!({ "via": via })
    };
    let event = Event::now(&origin, "sign_in.succeeded", Some(&user.id), Some(how));
    let (_, token) = start_session(
        &state.app,
        &user,
        remember,
        passed_second_factor,
        client,
        Some(&event),
    )
    .await?;
    let mut response = match &callback {
        Some(url) => {
            let url = redirect_target(&state.app.config, url, "INVALID_CALLBACK_URL")?.to_string();
            let mut response = json_response(&SignInAnswer::SignedIn(Box::new(SignedIn {
                redirect: true,
                url: Some(url.clone()),
                token: token.clone(),
                user: AuthUser::from(&user),
            })));
            if let Ok(location) = HeaderValue::from_str(&url) {
                response.headers_mut().insert(LOCATION, location);
            }
            response
        }
        None => json_response(&SignInAnswer::SignedIn(Box::new(SignedIn {
            redirect: false,
            url: None,
            token: token.clone(),
            user: AuthUser::from(&user),
        }))),
    };
    response = started_session(response, &state.app.cookies, &token, remember);
    append_cookies(&mut response, cookies);
    Ok(response)
}
