//! The preview's side of BetterAuth's oauth-proxy plugin (`social::proxy` is production's
//! and the sealed hand-over): `/oauth-proxy-callback` signs the person in here with what
//! production read from the provider, through the same finish as a callback of our own.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use portal_domain::time::{now, parse_iso};
use portal_web::http::RequestClient;

use super::proxy::HandOver;
use super::{Pending, STATE_COOKIE, STATE_KIND, provider};
use crate::error::{AuthError, AuthResult};
use crate::state::AuthState;
use crate::views::{append_cookies, redirect, with_param};

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
    let hand_over = match HandOver::open(&state, sealed) {
        Ok(hand_over) => hand_over,
        Err(error) => return fail(error),
    };
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
