//! What Portal's secrets look like. A session token is `<userId><32 random>` (64
//! alphanumerics); an API key is `<prefix><40 random letters><userId>` (at least 72
//! characters, so never mistaken for a session token). Each carries its user's id, so its
//! item and its user come back in one BatchGetItem; the table keeps only their hashes.

use portal_domain::crypto::{random_alphanumeric, random_letters, sha256_b64url, sha256_hex};
use portal_domain::keyring::Keyring;
use portal_domain::model::{Client, Session, User};
use portal_domain::store::sessions::session_for_token;

pub const SESSION_TOKEN_LEN: usize = 64;
const USER_ID_LEN: usize = 32;
const KEY_RANDOM_LEN: usize = 40;
pub const MIN_API_KEY_LEN: usize = KEY_RANDOM_LEN + USER_ID_LEN;
/// The prefix of a key made without one.
pub const DEFAULT_KEY_PREFIX: &str = "portal_";

/// A fresh session token for `user_id`.
pub fn new_session_token(user_id: &str) -> String {
    format!(
        "{user_id}{}",
        random_alphanumeric(SESSION_TOKEN_LEN - user_id.len().min(USER_ID_LEN))
    )
}

/// The user id a well-formed session token carries.
pub fn session_user_id(token: &str) -> Option<&str> {
    (token.len() == SESSION_TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| &token[..USER_ID_LEN])
}

/// The id a session is stored under: the first 32 hex characters of SHA-256(token).
pub fn session_id(token: &str) -> String {
    sha256_hex(token.as_bytes())[..32].to_string()
}

/// A new API key for `user_id` with `prefix`.
pub fn new_api_key(prefix: &str, user_id: &str) -> String {
    format!("{prefix}{}{user_id}", random_letters(KEY_RANDOM_LEN))
}

/// The user id a well-formed API key carries.
pub fn key_user_id(key: &str) -> Option<&str> {
    if key.len() < MIN_API_KEY_LEN || !key.is_ascii() {
        return None;
    }
    let user_id = &key[key.len() - USER_ID_LEN..];
    user_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then_some(user_id)
}

/// The id an API key is stored under: the first 32 hex characters of SHA-256(key).
pub fn key_id(key: &str) -> String {
    sha256_hex(key.as_bytes())[..32].to_string()
}

/// The hash an API key is checked against, as BetterAuth's api-key plugin stores `key`:
/// base64url SHA-256.
pub fn key_hash(key: &str) -> String {
    sha256_b64url(key.as_bytes())
}

/// The length of a session token BetterAuth made (`generateId(32)`): one brought over by
/// an import, found by its hashed id alone (its user is read after it).
pub const LEGACY_SESSION_TOKEN_LEN: usize = 32;

/// Whether `token` looks like a session token BetterAuth made.
pub fn is_legacy_session_token(token: &str) -> bool {
    token.len() == LEGACY_SESSION_TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The id a key BetterAuth made is stored under (see `store::api_keys::id_of_stored_hash`).
pub fn legacy_key_id(key: &str) -> String {
    portal_domain::store::api_keys::id_of_stored_hash(&key_hash(key))
}

/// A new session for `user` with a fresh token (not stored yet): the session and its
/// token.
pub fn new_session(
    keyring: &Keyring,
    user: &User,
    remember: bool,
    from: &Client,
    at: time::OffsetDateTime,
) -> (Session, String) {
    let token = new_session_token(&user.id);
    let session = session_for_token(
        keyring,
        user,
        session_id(&token),
        &token,
        remember,
        from,
        at,
    );
    (session, token)
}

/// How the store finds a credential's item and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The session's or key's id.
    pub id: String,
    pub user_id: String,
}

/// Where `token`'s session and user are (`None`: not a session token).
pub fn session_lookup(token: &str) -> Option<Lookup> {
    Some(Lookup {
        user_id: session_user_id(token)?.to_string(),
        id: session_id(token),
    })
}

/// Where `key`'s item and user are (`None`: not an API key).
pub fn key_lookup(key: &str) -> Option<Lookup> {
    Some(Lookup {
        user_id: key_user_id(key)?.to_string(),
        id: key_id(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_secret_carries_its_users_id_and_the_two_never_look_alike() {
        let user = "u".repeat(32);
        let token = new_session_token(&user);
        assert_eq!(session_user_id(&token), Some(user.as_str()));
        assert_eq!(key_user_id(&token), None, "64 characters is no key");
        let key = new_api_key(DEFAULT_KEY_PREFIX, &user);
        assert_eq!(key_user_id(&key), Some(user.as_str()));
        assert_eq!(session_user_id(&key), None);
        assert_eq!(session_id(&token).len(), 32);
        assert_ne!(session_id(&token), key_id(&key));
        assert_eq!(session_user_id("short"), None);
        assert_eq!(key_user_id(&"ä".repeat(40)), None);
    }
}
