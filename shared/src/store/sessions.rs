//! Sessions. A session token is `<userId><32 random>`; the session's id is the first 32
//! hex characters of SHA-256(token), so the token is found by GetItem on its hash and the
//! user id it carries lets the user come back in the same BatchGetItem.

use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, WriteRequest};
use serde::{Deserialize, Serialize};

use super::item::{Item, from_item, key, n, s, to_item};
use super::users::user_from_item;
use super::{Db, StoreError, condition_failed, keys, schema};
use crate::crypto::{random_alphanumeric, sha256_hex};
use crate::model::{ApiKey, Session, User};

pub const TOKEN_LEN: usize = 64;

/// The session id of a token.
pub fn session_id(token: &str) -> String {
    sha256_hex(token.as_bytes())[..32].to_string()
}

/// A fresh token for `user_id`.
pub fn new_token(user_id: &str) -> String {
    format!(
        "{user_id}{}",
        random_alphanumeric(TOKEN_LEN - user_id.len().min(32))
    )
}

/// The user id a well-formed token carries.
pub fn token_user_id(token: &str) -> Option<&str> {
    (token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| &token[..32])
}

#[derive(Debug, Serialize, Deserialize)]
struct SessionItem {
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
    ttl: i64,
    #[serde(flatten)]
    session: Session,
}

fn epoch(iso: &str) -> i64 {
    crate::time::parse_iso(iso).map_or(0, |t| t.unix_timestamp())
}

impl SessionItem {
    fn new(session: Session) -> Self {
        let (pk, sk) = keys::session(&session.id);
        Self {
            pk,
            sk,
            gsi1pk: keys::sessions_of(&session.user_id),
            gsi1sk: keys::by_creation(&session.created_at, &session.id),
            gsi2pk: keys::SESSIONS.into(),
            gsi2sk: keys::by_creation(&session.created_at, &session.id),
            ttl: epoch(&session.expires_at),
            session,
        }
    }
}

/// What a secret presented by a client resolved to, with its user, from one round trip.
#[derive(Debug, Clone)]
pub enum Resolved {
    Session(Session, User),
    ApiKey(ApiKey, User),
}

pub struct Sessions<'a> {
    db: &'a Db,
}

impl Db {
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { db: self }
    }

    /// Reads an item and a user in ONE strongly consistent BatchGetItem.
    pub(crate) async fn get_with_user(
        &self,
        item_key: (String, String),
        user_id: &str,
    ) -> Result<(Option<Item>, Option<User>), StoreError> {
        let wanted = KeysAndAttributes::builder()
            .keys(key(item_key.clone()))
            .keys(key(keys::user(user_id)))
            .consistent_read(true)
            .build()?;
        let mut pending = Some(wanted);
        let mut found: Vec<Item> = Vec::new();
        // Unprocessed keys are rare (throttling); retry them a few times.
        for _ in 0..4 {
            let Some(request) = pending.take() else { break };
            let out = self
                .client()
                .batch_get_item()
                .request_items(self.table(), request)
                .send()
                .await?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(self.table()).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(self.table()))
                .filter(|k| !k.keys().is_empty());
        }
        if pending.is_some() {
            return Err(StoreError::Dynamo(
                "batch read left keys unprocessed".into(),
            ));
        }
        let mut item = None;
        let mut user = None;
        for it in found {
            let pk = it.get(schema::PK).and_then(|v| v.as_s().ok()).cloned();
            if pk.as_deref() == Some(item_key.0.as_str()) {
                item = Some(it);
            } else {
                user = Some(user_from_item(it)?);
            }
        }
        Ok((item, user))
    }
}

impl Sessions<'_> {
    pub async fn create(&self, session: Session) -> Result<Session, StoreError> {
        self.db
            .client()
            .put_item()
            .table_name(self.db.table())
            .set_item(Some(to_item(&SessionItem::new(session.clone()))?))
            .send()
            .await?;
        Ok(session)
    }

    /// The session a token names and its user, in one round trip. `None` for anything
    /// that does not match (unknown token, user mismatch); expiry is the caller's rule.
    pub async fn resolve(&self, token: &str) -> Result<Option<(Session, User)>, StoreError> {
        let Some(user_id) = token_user_id(token) else {
            return Ok(None);
        };
        let (item, user) = self
            .db
            .get_with_user(keys::session(&session_id(token)), user_id)
            .await?;
        let (Some(item), Some(user)) = (item, user) else {
            return Ok(None);
        };
        let session = from_item::<SessionItem>(item)?.session;
        if session.user_id != user.id {
            return Ok(None);
        }
        Ok(Some((session, user)))
    }

    pub async fn get(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        self.db
            .get_item(keys::session(session_id))
            .await?
            .map(|i| from_item::<SessionItem>(i).map(|i| i.session))
            .transpose()
    }

    /// Moves the expiry (sliding refresh).
    pub async fn extend(
        &self,
        session_id: &str,
        expires_at: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.db
            .client()
            .update_item()
            .table_name(self.db.table())
            .set_key(Some(key(keys::session(session_id))))
            .condition_expression("attribute_exists(PK)")
            .update_expression("SET expiresAt = :e, updatedAt = :now, #ttl = :ttl")
            .expression_attribute_names("#ttl", schema::TTL_ATTRIBUTE)
            .expression_attribute_values(":e", s(expires_at))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":ttl", n(epoch(expires_at)))
            .send()
            .await
            .map(|_| ())
            .or_else(|err| {
                if condition_failed(&err) {
                    Ok(())
                } else {
                    Err(err.into())
                }
            })
    }

    /// Deletes a session; `owner` restricts it to that user's. True if one was deleted.
    pub async fn delete(&self, session_id: &str, owner: Option<&str>) -> Result<bool, StoreError> {
        self.db.delete_owned(keys::session(session_id), owner).await
    }

    /// Every session of a user, newest first (expired ones included: callers filter).
    pub async fn list_for_user(&self, user_id: &str) -> Result<Vec<Session>, StoreError> {
        self.db
            .query_index(schema::GSI1, &keys::sessions_of(user_id))
            .await?
            .into_iter()
            .map(|item| from_item::<SessionItem>(item).map(|i| i.session))
            .collect()
    }

    /// Deletes every session of a user except `keep`. Returns how many went.
    pub async fn delete_all_for_user(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<usize, StoreError> {
        let ids: Vec<String> = self
            .list_for_user(user_id)
            .await?
            .into_iter()
            .map(|s| s.id)
            .filter(|id| Some(id.as_str()) != keep)
            .collect();
        self.db
            .delete_keys(ids.iter().map(|id| keys::session(id)).collect())
            .await?;
        Ok(ids.len())
    }
}

impl Db {
    /// Deletes items by key, 25 per BatchWriteItem, retrying unprocessed ones.
    pub(crate) async fn delete_keys(&self, all: Vec<(String, String)>) -> Result<(), StoreError> {
        for chunk in all.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(key(k.clone())))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0..5 {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), requests)
                    .send()
                    .await?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(self.table()))
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(StoreError::Dynamo(
                    "batch delete left items unprocessed".into(),
                ));
            }
        }
        Ok(())
    }
}
