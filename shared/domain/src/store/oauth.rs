//! What the OpenID Connect provider keeps (BetterAuth's oauth-provider `oauthConsent`,
//! `oauthRefreshToken`, `oauthAccessToken` and its authorization codes), all found by
//! GetItem on a hash of the secret (the secret itself is never a key):
//! - a **consent**: the scopes a user granted a client, in the user's partition;
//! - an **authorization code**: single use, kept (marked used) until its TTL so a second
//!   use is seen and revokes what the first one issued;
//! - a **grant**: one authorization of a user to a client; its refresh and access tokens
//!   hold its id, and revoking it stops them all on the next request;
//! - **refresh tokens** (rotated: each use retires it; a retired one used again revokes
//!   the grant) and **access tokens** (an opaque token's hash, or a JWT's `jti`).
//!
//! A user's items carry `GSI1PK = USER#<userId>#TOKENS`, so deleting the user removes
//! them with the rest of their secrets.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::db::{Db, StoreError};
use super::item::{Item, from_item, s, to_item};
use super::keys::{self, ItemKeys};
use super::oauth_clients::OAuthClient;
use super::table::{Committed, Expression, Query, exists, is_new};
use crate::crypto::sha256_hex;
use crate::model::User;

/// The key of a secret: its SHA-256, the kind in front (no kind can be spent as another).
pub fn secret_key(kind: &str, secret: &str) -> String {
    sha256_hex(format!("{kind}:{secret}").as_bytes())
}

/// The record key of a refresh token the oauth-provider plugin issued, brought over by an
/// import: the plugin kept only SHA-256 of the token (base64url), so it cannot live under
/// [`secret_key`]; it is found under this key when ours finds nothing.
pub fn moved_refresh_key(token: &str) -> String {
    format!("ba-{}", sha256_hex(token.as_bytes()))
}

/// [`moved_refresh_key`] from what the plugin stored (base64url SHA-256 of the token).
pub fn moved_refresh_key_of_stored(stored: &str) -> Option<String> {
    let digest = data_encoding::BASE64URL_NOPAD
        .decode(stored.trim_end_matches('=').as_bytes())
        .ok()
        .filter(|d| d.len() == 32)?;
    Some(format!("ba-{}", data_encoding::HEXLOWER.encode(&digest)))
}

fn ttl_of(expires_at: &str) -> i64 {
    crate::time::parse_iso(expires_at).map_or(0, |t| t.unix_timestamp())
}

fn user_keys(key: (String, String), user_id: Option<&str>, created_at: &str) -> ItemKeys {
    match user_id {
        Some(user_id) => keys::user_secret_item(key, user_id, created_at),
        None => keys::plain_item(key),
    }
}

/// The scopes a user granted a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    /// New each time consent is given from nothing: tokens issued under a consent since
    /// withdrawn stay dead when it is given again.
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, Deserialize)]
struct ConsentItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    consent: Consent,
}

/// An authorization code as stored (by its key): what the token endpoint checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationCode {
    pub client_id: String,
    /// The client's item id (read with the user in one batch at the exchange).
    pub client_key: String,
    pub user_id: String,
    pub session_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub code_challenge: Option<String>,
    /// When the session signed in (seconds), for `auth_time`.
    pub auth_time: i64,
    /// The consent it was issued under (none for a client that skips consent).
    #[serde(default)]
    pub consent_id: Option<String>,
    /// The grant its exchange creates (decided up front, so a reuse knows what to revoke).
    pub grant_id: String,
    pub created_at: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CodeItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    code: AuthorizationCode,
    ttl: i64,
}

/// What spending a code found.
#[derive(Debug)]
pub enum CodeUse {
    /// First use: it is spent now.
    First(AuthorizationCode),
    /// It was spent before.
    Again(AuthorizationCode),
    Unknown,
}

/// One authorization of a user to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    /// The client's item id (read with the user in one batch).
    pub client_key: String,
    pub user_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub consent_id: Option<String>,
    #[serde(default)]
    pub auth_time: Option<i64>,
    pub created_at: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct GrantItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    grant: Grant,
    ttl: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshToken {
    pub grant_id: String,
    pub client_id: String,
    /// The client's item id, and the consent of its grant: what its use reads in one batch.
    pub client_key: String,
    #[serde(default)]
    pub consent_id: Option<String>,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    /// Set when it was exchanged for a new one: it never works again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RefreshItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    token: RefreshToken,
    ttl: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    /// `None` for a client's own token (client credentials).
    #[serde(default)]
    pub grant_id: Option<String>,
    pub client_id: String,
    pub client_key: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    pub scopes: Vec<String>,
    /// The consent its grant was issued under.
    #[serde(default)]
    pub consent_id: Option<String>,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Serialize, Deserialize)]
struct AccessItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(flatten)]
    token: AccessToken,
    ttl: i64,
}

/// The things a token's validity depends on, read together.
#[derive(Debug, Default)]
pub struct Standing {
    pub user: Option<User>,
    pub client: Option<OAuthClient>,
    pub grant: Option<Grant>,
    pub consent: Option<Consent>,
    /// The user's accounts on the integrations asked for (their claims: the account ids).
    pub accounts: Vec<(String, String)>,
}

/// What [`OAuth::standing`] reads.
#[derive(Debug, Default, Clone, Copy)]
pub struct StandingOf<'a> {
    pub user_id: Option<&'a str>,
    pub client_key: &'a str,
    pub grant_id: Option<&'a str>,
    /// The consent of `(user, client_id)`.
    pub consent_of: Option<(&'a str, &'a str)>,
    /// The user's claims on these integrations (`xmpp`, `irc`).
    pub integrations: &'a [&'a str],
}

pub struct OAuth<'a> {
    db: &'a Db,
}

impl Db {
    pub fn oauth(&self) -> OAuth<'_> {
        OAuth { db: self }
    }
}

fn consent_item(consent: &Consent) -> ConsentItem {
    ConsentItem {
        keys: keys::user_secret_item(
            keys::oauth_consent(&consent.user_id, &consent.client_id),
            &consent.user_id,
            &consent.created_at,
        ),
        consent: consent.clone(),
    }
}

fn grant_item(grant: &Grant) -> GrantItem {
    GrantItem {
        keys: user_keys(
            keys::oauth_grant(&grant.id),
            Some(&grant.user_id),
            &grant.created_at,
        ),
        grant: grant.clone(),
        ttl: ttl_of(&grant.expires_at),
    }
}

fn refresh_item(key: &str, token: &RefreshToken) -> RefreshItem {
    RefreshItem {
        keys: user_keys(
            keys::oauth_refresh_token(key),
            Some(&token.user_id),
            &token.created_at,
        ),
        token: token.clone(),
        ttl: ttl_of(&token.expires_at),
    }
}

fn access_item(key: &str, token: &AccessToken) -> AccessItem {
    AccessItem {
        keys: user_keys(
            keys::oauth_access_token(key),
            token.user_id.as_deref(),
            &token.created_at,
        ),
        token: token.clone(),
        ttl: ttl_of(&token.expires_at),
    }
}

impl OAuth<'_> {
    // ---- consents ----

    pub async fn consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<Consent>, StoreError> {
        self.db
            .get_item(keys::oauth_consent(user_id, client_id))
            .await?
            .map(|i| from_item::<ConsentItem>(i).map(|i| i.consent))
            .transpose()
    }

    /// A user's consents (their partition, strongly consistent), oldest first.
    pub async fn consents_of(&self, user_id: &str) -> Result<Vec<Consent>, StoreError> {
        let partition = keys::user(user_id).0;
        let mut found: Vec<Consent> = self
            .db
            .query_all(&Query::table(&partition).prefix(keys::CONSENT_PREFIX))
            .await?
            .into_iter()
            .map(|i| from_item::<ConsentItem>(i).map(|i| i.consent))
            .collect::<Result<_, _>>()?;
        found.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(found)
    }

    /// Stores a consent (new or changed) with its audit record.
    pub async fn save_consent(
        &self,
        consent: &Consent,
        audit: Option<&Event>,
    ) -> Result<(), StoreError> {
        let mut items = vec![self.db.put(to_item(&consent_item(consent))?, None)?];
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        self.db.commit(items).await?;
        Ok(())
    }

    /// Withdraws a consent: every token issued under it stops working.
    pub async fn delete_consent(
        &self,
        consent: &Consent,
        audit: Option<&Event>,
    ) -> Result<(), StoreError> {
        let mut items = vec![self.db.delete(
            keys::oauth_consent(&consent.user_id, &consent.client_id),
            None,
        )?];
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        self.db.commit(items).await?;
        Ok(())
    }

    // ---- authorization codes ----

    /// Stores a code (by its key) until `code.expires_at`.
    pub async fn put_code(&self, key: &str, code: &AuthorizationCode) -> Result<(), StoreError> {
        let item = CodeItem {
            keys: user_keys(keys::oauth_code(key), Some(&code.user_id), &code.created_at),
            code: code.clone(),
            ttl: ttl_of(&code.expires_at),
        };
        self.db.put_item(to_item(&item)?).await
    }

    /// Spends a code: of racing exchanges exactly one gets `First`.
    pub async fn use_code(&self, key: &str, at: &str) -> Result<CodeUse, StoreError> {
        let update = Expression::new("SET #usedAt = :at")
            .name("#usedAt", "usedAt")
            .value(":at", s(at));
        let condition = exists()
            .and(Expression::new("attribute_not_exists(#usedAt)").name("#usedAt", "usedAt"));
        let read = |item: Item| from_item::<CodeItem>(item).map(|i| i.code);
        match self
            .db
            .update_returning(keys::oauth_code(key), update, condition)
            .await?
        {
            Ok(item) => Ok(CodeUse::First(read(item)?)),
            Err(Some(item)) => Ok(CodeUse::Again(read(item)?)),
            Err(None) => Ok(CodeUse::Unknown),
        }
    }

    // ---- grants and tokens ----

    /// Issues tokens in one transaction: the grant (when new), the access token, the
    /// refresh token.
    pub async fn issue(
        &self,
        grant: Option<&Grant>,
        access: (&str, &AccessToken),
        refresh: Option<(&str, &RefreshToken)>,
    ) -> Result<(), StoreError> {
        let db = self.db;
        let mut items = Vec::new();
        if let Some(grant) = grant {
            items.push(db.put(to_item(&grant_item(grant))?, Some(is_new()))?);
        }
        items.push(db.put(to_item(&access_item(access.0, access.1))?, Some(is_new()))?);
        if let Some((key, token)) = refresh {
            items.push(db.put(to_item(&refresh_item(key, token))?, Some(is_new()))?);
        }
        match db.commit(items).await? {
            Committed::Yes => Ok(()),
            Committed::ConditionFailed(_) => Err(StoreError::Dynamo(
                "a token collided with an existing one".into(),
            )),
        }
    }

    /// Exchanges refresh token `old` (not rotated yet, its grant not revoked) for new
    /// tokens, the grant's life extended to `grant_expires_at`: all of it, or nothing
    /// (false: `old` was rotated meanwhile or the grant revoked).
    pub async fn rotate(
        &self,
        old: &str,
        grant_id: &str,
        grant_expires_at: &str,
        access: (&str, &AccessToken),
        refresh: (&str, &RefreshToken),
    ) -> Result<bool, StoreError> {
        let db = self.db;
        let at = &access.1.created_at;
        let retire = db.update(
            keys::oauth_refresh_token(old),
            Expression::new("SET #rotatedAt = :at")
                .name("#rotatedAt", "rotatedAt")
                .value(":at", s(at)),
            Some(exists().and(
                Expression::new("attribute_not_exists(#rotatedAt)").name("#rotatedAt", "rotatedAt"),
            )),
        )?;
        let extend = db.update(
            keys::oauth_grant(grant_id),
            Expression::new("SET #expiresAt = :expires, #ttl = :ttl")
                .name("#expiresAt", "expiresAt")
                .name("#ttl", "ttl")
                .value(":expires", s(grant_expires_at))
                .value(
                    ":ttl",
                    AttributeValue::N(ttl_of(grant_expires_at).to_string()),
                ),
            Some(exists().and(
                Expression::new("attribute_not_exists(#revokedAt)").name("#revokedAt", "revokedAt"),
            )),
        )?;
        let items = vec![
            retire,
            extend,
            db.put(to_item(&access_item(access.0, access.1))?, Some(is_new()))?,
            db.put(
                to_item(&refresh_item(refresh.0, refresh.1))?,
                Some(is_new()),
            )?,
        ];
        Ok(db.commit(items).await?.is_yes())
    }

    pub async fn grant(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        self.db
            .get_item(keys::oauth_grant(id))
            .await?
            .map(|i| from_item::<GrantItem>(i).map(|i| i.grant))
            .transpose()
    }

    pub async fn refresh_token(&self, key: &str) -> Result<Option<RefreshToken>, StoreError> {
        self.db
            .get_item(keys::oauth_refresh_token(key))
            .await?
            .map(|i| from_item::<RefreshItem>(i).map(|i| i.token))
            .transpose()
    }

    pub async fn access_token(&self, key: &str) -> Result<Option<AccessToken>, StoreError> {
        self.db
            .get_item(keys::oauth_access_token(key))
            .await?
            .map(|i| from_item::<AccessItem>(i).map(|i| i.token))
            .transpose()
    }

    /// Revokes a grant (every token it issued stops working). False when there is no such
    /// grant or it was revoked already.
    pub async fn revoke_grant(
        &self,
        grant_id: &str,
        at: &str,
        audit: Option<&Event>,
    ) -> Result<bool, StoreError> {
        let db = self.db;
        let mut items = vec![
            db.update(
                keys::oauth_grant(grant_id),
                Expression::new("SET #revokedAt = :at")
                    .name("#revokedAt", "revokedAt")
                    .value(":at", s(at)),
                Some(
                    exists().and(
                        Expression::new("attribute_not_exists(#revokedAt)")
                            .name("#revokedAt", "revokedAt"),
                    ),
                ),
            )?,
        ];
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        Ok(db.commit(items).await?.is_yes())
    }

    /// Deletes one access token (revocation of a client's own token).
    pub async fn delete_access_token(
        &self,
        key: &str,
        audit: Option<&Event>,
    ) -> Result<(), StoreError> {
        let mut items = vec![self.db.delete(keys::oauth_access_token(key), None)?];
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        self.db.commit(items).await?;
        Ok(())
    }

    /// The user, the client, the grant, the consent a token depends on (and the user's
    /// integration claims), in ONE BatchGetItem (each absent when not asked for or not
    /// found).
    pub async fn standing(&self, of: StandingOf<'_>) -> Result<Standing, StoreError> {
        let mut wanted = vec![keys::oauth_client(of.client_key)];
        if let Some(user_id) = of.user_id {
            wanted.push(keys::user(user_id));
            for integration in of.integrations {
                wanted.push(keys::integration_claim_of_user(user_id, integration));
            }
        }
        if let Some(grant_id) = of.grant_id {
            wanted.push(keys::oauth_grant(grant_id));
        }
        if let Some((user_id, client_id)) = of.consent_of {
            wanted.push(keys::oauth_consent(user_id, client_id));
        }
        let mut standing = Standing::default();
        for item in self.db.batch_get(wanted).await? {
            let sk = item
                .get("SK")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            match sk.as_str() {
                "USER" => standing.user = Some(super::users::user_from_item(item)?),
                "OAUTH" => standing.client = Some(super::oauth_clients::client_from_item(item)?),
                "OAUTHGRANT" => standing.grant = Some(from_item::<GrantItem>(item)?.grant),
                sk if sk.starts_with(keys::CONSENT_PREFIX) => {
                    standing.consent = Some(from_item::<ConsentItem>(item)?.consent)
                }
                sk if sk.starts_with("INTEG#") => {
                    if let Some(id) = item.get("accountId").and_then(|v| v.as_s().ok()) {
                        standing
                            .accounts
                            .push((sk.trim_start_matches("INTEG#").to_string(), id.clone()));
                    }
                }
                _ => {}
            }
        }
        Ok(standing)
    }
}

impl Db {
    /// The write of a consent brought over from another store (an import), only where the
    /// user has none for that client.
    pub(crate) fn consent_put(
        &self,
        consent: &Consent,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        self.put(
            to_item(&consent_item(consent))?,
            Some(super::table::is_new()),
        )
    }
}

impl Db {
    /// The writes of a grant and its refresh token brought over from another store (an
    /// import), each only where new.
    pub(crate) fn moved_grant_items(
        &self,
        grant: &Grant,
        key: &str,
        token: &RefreshToken,
    ) -> Result<[aws_sdk_dynamodb::types::TransactWriteItem; 2], StoreError> {
        Ok([
            self.put(to_item(&grant_item(grant))?, Some(super::table::is_new()))?,
            self.put(
                to_item(&refresh_item(key, token))?,
                Some(super::table::is_new()),
            )?,
        ])
    }
}
