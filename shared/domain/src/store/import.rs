//! Moving a running Portal over (`portal-admin import`): each person arrives with
//! everything that is theirs (password, sessions, API keys, second factor, passkeys, linked
//! accounts, service accounts, consents) in ONE transaction, written through the same item
//! builders, claims and counters as the API's own writes. So an import is all or nothing
//! per person: a crash leaves whole people or nobody, a second run finds each person there
//! and writes nothing, and `stats` stay exact because every counter moves in the
//! transaction that writes what it counts.
//!
//! Also here: the checkpoint a resumed import starts from, and the census the verification
//! pass and the table digest read (one Scan).

use std::collections::{BTreeMap, HashSet};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::api_keys::counted;
use super::db::{Db, StoreError};
use super::integration_accounts::Account;
use super::item::{Item, from_item, to_item};
use super::keys::{self, ItemKeys};
use super::linked_accounts::LinkedAccount;
use super::oauth::{Consent, Grant, RefreshToken};
use super::oauth_clients::OAuthClient;
use super::passkeys::Passkey;
use super::schema;
use super::stats::Delta;
use super::table::Committed;
use super::users::{NEW_USER_EMAIL_AT, NEW_USER_ITEM_AT, NEW_USER_USERNAME_AT};
use crate::crypto::sha256_hex;
use crate::model::{ApiKey, Session, User};

/// DynamoDB's limit of writes in one TransactWriteItems.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// A second factor as it arrives: the TOTP secret sealed with our keyring, and the backup
/// codes' keyed hashes (`two_factor::code_hashes`).
#[derive(Debug, Clone)]
pub struct ArrivingFactor {
    pub sealed_secret: String,
    pub verified: bool,
    pub backup_hashes: Vec<String>,
}

/// One person and everything that is theirs, converted to our records.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub user: User,
    pub password_hash: Option<String>,
    pub sessions: Vec<Session>,
    pub api_keys: Vec<ApiKey>,
    pub two_factor: Option<ArrivingFactor>,
    pub passkeys: Vec<Passkey>,
    pub linked: Vec<LinkedAccount>,
    pub accounts: Vec<Account>,
    pub consents: Vec<Consent>,
    /// Grants to OAuth clients with their live refresh token (its record key).
    pub grants: Vec<(Grant, String, RefreshToken)>,
}

/// What became of an arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landed {
    /// Written: this many items in one transaction.
    Written(usize),
    /// The person is in the table already (an earlier run): nothing written.
    AlreadyThere,
    /// Something of theirs is somebody else's in the table (which: `email`, `username`,
    /// `api key`, `passkey`, `linked account`, `service account`, `consent`, `refresh
    /// token`): nothing
    /// written.
    Taken(&'static str),
    /// More writes than one transaction takes: nothing written.
    TooLarge(usize),
}

impl Db {
    /// The writes of an arrival, with what each conditional one guards (by position).
    fn arrival_items(
        &self,
        a: &Arrival,
    ) -> Result<(Vec<TransactWriteItem>, Vec<&'static str>), StoreError> {
        let mut items = self.new_user_items(&a.user, a.password_hash.clone())?;
        let mut what = vec!["user"; items.len()];
        what[NEW_USER_EMAIL_AT] = "email";
        if a.user.username.is_some() {
            what[NEW_USER_USERNAME_AT] = "username";
        }
        let mut push = |items: &mut Vec<TransactWriteItem>, item, label| {
            items.push(item);
            what.push(label);
        };
        let mut delta = Delta::of_user(&a.user, 1);
        for key in &a.api_keys {
            push(&mut items, self.api_key_put(key)?, "api key");
            delta = delta.plus(counted(key, 1));
        }
        for session in &a.sessions {
            push(&mut items, self.session_put(session)?, "session");
        }
        if let Some(factor) = &a.two_factor {
            let put = self.two_factor_put(
                &a.user.id,
                &factor.sealed_secret,
                factor.verified,
                factor.backup_hashes.clone(),
            )?;
            push(&mut items, put, "two-factor");
        }
        for passkey in &a.passkeys {
            push(&mut items, self.passkey_put(passkey)?, "passkey");
        }
        for account in &a.linked {
            push(
                &mut items,
                self.linked_account_put(account)?,
                "linked account",
            );
        }
        for account in &a.accounts {
            for item in self.settled_account_items(account)? {
                push(&mut items, item, "service account");
            }
        }
        for consent in &a.consents {
            push(&mut items, self.consent_put(consent)?, "consent");
        }
        for (grant, key, token) in &a.grants {
            for item in self.moved_grant_items(grant, key, token)? {
                push(&mut items, item, "refresh token");
            }
        }
        // Counters last: one update per counter item (a transaction touches an item once).
        let expiries: Vec<(&str, i64)> = a
            .sessions
            .iter()
            .map(|s| (s.expires_at.as_str(), 1))
            .collect();
        let accounts: Vec<(&str, &str, i64)> = a
            .accounts
            .iter()
            .map(|acc| (acc.integration_id.as_str(), acc.status.as_str(), 1))
            .collect();
        let counters = self
            .counter_update(delta)?
            .into_iter()
            .chain(self.expiry_updates(&expiries)?)
            .chain(self.accounts_counter_update(&accounts)?);
        for update in counters {
            push(&mut items, update, "counter");
        }
        Ok((items, what))
    }

    /// Writes an arrival in ONE transaction, or nothing (and why).
    pub async fn land(&self, arrival: &Arrival) -> Result<Landed, StoreError> {
        let (items, what) = self.arrival_items(arrival)?;
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Ok(Landed::TooLarge(items.len()));
        }
        let count = items.len();
        match self.commit(items).await? {
            Committed::Yes => Ok(Landed::Written(count)),
            Committed::ConditionFailed(failed) if failed.contains(&NEW_USER_ITEM_AT) => {
                Ok(Landed::AlreadyThere)
            }
            Committed::ConditionFailed(failed) => Ok(Landed::Taken(
                failed
                    .first()
                    .and_then(|&i| what.get(i).copied())
                    .unwrap_or("item"),
            )),
        }
    }

    /// Writes a client brought over from another store with the claim of its `client_id`
    /// and its count, or nothing (there already; its `client_id` someone else's).
    pub async fn land_client(&self, client: &OAuthClient) -> Result<Landed, StoreError> {
        let items = self.new_client_items(client)?;
        let count = items.len();
        match self.commit(items).await? {
            Committed::Yes => Ok(Landed::Written(count)),
            Committed::ConditionFailed(failed) if failed.contains(&0) => Ok(Landed::AlreadyThere),
            Committed::ConditionFailed(_) => Ok(Landed::Taken("client id")),
        }
    }

    /// Which of `user_ids` are in the table (strongly consistent; 100 keys per read, the
    /// reads going out together).
    pub async fn present_users(&self, user_ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let found = self
            .batch_get(user_ids.iter().map(|id| keys::user(id)).collect())
            .await?;
        Ok(found
            .iter()
            .filter_map(|item| item.get("id").and_then(|v| v.as_s().ok()).cloned())
            .collect())
    }
}

/// Where an import of one source stopped: the last user id (in the source's order) whose
/// page was wholly written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    #[serde(flatten)]
    keys: ItemKeys,
    pub source: String,
    pub after: String,
    pub updated_at: String,
}

impl Db {
    /// The checkpoint of the import of `source` (a fingerprint of the source, never its
    /// address: that may hold a password).
    pub async fn import_checkpoint(&self, source: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.get_item(keys::import_checkpoint(source))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Records that the import of `source` is done up to the user id `after`.
    pub async fn save_import_checkpoint(
        &self,
        source: &str,
        after: &str,
    ) -> Result<(), StoreError> {
        let checkpoint = Checkpoint {
            keys: keys::plain_item(keys::import_checkpoint(source)),
            source: source.to_string(),
            after: after.to_string(),
            updated_at: crate::time::iso(crate::time::now()),
        };
        self.put_item(to_item(&checkpoint)?).await
    }

    /// Every item of the table, one Scan (paged, the segments going out together): what
    /// the verification pass and the digest read. For an operator's command, never a
    /// request.
    pub async fn scan_everything(&self) -> Result<Vec<Item>, StoreError> {
        const SEGMENTS: i32 = 4;
        let segments = (0..SEGMENTS).map(|segment| async move {
            let mut items = Vec::new();
            let mut start = None;
            loop {
                let page = self
                    .client()
                    .scan()
                    .table_name(self.table())
                    .segment(segment)
                    .total_segments(SEGMENTS)
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await?;
                items.extend(page.items.unwrap_or_default());
                start = page.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
            Ok::<_, StoreError>(items)
        });
        let all = futures::future::try_join_all(segments).await?;
        Ok(all.into_iter().flatten().collect())
    }
}

/// What the table holds, by kind, and a digest of its content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    /// Items by kind (their sort key's kind: `USER`, `SESSION`, `APIKEY`, `EMAIL`, ...).
    pub kinds: BTreeMap<String, i64>,
    /// Claims (e-mail, username, service names and holders) whose user is not in the table.
    pub orphan_claims: Vec<String>,
    /// Users whose e-mail claim does not name them.
    pub unclaimed_users: Vec<String>,
    /// SHA-256 over every item in key order, with what is sealed (a fresh nonce each
    /// time), the checkpoint and the audit log left out, and the counters' shards summed:
    /// two imports of one source give the same digest.
    pub digest: String,
}

/// Attributes sealed with a fresh nonce on every write: compared as present, not by value.
const SEALED: [&str; 6] = [
    "sealedToken",
    "secret",
    "accessTokenSealed",
    "refreshTokenSealed",
    "idTokenSealed",
    "sealedPrivateKey",
];

fn canonical(value: &AttributeValue) -> serde_json::Value {
    use serde_json::{Value, json};
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => {
            let mut set = set.clone();
            set.sort();
            json!({ "SET": set })
        }
        AttributeValue::L(list) => Value::Array(list.iter().map(canonical).collect()),
        AttributeValue::M(map) => {
            let sorted: BTreeMap<_, _> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
            json!({ "M": sorted })
        }
        AttributeValue::B(b) => json!({ "B": sha256_hex(b.as_ref()) }),
        _ => json!("?"),
    }
}

fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// The census of `items` (from [`Db::scan_everything`]).
pub fn census(items: &[Item]) -> Census {
    let mut census = Census::default();
    let mut users = HashSet::new();
    let mut claims: Vec<(String, String)> = Vec::new();
    let mut email_of: BTreeMap<String, String> = BTreeMap::new();
    let mut counters: BTreeMap<String, i64> = BTreeMap::new();
    let mut rows: Vec<(String, String)> = Vec::new();
    for item in items {
        let (pk, sk) = (text(item, schema::PK), text(item, schema::SK));
        if pk.starts_with("AUDIT") || pk.starts_with("IMPORT#") {
            continue;
        }
        let kind = sk.split('#').next().unwrap_or(sk).to_string();
        *census.kinds.entry(kind.clone()).or_default() += 1;
        if let Some(family) = counter_family(pk) {
            // Sharded counters: their sums are the content (which shard took a write is
            // chance).
            for (name, value) in item {
                if let Some(n) = value.as_n().ok().and_then(|n| n.parse::<i64>().ok())
                    && name != schema::TTL_ATTRIBUTE
                {
                    *counters.entry(format!("{family}/{name}")).or_default() += n;
                }
            }
            continue;
        }
        match kind.as_str() {
            "USER" => {
                users.insert(text(item, "id").to_string());
                email_of.insert(
                    text(item, "id").to_string(),
                    text(item, "email").to_string(),
                );
            }
            "EMAIL" | "USERNAME" => {
                claims.push((pk.to_string(), text(item, "userId").to_string()));
            }
            _ => {}
        }
        let mut attributes: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
        for (name, value) in item {
            let shown = if SEALED.contains(&name.as_str()) {
                serde_json::json!("<sealed>")
            } else {
                canonical(value)
            };
            attributes.insert(name, shown);
        }
        rows.push((
            format!("{pk}\u{0}{sk}"),
            serde_json::to_string(&attributes).unwrap_or_default(),
        ));
    }
    for (claim, user_id) in &claims {
        if !users.contains(user_id) {
            census.orphan_claims.push(claim.clone());
        }
    }
    let claimed: HashSet<(String, String)> = claims
        .iter()
        .filter_map(|(pk, user)| {
            pk.strip_prefix("EMAIL#")
                .map(|e| (e.to_string(), user.clone()))
        })
        .collect();
    for (id, email) in &email_of {
        if !claimed.contains(&(email.clone(), id.clone())) {
            census.unclaimed_users.push(id.clone());
        }
    }
    rows.sort();
    let mut all = String::new();
    for (key, attributes) in rows {
        all.push_str(&key);
        all.push('\u{1}');
        all.push_str(&attributes);
        all.push('\n');
    }
    for (name, sum) in counters.iter().filter(|(_, sum)| **sum != 0) {
        all.push_str(&format!("{name}={sum}\n"));
    }
    census.digest = sha256_hex(all.as_bytes());
    census.orphan_claims.sort();
    census
}

/// The family of a sharded counter item (`STATS`, `STATSACC`, `STATSEXP#<day>`), if it is
/// one.
fn counter_family(pk: &str) -> Option<String> {
    if pk.starts_with("STATSACC#") {
        return Some("STATSACC".into());
    }
    match keys::stats_item_of(pk)? {
        keys::StatsItem::Counters => Some("STATS".into()),
        keys::StatsItem::ExpiryDay(day) => Some(format!("STATSEXP#{day}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: i64) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    #[test]
    fn the_digest_sees_content_not_nonces_or_shards() {
        let user = item(&[
            ("PK", s("USER#u1")),
            ("SK", s("USER")),
            ("id", s("u1")),
            ("email", s("a@example.org")),
        ]);
        let claim = item(&[
            ("PK", s("EMAIL#a@example.org")),
            ("SK", s("EMAIL")),
            ("userId", s("u1")),
        ]);
        let session = |sealed: &str| {
            item(&[
                ("PK", s("SESSION#x")),
                ("SK", s("SESSION")),
                ("sealedToken", s(sealed)),
            ])
        };
        let shard = |k: u32, users: i64| {
            item(&[
                ("PK", s(&format!("STATS#{k}"))),
                ("SK", s("STATS")),
                ("users", n(users)),
            ])
        };
        let one = census(&[
            user.clone(),
            claim.clone(),
            session("nonce-a"),
            shard(0, 1),
            shard(3, 1),
        ]);
        let two = census(&[shard(5, 2), session("nonce-b"), claim.clone(), user.clone()]);
        assert_eq!(
            one.digest, two.digest,
            "a fresh nonce and another shard: the same table"
        );
        assert!(one.orphan_claims.is_empty() && one.unclaimed_users.is_empty());
        assert_eq!(one.kinds.get("USER"), Some(&1));

        let renamed = item(&[
            ("PK", s("USER#u1")),
            ("SK", s("USER")),
            ("id", s("u1")),
            ("email", s("b@example.org")),
        ]);
        let other = census(&[renamed, claim, session("nonce-a"), shard(0, 2)]);
        assert_ne!(one.digest, other.digest, "content differs");
        assert_eq!(other.unclaimed_users, vec!["u1".to_string()]);
        let orphan = census(&[item(&[
            ("PK", s("USERNAME#bob")),
            ("SK", s("USERNAME")),
            ("userId", s("gone")),
        ])]);
        assert_eq!(orphan.orphan_claims, vec!["USERNAME#bob".to_string()]);
        let counted = census(&[user.clone(), shard(1, 3)]);
        assert_ne!(
            counted.digest,
            census(&[user, shard(1, 2)]).digest,
            "counter sums count"
        );
    }
}
