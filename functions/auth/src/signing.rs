//! The keys Portal signs JWTs with (the jwt plugin's `/token`, the OpenID Connect
//! provider's ID tokens and JWT access tokens), kept in the table with the private half
//! sealed with the auth secret: Ed25519 (`EdDSA`, the plugin's default) and RSA 2048
//! (`RS256`, what OpenID Connect requires every provider to offer).
//!
//! Rotation (`SigningKey::stops_signing`): a key signs for 30 days after it is made (or
//! until an operator retires it, `portal-admin rotate-signing-keys`); then a new one is made
//! on first use, and the old one stays published two more days, longer than any token it
//! signed lives, so every token still in use verifies against `/jwks`.

use data_encoding::BASE64URL_NOPAD;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};
use portal_domain::store::signing_keys::SigningKey;
use portal_domain::time::{iso, now};
use serde_json::{Map, Value, json};

use crate::error::{AuthError, AuthResult};
use crate::state::AuthState;

/// A signature algorithm Portal signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    EdDsa,
    Rs256,
}

impl Alg {
    pub fn name(self) -> &'static str {
        match self {
            Alg::EdDsa => "EdDSA",
            Alg::Rs256 => "RS256",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "EdDSA" => Some(Alg::EdDsa),
            "RS256" => Some(Alg::Rs256),
            _ => None,
        }
    }

    /// Every algorithm, the default (the plugin's) first.
    pub const ALL: [Alg; 2] = [Alg::EdDsa, Alg::Rs256];
}

fn failed(what: impl ToString) -> AuthError {
    AuthError::internal(&what.to_string())
}

fn b64(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// A new key of `alg`: the public JWK, and the private key sealed.
fn new_key(state: &AuthState, alg: Alg) -> AuthResult<SigningKey> {
    let (jwk, private, crv) = match alg {
        Alg::EdDsa => {
            let key = PKey::generate_ed25519().map_err(failed)?;
            let public = key.raw_public_key().map_err(failed)?;
            let private = key.raw_private_key().map_err(failed)?;
            (
                json!({ "crv": "Ed25519", "x": b64(&public), "kty": "OKP" }),
                private,
                Some("Ed25519".to_string()),
            )
        }
        Alg::Rs256 => {
            let rsa = Rsa::generate(2048).map_err(failed)?;
            let jwk = json!({
                "kty": "RSA",
                "n": b64(&rsa.n().to_vec()),
                "e": b64(&rsa.e().to_vec()),
            });
            let key = PKey::from_rsa(rsa).map_err(failed)?;
            let private = key.private_key_to_pkcs8().map_err(failed)?;
            (jwk, private, None)
        }
    };
    Ok(SigningKey {
        id: portal_domain::crypto::random_alphanumeric(32),
        alg: alg.name().into(),
        crv,
        public_key: jwk.to_string(),
        private_key: state.app.keyring.seal(&b64(&private)),
        created_at: iso(now()),
        expires_at: None,
    })
}

/// Every key in the table, one EdDSA key made first if there is none.
pub async fn all_keys(state: &AuthState) -> AuthResult<Vec<SigningKey>> {
    let store = state.app.db.signing_keys();
    let mut all = store.all().await?;
    if all.is_empty() {
        let made = new_key(state, Alg::EdDsa)?;
        store.add(&made).await?;
        all.push(made);
    }
    Ok(all)
}

/// The keys `/jwks` publishes: those signing, and those that stopped signing recently.
pub fn published(all: &[SigningKey]) -> Vec<Value> {
    let at = now();
    all.iter()
        .filter(|k| k.published_at(at))
        .map(public_jwk)
        .collect()
}

/// A key as `/jwks` publishes it (never a private part).
fn public_jwk(key: &SigningKey) -> Value {
    let mut jwk: Map<String, Value> = serde_json::from_str(&key.public_key).unwrap_or_default();
    jwk.insert("alg".into(), json!(key.alg));
    if let Some(crv) = &key.crv {
        jwk.insert("crv".into(), json!(crv));
    }
    jwk.insert("kid".into(), json!(key.id));
    Value::Object(jwk)
}

/// The key signing with `alg` now (the newest still signing), made (and added to `all`)
/// if there is none.
async fn signing_key(
    state: &AuthState,
    all: &mut Vec<SigningKey>,
    alg: Alg,
) -> AuthResult<SigningKey> {
    let at = now();
    let current = all
        .iter()
        .filter(|k| k.alg == alg.name() && k.signs_at(at))
        .max_by(|a, b| a.created_at.cmp(&b.created_at));
    match current {
        Some(key) => Ok(key.clone()),
        None => {
            let made = new_key(state, alg)?;
            state.app.db.signing_keys().add(&made).await?;
            all.push(made.clone());
            Ok(made)
        }
    }
}

fn private_key(state: &AuthState, key: &SigningKey) -> AuthResult<PKey<Private>> {
    let raw = state
        .app
        .keyring
        .open(&key.private_key)
        .and_then(|raw| BASE64URL_NOPAD.decode(raw.as_bytes()).ok())
        .ok_or_else(|| failed("a signing key does not open with the auth secret"))?;
    match Alg::parse(&key.alg) {
        Some(Alg::EdDsa) => PKey::private_key_from_raw_bytes(&raw, Id::ED25519).map_err(failed),
        Some(Alg::Rs256) => PKey::private_key_from_pkcs8(&raw).map_err(failed),
        None => Err(failed("a signing key of an unknown algorithm")),
    }
}

/// `claims` signed with the current key of `alg`: a compact JWS (`{alg, kid}` header).
pub async fn sign(state: &AuthState, alg: Alg, claims: &Map<String, Value>) -> AuthResult<String> {
    let mut all = all_keys(state).await?;
    sign_with(state, &mut all, alg, claims).await
}

/// [`sign`] with the keys read already (several tokens of one request, one read).
pub async fn sign_with(
    state: &AuthState,
    all: &mut Vec<SigningKey>,
    alg: Alg,
    claims: &Map<String, Value>,
) -> AuthResult<String> {
    let key = signing_key(state, all, alg).await?;
    let private = private_key(state, &key)?;
    let header = json!({ "alg": alg.name(), "kid": key.id });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(Value::Object(claims.clone()).to_string().as_bytes())
    );
    let signature = match alg {
        Alg::EdDsa => Signer::new_without_digest(&private)
            .and_then(|mut s| s.sign_oneshot_to_vec(input.as_bytes())),
        Alg::Rs256 => Signer::new(MessageDigest::sha256(), &private)
            .and_then(|mut s| s.sign_oneshot_to_vec(input.as_bytes())),
    }
    .map_err(failed)?;
    Ok(format!("{input}.{}", b64(&signature)))
}

fn public_key(key: &SigningKey) -> Option<PKey<Public>> {
    let jwk: Map<String, Value> = serde_json::from_str(&key.public_key).ok()?;
    let field = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|v| BASE64URL_NOPAD.decode(v.as_bytes()).ok())
    };
    match Alg::parse(&key.alg)? {
        Alg::EdDsa => PKey::public_key_from_raw_bytes(&field("x")?, Id::ED25519).ok(),
        Alg::Rs256 => {
            let n = BigNum::from_slice(&field("n")?).ok()?;
            let e = BigNum::from_slice(&field("e")?).ok()?;
            PKey::from_rsa(Rsa::from_public_components(n, e).ok()?).ok()
        }
    }
}

/// The header and the claims of a compact JWS, unverified (to find which key, or which
/// record, it names).
pub fn peek(token: &str) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut parts = token.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode = |part: &str| -> Option<Map<String, Value>> {
        serde_json::from_slice(&BASE64URL_NOPAD.decode(part.as_bytes()).ok()?).ok()
    };
    Some((decode(header)?, decode(payload)?))
}

/// The claims of `token` when one of `keys` signed it: the key is found by `kid` and its
/// own algorithm decides (the header must name the same one: never `none`, never HS256
/// over a public key). Expiry is the caller's to check.
pub fn verify(keys: &[SigningKey], token: &str) -> Option<Map<String, Value>> {
    let (header, claims) = peek(token)?;
    let kid = header.get("kid").and_then(Value::as_str)?;
    let alg = header.get("alg").and_then(Value::as_str)?;
    let key = keys.iter().find(|k| k.id == kid && k.alg == alg)?;
    let public = public_key(key)?;
    let (input, signature) = token.rsplit_once('.')?;
    let signature = BASE64URL_NOPAD.decode(signature.as_bytes()).ok()?;
    let good = match Alg::parse(alg)? {
        Alg::EdDsa => Verifier::new_without_digest(&public)
            .and_then(|mut v| v.verify_oneshot(&signature, input.as_bytes())),
        Alg::Rs256 => Verifier::new(MessageDigest::sha256(), &public)
            .and_then(|mut v| v.verify_oneshot(&signature, input.as_bytes())),
    }
    .ok()?;
    good.then_some(claims)
}
