//! Integration accounts. An account is reserved (status `provisioning`) together with two
//! claims in one transaction: one account per user per integration, and one username per
//! integration, so racing creates have exactly one winner. It becomes `active` once the
//! service has it (`pending` while the service waits for its owner to confirm), and its
//! reservation is released if the service refuses it. A deleted account keeps its item
//! (status `deleted`, for the record) and frees both claims.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::audit::{Event, Provenance};
use super::db::{Db, StoreError};
use super::item::{from_item, s, to_item};
use super::keys::ItemKeys;
use super::listing::{Page, PageRequest};
use super::table::{Committed, Expression, exists, is_new};
use super::{keys, schema};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub user_id: String,
    pub integration_id: String,
    /// The name unique within the integration.
    pub username: String,
    pub data: Value,
    /// `provisioning`, `pending`, `active`, `suspended` or `deleted`.
    pub status: String,
    /// Suspended by its owner's ban (lifting the ban reactivates it); false when a
    /// moderator suspended it on its own.
    #[serde(default)]
    pub suspended_by_ban: bool,
    /// Moderators' notes (an object), Portal's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
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
                &account.status,
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
    /// Made and not deleted: neither a reservation in progress nor a record kept of a
    /// deleted account.
    pub fn is_live(&self) -> bool {
        !matches!(self.status.as_str(), "provisioning" | "deleted")
    }

    /// Among `held` (a user's accounts), the live one on `integration` (one at most).
    pub fn live_on<'a>(held: &'a [Account], integration: &str) -> Option<&'a Account> {
        held.iter()
            .find(|a| a.integration_id == integration && a.is_live())
    }

    /// The audit event of something done to this account: which one (integration,
    /// username), never its password; `extra` adds detail (`{"passwordChanged": true}`).
    pub fn audit_event(&self, origin: &Provenance, action: &str, extra: Option<Value>) -> Event {
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

/// Who takes a name whose claim may be cooling (freed by a deletion, kept for its former
/// owner until `coolsUntil`).
#[derive(Debug, Clone, Copy)]
pub struct Taker {
    /// Unix seconds now.
    pub now: i64,
    /// Staff and admins take a cooling name from anyone.
    pub moderator: bool,
}

impl Taker {
    /// A regular user, now.
    pub fn user() -> Self {
        Self {
            now: crate::time::now().unix_timestamp(),
            moderator: false,
        }
    }
}

fn claim_items(
    db: &Db,
    account: &Account,
    taker: Taker,
) -> Result<(TransactWriteItem, TransactWriteItem), StoreError> {
    let owner = keys::integration_claim_of_user(&account.user_id, &account.integration_id);
    let name = keys::integration_username(&account.integration_id, &account.username);
    let claim = |key: (String, String)| {
        let mut item = serde_json::to_value(keys::plain_item(key)).unwrap_or_default();
        item["accountId"] = json!(account.id);
        item["userId"] = json!(account.user_id);
        item
    };
    // A free name, or one cooling that this taker may have: anyone once the period is
    // over, its former owner or a moderator at once.
    let mut may_take = vec!["coolsUntil <= :now", "userId = :taker"];
    if taker.moderator {
        may_take.push("attribute_exists(coolsUntil)");
    }
    let name_free = Expression::new(format!(
        "attribute_not_exists(#pk) OR (attribute_not_exists(accountId) AND ({}))",
        may_take.join(" OR ")
    ))
    .name("#pk", schema::PK)
    .value(":now", super::item::n(taker.now))
    .value(":taker", s(&account.user_id));
    Ok((
        db.put(to_item(&claim(owner))?, Some(is_new()))?,
        db.put(to_item(&claim(name))?, Some(name_free))?,
    ))
}

/// The write that frees a name: kept for `former_owner` until `cools_until` (removed by
/// TTL then), or deleted at once.
fn free_name(
    db: &Db,
    account: &Account,
    cools_until: Option<i64>,
) -> Result<TransactWriteItem, StoreError> {
    let key = keys::integration_username(&account.integration_id, &account.username);
    match cools_until {
        Some(until) => {
            let mut item = serde_json::to_value(keys::plain_item(key)).unwrap_or_default();
            item["userId"] = json!(account.user_id);
            item["coolsUntil"] = json!(until);
            item[schema::TTL_ATTRIBUTE] = json!(until);
            db.put(to_item(&item)?, None)
        }
        None => db.delete(key, None),
    }
}

/// The account exactly as it was read (its `updatedAt` unchanged).
fn unchanged_since(account: &Account) -> Expression {
    exists().and(
        Expression::new("#updatedAt = :updatedAt")
            .name("#updatedAt", "updatedAt")
            .value(":updatedAt", s(&account.updated_at)),
    )
}

/// Leaves out reservations in progress.
fn not_reserved() -> Expression {
    Expression::new("#status <> :provisioning")
        .name("#status", "status")
        .value(":provisioning", s("provisioning"))
}

impl Accounts<'_> {
    /// Writes the account (status `provisioning`) and both claims, or nothing.
    pub async fn reserve(&self, account: &Account, taker: Taker) -> Result<(), ReserveError> {
        let db = self.db;
        let (owner, name) = claim_items(db, account, taker)?;
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

    /// Removes the account and its claims (a failed create, or its owner's deletion: then
    /// the name cools until `cools_until`).
    pub async fn release(
        &self,
        account: &Account,
        cools_until: Option<i64>,
        audit: Option<&Event>,
    ) -> Result<(), StoreError> {
        let db = self.db;
        let mut items = vec![
            db.delete(keys::integration_account(&account.id), None)?,
            db.delete(
                keys::integration_claim_of_user(&account.user_id, &account.integration_id),
                None,
            )?,
            free_name(db, account, cools_until)?,
        ];
        items.extend(db.account_counter_update(&account.integration_id, &[(&account.status, -1)])?);
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

    /// Marks a reserved account `status` (`active` or `pending`); `None` when the
    /// reservation is gone.
    pub async fn activate(
        &self,
        account: &Account,
        status: &str,
        now: &str,
        audit: Option<&Event>,
    ) -> Result<Option<Account>, StoreError> {
        let mut active = account.clone();
        active.status = status.to_string();
        active.updated_at = now.to_string();
        let reserved = exists().and(
            Expression::new("#status = :provisioning")
                .name("#status", "status")
                .value(":provisioning", s("provisioning")),
        );
        let mut items = vec![
            self.db
                .put(to_item(&AccountItem::new(active.clone()))?, Some(reserved))?,
        ];
        items.extend(
            self.db
                .account_counter_update(&active.integration_id, &[(status, 1)])?,
        );
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        Ok(self.db.commit(items).await?.is_yes().then_some(active))
    }

    /// Marks the account `deleted` (kept for the record) and frees its claims, so its
    /// owner may make another and its name may be taken again (by others only after
    /// `cools_until`). False when it changed meanwhile.
    pub async fn retire(
        &self,
        account: &Account,
        now: &str,
        cools_until: Option<i64>,
        audit: Option<&Event>,
    ) -> Result<Option<Account>, StoreError> {
        let db = self.db;
        let mut deleted = account.clone();
        deleted.status = "deleted".into();
        deleted.suspended_by_ban = false;
        deleted.updated_at = now.to_string();
        let mut items = vec![
            db.put(
                to_item(&AccountItem::new(deleted.clone()))?,
                Some(unchanged_since(account)),
            )?,
            db.delete(
                keys::integration_claim_of_user(&account.user_id, &account.integration_id),
                None,
            )?,
            free_name(db, account, cools_until)?,
        ];
        items.extend(db.account_counter_update(
            &account.integration_id,
            &[(&account.status, -1), ("deleted", 1)],
        )?);
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        Ok(db.commit(items).await?.is_yes().then_some(deleted))
    }

    /// One page of an integration's accounts, newest first: all of them, those in
    /// `status`, or a user's (then `status` filters). Reservations in progress are left out.
    pub async fn list_page(
        &self,
        integration: &str,
        status: Option<&str>,
        user_id: Option<&str>,
        request: &PageRequest,
    ) -> Result<Page<Account>, StoreError> {
        let read = |item| from_item::<AccountItem>(item).map(|i| i.account);
        let (gsi, partition, filter) = match (user_id, status) {
            (Some(user), Some(status)) => (
                schema::GSI1,
                keys::integration_accounts_of(user, integration),
                Expression::new("#status = :status")
                    .name("#status", "status")
                    .value(":status", s(status)),
            ),
            (Some(user), None) => (
                schema::GSI1,
                keys::integration_accounts_of(user, integration),
                not_reserved(),
            ),
            (None, Some(status)) => (
                schema::GSI4,
                keys::integration_accounts_in(integration, status),
                not_reserved(),
            ),
            (None, None) => (
                schema::GSI3,
                keys::integration_accounts(integration),
                not_reserved(),
            ),
        };
        self.db
            .list_page(gsi, &partition, Some(&filter), request, read)
            .await
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

    /// The user holding a username on an integration, from its claim alone (one GetItem);
    /// a name cooling after a deletion has no holder.
    pub async fn owner_of_username(
        &self,
        integration: &str,
        username: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .get_item(keys::integration_username(integration, username))
            .await?
            .filter(|item| item.contains_key("accountId"))
            .and_then(|item| item.get("userId").and_then(|v| v.as_s().ok()).cloned()))
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

    /// Accounts by id, in one BatchGetItem (missing ones are absent).
    pub async fn get_many(&self, ids: &[&str]) -> Result<Vec<Account>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.db
            .batch_get(ids.iter().map(|id| keys::integration_account(id)).collect())
            .await?
            .into_iter()
            .map(|i| from_item::<AccountItem>(i).map(|i| i.account))
            .collect()
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
        let mut items = vec![self.db.put(
            to_item(&AccountItem::new(new.clone()))?,
            Some(unchanged_since(old)),
        )?];
        items.extend(
            self.db.account_counter_update(
                &new.integration_id,
                &[(&old.status, -1), (&new.status, 1)],
            )?,
        );
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        Ok(self.db.commit(items).await?.is_yes())
    }

    /// A user's accounts on one integration, newest first (reservations in progress and
    /// deleted accounts left out).
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
        Ok(accounts.into_iter().filter(Account::is_live).collect())
    }

    /// Every account of an integration, in every status (reconciliation).
    pub async fn all_of_integration(&self, integration: &str) -> Result<Vec<Account>, StoreError> {
        self.db
            .query_index(schema::GSI3, &keys::integration_accounts(integration))
            .await?
            .into_iter()
            .map(|i| from_item::<AccountItem>(i).map(|i| i.account))
            .collect()
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

impl Db {
    /// The writes of an account brought over from another store (an import): the account
    /// and, unless it is deleted, both of its claims, each only where free. Counters are
    /// the caller's (`accounts_counter_update`).
    pub(crate) fn settled_account_items(
        &self,
        account: &Account,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items =
            vec![self.put(to_item(&AccountItem::new(account.clone()))?, Some(is_new()))?];
        if account.status != "deleted" {
            let (owner, name) = claim_items(self, account, Taker::user())?;
            items.push(owner);
            items.push(name);
        }
        Ok(items)
    }
}
