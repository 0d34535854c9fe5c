//! Users, their password credential, the e-mail claim that keeps e-mails unique, and the
//! name entry that makes names searchable. Every change to a user is one transaction with
//! the counters it moves (see `stats`), guarded by a version number.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::item::{Item, from_item, key, s, to_item};
use super::stats::Delta;
use super::{Db, StoreError, keys, schema};
use crate::model::User;

#[derive(Debug, Serialize, Deserialize)]
struct UserItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    #[serde(rename = "GSI2PK")]
    gsi2pk: String,
    #[serde(rename = "GSI2SK")]
    gsi2sk: String,
    #[serde(rename = "GSI3PK")]
    gsi3pk: String,
    #[serde(rename = "GSI3SK")]
    gsi3sk: String,
    #[serde(rename = "GSI4PK", default, skip_serializing_if = "Option::is_none")]
    gsi4pk: Option<String>,
    #[serde(rename = "GSI4SK", default, skip_serializing_if = "Option::is_none")]
    gsi4sk: Option<String>,
    #[serde(default)]
    version: i64,
    #[serde(flatten)]
    user: User,
}

impl UserItem {
    fn new(user: User, version: i64) -> Self {
        let (pk, sk) = keys::user(&user.id);
        let by_creation = keys::by_creation(&user.created_at, &user.id);
        Self {
            pk,
            sk,
            gsi1pk: keys::USERS.into(),
            gsi1sk: by_creation.clone(),
            gsi2pk: keys::USER_EMAIL.into(),
            gsi2sk: format!("{}#{}", user.email, user.id),
            gsi3pk: keys::role_partition(user.role.as_str()),
            gsi3sk: by_creation.clone(),
            gsi4pk: user.banned.then(|| keys::BANNED.to_string()),
            gsi4sk: user.banned.then_some(by_creation),
            version,
            user,
        }
    }
}

/// Makes a user findable by the start of their name (lower-cased).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NameEntry {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI2PK")]
    gsi2pk: String,
    #[serde(rename = "GSI2SK")]
    gsi2sk: String,
    user_id: String,
}

impl NameEntry {
    fn of(user: &User) -> Self {
        let (pk, sk) = keys::name_entry(&user.id);
        Self {
            pk,
            sk,
            gsi2pk: keys::USER_NAME.into(),
            gsi2sk: format!("{}#{}", user.name.to_lowercase(), user.id),
            user_id: user.id.clone(),
        }
    }
}

/// The stored password of a user (BetterAuth's credential account).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    pub user_id: String,
    pub password_hash: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailClaim {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    user_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("e-mail already taken")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Users<'a> {
    db: &'a Db,
}

impl Db {
    pub fn users(&self) -> Users<'_> {
        Users { db: self }
    }
}

pub(crate) fn cancelled_by_condition(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}

impl Db {
    pub(crate) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(self.table())
                    .set_item(Some(item))
                    .set_condition_expression(condition.map(str::to_string))
                    .build()?,
            )
            .build())
    }
}

/// How many times a read-modify-write is retried when another writer got there first.
const ATTEMPTS: usize = 8;

impl Users<'_> {
    /// Creates the user, its e-mail claim, its name entry and (if given) its password, and
    /// counts it, all or nothing. Of any number of racing sign-ups for one e-mail, exactly
    /// one succeeds.
    pub async fn create(
        &self,
        user: User,
        password_hash: Option<String>,
    ) -> Result<User, CreateUserError> {
        let db = self.db;
        let (pk, sk) = keys::email_claim(&user.email);
        let claim = EmailClaim {
            pk,
            sk,
            user_id: user.id.clone(),
        };
        let new_item = Some("attribute_not_exists(PK)");
        let mut items = vec![
            db.put(to_item(&claim)?, new_item)?,
            db.put(to_item(&UserItem::new(user.clone(), 1))?, new_item)?,
            db.put(to_item(&NameEntry::of(&user))?, None)?,
        ];
        if let Some(hash) = password_hash {
            let (pk, sk) = keys::credential(&user.id);
            let credential = Credential {
                pk,
                sk,
                user_id: user.id.clone(),
                password_hash: hash,
                created_at: user.created_at.clone(),
                updated_at: user.created_at.clone(),
            };
            items.push(db.put(to_item(&credential)?, None)?);
        }
        items.extend(db.counter_update(Delta::of_user(&user, 1))?);
        match db
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(user),
            Err(err) if cancelled_by_condition(&err) => Err(CreateUserError::EmailTaken),
            Err(err) => Err(CreateUserError::Store(err.into())),
        }
    }

    /// The user, read strongly consistently.
    pub async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.get_versioned(user_id).await?.map(|(u, _)| u))
    }

    async fn get_versioned(&self, user_id: &str) -> Result<Option<(User, i64)>, StoreError> {
        self.db
            .get_item(keys::user(user_id))
            .await?
            .map(|item| from_item::<UserItem>(item).map(|i| (i.user, i.version)))
            .transpose()
    }

    /// The user owning `email` (lower-cased by the caller) and their password, if any.
    pub async fn find_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(User, Option<Credential>)>, StoreError> {
        let Some(claim) = self.db.get_item(keys::email_claim(email)).await? else {
            return Ok(None);
        };
        let claim: EmailClaim = from_item(claim)?;
        self.with_credential(&claim.user_id).await
    }

    /// The user and their password in one strongly consistent Query of their partition.
    pub async fn with_credential(
        &self,
        user_id: &str,
    ) -> Result<Option<(User, Option<Credential>)>, StoreError> {
        let (pk, _) = keys::user(user_id);
        let found = self
            .db
            .client()
            .query()
            .table_name(self.db.table())
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .send()
            .await?;
        let mut user = None;
        let mut credential = None;
        for item in found.items.unwrap_or_default() {
            match item
                .get(schema::SK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some("USER") => user = Some(from_item::<UserItem>(item)?.user),
                Some("CREDENTIAL") => credential = Some(from_item::<Credential>(item)?),
                _ => {}
            }
        }
        Ok(user.map(|u| (u, credential)))
    }

    /// Stores a new password hash (creating the credential if the user had none).
    pub async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.db
            .client()
            .update_item()
            .table_name(self.db.table())
            .set_key(Some(key(keys::credential(user_id))))
            .update_expression("SET passwordHash = :h, updatedAt = :now, userId = :u, createdAt = if_not_exists(createdAt, :now)")
            .expression_attribute_values(":h", s(password_hash))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":u", s(user_id))
            .send()
            .await?;
        Ok(())
    }

    /// Reads the user, lets `change` edit it, and stores the result with the counters it
    /// moves, retrying when another writer changed the user meanwhile. `change` returns
    /// `Err` to refuse (nothing is written). `None` when there is no such user.
    pub async fn modify<E>(
        &self,
        user_id: &str,
        now: &str,
        mut change: impl FnMut(&mut User) -> Result<(), E>,
    ) -> Result<Option<Result<User, E>>, StoreError> {
        let db = self.db;
        for _ in 0..ATTEMPTS {
            let Some((old, version)) = self.get_versioned(user_id).await? else {
                return Ok(None);
            };
            let mut new = old.clone();
            if let Err(refused) = change(&mut new) {
                return Ok(Some(Err(refused)));
            }
            if new == old {
                return Ok(Some(Ok(old)));
            }
            new.updated_at = now.to_string();
            let guard = if version == 0 {
                "attribute_exists(PK) AND attribute_not_exists(version)"
            } else {
                "version = :v"
            };
            let put = Put::builder()
                .table_name(db.table())
                .set_item(Some(to_item(&UserItem::new(new.clone(), version + 1))?))
                .condition_expression(guard);
            let put = if version == 0 {
                put
            } else {
                put.expression_attribute_values(":v", super::item::n(version))
            };
            let mut items = vec![TransactWriteItem::builder().put(put.build()?).build()];
            if new.name != old.name {
                items.push(db.put(to_item(&NameEntry::of(&new))?, None)?);
            }
            items.extend(db.counter_update(Delta::between_users(&old, &new))?);
            match db
                .client()
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => return Ok(Some(Ok(new))),
                Err(err) if cancelled_by_condition(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(StoreError::Dynamo(format!(
            "user {user_id} kept changing under concurrent writes"
        )))
    }

    /// [`Users::modify`] for changes that cannot be refused.
    pub async fn update(
        &self,
        user_id: &str,
        now: &str,
        change: impl FnMut(&mut User),
    ) -> Result<Option<User>, StoreError> {
        let mut change = change;
        let result = self
            .modify::<std::convert::Infallible>(user_id, now, |u| {
                change(u);
                Ok(())
            })
            .await?;
        Ok(result.map(|r| match r {
            Ok(user) => user,
            Err(never) => match never {},
        }))
    }

    /// Removes the user's own items (profile, e-mail claim, name entry, password) and
    /// uncounts them, if the user is still as read (`version`). Sessions, keys and
    /// tokens are removed by the caller first.
    pub async fn delete(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let db = self.db;
        for _ in 0..ATTEMPTS {
            let Some((user, version)) = self.get_versioned(user_id).await? else {
                return Ok(None);
            };
            let delete = |k: (String, String),
                          condition: Option<(&str, i64)>|
             -> Result<TransactWriteItem, StoreError> {
                let mut d = aws_sdk_dynamodb::types::Delete::builder()
                    .table_name(db.table())
                    .set_key(Some(key(k)));
                if let Some((expression, v)) = condition {
                    d = d.condition_expression(expression);
                    if v > 0 {
                        d = d.expression_attribute_values(":v", super::item::n(v));
                    }
                }
                Ok(TransactWriteItem::builder().delete(d.build()?).build())
            };
            let guard = if version == 0 {
                "attribute_exists(PK) AND attribute_not_exists(version)"
            } else {
                "version = :v"
            };
            let mut items = vec![
                delete(keys::user(user_id), Some((guard, version)))?,
                delete(keys::email_claim(&user.email), None)?,
                delete(keys::name_entry(user_id), None)?,
                delete(keys::credential(user_id), None)?,
            ];
            items.extend(db.counter_update(Delta::of_user(&user, -1))?);
            match db
                .client()
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => return Ok(Some(user)),
                Err(err) if cancelled_by_condition(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(StoreError::Dynamo(format!(
            "user {user_id} kept changing under concurrent writes"
        )))
    }
}

pub(crate) fn user_from_item(item: Item) -> Result<User, StoreError> {
    from_item::<UserItem>(item).map(|i| i.user)
}
