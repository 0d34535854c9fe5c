//! One-time tokens (password reset; BetterAuth's one-time-token plugin's sign-in tokens):
//! stored as SHA-256 of the token, consumed by a conditional delete so a token works
//! exactly once even under concurrent use. A sign-in token is hashed with its kind in
//! front, so neither kind of token can be spent as the other.

use serde::{Deserialize, Serialize};

use super::db::{Db, StoreError};
use super::item::{from_item, to_item};
use super::keys;
use super::keys::ItemKeys;
use crate::crypto::sha256_hex;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneTimeToken {
    #[serde(flatten)]
    keys: ItemKeys,
    pub kind: String,
    pub user_id: String,
    pub expires_at: String,
    pub created_at: String,
    ttl: i64,
    /// The user's reset-token generation when it was issued; older than the user's: void.
    #[serde(default)]
    pub generation: i64,
    /// A sign-in token's session (its id: the session's token is a secret).
    #[serde(default)]
    pub session_id: Option<String>,
    /// A ceremony's state (a passkey challenge: what the WebAuthn library needs to finish
    /// it), as it wrote it.
    #[serde(default)]
    pub payload: Option<String>,
}

/// What the key of a token of `kind` is hashed from: the kind in front, so no kind of token
/// can be spent as another.
fn kind_key(kind: &str, token: &str) -> String {
    sha256_hex(format!("{kind}:{token}").as_bytes())
}

/// What a sign-in token's key is hashed from.
fn session_token_key(token: &str) -> String {
    kind_key(SESSION_TOKEN, token)
}

/// The kind of a sign-in token (the plugin's `one-time-token:` identifier).
pub const SESSION_TOKEN: &str = "one-time-token";

pub struct Tokens<'a> {
    db: &'a Db,
}

impl Db {
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens { db: self }
    }
}

impl Tokens<'_> {
    pub async fn issue(
        &self,
        token: &str,
        kind: &str,
        user: &crate::model::User,
        created_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        let user_id = user.id.as_str();
        let item = OneTimeToken {
            keys: keys::one_time_token_item(&sha256_hex(token.as_bytes()), user_id, created_at),
            kind: kind.into(),
            user_id: user_id.into(),
            expires_at: expires_at.into(),
            created_at: created_at.into(),
            ttl: crate::time::parse_iso(expires_at).map_or(0, |t| t.unix_timestamp()),
            generation: user.generations.reset_tokens,
            session_id: None,
            payload: None,
        };
        self.db.put_item(to_item(&item)?).await
    }

    /// Stores a sign-in token for `session`, good until `expires_at`.
    pub async fn issue_for_session(
        &self,
        token: &str,
        session: &crate::model::Session,
        created_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        let item = OneTimeToken {
            keys: keys::one_time_token_item(
                &session_token_key(token),
                &session.user_id,
                created_at,
            ),
            kind: SESSION_TOKEN.into(),
            user_id: session.user_id.clone(),
            expires_at: expires_at.into(),
            created_at: created_at.into(),
            ttl: crate::time::parse_iso(expires_at).map_or(0, |t| t.unix_timestamp()),
            generation: 0,
            session_id: Some(session.id.clone()),
            payload: None,
        };
        self.db.put_item(to_item(&item)?).await
    }

    /// Takes a sign-in token (deleting it): what it was for, if it existed.
    pub async fn consume_for_session(
        &self,
        token: &str,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        self.db
            .take(keys::one_time_token(&session_token_key(token)))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Stores a ceremony of `kind` in progress under `token` (held by the browser that
    /// asked), with its `state`, for `user_id` when one is signed in; gone by `expires_at`.
    pub async fn issue_ceremony(
        &self,
        kind: &str,
        token: &str,
        user_id: Option<&str>,
        state: String,
        created_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        let key = keys::one_time_token(&kind_key(kind, token));
        let item = OneTimeToken {
            keys: match user_id {
                Some(user_id) => {
                    keys::one_time_token_item(&kind_key(kind, token), user_id, created_at)
                }
                None => keys::plain_item(key),
            },
            kind: kind.into(),
            user_id: user_id.unwrap_or_default().into(),
            expires_at: expires_at.into(),
            created_at: created_at.into(),
            ttl: crate::time::parse_iso(expires_at).map_or(0, |t| t.unix_timestamp()),
            generation: 0,
            session_id: None,
            payload: Some(state),
        };
        self.db.put_item(to_item(&item)?).await
    }

    /// Takes a ceremony of `kind` (deleting it: it is finished once, at most): what it was,
    /// if it existed. Its expiry is the caller's to check (TTL deletes late).
    pub async fn consume_ceremony(
        &self,
        kind: &str,
        token: &str,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        self.db
            .take(keys::one_time_token(&kind_key(kind, token)))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Takes the token (deleting it) and returns what it was for, if it existed.
    pub async fn consume(&self, token: &str) -> Result<Option<OneTimeToken>, StoreError> {
        self.db
            .take(keys::one_time_token(&sha256_hex(token.as_bytes())))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Whether the token exists (without taking it).
    pub async fn peek(&self, token: &str) -> Result<Option<OneTimeToken>, StoreError> {
        self.db
            .get_item(keys::one_time_token(&sha256_hex(token.as_bytes())))
            .await?
            .map(from_item)
            .transpose()
    }
}
