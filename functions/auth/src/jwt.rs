//! BetterAuth's jwt plugin as Portal enables it (`jwt({ disableSettingJwtHeader: true })`,
//! the plugin's defaults otherwise): `GET /jwks`, the public keys, and `GET /token`, a
//! 15-minute JWT of the signed-in user (EdDSA over Ed25519; issuer and audience the base
//! URL) for services that cannot use the session. The first key is made on first use; its
//! private half is kept sealed with the auth secret. No `set-auth-jwt` header on
//! get-session (Portal turns it off).

use axum::extract::State;
use axum::response::Response;
use portal_domain::time::now;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::AuthResult;
use crate::extract::SessionUser;
use crate::signing::{self, Alg};
use crate::state::AuthState;
use crate::views::json_response;
use crate::wire::AuthUser;

/// How long a token is good for (the plugin's `expirationTime`, "15m").
const LIFETIME_SECS: i64 = 15 * 60;

/// `{token}`.
#[derive(Serialize, ToSchema)]
pub struct TokenBody {
    pub token: String,
}

/// `{keys}`: the JSON Web Key Set (each key `{alg, crv, kty, x, kid}`, never a private part).
#[derive(Serialize, ToSchema)]
pub struct JwkSet {
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<Value>,
}

/// `GET /jwks`: the public keys tokens are signed with (`{keys: [JWK]}`).
#[utoipa::path(
    get, path = "/jwks",
    responses((status = 200, description = "The JSON Web Key Set", body = JwkSet))
)]
pub async fn jwks(State(state): State<AuthState>) -> AuthResult<Response> {
    let all = signing::all_keys(&state).await?;
    let mut response = json_response(&JwkSet {
        keys: signing::published(&all),
    });
    // Relying parties cache it briefly; a rotation shows within the minute.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=60"),
    );
    Ok(response)
}

/// `GET /token`: a JWT of the caller (the user as get-session shows them, `sub` their id),
/// good for 15 minutes.
#[utoipa::path(
    get, path = "/token", security(("signedIn" = [])),
    responses(
        (status = 200, description = "`{token}`: an EdDSA JWT verifiable with `/jwks`", body = TokenBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn token(State(state): State<AuthState>, user: SessionUser) -> AuthResult<Response> {
    let base = state
        .auth
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let issued = now().unix_timestamp();
    let mut claims = match serde_json::to_value(AuthUser::from(&user.user)) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    claims.insert("iat".into(), json!(issued));
    claims.insert("sub".into(), json!(user.user.id));
    claims.insert("exp".into(), json!(issued + LIFETIME_SECS));
    claims.insert("iss".into(), json!(base));
    claims.insert("aud".into(), json!(base));
    let token = signing::sign(&state, Alg::EdDsa, &claims).await?;
    Ok(json_response(&TokenBody { token }))
}
