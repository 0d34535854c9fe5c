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

/// How long a key signs.
pub const SIGNS_FOR: time::Duration = time::Duration::days(30);
/// How long a key that stopped signing stays published (the longest token it signs, an ID
/// token, lives 10 hours).
pub const PUBLISHED_AFTER: time::Duration = time::Duration::days(2);

impl SigningKey {
    /// When it stops signing: [`SIGNS_FOR`] after it was made, or when an operator
    /// retired it if sooner.
    pub fn stops_signing(&self) -> Option<time::OffsetDateTime> {
        let made = crate::time::parse_iso(&self.created_at)?;
        let natural = made + SIGNS_FOR;
        Some(
            match self.expires_at.as_deref().and_then(crate::time::parse_iso) {
                Some(retired) if retired < natural => retired,
                _ => natural,
            },
        )
    }

    pub fn signs_at(&self, at: time::OffsetDateTime) -> bool {
        self.stops_signing().is_some_and(|stop| stop > at)
    }

    /// Still in `/jwks` at `at`: signing, or stopped less than [`PUBLISHED_AFTER`] ago.
    pub fn published_at(&self, at: time::OffsetDateTime) -> bool {
        self.stops_signing()
            .is_none_or(|stop| stop + PUBLISHED_AFTER > at)
    }
}

impl SigningKeys<'_> {
    /// An operator's rotation: every key signing now stops; the next token is signed with
    /// a new key, and the retired ones stay published for [`PUBLISHED_AFTER`]. How many it
    /// retired.
    pub async fn rotate(&self) -> Result<usize, StoreError> {
        let at = crate::time::now();
        let mut retired = 0;
        for key in self.all().await? {
            if key.signs_at(at) && self.retire(&key, &crate::time::iso(at)).await? {
                retired += 1;
            }
        }
        Ok(retired)
    }

    /// Stops a key signing from `at` (it stays published a while: tokens it signed are
    /// still verified). False when it had stopped already.
    pub async fn retire(&self, key: &SigningKey, at: &str) -> Result<bool, StoreError> {
        let item_keys = keys::signing_key_item(&key.created_at, &key.id);
        let update = super::table::Expression::new("SET #expiresAt = :at")
            .name("#expiresAt", "expiresAt")
            .value(":at", super::item::s(at));
        let condition = super::table::exists().and(
            super::table::Expression::new(
                "attribute_not_exists(#expiresAt) OR attribute_type(#expiresAt, :null) OR #expiresAt > :at",
            )
            .name("#expiresAt", "expiresAt")
            .value(
                ":null",
                aws_sdk_dynamodb::types::AttributeValue::S("NULL".into()),
            ),
        );
        self.db
            .update_if((item_keys.pk, item_keys.sk), update, condition)
            .await
    }
}
