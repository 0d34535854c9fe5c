//! OAuth clients (the relying parties Portal signs people in to, BetterAuth's
//! oauth-provider `oauthClient`). The client secret is shown once, at creation; only its
//! SHA-256 is stored. A claim item per `client_id` (`OAUTHCID#<clientId>`, written in the
//! same transaction) makes the id unique and finds the client by it with GetItems.

use serde::{Deserialize, Serialize};

use super::db::{Db, StoreError};
use super::item::{from_item, to_item};
use super::keys::ItemKeys;
use super::listing::{Page, PageRequest};
use super::stats::Delta;
use super::table::{Committed, Expression, exists, is_new};
use super::{keys, schema};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClient {
    pub id: String,
    pub name: String,
    pub client_id: String,
    /// SHA-256 (hex) of the secret; empty for a public client (PKCE, no secret).
    pub client_secret_hash: String,
    pub redirect_uris: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
    /// The scopes it may ask for; `None`: every scope the provider offers.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// A first-party client: no consent screen.
    #[serde(default)]
    pub skip_consent: bool,
    /// It may end the user's session (`/oauth2/end-session`); its ID tokens carry `sid`.
    #[serde(default)]
    pub enable_end_session: bool,
    /// No secret: PKCE is its proof.
    #[serde(default)]
    pub public: bool,
    /// `client_secret_basic` (when `None`), `client_secret_post` or `none`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// `authorization_code` (when empty), `client_credentials`, `refresh_token`.
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// PKCE even with a secret (the plugin's default: yes).
    #[serde(default)]
    pub require_pkce: Option<bool>,
    /// `web`, `native` or `user-agent-based`.
    #[serde(default)]
    pub client_type: Option<String>,
    /// The user who registered it through the plugin's routes (they manage it there);
    /// `None` for a client an operator made.
    #[serde(default)]
    pub owner_user_id: Option<String>,
    /// How its ID tokens are signed: `EdDSA` (when `None`, the plugin's) or `RS256`.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// When the secret stops working (seconds since the epoch); `None`: never.
    #[serde(default)]
    pub client_secret_expires_at: Option<i64>,
    /// What the consent screen shows about it.
    #[serde(default)]
    pub about: ClientAbout,
}

/// A client's public description (RFC 7591 metadata), shown on consent screens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientAbout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_statement: Option<String>,
    /// Anything else it registered (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// The scopes Portal's OpenID Connect provider offers (its `scopes` option).
pub const SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "xmpp",
    "irc",
];

/// The grant types a client may be registered for.
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// THE rule for a client's redirect (and post-logout) URIs, at every entry point (the
/// plugin's routes, the admin API, `portal-admin`): the plugin's `SafeUrlSchema` (a URL,
/// never `javascript:`/`data:`/`vbscript:`/`file:` or another network scheme, https, or http only on a loopback host;
/// a native app's own scheme is fine) and RFC 6749's "no fragment", at most 2,048
/// characters. Requests are then matched against these strings exactly.
pub fn redirect_uri_allowed(raw: &str) -> bool {
    let Ok(url) = url::Url::parse(raw) else {
        return false;
    };
    if raw.len() > 2048 || url.fragment().is_some() {
        return false;
    }
    match url.scheme() {
        "javascript" | "data" | "vbscript" | "file" | "blob" | "about" | "ftp" | "ws" | "wss"
        | "mailto" | "tel" => false,
        "https" => url.host().is_some(),
        "http" => match url.host_str() {
            Some(host) => {
                matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.ends_with(".localhost")
            }
            None => false,
        },
        _ => true,
    }
}

/// A client id as an operator may choose it: 1 to 128 letters, digits, `-`, `_`, `.`.
pub fn client_id_allowed(raw: &str) -> bool {
    (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl OAuthClient {
    /// The grant types it may use.
    pub fn grant_types(&self) -> Vec<String> {
        if self.grant_types.is_empty() {
            vec!["authorization_code".into()]
        } else {
            self.grant_types.clone()
        }
    }

    pub fn auth_method(&self) -> &str {
        self.token_endpoint_auth_method
            .as_deref()
            .unwrap_or(if self.public {
                "none"
            } else {
                "client_secret_basic"
            })
    }

    /// Public: it holds no secret (PKCE is its only proof).
    pub fn is_public(&self) -> bool {
        self.public
            || self.client_secret_hash.is_empty()
            || self.auth_method() == "none"
            || matches!(
                self.client_type.as_deref(),
                Some("native" | "user-agent-based")
            )
    }
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
            keys: keys::oauth_client_item(
                &client.id,
                &client.created_at,
                client.owner_user_id.as_deref(),
            ),
            client,
        }
    }
}

pub(crate) fn client_from_item(item: super::item::Item) -> Result<OAuthClient, StoreError> {
    from_item::<OAuthClientItem>(item).map(|i| i.client)
}

/// The claim of a `client_id`: which client holds it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientIdClaim {
    #[serde(flatten)]
    keys: ItemKeys,
    id: String,
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
        let mut items = db.new_client_items(&client)?;
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        match db.commit(items).await? {
            Committed::Yes => Ok(client),
            Committed::ConditionFailed(_) => Err(StoreError::Dynamo(
                "an OAuth client with this id or client id exists already".into(),
            )),
        }
    }

    /// The client holding `client_id` (its claim, then the client: two GetItems).
    pub async fn by_client_id(&self, client_id: &str) -> Result<Option<OAuthClient>, StoreError> {
        if client_id.is_empty() || client_id.len() > 256 {
            return Ok(None);
        }
        let Some(claim) = self.db.get_item(keys::oauth_client_id(client_id)).await? else {
            return Ok(None);
        };
        let claim: ClientIdClaim = from_item(claim)?;
        Ok(self
            .get(&claim.id)
            .await?
            .filter(|c| c.client_id == client_id))
    }

    /// The first client named `name` (operators' scripts find "their" client by name).
    pub async fn by_name(&self, name: &str) -> Result<Option<OAuthClient>, StoreError> {
        let mut request = PageRequest {
            limit: 100,
            ..PageRequest::default()
        };
        loop {
            let page = self.list_page(&request).await?;
            if let Some(found) = page.items.into_iter().find(|c| c.name == name) {
                return Ok(Some(found));
            }
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => return Ok(None),
            }
        }
    }

    /// The clients `user_id` registered, newest first.
    pub async fn owned_by(&self, user_id: &str) -> Result<Vec<OAuthClient>, StoreError> {
        let mut found: Vec<OAuthClient> = self
            .db
            .query_index(schema::GSI1, &keys::oauth_clients_of(user_id))
            .await?
            .into_iter()
            .map(|item| from_item::<OAuthClientItem>(item).map(|i| i.client))
            .collect::<Result<_, _>>()?;
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(found)
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
        let mut items = vec![
            db.delete(keys::oauth_client(&client.id), Some(unchanged))?,
            db.delete(keys::oauth_client_id(&client.client_id), None)?,
        ];
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

impl Db {
    /// The writes of a new client: the client and the claim of its `client_id` (each only
    /// if new: the client first, the claim second) and its count.
    pub(crate) fn new_client_items(
        &self,
        client: &OAuthClient,
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        let claim = ClientIdClaim {
            keys: keys::plain_item(keys::oauth_client_id(&client.client_id)),
            id: client.id.clone(),
        };
        let mut items = vec![
            self.put(
                to_item(&OAuthClientItem::new(client.clone()))?,
                Some(is_new()),
            )?,
            self.put(to_item(&claim)?, Some(is_new()))?,
        ];
        items.extend(self.counter_update(counted(client, 1))?);
        Ok(items)
    }
}
