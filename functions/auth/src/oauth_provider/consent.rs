//! `POST /oauth2/consent` (the consent page's answer) and `POST /oauth2/continue` (after an
//! account was picked or made): each carries the signed request back (`oauth_query`) and
//! answers `{redirect: true, url}`.

use axum::extract::State;
use axum::response::Response;
use portal_domain::crypto::new_id;
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::oauth::Consent;
use portal_domain::time::{iso, now};
use portal_web::http::RequestClient;
use serde_json::{Value, json};

use super::authorize::{Params, SignedIn, decide, error_url, trusted_client, verify_signed};
use super::{OAuthError, OAuthResult, issuer, redirect_body, split_scopes};
use crate::extract::SessionUser;
use crate::input::Body;
use crate::state::AuthState;

/// The request a body carries back, verified: 400 `invalid_request` when there is none.
fn carried(state: &AuthState, body: &Value) -> OAuthResult<Params> {
    match body.get("oauth_query").and_then(Value::as_str) {
        Some(raw) if !raw.is_empty() => verify_signed(state, raw),
        _ => Err(OAuthError::bad_request(
            "invalid_request",
            "missing oauth query",
        )),
    }
}

fn signed_in(user: &SessionUser) -> SignedIn<'_> {
    SignedIn {
        user: &user.user,
        session: &user.session,
    }
}

/// `POST /oauth2/consent {accept, scope?, oauth_query}`: the user's answer. Accepted: the
/// consent is remembered (the scopes given, or all asked for) and the flow goes on to the
/// client with a code; denied: the client gets `access_denied`.
#[utoipa::path(
    post, path = "/oauth2/consent", security(("signedIn" = [])),
    request_body(content = Object, description = "`{accept: boolean, scope?: string (a subset of those asked for), oauth_query: string (the consent page's signed query)}`"),
    responses(
        (status = 200, description = "`{redirect: true, url}`: to the client (a code, or `error=access_denied`)", body = crate::wire::RedirectTo),
        (status = 400, description = "`{error: invalid_request | invalid_signature}`", body = portal_web::openapi::OAuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn consent(
    State(state): State<AuthState>,
    user: SessionUser,
    RequestClient(from): RequestClient,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.json_only()?.value;
    let params = carried(&state, &body)?;
    let asked = split_scopes(params.get("scope").unwrap_or(""));
    if params.get("client_id").is_none() {
        return Err(OAuthError::bad_request(
            "invalid_client",
            "client_id is required",
        ));
    }
    let given = match body.get("scope").and_then(Value::as_str) {
        Some(raw) => {
            let given = split_scopes(raw);
            if !given.iter().all(|s| asked.contains(s)) {
                return Err(OAuthError::bad_request(
                    "invalid_request",
                    "Scope not originally requested",
                ));
            }
            Some(given)
        }
        None => None,
    };
    let store = state.app.db.oauth();
    let client_id = params.get("client_id").unwrap_or_default().to_string();
    let (found, held) = futures::try_join!(trusted_client(&state, &params), async {
        store
            .consent(&user.user.id, &client_id)
            .await
            .map_err(OAuthError::from)
    })?;
    let (client, redirect_uri) = match found {
        Ok(found) => found,
        Err(page) => return Ok(redirect_body(&page)),
    };
    if body.get("accept") != Some(&Value::Bool(true)) {
        let url = error_url(
            &redirect_uri,
            "access_denied",
            "User denied access",
            params.get("state"),
            Some(&issuer(&state)),
        );
        return Ok(redirect_body(&url));
    }
    let scopes = given.clone().unwrap_or(asked);
    let at = iso(now());
    let consent = match held {
        Some(mut held) => {
            held.scopes = scopes.clone();
            held.updated_at = at;
            held
        }
        None => Consent {
            id: new_id(),
            client_id: client.client_id.clone(),
            user_id: user.user.id.clone(),
            scopes: scopes.clone(),
            created_at: at.clone(),
            updated_at: at,
        },
    };
    let origin = Provenance::request(&state.app.config, &from).as_user(&user.user.id);
    let event = Event::now(
        &origin,
        "oauth.consent_granted",
        Some(&user.user.id),
        Some(json!({ "clientId": client.client_id, "clientName": client.name, "scopes": scopes })),
    );
    store.save_consent(&consent, Some(&event)).await?;
    let mut params = params.answered("consent");
    if given.is_some() {
        params.set("scope", &scopes.join(" "));
    }
    let url = decide(&state, params, Some(signed_in(&user))).await?;
    Ok(redirect_body(&url))
}

/// `POST /oauth2/continue {selected | created | postLogin, oauth_query}`: the flow goes on
/// after an account was picked or made.
#[utoipa::path(
    post, path = "/oauth2/continue", security(("signedIn" = [])),
    request_body(content = Object, description = "`{selected?: true, created?: true, postLogin?: true, oauth_query: string}`"),
    responses(
        (status = 200, description = "`{redirect: true, url}`", body = crate::wire::RedirectTo),
        (status = 400, description = "`{error: invalid_request | invalid_signature}`", body = portal_web::openapi::OAuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn continue_flow(
    State(state): State<AuthState>,
    user: SessionUser,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.json_only()?.value;
    let flag = |name: &str| body.get(name) == Some(&Value::Bool(true));
    let answered = if flag("selected") {
        Some("select_account")
    } else if flag("created") {
        Some("create")
    } else if flag("postLogin") {
        None
    } else {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "Missing parameters",
        ));
    };
    let mut params = carried(&state, &body)?;
    if let Some(prompt) = answered {
        params = params.answered(prompt);
    }
    let url = decide(&state, params, Some(signed_in(&user))).await?;
    Ok(redirect_body(&url))
}
