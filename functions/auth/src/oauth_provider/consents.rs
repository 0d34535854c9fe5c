//! The plugin's consent routes: `GET /oauth2/get-consent?id=`, `GET /oauth2/get-consents`,
//! `POST /oauth2/update-consent`, `POST /oauth2/delete-consent`: a user's own consents
//! (what they let each client see). Narrowing or withdrawing one stops the tokens issued
//! under it on their next use; each change is audited.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::oauth::Consent;
use portal_domain::time::{iso, now};
use portal_web::http::RequestClient;
use serde_json::{Value, json};

use super::{OAuthError, OAuthResult, allowed_scopes};
use crate::error::AuthError;
use crate::extract::SessionUser;
use crate::input::Body;
use crate::state::AuthState;

/// A consent as the plugin shows it (its row).
fn wire(consent: &Consent) -> Value {
    json!({
        "id": consent.id,
        "clientId": consent.client_id,
        "userId": consent.user_id,
        "scopes": consent.scopes,
        "createdAt": consent.created_at,
        "updatedAt": consent.updated_at,
    })
}

/// The caller's consent `id`: 404 `{error: not_found}` when they have none by that id.
async fn own_consent(
    state: &AuthState,
    user: &SessionUser,
    id: Option<&str>,
) -> OAuthResult<Consent> {
    let Some(id) = id.filter(|i| !i.is_empty()) else {
        return Err(OAuthError::not_found("missing id parameter"));
    };
    state
        .app
        .db
        .oauth()
        .consents_of(&user.user.id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| OAuthError::not_found("no consent"))
}

/// `GET /oauth2/get-consent?id=`.
#[utoipa::path(
    get, path = "/oauth2/get-consent", security(("signedIn" = [])),
    params(("id" = String, Query)),
    responses(
        (status = 200, description = "`{id, clientId, userId, scopes, createdAt, updatedAt}`", body = Object),
        (status = 404, description = "`{error: not_found}`", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn get_consent(
    State(state): State<AuthState>,
    user: SessionUser,
    Query(query): Query<HashMap<String, String>>,
) -> OAuthResult<Response> {
    let consent = own_consent(&state, &user, query.get("id").map(String::as_str)).await?;
    Ok(Json(wire(&consent)).into_response())
}

/// `GET /oauth2/get-consents`: the caller's consents, oldest first.
#[utoipa::path(
    get, path = "/oauth2/get-consents", security(("signedIn" = [])),
    responses((status = 200, description = "The caller's consents", body = Vec<Object>))
)]
pub async fn get_consents(
    State(state): State<AuthState>,
    user: SessionUser,
) -> OAuthResult<Response> {
    let all = state.app.db.oauth().consents_of(&user.user.id).await?;
    let shown: Vec<Value> = all.iter().map(wire).collect();
    Ok(Json(shown).into_response())
}

fn event(
    state: &AuthState,
    from: &portal_domain::model::Client,
    user: &SessionUser,
    action: &str,
    consent: &Consent,
) -> Event {
    let origin = Provenance::request(&state.app.config, from).as_user(&user.user.id);
    Event::now(
        &origin,
        action,
        Some(&user.user.id),
        Some(
            json!({ "consentId": consent.id, "clientId": consent.client_id, "scopes": consent.scopes }),
        ),
    )
}

/// `POST /oauth2/update-consent {id, update: {scopes}}`: changes what a client may see (only
/// scopes the client may ask for); tokens with scopes no longer granted stop working.
#[utoipa::path(
    post, path = "/oauth2/update-consent", security(("signedIn" = [])),
    request_body(content = Object, description = "`{id, update: {scopes: string[]}}`"),
    responses(
        (status = 200, description = "The consent as changed", body = Object),
        (status = 400, description = "`{error: invalid_request}`: a scope the client may not have", body = portal_web::openapi::OAuthErrorBody),
        (status = 404, description = "`{error: not_found}`", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn update_consent(
    State(state): State<AuthState>,
    RequestClient(from): RequestClient,
    user: SessionUser,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.json_only()?.value;
    let scopes: Vec<String> = match body.pointer("/update/scopes") {
        Some(Value::Array(all)) if all.iter().all(Value::is_string) => all
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => {
            return Err(AuthError::validation(
                "[body.update.scopes] Invalid input: expected array of strings".into(),
            )
            .into());
        }
    };
    let mut consent = own_consent(&state, &user, body.get("id").and_then(Value::as_str)).await?;
    let client = state
        .app
        .db
        .oauth_clients()
        .by_client_id(&consent.client_id)
        .await?;
    let allowed = client.as_ref().map(allowed_scopes).unwrap_or_default();
    if !scopes.iter().all(|s| allowed.contains(s)) {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "unable to provide scopes to this client",
        ));
    }
    consent.scopes = scopes;
    consent.updated_at = iso(now());
    let event = event(&state, &from, &user, "oauth.consent_changed", &consent);
    state
        .app
        .db
        .oauth()
        .save_consent(&consent, Some(&event))
        .await?;
    Ok(Json(wire(&consent)).into_response())
}

/// `POST /oauth2/delete-consent {id}`: withdraws a consent; the client's tokens stop on
/// their next use and its next sign-in asks again.
#[utoipa::path(
    post, path = "/oauth2/delete-consent", security(("signedIn" = [])),
    request_body(content = Object, description = "`{id}`"),
    responses(
        (status = 200, description = "Withdrawn", body = Object),
        (status = 404, description = "`{error: not_found}`", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn delete_consent(
    State(state): State<AuthState>,
    RequestClient(from): RequestClient,
    user: SessionUser,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.json_only()?.value;
    let consent = own_consent(&state, &user, body.get("id").and_then(Value::as_str)).await?;
    let event = event(&state, &from, &user, "oauth.consent_withdrawn", &consent);
    state
        .app
        .db
        .oauth()
        .delete_consent(&consent, Some(&event))
        .await?;
    Ok(Json(Value::Null).into_response())
}
