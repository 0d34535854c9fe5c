//! Signing in with a passkey: `GET /passkey/generate-authenticate-options`, then
//! `POST /passkey/verify-authentication`, which starts a session as a password sign-in
//! does (rate limits, banned and unverified accounts refused, the record, the cookies and
//! the multi-session cookie), in at most three sequential round trips: the address count,
//! the ceremony and the passkey together; the user; one transaction for the passkey's new
//! counter, the session and the record.

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::passkeys::Passkey as StoredPasskey;
use portal_domain::time::{iso, now};
use portal_web::http::RequestClient;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PublicKeyCredential, WebauthnError,
};

use super::{
    AUTHENTICATION, CHALLENGE_COOKIE, begin, credential_facts, finish, public_key_options,
};
use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::limits::{AddressCount, count_address};
use crate::session::new_session;
use crate::state::AuthState;
use crate::views::{append_cookies, json_response, started_session};
use crate::wire::SessionAndUser;

/// What an authentication ceremony keeps until it is finished.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
enum Ceremony {
    /// A signed-in user's: only their passkeys were offered.
    Offered {
        state: PasskeyAuthentication,
        user_id: String,
    },
    /// Anyone's: the authenticator picks a discoverable passkey (and the browser's
    /// autofill may offer it).
    Discoverable { state: DiscoverableAuthentication },
}

fn library_passkey(stored: &StoredPasskey) -> AuthResult<Passkey> {
    serde_json::from_str(&stored.credential)
        .map_err(|e| AuthError::internal(&format!("a stored passkey does not read back: {e}")))
}

fn failed() -> AuthError {
    AuthError::code(StatusCode::UNAUTHORIZED, "AUTHENTICATION_FAILED")
}

fn challenge_not_found() -> AuthError {
    AuthError::code(StatusCode::BAD_REQUEST, "CHALLENGE_NOT_FOUND")
}

/// `GET /passkey/generate-authenticate-options`: the options for
/// `navigator.credentials.get()`; signed in, only the caller's passkeys are offered. The
/// ceremony is kept five minutes for this browser.
#[utoipa::path(
    get, path = "/passkey/generate-authenticate-options",
    responses(
        (status = 200, description = "PublicKeyCredentialRequestOptionsJSON; the challenge cookie is set", body = Object),
        (status = 400, description = "`PASSKEYS_UNAVAILABLE` (a base URL without a host name)", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn options(
    State(state): State<AuthState>,
    user: Option<SessionUser>,
) -> AuthResult<Response> {
    let rp = state.relying_party()?;
    let held = match &user {
        Some(user) => state.app.db.passkeys().of_user(&user.user.id).await?,
        None => Vec::new(),
    };
    let (challenge, ceremony, user_id) = match (&user, held.is_empty()) {
        (Some(user), false) => {
            let offered = held
                .iter()
                .map(library_passkey)
                .collect::<AuthResult<Vec<_>>>()?;
            let (challenge, state) = rp
                .start_passkey_authentication(&offered)
                .map_err(|e| AuthError::internal(&format!("passkey options: {e}")))?;
            let user_id = user.user.id.clone();
            (
                challenge,
                Ceremony::Offered {
                    state,
                    user_id: user_id.clone(),
                },
                Some(user_id),
            )
        }
        _ => {
            let (challenge, state) = rp
                .start_discoverable_authentication()
                .map_err(|e| AuthError::internal(&format!("passkey options: {e}")))?;
            (challenge, Ceremony::Discoverable { state }, None)
        }
    };
    let options = public_key_options(&challenge)?;
    begin(
        &state,
        AUTHENTICATION,
        user_id.as_deref(),
        &ceremony,
        &options,
    )
    .await
}

/// `POST /passkey/verify-authentication {response}`: the assertion checked against the
/// ceremony this browser started (challenge, origin, relying party, user verification, the
/// signature counter: one that does not move forward is a cloned authenticator, refused
/// and recorded), then a session exactly as a password sign-in starts one. The session
/// counts as past the second factor when the authenticator verified the user.
#[utoipa::path(
    post, path = "/passkey/verify-authentication",
    request_body(content = Object, description = "`{response: AuthenticationResponseJSON}`"),
    responses(
        (status = 200, description = "Signed in: the session cookie is set", body = SessionAndUser),
        (status = 400, description = "`CHALLENGE_NOT_FOUND`, `origin missing`, `PASSKEYS_UNAVAILABLE`, `VALIDATION_ERROR`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`PASSKEY_NOT_FOUND`, `AUTHENTICATION_FAILED`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`BANNED_USER`, `EMAIL_NOT_VERIFIED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn verify(
    State(state): State<AuthState>,
    headers: HeaderMap,
    RequestClient(client): RequestClient,
    address: Option<Extension<AddressCount>>,
    body: Body,
) -> AuthResult<Response> {
    let address = address.map(|Extension(a)| a);
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    match f.raw("response") {
        Some(Value::Object(_)) => {}
        _ => f.issue("response", "Invalid input: expected record"),
    }
    // A refused body is counted by the limit layer after the answer.
    f.finish()?;
    if headers.get(axum::http::header::ORIGIN).is_none() {
        return Err(AuthError::message_only(
            StatusCode::BAD_REQUEST,
            "origin missing",
        ));
    }
    let rp = state.relying_party()?;
    let token = state
        .ceremony_token(&headers)
        .ok_or_else(challenge_not_found)?;
    let credential: PublicKeyCredential =
        serde_json::from_value(body.value["response"].clone()).map_err(|_| failed())?;
    let passkey_id = StoredPasskey::id_of(credential.raw_id.as_ref());
    // The address's count, the ceremony and the passkey do not depend on each other: one
    // round trip for the three.
    let (tokens, passkeys) = (state.app.db.tokens(), state.app.db.passkeys());
    let (counted, taken, stored) = tokio::join!(
        count_address(&state.app, address.as_ref()),
        tokens.consume_ceremony(AUTHENTICATION, &token),
        passkeys.get(&passkey_id)
    );
    if let Err(limited) = counted {
        return Ok(limited);
    }
    let (taken, stored) = (taken?, stored?);
    let ceremony: Ceremony = finish(taken)?;
    let Some(stored) = stored else {
        return Err(AuthError::code(
            StatusCode::UNAUTHORIZED,
            "PASSKEY_NOT_FOUND",
        ));
    };
    let origin = Provenance::request(&state.app.config, &client);
    let mut passkey = library_passkey(&stored)?;
    let verified = match ceremony {
        Ceremony::Offered {
            state: ceremony,
            user_id,
        } if user_id == stored.user_id => rp.finish_passkey_authentication(&credential, &ceremony),
        Ceremony::Offered { .. } => Err(WebauthnError::CredentialNotFound),
        Ceremony::Discoverable { state: ceremony } => rp.finish_discoverable_authentication(
            &credential,
            ceremony,
            &[DiscoverableKey::from(&passkey)],
        ),
    };
    let result = match verified {
        Ok(result) => result,
        Err(err) => {
            let reason = match err {
                WebauthnError::CredentialPossibleCompromise => "possible_clone",
                _ => "assertion",
            };
            tracing::info!(error = %err, reason, "a passkey sign-in did not verify");
            let details = json!({ "via": "passkey", "reason": reason, "passkeyId": stored.id });
            let event = Event::now(
                &origin,
                "sign_in.failed",
                Some(&stored.user_id),
                Some(details),
            );
            state.app.db.audit().append(&event).await?;
            return Err(failed());
        }
    };
    let user = state
        .app
        .db
        .users()
        .get(&stored.user_id)
        .await?
        .ok_or_else(failed)?;
    if state.auth.require_email_verification && !user.email_verified {
        return Err(AuthError::code(StatusCode::FORBIDDEN, "EMAIL_NOT_VERIFIED"));
    }
    if user.is_banned_at(now()) {
        return Err(AuthError::banned(&state.auth));
    }
    passkey.update_credential(&result);
    let recorded =
        serde_json::to_value(&passkey).map_err(|e| AuthError::internal(&e.to_string()))?;
    let (counter, backup_eligible, backed_up) = credential_facts(&recorded);
    let at = iso(now());
    let after = StoredPasskey {
        counter,
        backed_up,
        device_type: if backup_eligible {
            "multiDevice"
        } else {
            "singleDevice"
        }
        .into(),
        last_used_at: Some(at),
        credential: recorded.to_string(),
        ..stored.clone()
    };
    let (mut session, session_token) = new_session(&state.app, &user, true, &client);
    // A passkey that verified its user is a second factor in itself.
    session.two_factor_verified = result.user_verified();
    let details =
        json!({ "via": "passkey", "passkeyId": stored.id, "userVerified": result.user_verified() });
    let event = Event::now(
        &origin.as_user(&user.id),
        "sign_in.succeeded",
        Some(&user.id),
        Some(details),
    );
    if !passkeys.sign_in(&stored, &after, &session, &event).await? {
        // Used (or removed) between the read and now: this assertion does not count.
        return Err(failed());
    }
    portal_web::http::identified(&user.id);
    let mut response = json_response(&SessionAndUser::of(&session, &session_token, &user));
    append_cookies(
        &mut response,
        vec![state.app.cookies.expired(CHALLENGE_COOKIE)],
    );
    Ok(started_session(response, &state.app.cookies, &session_token, true).into_response())
}
