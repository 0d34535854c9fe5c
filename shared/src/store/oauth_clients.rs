//! OAuth clients registered by admins. The client secret is shown once, at creation;
//! only its SHA-256 is stored.

use serde::{Deserialize, Serialize};

use super::item::{from_item, to_item};
use super::listing::Page;
use super::stats::Delta;
use super::{Db, StoreError, keys, schema};

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
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI2PK")]
    gsi2pk: String,
    #[serde(rename = "GSI2SK")]
    gsi2sk: String,
    #[serde(flatten)]
    client: OAuthClient,
}

impl OAuthClientItem {
    fn new(client: OAuthClient) -> Self {
        let (pk, sk) = keys::oauth_client(&client.id);
        Self {
            pk,
            sk,
            gsi2pk: keys::OAUTH_CLIENTS.into(),
            gsi2sk: keys::by_creation(&client.created_at, &client.id),
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
    pub async fn create(&self, client: OAuthClient) -> Result<OAuthClient, StoreError> {
        let db = self.db;
        let mut items = vec![db.put(
            to_item(&OAuthClientItem::new(client.clone()))?,
            Some("attribute_not_exists(PK)"),
        )?];
        items.extend(db.counter_update(counted(&client, 1))?);
        db.client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await?;
        Ok(client)
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
    pub async fn save(&self, old: &OAuthClient, new: &OAuthClient) -> Result<bool, StoreError> {
        let db = self.db;
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(db.table())
            .set_item(Some(to_item(&OAuthClientItem::new(new.clone()))?))
            .condition_expression("attribute_exists(PK) AND updatedAt = :at AND disabled = :was")
            .expression_attribute_values(":at", super::item::s(&old.updated_at))
            .expression_attribute_values(
                ":was",
                aws_sdk_dynamodb::types::AttributeValue::Bool(old.disabled),
            )
            .build()?;
        let mut items = vec![
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(put)
                .build(),
        ];
        items.extend(db.counter_update(counted(new, 1).plus(counted(old, -1)))?);
        db.commit(items).await
    }

    /// Newest first.
    pub async fn list_page(
        &self,
        paging: &crate::validation::Paging,
    ) -> Result<Page<OAuthClient>, StoreError> {
        self.db
            .list_page(schema::GSI2, keys::OAUTH_CLIENTS, None, paging, |item| {
                from_item::<OAuthClientItem>(item).map(|i| i.client)
            })
            .await
    }
}
