//! The security card's passkey list: `GET /passkey/list-user-passkeys`,
//! `POST /passkey/update-passkey` (its name), `POST /passkey/delete-passkey`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::store::audit::{Event, Provenance};
use portal_web::http::RequestClient;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::PasskeyView;
use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
use crate::input::{Body, Fields};
use crate::state::AuthState;
use crate::views::json_response;
use crate::wire::Status;

/// `{passkey}`.
#[derive(Serialize, ToSchema)]
pub struct PasskeyBody {
    pub passkey: PasskeyView,
}

/// `GET /passkey/list-user-passkeys`: the caller's passkeys, oldest first.
#[utoipa::path(
    get, path = "/passkey/list-user-passkeys", security(("signedIn" = [])),
    responses((status = 200, description = "The caller's passkeys", body = Vec<PasskeyView>))
)]
pub async fn list(State(state): State<AuthState>, user: SessionUser) -> AuthResult<Response> {
    let held = state.app.db.passkeys().of_user(&user.user.id).await?;
    let shown: Vec<PasskeyView> = held.iter().map(PasskeyView::from).collect();
    Ok(json_response(&shown))
}

/// 404 `PASSKEY_NOT_FOUND` when there is no such passkey, 401 `not_theirs` (the plugin's
/// ownership check) when it is someone else's.
async fn refusal(state: &AuthState, id: &str, not_theirs: AuthError) -> AuthResult<AuthError> {
    Ok(match state.app.db.passkeys().get(id).await? {
        None => AuthError::code(StatusCode::NOT_FOUND, "PASSKEY_NOT_FOUND"),
        Some(_) => not_theirs,
    })
}

/// `POST /passkey/update-passkey {id, name}`: renames one of the caller's passkeys.
#[utoipa::path(
    post, path = "/passkey/update-passkey", security(("signedIn" = [])),
    request_body(content = Object, description = "`{id, name}` (1 to 100 characters, trimmed)"),
    responses(
        (status = 200, description = "The renamed passkey", body = PasskeyBody),
        (status = 401, description = "`YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY` (someone else's)", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`PASSKEY_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn update(
    State(state): State<AuthState>,
    user: SessionUser,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let id = f.string("id");
    let name = f.string("name").map(|n| n.trim().to_string());
    match name.as_deref().map(|n| n.chars().count()) {
        Some(0) => f.issue("name", "Too small: expected string to have >=1 characters"),
        Some(n) if n > 100 => f.issue("name", "Too big: expected string to have <=100 characters"),
        _ => {}
    }
    f.finish()?;
    let (Some(id), Some(name)) = (id, name) else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    let origin = Provenance::request(&state.app.config, &client).as_user(&user.user.id);
    let details = json!({ "passkeyId": id, "name": name });
    let event = Event::now(
        &origin,
        "passkey.renamed",
        Some(&user.user.id),
        Some(details),
    );
    match state
        .app
        .db
        .passkeys()
        .rename(&id, &user.user.id, &name, &event)
        .await?
    {
        Some(passkey) => Ok(json_response(&PasskeyBody {
            passkey: PasskeyView::from(&passkey),
        })),
        None => {
            let not_theirs = AuthError::code(
                StatusCode::UNAUTHORIZED,
                "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY",
            );
            Err(refusal(&state, &id, not_theirs).await?)
        }
    }
}

/// `POST /passkey/delete-passkey {id}`: removes one of the caller's passkeys; it signs
/// nobody in from the next request on.
#[utoipa::path(
    post, path = "/passkey/delete-passkey", security(("signedIn" = [])),
    request_body(content = Object, description = "`{id}`"),
    responses(
        (status = 200, description = "Deleted", body = Status),
        (status = 401, description = "`UNAUTHORIZED` (someone else's)", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`PASSKEY_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AuthState>,
    user: SessionUser,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let id = f.string("id");
    f.finish()?;
    let id = id.unwrap_or_default();
    let origin = Provenance::request(&state.app.config, &client).as_user(&user.user.id);
    let details = json!({ "passkeyId": id });
    let event = Event::now(
        &origin,
        "passkey.deleted",
        Some(&user.user.id),
        Some(details),
    );
    if state
        .app
        .db
        .passkeys()
        .delete(&id, &user.user.id, &event)
        .await?
    {
        Ok(json_response(&Status::TRUE))
    } else {
        Err(refusal(&state, &id, AuthError::unauthorized()).await?)
    }
}
