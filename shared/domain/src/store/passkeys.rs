//! Passkeys (BetterAuth's passkey plugin): one item per credential, keyed by a hash of its
//! credential id, so the item IS the claim that a credential belongs to one user (written
//! with `attribute_not_exists`), and a sign-in finds it with one strongly consistent
//! GetItem. A user's passkeys are listed through GSI1.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::db::{Db, StoreError};
use super::item::{from_item, n, s, to_item};
use super::keys::{self, ItemKeys};
use super::table::{Committed, Expression, exists, is_new};
use crate::crypto::sha256_hex;
use crate::model::Session;

/// A passkey as stored, with BetterAuth's fields (what `list-user-passkeys` shows) and the
/// WebAuthn library's own record of the credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Passkey {
    /// The first 32 hex characters of SHA-256 of the credential id.
    pub id: String,
    pub user_id: String,
    pub name: Option<String>,
    /// base64url, as browsers send it.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The credential's COSE public key, base64 (as BetterAuth stores it).
    pub public_key: String,
    pub counter: i64,
    /// `singleDevice` or `multiDevice` (backup eligible).
    pub device_type: String,
    pub backed_up: bool,
    /// Comma list (`internal,hybrid`).
    pub transports: String,
    pub created_at: String,
    pub aaguid: Option<String>,
    #[serde(default)]
    pub last_used_at: Option<String>,
    /// The WebAuthn library's record of the credential (JSON): what a sign-in verifies with.
    pub credential: String,
}

impl Passkey {
    /// The id of the passkey whose credential id is `credential_id` (raw bytes).
    pub fn id_of(credential_id: &[u8]) -> String {
        sha256_hex(credential_id)[..32].to_string()
    }
}

#[derive(Serialize, Deserialize)]
struct PasskeyItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    passkey: Passkey,
}

impl PasskeyItem {
    fn of(passkey: &Passkey) -> Self {
        Self {
            keys: keys::passkey_item(&passkey.id, &passkey.user_id, &passkey.created_at),
            passkey: passkey.clone(),
        }
    }
}

fn passkey_from_item(item: super::item::Item) -> Result<Passkey, StoreError> {
    from_item::<PasskeyItem>(item).map(|i| i.passkey)
}

/// The guard of a write to a passkey of `owner`'s.
fn owned_by(owner: &str) -> Expression {
    exists().and(
        Expression::new("#userId = :owner")
            .name("#userId", "userId")
            .value(":owner", s(owner)),
    )
}

pub struct Passkeys<'a> {
    db: &'a Db,
}

impl Db {
    pub fn passkeys(&self) -> Passkeys<'_> {
        Passkeys { db: self }
    }
}

impl Passkeys<'_> {
    /// Stores a new passkey with its audit event, unless its credential is anyone's
    /// already (`Ok(false)`).
    pub async fn register(&self, passkey: &Passkey, audit: &Event) -> Result<bool, StoreError> {
        let db = self.db;
        let items = vec![
            db.put(to_item(&PasskeyItem::of(passkey))?, Some(is_new()))?,
            db.audit_write(audit)?,
        ];
        Ok(matches!(db.commit(items).await?, Committed::Yes))
    }

    pub async fn get(&self, id: &str) -> Result<Option<Passkey>, StoreError> {
        self.db
            .get_item(keys::passkey(id))
            .await?
            .map(passkey_from_item)
            .transpose()
    }

    /// A user's passkeys, oldest first.
    pub async fn of_user(&self, user_id: &str) -> Result<Vec<Passkey>, StoreError> {
        let mut found: Vec<Passkey> = self
            .db
            .query_index(super::schema::GSI1, &keys::passkeys_of(user_id))
            .await?
            .into_iter()
            .map(passkey_from_item)
            .collect::<Result<_, _>>()?;
        found.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(found)
    }

    /// Renames `owner`'s passkey `id`: the renamed passkey, `None` when it is not theirs
    /// (or not there).
    pub async fn rename(
        &self,
        id: &str,
        owner: &str,
        name: &str,
        audit: &Event,
    ) -> Result<Option<Passkey>, StoreError> {
        let db = self.db;
        let update = Expression::new("SET #name = :name")
            .name("#name", "name")
            .value(":name", s(name));
        let items = vec![
            db.update(keys::passkey(id), update, Some(owned_by(owner)))?,
            db.audit_write(audit)?,
        ];
        match db.commit(items).await? {
            Committed::Yes => self.get(id).await,
            Committed::ConditionFailed(_) => Ok(None),
        }
    }

    /// Deletes `owner`'s passkey `id` with its audit event: false when it is not theirs.
    pub async fn delete(&self, id: &str, owner: &str, audit: &Event) -> Result<bool, StoreError> {
        let db = self.db;
        let items = vec![
            db.delete(keys::passkey(id), Some(owned_by(owner)))?,
            db.audit_write(audit)?,
        ];
        Ok(matches!(db.commit(items).await?, Committed::Yes))
    }

    /// A sign-in with `used` (the passkey as read, `after` its use: counter, backup state,
    /// last use): the passkey's new state and the new session, with the audit event, in ONE
    /// transaction, only if the passkey is still as read. `Ok(false)`: it was used or
    /// removed meanwhile (a replay racing the first use loses here).
    pub async fn sign_in(
        &self,
        used: &Passkey,
        after: &Passkey,
        session: &Session,
        audit: &Event,
    ) -> Result<bool, StoreError> {
        let db = self.db;
        let as_read = owned_by(&used.user_id).and(
            Expression::new("#counter = :counter AND #credential = :credential")
                .name("#counter", "counter")
                .value(":counter", n(used.counter))
                .name("#credential", "credential")
                .value(":credential", s(&used.credential)),
        );
        let mut items = vec![db.put(to_item(&PasskeyItem::of(after))?, Some(as_read))?];
        items.extend(db.session_items(session)?);
        items.push(db.audit_write(audit)?);
        Ok(matches!(db.commit(items).await?, Committed::Yes))
    }
}

impl Db {
    /// The write of a passkey brought over from another store (an import), only where its
    /// credential is nobody's yet.
    pub(crate) fn passkey_put(&self, passkey: &Passkey) -> Result<TransactWriteItem, StoreError> {
        self.put(to_item(&PasskeyItem::of(passkey))?, Some(is_new()))
    }
}
