//! Users, their password credential, and the e-mail claim that keeps e-mails unique.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::item::{Item, from_item, key, s, to_item};
use super::{Db, StoreError, condition_failed, keys, schema};
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
    #[serde(flatten)]
    user: User,
}

impl UserItem {
    fn new(user: User) -> Self {
        let (pk, sk) = keys::user(&user.id);
        Self {
            pk,
            sk,
            gsi1pk: keys::USERS.into(),
            gsi1sk: keys::by_creation(&user.created_at, &user.id),
            gsi2pk: keys::USER_EMAIL.into(),
            gsi2sk: format!("{}#{}", user.email, user.id),
            user,
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

fn cancelled_by_condition(
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

impl Users<'_> {
    /// Creates the user, its e-mail claim and (if given) its password, all or nothing.
    /// Of any number of racing sign-ups for one e-mail, exactly one succeeds.
    pub async fn create(
        &self,
        user: User,
        password_hash: Option<String>,
    ) -> Result<User, CreateUserError> {
        let db = self.db;
        let claim = EmailClaim {
            pk: keys::email_claim(&user.email).0,
            sk: keys::email_claim(&user.email).1,
            user_id: user.id.clone(),
        };
        let put = |item: Item| -> Result<TransactWriteItem, StoreError> {
            Ok(TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(db.table())
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(PK)")
                        .build()?,
                )
                .build())
        };
        let mut request = db
            .client()
            .transact_write_items()
            .transact_items(put(to_item(&claim)?)?)
            .transact_items(put(to_item(&UserItem::new(user.clone()))?)?);
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
            request = request.transact_items(put(to_item(&credential)?)?);
        }
        match request.send().await {
            Ok(_) => Ok(user),
            Err(err) if cancelled_by_condition(&err) => Err(CreateUserError::EmailTaken),
            Err(err) => Err(CreateUserError::Store(err.into())),
        }
    }

    /// The user, read strongly consistently.
    pub async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        self.db
            .get_item(keys::user(user_id))
            .await?
            .map(|item| from_item::<UserItem>(item).map(|i| i.user))
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

    /// Sets the given profile fields; returns the user as stored afterwards, or `None`
    /// when there is no such user.
    pub async fn update_fields(
        &self,
        user_id: &str,
        fields: &[(&str, Option<aws_sdk_dynamodb::types::AttributeValue>)],
        now: &str,
    ) -> Result<Option<User>, StoreError> {
        let mut sets = vec!["#updatedAt = :updatedAt".to_string()];
        let mut removes = Vec::new();
        let mut request = self
            .db
            .client()
            .update_item()
            .table_name(self.db.table())
            .set_key(Some(key(keys::user(user_id))))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":updatedAt", s(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        for (i, (name, value)) in fields.iter().enumerate() {
            let placeholder = format!("#f{i}");
            request = request.expression_attribute_names(&placeholder, *name);
            match value {
                Some(v) => {
                    sets.push(format!("{placeholder} = :v{i}"));
                    request = request.expression_attribute_values(format!(":v{i}"), v.clone());
                }
                None => removes.push(placeholder),
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        match request.update_expression(expression).send().await {
            Ok(out) => out
                .attributes
                .map(|item| from_item::<UserItem>(item).map(|i| i.user))
                .transpose(),
            Err(err) if condition_failed(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

pub(crate) fn user_from_item(item: Item) -> Result<User, StoreError> {
    from_item::<UserItem>(item).map(|i| i.user)
}
