//! Integration accounts. An account is reserved (status `provisioning`) together with two
//! claims in one transaction: one account per user per integration, and one username per
//! integration, so racing creates have exactly one winner. It becomes `active` once the
//! service has it, and its reservation is released if the service refuses it.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::audit::{Event, Origin};
use super::item::{from_item, s, to_item};
use super::keys::ItemKeys;
use super::table::{Committed, Expression, exists, is_new};
use super::{Db, StoreError, keys, schema};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub user_id: String,
    pub integration_id: String,
    /// The name unique within the integration.
    pub username: String,
    pub data: Value,
    /// `provisioning`, `active` or `suspended`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct AccountItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    account: Account,
}

impl AccountItem {
    fn new(account: Account) -> Self {
        Self {
            keys: keys::integration_account_item(
                &account.id,
                &account.user_id,
                &account.integration_id,
                &account.created_at,
            ),
            account,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error("the user already has an account on this integration")]
    AlreadyHasOne,
    #[error("username taken")]
    UsernameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Account {
    /// The audit event of something done to this account: which one (integration,
    /// username), never its password; `extra` adds detail (`{"passwordChanged": true}`).
    pub fn audit_event(&self, origin: &Origin, action: &str, extra: Option<Value>) -> Event {
        let mut details = serde_json::json!({
            "accountId": self.id,
            "integration": self.integration_id,
            "username": self.username,
        });
        if let (Some(Value::Object(more)), Value::Object(all)) = (extra, &mut details) {
            all.extend(more);
        }
        Event::now(origin, action, Some(&self.user_id), Some(details))
    }
}

pub struct Accounts<'a> {
    db: &'a Db,
}

impl Db {
    pub fn integration_accounts(&self) -> Accounts<'_> {
        Accounts { db: self }
    }
}

fn claim_items(
    db: &Db,
    account: &Account,
) -> Result<(TransactWriteItem, TransactWriteItem), StoreError> {
    let owner = keys::integration_claim_of_user(&account.user_id, &account.integration_id);
    let name = keys::integration_username(&account.integration_id, &account.username);
    let claim = |key: (String, String)| {
        let mut item = serde_json::to_value(keys::plain_item(key)).unwrap_or_default();
        item["accountId"] = json!(account.id);
        item["userId"] = json!(account.user_id);
        item
    };
    Ok((
        db.put(to_item(&claim(owner))?, Some(is_new()))?,
        db.put(to_item(&claim(name))?, Some(is_new()))?,
    ))
}

impl Accounts<'_> {
    /// Writes the account (status `provisioning`) and both claims, or nothing.
    pub async fn reserve(&self, account: &Account) -> Result<(), ReserveError> {
        let db = self.db;
        let (owner, name) = claim_items(db, account)?;
        let items = vec![
            db.put(to_item(&AccountItem::new(account.clone()))?, Some(is_new()))?,
            owner,
            name,
        ];
        match db.commit(items).await? {
            Committed::Yes => Ok(()),
            Committed::ConditionFailed(failed) if failed.contains(&1) => {
                Err(ReserveError::AlreadyHasOne)
            }
            Committed::ConditionFailed(failed) if failed.contains(&2) => {
                Err(ReserveError::UsernameTaken)
            }
            Committed::ConditionFailed(_) => Err(ReserveError::Store(StoreError::Dynamo(
                "an account with this id exists already".into(),
            ))),
        }
    }

    /// Removes the account and its claims (a failed create, or a delete).
    pub async fn release(
        &self,
        account: &Account,
        audit: Option<&Event>,
    ) -> Result<(), StoreError> {
        let db = self.db;
        let mut items = vec![
            db.delete(keys::integration_account(&account.id), None)?,
            db.delete(
                keys::integration_claim_of_user(&account.user_id, &account.integration_id),
                None,
            )?,
            db.delete(
                keys::integration_username(&account.integration_id, &account.username),
                None,
            )?,
        ];
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        match db.commit(items).await? {
            Committed::Yes => Ok(()),
            // Only the record can refuse: nothing was removed.
            Committed::ConditionFailed(_) => Err(StoreError::Dynamo(
                "the account's removal could not be recorded".into(),
            )),
        }
    }

    /// Marks a reserved account `active`; `None` when the reservation is gone.
    pub async fn activate(
        &self,
        account: &Account,
        now: &str,
        audit: Option<&Event>,
    ) -> Result<Option<Account>, StoreError> {
        let update = Expression::new("SET #status = :active, #updatedAt = :now")
            .name("#updatedAt", "updatedAt")
            .value(":active", s("active"))
            .value(":now", s(now));
        let reserved = exists().and(
            Expression::new("#status = :provisioning")
                .name("#status", "status")
                .value(":provisioning", s("provisioning")),
        );
        let key = keys::integration_account(&account.id);
        let mut items = vec![self.db.update(key, update, Some(reserved))?];
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        if !self.db.commit(items).await?.is_yes() {
            return Ok(None);
        }
        let mut active = account.clone();
        active.status = "active".into();
        active.updated_at = now.to_string();
        Ok(Some(active))
    }

    /// The account holding a user's claim on an integration, if any.
    pub async fn holder_of_user_claim(
        &self,
        user_id: &str,
        integration: &str,
    ) -> Result<Option<Account>, StoreError> {
        self.holder(keys::integration_claim_of_user(user_id, integration))
            .await
    }

    /// The account holding a username on an integration, if any.
    pub async fn holder_of_username(
        &self,
        integration: &str,
        username: &str,
    ) -> Result<Option<Account>, StoreError> {
        self.holder(keys::integration_username(integration, username))
            .await
    }

    async fn holder(&self, claim: (String, String)) -> Result<Option<Account>, StoreError> {
        let Some(item) = self.db.get_item(claim).await? else {
            return Ok(None);
        };
        match item.get("accountId").and_then(|v| v.as_s().ok()) {
            Some(id) => self.get(id).await,
            None => Ok(None),
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<Account>, StoreError> {
        self.db
            .get_item(keys::integration_account(id))
            .await?
            .map(|i| from_item::<AccountItem>(i).map(|i| i.account))
            .transpose()
    }

    /// Stores `new` over `old` as read. False when it changed or went meanwhile.
    pub async fn save(
        &self,
        old: &Account,
        new: &Account,
        audit: Option<&Event>,
    ) -> Result<bool, StoreError> {
        let unchanged = exists().and(
            Expression::new("#updatedAt = :updatedAt")
                .name("#updatedAt", "updatedAt")
                .value(":updatedAt", s(&old.updated_at)),
        );
        let mut items = vec![
            self.db
                .put(to_item(&AccountItem::new(new.clone()))?, Some(unchanged))?,
        ];
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        Ok(self.db.commit(items).await?.is_yes())
    }

    /// A user's accounts on one integration, newest first (reservations in progress left out).
    pub async fn list_for_user(
        &self,
        user_id: &str,
        integration: &str,
    ) -> Result<Vec<Account>, StoreError> {
        let items = self
            .db
            .query_index(
                schema::GSI1,
                &keys::integration_accounts_of(user_id, integration),
            )
            .await?;
        let accounts = items
            .into_iter()
            .map(|i| from_item::<AccountItem>(i).map(|i| i.account))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(accounts
            .into_iter()
            .filter(|a| a.status != "provisioning")
            .collect())
    }

    /// Every account of a user, on every integration (for deleting the user).
    pub async fn all_of_user(&self, user_id: &str) -> Result<Vec<Account>, StoreError> {
        self.db
            .query_index(schema::GSI2, &keys::all_integration_accounts_of(user_id))
            .await?
            .into_iter()
            .map(|i| from_item::<AccountItem>(i).map(|i| i.account))
            .collect()
    }
}
