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

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use portal_domain::time::{now, parse_iso};
use portal_web::http::RequestClient;
use serde::{Deserialize, Serialize};

use super::{Pending, Profile, STATE_COOKIE, STATE_KIND, Tokens, exchange, profile, provider};
use crate::error::{AuthError, AuthResult};
use crate::state::AuthState;
use crate::views::{append_cookies, redirect, with_param};

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
struct HandOver {
    state: String,
    provider: String,
    profile: Profile,
    tokens: Tokens,
    /// Seconds since the epoch when it was made.
    timestamp: i64,
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

/// `GET /oauth-proxy-callback?callbackURL=&profile=`: the preview's side, the person signed
/// in (or up) here with what production read from the provider.
#[utoipa::path(
    get, path = "/oauth-proxy-callback",
    params(
        ("callbackURL" = String, Query, description = "Where the flow ends"),
        ("profile" = Option<String>, Query, description = "The profile production handed over, sealed"),
    ),
    responses(
        (status = 302, description = "To the callback URL (signed in), or to the error URL with `missing_profile`, `invalid_profile`, `payload_expired`, `please_restart_the_process`, `state_mismatch`"),
        (status = 403, description = "`INVALID_CALLBACK_URL`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn callback(
    State(state): State<AuthState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    // The plugin's query schema and origin check: `callbackURL` required and trusted.
    let Some(callback_url) = query.get("callbackURL") else {
        return Err(AuthError::validation(
            "[query.callbackURL] Invalid input: expected string, received undefined".into(),
        ));
    };
    crate::origin::redirect_target(&state.app.config, callback_url, "INVALID_CALLBACK_URL")?;
    let error_page = state.link("/error");
    let fail = |error: &str| Ok(redirect(&with_param(&error_page, "error", error)));
    let Some(sealed) = query.get("profile") else {
        return fail("missing_profile");
    };
    let Some(hand_over) = state
        .app
        .keyring
        .open(sealed)
        .and_then(|text| serde_json::from_str::<HandOver>(&text).ok())
    else {
        return fail("invalid_profile");
    };
    let age = now().unix_timestamp() - hand_over.timestamp;
    if !(-10..=MAX_AGE_SECONDS).contains(&age) {
        return fail("payload_expired");
    }
    // The flow this deployment started: single use, and this browser's.
    let taken = state
        .app
        .db
        .tokens()
        .consume_ceremony(STATE_KIND, &hand_over.state)
        .await?;
    let expire_cookie = state.app.cookies.expired(STATE_COOKIE);
    let pending = taken
        .filter(|t| parse_iso(&t.expires_at).is_some_and(|at| at > now()))
        .and_then(|t| t.payload)
        .and_then(|p| serde_json::from_str::<Pending>(&p).ok());
    let Some(pending) = pending else {
        return fail("please_restart_the_process");
    };
    if state
        .app
        .cookies
        .verified(&headers, STATE_COOKIE)
        .as_deref()
        != Some(hand_over.state.as_str())
        || pending.provider != hand_over.provider
    {
        let mut response = redirect(&with_param(&error_page, "error", "state_mismatch"));
        append_cookies(&mut response, vec![expire_cookie]);
        return Ok(response);
    }
    let Some(provider) = provider(&state, &hand_over.provider) else {
        return fail("oauth_provider_not_found");
    };
    let mut response = super::callback::finish(
        &state,
        provider,
        pending,
        client,
        hand_over.profile,
        hand_over.tokens,
    )
    .await?;
    append_cookies(&mut response, vec![expire_cookie]);
    Ok(response)
}
