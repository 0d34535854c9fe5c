//! API keys, stored under an id derived from the key (what a key looks like is the web
//! edge's `caller::token`), with only a hash of the key: the item and the user the key
//! names come back in one BatchGetItem.

use serde::{Deserialize, Serialize};

use super::db::{Db, StoreError};
use super::item::{from_item, n, s, to_item};
use super::keys::ItemKeys;
use super::listing::{Page, PageRequest};
use super::sessions::Resolved;
use super::stats::Delta;
use super::table::{Committed, Expression, exists, is_new};
use super::{keys, schema};
use crate::crypto::constant_time_eq;
use crate::model::ApiKey;
use aws_sdk_dynamodb::types::AttributeValue;

#[derive(Debug, Serialize, Deserialize)]
struct ApiKeyItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    ttl: Option<i64>,
    #[serde(flatten)]
    key: ApiKey,
}

impl ApiKeyItem {
    fn new(key: ApiKey) -> Self {
        // Expired keys stay readable for a day (so a client hears KEY_EXPIRED), then go.
        let ttl = key
            .expires_at
            .as_deref()
            .and_then(crate::time::parse_iso)
            .map(|t| t.unix_timestamp() + 86_400);
        Self {
            keys: keys::api_key_item(&key),
            ttl,
            key,
        }
    }
}

/// The guard of a write to a key as it was read: still there, same enabled flag (so the
/// counters it moves stay right).
fn as_read(key: &ApiKey) -> Expression {
    exists().and(
        Expression::new("#enabled = :was")
            .name("#enabled", "enabled")
            .value(":was", AttributeValue::Bool(key.enabled)),
    )
}

/// What a key adds to (`sign = 1`) or removes from (`-1`) the counters.
pub(crate) fn counted(key: &ApiKey, sign: i64) -> Delta {
    Delta {
        api_keys: sign,
        api_keys_enabled: if key.enabled { sign } else { 0 },
        ..Delta::default()
    }
}

/// The id a key BetterAuth made is stored under (an import knows only its stored hash,
/// base64url SHA-256, never the key): the first 32 hex characters of SHA-256 of that hash.
pub fn id_of_stored_hash(stored_hash: &str) -> String {
    crate::crypto::sha256_hex(stored_hash.as_bytes())[..32].to_string()
}

pub struct ApiKeys<'a> {
    db: &'a Db,
}

impl Db {
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys { db: self }
    }
}

impl ApiKeys<'_> {
    /// Stores a new key and counts it, in one transaction.
    pub async fn create(&self, key: ApiKey) -> Result<ApiKey, StoreError> {
        self.create_audited(key, None).await
    }

    /// [`ApiKeys::create`] with its audit event, in the same transaction.
    pub async fn create_audited(
        &self,
        key: ApiKey,
        audit: Option<&super::audit::Event>,
    ) -> Result<ApiKey, StoreError> {
        let db = self.db;
        let mut items = vec![db.put(to_item(&ApiKeyItem::new(key.clone()))?, Some(is_new()))?];
        items.extend(db.counter_update(counted(&key, 1))?);
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        match db.commit(items).await? {
            Committed::Yes => Ok(key),
            Committed::ConditionFailed(_) => Err(StoreError::Dynamo(
                "an API key with this id exists already".into(),
            )),
        }
    }

    /// The key `id` whose stored hash is `hash`, with its user `user_id`, in one strongly
    /// consistent round trip; `None` when unknown or not matching.
    pub async fn resolve(
        &self,
        id: &str,
        user_id: &str,
        hash: &str,
    ) -> Result<Option<Resolved>, StoreError> {
        let (item, user) = self.db.get_with_user(keys::api_key(id), user_id).await?;
        let (Some(item), Some((user, version))) = (item, user) else {
            return Ok(None);
        };
        let key = from_item::<ApiKeyItem>(item)?.key;
        if key.user_id != user.id || !constant_time_eq(&key.key_hash, hash) {
            return Ok(None);
        }
        Ok(Some(Resolved::ApiKey(key, user, version)))
    }

    /// A key whose text does not carry its user (one BetterAuth made, brought over by an
    /// import): its item by id, then [`ApiKeys::resolve`]; one read more, for that format
    /// only.
    pub async fn resolve_by_id(
        &self,
        id: &str,
        hash: &str,
    ) -> Result<Option<Resolved>, StoreError> {
        let Some(key) = self.get(id).await? else {
            return Ok(None);
        };
        if !constant_time_eq(&key.key_hash, hash) {
            return Ok(None);
        }
        self.resolve(id, &key.user_id, hash).await
    }

    pub async fn get(&self, key_id: &str) -> Result<Option<ApiKey>, StoreError> {
        self.db
            .get_item(keys::api_key(key_id))
            .await?
            .map(|i| from_item::<ApiKeyItem>(i).map(|i| i.key))
            .transpose()
    }

    /// Replaces a key's stored fields (name, enabled, ...) as read in `old`; the enabled
    /// count moves with it. False when the key changed or went meanwhile.
    pub async fn save(&self, old: &ApiKey, new: &ApiKey) -> Result<bool, StoreError> {
        let db = self.db;
        let unchanged = as_read(old).and(
            Expression::new("#updatedAt = :updatedAt")
                .name("#updatedAt", "updatedAt")
                .value(":updatedAt", s(&old.updated_at)),
        );
        let mut items = vec![db.put(to_item(&ApiKeyItem::new(new.clone()))?, Some(unchanged))?];
        items.extend(db.counter_update(counted(new, 1).plus(counted(old, -1)))?);
        Ok(db.commit(items).await?.is_yes())
    }

    /// Records a use: `lastRequest` and `requestCount`, at most once per minute per key
    /// (a write per request would double the cost of every key-authenticated call).
    pub async fn record_use(
        &self,
        api_key: &ApiKey,
        now: &str,
        minute_ago: &str,
    ) -> Result<(), StoreError> {
        if api_key
            .last_request
            .as_deref()
            .is_some_and(|last| last > minute_ago)
        {
            return Ok(());
        }
        let update =
            Expression::new("SET #last = :now, #count = if_not_exists(#count, :zero) + :one")
                .name("#count", "requestCount")
                .value(":now", s(now))
                .value(":zero", n(0))
                .value(":one", n(1));
        let not_within_a_minute = exists().and(
            Expression::new("attribute_not_exists(#last) OR #last <= :ago OR #last = :null")
                .name("#last", "lastRequest")
                .value(":ago", s(minute_ago))
                .value(":null", AttributeValue::Null(true)),
        );
        // Another request recorded it first: nothing to do.
        self.db
            .update_if(keys::api_key(&api_key.id), update, not_within_a_minute)
            .await?;
        Ok(())
    }

    /// Deletes a key; `owner` restricts it to that user's. True if one was deleted.
    pub async fn delete(&self, key_id: &str, owner: Option<&str>) -> Result<bool, StoreError> {
        self.delete_audited(key_id, owner, |_| None).await
    }

    /// [`ApiKeys::delete`] with its audit event (made from the key found), in the same
    /// transaction.
    pub async fn delete_audited(
        &self,
        key_id: &str,
        owner: Option<&str>,
        audit: impl Fn(&ApiKey) -> Option<super::audit::Event>,
    ) -> Result<bool, StoreError> {
        let db = self.db;
        for _ in 0..4 {
            let Some(found) = self.get(key_id).await? else {
                return Ok(false);
            };
            if owner.is_some_and(|o| o != found.user_id) {
                return Ok(false);
            }
            let mut items = vec![db.delete(keys::api_key(key_id), Some(as_read(&found)))?];
            items.extend(db.counter_update(counted(&found, -1))?);
            if let Some(event) = audit(&found) {
                items.push(db.audit_write(&event)?);
            }
            if db.commit(items).await?.is_yes() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Deletes every key of a user (found through the index: revocation itself is the
    /// user's key generation). Returns how many went.
    pub async fn delete_all_for_user(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut deleted = 0;
        for key in self.list_for_user(user_id).await? {
            if self.delete(&key.id, Some(user_id)).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Every key of a user, newest first.
    pub async fn list_for_user(&self, user_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        self.db
            .query_index(schema::GSI1, &keys::api_keys_of(user_id))
            .await?
            .into_iter()
            .map(|item| from_item::<ApiKeyItem>(item).map(|i| i.key))
            .collect()
    }
}

impl ApiKeys<'_> {
    /// Keys newest first, of one user or of everyone, optionally only enabled (or
    /// disabled) ones: one index Query per page.
    pub async fn list_page(
        &self,
        user_id: Option<&str>,
        enabled: Option<bool>,
        request: &PageRequest,
    ) -> Result<Page<ApiKey>, StoreError> {
        let (gsi, partition) = match user_id {
            Some(id) => (schema::GSI1, keys::api_keys_of(id)),
            None => (schema::GSI2, keys::APIKEYS.to_string()),
        };
        let filter = enabled.map(|enabled| {
            Expression::new("#enabled = :enabled")
                .name("#enabled", "enabled")
                .value(":enabled", AttributeValue::Bool(enabled))
        });
        self.db
            .list_page(gsi, &partition, filter.as_ref(), request, |item| {
                from_item::<ApiKeyItem>(item).map(|i| i.key)
            })
            .await
    }
}

impl Db {
    /// The write of a key brought over from another store (an import), only where its id
    /// is free. Counters are the caller's ([`counted`]).
    pub(crate) fn api_key_put(
        &self,
        key: &ApiKey,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        self.put(to_item(&ApiKeyItem::new(key.clone()))?, Some(is_new()))
    }
}
