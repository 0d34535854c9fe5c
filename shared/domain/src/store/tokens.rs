//! One-time tokens (password reset): stored as SHA-256 of the token, consumed by a
//! conditional delete so a token works exactly once even under concurrent use.

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
}

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
        };
        self.db.put_item(to_item(&item)?).await
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
