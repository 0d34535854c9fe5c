//! Every key string of the table is built here. Item types, one per line:
//!
//! | item | PK | SK | GSI1PK / GSI1SK | GSI2PK / GSI2SK | ttl |
//! |---|---|---|---|---|---|
//! | user | `USER#<userId>` | `USER` | `USERS` / `<createdAt>#<userId>` | `USER_EMAIL` / `<email>#<userId>` | |
//! | credential (password) | `USER#<userId>` | `CREDENTIAL` | | | |
//! | profile picture (bytes) | `USER#<userId>` | `AVATAR` | | | |
//! | JWT signing key (private half sealed) | `JWKS` | `KEY#<createdAt>#<id>` | | | |
//! | passkey (one credential id, one item: the claim) | `PASSKEY#<sha256(credentialId)>` | `PASSKEY` | `USER#<userId>#PASSKEYS` / `<createdAt>#<id>` | | |
//! | e-mail claim (uniqueness) | `EMAIL#<email>` | `EMAIL` | | | |
//! | session | `SESSION#<sessionId>` | `SESSION` | `USER#<userId>#SESSIONS` / `<createdAt>#<sessionId>` | `SESSIONS` / `<createdAt>#<sessionId>` | expiresAt |
//! | API key | `APIKEY#<keyId>` | `APIKEY` | `USER#<userId>#APIKEYS` / `<createdAt>#<keyId>` | `APIKEYS` / `<createdAt>#<keyId>` | expiresAt (+1 day) |
//! | one-time token (reset) | `TOKEN#<sha256(token)>` | `TOKEN` | | | expiresAt |
//! | second factor (sealed TOTP secret, hashed backup codes) | `USER#<userId>` | `TWOFACTOR` | | | |
//! | two-factor sign-in challenge | `TWOFACTOR#<sha256(id)>` | `CHALLENGE` | `USER#<userId>#TOKENS` | | expires |
//! | e-mailed two-factor code | `TWOFACTOR#<sha256(key)>` | `OTP` | `USER#<userId>#TOKENS` | | expires |
//! | audit event | `AUDIT#<id>` | `AUDIT` | `USER#<target>#AUDIT` / `<at>#<id>` | `AUDIT` / `<at>#<id>` | ttl (retention) |
//! | trusted device | `TRUSTDEVICE#<sha256(id)>` | `TRUSTDEVICE` | `USER#<userId>#TOKENS` | | expires |
//! | admin roster (last-admin rule) | `ADMINS` | `ROSTER` | | | |
//! | rate-limit counter | `RATE#<bucket>` | `RATE` | | | window end |
//! | OAuth client | `OAUTH#<id>` | `OAUTH` | `USER#<ownerId>#OAUTHCLIENTS` / `<createdAt>#<id>` (a user's own) | `OAUTHCLIENTS` / `<createdAt>#<id>` | |
//! | linked account (Discord, Mailcow; the claim that it is one user's) | `LINKED#<provider>#<accountId>` | `LINKED` | `USER#<userId>#LINKED` / `<createdAt>#<provider>` | | |
//! | OAuth client id claim (uniqueness, look-up) | `OAUTHCID#<clientId>` | `OAUTHCID` | | | |
//! | OAuth consent (a user's, to one client) | `USER#<userId>` | `CONSENT#<clientId>` | | | |
//! | OAuth authorization code (kept used until its TTL: reuse is seen) | `OAUTHCODE#<sha256(code)>` | `OAUTHCODE` | `USER#<userId>#TOKENS` | | expires |
//! | OAuth grant (one sign-in of a user to a client: its tokens live and die with it) | `OAUTHGRANT#<grantId>` | `OAUTHGRANT` | `USER#<userId>#TOKENS` | | expires |
//! | OAuth refresh token | `OAUTHRT#<sha256(token)>` | `OAUTHRT` | `USER#<userId>#TOKENS` | | expires |
//! | OAuth access token (opaque, or a JWT's `jti`) | `OAUTHAT#<sha256(token)>` | `OAUTHAT` | `USER#<userId>#TOKENS` (a user's) | | expires |
//! | integration account | `INTEGACCT#<id>` | `INTEGACCT` | `USER#<userId>#INTEG#<integration>` / `<createdAt>#<id>` | `USER#<userId>#INTEGS` / `<integration>#<id>` | |
//! | one account per user per integration | `USER#<userId>` | `INTEG#<integration>` | | | |
//! | username claim | `INTEGNAME#<integration>#<username>` | `INTEGNAME` | | | |
//! | name search entry | `USER#<userId>` | `NAME` | | `USER_NAME` / `<lower name>#<userId>` | |
//! | username claim (uniqueness, search) | `USERNAME#<username>` | `USERNAME` | | `USER_USERNAME` / `<username>#<userId>` | |
//!
//! Users also carry `GSI3PK = ROLE#<role>` / `<createdAt>#<userId>` and, only while banned,
//! `GSI4PK = BANNED` / `<createdAt>#<userId>`. Sessions carry `GSI3PK = SESSEXP#<yyyymmddhh>` /
//! `<expiresAt>#<sessionId>` (the hour they expire in). One-time tokens carry
//! `GSI1PK = USER#<userId>#TOKENS` so a user's deletion finds them. Integration accounts
//! carry `GSI3PK = INTEGACCTS#<integration>` and `GSI4PK = INTEGACCTS#<integration>#<status>`,
//! both sorted `<createdAt>#<id>` (the admin listings).
//!
//! Aggregates (see `store::stats`): `STATS#<shard>` / `STATS` holds sharded counters;
//! `STATSEXP#<yyyymmdd>#<shard>` / `STATS` holds, per hour `hHH`, how many sessions expire then.
//!
//! `sessionId` and `keyId` are the first 32 hex characters of SHA-256 of the secret, so the
//! secret is found by a strongly consistent GetItem on its hash, never through an index.
//! Tokens and keys embed their user's id, so the session (or key) and its user come back
//! in ONE BatchGetItem.

use serde::{Deserialize, Serialize};

use crate::model::{ApiKey, Session, User};

pub fn user(user_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), "USER".into())
}

pub fn credential(user_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), "CREDENTIAL".into())
}

pub fn avatar(user_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), "AVATAR".into())
}

pub fn email_claim(email: &str) -> (String, String) {
    (format!("EMAIL#{email}"), "EMAIL".into())
}

pub fn username_claim(username: &str) -> (String, String) {
    (format!("USERNAME#{username}"), "USERNAME".into())
}

pub fn two_factor(user_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), "TWOFACTOR".into())
}

pub fn two_factor_challenge(hash: &str) -> (String, String) {
    (format!("TWOFACTOR#{hash}"), "CHALLENGE".into())
}

pub fn two_factor_otp(hash: &str) -> (String, String) {
    (format!("TWOFACTOR#{hash}"), "OTP".into())
}

pub fn trusted_device(hash: &str) -> (String, String) {
    (format!("TRUSTDEVICE#{hash}"), "TRUSTDEVICE".into())
}

pub fn session(session_id: &str) -> (String, String) {
    (format!("SESSION#{session_id}"), "SESSION".into())
}

pub fn api_key(key_id: &str) -> (String, String) {
    (format!("APIKEY#{key_id}"), "APIKEY".into())
}

pub fn one_time_token(token_hash: &str) -> (String, String) {
    (format!("TOKEN#{token_hash}"), "TOKEN".into())
}

/// The roster of admins who can act (role admin, not banned): a string set `ids`,
/// changed in the same transaction as the user it lists, so the last-admin rule is one
/// condition (`size(ids) > 1`) that two concurrent demotions cannot both pass.
pub fn admin_roster() -> (String, String) {
    ("ADMINS".into(), "ROSTER".into())
}

/// Rate-limit bucket of a signed-in user's requests.
pub fn rate_bucket_user(user_id: &str) -> String {
    format!("user|{user_id}")
}

/// Rate-limit bucket of a user's password resets on service accounts.
pub fn rate_bucket_service_reset(user_id: &str) -> String {
    format!("reset|{user_id}")
}

/// Rate-limit bucket of the chat bridge's look-ups (per caller).
pub fn rate_bucket_bridge(subject: &str) -> String {
    format!("bridge|{subject}")
}

/// Rate-limit bucket of an API key's requests.
pub fn rate_bucket_api_key(key_id: &str) -> String {
    format!("key|{key_id}")
}

/// Rate-limit bucket of an auth route (its TEMPLATE, never a raw path) per client address
/// (an IPv6 client's /64).
pub fn rate_bucket_address(subject: &str, route: &str) -> String {
    format!("auth|ip|{subject}|{route}")
}

/// Rate-limit bucket of an auth route per target e-mail.
pub fn rate_bucket_email(email: &str, route: &str) -> String {
    format!("auth|email|{}|{route}", email.to_ascii_lowercase())
}

pub fn rate_counter(bucket: &str) -> (String, String) {
    (format!("RATE#{bucket}"), "RATE".into())
}

pub const USERS: &str = "USERS";
pub const USER_EMAIL: &str = "USER_EMAIL";
pub const SESSIONS: &str = "SESSIONS";
pub const APIKEYS: &str = "APIKEYS";

pub fn sessions_of(user_id: &str) -> String {
    format!("USER#{user_id}#SESSIONS")
}

pub fn api_keys_of(user_id: &str) -> String {
    format!("USER#{user_id}#APIKEYS")
}

/// Sort key of "newest first" listings.
pub fn by_creation(created_at: &str, id: &str) -> String {
    format!("{created_at}#{id}")
}

pub fn name_entry(user_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), "NAME".into())
}

pub const USER_NAME: &str = "USER_NAME";
pub const USER_USERNAME: &str = "USER_USERNAME";
pub const BANNED: &str = "BANNED";

pub fn role_partition(role: &str) -> String {
    format!("ROLE#{role}")
}

/// The partition of the JWT signing keys.
pub const SIGNING_KEYS: &str = "JWKS";

pub fn signing_key_item(created_at: &str, id: &str) -> ItemKeys {
    ItemKeys::at((SIGNING_KEYS.into(), format!("KEY#{created_at}#{id}")))
}

pub fn passkey(id: &str) -> (String, String) {
    (format!("PASSKEY#{id}"), "PASSKEY".into())
}

pub fn passkeys_of(user_id: &str) -> String {
    format!("USER#{user_id}#PASSKEYS")
}

pub fn passkey_item(id: &str, user_id: &str, created_at: &str) -> ItemKeys {
    ItemKeys::at(passkey(id)).gsi1(passkeys_of(user_id), by_creation(created_at, id))
}

pub fn tokens_of(user_id: &str) -> String {
    format!("USER#{user_id}#TOKENS")
}

/// `yyyymmddhh` of an ISO timestamp (`2026-11-25T21:48:39.970Z` -> `2026112521`).
pub fn hour_of(iso: &str) -> String {
    iso.chars().filter(char::is_ascii_digit).take(10).collect()
}

pub fn sessions_expiring(hour: &str) -> String {
    format!("SESSEXP#{hour}")
}

/// Where an import of one source (by its fingerprint) stopped.
pub fn import_checkpoint(source: &str) -> (String, String) {
    (format!("IMPORT#{source}"), "CHECKPOINT".into())
}

pub fn stats_shard(shard: u32) -> (String, String) {
    (format!("STATS#{shard}"), "STATS".into())
}

/// A shard of the integration accounts' counters (per integration and status).
pub fn account_stats_shard(shard: u32) -> (String, String) {
    (format!("STATSACC#{shard}"), "STATS".into())
}

pub fn expiry_shard(day: &str, shard: u32) -> (String, String) {
    (format!("STATSEXP#{day}#{shard}"), "STATS".into())
}

/// Where an expiry hour (`yyyymmddhh`) is counted: its day item (`yyyymmdd`) and the
/// attribute of the hour on it (`hHH`).
pub fn expiry_hour_slot(hour: &str) -> Option<(String, String)> {
    (hour.len() == 10 && hour.is_ascii())
        .then(|| (hour[..8].to_string(), format!("h{}", &hour[8..])))
}

/// What a stats item is, read back from its partition key.
pub enum StatsItem {
    Counters,
    /// The expiry buckets of this day: `(attribute, hour)` via [`hour_of_slot`].
    ExpiryDay(String),
}

pub fn stats_item_of(pk: &str) -> Option<StatsItem> {
    if pk.starts_with("STATS#") {
        return Some(StatsItem::Counters);
    }
    pk.strip_prefix("STATSEXP#")
        .and_then(|rest| rest.split('#').next())
        .map(|day| StatsItem::ExpiryDay(day.to_string()))
}

/// The hour (`yyyymmddhh`) an attribute of an expiry day item counts, if it is one.
pub fn hour_of_slot(day: &str, attribute: &str) -> Option<String> {
    attribute.strip_prefix('h').map(|hh| format!("{day}{hh}"))
}

pub fn oauth_client(id: &str) -> (String, String) {
    (format!("OAUTH#{id}"), "OAUTH".into())
}

pub const OAUTH_CLIENTS: &str = "OAUTHCLIENTS";

pub fn linked_account(provider_id: &str, account_id: &str) -> (String, String) {
    (
        format!("LINKED#{provider_id}#{account_id}"),
        "LINKED".into(),
    )
}

pub fn linked_accounts_of(user_id: &str) -> String {
    format!("USER#{user_id}#LINKED")
}

/// A linked account: its user's (GSI1), for their list and their deletion.
pub fn linked_account_item(
    provider_id: &str,
    account_id: &str,
    user_id: &str,
    created_at: &str,
) -> ItemKeys {
    ItemKeys::at(linked_account(provider_id, account_id)).gsi1(
        linked_accounts_of(user_id),
        format!("{created_at}#{provider_id}"),
    )
}

pub fn oauth_client_id(client_id: &str) -> (String, String) {
    (format!("OAUTHCID#{client_id}"), "OAUTHCID".into())
}

pub fn oauth_clients_of(user_id: &str) -> String {
    format!("USER#{user_id}#OAUTHCLIENTS")
}

pub fn oauth_consent(user_id: &str, client_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), format!("CONSENT#{client_id}"))
}

pub const CONSENT_PREFIX: &str = "CONSENT#";

pub fn oauth_code(hash: &str) -> (String, String) {
    (format!("OAUTHCODE#{hash}"), "OAUTHCODE".into())
}

pub fn oauth_grant(grant_id: &str) -> (String, String) {
    (format!("OAUTHGRANT#{grant_id}"), "OAUTHGRANT".into())
}

pub fn oauth_refresh_token(hash: &str) -> (String, String) {
    (format!("OAUTHRT#{hash}"), "OAUTHRT".into())
}

pub fn oauth_access_token(hash: &str) -> (String, String) {
    (format!("OAUTHAT#{hash}"), "OAUTHAT".into())
}

pub fn integration_account(id: &str) -> (String, String) {
    (format!("INTEGACCT#{id}"), "INTEGACCT".into())
}

pub fn integration_claim_of_user(user_id: &str, integration: &str) -> (String, String) {
    (format!("USER#{user_id}"), format!("INTEG#{integration}"))
}

pub fn integration_username(integration: &str, username: &str) -> (String, String) {
    (
        format!("INTEGNAME#{integration}#{username}"),
        "INTEGNAME".into(),
    )
}

pub fn integration_accounts_of(user_id: &str, integration: &str) -> String {
    format!("USER#{user_id}#INTEG#{integration}")
}

/// Every account of an integration (the admin listings).
pub fn integration_accounts(integration: &str) -> String {
    format!("INTEGACCTS#{integration}")
}

/// The accounts of an integration in one status.
pub fn integration_accounts_in(integration: &str, status: &str) -> String {
    format!("INTEGACCTS#{integration}#{status}")
}

pub fn all_integration_accounts_of(user_id: &str) -> String {
    format!("USER#{user_id}#INTEGS")
}

/// The key attributes of an item, flattened into every item type: its primary key and
/// the index keys it carries (absent ones are not written, so indexes stay sparse).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemKeys {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
    #[serde(rename = "GSI2PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(rename = "GSI2SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    #[serde(rename = "GSI3PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi3pk: Option<String>,
    #[serde(rename = "GSI3SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi3sk: Option<String>,
    #[serde(rename = "GSI4PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi4pk: Option<String>,
    #[serde(rename = "GSI4SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi4sk: Option<String>,
}

impl ItemKeys {
    fn at((pk, sk): (String, String)) -> Self {
        Self {
            pk,
            sk,
            ..Self::default()
        }
    }

    fn gsi1(mut self, pk: String, sk: String) -> Self {
        (self.gsi1pk, self.gsi1sk) = (Some(pk), Some(sk));
        self
    }

    fn gsi2(mut self, pk: String, sk: String) -> Self {
        (self.gsi2pk, self.gsi2sk) = (Some(pk), Some(sk));
        self
    }

    fn gsi3(mut self, pk: String, sk: String) -> Self {
        (self.gsi3pk, self.gsi3sk) = (Some(pk), Some(sk));
        self
    }

    fn gsi4(mut self, pk: String, sk: String) -> Self {
        (self.gsi4pk, self.gsi4sk) = (Some(pk), Some(sk));
        self
    }
}

/// A user: listed by creation (GSI1), found by e-mail prefix (GSI2), by role (GSI3) and,
/// only while banned, in the banned list (GSI4).
pub fn user_item(user: &User) -> ItemKeys {
    let by_creation = by_creation(&user.created_at, &user.id);
    let keys = ItemKeys::at(self::user(&user.id))
        .gsi1(USERS.into(), by_creation.clone())
        .gsi2(USER_EMAIL.into(), format!("{}#{}", user.email, user.id))
        .gsi3(role_partition(user.role.as_str()), by_creation.clone());
    if user.banned {
        keys.gsi4(BANNED.into(), by_creation)
    } else {
        keys
    }
}

/// A user's name search entry: found by the start of the lower-cased name (GSI2).
pub fn name_entry_item(user: &User) -> ItemKeys {
    ItemKeys::at(name_entry(&user.id)).gsi2(
        USER_NAME.into(),
        format!("{}#{}", user.name.to_lowercase(), user.id),
    )
}

/// A username claim: found by the start of the username (GSI2), like names.
pub fn username_claim_item(username: &str, user_id: &str) -> ItemKeys {
    ItemKeys::at(username_claim(username))
        .gsi2(USER_USERNAME.into(), format!("{username}#{user_id}"))
}

/// A session: the user's (GSI1), everyone's (GSI2), by the hour it expires (GSI3).
pub fn session_item(session: &Session) -> ItemKeys {
    ItemKeys::at(self::session(&session.id))
        .gsi1(
            sessions_of(&session.user_id),
            by_creation(&session.created_at, &session.id),
        )
        .gsi2(
            SESSIONS.into(),
            by_creation(&session.created_at, &session.id),
        )
        .gsi3(
            sessions_expiring(&hour_of(&session.expires_at)),
            by_creation(&session.expires_at, &session.id),
        )
}

/// An API key: the user's (GSI1), everyone's (GSI2).
pub fn api_key_item(key: &ApiKey) -> ItemKeys {
    let sort = by_creation(&key.created_at, &key.id);
    ItemKeys::at(api_key(&key.id))
        .gsi1(api_keys_of(&key.user_id), sort.clone())
        .gsi2(APIKEYS.into(), sort)
}

/// A one-time token (by the hash of the token): the user's (GSI1), for their deletion.
pub fn one_time_token_item(token_hash: &str, user_id: &str, created_at: &str) -> ItemKeys {
    let (pk, sk) = one_time_token(token_hash);
    let sort = by_creation(created_at, &pk);
    ItemKeys::at((pk, sk)).gsi1(tokens_of(user_id), sort)
}

/// A short-lived secret of a user's (two-factor challenge, mailed code, trusted device):
/// the user's (GSI1), for their deletion.
pub fn user_secret_item(key: (String, String), user_id: &str, created_at: &str) -> ItemKeys {
    let sort = by_creation(created_at, &format!("{}#{}", key.0, key.1));
    ItemKeys::at(key).gsi1(tokens_of(user_id), sort)
}

pub const AUDIT: &str = "AUDIT";

pub fn audit_of(target: &str) -> String {
    format!("USER#{target}#AUDIT")
}

pub fn audit_by(actor: &str) -> String {
    format!("AUDITBY#{actor}")
}

pub fn audit_action(action: &str) -> String {
    format!("AUDITACTION#{action}")
}

/// An audit event: its target's (GSI1), everyone's (GSI2), its actor's (GSI3), its
/// action's (GSI4), all newest first by `<at>#<id>`.
pub fn audit_item(
    id: &str,
    at: &str,
    actor: Option<&str>,
    target: Option<&str>,
    action: &str,
) -> ItemKeys {
    let sort = by_creation(at, id);
    let mut keys = ItemKeys::at((format!("AUDIT#{id}"), AUDIT.into()))
        .gsi2(AUDIT.into(), sort.clone())
        .gsi4(audit_action(action), sort.clone());
    if let Some(target) = target {
        keys = keys.gsi1(audit_of(target), sort.clone());
    }
    if let Some(actor) = actor {
        keys = keys.gsi3(audit_by(actor), sort);
    }
    keys
}

/// An OAuth client: all of them (GSI2), and its owner's when a user registered it (GSI1).
pub fn oauth_client_item(id: &str, created_at: &str, owner: Option<&str>) -> ItemKeys {
    let sort = by_creation(created_at, id);
    let keys = ItemKeys::at(oauth_client(id)).gsi2(OAUTH_CLIENTS.into(), sort.clone());
    match owner {
        Some(owner) => keys.gsi1(oauth_clients_of(owner), sort),
        None => keys,
    }
}

/// An integration account: the user's on one integration (GSI1), on all (GSI2); every
/// account of the integration (GSI3) and those in one status (GSI4), newest first.
pub fn integration_account_item(
    id: &str,
    user_id: &str,
    integration: &str,
    status: &str,
    created_at: &str,
) -> ItemKeys {
    let sort = by_creation(created_at, id);
    ItemKeys::at(integration_account(id))
        .gsi1(integration_accounts_of(user_id, integration), sort.clone())
        .gsi2(
            all_integration_accounts_of(user_id),
            format!("{integration}#{id}"),
        )
        .gsi3(integration_accounts(integration), sort.clone())
        .gsi4(integration_accounts_in(integration, status), sort)
}

/// An item with only a primary key (credentials, e-mail and integration claims).
pub fn plain_item(key: (String, String)) -> ItemKeys {
    ItemKeys::at(key)
}
