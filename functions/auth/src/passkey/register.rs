//! Adding a passkey to the signed-in account: `GET /passkey/generate-register-options`,
//! then `POST /passkey/verify-registration` with what the browser's authenticator made.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use data_encoding::{BASE64, BASE64URL_NOPAD};
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::passkeys::Passkey as StoredPasskey;
use portal_domain::time::{iso, now};
use portal_web::http::RequestClient;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webauthn_rs::prelude::{CredentialID, PasskeyRegistration, RegisterPublicKeyCredential, Uuid};

use super::{
    CHALLENGE_COOKIE, PasskeyView, REGISTRATION, begin, credential_facts, finish,
    public_key_options,
};
use crate::error::{AuthError, AuthResult};
use crate::extract::{SessionUser, refuse_impersonation};
use crate::input::{Body, Fields, query_object};
use crate::session::require_fresh;
use crate::state::AuthState;
use crate::views::{append_cookies, json_response};

/// What a registration ceremony keeps until it is finished.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ceremony {
    registration: PasskeyRegistration,
    user_id: String,
}

fn failed() -> AuthError {
    AuthError::code(StatusCode::BAD_REQUEST, "FAILED_TO_VERIFY_REGISTRATION")
}

fn challenge_not_found() -> AuthError {
    AuthError::code(StatusCode::BAD_REQUEST, "CHALLENGE_NOT_FOUND")
}

/// `GET /passkey/generate-register-options?authenticatorAttachment&name`: the options for
/// `navigator.credentials.create()` (the caller's passkeys excluded), the ceremony kept
/// five minutes for this browser. A session started within the day is required (the
/// plugin's fresh session).
#[utoipa::path(
    get, path = "/passkey/generate-register-options", security(("signedIn" = [])),
    params(
        ("authenticatorAttachment" = Option<String>, Query, pattern = "^(platform|cross-platform)$"),
        ("name" = Option<String>, Query, description = "The user name the authenticator shows"),
        ("context" = Option<String>, Query, description = "Accepted and ignored"),
    ),
    responses(
        (status = 200, description = "PublicKeyCredentialCreationOptionsJSON; the challenge cookie is set", body = Object),
        (status = 400, description = "`PASSKEYS_UNAVAILABLE` (a base URL without a host name), `VALIDATION_ERROR`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`SESSION_NOT_FRESH`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn options(
    State(state): State<AuthState>,
    user: SessionUser,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    let asked = query_object(&query);
    let mut f = Fields::of("query", &asked, true);
    let attachment = f.one_of("authenticatorAttachment", &["platform", "cross-platform"]);
    f.finish()?;
    require_fresh(&user.session)?;
    refuse_impersonation(&user.session)?;
    let rp = state.relying_party()?;
    let held = state.app.db.passkeys().of_user(&user.user.id).await?;
    let exclude: Vec<CredentialID> = held
        .iter()
        .filter_map(|p| BASE64URL_NOPAD.decode(p.credential_id.as_bytes()).ok())
        .map(CredentialID::from)
        .collect();
    let shown = query
        .get("name")
        .filter(|n| !n.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| user.user.email.clone());
    // A fresh user handle per passkey (as the plugin makes one): it names nobody.
    let (challenge, registration) = rp
        .start_passkey_registration(Uuid::new_v4(), &shown, &user.user.email, Some(exclude))
        .map_err(|e| AuthError::internal(&format!("passkey options: {e}")))?;
    let mut options = public_key_options(&challenge)?;
    // Discoverable where the authenticator can (the plugin's `residentKey: "preferred"`):
    // "Sign in with passkey" then needs no name first.
    let selection = &mut options["authenticatorSelection"];
    selection["residentKey"] = json!("preferred");
    selection["requireResidentKey"] = json!(false);
    if let Some(attachment) = attachment {
        selection["authenticatorAttachment"] = json!(attachment);
    }
    let ceremony = Ceremony {
        registration,
        user_id: user.user.id.clone(),
    };
    begin(
        &state,
        REGISTRATION,
        Some(&user.user.id),
        &ceremony,
        &options,
    )
    .await
}

/// The AAGUID in a registration's authenticator data (after the RP id hash, the flags
/// and the counter), when the browser reported it.
fn aaguid(response: &Value) -> Option<String> {
    let data = response["response"]["authenticatorData"].as_str()?;
    let bytes = BASE64URL_NOPAD
        .decode(data.trim_end_matches('=').as_bytes())
        .ok()?;
    let raw = bytes.get(37..53)?;
    let hex = data_encoding::HEXLOWER.encode(raw);
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// `POST /passkey/verify-registration {response, name?}`: checks what the authenticator
/// made against the ceremony this browser started (its challenge, the origin, the relying
/// party, user verification) and stores the passkey. A credential already registered (to
/// anyone) is 400 `PREVIOUSLY_REGISTERED`.
#[utoipa::path(
    post, path = "/passkey/verify-registration", security(("signedIn" = [])),
    request_body(content = Object, description = "`{response: RegistrationResponseJSON, name?}`"),
    responses(
        (status = 200, description = "The new passkey", body = PasskeyView),
        (status = 400, description = "`CHALLENGE_NOT_FOUND`, `FAILED_TO_VERIFY_REGISTRATION`, `PREVIOUSLY_REGISTERED`, `PASSKEYS_UNAVAILABLE`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY`, `UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`SESSION_NOT_FRESH`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn verify(
    State(state): State<AuthState>,
    user: SessionUser,
    headers: HeaderMap,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let name = f.optional_string("name");
    f.optional_bool("createSession");
    if name
        .as_deref()
        .is_some_and(|n| n.trim().chars().count() > 100)
    {
        f.issue("name", "Too big: expected string to have <=100 characters");
    }
    f.finish()?;
    require_fresh(&user.session)?;
    refuse_impersonation(&user.session)?;
    if headers.get(axum::http::header::ORIGIN).is_none() {
        return Err(failed());
    }
    let rp = state.relying_party()?;
    let token = state
        .ceremony_token(&headers)
        .ok_or_else(challenge_not_found)?;
    let taken = state
        .app
        .db
        .tokens()
        .consume_ceremony(REGISTRATION, &token)
        .await?;
    let ceremony: Ceremony = finish(taken)?;
    if ceremony.user_id != user.user.id {
        return Err(AuthError::code(
            StatusCode::UNAUTHORIZED,
            "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY",
        ));
    }
    let sent = body.value.get("response").cloned().unwrap_or(Value::Null);
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(sent.clone()).map_err(|_| failed())?;
    let passkey = rp
        .finish_passkey_registration(&credential, &ceremony.registration)
        .map_err(|e| {
            tracing::info!(reason = %e, "a passkey registration did not verify");
            failed()
        })?;
    let recorded =
        serde_json::to_value(&passkey).map_err(|e| AuthError::internal(&e.to_string()))?;
    let (counter, backup_eligible, backed_up) = credential_facts(&recorded);
    let credential_id: &[u8] = passkey.cred_id().as_ref();
    let at = iso(now());
    let public_key = sent["response"]["publicKey"]
        .as_str()
        .and_then(|k| {
            BASE64URL_NOPAD
                .decode(k.trim_end_matches('=').as_bytes())
                .ok()
        })
        .map(|k| BASE64.encode(&k))
        .unwrap_or_default();
    let transports = credential
        .response
        .transports
        .as_ref()
        .map(|list| {
            list.iter()
                .filter_map(|t| serde_json::to_value(t).ok())
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let stored = StoredPasskey {
        id: StoredPasskey::id_of(credential_id),
        user_id: user.user.id.clone(),
        name: name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
        credential_id: BASE64URL_NOPAD.encode(credential_id),
        public_key,
        counter,
        device_type: if backup_eligible {
            "multiDevice"
        } else {
            "singleDevice"
        }
        .into(),
        backed_up,
        transports,
        created_at: at.clone(),
        aaguid: aaguid(&sent),
        last_used_at: None,
        credential: recorded.to_string(),
    };
    let origin = Provenance::request(&state.app.config, &client).as_user(&user.user.id);
    let details =
        json!({ "passkeyId": stored.id, "name": stored.name, "deviceType": stored.device_type });
    let event = Event::now(
        &origin,
        "passkey.registered",
        Some(&user.user.id),
        Some(details),
    );
    if !state.app.db.passkeys().register(&stored, &event).await? {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "PREVIOUSLY_REGISTERED",
        ));
    }
    let mut response = json_response(&PasskeyView::from(&stored));
    append_cookies(
        &mut response,
        vec![state.app.cookies.expired(CHALLENGE_COOKIE)],
    );
    Ok(response)
}
