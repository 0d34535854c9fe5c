//! Accounts at other providers linked to a user (BetterAuth's `account` rows other than the
//! password): Discord, Mailcow. ONE item per provider account, keyed by the provider and
//! the provider's account id (a public id, never a secret): it is at the same time the
//! claim that one provider account belongs to one user, and what the chat bridge finds a
//! user by (one GetItem). The provider's tokens are kept sealed with the auth secret.

use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::db::{Db, StoreError};
use super::item::{from_item, to_item};
use super::keys::{self, ItemKeys};
use super::table::{Committed, exists, is_new};
use super::users::CreateUserError;
use crate::model::{Session, User};

/// A linked account as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedAccount {
    /// Its own id (what `/list-accounts` shows as `id`).
    pub id: String,
    pub user_id: String,
    /// `discord`, `mailcow`.
    pub provider_id: String,
    /// The provider's id of the account.
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<String>,
    /// The scopes granted, space-separated.
    #[serde(default)]
    pub scopes: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, Deserialize)]
struct LinkedItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    account: LinkedAccount,
}

fn item(account: &LinkedAccount) -> LinkedItem {
    LinkedItem {
        keys: keys::linked_account_item(
            &account.provider_id,
            &account.account_id,
            &account.user_id,
            &account.created_at,
        ),
        account: account.clone(),
    }
}

pub struct LinkedAccounts<'a> {
    db: &'a Db,
}

impl Db {
    pub fn linked_accounts(&self) -> LinkedAccounts<'_> {
        LinkedAccounts { db: self }
    }
}

impl LinkedAccounts<'_> {
    /// The account `account_id` at `provider_id`, whoever holds it.
    pub async fn get(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> Result<Option<LinkedAccount>, StoreError> {
        if account_id.is_empty() || account_id.len() > 256 {
            return Ok(None);
        }
        self.db
            .get_item(keys::linked_account(provider_id, account_id))
            .await?
            .map(|i| from_item::<LinkedItem>(i).map(|i| i.account))
            .transpose()
    }

    /// A user's linked accounts, oldest first.
    pub async fn of_user(&self, user_id: &str) -> Result<Vec<LinkedAccount>, StoreError> {
        let mut found: Vec<LinkedAccount> = self
            .db
            .query_index(super::schema::GSI1, &keys::linked_accounts_of(user_id))
            .await?
            .into_iter()
            .map(|i| from_item::<LinkedItem>(i).map(|i| i.account))
            .collect::<Result<_, _>>()?;
        found.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(found)
    }

    /// Links a new account (false: that provider account is someone's already), audited.
    pub async fn link(
        &self,
        account: &LinkedAccount,
        audit: Option<&Event>,
    ) -> Result<bool, StoreError> {
        let mut items = vec![self.db.put(to_item(&item(account))?, Some(is_new()))?];
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        Ok(matches!(self.db.commit(items).await?, Committed::Yes))
    }

    /// A new user with `account` linked and their first session, in ONE transaction (a
    /// sign-up through a provider either ends signed in or leaves nothing).
    pub async fn sign_up(
        &self,
        user: User,
        session: &Session,
        account: &LinkedAccount,
        audit: Option<&Event>,
    ) -> Result<User, CreateUserError> {
        let link = self.db.put(to_item(&item(account))?, Some(is_new()))?;
        self.db
            .users()
            .create_with(user, None, Some(session), audit, vec![link])
            .await
    }

    /// Links `account` to an existing user and starts `session`, in one transaction (false:
    /// that provider account is someone's already).
    pub async fn link_and_sign_in(
        &self,
        account: &LinkedAccount,
        session: &Session,
        audit: Option<&Event>,
    ) -> Result<bool, StoreError> {
        let mut items = vec![self.db.put(to_item(&item(account))?, Some(is_new()))?];
        items.extend(self.db.session_items(session)?);
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        Ok(matches!(self.db.commit(items).await?, Committed::Yes))
    }

    /// Stores fresh tokens on an account that is still linked to the same user.
    pub async fn save(&self, account: &LinkedAccount) -> Result<bool, StoreError> {
        let same_owner = exists().and(
            super::table::Expression::new("#userId = :userId")
                .name("#userId", "userId")
                .value(":userId", super::item::s(&account.user_id)),
        );
        let items = vec![self.db.put(to_item(&item(account))?, Some(same_owner))?];
        Ok(matches!(self.db.commit(items).await?, Committed::Yes))
    }

    /// Unlinks an account of `user_id` (false: it is not theirs, or gone), audited.
    pub async fn unlink(
        &self,
        account: &LinkedAccount,
        audit: Option<&Event>,
    ) -> Result<bool, StoreError> {
        let theirs = exists().and(
            super::table::Expression::new("#userId = :userId")
                .name("#userId", "userId")
                .value(":userId", super::item::s(&account.user_id)),
        );
        let mut items = vec![self.db.delete(
            keys::linked_account(&account.provider_id, &account.account_id),
            Some(theirs),
        )?];
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        Ok(matches!(self.db.commit(items).await?, Committed::Yes))
    }
}

impl Db {
    /// The write of a linked account (the claim of its provider account), only where the
    /// provider account is nobody's yet.
    pub(crate) fn linked_account_put(
        &self,
        account: &LinkedAccount,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        self.put(to_item(&item(account))?, Some(is_new()))
    }
}
