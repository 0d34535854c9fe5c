//! OAuth clients registered by admins. The client secret is shown once, at creation;
//! only its SHA-256 is stored.

use serde::{Deserialize, Serialize};

use super::db::{Db, StoreError};
use super::item::{from_item, to_item};
use super::keys::ItemKeys;
use super::listing::{Page, PageRequest};
use super::stats::Delta;
use super::table::{Committed, Expression, exists, is_new};
use super::{keys, schema};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClient {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub redirect_uris: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct OAuthClientItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    client: OAuthClient,
}

impl OAuthClientItem {
    fn new(client: OAuthClient) -> Self {
        Self {
            keys: keys::oauth_client_item(&client.id, &client.created_at),
            client,
        }
    }
}

fn counted(client: &OAuthClient, sign: i64) -> Delta {
    Delta {
        oauth_clients: sign,
        oauth_disabled: if client.disabled { sign } else { 0 },
        ..Delta::default()
    }
}

pub struct OAuthClients<'a> {
    db: &'a Db,
}

impl Db {
    pub fn oauth_clients(&self) -> OAuthClients<'_> {
        OAuthClients { db: self }
    }
}

impl OAuthClients<'_> {
    pub async fn create(
        &self,
        client: OAuthClient,
        audit: Option<&super::audit::Event>,
    ) -> Result<OAuthClient, StoreError> {
        let db = self.db;
        let mut items = vec![db.put(
            to_item(&OAuthClientItem::new(client.clone()))?,
            Some(is_new()),
        )?];
        items.extend(db.counter_update(counted(&client, 1))?);
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        match db.commit(items).await? {
            Committed::Yes => Ok(client),
            Committed::ConditionFailed(_) => Err(StoreError::Dynamo(
                "an OAuth client with this id exists already".into(),
            )),
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<OAuthClient>, StoreError> {
        self.db
            .get_item(keys::oauth_client(id))
            .await?
            .map(|i| from_item::<OAuthClientItem>(i).map(|i| i.client))
            .transpose()
    }

    /// Stores `new` over `old` (as read); the disabled count moves with it. False when the
    /// client changed meanwhile.
    pub async fn save(
        &self,
        old: &OAuthClient,
        new: &OAuthClient,
        audit: Option<&super::audit::Event>,
    ) -> Result<bool, StoreError> {
        let db = self.db;
        let unchanged = exists().and(
            Expression::new("#updatedAt = :updatedAt AND #disabled = :was")
                .name("#updatedAt", "updatedAt")
                .name("#disabled", "disabled")
                .value(":updatedAt", super::item::s(&old.updated_at))
                .value(
                    ":was",
                    aws_sdk_dynamodb::types::AttributeValue::Bool(old.disabled),
                ),
        );
        let mut items = vec![db.put(
            to_item(&OAuthClientItem::new(new.clone()))?,
            Some(unchanged),
        )?];
        items.extend(db.counter_update(counted(new, 1).plus(counted(old, -1)))?);
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        Ok(db.commit(items).await?.is_yes())
    }

    /// Deletes `client` (as read), uncounting it. False when it changed or went meanwhile.
    pub async fn delete(
        &self,
        client: &OAuthClient,
        audit: Option<&super::audit::Event>,
    ) -> Result<bool, StoreError> {
        let db = self.db;
        let unchanged = exists().and(
            Expression::new("#updatedAt = :updatedAt")
                .name("#updatedAt", "updatedAt")
                .value(":updatedAt", super::item::s(&client.updated_at)),
        );
        let mut items = vec![db.delete(keys::oauth_client(&client.id), Some(unchanged))?];
        items.extend(db.counter_update(counted(client, -1))?);
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        Ok(db.commit(items).await?.is_yes())
    }

    /// Newest first.
    pub async fn list_page(&self, request: &PageRequest) -> Result<Page<OAuthClient>, StoreError> {
        self.db
            .list_page(schema::GSI2, keys::OAUTH_CLIENTS, None, request, |item| {
                from_item::<OAuthClientItem>(item).map(|i| i.client)
            })
            .await
    }
}
