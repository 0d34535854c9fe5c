//! BetterAuth's passkey plugin (`/passkey/*`) as Portal enables it (`passkey({ rpName:
//! "Portal" })`), on `webauthn-rs` with its passkey defaults: attestation "none", user
//! verification required, counters and backup flags checked.
//!
//! - The relying party is the base URL's host name (`PORTAL_PASSKEY_RP_ID`), for the base
//!   URL's origin and the trusted origins under it; a base URL on an IP address leaves
//!   passkeys off, and every `/passkey/*` call says why (browsers refuse an IP address).
//! - A ceremony's state is stored under a hash of a random token (kind in front) for five
//!   minutes, the token in the plugin's signed `better-auth-passkey` cookie: single use
//!   (taken by a conditional delete), bound to the browser that asked.
//! - A passkey item is keyed by its credential id: a credential belongs to one user.

pub mod manage;
pub mod register;
pub mod relying_party;
pub mod sign_in;

use axum::http::{HeaderMap, StatusCode};
pub use portal_web::views::PasskeyView;
use webauthn_rs::prelude::Webauthn;

use crate::error::{AuthError, AuthResult};
use crate::state::AuthState;

/// The plugin's challenge cookie (`advanced.webAuthnChallengeCookie`), under the prefix.
pub const CHALLENGE_COOKIE: &str = "better-auth-passkey";
/// How long a ceremony may take (the plugin's `maxAgeInSeconds`).
pub const CEREMONY_SECONDS: i64 = 300;

const REGISTRATION: &str = "passkey-registration";
const AUTHENTICATION: &str = "passkey-authentication";

impl AuthState {
    /// The relying party, or 400 `PASSKEYS_UNAVAILABLE` saying why there is none.
    fn relying_party(&self) -> AuthResult<&Webauthn> {
        match self.passkeys.get(&self.auth) {
            Ok(webauthn) => Ok(webauthn),
            Err(why) => Err(AuthError::with_message(
                StatusCode::BAD_REQUEST,
                "PASSKEYS_UNAVAILABLE",
                why.clone(),
            )),
        }
    }

    /// The ceremony token the browser holds, if its signature holds.
    fn ceremony_token(&self, headers: &HeaderMap) -> Option<String> {
        self.app.cookies.verified(headers, CHALLENGE_COOKIE)
    }
}

/// Starts a ceremony of `kind`: keeps its state five minutes under a fresh token (for
/// `user_id` when one is signed in), and answers `options` with the signed challenge
/// cookie that holds the token.
async fn begin<T: serde::Serialize>(
    state: &AuthState,
    kind: &str,
    user_id: Option<&str>,
    ceremony: &T,
    options: &Value,
) -> AuthResult<axum::response::Response> {
    let token = portal_domain::crypto::random_alphanumeric(32);
    let at = portal_domain::time::now();
    let kept = serde_json::to_string(ceremony).map_err(|e| AuthError::internal(&e.to_string()))?;
    state
        .app
        .db
        .tokens()
        .issue_ceremony(
            kind,
            &token,
            user_id,
            kept,
            &portal_domain::time::iso(at),
            &portal_domain::time::iso(at + time::Duration::seconds(CEREMONY_SECONDS)),
        )
        .await?;
    let mut response = crate::views::json_response(options);
    let cookie = state
        .app
        .cookies
        .signed_cookie(CHALLENGE_COOKIE, &token, CEREMONY_SECONDS);
    crate::views::append_cookies(&mut response, vec![cookie]);
    Ok(response)
}

/// The state of the ceremony of `kind` this browser started, taken (it finishes once at
/// most): 400 `CHALLENGE_NOT_FOUND` when there is none, it expired, or it is of another
/// kind.
fn finish<T: serde::de::DeserializeOwned>(
    taken: Option<portal_domain::store::tokens::OneTimeToken>,
) -> AuthResult<T> {
    taken
        .filter(|c| {
            portal_domain::time::parse_iso(&c.expires_at)
                .is_some_and(|t| t > portal_domain::time::now())
        })
        .and_then(|c| c.payload)
        .and_then(|p| serde_json::from_str(&p).ok())
        .ok_or_else(|| AuthError::code(StatusCode::BAD_REQUEST, "CHALLENGE_NOT_FOUND"))
}

/// The options part (`publicKey`) of the library's challenge, as the plugin answers it.
fn public_key_options<T: serde::Serialize>(challenge: &T) -> AuthResult<Value> {
    let mut whole =
        serde_json::to_value(challenge).map_err(|e| AuthError::internal(&e.to_string()))?;
    Ok(whole["publicKey"].take())
}

/// What the library's record of a credential says of its counter and backup state (read
/// from its serialized form: the high-level API does not expose them).
fn credential_facts(credential: &Value) -> (i64, bool, bool) {
    let cred = &credential["cred"];
    (
        cred["counter"].as_i64().unwrap_or_default(),
        cred["backup_eligible"].as_bool().unwrap_or_default(),
        cred["backup_state"].as_bool().unwrap_or_default(),
    )
}

use serde_json::Value;
