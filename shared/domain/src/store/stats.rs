//! Aggregates for `/api/admin/stats`, exact and read in O(1): counters kept in the same
//! TransactWriteItems as the writes they count, spread over shards so no single item takes
//! every write, plus per-hour counts of session expiries (so "active" needs no scan).
//!
//! Sessions: `active` = sessions whose `expiresAt` is in the future; `total` = sessions that
//! have not been revoked and whose expiry hour ended less than 48 hours ago (the retention
//! after which DynamoDB's TTL removes them). Hours wholly in the future or past are summed
//! from the buckets; the current hour is counted exactly with one small Query of the
//! sessions that expire in it.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::TransactWriteItem;
use time::OffsetDateTime;

use super::db::{Db, StoreError};
use super::item::{Item, n};
use super::table::{Expression, Query};
use super::{keys, schema};
use crate::model::{Role, User};
use crate::time::iso;

pub const SHARDS: u32 = 8;
pub const SESSION_RETENTION_HOURS: i64 = 48;
/// Longest a session lives (7 days) plus a day of slack.
const HORIZON_DAYS: i64 = 8;

/// Changes to the counters made by one write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    pub users: i64,
    pub admins: i64,
    pub staff: i64,
    pub banned: i64,
    pub api_keys: i64,
    pub api_keys_enabled: i64,
    pub oauth_clients: i64,
    pub oauth_disabled: i64,
}

impl Delta {
    /// What one user adds (`sign = 1`) or removes (`sign = -1`). `banned` counts the ban
    /// flag (an admin setting a ban whose expiry has passed stores no ban).
    pub fn of_user(user: &User, sign: i64) -> Self {
        Self {
            users: sign,
            admins: if user.role == Role::Admin { sign } else { 0 },
            staff: if user.role == Role::Staff { sign } else { 0 },
            banned: if user.banned { sign } else { 0 },
            ..Self::default()
        }
    }

    pub fn between_users(old: &User, new: &User) -> Self {
        Self::of_user(new, 1).plus(Self::of_user(old, -1))
    }

    pub fn plus(self, o: Self) -> Self {
        Self {
            users: self.users + o.users,
            admins: self.admins + o.admins,
            staff: self.staff + o.staff,
            banned: self.banned + o.banned,
            api_keys: self.api_keys + o.api_keys,
            api_keys_enabled: self.api_keys_enabled + o.api_keys_enabled,
            oauth_clients: self.oauth_clients + o.oauth_clients,
            oauth_disabled: self.oauth_disabled + o.oauth_disabled,
        }
    }

    fn fields(&self) -> [(&'static str, i64); 8] {
        [
            ("users", self.users),
            ("admins", self.admins),
            ("staff", self.staff),
            ("banned", self.banned),
            ("apiKeys", self.api_keys),
            ("apiKeysEnabled", self.api_keys_enabled),
            ("oauthClients", self.oauth_clients),
            ("oauthDisabled", self.oauth_disabled),
        ]
    }
}

fn random_shard() -> u32 {
    rand::random_range(0..SHARDS)
}

/// `ADD #a0 :a0, #a1 :a1, ...` of numeric attributes.
fn adds(changes: impl Iterator<Item = (String, i64)>) -> Expression {
    let mut parts = Vec::new();
    let mut update = Expression::default();
    for (i, (name, delta)) in changes.enumerate() {
        parts.push(format!("#a{i} :a{i}"));
        update = update
            .name(&format!("#a{i}"), &name)
            .value(&format!(":a{i}"), n(delta));
    }
    update.text = format!("ADD {}", parts.join(", "));
    update
}

impl Db {
    /// The counter update for `delta` (on a random shard), or nothing when it is zero.
    pub(crate) fn counter_update(
        &self,
        delta: Delta,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let changed: Vec<_> = delta
            .fields()
            .into_iter()
            .filter(|(_, v)| *v != 0)
            .collect();
        if changed.is_empty() {
            return Ok(None);
        }
        let update = adds(
            changed
                .iter()
                .map(|(name, value)| (name.to_string(), *value)),
        );
        Ok(Some(self.update(
            keys::stats_shard(random_shard()),
            update,
            None,
        )?))
    }

    /// The update of the integration accounts' counters for `changes` (`(status, +1/-1)`
    /// of accounts on `integration`; reservations in progress are not counted), on a random
    /// shard of their own; nothing when the changes cancel out.
    pub(crate) fn account_counter_update(
        &self,
        integration: &str,
        changes: &[(&str, i64)],
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let changes: Vec<_> = changes
            .iter()
            .map(|&(status, delta)| (integration, status, delta))
            .collect();
        self.accounts_counter_update(&changes)
    }

    /// [`Db::account_counter_update`] for changes on several integrations at once
    /// (`(integration, status, +1/-1)`), in ONE update (a transaction touches an item once).
    pub(crate) fn accounts_counter_update(
        &self,
        changes: &[(&str, &str, i64)],
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let mut by_status: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        for &(integration, status, delta) in changes {
            if status != "provisioning" {
                *by_status.entry((integration, status)).or_default() += delta;
            }
        }
        let changed: Vec<_> = by_status
            .into_iter()
            .filter(|(_, d)| *d != 0)
            .map(|((integration, status), d)| (format!("{integration}#{status}"), d))
            .collect();
        if changed.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.update(
            keys::account_stats_shard(random_shard()),
            adds(changed.into_iter()),
            None,
        )?))
    }

    /// Updates of the per-hour expiry buckets: `(expiresAt, +1/-1)` pairs, one update per
    /// day item (a transaction may touch an item once).
    pub(crate) fn expiry_updates(
        &self,
        changes: &[(&str, i64)],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut by_day: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for (expires_at, delta) in changes {
            let Some((day, slot)) = keys::expiry_hour_slot(&keys::hour_of(expires_at)) else {
                continue;
            };
            *by_day.entry(day).or_default().entry(slot).or_default() += delta;
        }
        let shard = random_shard();
        let mut updates = Vec::new();
        for (day, hours) in by_day {
            let hours: Vec<_> = hours.into_iter().filter(|(_, d)| *d != 0).collect();
            if hours.is_empty() {
                continue;
            }
            let update = adds(hours.into_iter());
            updates.push(self.update(keys::expiry_shard(&day, shard), update, None)?);
        }
        Ok(updates)
    }
}

/// The numbers `/api/admin/stats` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub users: i64,
    pub admins: i64,
    pub staff: i64,
    pub banned: i64,
    pub sessions_total: i64,
    pub sessions_active: i64,
    pub api_keys: i64,
    pub api_keys_enabled: i64,
    pub oauth_clients: i64,
    pub oauth_disabled: i64,
}

fn number(item: &Item, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn add_counters(stats: &mut Stats, item: &Item) {
    stats.users += number(item, "users");
    stats.admins += number(item, "admins");
    stats.staff += number(item, "staff");
    stats.banned += number(item, "banned");
    stats.api_keys += number(item, "apiKeys");
    stats.api_keys_enabled += number(item, "apiKeysEnabled");
    stats.oauth_clients += number(item, "oauthClients");
    stats.oauth_disabled += number(item, "oauthDisabled");
}

pub struct StatsRepo<'a> {
    db: &'a Db,
}

impl Db {
    pub fn stats(&self) -> StatsRepo<'_> {
        StatsRepo { db: self }
    }
}

impl StatsRepo<'_> {
    /// How many accounts `integration` has in each status (one BatchGetItem of the shards).
    pub async fn accounts(&self, integration: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        let shards = (0..SHARDS).map(keys::account_stats_shard).collect();
        let items = self.db.batch_get(shards).await?;
        let prefix = format!("{integration}#");
        let mut counts = BTreeMap::new();
        for item in &items {
            for name in item.keys() {
                if let Some(status) = name.strip_prefix(&prefix) {
                    *counts.entry(status.to_string()).or_default() += number(item, name);
                }
            }
        }
        Ok(counts)
    }

    /// Only the counters (users, keys, OAuth clients): one BatchGetItem of the shards.
    pub async fn counters(&self) -> Result<Stats, StoreError> {
        let shards = (0..SHARDS).map(keys::stats_shard).collect();
        let items = self.db.batch_get(shards).await?;
        let mut stats = Stats::default();
        for item in &items {
            add_counters(&mut stats, item);
        }
        Ok(stats)
    }

    /// One BatchGetItem of the counter shards and the expiry buckets from the retention
    /// horizon to the longest session lifetime, plus one Query of the current hour.
    pub async fn read(&self, now: OffsetDateTime) -> Result<Stats, StoreError> {
        let db = self.db;
        let first_hour = now - time::Duration::hours(SESSION_RETENTION_HOURS);
        let mut wanted = Vec::new();
        for shard in 0..SHARDS {
            wanted.push(keys::stats_shard(shard));
        }
        let mut day = first_hour.date();
        let last_day = (now + time::Duration::days(HORIZON_DAYS)).date();
        while day <= last_day {
            let stamp = format!(
                "{:04}{:02}{:02}",
                day.year(),
                u8::from(day.month()),
                day.day()
            );
            for shard in 0..SHARDS {
                wanted.push(keys::expiry_shard(&stamp, shard));
            }
            day = day.next_day().unwrap_or(last_day);
            if day == last_day && wanted.len() > 200 {
                break;
            }
        }
        // The chunks of 100 keys go out together.
        let items = db.batch_get(wanted).await?;
        let mut stats = Stats::default();
        let current_hour = keys::hour_of(&iso(now));
        let oldest_hour = keys::hour_of(&iso(first_hour));
        for item in &items {
            let pk = item
                .get(schema::PK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            match keys::stats_item_of(&pk) {
                Some(keys::StatsItem::Counters) => add_counters(&mut stats, item),
                Some(keys::StatsItem::ExpiryDay(day)) => {
                    for (name, value) in item {
                        let Some(hour) = keys::hour_of_slot(&day, name) else {
                            continue;
                        };
                        let count: i64 =
                            value.as_n().ok().and_then(|v| v.parse().ok()).unwrap_or(0);
                        if hour >= oldest_hour {
                            stats.sessions_total += count;
                        }
                        if hour > current_hour {
                            stats.sessions_active += count;
                        }
                    }
                }
                None => {}
            }
        }
        stats.sessions_active += self.still_active_this_hour(&current_hour, now).await?;
        Ok(stats)
    }

    async fn still_active_this_hour(
        &self,
        hour: &str,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let partition = keys::sessions_expiring(hour);
        let now = iso(now);
        let query = Query::index(schema::GSI3, &partition).after(&now);
        self.db.count(&query).await
    }
}
