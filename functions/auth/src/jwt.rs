//! BetterAuth's jwt plugin as Portal enables it (`jwt({ disableSettingJwtHeader: true })`,
//! the plugin's defaults otherwise): `GET /jwks`, the public keys, and `GET /token`, a
//! 15-minute JWT of the signed-in user (EdDSA over Ed25519; issuer and audience the base
//! URL) for services that cannot use the session. The first key is made on first use; its
//! private half is kept sealed with the auth secret. No `set-auth-jwt` header on
//! get-session (Portal turns it off).

use axum::extract::State;
use axum::response::Response;
use data_encoding::BASE64URL_NOPAD;
use openssl::pkey::{Id, PKey};
use openssl::sign::Signer;
use portal_domain::store::signing_keys::SigningKey;
use portal_domain::time::{iso, now};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{AuthError, AuthResult};
use crate::extract::SessionUser;
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

fn failed(what: &str) -> AuthError {
    AuthError::internal(what)
}

/// A new Ed25519 key: the public JWK, and the private key's raw bytes sealed.
fn new_key(state: &AuthState) -> AuthResult<SigningKey> {
    let key = PKey::generate_ed25519().map_err(|e| failed(&e.to_string()))?;
    let public = key.raw_public_key().map_err(|e| failed(&e.to_string()))?;
    let private = key.raw_private_key().map_err(|e| failed(&e.to_string()))?;
    let jwk = json!({ "crv": "Ed25519", "x": BASE64URL_NOPAD.encode(&public), "kty": "OKP" });
    Ok(SigningKey {
        id: portal_domain::crypto::random_alphanumeric(32),
        alg: "EdDSA".into(),
        crv: Some("Ed25519".into()),
        public_key: jwk.to_string(),
        private_key: state.app.keyring.seal(&BASE64URL_NOPAD.encode(&private)),
        created_at: iso(now()),
        expires_at: None,
    })
}

/// Every key, one made first if there is none.
async fn keys(state: &AuthState) -> AuthResult<Vec<SigningKey>> {
    let store = state.app.db.signing_keys();
    let mut all = store.all().await?;
    if all.is_empty() {
        let made = new_key(state)?;
        store.add(&made).await?;
        all.push(made);
    }
    Ok(all)
}

/// A key as `/jwks` publishes it.
fn published(key: &SigningKey) -> Value {
    let mut jwk: serde_json::Map<String, Value> =
        serde_json::from_str(&key.public_key).unwrap_or_default();
    jwk.insert("alg".into(), json!(key.alg));
    if let Some(crv) = &key.crv {
        jwk.insert("crv".into(), json!(crv));
    }
    jwk.insert("kid".into(), json!(key.id));
    Value::Object(jwk)
}

/// `GET /jwks`: the public keys tokens are signed with (`{keys: [JWK]}`).
#[utoipa::path(
    get, path = "/jwks",
    responses((status = 200, description = "The JSON Web Key Set", body = JwkSet))
)]
pub async fn jwks(State(state): State<AuthState>) -> AuthResult<Response> {
    let all = keys(&state).await?;
    Ok(json_response(&JwkSet {
        keys: all.iter().map(published).collect(),
    }))
}

/// The signing key: the newest EdDSA key still signing.
fn current(all: &[SigningKey]) -> Option<&SigningKey> {
    let at = iso(now());
    all.iter()
        .filter(|k| k.alg == "EdDSA" && k.expires_at.as_deref().is_none_or(|e| e > at.as_str()))
        .max_by(|a, b| a.created_at.cmp(&b.created_at))
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
    let all = keys(&state).await?;
    let key = match current(&all) {
        Some(key) => key.clone(),
        None => {
            let made = new_key(&state)?;
            state.app.db.signing_keys().add(&made).await?;
            made
        }
    };
    let private = state
        .app
        .keyring
        .open(&key.private_key)
        .and_then(|raw| BASE64URL_NOPAD.decode(raw.as_bytes()).ok())
        .ok_or_else(|| failed("a signing key does not open with the auth secret"))?;
    let signer_key = PKey::private_key_from_raw_bytes(&private, Id::ED25519)
        .map_err(|e| failed(&e.to_string()))?;
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
    let header = json!({ "alg": "EdDSA", "kid": key.id });
    let signing_input = format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
        BASE64URL_NOPAD.encode(Value::Object(claims).to_string().as_bytes())
    );
    let signature = Signer::new_without_digest(&signer_key)
        .and_then(|mut s| s.sign_oneshot_to_vec(signing_input.as_bytes()))
        .map_err(|e| failed(&e.to_string()))?;
    Ok(json_response(&TokenBody {
        token: format!("{signing_input}.{}", BASE64URL_NOPAD.encode(&signature)),
    }))
}
