//! BetterAuth's oauth-proxy plugin as Portal enables it: a preview deployment (its own
//! address not registered at the providers) sends people to the provider with the
//! PRODUCTION deployment's callback (`PORTAL_OAUTH_PROXY_PRODUCTION_URL`); production
//! exchanges the code and hands the profile, sealed with the shared auth secret and good
//! for 60 seconds, to the preview's `/oauth-proxy-callback`, which signs the person in
//! there. When the production URL is this deployment's own (Portal's setting), nothing is
//! proxied.
//!
//! The state the provider carries is a sealed package (the preview's state token and
//! pending flow): only a deployment holding the secret can make or read one. The preview's
//! stored state is still taken at its callback (single use) and must match its state cookie.

use std::collections::HashMap;

use axum::response::Response;
use portal_domain::time::now;
use serde::{Deserialize, Serialize};

use super::{Pending, Profile, Tokens, exchange, profile, provider};
use crate::error::AuthResult;
use crate::state::AuthState;
use crate::views::{redirect, with_param};

/// How long a handed-over profile is good for (the plugin's `maxAge`).
const MAX_AGE_SECONDS: i64 = 60;

/// The production deployment to proxy through, when this one is not it.
pub fn production(state: &AuthState) -> Option<url::Url> {
    let production = state.auth.social.proxy_production_url.clone()?;
    (production.origin() != state.auth.base_url.origin()).then_some(production)
}

/// What the provider carries as `state` when proxying.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    is_oauth_proxy: bool,
    /// The preview's state token (its stored state and its cookie).
    state: String,
    pending: Pending,
    /// The preview's `/oauth-proxy-callback`.
    back: String,
}

/// The sealed package for `token` and `pending`.
pub fn package(state: &AuthState, token: &str, pending: &Pending) -> String {
    let package = Package {
        is_oauth_proxy: true,
        state: token.to_string(),
        pending: pending.clone(),
        back: state.link("/oauth-proxy-callback"),
    };
    state
        .app
        .keyring
        .seal(&serde_json::to_string(&package).unwrap_or_default())
}

/// What production hands back.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HandOver {
    pub(super) state: String,
    pub(super) provider: String,
    pub(super) profile: Profile,
    pub(super) tokens: Tokens,
    /// Seconds since the epoch when it was made.
    timestamp: i64,
}

impl HandOver {
    /// What production sealed, opened, if it is still fresh (`Err`: the error code).
    pub(super) fn open(state: &AuthState, sealed: &str) -> Result<Self, &'static str> {
        let hand_over = state
            .app
            .keyring
            .open(sealed)
            .and_then(|text| serde_json::from_str::<HandOver>(&text).ok())
            .ok_or("invalid_profile")?;
        let age = now().unix_timestamp() - hand_over.timestamp;
        if !(-10..=MAX_AGE_SECONDS).contains(&age) {
            return Err("payload_expired");
        }
        Ok(hand_over)
    }
}

/// Production's side: the provider's callback carries a package instead of a state of its
/// own. Exchanges the code (its own redirect URI) and sends the browser back to the preview
/// with the profile. `None` when `state` is not a package (a callback of this deployment).
pub async fn at_production(
    state: &AuthState,
    id: &str,
    query: &HashMap<String, String>,
) -> AuthResult<Option<Response>> {
    let Some(raw) = query.get("state") else {
        return Ok(None);
    };
    let Some(package) = state
        .app
        .keyring
        .open(raw)
        .and_then(|text| serde_json::from_str::<Package>(&text).ok())
        .filter(|p| p.is_oauth_proxy)
    else {
        return Ok(None);
    };
    let error_page = state.link("/error");
    let error_url = package.pending.error_url.clone().unwrap_or(error_page);
    let fail = |error: &str| Ok(Some(redirect(&with_param(&error_url, "error", error))));
    if let Some(error) = query.get("error") {
        return fail(error);
    }
    let Some(code) = query.get("code") else {
        return fail("no_code");
    };
    let Some(provider) = provider(state, id).filter(|p| p.id == package.pending.provider) else {
        return fail("oauth_provider_not_found");
    };
    let tokens = match exchange(state, provider, code, &package.pending.code_verifier).await {
        Ok(tokens) => tokens,
        Err(failure) => {
            tracing::warn!(provider = provider.id, reason = %failure.0, "proxied code exchange failed");
            return fail("invalid_code");
        }
    };
    let person = match profile(provider, &tokens.access_token).await {
        Ok(person) => person,
        Err(failure) => {
            tracing::warn!(provider = provider.id, reason = %failure.0, "proxied profile read failed");
            return fail("unable_to_get_user_info");
        }
    };
    let hand_over = HandOver {
        state: package.state,
        provider: provider.id.to_string(),
        profile: person,
        tokens,
        timestamp: now().unix_timestamp(),
    };
    let sealed = state
        .app
        .keyring
        .seal(&serde_json::to_string(&hand_over).unwrap_or_default());
    let back = with_param(
        &with_param(&package.back, "callbackURL", &package.pending.callback_url),
        "profile",
        &sealed,
    );
    Ok(Some(redirect(&back)))
}
