//! The keys JWTs are signed with (BetterAuth's jwt plugin's `jwks` table): one partition,
//! `JWKS`, one item per key (`KEY#<createdAt>#<id>`), the private half sealed with the auth
//! secret (never stored in the clear), the public half as the JWK `/jwks` publishes.

use serde::{Deserialize, Serialize};

use super::db::{Db, StoreError};
use super::item::{from_item, to_item};
use super::keys::{self, ItemKeys};
use super::table::{Query, is_new};

/// A signing key as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// The key's `kid`.
    pub id: String,
    /// `EdDSA` (or `RS256`).
    pub alg: String,
    pub crv: Option<String>,
    /// The public JWK (JSON).
    pub public_key: String,
    /// The private key, sealed (`Keyring::seal`).
    pub private_key: String,
    pub created_at: String,
    /// When it stops signing (rotation); it stays published a while after.
    #[serde(default)]
    pub expires_at: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SigningKeyItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    key: SigningKey,
}

pub struct SigningKeys<'a> {
    db: &'a Db,
}

impl Db {
    pub fn signing_keys(&self) -> SigningKeys<'_> {
        SigningKeys { db: self }
    }
}

impl SigningKeys<'_> {
    /// Every key, oldest first (one strongly consistent Query of a small partition).
    pub async fn all(&self) -> Result<Vec<SigningKey>, StoreError> {
        self.db
            .query_all(&Query::table(keys::SIGNING_KEYS))
            .await?
            .into_iter()
            .map(|item| from_item::<SigningKeyItem>(item).map(|i| i.key))
            .collect()
    }

    /// Stores a new key.
    pub async fn add(&self, key: &SigningKey) -> Result<(), StoreError> {
        let item = SigningKeyItem {
            keys: keys::signing_key_item(&key.created_at, &key.id),
            key: key.clone(),
        };
        let put = self.db.put(to_item(&item)?, Some(is_new()))?;
        self.db.commit(vec![put]).await?;
        Ok(())
    }
}
